package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/satchel-project/satchel/bench/lib/stats"
)

// result is one round against one server. Its line is tab-separated:
// scenario server round reqs errors secs req/s MB/s p50ms p99ms rssMB cpuMsPerReq tool.
// MB/s counts response bodies only (MB = 10^6 bytes); rssMB is the summed
// VmHWM of the server processes; cpuMsPerReq is their user+system time
// over the round divided by the requests.
type result struct {
	Scenario, Server string
	Round            int
	Reqs, Errors     int64
	Secs             float64
	RPS, MBps        float64
	P50, P99         float64 // ms
	RSS              float64 // MB
	CPUPerReq        float64 // ms
	Tool             string
}

func (r result) line() string {
	return fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t%.3f\t%.2f\t%.2f\t%.3f\t%.3f\t%.1f\t%.4f\t%s",
		r.Scenario, r.Server, r.Round, r.Reqs, r.Errors, r.Secs, r.RPS, r.MBps, r.P50, r.P99, r.RSS, r.CPUPerReq, r.Tool)
}

func parseResult(line string) (result, error) {
	f := strings.Split(strings.TrimSpace(line), "\t")
	if len(f) != 13 {
		return result{}, fmt.Errorf("result line has %d fields", len(f))
	}
	var r result
	var err error
	num := func(s string) float64 {
		v, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	r.Scenario, r.Server = f[0], f[1]
	r.Round = int(num(f[2]))
	r.Reqs, r.Errors = int64(num(f[3])), int64(num(f[4]))
	r.Secs, r.RPS, r.MBps = num(f[5]), num(f[6]), num(f[7])
	r.P50, r.P99, r.RSS, r.CPUPerReq = num(f[8]), num(f[9]), num(f[10]), num(f[11])
	r.Tool = f[12]
	return r, err
}

func newClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// cmdCold requests every URL once with c workers, checking that each
// answer is an image of the expected format and size.
func cmdCold(args []string) error {
	fs := flag.NewFlagSet("cold", flag.ExitOnError)
	scenario := fs.String("scenario", "", "scenario name")
	server := fs.String("server", "", "server name")
	round := fs.Int("round", 1, "round number")
	pidsFlag := fs.String("pids", "", "server pids")
	urlsFile := fs.String("urls", "", "file of URLs, one a line")
	url := fs.String("url", "", "one URL requested -n times")
	n := fs.Int("n", 0, "requests of -url")
	c := fs.Int("c", 4, "concurrent requests")
	format := fs.String("format", "jpeg", "expected format: jpeg or webp")
	w := fs.Int("w", 400, "expected width")
	h := fs.Int("h", 300, "expected height")
	fs.Parse(args)
	pids, err := pidList(*pidsFlag)
	if err != nil {
		return err
	}
	var urls []string
	if *urlsFile != "" {
		b, err := os.ReadFile(*urlsFile)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				urls = append(urls, l)
			}
		}
	} else {
		for i := 0; i < *n; i++ {
			urls = append(urls, *url)
		}
	}
	if len(urls) == 0 || len(urls) > 100000 {
		return fmt.Errorf("need 1..100000 URLs, have %d", len(urls))
	}
	client := newClient(*c, 2*time.Minute)
	lat := make([]time.Duration, len(urls))
	var errs, bodyBytes atomic.Int64
	var firstErr atomic.Value
	jobs := make(chan int)
	var wg sync.WaitGroup
	cpu0 := cpuSeconds(pids)
	start := time.Now()
	for i := 0; i < *c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				t0 := time.Now()
				nb, err := getImage(client, urls[j], *format, *w, *h)
				lat[j] = time.Since(t0)
				bodyBytes.Add(nb)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for j := range urls {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	cpu := cpuSeconds(pids) - cpu0
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "cold %s %s: %d errors, first: %v\n", *scenario, *server, errs.Load(), e)
	}
	slices.Sort(lat)
	r := result{
		Scenario: *scenario, Server: *server, Round: *round,
		Reqs: int64(len(urls)), Errors: errs.Load(), Secs: secs,
		RPS: float64(len(urls)) / secs, MBps: float64(bodyBytes.Load()) / secs / 1e6,
		P50: stats.Percentile(lat, 0.50), P99: stats.Percentile(lat, 0.99),
		RSS: peakRSS(pids), CPUPerReq: cpu * 1000 / float64(len(urls)), Tool: fmt.Sprintf("go-c%d", *c),
	}
	fmt.Println(r.line())
	return nil
}

// getImage fetches one transformed image and checks format and size.
func getImage(client *http.Client, url, format string, w, h int) (int64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return int64(len(body)), err
	}
	if resp.StatusCode != http.StatusOK {
		return int64(len(body)), fmt.Errorf("%s: %s: %.200s", url, resp.Status, bytes.TrimSpace(body))
	}
	gw, gh, gf, err := imageSize(body)
	if err != nil {
		return int64(len(body)), fmt.Errorf("%s: %v", url, err)
	}
	if gf != format || gw != w || gh != h {
		return int64(len(body)), fmt.Errorf("%s: got %s %dx%d, want %s %dx%d", url, gf, gw, gh, format, w, h)
	}
	return int64(len(body)), nil
}

