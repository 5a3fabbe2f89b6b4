package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

// dlqScanLimit bounds the dead-letter scan after the drain: its wait for the topic and for the dead letters still on
// their way (as the node driver's DLQ_SCAN_LIMIT_MS).
const dlqScanLimit = 60 * time.Second

// driver is the driver side of the plan protocol: plan, start, stop in, ready, metrics, done out
// (harness/load/driver/runtime.ts does the same for the node driver).
type driver struct {
	id       string
	out      *output
	logDir   string
	client   string
	plan     load.EngineMessage
	planned  bool
	ledger   *load.Ledger
	metrics  *load.Registry
	producer *producer
	consumer *consumer
	executor load.Executor

	mu           sync.Mutex
	clockSeq     int64
	clockWaiters map[int64]chan struct{}
	stopped      bool
	finishOnce   sync.Once
	finished     chan struct{}
	metricsEnd   chan struct{}
}

func newDriver(id string, out *output, logDir string) *driver {
	return &driver{id: id, out: out, logDir: logDir, client: clientName(), metrics: load.NewRegistry(),
		finished: make(chan struct{}), metricsEnd: make(chan struct{})}
}

func (d *driver) handle(m load.EngineMessage) error {
	switch m.Type {
	case "plan":
		return d.prepare(m)
	case "start":
		return d.start()
	case "stop":
		go d.stop(m.Reason)
	case "clock":
		d.onClockReply(m)
	}
	return nil
}

// clockReplyTimeout bounds the wait for the engine's clock reply before the ledger closes without a closing `ck`.
const clockReplyTimeout = 2 * time.Second

// requestClock asks the engine for the drill's clock; the reply becomes a `ck` ledger record (onClockReply).
// The returned channel closes when the reply was written.
func (d *driver) requestClock() <-chan struct{} {
	done := make(chan struct{})
	d.mu.Lock()
	d.clockSeq++
	seq := d.clockSeq
	if d.clockWaiters == nil {
		d.clockWaiters = map[int64]chan struct{}{}
	}
	d.clockWaiters[seq] = done
	d.mu.Unlock()
	d.out.send(load.ClockRequest{Type: "clock", DriverID: d.id, Seq: seq, SentMs: wallMs()})
	return done
}

func (d *driver) onClockReply(m load.EngineMessage) {
	receivedMs := wallMs()
	d.mu.Lock()
	done, ok := d.clockWaiters[m.Seq]
	delete(d.clockWaiters, m.Seq)
	d.mu.Unlock()
	if !ok || d.ledger == nil {
		return
	}
	_ = d.ledger.Write(load.ClockSample(m, receivedMs))
	close(done)
}

func (d *driver) log(level, message string) {
	d.out.send(load.Log{Type: "log", DriverID: d.id, Level: level, Message: message})
}

func (d *driver) header() map[string]any {
	s := d.plan.Scenario
	host, _ := os.Hostname()
	h := map[string]any{
		"process": d.plan.DriverID, "role": s.Role, "run": d.plan.RunID, "startedMs": wallMs(), "host": host,
		"client": d.client,
		"meta":   map[string]any{"scenario": s.Name, "segment": d.plan.Segment, "seed": d.plan.Seed},
	}
	if c := s.Consumer; c != nil {
		sub := map[string]any{"group": c.Group, "topic": c.Topic, "filter": c.Filter.Expression,
			"filterType": c.Filter.Type}
		if c.MaxAttempts != nil {
			sub["maxAttempts"] = *c.MaxAttempts
		}
		h["subscriptions"] = []any{sub}
	}
	return h
}

// prepare connects the clients and opens the ledger, then answers ready.
func (d *driver) prepare(plan load.EngineMessage) error {
	if d.planned {
		return errors.New("a second plan")
	}
	d.plan, d.planned = plan, true
	if plan.DriverID != "" {
		d.id = plan.DriverID
	}
	setTLS(plan.Target.TLS)
	if err := setUpClientLogs(d.logDir); err != nil {
		return err
	}
	if plan.LedgerPath != nil {
		ledger, err := load.OpenLedger(*plan.LedgerPath, d.header())
		if err != nil {
			return err
		}
		d.ledger = ledger
		// Answered before start: the engine replies at once and starts drivers only after every ready.
		d.requestClock()
	}
	s := plan.Scenario
	if s.Role == "producer" {
		if s.Message == nil {
			return errors.New("producer scenario without a message spec")
		}
		d.producer = newProducer(*s.Message, plan, d.metrics, d.ledger)
		if err := d.producer.connect(plan.Target); err != nil {
			return err
		}
	} else if s.Consumer == nil {
		return errors.New("consumer scenario without a consumer behaviour")
	}
	d.out.send(load.Ready{Type: "ready", DriverID: d.id, Client: d.client})
	return nil
}

