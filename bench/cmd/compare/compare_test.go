package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Lines of the three formats, as the tools print them.
const (
	loadLines = "upload-64MiB\tsatchel-multipart-5MiB-x4\t1\t67108864\t0.1000\t1\t0\t100.000\t100.000\t60000\t0.200\n" +
		"upload-64MiB\ttusd-patch\t1\t67108864\t0.2000\t1\t0\t200.000\t200.000\t35000\t0.100\n" +
		"upload-64MiB\tsatchel-multipart-5MiB-x4\t2\t67108864\t0.2000\t1\t0\t100.000\t100.000\t60000\t0.200\n" +
		"upload-64MiB\ttusd-patch\t2\t67108864\t0.2000\t1\t0\t200.000\t200.000\t35000\t0.100\n" +
		"small-10000B-c16\tsatchel-base\t1\t10000000\t2.0000\t1000\t0\t1.000\t3.000\t60000\t1.000\n"
	cdnLines = "cold-jpeg\tsatchel\t1\t20\t0\t1.000\t30.00\t0.48\t120.000\t150.000\t86.0\t60.0000\tgo-c4\n" +
		"cold-jpeg\tvipsserver\t1\t20\t0\t1.000\t25.00\t0.40\t160.000\t210.000\t80.0\t78.0000\tgo-c4\n"
	normLines = "# restlist\nlist-sqlite-deep\tsatchel-rest\t1\tp50 ms\t0.50\t0\n" +
		"list-sqlite-deep\traw-keyset\t1\tp50 ms\t0.25\t0\n"
)

func TestParsers(t *testing.T) {
	s, err := parseLoadLine(strings.Split(loadLines, "\n")[0])
	if err != nil || len(s) != 1 || s[0].Metric != "MB/s" || s[0].Value < 671 || s[0].Value > 672 || s[0].Round != 1 {
		t.Errorf("large upload line: %+v, %v", s, err)
	}
	s, err = parseLoadLine(strings.Split(loadLines, "\n")[4])
	if err != nil || s[0].Metric != "uploads/s" || s[0].Value != 500 {
		t.Errorf("small upload line: %+v, %v", s, err)
	}
	s, err = parseCDNLine(strings.Split(cdnLines, "\n")[0])
	if err != nil || s[0].Metric != "req/s" || s[0].Value != 30 || s[0].Side != "satchel" {
		t.Errorf("cdn line: %+v, %v", s, err)
	}
	if _, err := parseLine("a\tb\tone\tMB/s\t1\t0"); err == nil {
		t.Error("a round that is not a number was accepted")
	}
	if _, err := parseCDNLine("cold-jpeg\tsatchel\t1"); err == nil {
		t.Error("a short line was accepted")
	}
}

func TestReportTable(t *testing.T) {
	var out, errOut bytes.Buffer
	loadlog := write(t, "load.tsv", "upload-64MiB\t1\tbefore\t0.10 0.20 0.30\nupload-64MiB\t1\tafter\t1.10 0.40 0.30\n")
	code := report([]string{
		"-load", write(t, "load.tsv", loadLines), "-cdn", write(t, "cdn.tsv", cdnLines), "-in", write(t, "n.tsv", normLines),
		"-ref", "upload-*=tusd-patch", "-ref", "cold-*=vipsserver,imgproxy", "-ref", "list-*=raw-keyset", "-loadlog", loadlog,
		"-offset", "cold-jpeg:vipsserver:1.2:imgproxy",
	}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := out.String()
	if i, j := strings.Index(got, "| upload-64MiB"), strings.Index(got, "| list-sqlite-deep"); i < 0 || j < i {
		t.Errorf("rows are not in the order of the files given (-load before -in):\n%s", got)
	}
	for _, want := range []string{
		// Paired ratio: round 1 is 2×, round 2 is 1× → median 1.5×.
		"| upload-64MiB | satchel-multipart-5MiB-x4 | MB/s | 2 | 503.3 | 335.5–671.1 | 33% | 1.50× tusd-patch |",
		"| upload-64MiB | tusd-patch | MB/s | 2 | 335.5 | 335.5–335.5 | 0% | peer |",
		"| small-10000B-c16 | satchel-base | uploads/s | 1 | 500.0 | 500.0–500.0 | 0% | — |",
		"| cold-jpeg | satchel | req/s | 1 | 30.0 | 30.0–30.0 | 0% | 1.20× vipsserver, ≈ 1.00× imgproxy (estimated: ÷ 1.2) |",
		"| list-sqlite-deep | satchel-rest | p50 ms (lower is better) | 1 | 0.500 | 0.500–0.500 | 0% | 2.00× raw-keyset |",
		"| upload-64MiB | 1 | 0.10 0.20 0.30 | 1.10 0.40 0.30 |",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing row\n%s\nin\n%s", want, got)
		}
	}
}

func TestReportRefusesErrors(t *testing.T) {
	bad := strings.Replace(cdnLines, "vipsserver\t1\t20\t0", "vipsserver\t1\t20\t7", 1) +
		"cold-jpeg\tvipsserver\t2\t20\t2\t1.000\t25.00\t0.40\t160.000\t210.000\t80.0\t78.0000\tgo-c4\n"
	var out, errOut bytes.Buffer
	code := report([]string{"-cdn", write(t, "cdn.tsv", bad), "-ref", "cold-*=vipsserver"}, &out, &errOut)
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	if out.Len() != 0 {
		t.Errorf("a table was printed for a run with errors:\n%s", out.String())
	}
	if want := "side vipsserver of cold-jpeg answered 9 errors (round 1, 2)"; !strings.Contains(errOut.String(), want) {
		t.Errorf("message %q does not contain %q", errOut.String(), want)
	}
}

func TestReportBadOffset(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := report([]string{"-cdn", write(t, "cdn.tsv", cdnLines), "-offset", "cold-*:vipsserver:0:imgproxy"}, &out, &errOut); code != 2 {
		t.Errorf("zero factor: exit %d, want 2", code)
	}
}

func TestReportNeedsResults(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := report([]string{"-in", write(t, "empty.tsv", "")}, &out, &errOut); code != 1 {
		t.Errorf("no results: exit %d, want 1", code)
	}
	if code := report([]string{"-in", filepath.Join(t.TempDir(), "missing")}, &out, &errOut); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
