package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

// User properties the harness puts on every message (harness/ledger/types.ts).
const (
	propID     = "mqd_id"
	propKey    = "mqd_key"
	propSeq    = "mqd_seq"
	propPoison = "mqd_poison"
	propSentMs = "mqd_sent_ms"
)

const bodyPoolBytes = 1 << 20

// errTimeout is a call that did not answer within the send timeout: its outcome is unknown.
var errTimeout = errors.New("timed out")

// producer runs one producer segment: plan a message, write `si`, send with a timeout, write `sc`, and for
// transactions commit, roll back or leave the half message to the check-back.
type producer struct {
	spec     load.MessageSpec
	client   rmq.Producer
	planner  *load.Planner
	metrics  *load.Registry
	ledger   *load.Ledger
	tags     load.Tags
	bodyPool []byte
	// decisions holds the planned end of each open transaction by harness id, for the check-back.
	decisions sync.Map
	// FIFO: per message group, a channel closed when the group's last queued send completed. One group is sent in
	// sequence (send n+1 starts after send n completed), as an ordered producer must; concurrency comes from many
	// groups. One entry per group with a send queued or in flight, so it is bounded by the executor's VUs.
	groupMu   sync.Mutex
	groupTail map[string]chan struct{}
}

// nextInGroupOrder plans the next message and (FIFO only) queues it behind the previous send of its message group
// and waits for that; the returned func marks its send complete. Planning and queueing happen under one lock, so a
// group's sends go out in the order of their sequence numbers. Every wait is bounded: the send before it has its
// own send timeout.
func (p *producer) nextInGroupOrder() (load.PlannedMessage, func()) {
	if p.spec.Type != "FIFO" {
		return p.planner.Next(), func() {}
	}
	mine := make(chan struct{})
	p.groupMu.Lock()
	m := p.planner.Next()
	key := m.Key
	if p.groupTail == nil {
		p.groupTail = map[string]chan struct{}{}
	}
	previous := p.groupTail[key]
	p.groupTail[key] = mine
	p.groupMu.Unlock()
	if previous != nil {
		<-previous
	}
	return m, func() {
		p.groupMu.Lock()
		if p.groupTail[key] == mine {
			delete(p.groupTail, key)
		}
		p.groupMu.Unlock()
		close(mine)
	}
}

func newProducer(spec load.MessageSpec, plan load.EngineMessage, metrics *load.Registry,
	ledger *load.Ledger) *producer {
	seed := uint64(plan.Seed)
	p := &producer{
		spec:     spec,
		planner:  load.NewPlanner(spec, plan.IDPrefix, plan.Segment, load.NewRandom(seed)),
		metrics:  metrics,
		ledger:   ledger,
		tags:     load.Tags{"scenario": plan.Scenario.Name, "topic": spec.Topic},
		bodyPool: make([]byte, bodyPoolBytes),
	}
	fill := rand.New(rand.NewPCG(seed, 7919))
	for i := range p.bodyPool {
		p.bodyPool[i] = byte(fill.UintN(256))
	}
	return p
}

// connect starts the official producer with a transaction checker answering from the plan.
func (p *producer) connect(t load.Target) error {
	client, err := rmq.NewProducer(clientConfig(t, ""),
		rmq.WithTopics(p.spec.Topic),
		rmq.WithClientFunc(newClient),
		rmq.WithTransactionChecker(&rmq.TransactionChecker{Check: p.checkBack}),
	)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	if err := lifecycle.StartFor(startTimeout, "producer", client); err != nil {
		lifecycle.StopWithin(client, time.Second)
		return err
	}
	p.client = client
	return nil
}

func (p *producer) close() { lifecycle.StopWithin(p.client, 5*time.Second) }

