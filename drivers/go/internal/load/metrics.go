package load

import (
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Trend histograms hold microseconds, 3 significant digits, as harness/load/metrics.ts records them. The engine
// decodes them with hdr-histogram-js (autoResize), so the range only bounds what one driver records: 1 µs to
// one hour; longer values are clamped to the top (the exact max is sent beside the histogram).
const (
	histLowestUs  = 1
	histHighestUs = 3_600_000_000
	histSigFigs   = 3
	usPerMs       = 1000
)

// Tags label a series (scenario, topic, group).
type Tags map[string]string

// SeriesDelta is one series of a metrics delta (MetricsDelta in harness/load/metrics.ts). Pointer fields are
// absent from the JSON when nil, so a zero passes count or a gauge at 0 is still sent.
type SeriesDelta struct {
	Name   string   `json:"name"`
	Tags   Tags     `json:"tags"`
	Hdr    string   `json:"hdr,omitempty"`
	MinMs  *float64 `json:"minMs,omitempty"`
	MaxMs  *float64 `json:"maxMs,omitempty"`
	SumMs  *float64 `json:"sumMs,omitempty"`
	Count  *int64   `json:"count,omitempty"`
	Add    int64    `json:"add,omitempty"`
	Passes *int64   `json:"passes,omitempty"`
	Total  *int64   `json:"total,omitempty"`
	Value  *float64 `json:"value,omitempty"`
}

// Delta is what changed since the previous snapshot.
type Delta struct {
	Series []SeriesDelta `json:"series"`
}

type series struct {
	name          string
	tags          Tags
	hist          *hdrhistogram.Histogram
	minMs, maxMs  float64
	sumMs         float64
	count         int64
	counter       int64
	passes, total int64
	gauge         *float64
}

// Registry records metrics from many goroutines; TakeDelta hands out what changed and starts afresh.
type Registry struct {
	mu     sync.Mutex
	series map[string]*series
	order  []string
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{series: map[string]*series{}} }

func seriesKey(name string, tags Tags) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		b.WriteString("|" + k + ":" + tags[k])
	}
	return b.String()
}

// get returns the series (the caller holds mu); tags are copied on creation.
func (r *Registry) get(name string, tags Tags) *series {
	key := seriesKey(name, tags)
	s := r.series[key]
	if s == nil {
		copied := Tags{}
		for k, v := range tags {
			copied[k] = v
		}
		s = &series{name: name, tags: copied, minMs: math.Inf(1)}
		r.series[key] = s
		r.order = append(r.order, key)
	}
	return s
}

// Trend records a duration in ms.
func (r *Registry) Trend(name string, valueMs float64, tags Tags) {
	v := math.Max(valueMs, 0)
	us := min(int64(math.Round(v*usPerMs)), histHighestUs)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(name, tags)
	if s.hist == nil {
		s.hist = hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs)
	}
	_ = s.hist.RecordValue(us)
	s.minMs = math.Min(s.minMs, v)
	s.maxMs = math.Max(s.maxMs, v)
	s.sumMs += v
	s.count++
}

// Count adds to a counter.
func (r *Registry) Count(name string, tags Tags, increment int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.get(name, tags).counter += increment
}

// Rate records one pass or fail of a rate.
func (r *Registry) Rate(name string, passed bool, tags Tags) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(name, tags)
	if passed {
		s.passes++
	}
	s.total++
}

// Gauge sets a gauge.
func (r *Registry) Gauge(name string, value float64, tags Tags) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.get(name, tags).gauge = &value
}

// TakeDelta returns everything recorded since the last call, and resets the series (histograms are reused).
func (r *Registry) TakeDelta() Delta {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Delta{Series: []SeriesDelta{}}
	for _, key := range r.order {
		s := r.series[key]
		item := SeriesDelta{Name: s.name, Tags: s.tags}
		changed := false
		if s.count > 0 {
			item.Hdr = EncodeHistogram(s.hist)
			minMs, maxMs, sumMs, count := s.minMs, s.maxMs, s.sumMs, s.count
			item.MinMs, item.MaxMs, item.SumMs, item.Count = &minMs, &maxMs, &sumMs, &count
			s.hist.Reset()
			s.minMs, s.maxMs, s.sumMs, s.count = math.Inf(1), 0, 0, 0
			changed = true
		}
		if s.counter != 0 {
			item.Add, s.counter, changed = s.counter, 0, true
		}
		if s.total > 0 {
			passes, total := s.passes, s.total
			item.Passes, item.Total, s.passes, s.total, changed = &passes, &total, 0, 0, true
		}
		if s.gauge != nil {
			item.Value, s.gauge, changed = s.gauge, nil, true
		}
		if changed {
			out.Series = append(out.Series, item)
		}
	}
	return out
}

// EncodeHistogram writes the standard compressed V2 encoding, base64 ("HISTFAA..."), which hdr-histogram-js's
// decodeFromCompressedBase64 reads.
func EncodeHistogram(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}
