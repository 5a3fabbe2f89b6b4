package load

import (
	"time"
)

// arrivalRun is the open-model core of constant- and ramping-arrival-rate: arrivals start at their intended times
// whatever the latency of earlier ones; a late wake-up starts every due arrival at once, each with its own
// intended time; an arrival that finds no free VU with maxVUs allocated is dropped and counted.
type arrivalRun struct {
	base
	s         Schedule
	arrivalAt ArrivalFunc
	hooks     Hooks
	freeVUs   []int
	allocated int
	idle      chan struct{}
	over      bool
}

func startArrivalRate(s Schedule, arrivalAt ArrivalFunc, hooks Hooks) *arrivalRun {
	r := &arrivalRun{base: newBase(), s: s, arrivalAt: arrivalAt, hooks: hooks, idle: make(chan struct{}, 1)}
	for vu := s.PreAllocatedVUs - 1; vu >= 0; vu-- {
		r.freeVUs = append(r.freeVUs, vu)
	}
	r.allocated = s.PreAllocatedVUs
	r.result.VusAllocatedMax = s.PreAllocatedVUs
	go r.loop()
	return r
}

func (r *arrivalRun) loop() {
	if r.sleepUntilStopped(dur(r.s.StartTimeMs)) {
		start := time.Now()
		for n := 0; ; n++ {
			at, ok := r.arrivalAt(n)
			if !ok || !r.sleepUntilStopped(dur(at)-time.Since(start)) {
				break
			}
			r.startArrival(n, at, ms(time.Since(start)))
		}
	}
	r.endScheduling()
}

// endScheduling waits for in-flight iterations, at most gracefulStop, then finishes.
func (r *arrivalRun) endScheduling() {
	r.mu.Lock()
	r.over = true
	inFlight := r.inFlight
	r.mu.Unlock()
	if inFlight > 0 {
		t := time.NewTimer(dur(r.s.GracefulStopMs))
		select {
		case <-t.C:
		case <-r.idle:
		}
		t.Stop()
	}
	r.finish()
}

func (r *arrivalRun) takeVU() (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.freeVUs); n > 0 {
		vu := r.freeVUs[n-1]
		r.freeVUs = r.freeVUs[:n-1]
		return vu, true
	}
	if r.allocated < r.s.MaxVUs {
		r.allocated++
		r.result.VusAllocatedMax = r.allocated
		return r.allocated - 1, true
	}
	r.result.DroppedIterations++
	return 0, false
}

func (r *arrivalRun) startArrival(n int, intendedMs, actualMs float64) {
	vu, ok := r.takeVU()
	if !ok {
		if r.hooks.OnDropped != nil {
			r.hooks.OnDropped(intendedMs)
		}
		return
	}
	r.mu.Lock()
	r.inFlight++
	r.result.StartedIterations++
	r.mu.Unlock()
	ctx := IterationContext{VU: vu, Iteration: n, IntendedStartMs: intendedMs, ActualStartMs: actualMs}
	go func() {
		err := runIteration(r.hooks, ctx)
		last := r.ended(err)
		r.mu.Lock()
		r.freeVUs = append(r.freeVUs, vu)
		over := r.over
		r.mu.Unlock()
		if last && over {
			select {
			case r.idle <- struct{}{}:
			default:
			}
		}
	}()
}
