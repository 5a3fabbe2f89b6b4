package main

import (
	"context"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// checker records the broker's transaction check-backs for one run and answers them.
type checker struct {
	mu      sync.Mutex
	run     string
	answer  rmq.TransactionResolution
	calls   []time.Time
	foreign int
}

func (c *checker) check(m *rmq.MessageView) rmq.TransactionResolution {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.GetProperties()[propRun] != c.run {
		c.foreign++
		return rmq.UNKNOWN
	}
	c.calls = append(c.calls, time.Now())
	return c.answer
}

func (c *checker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

func (c *checker) option() rmq.ProducerOption {
	return rmq.WithTransactionChecker(&rmq.TransactionChecker{Check: c.check})
}

// txOutcome says how a transactional send ends: commit, rollback, or left open for the check-back.
type txOutcome int

const (
	txCommit txOutcome = iota
	txRollback
	txOpen
)

// sendTransactional sends each message in its own transaction and ends it as outcome(seq) says.
func sendTransactional(ctx context.Context, p rmq.Producer, msgs map[int]*rmq.Message,
	outcome func(seq int) txOutcome) (map[int]string, error) {
	ids := map[int]string{}
	for seq := 0; seq < len(msgs); seq++ {
		tx := p.BeginTransaction()
		receipts, err := p.SendWithTransaction(ctx, msgs[seq], tx)
		if err != nil {
			return ids, fmt.Errorf("send (half message) seq %d: %w", seq, err)
		}
		if ids[seq], err = checkReceipt(receipts); err != nil {
			return ids, err
		}
		switch outcome(seq) {
		case txCommit:
			err = tx.Commit()
		case txRollback:
			err = tx.RollBack()
		}
		if err != nil {
			return ids, fmt.Errorf("end transaction seq %d: %w", seq, err)
		}
	}
	return ids, nil
}

// txRoundTrip runs the transaction cases: send count messages, end them by outcome, receive the wanted ones.
func txRoundTrip(ctx context.Context, o options, name string, n int, ck *checker,
	outcome func(seq int) txOutcome) (detail, *collector, time.Time, error) {
	topic, group := o.topicFor(name), o.groupFor(name)
	d := detail{"topic": topic, "group": group, "run": ck.run}
	var want []int
	for seq := 0; seq < n; seq++ {
		if outcome(seq) != txRollback {
			want = append(want, seq)
		}
	}
	col := newCollector(ck.run, want)
	consumer, err := startSimpleConsumer(ctx, o, group, topic, rmq.SUB_ALL)
	if err != nil {
		return d, col, time.Time{}, err
	}
	defer lifecycle.StopWithin(consumer, 5*time.Second)
	producer, err := startProducer(ctx, o, topic, ck.option())
	if err != nil {
		return d, col, time.Time{}, err
	}
	defer lifecycle.StopWithin(producer, 5*time.Second)
	msgs := map[int]*rmq.Message{}
	for seq := 0; seq < n; seq++ {
		msgs[seq] = newMessage(topic, ck.run, seq)
	}
	sentAt := time.Now()
	ids, err := sendTransactional(ctx, producer, msgs, outcome)
	d["sent"] = len(ids)
	if err != nil {
		return d, col, sentAt, err
	}
	quiet := time.Duration(0)
	if len(want) < n {
		quiet = quietWindow
	}
	err = drainSimple(ctx, consumer, col, quiet)
	d["received"], d["checkBacks"] = col.summary(), ck.count()
	if err == nil {
		err = checkViews(col, ck.run, topic, ids)
	}
	return d, col, sentAt, err
}

// transactionCommit: committed half messages are delivered; no check-back is needed.
func transactionCommit(ctx context.Context, o options, name string) (detail, error) {
	ck := &checker{run: newRunID(), answer: rmq.UNKNOWN}
	d, col, _, err := txRoundTrip(ctx, o, name, o.count, ck, func(int) txOutcome { return txCommit })
	if err == nil {
		d["transactionIdProperty"] = hasTransactionIDProperty(col)
	}
	return d, err
}

// hasTransactionIDProperty: whether delivered transactional messages carry __transactionId__ (informative).
func hasTransactionIDProperty(col *collector) bool {
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, m := range col.got {
		if m.GetProperties()["__transactionId__"] == "" {
			return false
		}
	}
	return true
}

// transactionRollback: even sequence numbers commit, odd ones roll back and must never be delivered.
func transactionRollback(ctx context.Context, o options, name string) (detail, error) {
	ck := &checker{run: newRunID(), answer: rmq.UNKNOWN}
	n := max(o.count, 2)
	d, _, _, err := txRoundTrip(ctx, o, name, n, ck, func(seq int) txOutcome {
		if seq%2 == 0 {
			return txCommit
		}
		return txRollback
	})
	return d, err
}

// transactionCheckback: transactions left open are resolved by the checker (COMMIT) when the broker asks.
func transactionCheckback(ctx context.Context, o options, name string) (detail, error) {
	ck := &checker{run: newRunID(), answer: rmq.COMMIT}
	n := min(o.count, 3)
	d, col, sentAt, err := txRoundTrip(ctx, o, name, n, ck, func(int) txOutcome { return txOpen })
	ck.mu.Lock()
	calls, foreign := append([]time.Time(nil), ck.calls...), ck.foreign
	ck.mu.Unlock()
	d["checkBacks"], d["foreignCheckBacks"] = len(calls), foreign
	if len(calls) > 0 {
		d["firstCheckBackAfterMs"] = calls[0].Sub(sentAt).Milliseconds()
	}
	col.mu.Lock()
	var last time.Time
	for _, at := range col.at {
		last = maxTime(last, at)
	}
	col.mu.Unlock()
	if !last.IsZero() {
		d["deliveredAfterMs"] = last.Sub(sentAt).Milliseconds()
	}
	if err != nil && len(calls) == 0 {
		return d, fmt.Errorf("the broker never sent a check-back (RecoverOrphanedTransactionCommand): %w", err)
	}
	if err != nil {
		return d, fmt.Errorf("the checker answered COMMIT %d time(s), but: %w", len(calls), err)
	}
	return d, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
