package main

import (
	"context"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

// consumer runs one consumer segment: `vus` clients (SimpleConsumer receive loops or PushConsumers) from the
// scenario's start time until the engine says the drain is over. Every delivery is written (`rm`), processed
// (processing time from the plan), then acked or failed: poison fails every attempt, failureShare fails
// transiently (decided by IDShare of id and attempt, as the node driver does); a failure on attempt >= maxAttempts
// counts as dead-lettered. crashAfter drops a simple client without acking what it holds.
type consumer struct {
	b        load.ConsumerBehaviour
	vus      int
	driverID string
	target   load.Target
	random   *load.Random
	metrics  *load.Registry
	ledger   *load.Ledger
	tags     load.Tags
	log      func(level, message string)
	stopping atomic.Bool
	loops    sync.WaitGroup
	// dead holds the ids failed on their last attempt, for the DLQ scan.
	dead deadLetters
}

func newConsumer(b load.ConsumerBehaviour, vus int, plan load.EngineMessage, metrics *load.Registry,
	ledger *load.Ledger, log func(level, message string)) *consumer {
	return &consumer{
		b: b, vus: vus, driverID: plan.DriverID, target: plan.Target, random: load.NewRandom(uint64(plan.Seed)),
		metrics: metrics, ledger: ledger, log: log,
		tags: load.Tags{"scenario": plan.Scenario.Name, "topic": b.Topic, "group": b.Group},
	}
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func (c *consumer) start() {
	for vu := range c.vus {
		c.loops.Add(1)
		go func() {
			defer c.loops.Done()
			if c.b.Kind == "push" {
				c.pushLoop(vu)
			} else {
				c.simpleLoop(vu)
			}
		}()
	}
}

// stop stops receiving and returns once every client is closed.
func (c *consumer) stop() {
	c.stopping.Store(true)
	c.loops.Wait()
}

func (c *consumer) activeClients() int {
	if c.stopping.Load() {
		return 0
	}
	return c.vus
}

func (c *consumer) clientID(vu, generation int) string {
	id := fmt.Sprintf("%s-c%d", c.driverID, vu)
	if generation > 0 {
		id += "." + strconv.Itoa(generation)
	}
	return id
}

func (c *consumer) connectSimple(vu, generation int) rmq.SimpleConsumer {
	for !c.stopping.Load() {
		client, err := startSimpleConsumer(c.target, c.b.Group, c.b.Topic, c.b.Filter, msDuration(c.b.AwaitDurationMs))
		if err == nil {
			return client
		}
		c.log("warn", fmt.Sprintf("consumer %s failed to start: %s", c.clientID(vu, generation), errorText(err)))
		c.countReceiveCall("fail")
		time.Sleep(time.Second)
	}
	return nil
}

func (c *consumer) simpleLoop(vu int) {
	generation, sinceStart := 0, 0
	var client rmq.SimpleConsumer
	for !c.stopping.Load() {
		if client == nil {
			if client = c.connectSimple(vu, generation); client == nil {
				return
			}
		}
		id := c.clientID(vu, generation)
		batch, ok := c.receiveBatch(client, id)
		if !ok {
			continue
		}
		for _, m := range batch {
			sinceStart++
			if c.b.CrashAfterMessages != nil && sinceStart > *c.b.CrashAfterMessages {
				// Crash: the rest of the batch is never acked and comes back after the invisible duration.
				c.metrics.Count("consumer_crashes", c.tags, 1)
				go lifecycle.StopWithin(client, 5*time.Second)
				client, sinceStart = nil, 0
				generation++
				time.Sleep(msDuration(c.b.RestartDelayMs))
				break
			}
			ok := c.process(m)
			c.settle(client, m, id, ok)
		}
	}
	lifecycle.StopWithin(client, 10*time.Second)
}

// countReceiveCall counts a simple-consumer receive call (or a failed client start) by result: the engine's drain
// is idle only when the broker answered receives with nothing, not while they fail.
func (c *consumer) countReceiveCall(result string) {
	tags := load.Tags{"result": result}
	for k, v := range c.tags {
		tags[k] = v
	}
	c.metrics.Count("receive_calls", tags, 1)
}

// receiveBatch is one receive with its `ri`/`rm`/`rc` records; false when it failed (after a short pause).
func (c *consumer) receiveBatch(client rmq.SimpleConsumer, id string) ([]*rmq.MessageView, bool) {
	batch, _, err := c.receiveRecorded(client, id, func(batch []*rmq.MessageView, o int64) {
		for _, m := range batch {
			c.recordDelivery(m, id, o)
		}
	})
	if err != nil {
		c.countReceiveCall("fail")
		if !c.stopping.Load() {
			time.Sleep(200 * time.Millisecond)
		}
		return nil, false
	}
	c.countReceiveCall("ok")
	return batch, true
}

// receiveRecorded is one receive by client id of the group with its `ri` and `rc` records; delivered (when set)
// runs on an answered batch before the `rc` is written, so its `rm` records come first.
func (c *consumer) receiveRecorded(client rmq.SimpleConsumer, id string,
	delivered func([]*rmq.MessageView, int64)) ([]*rmq.MessageView, int64, error) {
	o := c.ledger.NextOpID()
	if c.ledger != nil {
		_ = c.ledger.Write(load.NewRecord("ri", wallMs()).Int("o", o).Str("cg", c.b.Group).Str("c", id))
	}
	t0 := time.Now()
	batch, err := receive(client, c.b.ReceiveBatchSize, msDuration(c.b.InvisibleDurationMs),
		msDuration(c.b.AwaitDurationMs))
	if err != nil {
		if c.ledger != nil {
			_ = c.ledger.Write(load.NewRecord("rc", wallMs()).Int("o", o).Str("r", "unknown").Num("d", sinceMs(t0)).
				Str("e", errorText(err)))
		}
		return nil, o, err
	}
	if delivered != nil {
		delivered(batch, o)
	}
	if c.ledger != nil {
		_ = c.ledger.Write(load.NewRecord("rc", wallMs()).Int("o", o).Str("r", "ok").Num("d", sinceMs(t0)).
			Int("n", int64(len(batch))))
	}
	return batch, o, nil
}

func (c *consumer) pushLoop(vu int) {
	id := c.clientID(vu, 0)
	var client rmq.PushConsumer
	listener := func(m *rmq.MessageView) rmq.ConsumerResult {
		c.recordDelivery(m, id, 0)
		ok := c.process(m)
		c.recordSettle(m, id, ok, 0, "ok", 0, "")
		if ok {
			return rmq.SUCCESS
		}
		return rmq.FAILURE
	}
	for client == nil && !c.stopping.Load() {
		var err error
		if client, err = startPushConsumer(c.target, c.b, listener); err != nil {
			c.log("warn", fmt.Sprintf("push consumer %s failed to start: %s", id, errorText(err)))
			client = nil
			time.Sleep(time.Second)
		}
	}
	for !c.stopping.Load() {
		time.Sleep(100 * time.Millisecond)
	}
	if client != nil {
		lifecycle.StopWithin(client, 15*time.Second)
	}
}

func startPushConsumer(t load.Target, b load.ConsumerBehaviour,
	listener func(*rmq.MessageView) rmq.ConsumerResult) (rmq.PushConsumer, error) {
	client, err := rmq.NewPushConsumer(clientConfig(t, b.Group),
		rmq.WithPushAwaitDuration(pollAwait(msDuration(b.AwaitDurationMs))),
		rmq.WithPushSubscriptionExpressions(map[string]*rmq.FilterExpression{b.Topic: filterOf(b.Filter)}),
		rmq.WithPushMessageListener(&rmq.FuncMessageListener{Consume: listener}),
	)
	if err != nil {
		return nil, fmt.Errorf("push consumer: %w", err)
	}
	if err := lifecycle.StartFor(startTimeout, "push consumer", client); err != nil {
		lifecycle.StopWithin(client, time.Second)
		return nil, err
	}
	return client, nil
}

// recordDelivery writes `rm` (o = 0: a push delivery, no receive operation) and the delivery metrics.
func (c *consumer) recordDelivery(m *rmq.MessageView, clientID string, o int64) {
	now := wallMs()
	props := m.GetProperties()
	if c.ledger != nil {
		r := load.NewRecord("rm", now).Str("cg", c.b.Group).Str("c", clientID)
		if id, ok := props[propID]; ok {
			r.Str("id", id)
		}
		r.Str("bid", m.GetMessageId()).Str("tp", m.GetTopic()).Int("a", int64(attempt(m)))
		if tag := m.GetTag(); tag != nil && *tag != "" {
			r.Str("tg", *tag)
		}
		if g := m.GetMessageGroup(); g != nil && *g != "" {
			r.Str("g", *g)
		}
		if seq, err := strconv.ParseFloat(props[propSeq], 64); err == nil {
			r.Num("q", seq)
		}
		if o != 0 {
			r.Int("o", o)
		}
		_ = c.ledger.Write(r)
	}
	c.metrics.Count("messages_received", c.tags, 1)
	if attempt(m) > 1 {
		c.metrics.Count("messages_redelivered", c.tags, 1)
		return
	}
	sentMs, err := strconv.ParseFloat(props[propSentMs], 64)
	if err != nil {
		return
	}
	// One clock: the producer stamped its wall time; a delayed message counts from its delivery time.
	from := sentMs
	if at := m.GetDeliveryTimestamp(); at != nil {
		from = math.Max(from, float64(at.UnixMilli()))
	}
	c.metrics.Trend("e2e_latency", now-from, c.tags)
}

func attempt(m *rmq.MessageView) int {
	return max(1, int(m.GetDeliveryAttempt()))
}

func harnessID(m *rmq.MessageView) string {
	if id, ok := m.GetProperties()[propID]; ok {
		return id
	}
	return m.GetMessageId()
}

// process simulates the work on one delivery; true is a success.
func (c *consumer) process(m *rmq.MessageView) bool {
	processMs := load.Sample(c.b.ProcessingTimeMs, c.random)
	if processMs > 0 {
		time.Sleep(msDuration(processMs))
	}
	c.metrics.Trend("process_duration", processMs, c.tags)
	id := harnessID(m)
	tag := m.GetTag()
	poison := m.GetProperties()[propPoison] == "1" ||
		(c.b.Poison.Share > 0 && load.IDShare(id, "poison") < c.b.Poison.Share) ||
		(tag != nil && slices.Contains(c.b.Poison.Tags, *tag))
	if poison {
		return false
	}
	return !(c.b.FailureShare > 0 && load.IDShare(id, "fail:"+strconv.Itoa(attempt(m))) < c.b.FailureShare)
}

// settle acks (`ai`/`ac`) or makes the message visible again after retryDelay (`ni`/`nc`).
func (c *consumer) settle(client rmq.SimpleConsumer, m *rmq.MessageView, clientID string, ok bool) {
	id := harnessID(m)
	o := c.ledger.NextOpID()
	if c.ledger != nil {
		r := load.NewRecord("ai", wallMs()).Int("o", o).Str("cg", c.b.Group).Str("c", clientID).Str("id", id)
		if ok {
			r.Str("bid", m.GetMessageId())
		} else {
			r = load.NewRecord("ni", wallMs()).Int("o", o).Str("cg", c.b.Group).Str("c", clientID).Str("id", id).
				Num("iv", c.b.RetryDelayMs)
		}
		_ = c.ledger.Write(r)
	}
	t0 := time.Now()
	var err error
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = client.Ack(ctx, m)
		cancel()
	} else {
		err = client.ChangeInvisibleDuration(m, msDuration(math.Max(1000, c.b.RetryDelayMs)))
	}
	outcome, text := "ok", ""
	if err != nil {
		outcome, text = "unknown", errorText(err)
	}
	c.recordSettle(m, clientID, ok, sinceMs(t0), outcome, o, text)
}

// recordSettle writes the completion (push: both records, o = 0 asks for a fresh operation) and the metrics.
func (c *consumer) recordSettle(m *rmq.MessageView, clientID string, ok bool, durationMs float64, outcome string,
	o int64, errText string) {
	id := harnessID(m)
	if c.ledger != nil {
		if o == 0 {
			o = c.ledger.NextOpID()
			t := map[bool]string{true: "ai", false: "ni"}[ok]
			r := load.NewRecord(t, wallMs()).Int("o", o).Str("cg", c.b.Group).Str("c", clientID).Str("id", id)
			if ok {
				r.Str("bid", m.GetMessageId())
			}
			_ = c.ledger.Write(r)
		}
		t := map[bool]string{true: "ac", false: "nc"}[ok]
		r := load.NewRecord(t, wallMs()).Int("o", o).Str("id", id).Str("r", outcome).Num("d", durationMs).
			StrIf("e", errText)
		_ = c.ledger.Write(r)
	}
	if ok {
		c.metrics.Count("messages_consumed", c.tags, 1)
		return
	}
	c.metrics.Count("messages_nacked", c.tags, 1)
	if c.b.MaxAttempts != nil && attempt(m) >= *c.b.MaxAttempts {
		c.metrics.Count("messages_dead_lettered", c.tags, 1)
		if _, ok := m.GetProperties()[propID]; ok {
			c.dead.add(id)
		}
	}
}
