package load

import (
	"math"
	"strconv"
	"sync"
)

// TransactionShares are the plan's transaction outcome shares (summing to 1).
type TransactionShares struct {
	Commit   float64 `json:"commit"`
	Rollback float64 `json:"rollback"`
	Unknown  float64 `json:"unknown"`
}

// MessageSpec is the plan's message spec (harness/load/options.ts MessageSpec).
type MessageSpec struct {
	Type          string             `json:"type"`
	Topic         string             `json:"topic"`
	Tags          []string           `json:"tags"`
	Keys          *KeySpec           `json:"keys"`
	BodySizeBytes Distribution       `json:"bodySizeBytes"`
	DelayMs       *Distribution      `json:"delayMs"`
	Transaction   *TransactionShares `json:"transaction"`
	Properties    map[string]string  `json:"properties"`
	SendTimeoutMs float64            `json:"sendTimeoutMs"`
	PoisonShare   float64            `json:"poisonShare"`
}

// PlannedMessage is what one send looks like.
type PlannedMessage struct {
	ID            string
	Key           string
	Seq           int
	Tag           string
	BodySizeBytes int
	// DelayMs is set for DELAY messages (HasDelay).
	DelayMs  float64
	HasDelay bool
	// Transaction is "commit", "rollback" or "unknown" for TRANSACTION messages, else "".
	Transaction string
	Poison      bool
}

// Planner draws messages from a spec, deterministically from the seed; safe for concurrent VUs.
type Planner struct {
	mu        sync.Mutex
	spec      MessageSpec
	idPrefix  string
	keys      *KeyPicker
	sequences map[string]int
	count     int
	random    *Random
}

// NewPlanner plans the messages of one producer segment; ids are `<idPrefix>-<n>`.
func NewPlanner(spec MessageSpec, idPrefix string, seg Segment, random *Random) *Planner {
	p := &Planner{spec: spec, idPrefix: idPrefix, sequences: map[string]int{}, random: random}
	if spec.Keys != nil {
		p.keys = NewKeyPicker(*spec.Keys, seg)
	}
	return p
}

// Next plans the next message.
func (p *Planner) Next() PlannedMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	m := PlannedMessage{ID: p.idPrefix + "-" + itoa(p.count)}
	m.Key = m.ID
	if p.keys != nil {
		m.Key = p.keys.Pick(p.random)
		p.sequences[m.Key]++
		m.Seq = p.sequences[m.Key]
	} else {
		m.Seq = 1
	}
	switch tags := p.spec.Tags; len(tags) {
	case 0:
	case 1:
		m.Tag = tags[0]
	default:
		m.Tag = tags[p.random.Int(0, len(tags)-1)]
	}
	m.BodySizeBytes = max(1, int(math.Round(Sample(p.spec.BodySizeBytes, p.random))))
	if p.spec.DelayMs != nil {
		m.DelayMs, m.HasDelay = math.Round(Sample(*p.spec.DelayMs, p.random)), true
	}
	if t := p.spec.Transaction; t != nil {
		u := p.random.Float()
		switch {
		case u < t.Commit:
			m.Transaction = "commit"
		case u < t.Commit+t.Rollback:
			m.Transaction = "rollback"
		default:
			m.Transaction = "unknown"
		}
	}
	m.Poison = p.spec.PoisonShare > 0 && p.random.Float() < p.spec.PoisonShare
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }
