package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"strconv"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// detail is the case-specific part of a result line.
type detail = map[string]any

type caseFunc func(ctx context.Context, o options, name string) (detail, error)

var caseFuncs = map[string]caseFunc{
	"normal-simple":                 normalSimple,
	"normal-push":                   normalPush,
	"fifo":                          fifo,
	"delay":                         delay,
	"transaction-commit":            transactionCommit,
	"transaction-rollback":          transactionRollback,
	"transaction-unknown-checkback": transactionCheckback,
	"tag-filter":                    tagFilter,
	"sql-filter":                    sqlFilter,
	"credentials":                   credentialsCase,
	"tls":                           tlsCase,
}

// quietWindow is how long a case keeps receiving after the wanted messages, to catch ones that must not come.
const quietWindow = 3 * time.Second

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func bodyOf(run string, seq int) []byte {
	return []byte(fmt.Sprintf("mqdrill %s %d", run, seq))
}

func newMessage(topic, run string, seq int) *rmq.Message {
	m := &rmq.Message{Topic: topic, Body: bodyOf(run, seq)}
	m.AddProperty(propRun, run)
	m.AddProperty(propSeq, strconv.Itoa(seq))
	m.SetKeys(fmt.Sprintf("%s-%d", run, seq))
	return m
}

func seqs(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// checkReceipt: one receipt, carrying a message id (the broker echoes the client's id).
func checkReceipt(receipts []*rmq.SendReceipt) (string, error) {
	if len(receipts) != 1 || receipts[0] == nil || receipts[0].MessageID == "" {
		return "", fmt.Errorf("send: want one receipt with a message id, got %d", len(receipts))
	}
	return receipts[0].MessageID, nil
}

// sendAll sends the messages one by one and returns the message ids by sequence number.
func sendAll(ctx context.Context, p rmq.Producer, msgs map[int]*rmq.Message) (map[int]string, error) {
	ids := map[int]string{}
	for seq := 0; seq < len(msgs); seq++ {
		receipts, err := p.Send(ctx, msgs[seq])
		if err != nil {
			return ids, fmt.Errorf("send seq %d: %w", seq, err)
		}
		if ids[seq], err = checkReceipt(receipts); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// drainSimple receives until the collector is complete, then for quiet longer; a timeout reports the verdict.
func drainSimple(ctx context.Context, c rmq.SimpleConsumer, col *collector, quiet time.Duration) error {
	handle := func(m *rmq.MessageView) error {
		if col.add(m) {
			return errStop
		}
		return nil
	}
	if !col.complete() {
		if err := receiveLoop(ctx, c, handle); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("timed out: %v", col.verdict())
			}
			return err
		}
	}
	if quiet > 0 {
		quietCtx, cancel := context.WithTimeout(ctx, quiet)
		defer cancel()
		err := receiveLoop(quietCtx, c, func(m *rmq.MessageView) error { col.add(m); return nil })
		if err != nil && quietCtx.Err() == nil {
			return err
		}
	}
	return col.verdict()
}

// checkViews compares what arrived with what was sent: id, topic, body, delivery attempt.
func checkViews(col *collector, run, topic string, ids map[int]string) error {
	col.mu.Lock()
	defer col.mu.Unlock()
	for seq, m := range col.got {
		switch {
		case ids != nil && m.GetMessageId() != ids[seq]:
			return fmt.Errorf("seq %d: message id %q, the send receipt said %q", seq, m.GetMessageId(), ids[seq])
		case m.GetTopic() != topic:
			return fmt.Errorf("seq %d: topic %q, want %q", seq, m.GetTopic(), topic)
		case !bytes.Equal(m.GetBody(), bodyOf(run, seq)):
			return fmt.Errorf("seq %d: body %q, want %q", seq, m.GetBody(), bodyOf(run, seq))
		case m.GetDeliveryAttempt() < 1:
			return fmt.Errorf("seq %d: delivery attempt %d, want >= 1", seq, m.GetDeliveryAttempt())
		}
	}
	return nil
}

// simpleRoundTrip: a simple consumer subscribes, a producer sends count messages, all come back once.
func simpleRoundTrip(ctx context.Context, o options, name string) (detail, error) {
	topic, group, run := o.topicFor(name), o.groupFor(name), newRunID()
	d := detail{"topic": topic, "group": group, "run": run}
	consumer, err := startSimpleConsumer(ctx, o, group, topic, rmq.SUB_ALL)
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(consumer, 5*time.Second)
	producer, err := startProducer(ctx, o, topic)
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(producer, 5*time.Second)
	msgs := map[int]*rmq.Message{}
	for seq := 0; seq < o.count; seq++ {
		msgs[seq] = newMessage(topic, run, seq)
		msgs[seq].SetTag("conformance")
	}
	ids, err := sendAll(ctx, producer, msgs)
	d["sent"] = len(ids)
	if err != nil {
		return d, err
	}
	col := newCollector(run, seqs(o.count))
	err = drainSimple(ctx, consumer, col, 0)
	d["received"] = col.summary()
	if err != nil {
		return d, err
	}
	return d, checkViews(col, run, topic, ids)
}

func normalSimple(ctx context.Context, o options, name string) (detail, error) {
	return simpleRoundTrip(ctx, o, name)
}

func normalPush(ctx context.Context, o options, name string) (detail, error) {
	topic, group, run := o.topicFor(name), o.groupFor(name), newRunID()
	d := detail{"topic": topic, "group": group, "run": run}
	col := newCollector(run, seqs(o.count))
	consumer, err := startPushConsumer(ctx, o, group, topic, func(m *rmq.MessageView) rmq.ConsumerResult {
		col.add(m)
		return rmq.SUCCESS
	})
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(consumer, 5*time.Second)
	producer, err := startProducer(ctx, o, topic)
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(producer, 5*time.Second)
	msgs := map[int]*rmq.Message{}
	for seq := 0; seq < o.count; seq++ {
		msgs[seq] = newMessage(topic, run, seq)
	}
	ids, err := sendAll(ctx, producer, msgs)
	d["sent"] = len(ids)
	if err != nil {
		return d, err
	}
	err = waitCollected(ctx, col, quietWindow)
	d["received"] = col.summary()
	if err != nil {
		return d, err
	}
	return d, checkViews(col, run, topic, ids)
}

// waitCollected waits (for push consumers) until the collector is complete, then quiet longer.
func waitCollected(ctx context.Context, col *collector, quiet time.Duration) error {
	select {
	case <-col.done:
	case <-ctx.Done():
		return fmt.Errorf("timed out: %v", col.verdict())
	}
	select {
	case <-time.After(quiet):
	case <-ctx.Done():
	}
	return col.verdict()
}

// errNeedsCredentials is the credentials case without -ak/-sk.
var errNeedsCredentials = errors.New("the credentials case needs -ak and -sk")
