// Package stats is the arithmetic the benchmarks under bench/ share:
// medians and percentiles of per-round or per-request figures, their spread,
// paired ratios of two servers' rounds, and the machine's load average,
// which every benchmark records around its rounds.
package stats

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Median is the middle value of v (the mean of the two middle values when
// len(v) is even), 0 for an empty slice. v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 1) of sorted
// durations, in milliseconds; 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// MinMax returns the smallest and largest values of v (0, 0 when empty).
func MinMax(v []float64) (lo, hi float64) {
	if len(v) == 0 {
		return 0, 0
	}
	return slices.Min(v), slices.Max(v)
}

// RelSpread is half the range of v relative to its median, in percent: a
// round-to-round noise figure (0 for fewer than two values or a zero median).
func RelSpread(v []float64) float64 {
	m := Median(v)
	if len(v) < 2 || m == 0 {
		return 0
	}
	lo, hi := MinMax(v)
	return (hi - lo) / 2 / math.Abs(m) * 100
}

// Paired is the median over the rounds both a and b have (keys are round
// numbers) of a[round] / b[round]. The servers of one round run back to
// back, so a noisy neighbour disturbs this less than a ratio of medians.
// ok is false when no round has a non-zero b.
func Paired(a, b map[int]float64) (ratio float64, ok bool) {
	var v []float64
	for r, x := range a {
		if y, found := b[r]; found && y != 0 {
			v = append(v, x/y)
		}
	}
	return Median(v), len(v) > 0
}

// Num formats a figure with about three significant digits (at least the
// units: 1234, 123.4, 12.3, 1.23, 0.123).
func Num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// LoadAvg is the 1, 5 and 15 minute load averages from /proc/loadavg, as
// written there ("0.52 0.61 0.40"), or "?" when it cannot be read.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// RecordLoad appends one line "label<TAB>round<TAB>when<TAB>load averages"
// to the file named by $LOADLOG (bench/compare.sh sets it), when set: the
// same lines bench/lib.sh's round_load writes. when is "before" or "after".
func RecordLoad(label string, round int, when string) error {
	path := os.Getenv("LOADLOG")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("load log: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\t%d\t%s\t%s\n", label, round, when, LoadAvg())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("load log: %w", err)
	}
	return nil
}