// checkBack answers the broker about an open transaction: the planned decision when the end-transaction call
// did not get through, commit for those the plan left open (share `unknown`) and for ids it does not know; UNKNOWN
// once the ledger is closed.
func (p *producer) checkBack(view *rmq.MessageView) rmq.TransactionResolution {
	id := view.GetProperties()[propID]
	decision := "commit"
	if planned, ok := p.decisions.Load(id); ok && planned == "rollback" {
		decision = "rollback"
	}
	if id != "" && p.ledger != nil {
		// After the ledger closed the answer could not be recorded: leave the transaction undecided (UNKNOWN
		// sends no EndTransaction) rather than commit a message the checkers would see without its commit.
		if err := p.ledger.Write(load.NewRecord("tk", wallMs()).Str("id", id).Str("x", decision)); err != nil {
			return rmq.UNKNOWN
		}
	}
	if decision == "rollback" {
		return rmq.ROLLBACK
	}
	return rmq.COMMIT
}

func wallMs() float64 { return float64(time.Now().UnixMicro()) / 1000 }

func sinceMs(t0 time.Time) float64 { return float64(time.Since(t0).Microseconds()) / 1000 }

func (p *producer) outgoing(m load.PlannedMessage, sentWallMs int64) *rmq.Message {
	var body []byte
	if m.BodySizeBytes <= bodyPoolBytes {
		start := 0
		if m.BodySizeBytes < bodyPoolBytes {
			start = (m.Seq * 7919) % (bodyPoolBytes - m.BodySizeBytes)
		}
		body = p.bodyPool[start : start+m.BodySizeBytes]
	} else {
		body = make([]byte, m.BodySizeBytes)
	}
	msg := &rmq.Message{Topic: p.spec.Topic, Body: body}
	if m.Tag != "" {
		msg.SetTag(m.Tag)
	}
	msg.SetKeys(m.Key)
	if p.spec.Type == "FIFO" {
		msg.SetMessageGroup(m.Key)
	}
	if m.HasDelay {
		msg.SetDelayTimestamp(time.UnixMilli(sentWallMs + int64(m.DelayMs)))
	}
	for k, v := range p.spec.Properties {
		msg.AddProperty(k, v)
	}
	msg.AddProperty(propID, m.ID)
	msg.AddProperty(propKey, m.Key)
	msg.AddProperty(propSeq, strconv.Itoa(m.Seq))
	msg.AddProperty(propSentMs, strconv.FormatInt(sentWallMs, 10))
	if m.Poison {
		msg.AddProperty(propPoison, "1")
	}
	return msg
}

func (p *producer) writeSendInvoke(o int64, m load.PlannedMessage, ts, intendedWallMs float64, at int64) {
	r := load.NewRecord("si", ts).Int("o", o).Str("id", m.ID).Str("tp", p.spec.Topic).Int("q", int64(m.Seq)).
		Str("k", m.Key)
	if p.spec.Type == "FIFO" {
		r.Str("g", m.Key)
	}
	r.StrIf("tg", m.Tag)
	if m.HasDelay {
		r.Int("at", at)
	}
	if m.Transaction != "" {
		r.Int("tx", 1)
	}
	if m.Poison {
		r.Int("po", 1)
	}
	if len(p.spec.Properties) > 0 {
		r.StrMap("pr", p.spec.Properties)
	}
	_ = p.ledger.Write(r.Num("it", intendedWallMs))
}

// iterate is one executor iteration: one send (one transaction for TRANSACTION messages).
func (p *producer) iterate(it load.IterationContext) error {
	queued := time.Now()
	m, done := p.nextInGroupOrder()
	defer done()
	now := time.Now()
	sentWallMs := now.UnixMilli()
	ts := float64(now.UnixMicro()) / 1000
	msg := p.outgoing(m, sentWallMs)
	sendDelayMs := it.ActualStartMs - it.IntendedStartMs + sinceMs(queued)
	p.metrics.Count("iterations", p.tags, 1)
	p.metrics.Count("messages_sent", p.tags, 1)
	p.metrics.Trend("send_delay", sendDelayMs, p.tags)
	o := p.ledger.NextOpID()
	if p.ledger != nil {
		p.writeSendInvoke(o, m, ts, ts-sendDelayMs, sentWallMs+int64(m.DelayMs))
	}
	if m.Transaction != "" {
		p.decisions.Store(m.ID, m.Transaction)
	}
	t0 := time.Now()
	messageID, tx, err := p.send(msg, m.Transaction != "")
	durationMs := sinceMs(t0)
	outcome := classifySendError(err)
	if p.ledger != nil {
		r := load.NewRecord("sc", wallMs()).Int("o", o).Str("id", m.ID).Str("r", outcome).Num("d", durationMs).
			StrIf("bid", messageID)
		if err != nil {
			r.Str("e", errorText(err))
		}
		_ = p.ledger.Write(r)
	}
	p.recordOutcome(outcome, durationMs)
	if err != nil {
		tags := load.Tags{"outcome": outcome, "status": statusOf(errorText(err))}
		for k, v := range p.tags {
			tags[k] = v
		}
		p.metrics.Count("send_errors", tags, 1)
	}
	if tx != nil && err == nil {
		p.endTransaction(m, tx)
	}
	return nil
}

