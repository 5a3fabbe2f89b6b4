package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

// deadLetteredTrackedMax bounds the ids kept for the DLQ scan (beyond it the scan waits for the tracked ones only),
// as the node driver does.
const deadLetteredTrackedMax = 100_000

// scanStartRetry spaces the attempts to start the scan consumer while %DLQ%<group> has no route yet.
const scanStartRetry = 3 * time.Second

// deadLetters holds the ids of messages this consumer failed on their last attempt (bounded).
type deadLetters struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (d *deadLetters) add(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = make(map[string]struct{})
	}
	if len(d.ids) < deadLetteredTrackedMax {
		d.ids[id] = struct{}{}
	}
}

// missing counts the tracked ids not in seen.
func (d *deadLetters) missing(seen map[string]struct{}) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for id := range d.ids {
		if _, ok := seen[id]; !ok {
			n++
		}
	}
	return n
}

// scanDeadLetters reads %DLQ%<group> to the end with the (pre-created) scan group, writing one `dlq` record per
// message between `dlq-scan` phase markers; the end marker says whether the scan completed within timeLimit, so the
// dead-letter check decides only after a complete scan. As in the node driver (harness/load/driver/consumer.ts):
// RocketMQ creates %DLQ%<group> on the first dead letter and its route may stay unknown for up to a minute, so the
// scan consumer's start is retried until the time limit; RocketMQ moves a message to the DLQ only when it comes back
// after its last failed attempt and a consumer of the group polls, so one consumer of the group keeps polling (and
// failing what it must) during the scan; the scan is complete once every message failed on its last attempt is in
// and both queues then stay empty twice in a row.
func (c *consumer) scanDeadLetters(scanGroup string, timeLimit time.Duration) (int, error) {
	c.writePhase("start", nil)
	deadline := time.Now().Add(timeLimit)
	client, err := c.startScanConsumer(scanGroup, deadline)
	if err != nil {
		complete := false
		c.writePhase("end", &complete)
		return 0, err
	}
	defer lifecycle.StopWithin(client, 10*time.Second)
	var own rmq.SimpleConsumer
	if c.b.MaxAttempts != nil {
		if own, err = startSimpleConsumer(c.target, c.b.Group, c.b.Topic, c.b.Filter,
			msDuration(c.b.AwaitDurationMs)); err != nil {
			c.log("warn", fmt.Sprintf("DLQ scan of %s: no consumer of the group to move the last retries: %s",
				c.b.Group, errorText(err)))
			own = nil
		} else {
			defer lifecycle.StopWithin(own, 10*time.Second)
		}
	}
	found, complete := c.scanLoop(client, own, deadline)
	c.writePhase("end", &complete)
	return found, nil
}

// scanLoop receives from the DLQ and (when own is set) from the group at once until the scan is complete or the
// deadline passes.
func (c *consumer) scanLoop(client, own rmq.SimpleConsumer, deadline time.Time) (int, bool) {
	found, emptyInARow := 0, 0
	seen := make(map[string]struct{})
	ownID := c.b.Group + "-dlq-wait"
	for time.Now().Before(deadline) {
		var late []*rmq.MessageView
		var lateOp int64
		var wg sync.WaitGroup
		if own != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				late, lateOp = c.receiveLate(own, ownID)
			}()
		}
		batch, err := receive(client, 32, 30*time.Second, time.Second)
		if err != nil {
			batch = nil
		}
		wg.Wait()
		for _, m := range late {
			c.recordDelivery(m, ownID, lateOp)
			c.settle(own, m, ownID, c.process(m))
		}
		if len(batch) == 0 && len(late) == 0 {
			if emptyInARow++; emptyInARow >= 2 && c.dead.missing(seen) == 0 {
				return found, true
			}
			continue
		}
		emptyInARow = 0
		for _, m := range batch {
			seen[harnessID(m)] = struct{}{}
			c.recordDeadLetter(client, m)
			found++
		}
	}
	return found, false
}

// receiveLate is one receive of the group's own poller during the scan, with its `ri`/`rc` records (its deliveries
// are recorded by scanLoop).
func (c *consumer) receiveLate(own rmq.SimpleConsumer, id string) ([]*rmq.MessageView, int64) {
	batch, o, err := c.receiveRecorded(own, id, nil)
	if err != nil {
		return nil, o
	}
	return batch, o
}

// startScanConsumer retries the scan consumer's start (its topic may have no route yet) until the deadline.
func (c *consumer) startScanConsumer(scanGroup string, deadline time.Time) (rmq.SimpleConsumer, error) {
	for attempt := 1; ; attempt++ {
		client, err := startSimpleConsumer(c.target, scanGroup, "%DLQ%"+c.b.Group, load.Filter{Type: "TAG",
			Expression: "*"}, time.Second)
		if err == nil {
			return client, nil
		}
		if time.Now().Add(scanStartRetry).After(deadline) {
			return nil, fmt.Errorf("DLQ scan of %s: no consumer after %d tries: %w", c.b.Group, attempt, err)
		}
		if attempt == 1 {
			c.log("warn", fmt.Sprintf("DLQ scan of %s waits for its topic: %s", c.b.Group, errorText(err)))
		}
		time.Sleep(scanStartRetry)
	}
}

func (c *consumer) writePhase(s string, ok *bool) {
	if c.ledger == nil {
		return
	}
	r := load.NewRecord("ph", wallMs()).Str("n", "dlq-scan").Str("s", s)
	if ok != nil {
		r.Bool("ok", *ok)
	}
	_ = c.ledger.Write(r)
}

func (c *consumer) recordDeadLetter(client rmq.SimpleConsumer, m *rmq.MessageView) {
	if c.ledger != nil {
		r := load.NewRecord("dlq", wallMs()).Str("cg", c.b.Group)
		if id, ok := m.GetProperties()[propID]; ok {
			r.Str("id", id)
		}
		_ = c.ledger.Write(r.Str("bid", m.GetMessageId()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = client.Ack(ctx, m)
}
