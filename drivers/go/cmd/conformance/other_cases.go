package main

import (
	"context"
	"fmt"
	"github.com/mqdrill/mqdrill/drivers/go/internal/lifecycle"
	"strconv"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// filterRoundTrip: the consumer subscribes with filter; of the n messages decorated by decorate, only the wanted
// ones arrive, and nothing else within the quiet window.
func filterRoundTrip(ctx context.Context, o options, name string, n int, filter *rmq.FilterExpression,
	decorate func(seq int, m *rmq.Message) (wanted bool)) (detail, error) {
	topic, group, run := o.topicFor(name), o.groupFor(name), newRunID()
	d := detail{"topic": topic, "group": group, "run": run}
	msgs := map[int]*rmq.Message{}
	var want []int
	for seq := 0; seq < n; seq++ {
		msgs[seq] = newMessage(topic, run, seq)
		if decorate(seq, msgs[seq]) {
			want = append(want, seq)
		}
	}
	consumer, err := startSimpleConsumer(ctx, o, group, topic, filter)
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(consumer, 5*time.Second)
	producer, err := startProducer(ctx, o, topic)
	if err != nil {
		return d, err
	}
	defer lifecycle.StopWithin(producer, 5*time.Second)
	ids, err := sendAll(ctx, producer, msgs)
	d["sent"] = len(ids)
	if err != nil {
		return d, err
	}
	col := newCollector(run, want)
	err = drainSimple(ctx, consumer, col, quietWindow)
	d["received"] = col.summary()
	if err != nil {
		return d, err
	}
	return d, checkViews(col, run, topic, ids)
}

// tagFilter: tags TagA, TagB, TagC and none in turn; "TagA||TagC" gets exactly the TagA and TagC ones.
func tagFilter(ctx context.Context, o options, name string) (detail, error) {
	filter := rmq.NewFilterExpressionWithType("TagA||TagC", rmq.TAG)
	d, err := filterRoundTrip(ctx, o, name, max(o.count, 4), filter, func(seq int, m *rmq.Message) bool {
		switch seq % 4 {
		case 0:
			m.SetTag("TagA")
		case 1:
			m.SetTag("TagB")
		case 2:
			m.SetTag("TagC")
		}
		return seq%4 == 0 || seq%4 == 2
	})
	d["expression"] = "TagA||TagC"
	return d, err
}

const sqlExpression = "color = 'red' AND n >= 2"

// sqlFilter: properties color (red/blue) and n; the SQL92 filter gets exactly the red ones with n >= 2. Then a
// malformed expression must be refused by the broker.
func sqlFilter(ctx context.Context, o options, name string) (detail, error) {
	filter := rmq.NewFilterExpressionWithType(sqlExpression, rmq.SQL92)
	d, err := filterRoundTrip(ctx, o, name, max(o.count, 6), filter, func(seq int, m *rmq.Message) bool {
		color := "blue"
		if seq%2 == 0 {
			color = "red"
		}
		m.AddProperty("color", color)
		m.AddProperty("n", strconv.Itoa(seq))
		return color == "red" && seq >= 2
	})
	d["expression"] = sqlExpression
	if err != nil {
		return d, err
	}
	malformed, err := malformedSQL(ctx, o, name)
	d["malformedExpressionError"] = malformed
	return d, err
}

// malformedSQL: a receive with an unparsable SQL92 expression must fail (RocketMQ: ILLEGAL_FILTER_EXPRESSION).
func malformedSQL(ctx context.Context, o options, name string) (string, error) {
	const bad = "color = = 'red'"
	consumer, err := startSimpleConsumer(ctx, o, o.groupFor(name), o.topicFor(name),
		rmq.NewFilterExpressionWithType(bad, rmq.SQL92))
	if err != nil {
		return err.Error(), nil
	}
	defer lifecycle.StopWithin(consumer, 5*time.Second)
	callCtx, cancel := context.WithTimeout(ctx, awaitDuration+5*time.Second)
	defer cancel()
	batch, err := consumer.Receive(callCtx, 16, invisibleDuration)
	for _, m := range batch {
		_ = consumer.Ack(ctx, m)
	}
	switch {
	case err == nil:
		return "", fmt.Errorf("malformed SQL92 expression %q: receive returned %d message(s) and no error",
			bad, len(batch))
	case isMessageNotFound(err):
		return err.Error(), fmt.Errorf("malformed SQL92 expression %q: the broker answered MESSAGE_NOT_FOUND", bad)
	}
	return err.Error(), nil
}

// credentialsCase: with -ak/-sk a round trip works; a wrong secret and an unknown access key are refused.
func credentialsCase(ctx context.Context, o options, name string) (detail, error) {
	if o.accessKey == "" {
		return detail{}, errNeedsCredentials
	}
	d, err := simpleRoundTrip(ctx, o, name)
	if err != nil {
		return d, err
	}
	topic := o.topicFor(name)
	wrong := map[string][2]string{
		"wrongSecret":      {o.accessKey, o.secretKey + "-wrong"},
		"unknownAccessKey": {"unknown-" + o.accessKey, o.secretKey},
		"noCredentials":    {"", ""},
	}
	for label, keys := range wrong {
		refusal, err := refusedSend(ctx, o, keys[0], keys[1], topic)
		d[label] = refusal
		if err != nil {
			return d, fmt.Errorf("%s: %w", label, err)
		}
	}
	return d, nil
}

// refusedSend starts a producer with the given keys and sends one message; it must fail, and the error is kept.
func refusedSend(ctx context.Context, o options, ak, sk, topic string) (string, error) {
	limited, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	producer, err := startProducerAs(limited, o, ak, sk, topic)
	if err != nil {
		if limited.Err() != nil {
			return err.Error(), fmt.Errorf("neither accepted nor refused within 15s: %w", err)
		}
		return err.Error(), nil
	}
	defer lifecycle.StopWithin(producer, 5*time.Second)
	receipts, err := producer.Send(limited, newMessage(topic, newRunID(), 0))
	if err == nil {
		return "", fmt.Errorf("the broker accepted the send (%d receipt(s))", len(receipts))
	}
	return err.Error(), nil
}

// tlsCase: a round trip over TLS, whatever -tls says.
func tlsCase(ctx context.Context, o options, name string) (detail, error) {
	setTLS(true)
	defer setTLS(o.tls)
	d, err := simpleRoundTrip(ctx, o, name)
	d["tls"] = true
	return d, err
}