// send sends the message (a half message when transactional) within the send timeout.
func (p *producer) send(msg *rmq.Message, transactional bool) (string, rmq.Transaction, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(p.spec.SendTimeoutMs*1e6))
	defer cancel()
	var tx rmq.Transaction
	var receipts []*rmq.SendReceipt
	var err error
	if transactional {
		tx = p.client.BeginTransaction()
		receipts, err = p.client.SendWithTransaction(ctx, msg, tx)
	} else {
		receipts, err = p.client.Send(ctx, msg)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w after %v: %w", errTimeout, time.Duration(p.spec.SendTimeoutMs*1e6), err)
	}
	if err == nil && len(receipts) == 0 {
		err = errors.New("send returned no receipt")
	}
	if err != nil {
		return "", tx, err
	}
	return receipts[0].MessageID, tx, nil
}

func (p *producer) recordOutcome(outcome string, durationMs float64) {
	p.metrics.Trend("send_duration", durationMs, p.tags)
	switch outcome {
	case "ok":
		p.metrics.Count("messages_acked", p.tags, 1)
	case "fail":
		p.metrics.Count("messages_failed", p.tags, 1)
	default:
		p.metrics.Count("messages_unknown", p.tags, 1)
	}
	p.metrics.Rate("send_failed", outcome != "ok", p.tags)
}

// endTransaction commits or rolls back as planned (`ei`/`ec`); an `unknown` share is left to the check-back.
func (p *producer) endTransaction(m load.PlannedMessage, tx rmq.Transaction) {
	if m.Transaction == "unknown" {
		return
	}
	o := p.ledger.NextOpID()
	if p.ledger != nil {
		_ = p.ledger.Write(load.NewRecord("ei", wallMs()).Int("o", o).Str("id", m.ID).Str("x", m.Transaction))
	}
	t0 := time.Now()
	err := within(time.Duration(p.spec.SendTimeoutMs*1e6), func() error {
		if m.Transaction == "commit" {
			return tx.Commit()
		}
		return tx.RollBack()
	})
	outcome := classifySendError(err)
	if outcome == "ok" {
		p.decisions.Delete(m.ID)
	}
	if p.ledger != nil {
		r := load.NewRecord("ec", wallMs()).Int("o", o).Str("id", m.ID).Str("r", outcome).Num("d", sinceMs(t0))
		if err != nil {
			r.Str("e", errorText(err))
		}
		_ = p.ledger.Write(r)
	}
}

// within runs f, giving up (errTimeout) after d; f keeps running in the background.
func within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("%w after %v", errTimeout, d)
	}
}

// classifySendError: ok without an error; `fail` only when the broker refused (a RocketMQ status code 1xxxx to
// 4xxxx) or the client rejected the message before sending; timeouts, transport and internal errors: `unknown`.
func classifySendError(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, errTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return "unknown"
	}
	if status, ok := rmq.AsErrRpcStatus(err); ok {
		if code := status.GetCode(); code >= 10000 && code < 50000 {
			return "fail"
		}
		return "unknown"
	}
	text := err.Error()
	for _, refusal := range []string{"not running", "different topics", "different types", "not match with topic",
		"different message groups"} {
		if strings.Contains(text, refusal) {
			return "fail"
		}
	}
	return "unknown"
}

// errorText is a short error text for the ledger.
func errorText(err error) string {
	text := err.Error()
	if len(text) > 200 {
		return text[:200] + "..."
	}
	return text
}
