package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel/bench/lib/stats"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type group struct {
	scenario, server string
	rs               []result
}

func (g *group) med(f func(result) float64) float64 {
	v := make([]float64, len(g.rs))
	for i, r := range g.rs {
		v[i] = f(r)
	}
	return stats.Median(v)
}

// paired is the median over rounds of f(this round) / f(ref's same round):
// a round's servers ran back to back, so the ratio is less disturbed by
// other jobs on the machine than a ratio of medians.
func (g *group) paired(ref *group, f func(result) float64) (float64, bool) {
	var v []float64
	for _, r := range g.rs {
		for _, q := range ref.rs {
			if q.Round == r.Round && f(q) > 0 {
				v = append(v, f(r)/f(q))
			}
		}
	}
	return stats.Median(v), len(v) > 0
}

func rpsOf(r result) float64  { return r.RPS }
func mbpsOf(r result) float64 { return r.MBps }
func cpuOf(r result) float64  { return r.CPUPerReq }

func (g *group) rps() float64  { return g.med(func(r result) float64 { return r.RPS }) }
func (g *group) mbps() float64 { return g.med(func(r result) float64 { return r.MBps }) }
func (g *group) rss() float64 {
	m := 0.0
	for _, r := range g.rs {
		m = max(m, r.RSS)
	}
	return m
}

// cmdReport prints the markdown table of medians over rounds.
//
//	-ref 'cold-*=vipsserver,imgproxy'     ratio columns (req/s) against these servers
//	-goal 'rps:cold-*:satchel:imgproxy:1.0'  a ratio to reach (metric rps or mbps)
//	-rss-goal 'cold-*:satchel:192'        a peak RSS (MB) not to exceed
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "", "results file")
	var refs, goals, rssGoals multiFlag
	fs.Var(&refs, "ref", "scenario-pattern=server[,server...]")
	fs.Var(&goals, "goal", "metric:scenario-pattern:server:ref:min-ratio")
	fs.Var(&rssGoals, "rss-goal", "scenario-pattern:server:max-MB")
	fs.Parse(args)
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	var groups []*group
	find := func(sc, sv string) *group {
		for _, g := range groups {
			if g.scenario == sc && g.server == sv {
				return g
			}
		}
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		r, err := parseResult(sc.Text())
		if err != nil {
			return fmt.Errorf("%q: %v", sc.Text(), err)
		}
		g := find(r.Scenario, r.Server)
		if g == nil {
			g = &group{scenario: r.Scenario, server: r.Server}
			groups = append(groups, g)
		}
		g.rs = append(g.rs, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	refsFor := func(scenario string) []string {
		var out []string
		for _, r := range refs {
			pat, list, _ := strings.Cut(r, "=")
			if ok, _ := path.Match(pat, scenario); ok {
				out = append(out, strings.Split(list, ",")...)
			}
		}
		return out
	}

	fmt.Println("| scenario | server | rounds | req/s | MB/s | p50 ms | p99 ms | peak RSS MB | server CPU ms/req | errors | req/s ratio | CPU/req ratio | load |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, g := range groups {
		var errs int64
		for _, r := range g.rs {
			errs += r.Errors
		}
		var ratios, cpus []string
		for _, ref := range refsFor(g.scenario) {
			rg := find(g.scenario, ref)
			if rg == nil || ref == g.server {
				continue
			}
			if v, ok := g.paired(rg, rpsOf); ok {
				ratios = append(ratios, fmt.Sprintf("%.2f× %s", v, ref))
			}
			if v, ok := g.paired(rg, cpuOf); ok {
				cpus = append(cpus, fmt.Sprintf("%.2f× %s", v, ref))
			}
		}
		dash := func(v []string) string {
			if len(v) == 0 {
				return "—"
			}
			return strings.Join(v, ", ")
		}
		ratio, cpuRatio := dash(ratios), dash(cpus)
		fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %.0f | %s | %d | %s | %s | %s |\n",
			g.scenario, g.server, len(g.rs), num(g.rps()), num(g.mbps()),
			num(g.med(func(r result) float64 { return r.P50 })), num(g.med(func(r result) float64 { return r.P99 })),
			g.rss(), num(g.med(func(r result) float64 { return r.CPUPerReq })), errs, ratio, cpuRatio, g.rs[0].Tool)
	}

	var lines []string
	for _, gl := range goals {
		p := strings.Split(gl, ":")
		if len(p) != 5 {
			return fmt.Errorf("bad -goal %q", gl)
		}
		want, err := strconv.ParseFloat(p[4], 64)
		if err != nil {
			return fmt.Errorf("bad -goal %q", gl)
		}
		for _, g := range groups {
			if ok, _ := path.Match(p[1], g.scenario); !ok || g.server != p[2] {
				continue
			}
			rg := find(g.scenario, p[3])
			if rg == nil {
				continue
			}
			metric, f := "req/s", rpsOf
			if p[0] == "mbps" {
				metric, f = "MB/s", mbpsOf
			}
			v, ok := g.paired(rg, f)
			if !ok {
				continue
			}
			lines = append(lines, fmt.Sprintf("- %s: %s %s = %.3f× %s (goal ≥ %.2f×): %s",
				g.scenario, g.server, metric, v, p[3], want, verdict(v >= want)))
		}
	}
	for _, gl := range rssGoals {
		p := strings.Split(gl, ":")
		if len(p) != 3 {
			return fmt.Errorf("bad -rss-goal %q", gl)
		}
		limit, err := strconv.ParseFloat(p[2], 64)
		if err != nil {
			return fmt.Errorf("bad -rss-goal %q", gl)
		}
		for _, g := range groups {
			if ok, _ := path.Match(p[0], g.scenario); ok && g.server == p[1] {
				lines = append(lines, fmt.Sprintf("- %s: %s peak RSS %.0f MB (goal ≤ %.0f MB): %s",
					g.scenario, g.server, g.rss(), limit, verdict(g.rss() <= limit)))
			}
		}
	}
	if len(lines) > 0 {
		fmt.Println()
		fmt.Println("Goals:")
		for _, l := range lines {
			fmt.Println(l)
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// num prints with about three significant digits.
func num(v float64) string { return stats.Num(v) }