// imageSize reads the format and dimensions of a JPEG or WebP.
func imageSize(b []byte) (w, h int, format string, err error) {
	if len(b) >= 30 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP" {
		switch string(b[12:16]) {
		case "VP8 ": // lossy: frame tag (3), start code 9d 01 2a, then 14-bit sizes
			if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
				return 0, 0, "webp", errors.New("bad VP8 start code")
			}
			return int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff), "webp", nil
		case "VP8L": // lossless: signature 0x2f, then 14-bit width-1, height-1
			if b[20] != 0x2f {
				return 0, 0, "webp", errors.New("bad VP8L signature")
			}
			v := binary.LittleEndian.Uint32(b[21:])
			return int(v&0x3fff) + 1, int(v>>14&0x3fff) + 1, "webp", nil
		case "VP8X": // extended: 24-bit canvas width-1, height-1
			u24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
			return u24(b[24:]) + 1, u24(b[27:]) + 1, "webp", nil
		}
		return 0, 0, "webp", errors.New("unknown WebP chunk")
	}
	cfg, f, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, "", fmt.Errorf("not an image: %v", err)
	}
	return cfg.Width, cfg.Height, f, nil
}

// cmdHammer loads one URL with c keep-alive connections for a duration,
// with wrk when it is installed (it takes less of the shared CPU than a Go
// client) and with a Go client otherwise.
func cmdHammer(args []string) error {
	fs := flag.NewFlagSet("hammer", flag.ExitOnError)
	scenario := fs.String("scenario", "", "scenario name")
	server := fs.String("server", "", "server name")
	round := fs.Int("round", 1, "round number")
	pidsFlag := fs.String("pids", "", "server pids")
	url := fs.String("url", "", "URL")
	c := fs.Int("c", 64, "connections")
	d := fs.Duration("d", 10*time.Second, "duration")
	threads := fs.Int("t", 2, "wrk threads")
	maxReqs := fs.Int("max", 2000000, "most requests of the Go client")
	expect := fs.String("expect", "", "file the body must equal (checked once before the round)")
	tool := fs.String("tool", "auto", "wrk, go or auto (wrk when installed)")
	fs.Parse(args)
	pids, err := pidList(*pidsFlag)
	if err != nil {
		return err
	}
	if *d <= 0 || *d > 5*time.Minute {
		return fmt.Errorf("-d must be in (0, 5m]")
	}
	size, err := preflight(*url, *expect)
	if err != nil {
		return err
	}
	useWrk := *tool == "wrk"
	if *tool == "auto" {
		_, err := exec.LookPath("wrk")
		useWrk = err == nil
	}
	cpu0 := cpuSeconds(pids)
	var r result
	if useWrk {
		r, err = runWrk(*url, *threads, *c, *d)
	} else {
		r, err = runGoLoad(*url, *c, *d, *maxReqs)
	}
	if err != nil {
		return err
	}
	cpu := cpuSeconds(pids) - cpu0
	r.Scenario, r.Server, r.Round = *scenario, *server, *round
	r.MBps = r.RPS * float64(size) / 1e6
	r.RSS = peakRSS(pids)
	if r.Reqs > 0 {
		r.CPUPerReq = cpu * 1000 / float64(r.Reqs)
	}
	fmt.Println(r.line())
	return nil
}

// preflight fetches the URL once, checks it answers 200 (and the expected
// bytes) and returns the body size.
func preflight(url, expect string) (int64, error) {
	resp, err := newClient(1, 30*time.Second).Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	if expect != "" {
		want, err := os.ReadFile(expect)
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(body, want) {
			return 0, fmt.Errorf("%s: body (%d bytes) differs from %s (%d bytes)", url, len(body), expect, len(want))
		}
	}
	return int64(len(body)), nil
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m|h)`)
	reLatency  = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func unitMs(v float64, unit string) float64 {
	switch unit {
	case "us":
		return v / 1000
	case "ms":
		return v
	case "s":
		return v * 1000
	case "m":
		return v * 60000
	case "h":
		return v * 3600000
	}
	return v
}

func runWrk(url string, threads, conns int, d time.Duration) (result, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), d+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "10s", "--latency", url)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out.String())
	}
	text := out.String()
	m := reRequests.FindStringSubmatch(text)
	if m == nil {
		return result{}, fmt.Errorf("wrk output not understood: %s", text)
	}
	reqs, _ := strconv.ParseInt(m[1], 10, 64)
	dur, _ := strconv.ParseFloat(m[2], 64)
	r := result{Reqs: reqs, Secs: unitMs(dur, m[3]) / 1000, Tool: fmt.Sprintf("wrk-t%d-c%d", threads, conns)}
	if r.Secs > 0 {
		r.RPS = float64(reqs) / r.Secs
	}
	for _, lm := range reLatency.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(lm[2], 64)
		if lm[1] == "50" {
			r.P50 = unitMs(v, lm[3])
		} else {
			r.P99 = unitMs(v, lm[3])
		}
	}
	if m := reNon2xx.FindStringSubmatch(text); m != nil {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += v
	}
	if m := reSocket.FindStringSubmatch(text); m != nil {
		for _, s := range m[1:] {
			v, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += v
		}
	}
	return r, nil
}

// runGoLoad is the fallback when wrk is missing: conns goroutines, each on
// its own keep-alive connection, until the duration or maxReqs is reached.
func runGoLoad(url string, conns int, d time.Duration, maxReqs int) (result, error) {
	client := newClient(conns, 30*time.Second)
	per := max(1, maxReqs/conns)
	lats := make([][]time.Duration, conns)
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := make([]time.Duration, 0, min(per, 1<<16))
			for n := 0; n < per && time.Now().Before(deadline); n++ {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs.Add(1)
				}
				l = append(l, time.Since(t0))
			}
			lats[i] = l
		}(i)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return result{
		Reqs: int64(len(all)), Errors: errs.Load(), Secs: secs, RPS: float64(len(all)) / secs,
		P50: stats.Percentile(all, 0.50), P99: stats.Percentile(all, 0.99), Tool: fmt.Sprintf("go-c%d", conns),
	}, nil
}
