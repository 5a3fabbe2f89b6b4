package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

func TestClassifySendError(t *testing.T) {
	cases := map[string]struct {
		err  error
		want string
	}{
		"ok":          {nil, "ok"},
		"timeout":     {fmt.Errorf("%w after 3s: %w", errTimeout, context.DeadlineExceeded), "unknown"},
		"deadline":    {context.DeadlineExceeded, "unknown"},
		"bad request": {&rmq.ErrRpcStatus{Code: int32(v2.Code_BAD_REQUEST), Message: "no"}, "fail"},
		"forbidden":   {fmt.Errorf("send: %w", &rmq.ErrRpcStatus{Code: int32(v2.Code_FORBIDDEN)}), "fail"},
		"internal":    {&rmq.ErrRpcStatus{Code: int32(v2.Code_INTERNAL_SERVER_ERROR)}, "unknown"},
		"validation":  {errors.New("current message type not match with topic accept message types"), "fail"},
		"transport":   {errors.New("rpc error: code = Unavailable desc = connection refused"), "unknown"},
	}
	for name, c := range cases {
		if got := classifySendError(c.err); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
}

func TestOutgoingMessageCarriesTheHarnessProperties(t *testing.T) {
	spec := load.MessageSpec{Type: "FIFO", Topic: "orders", Properties: map[string]string{"region": "eu"},
		BodySizeBytes: load.Distribution{Distribution: "constant", Value: 1024}}
	plan := load.EngineMessage{IDPrefix: "run-orders-0", Seed: 7, Segment: load.Segment{Count: 1},
		Scenario: load.Scenario{Name: "orders"}}
	p := newProducer(spec, plan, load.NewRegistry(), nil)
	m := load.PlannedMessage{ID: "run-orders-0-1", Key: "key-3", Seq: 2, Tag: "paid", BodySizeBytes: 1024,
		Poison: true, DelayMs: 500, HasDelay: true}
	msg := p.outgoing(m, 1_000_000)
	props := msg.GetProperties()
	want := map[string]string{propID: "run-orders-0-1", propKey: "key-3", propSeq: "2", propSentMs: "1000000",
		propPoison: "1", "region": "eu"}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("property %s = %q, want %q", k, props[k], v)
		}
	}
	if len(msg.Body) != 1024 || *msg.GetTag() != "paid" || *msg.GetMessageGroup() != "key-3" ||
		msg.GetKeys()[0] != "key-3" || msg.GetDeliveryTimestamp().UnixMilli() != 1_000_500 {
		t.Fatalf("%+v", msg)
	}
}

func TestProtocolErrorsAreFatalAndBadLinesAreLogged(t *testing.T) {
	var out bytes.Buffer
	stdin := strings.NewReader("not json\n{\"type\":\"start\"}\n")
	code := run([]string{"--driver-id", "x-0"}, stdin, &out, &bytes.Buffer{})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], `"type":"log"`) ||
		!strings.Contains(lines[1], `"type":"error"`) || !strings.Contains(lines[1], "start before plan") ||
		!strings.Contains(lines[1], `"fatal":true`) {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}
}

func TestConsumerPlanThenStopBeforeStartAnswersReadyAndDone(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "ledger-billing-0.ndjson")
	plan := fmt.Sprintf(`{"type":"plan","protocol":1,"driverId":"billing-0","runId":"r1","idPrefix":"p",`+
		`"segment":{"index":0,"count":1},"target":{"endpoint":"127.0.0.1:1","tls":false,"namespace":""},`+
		`"scenario":{"name":"billing","role":"consumer","workers":1,"tags":{},`+
		`"schedule":{"executor":"constant-vus","vus":2,"durationMs":1000,"startTimeMs":0,"gracefulStopMs":0},`+
		`"message":null,"consumer":{"group":"g","topic":"t","kind":"simple","filter":{"type":"TAG","expression":"*"},`+
		`"maxAttempts":3}},"seed":1,"ledgerPath":%q,"metricsIntervalMs":1000}`, ledgerPath)
	var out bytes.Buffer
	code := run([]string{"--driver-id", "billing-0", "--log-dir", dir}, strings.NewReader(plan+"\n"+
		`{"type":"stop","reason":"aborted"}`+"\n"), &out, &bytes.Buffer{})
	if code != 0 || !strings.Contains(out.String(), `"type":"ready"`) || !strings.Contains(out.String(),
		`"type":"done"`) || !strings.Contains(out.String(), `"client":"golang/v5@`) {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	header, err := os.ReadFile(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"header"`, `"process":"billing-0"`, `"maxAttempts":3`, `"group":"g"`} {
		if !strings.Contains(string(header), want) {
			t.Errorf("ledger header lacks %s: %s", want, header)
		}
	}
}

func TestDeadLettersCountsTrackedIdsNotYetSeenInTheDLQ(t *testing.T) {
	var d deadLetters
	if n := d.missing(nil); n != 0 {
		t.Fatalf("nothing tracked: missing %d, want 0", n)
	}
	d.add("a")
	d.add("b")
	d.add("a")
	if n := d.missing(map[string]struct{}{"a": {}, "z": {}}); n != 1 {
		t.Fatalf("a seen, b not: missing %d, want 1", n)
	}
	if n := d.missing(map[string]struct{}{"a": {}, "b": {}}); n != 0 {
		t.Fatalf("both seen: missing %d, want 0", n)
	}
}

// A clock reply is handled by the stdin reader even while the main loop is busy (in prepare, connecting the
// producer): read after the connect, the first `ck` record's offset would be skewed by half the connect time.
func TestClockRepliesAreHandledWhileTheMainLoopIsBusy(t *testing.T) {
	r, w := io.Pipe()
	replies := make(chan load.EngineMessage, 1)
	lines := readLines(r, io.Discard, func(m load.EngineMessage) { replies <- m })
	go func() {
		_, _ = w.Write([]byte(`{"type":"start"}` + "\n" + `{"type":"clock","seq":1,"sentMs":10,"drillMs":20}` + "\n"))
	}()
	// Nobody reads lines here, as when the main loop is still in prepare.
	select {
	case m := <-replies:
		if m.Seq != 1 || m.SentMs != 10 || m.DrillMs != 20 {
			t.Fatalf("clock reply %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock reply waited for the main loop")
	}
	_ = w.Close()
	var rest []string
	for line := range lines {
		rest = append(rest, string(line))
	}
	if len(rest) != 1 || rest[0] != `{"type":"start"}` {
		t.Fatalf("lines for the main loop: %q", rest)
	}
}
