package main

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// User properties every message of a run carries, so leftovers of earlier runs on the same topic are ignored.
const (
	propRun = "mqdrillRun"
	propSeq = "mqdrillSeq"
)

// collector gathers the messages of one run, by sequence number, from simple or push consumers.
type collector struct {
	mu        sync.Mutex
	run       string
	want      map[int]bool
	got       map[int]*rmq.MessageView
	at        map[int]time.Time
	order     []int
	dups      int
	unwanted  []int
	problems  []string
	done      chan struct{}
	closeOnce sync.Once
}

func newCollector(run string, want []int) *collector {
	c := &collector{run: run, want: map[int]bool{}, got: map[int]*rmq.MessageView{}, at: map[int]time.Time{},
		done: make(chan struct{})}
	for _, seq := range want {
		c.want[seq] = true
	}
	if len(want) == 0 {
		c.closeOnce.Do(func() { close(c.done) })
	}
	return c
}

// add records m when it belongs to the run; it reports whether every wanted message has arrived.
func (c *collector) add(m *rmq.MessageView) bool {
	props := m.GetProperties()
	if props[propRun] != c.run {
		return c.complete()
	}
	seq, err := strconv.Atoi(props[propSeq])
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		problem := fmt.Sprintf("message %s has a bad %s %q", m.GetMessageId(), propSeq, props[propSeq])
		c.problems = append(c.problems, problem)
		return false
	}
	c.order = append(c.order, seq)
	if !c.want[seq] {
		c.unwanted = append(c.unwanted, seq)
		return false
	}
	if _, seen := c.got[seq]; seen {
		c.dups++
		return false
	}
	c.got[seq] = m
	c.at[seq] = time.Now()
	if len(c.got) == len(c.want) {
		c.closeOnce.Do(func() { close(c.done) })
		return true
	}
	return false
}

func (c *collector) complete() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *collector) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// missing lists the wanted sequence numbers not received, at most 20 of them.
func (c *collector) missing() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for seq := range c.want {
		if _, ok := c.got[seq]; !ok && len(out) < 20 {
			out = append(out, seq)
		}
	}
	return out
}

// summary is the collector's part of a case's detail.
func (c *collector) summary() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return map[string]any{
		"wanted": len(c.want), "received": len(c.got), "duplicates": c.dups, "unwanted": len(c.unwanted),
	}
}

// verdict is nil when every wanted message arrived once and nothing unwanted or odd did.
func (c *collector) verdict() error {
	missing := c.missing()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case len(missing) > 0:
		return fmt.Errorf("%d of %d messages not received (e.g. seq %v)", len(c.want)-len(c.got), len(c.want), missing)
	case len(c.unwanted) > 0:
		return fmt.Errorf("received %d message(s) that should not be delivered (seq %v)", len(c.unwanted), c.unwanted)
	case c.dups > 0:
		return fmt.Errorf("%d duplicate deliveries", c.dups)
	case len(c.problems) > 0:
		return fmt.Errorf("%d problem(s): %v", len(c.problems), c.problems)
	}
	return nil
}
