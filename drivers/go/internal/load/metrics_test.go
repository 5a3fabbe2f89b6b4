package load

import (
	"math"
	"os"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestTakeDeltaSendsOnlyChangesAndStartsAfresh(t *testing.T) {
	r := NewRegistry()
	tags := Tags{"scenario": "s", "topic": "t"}
	for v := 1; v <= 100; v++ {
		r.Trend("send_duration", float64(v)/10, tags)
	}
	r.Count("messages_acked", tags, 100)
	d := r.TakeDelta()
	if len(d.Series) != 2 {
		t.Fatalf("%+v", d)
	}
	trend := d.Series[0]
	if *trend.Count != 100 || *trend.MinMs != 0.1 || *trend.MaxMs != 10 || math.Abs(*trend.SumMs-505) > 1e-9 {
		t.Fatalf("%+v", trend)
	}
	h, err := hdrhistogram.Decode([]byte(trend.Hdr))
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 100 || h.ValueAtQuantile(50) < 4990 || h.ValueAtQuantile(50) > 5010 {
		t.Fatalf("decoded: count %d p50 %d µs", h.TotalCount(), h.ValueAtQuantile(50))
	}
	if d.Series[1].Add != 100 {
		t.Fatalf("%+v", d.Series[1])
	}
	if again := r.TakeDelta(); len(again.Series) != 0 {
		t.Fatalf("nothing changed, yet %+v", again)
	}
	r.Trend("send_duration", 7200_000, tags) // two hours: clamped to the histogram's top, exact max kept
	if d := r.TakeDelta(); *d.Series[0].MaxMs != 7200_000 || *d.Series[0].Count != 1 {
		t.Fatalf("%+v", d.Series[0])
	}
}

func TestDecodesTheHistogramTheTypeScriptSideEncodes(t *testing.T) {
	f := readTSFixture(t)
	h, err := hdrhistogram.Decode([]byte(f.Histogram))
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != f.Count || !h.ValuesAreEquivalent(h.ValueAtQuantile(50), f.P50) ||
		!h.ValuesAreEquivalent(h.ValueAtQuantile(99), f.P99) || !h.ValuesAreEquivalent(h.Max(), f.Max) {
		t.Fatalf("count %d p50 %d p99 %d max %d, TypeScript: %+v", h.TotalCount(), h.ValueAtQuantile(50),
			h.ValueAtQuantile(99), h.Max(), f)
	}
}

// TestWriteGoFixture writes testdata/go-histogram.txt, which harness/load/go-hdr.test.ts decodes with the
// engine's MetricRegistry (run with MQDRILL_UPDATE_FIXTURES=1 to rewrite it).
func TestWriteGoFixture(t *testing.T) {
	r := NewRegistry()
	for v := 1; v <= 10000; v++ {
		r.Trend("send_duration", float64(v)/10, Tags{"scenario": "s"}) // 0.1 ms .. 1 s
	}
	encoded := r.TakeDelta().Series[0].Hdr
	if os.Getenv("MQDRILL_UPDATE_FIXTURES") == "1" {
		if err := os.WriteFile("testdata/go-histogram.txt", []byte(encoded+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile("testdata/go-histogram.txt")
	if err != nil {
		t.Fatal(err)
	}
	h, err := hdrhistogram.Decode(stored[:len(stored)-1])
	if err != nil || h.TotalCount() != 10000 {
		t.Fatalf("stored fixture: %v", err)
	}
}
