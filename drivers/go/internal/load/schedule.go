package load

import "math"

// Stage is one ramp stage: move linearly to Target over DurationMs.
type Stage struct {
	Target     float64 `json:"target"`
	DurationMs float64 `json:"durationMs"`
}

// Schedule is the plan's executor configuration (harness/load/options.ts Schedule), already this segment's share.
// All durations in ms; fields not used by an executor are zero.
type Schedule struct {
	Executor           string  `json:"executor"`
	StartTimeMs        float64 `json:"startTimeMs"`
	GracefulStopMs     float64 `json:"gracefulStopMs"`
	Rate               float64 `json:"rate"`
	StartRate          float64 `json:"startRate"`
	TimeUnitMs         float64 `json:"timeUnitMs"`
	DurationMs         float64 `json:"durationMs"`
	Stages             []Stage `json:"stages"`
	PreAllocatedVUs    int     `json:"preAllocatedVUs"`
	MaxVUs             int     `json:"maxVUs"`
	Vus                int     `json:"vus"`
	StartVUs           int     `json:"startVUs"`
	GracefulRampDownMs float64 `json:"gracefulRampDownMs"`
	Iterations         int     `json:"iterations"`
	MaxDurationMs      float64 `json:"maxDurationMs"`
}

// ArrivalFunc gives the intended start of arrival n (0-based) in ms after the executor starts; false when the
// schedule is over.
type ArrivalFunc func(n int) (float64, bool)

// ConstantArrivalAt: arrival n starts at n * timeUnit / rate (the first immediately), while before the duration.
func ConstantArrivalAt(s Schedule) ArrivalFunc {
	interval := s.TimeUnitMs / s.Rate
	return func(n int) (float64, bool) {
		at := float64(n) * interval
		return at, at < s.DurationMs
	}
}

type rampSegment struct {
	startMs, durationMs, fromRate, toRate, countBefore, count float64
}

func rampSegments(s Schedule) []rampSegment {
	list := make([]rampSegment, 0, len(s.Stages))
	startMs, countBefore := 0.0, 0.0
	from := s.StartRate / s.TimeUnitMs
	for _, st := range s.Stages {
		to := st.Target / s.TimeUnitMs
		count := (from + to) / 2 * st.DurationMs
		list = append(list, rampSegment{startMs, st.DurationMs, from, to, countBefore, count})
		startMs += st.DurationMs
		countBefore += count
		from = to
	}
	return list
}

// timeForCount solves from*t + (to-from)*t^2/(2D) = x for t in [0, D], stable when the slope is ~0.
func timeForCount(seg rampSegment, x float64) float64 {
	a := (seg.toRate - seg.fromRate) / (2 * seg.durationMs)
	b := seg.fromRate
	disc := math.Max(0, b*b+4*a*x)
	den := b + math.Sqrt(disc)
	if den <= 0 {
		return 0
	}
	return math.Min(seg.durationMs, 2*x/den)
}

// RampingArrivalAt: the rate moves linearly through the stages; arrival n starts when the integral reaches n.
func RampingArrivalAt(s Schedule) ArrivalFunc {
	list := rampSegments(s)
	cursor := 0
	return func(n int) (float64, bool) {
		x := float64(n)
		if cursor > 0 && cursor < len(list) && x < list[cursor].countBefore {
			cursor = 0
		}
		for ; cursor < len(list); cursor++ {
			seg := list[cursor]
			if x < seg.countBefore+seg.count {
				return seg.startMs + timeForCount(seg, x-seg.countBefore), true
			}
		}
		return 0, false
	}
}

// VuChange sets the active VU count at a time (ms after start).
type VuChange struct {
	AtMs float64
	Vus  int
}

// RampingVuChanges: the VU count changes to the integer k when the linear ramp reaches k.
func RampingVuChanges(s Schedule) []VuChange {
	changes := []VuChange{{0, s.StartVUs}}
	from := s.StartVUs
	stageStart := 0.0
	for _, st := range s.Stages {
		target := int(st.Target)
		step := -1
		if target > from {
			step = 1
		}
		for k := from + step; (step > 0 && k <= target) || (step < 0 && k >= target); k += step {
			fraction := 0.0
			if st.DurationMs != 0 {
				fraction = float64(k-from) / float64(target-from)
			}
			changes = append(changes, VuChange{stageStart + fraction*st.DurationMs, k})
		}
		from = target
		stageStart += st.DurationMs
	}
	return changes
}

// ScheduleDurationMs is how long the schedule runs after its start time, not counting gracefulStop.
func (s Schedule) ScheduleDurationMs() float64 {
	switch s.Executor {
	case "ramping-arrival-rate", "ramping-vus":
		sum := 0.0
		for _, st := range s.Stages {
			sum += st.DurationMs
		}
		return sum
	case "per-vu-iterations", "shared-iterations":
		return s.MaxDurationMs
	default:
		return s.DurationMs
	}
}
