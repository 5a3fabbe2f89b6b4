package load

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func waitDone(t *testing.T, e Executor, limit time.Duration) Result {
	t.Helper()
	select {
	case <-e.Done():
		return e.Result()
	case <-time.After(limit):
		t.Fatal("executor did not finish in time")
		return Result{}
	}
}

func TestConstantArrivalRateIsOpenModel(t *testing.T) {
	var mu sync.Mutex
	var delays []float64
	s := Schedule{Executor: "constant-arrival-rate", Rate: 200, TimeUnitMs: 1000, DurationMs: 500,
		PreAllocatedVUs: 50, MaxVUs: 50, GracefulStopMs: 1000}
	e, err := StartExecutor(s, Hooks{Iterate: func(it IterationContext) error {
		mu.Lock()
		delays = append(delays, it.ActualStartMs-it.IntendedStartMs)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond) // slower than the interval: the schedule must not wait for it
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := waitDone(t, e, 3*time.Second)
	if r.StartedIterations != 100 || r.CompletedIterations != 100 || r.DroppedIterations != 0 {
		t.Fatalf("%+v", r)
	}
	for _, d := range delays {
		if d < 0 {
			t.Fatalf("negative send delay %v", d)
		}
	}
}

func TestArrivalsThatFindEveryVUBusyAreDropped(t *testing.T) {
	var dropped atomic.Int64
	s := Schedule{Executor: "constant-arrival-rate", Rate: 100, TimeUnitMs: 1000, DurationMs: 300,
		PreAllocatedVUs: 1, MaxVUs: 2, GracefulStopMs: 1000}
	e, _ := StartExecutor(s, Hooks{
		Iterate:   func(IterationContext) error { time.Sleep(100 * time.Millisecond); return nil },
		OnDropped: func(float64) { dropped.Add(1) },
	})
	r := waitDone(t, e, 3*time.Second)
	if r.VusAllocatedMax != 2 || r.DroppedIterations == 0 || int64(r.DroppedIterations) != dropped.Load() {
		t.Fatalf("%+v, dropped hook %d", r, dropped.Load())
	}
	if r.StartedIterations+r.DroppedIterations != 30 {
		t.Fatalf("30 arrivals: %+v", r)
	}
}

func TestGracefulStopInterruptsLongIterations(t *testing.T) {
	s := Schedule{Executor: "constant-arrival-rate", Rate: 10, TimeUnitMs: 1000, DurationMs: 100,
		PreAllocatedVUs: 1, MaxVUs: 1, GracefulStopMs: 50}
	e, _ := StartExecutor(s, Hooks{Iterate: func(IterationContext) error { time.Sleep(time.Second); return nil }})
	r := waitDone(t, e, 2*time.Second)
	if r.StartedIterations != 1 || r.InterruptedIterations != 1 {
		t.Fatalf("%+v", r)
	}
}

func TestSharedAndPerVuIterations(t *testing.T) {
	var n atomic.Int64
	iterate := func(IterationContext) error { n.Add(1); return nil }
	e, _ := StartExecutor(Schedule{Executor: "shared-iterations", Vus: 8, Iterations: 1000, MaxDurationMs: 5000},
		Hooks{Iterate: iterate})
	if r := waitDone(t, e, 3*time.Second); r.StartedIterations != 1000 || n.Load() != 1000 {
		t.Fatalf("shared: %+v", r)
	}
	perVU := map[int]int{}
	var mu sync.Mutex
	e, _ = StartExecutor(Schedule{Executor: "per-vu-iterations", Vus: 3, Iterations: 7, MaxDurationMs: 5000},
		Hooks{Iterate: func(it IterationContext) error {
			mu.Lock()
			perVU[it.VU]++
			mu.Unlock()
			return nil
		}})
	r := waitDone(t, e, 3*time.Second)
	if r.CompletedIterations != 21 || perVU[0] != 7 || perVU[1] != 7 || perVU[2] != 7 {
		t.Fatalf("per-vu: %+v %v", r, perVU)
	}
}

func TestConstantVusStopAndFailures(t *testing.T) {
	e, _ := StartExecutor(Schedule{Executor: "constant-vus", Vus: 2, DurationMs: 10000, GracefulStopMs: 1000},
		Hooks{Iterate: func(it IterationContext) error {
			time.Sleep(5 * time.Millisecond)
			if it.Iteration%2 == 0 {
				panic("boom")
			}
			return nil
		}})
	time.Sleep(100 * time.Millisecond)
	if p := e.Progress(); p.ActiveVUs == 0 || p.StartedIterations == 0 {
		t.Fatalf("progress %+v", p)
	}
	e.Stop()
	r := waitDone(t, e, 2*time.Second)
	if r.FailedIterations == 0 || r.CompletedIterations == 0 || r.InterruptedIterations != 0 || r.VusAllocatedMax != 2 {
		t.Fatalf("%+v", r)
	}
}
