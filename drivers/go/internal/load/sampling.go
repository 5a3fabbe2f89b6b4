// Package load holds the client-independent logic of the Go load driver: the plan protocol messages, the
// executors (open and closed model), message planning (keys, sequences, sizes), metrics with HDR histograms and
// the ledger writer. It mirrors harness/load/ of the TypeScript engine; docs/load.md is the reference.
package load

import (
	"math"
	"math/rand/v2"
	"sync"
	"unicode/utf16"
)

// Distribution is a number drawn per message (sizes in bytes, times in ms), as harness/load/options.ts has it.
type Distribution struct {
	Distribution string  `json:"distribution"`
	Value        float64 `json:"value"`
	Min          float64 `json:"min"`
	Max          float64 `json:"max"`
	Mean         float64 `json:"mean"`
	Stddev       float64 `json:"stddev"`
}

// Random is a seeded source. The Go driver does not reproduce the node driver's xoroshiro sequence; each driver is
// deterministic from its own seed, which is what the plan asks for.
type Random struct {
	mu  sync.Mutex
	rng *rand.Rand
}

// NewRandom seeds a PCG generator from the plan's seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Float returns a float in [0, 1).
func (r *Random) Float() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.Float64()
}

// Int returns an integer in [lo, hi].
func (r *Random) Int(lo, hi int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return lo + r.rng.IntN(hi-lo+1)
}

// Sample draws one value of d.
func Sample(d Distribution, r *Random) float64 {
	switch d.Distribution {
	case "uniform":
		return d.Min + r.Float()*(d.Max-d.Min)
	case "normal":
		u := 1 - r.Float()
		v := r.Float()
		z := math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
		return math.Min(d.Max, math.Max(d.Min, d.Mean+z*d.Stddev))
	case "exponential":
		return math.Min(d.Max, -math.Log(1-r.Float())*d.Mean)
	default:
		return d.Value
	}
}

// SplitCount splits total into count parts as evenly as possible: part index (earlier parts get the remainder).
func SplitCount(total, index, count int) int {
	if count <= 0 {
		return total
	}
	extra := 0
	if index < total%count {
		extra = 1
	}
	return total/count + extra
}

// KeySpec is the plan's `keys`.
type KeySpec struct {
	Count        int     `json:"count"`
	Distribution string  `json:"distribution"`
	Exponent     float64 `json:"exponent"`
	Prefix       string  `json:"prefix"`
}

// Segment is this driver's share of a scenario.
type Segment struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// KeyPicker picks keys of one segment: segment i of n owns the keys k with k % n == i (uniform or Zipf).
type KeyPicker struct {
	spec  KeySpec
	seg   Segment
	local int
	cdf   []float64
}

// NewKeyPicker precomputes the Zipf CDF when needed.
func NewKeyPicker(spec KeySpec, seg Segment) *KeyPicker {
	if seg.Count <= 0 {
		seg = Segment{Index: 0, Count: 1}
	}
	k := &KeyPicker{spec: spec, seg: seg, local: max(1, SplitCount(spec.Count, seg.Index, seg.Count))}
	if spec.Distribution == "zipf" {
		k.cdf = make([]float64, k.local)
		sum := 0.0
		for j := range k.local {
			sum += 1 / math.Pow(float64(j+1), spec.Exponent)
			k.cdf[j] = sum
		}
		for j := range k.cdf {
			k.cdf[j] /= sum
		}
	}
	return k
}

// Pick returns the next key.
func (k *KeyPicker) Pick(r *Random) string {
	local := 0
	if k.cdf != nil {
		u := r.Float()
		lo, hi := 0, k.local-1
		for lo < hi {
			mid := (lo + hi) >> 1
			if k.cdf[mid] < u {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		local = lo
	} else {
		local = r.Int(0, k.local-1)
	}
	return k.spec.Prefix + itoa(local*k.seg.Count+k.seg.Index)
}

// IDShare is a deterministic share of ids in [0, 1): FNV-1a over the UTF-16 units of "id|salt", then murmur3's
// finaliser. Bit for bit the same as idShare in harness/load/sampling.ts, so both drivers fail the same deliveries.
func IDShare(id, salt string) float64 {
	h := uint32(0x811c9dc5)
	for _, unit := range utf16.Encode([]rune(id + "|" + salt)) {
		h ^= uint32(unit)
		h *= 0x01000193
	}
	h = (h ^ (h >> 16)) * 0x85ebca6b
	h = (h ^ (h >> 13)) * 0xc2b2ae35
	h ^= h >> 16
	return float64(h) / 4294967296
}
