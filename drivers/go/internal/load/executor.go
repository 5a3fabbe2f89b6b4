package load

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// IterationContext is what an executor tells one iteration.
type IterationContext struct {
	VU        int
	Iteration int
	// IntendedStartMs and ActualStartMs are ms since the executor started; actual - intended is the send delay.
	IntendedStartMs float64
	ActualStartMs   float64
}

// Hooks connect an executor to the driver. Iterate runs one iteration; the VU is busy until it returns.
type Hooks struct {
	Iterate   func(IterationContext) error
	OnDropped func(intendedMs float64)
}

// Result holds the executor counters, as ExecutorResult in harness/load/executors/types.ts.
type Result struct {
	StartedIterations     int `json:"startedIterations"`
	CompletedIterations   int `json:"completedIterations"`
	FailedIterations      int `json:"failedIterations"`
	DroppedIterations     int `json:"droppedIterations"`
	InterruptedIterations int `json:"interruptedIterations"`
	VusAllocatedMax       int `json:"vusAllocatedMax"`
}

// Progress is Result plus the iterations in flight.
type Progress struct {
	Result
	ActiveVUs int `json:"activeVUs"`
}

// Executor is a running schedule.
type Executor interface {
	// Done is closed when the schedule is over and in-flight iterations finished or were interrupted.
	Done() <-chan struct{}
	// Result is valid once Done is closed.
	Result() Result
	// Stop stops starting iterations now; in-flight ones get gracefulStop as usual.
	Stop()
	Progress() Progress
}

// StartExecutor runs a schedule from now (its startTimeMs counts from here).
func StartExecutor(s Schedule, hooks Hooks) (Executor, error) {
	switch s.Executor {
	case "constant-arrival-rate":
		return startArrivalRate(s, ConstantArrivalAt(s), hooks), nil
	case "ramping-arrival-rate":
		return startArrivalRate(s, RampingArrivalAt(s), hooks), nil
	case "constant-vus":
		return startVuLoop(vuLoopParams{changes: []VuChange{{0, s.Vus}}, endMs: s.DurationMs}, s, hooks), nil
	case "ramping-vus":
		return startVuLoop(vuLoopParams{changes: RampingVuChanges(s), endMs: s.ScheduleDurationMs()}, s, hooks), nil
	case "per-vu-iterations":
		p := vuLoopParams{changes: []VuChange{{0, s.Vus}}, endMs: s.MaxDurationMs, perVU: s.Iterations}
		return startVuLoop(p, s, hooks), nil
	case "shared-iterations":
		p := vuLoopParams{changes: []VuChange{{0, s.Vus}}, endMs: s.MaxDurationMs, shared: s.Iterations}
		return startVuLoop(p, s, hooks), nil
	}
	return nil, fmt.Errorf("unknown executor %q", s.Executor)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func dur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// runIteration calls Iterate, turning a panic into an error.
func runIteration(hooks Hooks, ctx IterationContext) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("iteration panicked: %v", p)
		}
	}()
	return hooks.Iterate(ctx)
}

// base is what both executor kinds share: counters, in-flight count, stop and done signals.
type base struct {
	mu       sync.Mutex
	result   Result
	inFlight int
	done     chan struct{}
	finished sync.Once
	stopCtx  context.Context
	stopFn   context.CancelFunc
}

func newBase() base {
	ctx, cancel := context.WithCancel(context.Background())
	return base{done: make(chan struct{}), stopCtx: ctx, stopFn: cancel}
}

func (b *base) Done() <-chan struct{} { return b.done }

func (b *base) Stop() { b.stopFn() }

func (b *base) Result() Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.result
}

func (b *base) Progress() Progress {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Progress{Result: b.result, ActiveVUs: b.inFlight}
}

// finish records what is still in flight as interrupted and closes done (once).
func (b *base) finish() {
	b.finished.Do(func() {
		b.mu.Lock()
		b.result.InterruptedIterations += b.inFlight
		b.mu.Unlock()
		b.stopFn()
		close(b.done)
	})
}

// sleepUntilStopped sleeps d unless stopped first; true when the sleep ran out.
func (b *base) sleepUntilStopped(d time.Duration) bool {
	if d <= 0 {
		return b.stopCtx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.stopCtx.Done():
		return false
	}
}

// ended counts one iteration's end; true when it was the last in flight.
func (b *base) ended(err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.result.FailedIterations++
	} else {
		b.result.CompletedIterations++
	}
	b.inFlight--
	return b.inFlight == 0
}
