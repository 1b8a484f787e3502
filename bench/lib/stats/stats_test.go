package stats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 100, 5}, 5},
	} {
		in := append([]float64(nil), c.in...)
		if got := Median(in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("Median reordered its input: %v", in)
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := Percentile(d, 0.5); got != 50 {
		t.Errorf("p50 = %v, want 50", got)
	}
	if got := Percentile(d, 0.99); got != 99 {
		t.Errorf("p99 = %v, want 99", got)
	}
	if got := Percentile(d[:1], 0.99); got != 1 {
		t.Errorf("p99 of one = %v, want 1", got)
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}

func TestSpread(t *testing.T) {
	lo, hi := MinMax([]float64{3, 9, 6})
	if lo != 3 || hi != 9 {
		t.Errorf("MinMax = %v, %v", lo, hi)
	}
	if got := RelSpread([]float64{90, 100, 110}); got != 10 {
		t.Errorf("RelSpread = %v, want 10", got)
	}
	if got := RelSpread([]float64{100}); got != 0 {
		t.Errorf("RelSpread of one round = %v, want 0", got)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234.5: "1234", 503.36: "503.4", 12.34: "12.3", 1.234: "1.23", 0.1234: "0.123", -2.5: "-2.50"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestPaired(t *testing.T) {
	a := map[int]float64{1: 200, 2: 90, 3: 300, 4: 10}
	b := map[int]float64{1: 100, 2: 100, 3: 100, 5: 1}
	r, ok := Paired(a, b)
	if !ok || r != 2 { // rounds 1..3: 2, 0.9, 3
		t.Errorf("Paired = %v, %v; want 2, true", r, ok)
	}
	if _, ok := Paired(a, map[int]float64{1: 0, 9: 1}); ok {
		t.Error("Paired with no common non-zero round reported a ratio")
	}
}

func TestRecordLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.tsv")
	t.Setenv("LOADLOG", path)
	if err := RecordLoad("s3-64MiB", 2, "before"); err != nil {
		t.Fatal(err)
	}
	if err := RecordLoad("s3-64MiB", 2, "after"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "s3-64MiB\t2\tbefore\t") || len(strings.Fields(lines[1])) != 6 {
		t.Errorf("load log:\n%s", b)
	}
	t.Setenv("LOADLOG", "")
	if err := RecordLoad("x", 1, "before"); err != nil {
		t.Errorf("without LOADLOG: %v", err)
	}
}
