// Command compare turns the per-round result lines of Satchel's benchmarks
// into the one comparison table bench/compare.sh prints: per scenario and
// side, the median over rounds, the spread (min–max and ± half-range), and
// the paired ratio to each peer. It refuses to report when any side of any
// round answered errors: it names them and exits with status 3.
//
//	compare report [-in lines.tsv]... [-load results.tsv]... [-cdn results.tsv]...
//	               [-ref 'pattern=side[,side...]']... [-offset 'pattern:peer:factor:name']...
//	               [-loadlog load.tsv]
//
// -in files hold lines "scenario side round metric value errors" (tabs;
// bench/restlist and bench/s3multipart write them with -results); -load
// files are bench/cmd/load's result lines, -cdn files bench/cdn/cdnload's.
// -ref names the peers of the scenarios matching a path.Match pattern;
// -offset adds an estimated ratio to a server that was not run, from the
// ratio to peer and the factor measured between the two elsewhere.
// -loadlog is the file of load averages recorded around every round
// (bench/lib.sh round_load, stats.RecordLoad), printed after the table.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// input is a results file and the parser of its format.
type input struct {
	path  string
	parse func(string) ([]Sample, error)
}

// inputFlag adds the files of one format to a list shared by all formats,
// so that the table keeps the order the files were given in.
type inputFlag struct {
	list  *[]input
	parse func(string) ([]Sample, error)
}

func (f inputFlag) String() string     { return "" }
func (f inputFlag) Set(s string) error { *f.list = append(*f.list, input{s, f.parse}); return nil }

func main() {
	if len(os.Args) < 2 || os.Args[1] != "report" {
		fmt.Fprintln(os.Stderr, "usage: compare report [-in F] [-load F] [-cdn F] [-ref pattern=side,...] [-loadlog F]")
		os.Exit(2)
	}
	os.Exit(report(os.Args[2:], os.Stdout, os.Stderr))
}

// report runs the report subcommand and returns the exit status: 0, 1 for
// unreadable input, 3 when a side answered errors.
func report(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var inputs []input
	var refs, offs multiFlag
	fs.Var(inputFlag{&inputs, parseLine}, "in", "result lines: scenario side round metric value errors (repeatable)")
	fs.Var(inputFlag{&inputs, parseLoadLine}, "load", "bench/cmd/load result lines (repeatable)")
	fs.Var(inputFlag{&inputs, parseCDNLine}, "cdn", "bench/cdn/cdnload result lines (repeatable)")
	fs.Var(&refs, "ref", "scenario-pattern=side[,side...]: peers the ratios are taken to (repeatable)")
	fs.Var(&offs, "offset", "scenario-pattern:peer:factor:name: also print ratio-to-peer ÷ factor as an estimate against name (repeatable)")
	loadlog := fs.String("loadlog", "", "load averages recorded around the rounds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var samples []Sample
	for _, in := range inputs {
		s, err := readSamples(in.path, in.parse)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 1
		}
		samples = append(samples, s...)
	}
	if len(samples) == 0 {
		fmt.Fprintln(stderr, "compare: no result lines: did every scenario fail?")
		return 1
	}
	if err := CheckErrors(samples); err != nil {
		fmt.Fprintf(stderr, "compare: refusing to report this run: %v\n", err)
		return 3
	}
	peers, err := parseRefs(refs)
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 2
	}
	var offsets []offset
	for _, s := range offs {
		o, err := parseOffset(s)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 2
		}
		offsets = append(offsets, o)
	}
	io.WriteString(stdout, Table(samples, peers, offsets...))
	if *loadlog != "" {
		t, err := LoadTable(*loadlog)
		if err != nil {
			fmt.Fprintf(stderr, "compare: %v\n", err)
			return 1
		}
		io.WriteString(stdout, "\n"+t)
	}
	return 0
}