// start starts the schedule now (its startTimeMs counts from here) and the metrics snapshots.
func (d *driver) start() error {
	if !d.planned {
		return errors.New("start before plan")
	}
	go d.metricsLoop(time.Duration(d.plan.MetricsIntervalMs * float64(time.Millisecond)))
	s := d.plan.Scenario
	if d.producer != nil {
		scenarioTags := load.Tags{"scenario": s.Name}
		executor, err := load.StartExecutor(s.Schedule, load.Hooks{
			Iterate:   d.producer.iterate,
			OnDropped: func(float64) { d.metrics.Count("dropped_iterations", scenarioTags, 1) },
		})
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.executor = executor
		d.mu.Unlock()
		go func() {
			<-executor.Done()
			d.finish(executor.Result())
		}()
		return nil
	}
	vus := 1
	if s.Schedule.Executor == "constant-vus" {
		vus = s.Schedule.Vus
	}
	c := newConsumer(*s.Consumer, vus, d.plan, d.metrics, d.ledger, d.log)
	d.mu.Lock()
	d.consumer = c
	d.mu.Unlock()
	time.AfterFunc(time.Duration(s.Schedule.StartTimeMs*float64(time.Millisecond)), func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if !d.stopped {
			c.start()
		}
	})
	return nil
}

func (d *driver) progress() load.Progress {
	d.mu.Lock()
	executor, c := d.executor, d.consumer
	d.mu.Unlock()
	if executor != nil {
		return executor.Progress()
	}
	vus := 0
	if c != nil {
		vus = c.activeClients()
	}
	return load.Progress{Result: load.Result{VusAllocatedMax: vus}, ActiveVUs: vus}
}

func (d *driver) metricsLoop(interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-d.metricsEnd:
			return
		}
		progress := d.progress()
		d.metrics.Gauge("vus", float64(progress.ActiveVUs), load.Tags{"scenario": d.plan.Scenario.Name})
		d.mu.Lock()
		if d.stopped && d.executor == nil {
			// A consumer past stop: its last numbers go with done.
			d.mu.Unlock()
			continue
		}
		d.mu.Unlock()
		d.out.send(load.Metrics{Type: "metrics", DriverID: d.id, WallMs: wallMs(), Delta: d.metrics.TakeDelta(),
			Progress: progress})
	}
}

// stop: producers stop starting iterations (done follows when the executor settles); consumers stop receiving,
// the first segment scans the dead-letter queue if asked, then done.
func (d *driver) stop(reason string) {
	d.mu.Lock()
	d.stopped = true
	executor, c := d.executor, d.consumer
	d.mu.Unlock()
	if executor != nil {
		executor.Stop()
		return
	}
	if !d.planned || d.producer != nil || c == nil {
		// Stopped before start (the engine aborts when another driver fails to get ready): nothing ran.
		d.finish(load.Result{})
		return
	}
	c.stop()
	if scan := d.plan.Scenario.Consumer.DeadLetterScanGroup; scan != "" && d.plan.Segment.Index == 0 {
		if _, err := c.scanDeadLetters(scan, dlqScanLimit); err != nil {
			d.log("warn", fmt.Sprintf("DLQ scan failed (%s): %s", reason, errorText(err)))
		}
	}
	d.finish(d.progress().Result)
}

// finish closes the clients and the ledger and answers done with the last metrics (once).
func (d *driver) finish(result load.Result) {
	d.finishOnce.Do(func() {
		close(d.metricsEnd)
		if d.producer != nil {
			d.producer.close()
		}
		if d.ledger != nil {
			// The stdin reader delivers the reply while this waits; after the timeout the ledger closes anyway.
			waitFor(d.requestClock(), clockReplyTimeout)
		}
		records := d.ledger.Records()
		if err := d.ledger.Close(); err != nil {
			d.log("error", "ledger: "+err.Error())
		}
		d.out.send(load.Done{Type: "done", DriverID: d.id, Result: result, Delta: d.metrics.TakeDelta(),
			LedgerPath: d.plan.LedgerPath, LedgerRecords: records})
		close(d.finished)
	})
}
