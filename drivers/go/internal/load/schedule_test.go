package load

import (
	"math"
	"testing"
)

// countPerSecond counts arrivals per whole second of the schedule.
func countPerSecond(f ArrivalFunc, seconds int) []int {
	counts := make([]int, seconds)
	for n := 0; ; n++ {
		at, ok := f(n)
		if !ok {
			return counts
		}
		if s := int(at / 1000); s < seconds {
			counts[s]++
		}
	}
}

func TestConstantArrivalRate(t *testing.T) {
	f := ConstantArrivalAt(Schedule{Rate: 50, TimeUnitMs: 1000, DurationMs: 2000})
	if at, ok := f(0); !ok || at != 0 {
		t.Fatal("the first arrival starts at once")
	}
	if at, _ := f(1); at != 20 {
		t.Fatalf("arrival 1 at %v", at)
	}
	if _, ok := f(100); ok {
		t.Fatal("arrival 100 is past the duration")
	}
	if c := countPerSecond(f, 2); c[0] != 50 || c[1] != 50 {
		t.Fatalf("per second %v", c)
	}
}

func TestRampingArrivalRateCountsPerSecondWithinOnePercent(t *testing.T) {
	s := Schedule{StartRate: 0, TimeUnitMs: 1000, Stages: []Stage{
		{Target: 1000, DurationMs: 10000}, {Target: 1000, DurationMs: 5000}, {Target: 200, DurationMs: 5000}}}
	counts := countPerSecond(RampingArrivalAt(s), 20)
	for sec, got := range counts {
		var want float64
		switch {
		case sec < 10:
			want = 100*float64(sec) + 50 // the area under 0 -> 1000/s over 10 s, second by second
		case sec < 15:
			want = 1000
		default:
			k := float64(sec - 15)
			want = 1000 - 160*k - 80
		}
		if math.Abs(float64(got)-want) > math.Max(1, want*0.01) {
			t.Errorf("second %d: %d arrivals, want %.0f", sec, got, want)
		}
	}
}

func TestRampingVuChanges(t *testing.T) {
	changes := RampingVuChanges(Schedule{StartVUs: 0, Stages: []Stage{{Target: 4, DurationMs: 4000},
		{Target: 2, DurationMs: 2000}}})
	want := []VuChange{{0, 0}, {1000, 1}, {2000, 2}, {3000, 3}, {4000, 4}, {5000, 3}, {6000, 2}}
	if len(changes) != len(want) {
		t.Fatalf("%v", changes)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("change %d: %v, want %v", i, changes[i], want[i])
		}
	}
}

func TestScheduleDuration(t *testing.T) {
	ramp := Schedule{Executor: "ramping-arrival-rate", Stages: []Stage{{1, 100}, {2, 50}}}
	if d := ramp.ScheduleDurationMs(); d != 150 {
		t.Fatal(d)
	}
	if d := (Schedule{Executor: "shared-iterations", MaxDurationMs: 9}).ScheduleDurationMs(); d != 9 {
		t.Fatal(d)
	}
}
