package load

import (
	"math"
	"sync"
	"time"
)

// vuLoopParams drive the closed-model executors (constant-vus, ramping-vus, per-vu-iterations,
// shared-iterations): each active VU runs iterations back to back.
type vuLoopParams struct {
	changes []VuChange
	endMs   float64
	perVU   int
	shared  int
}

// vuLoop: a VU that is ramped down finishes its current iteration and waits (as the TypeScript executor does).
// Intended start = actual start: the closed model has no send delay.
type vuLoop struct {
	base
	p          vuLoopParams
	s          Schedule
	hooks      Hooks
	cond       *sync.Cond
	active     int
	stopped    bool
	sharedLeft int
	start      time.Time
	wg         sync.WaitGroup
}

func startVuLoop(p vuLoopParams, s Schedule, hooks Hooks) *vuLoop {
	l := &vuLoop{base: newBase(), p: p, s: s, hooks: hooks, sharedLeft: math.MaxInt}
	l.cond = sync.NewCond(&l.mu)
	if p.shared > 0 || s.Executor == "shared-iterations" {
		l.sharedLeft = p.shared
	}
	go l.run()
	return l
}

func (l *vuLoop) run() {
	if !l.sleepUntilStopped(dur(l.s.StartTimeMs)) {
		l.finish()
		return
	}
	l.mu.Lock()
	l.start = time.Now()
	maxVUs := 0
	for _, c := range l.p.changes {
		maxVUs = max(maxVUs, c.Vus)
	}
	for vu := range maxVUs {
		l.wg.Add(1)
		go l.vu(vu)
	}
	l.mu.Unlock()
	allDone := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(allDone)
	}()
	go l.applyChanges()
	endTimer := time.NewTimer(dur(l.p.endMs))
	defer endTimer.Stop()
	select {
	case <-allDone:
		l.finish()
		return
	case <-endTimer.C:
	case <-l.stopCtx.Done():
	}
	l.end()
	grace := time.NewTimer(dur(l.s.GracefulStopMs))
	defer grace.Stop()
	select {
	case <-allDone:
	case <-grace.C:
	}
	l.finish()
}

func (l *vuLoop) end() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.cond.Broadcast()
}

func (l *vuLoop) applyChanges() {
	for _, c := range l.p.changes {
		if c.AtMs >= l.p.endMs && c.AtMs > 0 {
			return
		}
		if !l.sleepUntilStopped(dur(c.AtMs) - time.Since(l.start)) {
			return
		}
		l.mu.Lock()
		l.active = c.Vus
		l.result.VusAllocatedMax = max(l.result.VusAllocatedMax, c.Vus)
		l.mu.Unlock()
		l.cond.Broadcast()
	}
}

// next waits until VU id may start an iteration; false when it never will.
func (l *vuLoop) next(id, done int) (IterationContext, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.stopped && id >= l.active {
		l.cond.Wait()
	}
	elapsed := ms(time.Since(l.start))
	if l.stopped || elapsed >= l.p.endMs || l.sharedLeft <= 0 || (l.p.perVU > 0 && done >= l.p.perVU) {
		return IterationContext{}, false
	}
	l.sharedLeft--
	l.inFlight++
	ctx := IterationContext{VU: id, Iteration: l.result.StartedIterations, IntendedStartMs: elapsed,
		ActualStartMs: elapsed}
	l.result.StartedIterations++
	return ctx, true
}

func (l *vuLoop) vu(id int) {
	defer l.wg.Done()
	for done := 0; ; done++ {
		ctx, ok := l.next(id, done)
		if !ok {
			return
		}
		l.ended(runIteration(l.hooks, ctx))
	}
}
