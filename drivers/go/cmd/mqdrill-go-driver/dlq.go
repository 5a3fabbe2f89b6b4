package main

import (
	"context"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

// scanDeadLetters reads %DLQ%<group> to the end with the (pre-created) scan group, writing one `dlq` record per
// message between `dlq-scan` phase markers; the end marker says whether the scan completed (two empty receives
// in a row) within timeLimit, so the dead-letter check decides only after a complete scan.
func (c *consumer) scanDeadLetters(scanGroup string, timeLimit time.Duration) (int, error) {
	if c.ledger != nil {
		_ = c.ledger.Write(load.NewRecord("ph", wallMs()).Str("n", "dlq-scan").Str("s", "start"))
	}
	complete, found := false, 0
	defer func() {
		if c.ledger != nil {
			_ = c.ledger.Write(load.NewRecord("ph", wallMs()).Str("n", "dlq-scan").Str("s", "end").Bool("ok", complete))
		}
	}()
	client, err := startSimpleConsumer(c.target, scanGroup, "%DLQ%"+c.b.Group, load.Filter{Type: "TAG",
		Expression: "*"}, time.Second)
	if err != nil {
		return 0, err
	}
	defer lifecycle.StopWithin(client, 10*time.Second)
	deadline := time.Now().Add(timeLimit)
	emptyInARow := 0
	for time.Now().Before(deadline) {
		batch, err := receive(client, 32, 30*time.Second, time.Second)
		if err != nil {
			batch = nil
		}
		if len(batch) == 0 {
			if emptyInARow++; emptyInARow >= 2 {
				complete = true
				break
			}
			continue
		}
		emptyInARow = 0
		for _, m := range batch {
			c.recordDeadLetter(client, m)
			found++
		}
	}
	return found, nil
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
