package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Result is one benchmark round as printed on stdout:
//
//	scenario server round bytes seconds requests errors p50_ms p99_ms rss_kib cpu_s
type Result struct {
	Scenario, Server string
	Round            int
	Bytes            int64   // payload bytes uploaded (file contents only)
	Seconds          float64 // wall time of the round
	Requests         int64   // successful uploads (files)
	Errors           int64
	P50, P99         float64 // per-upload latency, milliseconds
	RSSKiB           int64   // server peak RSS so far (VmHWM), KiB
	CPU              float64 // server user+system CPU seconds spent in the round
}

func (r Result) line() string {
	return fmt.Sprintf("%s\t%s\t%d\t%d\t%.4f\t%d\t%d\t%.3f\t%.3f\t%d\t%.3f",
		r.Scenario, r.Server, r.Round, r.Bytes, r.Seconds, r.Requests, r.Errors, r.P50, r.P99, r.RSSKiB, r.CPU)
}

func parseResult(line string) (Result, error) {
	f := strings.Split(strings.TrimSpace(line), "\t")
	if len(f) != 11 {
		return Result{}, fmt.Errorf("want 11 fields, got %d", len(f))
	}
	var r Result
	var err error
	r.Scenario, r.Server = f[0], f[1]
	num := func(s string) float64 {
		v, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	r.Round = int(num(f[2]))
	r.Bytes = int64(num(f[3]))
	r.Seconds = num(f[4])
	r.Requests = int64(num(f[5]))
	r.Errors = int64(num(f[6]))
	r.P50, r.P99 = num(f[7]), num(f[8])
	r.RSSKiB = int64(num(f[9]))
	r.CPU = num(f[10])
	return r, err
}

// common holds the flags every run subcommand shares.
type common struct {
	scenario, server string
	round, pid       int
	cpu0             float64
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.scenario, "scenario", "", "scenario name in the result line")
	fs.StringVar(&c.server, "server", "", "server name in the result line")
	fs.IntVar(&c.round, "round", 1, "round number in the result line")
	fs.IntVar(&c.pid, "pid", 0, "server process id: its VmHWM and CPU time are recorded")
}

// start samples the server's CPU time at the start of the round.
func (c *common) start() { c.cpu0 = procCPU(c.pid) }

// finish completes r with the server's figures and prints it.
func (c *common) finish(r Result) {
	r.Scenario, r.Server, r.Round = c.scenario, c.server, c.round
	r.RSSKiB = procHWM(c.pid)
	r.CPU = procCPU(c.pid) - c.cpu0
	fmt.Println(r.line())
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(os.Stderr, "   client %s/%s round %d: cpu %.2fs, max RSS %.1f MiB\n",
			r.Scenario, r.Server, r.Round, cpu.Seconds(), float64(ru.Maxrss)/1024)
	}
}

// procHWM reads the peak resident set size (KiB) of a process.
func procHWM(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// procCPU reads the user+system CPU seconds a process has used.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(ut+st) / 100 // USER_HZ is 100 on Linux
}

// newClient returns a keep-alive HTTP/1.1 client for conns connections.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}, Timeout: 10 * time.Minute}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	for i := range s {
		s[i] = byte(seed >> (8 * (i % 8)))
	}
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// Multipart form bodies are built by hand so that the large one can live in a
// file and be sent with sendfile, like the raw bodies of the other requests.
const boundary = "satchelbenchboundary7MA4YWxkTrZu0gW"

func formHead(pub, filename string) []byte {
	var b bytes.Buffer
	for _, kv := range [][2]string{{"UPLOADCARE_PUB_KEY", pub}, {"UPLOADCARE_STORE", "1"}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, kv[0], kv[1])
	}
	fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=%q\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, filename)
	return b.Bytes()
}

func formTail() []byte { return []byte("\r\n--" + boundary + "--\r\n") }

const formContentType = "multipart/form-data; boundary=" + boundary

// cmdGen writes the data file (size bytes of ChaCha8 output) unless it is
// already there with the right size, and optionally the direct-upload form
// body built from its first direct-size bytes.
func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	data := fs.String("data", "", "data file to create")
	size := fs.Int64("size", 1<<30, "data file size in bytes")
	body := fs.String("direct-body", "", "multipart/form-data body file to create (optional)")
	dsize := fs.Int64("direct-size", 100e6, "file bytes in the direct body")
	pub := fs.String("pub", "", "public key written into the direct body")
	fs.Parse(args)
	if st, err := os.Stat(*data); err != nil || st.Size() != *size {
		if err := genData(*data, *size); err != nil {
			return err
		}
	}
	if *body == "" {
		return nil
	}
	if *dsize > *size {
		return fmt.Errorf("-direct-size %d is larger than the data file", *dsize)
	}
	src, err := os.Open(*data)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.Create(*body)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	w.Write(formHead(*pub, "direct.bin"))
	buf := make([]byte, 1<<20)
	for left := *dsize; left > 0; {
		n, err := src.Read(buf[:min(int64(len(buf)), left)])
		if err != nil {
			out.Close()
			return err
		}
		w.Write(buf[:n])
		left -= int64(n)
	}
	w.Write(formTail())
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func genData(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var seed [32]byte
	copy(seed[:], "satchel bench data, seed 1")
	g := rand.NewChaCha8(seed)
	buf := make([]byte, 4<<20)
	for left := size; left > 0; {
		n := min(int64(len(buf)), left)
		g.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		return err
	}
	return nil
}
