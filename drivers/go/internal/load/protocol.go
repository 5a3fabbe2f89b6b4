package load

import (
	"encoding/json"
	"fmt"
)

// ProtocolVersion is the plan protocol version (harness/load/protocol.ts PROTOCOL_VERSION).
const ProtocolVersion = 1

// Target is where and how the driver connects.
type Target struct {
	Endpoint  string `json:"endpoint"`
	TLS       bool   `json:"tls"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	Namespace string `json:"namespace"`
}

// Filter is a consumer's subscription filter.
type Filter struct {
	Type       string `json:"type"`
	Expression string `json:"expression"`
}

// Poison is the consumer's extra poison predicate.
type Poison struct {
	Share float64  `json:"share"`
	Tags  []string `json:"tags"`
}

// ConsumerBehaviour is the plan's consumer behaviour (harness/load/options.ts ConsumerBehaviour).
type ConsumerBehaviour struct {
	Group               string       `json:"group"`
	Topic               string       `json:"topic"`
	Kind                string       `json:"kind"`
	Filter              Filter       `json:"filter"`
	ProcessingTimeMs    Distribution `json:"processingTimeMs"`
	FailureShare        float64      `json:"failureShare"`
	Poison              Poison       `json:"poison"`
	RetryDelayMs        float64      `json:"retryDelayMs"`
	CrashAfterMessages  *int         `json:"crashAfterMessages"`
	RestartDelayMs      float64      `json:"restartDelayMs"`
	InvisibleDurationMs float64      `json:"invisibleDurationMs"`
	ReceiveBatchSize    int          `json:"receiveBatchSize"`
	AwaitDurationMs     float64      `json:"awaitDurationMs"`
	MaxAttempts         *int         `json:"maxAttempts"`
	DeadLetterScanGroup string       `json:"deadLetterScanGroup"`
}

// Scenario is one scenario with this segment's schedule.
type Scenario struct {
	Name     string             `json:"name"`
	Role     string             `json:"role"`
	Schedule Schedule           `json:"schedule"`
	Message  *MessageSpec       `json:"message"`
	Consumer *ConsumerBehaviour `json:"consumer"`
	Tags     map[string]string  `json:"tags"`
	Workers  int                `json:"workers"`
}

// EngineMessage is any engine-to-driver message: plan, start or stop (fields of the others are zero).
type EngineMessage struct {
	Type              string   `json:"type"`
	Protocol          int      `json:"protocol"`
	DriverID          string   `json:"driverId"`
	RunID             string   `json:"runId"`
	Segment           Segment  `json:"segment"`
	Target            Target   `json:"target"`
	Scenario          Scenario `json:"scenario"`
	IDPrefix          string   `json:"idPrefix"`
	Seed              float64  `json:"seed"`
	LedgerPath        *string  `json:"ledgerPath"`
	MetricsIntervalMs float64  `json:"metricsIntervalMs"`
	Reason            string   `json:"reason"`
	// Seq, SentMs and DrillMs are a clock reply: the request's seq and send time echoed, the drill's clock.
	Seq     int64   `json:"seq"`
	SentMs  float64 `json:"sentMs"`
	DrillMs float64 `json:"drillMs"`
}

// ClockRequest asks the engine for the drill's clock (harness/load/protocol.ts ClockRequestMessage).
type ClockRequest struct {
	Type     string  `json:"type"`
	DriverID string  `json:"driverId"`
	Seq      int64   `json:"seq"`
	SentMs   float64 `json:"sentMs"`
}

// ClockSample is the ledger's `ck` record from a clock reply received at receivedMs (this process's clock): its
// offset to the drill's clock and the most that can be wrong by (half the round trip), as docs/ledger.md says.
func ClockSample(reply EngineMessage, receivedMs float64) *Record {
	errMs := (receivedMs - reply.SentMs) / 2
	if errMs < 0 {
		errMs = 0
	}
	off := (reply.SentMs+receivedMs)/2 - reply.DrillMs
	return NewRecord("ck", receivedMs).Num("off", off).Num("err", errMs)
}

// DecodeEngineLine parses one NDJSON line from the engine.
func DecodeEngineLine(line []byte) (EngineMessage, error) {
	var m EngineMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("not an engine message: %w: %.200s", err, line)
	}
	switch m.Type {
	case "plan":
		if m.Protocol != ProtocolVersion {
			return m, fmt.Errorf("plan protocol %d, this driver speaks %d", m.Protocol, ProtocolVersion)
		}
	case "start", "stop", "clock":
	default:
		return m, fmt.Errorf("not an engine message: %.200s", line)
	}
	return m, nil
}

// Ready says the clients are connected.
type Ready struct {
	Type     string `json:"type"`
	DriverID string `json:"driverId"`
	Client   string `json:"client"`
}

// Metrics is a periodic snapshot.
type Metrics struct {
	Type     string   `json:"type"`
	DriverID string   `json:"driverId"`
	WallMs   float64  `json:"wallMs"`
	Delta    Delta    `json:"delta"`
	Progress Progress `json:"progress"`
}

// Done ends the driver's work.
type Done struct {
	Type          string  `json:"type"`
	DriverID      string  `json:"driverId"`
	Result        Result  `json:"result"`
	Delta         Delta   `json:"delta"`
	LedgerPath    *string `json:"ledgerPath"`
	LedgerRecords int64   `json:"ledgerRecords"`
}

// ErrorMessage reports an error; Fatal means the driver is exiting.
type ErrorMessage struct {
	Type     string `json:"type"`
	DriverID string `json:"driverId"`
	Message  string `json:"message"`
	Fatal    bool   `json:"fatal"`
}

// Log is a log line for the engine (level debug, info, warn or error).
type Log struct {
	Type     string `json:"type"`
	DriverID string `json:"driverId"`
	Level    string `json:"level"`
	Message  string `json:"message"`
}

// EncodeLine is one NDJSON line of a driver message.
func EncodeLine(message any) ([]byte, error) {
	b, err := json.Marshal(message)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
