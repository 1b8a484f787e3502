package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel/bench/lib/stats"
)

// Sample is one figure of one side in one round.
type Sample struct {
	Scenario, Side string
	Round          int
	Metric         string // "MB/s", "req/s", "uploads/s", "p50 ms", …
	Value          float64
	Errors         int64 // failed requests of the side in this round
}

// lowerIsBetter tells the direction of a metric: latencies are in ms.
func lowerIsBetter(metric string) bool { return strings.HasSuffix(metric, " ms") }

func readSamples(path string, parse func(string) ([]Sample, error)) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		s, err := parse(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		out = append(out, s...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func fields(line string, want int) ([]string, error) {
	f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
	if len(f) != want {
		return nil, fmt.Errorf("want %d tab-separated fields, got %d", want, len(f))
	}
	return f, nil
}

// numbers parses the fields at idx as floats.
func numbers(f []string, idx ...int) ([]float64, error) {
	out := make([]float64, len(idx))
	for i, j := range idx {
		v, err := strconv.ParseFloat(f[j], 64)
		if err != nil {
			return nil, fmt.Errorf("field %d: %v", j+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// parseLine reads "scenario side round metric value errors".
func parseLine(line string) ([]Sample, error) {
	f, err := fields(line, 6)
	if err != nil {
		return nil, err
	}
	n, err := numbers(f, 2, 4, 5)
	if err != nil {
		return nil, err
	}
	return []Sample{{Scenario: f[0], Side: f[1], Round: int(n[0]), Metric: f[3], Value: n[1], Errors: int64(n[2])}}, nil
}

// parseLoadLine reads a line of bench/cmd/load: scenario server round bytes
// seconds requests errors p50_ms p99_ms rss_kib cpu_s. Small-file scenarios
// are compared in uploads/s, the others in MB/s of file content.
func parseLoadLine(line string) ([]Sample, error) {
	f, err := fields(line, 11)
	if err != nil {
		return nil, err
	}
	n, err := numbers(f, 2, 3, 4, 5, 6)
	if err != nil {
		return nil, err
	}
	round, bytes, secs, reqs, errs := int(n[0]), n[1], n[2], n[3], int64(n[4])
	if secs <= 0 {
		return nil, fmt.Errorf("round of %v seconds", secs)
	}
	s := Sample{Scenario: f[0], Side: f[1], Round: round, Errors: errs, Metric: "MB/s", Value: bytes / secs / 1e6}
	if strings.HasPrefix(f[0], "small-") {
		s.Metric, s.Value = "uploads/s", reqs/secs
	}
	return []Sample{s}, nil
}

// parseCDNLine reads a line of bench/cdn/cdnload: scenario server round
// reqs errors secs req/s MB/s p50ms p99ms rssMB cpuMsPerReq tool.
func parseCDNLine(line string) ([]Sample, error) {
	f, err := fields(line, 13)
	if err != nil {
		return nil, err
	}
	n, err := numbers(f, 2, 4, 6)
	if err != nil {
		return nil, err
	}
	return []Sample{{Scenario: f[0], Side: f[1], Round: int(n[0]), Errors: int64(n[1]), Metric: "req/s", Value: n[2]}}, nil
}

// CheckErrors returns an error naming every side that answered errors in
// some round, with the count and the rounds; nil when there are none.
func CheckErrors(samples []Sample) error {
	type key struct{ scenario, side string }
	var order []key
	errs := map[key]int64{}
	rounds := map[key][]int{}
	for _, s := range samples {
		if s.Errors <= 0 {
			continue
		}
		k := key{s.Scenario, s.Side}
		if _, ok := errs[k]; !ok {
			order = append(order, k)
		}
		if !slices.Contains(rounds[k], s.Round) {
			// A round with several metrics counts its errors once.
			errs[k] += s.Errors
			rounds[k] = append(rounds[k], s.Round)
		}
	}
	if len(order) == 0 {
		return nil
	}
	var msg []string
	for _, k := range order {
		r := rounds[k]
		slices.Sort(r)
		rs := make([]string, len(r))
		for i, v := range r {
			rs[i] = strconv.Itoa(v)
		}
		msg = append(msg, fmt.Sprintf("side %s of %s answered %d errors (round %s)", k.side, k.scenario, errs[k], strings.Join(rs, ", ")))
	}
	return fmt.Errorf("%s", strings.Join(msg, "; "))
}

// peerList maps scenario patterns to the sides ratios are taken to.
type peerList []struct {
	pattern string
	sides   []string
}

// offset estimates the ratio to a server that was not run from the ratio to
// one that was: PERF.md measured imgproxy at 1.18× bench/cdn/vipsserver on
// JPEG, so satchel ÷ imgproxy ≈ (satchel ÷ vipsserver) ÷ 1.18.
type offset struct {
	pattern, peer string
	factor        float64
	name          string
}

// parseOffset reads "scenario-pattern:peer:factor:name".
func parseOffset(s string) (offset, error) {
	p := strings.Split(s, ":")
	if len(p) != 4 {
		return offset{}, fmt.Errorf("-offset %q: want scenario-pattern:peer:factor:name", s)
	}
	f, err := strconv.ParseFloat(p[2], 64)
	if err != nil || f <= 0 {
		return offset{}, fmt.Errorf("-offset %q: factor must be a positive number", s)
	}
	if _, err := path.Match(p[0], ""); err != nil {
		return offset{}, fmt.Errorf("-offset %q: %v", s, err)
	}
	return offset{pattern: p[0], peer: p[1], factor: f, name: p[3]}, nil
}

func parseRefs(refs []string) (peerList, error) {
	var p peerList
	for _, r := range refs {
		pat, list, ok := strings.Cut(r, "=")
		if !ok || pat == "" || list == "" {
			return nil, fmt.Errorf("-ref %q: want scenario-pattern=side[,side...]", r)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("-ref %q: %v", r, err)
		}
		p = append(p, struct {
			pattern string
			sides   []string
		}{pat, strings.Split(list, ",")})
	}
	return p, nil
}

func (p peerList) of(scenario string) []string {
	var out []string
	for _, e := range p {
		if ok, _ := path.Match(e.pattern, scenario); ok {
			for _, s := range e.sides {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Table is the markdown comparison: one row per scenario, side and metric,
// in the order they first appear.
// An offset adds an estimated ratio after the ratio to its peer.
func Table(samples []Sample, peers peerList, offsets ...offset) string {
	type key struct{ scenario, side, metric string }
	var order []key
	byRound := map[key]map[int]float64{}
	for _, s := range samples {
		k := key{s.Scenario, s.Side, s.Metric}
		if byRound[k] == nil {
			byRound[k] = map[int]float64{}
			order = append(order, k)
		}
		byRound[k][s.Round] = s.Value
	}
	var b strings.Builder
	b.WriteString("| scenario | side | metric | rounds | median | min–max | ± | ratio (paired, this ÷ peer) |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---|\n")
	for _, k := range order {
		rounds := byRound[k]
		v := make([]float64, 0, len(rounds))
		for _, x := range rounds {
			v = append(v, x)
		}
		lo, hi := stats.MinMax(v)
		var ratios []string
		for _, peer := range peers.of(k.scenario) {
			if peer == k.side {
				ratios = append(ratios, "peer")
				continue
			}
			ref, ok := byRound[key{k.scenario, peer, k.metric}]
			if !ok {
				continue
			}
			if r, ok := stats.Paired(rounds, ref); ok {
				ratios = append(ratios, fmt.Sprintf("%.2f× %s", r, peer))
				for _, o := range offsets {
					if ok, _ := path.Match(o.pattern, k.scenario); ok && o.peer == peer {
						ratios = append(ratios, fmt.Sprintf("≈ %.2f× %s (estimated: ÷ %g)", r/o.factor, o.name, o.factor))
					}
				}
			}
		}
		ratio := strings.Join(ratios, ", ")
		if ratio == "" {
			ratio = "—"
		}
		metric := k.metric
		if lowerIsBetter(metric) {
			metric += " (lower is better)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s–%s | %.0f%% | %s |\n",
			k.scenario, k.side, metric, len(v), num(stats.Median(v)), num(lo), num(hi), stats.RelSpread(v), ratio)
	}
	return b.String()
}

// LoadTable prints the load averages recorded around the rounds.
func LoadTable(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	type key struct {
		label string
		round string
	}
	var order []key
	seen := map[key][2]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), "\t", 4)
		if len(p) != 4 {
			continue
		}
		k := key{p[0], p[1]}
		e, ok := seen[k]
		if !ok {
			order = append(order, k)
		}
		if p[2] == "before" {
			e[0] = p[3]
		} else {
			e[1] = p[3]
		}
		seen[k] = e
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| rounds of | round | load average before (1/5/15 min) | after |\n|---|---:|---|---|\n")
	for _, k := range order {
		e := seen[k]
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.label, k.round, e[0], e[1])
	}
	return b.String(), nil
}

func num(v float64) string { return stats.Num(v) }
