package load

import (
	"encoding/json"
	"strings"
	"testing"
)

// docsPlan is the plan example of docs/load.md.
const docsPlan = `{"type":"plan","protocol":1,"driverId":"orders-0","runId":"smoke-1735732800000",` +
	`"idPrefix":"smq3x9k-orders-0","segment":{"index":0,"count":2},` +
	`"target":{"endpoint":"127.0.0.1:8081","tls":false,"namespace":"","accessKey":"ak","secretKey":"sk"},` +
	`"scenario":{"name":"orders","role":"producer","workers":2,"tags":{"scenario":"orders"},` +
	`"schedule":{"executor":"constant-arrival-rate","rate":100,"timeUnitMs":1000,"durationMs":60000,` +
	`"preAllocatedVUs":25,"maxVUs":25,"startTimeMs":0,"gracefulStopMs":30000},` +
	`"message":{"type":"NORMAL","topic":"orders","tags":["paid"],"keys":null,` +
	`"bodySizeBytes":{"distribution":"constant","value":1024},"properties":{},` +
	`"sendTimeoutMs":3000,"poisonShare":0},"consumer":null},` +
	`"seed":7920,"ledgerPath":"runs/x/ledger-orders-0.ndjson","metricsIntervalMs":1000}`

func TestDecodeThePlanOfTheDocs(t *testing.T) {
	m, err := DecodeEngineLine([]byte(docsPlan))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Scenario
	if m.DriverID != "orders-0" || m.Segment.Count != 2 || m.Target.AccessKey != "ak" || s.Consumer != nil ||
		s.Message == nil || s.Message.Keys != nil || s.Schedule.MaxVUs != 25 || s.Schedule.Rate != 100 ||
		*m.LedgerPath != "runs/x/ledger-orders-0.ndjson" || m.Seed != 7920 || s.Message.BodySizeBytes.Value != 1024 {
		t.Fatalf("%+v", m)
	}
	stop, err := DecodeEngineLine([]byte(`{"type":"stop","reason":"drained"}`))
	if err != nil || stop.Reason != "drained" {
		t.Fatal(stop, err)
	}
	for _, bad := range []string{`{"type":"ready"}`, `not json`, strings.Replace(docsPlan, `"protocol":1`,
		`"protocol":2`, 1)} {
		if _, err := DecodeEngineLine([]byte(bad)); err == nil {
			t.Errorf("accepted %.40s", bad)
		}
	}
}

func TestDriverMessagesEncodeAsTheEngineReadsThem(t *testing.T) {
	r := NewRegistry()
	tags := Tags{"scenario": "orders", "topic": "orders"}
	r.Rate("send_failed", false, tags)
	r.Gauge("vus", 0, Tags{"scenario": "orders"})
	line, err := EncodeLine(Metrics{Type: "metrics", DriverID: "orders-0", WallMs: 1, Delta: r.TakeDelta(),
		Progress: Progress{Result: Result{StartedIterations: 3}, ActiveVUs: 1}})
	if err != nil || line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("%q %v", line, err)
	}
	var back struct {
		Delta struct {
			Series []map[string]any `json:"series"`
		} `json:"delta"`
		Progress map[string]float64 `json:"progress"`
	}
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	rate, gauge := back.Delta.Series[0], back.Delta.Series[1]
	if rate["passes"] != 0.0 || rate["total"] != 1.0 || gauge["value"] != 0.0 || rate["hdr"] != nil {
		t.Fatalf("zero passes and a zero gauge must be sent: %s", line)
	}
	if back.Progress["startedIterations"] != 3 || back.Progress["activeVUs"] != 1 {
		t.Fatalf("%s", line)
	}
}
