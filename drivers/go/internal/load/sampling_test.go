package load

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

type tsFixture struct {
	Histogram string  `json:"histogram"`
	P50       int64   `json:"p50"`
	P99       int64   `json:"p99"`
	Max       int64   `json:"max"`
	Count     int64   `json:"count"`
	Shares    []share `json:"shares"`
}

type share struct {
	ID    string  `json:"id"`
	Salt  string  `json:"salt"`
	Share float64 `json:"share"`
}

// readTSFixture reads testdata/ts-fixture.json, written by the TypeScript side (idShare of
// harness/load/sampling.ts, hdr-histogram-js encodeIntoCompressedBase64); see harness/load/go-hdr.test.ts.
func readTSFixture(t *testing.T) tsFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/ts-fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f tsFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestIDShareMatchesTheTypeScriptDriver(t *testing.T) {
	f := readTSFixture(t)
	if len(f.Shares) == 0 {
		t.Fatal("fixture has no shares")
	}
	for _, s := range f.Shares {
		if got := IDShare(s.ID, s.Salt); got != s.Share {
			t.Errorf("IDShare(%q, %q) = %v, TypeScript says %v", s.ID, s.Salt, got, s.Share)
		}
	}
}

func TestSplitCount(t *testing.T) {
	total := 0
	for i := range 3 {
		total += SplitCount(10, i, 3)
	}
	if total != 10 || SplitCount(10, 0, 3) != 4 || SplitCount(10, 2, 3) != 3 {
		t.Fatalf("SplitCount(10, *, 3) does not add up: %d", total)
	}
}

func TestKeyPickerOwnsItsShareOfKeys(t *testing.T) {
	r := NewRandom(1)
	k := NewKeyPicker(KeySpec{Count: 100, Distribution: "uniform", Prefix: "key-"}, Segment{Index: 1, Count: 3})
	seen := map[string]bool{}
	for range 5000 {
		key := k.Pick(r)
		n, err := strconv.Atoi(strings.TrimPrefix(key, "key-"))
		if err != nil || n%3 != 1 || n >= 100 {
			t.Fatalf("segment 1 of 3 picked %q", key)
		}
		seen[key] = true
	}
	if len(seen) != 33 {
		t.Fatalf("uniform over 33 owned keys saw %d", len(seen))
	}
}

func TestZipfFavoursTheFirstKeys(t *testing.T) {
	r := NewRandom(2)
	k := NewKeyPicker(KeySpec{Count: 1000, Distribution: "zipf", Exponent: 1.1, Prefix: "k"}, Segment{0, 1})
	counts := map[string]int{}
	const n = 50000
	for range n {
		counts[k.Pick(r)]++
	}
	// Weight of key j is 1/(j+1)^1.1; H(1000, 1.1) ~ 5.0, so key 0 gets ~20% and key 1 ~9%.
	if share := float64(counts["k0"]) / n; share < 0.17 || share > 0.23 {
		t.Fatalf("zipf: key 0 share %.3f", share)
	}
	if counts["k0"] <= counts["k1"] || counts["k1"] <= counts["k9"] {
		t.Fatalf("zipf not decreasing: %d %d %d", counts["k0"], counts["k1"], counts["k9"])
	}
}

func TestPlannerSequencesPerKeyAndOutcomeShares(t *testing.T) {
	spec := MessageSpec{Type: "TRANSACTION", Topic: "t", Tags: []string{"a", "b"},
		Keys:          &KeySpec{Count: 5, Distribution: "uniform", Prefix: "g"},
		BodySizeBytes: Distribution{Distribution: "uniform", Min: 10, Max: 20},
		Transaction:   &TransactionShares{Commit: 0.5, Rollback: 0.3, Unknown: 0.2}, PoisonShare: 0.1}
	p := NewPlanner(spec, "run-p-0", Segment{0, 1}, NewRandom(3))
	last := map[string]int{}
	outcomes := map[string]int{}
	poison := 0
	const n = 20000
	for i := 1; i <= n; i++ {
		m := p.Next()
		if m.ID != "run-p-0-"+strconv.Itoa(i) || m.Seq != last[m.Key]+1 {
			t.Fatalf("message %d: id %s seq %d after %d", i, m.ID, m.Seq, last[m.Key])
		}
		last[m.Key] = m.Seq
		if m.BodySizeBytes < 10 || m.BodySizeBytes > 20 || (m.Tag != "a" && m.Tag != "b") {
			t.Fatalf("size %d tag %q", m.BodySizeBytes, m.Tag)
		}
		outcomes[m.Transaction]++
		if m.Poison {
			poison++
		}
	}
	for outcome, want := range map[string]float64{"commit": 0.5, "rollback": 0.3, "unknown": 0.2} {
		if got := float64(outcomes[outcome]) / n; math.Abs(got-want) > 0.02 {
			t.Errorf("%s share %.3f, want %.2f", outcome, got, want)
		}
	}
	if got := float64(poison) / n; math.Abs(got-0.1) > 0.01 {
		t.Errorf("poison share %.3f", got)
	}
}

func TestWithoutKeysEachMessageIsItsOwnKey(t *testing.T) {
	p := NewPlanner(MessageSpec{Topic: "t", BodySizeBytes: Distribution{Distribution: "constant", Value: 1024}},
		"x", Segment{0, 1}, NewRandom(4))
	m := p.Next()
	if m.Key != m.ID || m.Seq != 1 || m.BodySizeBytes != 1024 || m.Tag != "" || m.Transaction != "" {
		t.Fatalf("%+v", m)
	}
}

func TestSampleStaysInBounds(t *testing.T) {
	r := NewRandom(5)
	for _, d := range []Distribution{
		{Distribution: "normal", Mean: 10, Stddev: 50, Min: 0, Max: 20},
		{Distribution: "exponential", Mean: 5, Max: 8},
		{Distribution: "uniform", Min: 3, Max: 4},
	} {
		for range 2000 {
			if v := Sample(d, r); v < 0 || v > 20 || (d.Distribution == "exponential" && v > 8) {
				t.Fatalf("%+v drew %v", d, v)
			}
		}
	}
	if Sample(Distribution{Distribution: "constant", Value: 7}, r) != 7 {
		t.Fatal("constant")
	}
}
