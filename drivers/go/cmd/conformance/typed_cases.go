package main

import (
	"context"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"strconv"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

const fifoGroups = 5

// fifo: 5 message groups, messages interleaved on send; a push consumer on a FIFO group sees each group in order.
func fifo(ctx context.Context, o options, name string) (detail, error) {
	topic, group, run := o.topicFor(name), o.groupFor(name), newRunID()
	d := detail{"topic": topic, "group": group, "run": run, "messageGroups": fifoGroups, "perGroup": o.count}
	col := newCollector(run, seqs(fifoGroups*o.count))
	var mu sync.Mutex
	order := map[string][]int{}
	consumer, err := startPushConsumer(ctx, o, group, topic, func(m *rmq.MessageView) rmq.ConsumerResult {
		if m.GetProperties()[propRun] == run {
			seq, _ := strconv.Atoi(m.GetProperties()[propSeq])
			mu.Lock()
			order[groupName(m)] = append(order[groupName(m)], seq)
			mu.Unlock()
		}
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
	for i := 0; i < o.count; i++ {
		for g := 0; g < fifoGroups; g++ {
			seq := g*o.count + i
			msgs[seq] = newMessage(topic, run, seq)
			msgs[seq].SetMessageGroup(fmt.Sprintf("%s-g%d", run, g))
		}
	}
	if _, err := sendInterleaved(ctx, producer, msgs, o.count); err != nil {
		return d, err
	}
	err = waitCollected(ctx, col, quietWindow)
	d["received"] = col.summary()
	mu.Lock()
	violations := orderViolations(order)
	mu.Unlock()
	d["orderViolations"] = violations
	if err != nil {
		return d, err
	}
	if len(violations) > 0 {
		return d, fmt.Errorf("%d order violation(s) within message groups: %v", len(violations), violations)
	}
	return d, nil
}

func groupName(m *rmq.MessageView) string {
	if g := m.GetMessageGroup(); g != nil {
		return *g
	}
	return "(none)"
}

// sendInterleaved sends message i of every group before message i+1 of any.
func sendInterleaved(ctx context.Context, p rmq.Producer, msgs map[int]*rmq.Message, perGroup int) (int, error) {
	sent := 0
	for i := 0; i < perGroup; i++ {
		for g := 0; g < fifoGroups; g++ {
			receipts, err := p.Send(ctx, msgs[g*perGroup+i])
			if err != nil {
				return sent, fmt.Errorf("send group %d message %d: %w", g, i, err)
			}
			if _, err := checkReceipt(receipts); err != nil {
				return sent, err
			}
			sent++
		}
	}
	return sent, nil
}

// orderViolations: within each message group, sequence numbers must rise by one (a repeat is a redelivery).
func orderViolations(order map[string][]int) []string {
	var out []string
	for group, list := range order {
		for i := 1; i < len(list); i++ {
			if list[i] != list[i-1]+1 && list[i] != list[i-1] {
				out = append(out, fmt.Sprintf("%s: %d after %d", group, list[i], list[i-1]))
			}
		}
	}
	return out
}

const delayBy = 2 * time.Second

// delay: messages due 2 s after sending arrive, never before their due time.
func delay(ctx context.Context, o options, name string) (detail, error) {
	topic, group, run := o.topicFor(name), o.groupFor(name), newRunID()
	d := detail{"topic": topic, "group": group, "run": run, "delayMs": delayBy.Milliseconds()}
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
	due := map[int]time.Time{}
	msgs := map[int]*rmq.Message{}
	for seq := 0; seq < o.count; seq++ {
		due[seq] = time.Now().Add(delayBy).Truncate(time.Millisecond)
		msgs[seq] = newMessage(topic, run, seq)
		msgs[seq].SetDelayTimestamp(due[seq])
	}
	ids, err := sendAll(ctx, producer, msgs)
	if err != nil {
		return d, err
	}
	col := newCollector(run, seqs(o.count))
	err = drainSimple(ctx, consumer, col, 0)
	d["received"] = col.summary()
	if err != nil {
		return d, err
	}
	if err := checkViews(col, run, topic, ids); err != nil {
		return d, err
	}
	return d, checkLateness(col, due, d)
}

// checkLateness fails on any message received before its due time or carrying another delivery timestamp.
func checkLateness(col *collector, due map[int]time.Time, d detail) error {
	col.mu.Lock()
	defer col.mu.Unlock()
	early, minLate, maxLate := 0, time.Duration(1<<62), time.Duration(0)
	for seq, at := range col.at {
		late := at.Sub(due[seq])
		if late < 0 {
			early++
		}
		minLate, maxLate = min(minLate, late), max(maxLate, late)
		ts := col.got[seq].GetDeliveryTimestamp()
		if ts == nil || !ts.Equal(due[seq]) {
			return fmt.Errorf("seq %d: delivery timestamp %v, sent %v", seq, ts, due[seq])
		}
	}
	d["early"], d["minLatenessMs"], d["maxLatenessMs"] = early, minLate.Milliseconds(), maxLate.Milliseconds()
	if early > 0 {
		return fmt.Errorf("%d message(s) received before their due time (earliest %v early)", early, -minLate)
	}
	return nil
}
