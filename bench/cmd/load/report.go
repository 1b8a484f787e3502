package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/satchel-project/satchel/bench/lib/stats"
)

type refList []string

func (r *refList) String() string     { return strings.Join(*r, ",") }
func (r *refList) Set(s string) error { *r = append(*r, s); return nil }

// cmdReport prints a markdown table of medians from result lines. Each
// -ref scenario=server adds a ratio of every other server of that scenario to
// that server (MB/s for byte-bound scenarios, req/s for the small one).
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "", "result lines (TSV)")
	var refs refList
	fs.Var(&refs, "ref", "scenario=server whose figure the others are divided by (repeatable)")
	fs.Parse(args)
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	type key struct{ scenario, server string }
	var order []key
	rows := map[key][]Result{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		r, err := parseResult(sc.Text())
		if err != nil {
			return fmt.Errorf("%q: %w", sc.Text(), err)
		}
		k := key{r.Scenario, r.Server}
		if _, ok := rows[k]; !ok {
			order = append(order, k)
		}
		rows[k] = append(rows[k], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}

	type summary struct {
		mbps, rps, p50, p99, cpu float64
		rss                      int64
		rounds                   int
		errs                     int64
		small                    bool
	}
	sum := map[key]summary{}
	for _, k := range order {
		rs := rows[k]
		var s summary
		var mbps, rps, p50, p99, cpu []float64
		for _, r := range rs {
			mbps = append(mbps, float64(r.Bytes)/r.Seconds/1e6)
			rps = append(rps, float64(r.Requests)/r.Seconds)
			p50 = append(p50, r.P50)
			p99 = append(p99, r.P99)
			if r.Requests > 1 {
				s.small = true
				cpu = append(cpu, r.CPU/float64(r.Requests)*1e6) // µs per upload
			} else {
				cpu = append(cpu, r.CPU/(float64(r.Bytes)/1e9)) // s per GB
			}
			s.rss = max(s.rss, r.RSSKiB)
			s.errs += r.Errors
		}
		s.mbps, s.rps, s.p50, s.p99, s.cpu = stats.Median(mbps), stats.Median(rps), stats.Median(p50), stats.Median(p99), stats.Median(cpu)
		s.rounds = len(rs)
		sum[k] = s
	}

	refOf := map[string][]string{}
	for _, r := range refs {
		sc, srv, ok := strings.Cut(r, "=")
		if !ok {
			return fmt.Errorf("-ref %q: want scenario=server", r)
		}
		refOf[sc] = append(refOf[sc], srv)
	}

	fmt.Println("| scenario | server | rounds | MB/s | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU | ratio |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range order {
		s := sum[k]
		cpu := fmt.Sprintf("%.2f s/GB", s.cpu)
		if s.small {
			cpu = fmt.Sprintf("%.0f µs/upload", s.cpu)
		}
		var ratios []string
		for _, ref := range refOf[k.scenario] {
			if ref == k.server {
				ratios = append(ratios, "reference")
				continue
			}
			rs, ok := sum[key{k.scenario, ref}]
			if !ok {
				continue
			}
			if s.small {
				ratios = append(ratios, fmt.Sprintf("%.2f× %s", s.rps/rs.rps, ref))
			} else {
				ratios = append(ratios, fmt.Sprintf("%.2f× %s", s.mbps/rs.mbps, ref))
			}
		}
		errs := ""
		if s.errs > 0 {
			errs = fmt.Sprintf(" (%d errors)", s.errs)
		}
		fmt.Printf("| %s | %s%s | %d | %.0f | %.1f | %.2f | %.2f | %.1f | %s | %s |\n",
			k.scenario, k.server, errs, s.rounds, s.mbps, s.rps, s.p50, s.p99, float64(s.rss)/1024, cpu, strings.Join(ratios, "; "))
	}
	return nil
}
