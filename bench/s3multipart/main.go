// Command s3multipart measures what Satchel's multipart upload costs on top of
// the S3 server behind it. It uploads the same deterministic pseudo-random
// stream (generated on the fly, never held in memory) two ways, with the same
// part size and the same number of parts in flight:
//
//   - satchel: POST /multipart/start/ (with part_size), PUT every part URL,
//     POST /multipart/complete/, against a `satchel serve` this program
//     starts with --storage-url pointing at the S3 server;
//   - direct: CreateMultipartUpload, UploadPart, CompleteMultipartUpload with
//     the AWS SDK v2 straight to the same S3 server, configured as Satchel
//     configures its own client (unsigned payload, checksums only where
//     required).
//
// Rounds alternate which way goes first; each upload is timed from the start
// call to the answer of the completion call. It prints MB/s (MB = 10^6 bytes)
// for every round, the medians and their ratio. The first round also reads
// both objects back and compares their SHA-256 with the stream's (not timed).
// Objects are deleted after each round.
//
// Run from the repository root with an S3 server on loopback:
//
//	eval "$(bash scripts/s3server.sh)"
//	go run ./bench/s3multipart                      # metadata in SQLite
//	eval "$(bash scripts/pgserver.sh)"
//	go run ./bench/s3multipart -database-url "$SATCHEL_TEST_DATABASE_URL"
//
// Flags: -size, -part-size, -concurrency, -rounds (default $ROUNDS or 3),
// -s3-url (default $SATCHEL_TEST_S3_URL), -database-url, -satchel-bin (built
// from ./cmd/satchel when empty), -verify, -results (append every round's
// MB/s as bench/cmd/compare lines to this file), -s3-pid (the S3 server's
// process, default read from $SATCHEL_S3_DIR/pid as scripts/s3server.sh
// writes it). The load average is written to $LOADLOG, when set, before and
// after every round.
//
// Besides the time, every upload prints the CPU seconds it cost the satchel
// process, this program (the client) and the S3 server: on a busy machine
// the sums of the three compare the two ways better than the clock.
package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL: a schema of its own for the run

	"github.com/satchel-project/satchel/bench/lib/stats"
)

const (
	benchPub    = "s3multipartbenchpub"
	benchSecret = "s3multipartbenchsecret"
)

type options struct {
	size, partSize int64
	concurrency    int
	rounds         int
	s3URL          string
	databaseURL    string
	satchelBin     string
	verify         bool
	seed           uint64
	results        string
	s3PID          int
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("s3multipart: ")
	o := options{}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	flag.Int64Var(&o.size, "size", 1<<30, "bytes to upload each time")
	flag.Int64Var(&o.partSize, "part-size", 64<<20, "part size in bytes (Satchel accepts 5 MiB..5 GiB)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "parts in flight")
	flag.IntVar(&o.rounds, "rounds", rounds, "rounds; the median is reported (default $ROUNDS or 3)")
	flag.StringVar(&o.s3URL, "s3-url", os.Getenv("SATCHEL_TEST_S3_URL"), "s3://bucket?endpoint=…&region=…&use_path_style=true (default $SATCHEL_TEST_S3_URL); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	flag.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL DSN for Satchel's metadata; empty keeps SQLite in a temporary data dir")
	flag.StringVar(&o.satchelBin, "satchel-bin", "", "satchel binary; empty builds ./cmd/satchel")
	flag.BoolVar(&o.verify, "verify", true, "read both objects back in the first round and compare SHA-256")
	flag.Uint64Var(&o.seed, "seed", 0x5a7c4e1, "seed of the pseudo-random stream")
	flag.StringVar(&o.results, "results", "", "append result lines (scenario side round metric value errors) to this file")
	flag.IntVar(&o.s3PID, "s3-pid", s3ServerPID(), "process id of the S3 server, for its CPU time (default from $SATCHEL_S3_DIR/pid; 0: not shown)")
	flag.Parse()
	if o.s3URL == "" {
		log.Fatal("no S3 server: pass -s3-url or run: eval \"$(bash scripts/s3server.sh)\"")
	}
	if o.size < 10485760 || o.partSize < 5242880 || o.concurrency < 1 || o.rounds < 1 {
		log.Fatal("-size must be at least 10485760 (Satchel's multipart minimum), -part-size at least 5242880, -concurrency and -rounds at least 1")
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "s3multipart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	s3c, err := parseS3URL(ctx, o.s3URL)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("bench-s3multipart-%d/", time.Now().UnixNano())
	defer s3c.deletePrefix(context.Background(), prefix)

	if o.databaseURL != "" {
		dsn, drop, err := freshSchema(ctx, o.databaseURL)
		if err != nil {
			return err
		}
		defer drop()
		o.databaseURL = dsn
	}

	bin := o.satchelBin
	if bin == "" {
		bin = filepath.Join(tmp, "satchel")
		log.Printf("building ./cmd/satchel")
		build := exec.Command("go", "build", "-o", bin, "./cmd/satchel")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/satchel (run from the repository root, or pass -satchel-bin): %w", err)
		}
	}
	node, err := startSatchel(bin, tmp, o, s3c.withPrefix(o.s3URL, prefix+"satchel/"))
	if err != nil {
		return err
	}
	defer node.stop()

	var want [32]byte
	if o.verify {
		h := sha256.New()
		if _, err := io.Copy(h, newStream(o.seed, 0, o.size)); err != nil {
			return err
		}
		copy(want[:], h.Sum(nil))
	}

	meta := "SQLite"
	if o.databaseURL != "" {
		meta = "PostgreSQL"
	}
	fmt.Printf("upload of %d bytes (%.0f MiB), parts of %d bytes (%d MiB), %d in flight, %d rounds\n",
		o.size, float64(o.size)/(1<<20), o.partSize, o.partSize>>20, o.concurrency, o.rounds)
	fmt.Printf("S3 server %s; Satchel metadata in %s\n\n", s3c.endpoint, meta)
	fmt.Printf("%-6s %-8s %10s %10s %14s %13s %9s %10s\n", "round", "way", "seconds", "MB/s", "satchel CPU s", "client CPU s", "S3 CPU s", "sum CPU s")

	var results *os.File
	if o.results != "" {
		if results, err = os.OpenFile(o.results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			return err
		}
		defer results.Close()
	}
	scenario := fmt.Sprintf("s3-%dMiB-parts%dMiB-x%d", o.size>>20, o.partSize>>20, o.concurrency)
	var satRates, dirRates []float64
	for r := 1; r <= o.rounds; r++ {
		if err := stats.RecordLoad(scenario, r, "before"); err != nil {
			return err
		}
		ways := []string{"satchel", "direct"}
		if r%2 == 0 {
			ways = []string{"direct", "satchel"}
		}
		for _, way := range ways {
			cpu0, self0, srv0 := node.cpuSeconds(), processCPU(os.Getpid()), processCPU(o.s3PID)
			var (
				d    time.Duration
				key  string
				uuid string
			)
			switch way {
			case "satchel":
				uuid, d, err = node.upload(ctx, o)
			case "direct":
				key = fmt.Sprintf("%sdirect/round-%d", prefix, r)
				d, err = s3c.upload(ctx, key, o)
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, way, err)
			}
			cpu := node.cpuSeconds() - cpu0
			self, srv := processCPU(os.Getpid())-self0, processCPU(o.s3PID)-srv0
			rate := float64(o.size) / d.Seconds() / 1e6
			if way == "satchel" {
				satRates = append(satRates, rate)
			} else {
				dirRates = append(dirRates, rate)
			}
			srvCol, sumCol := "-", "-"
			if o.s3PID > 0 {
				srvCol, sumCol = fmt.Sprintf("%.2f", srv), fmt.Sprintf("%.2f", cpu+self+srv)
			}
			fmt.Printf("%-6d %-8s %10.2f %10.0f %14.2f %13.2f %9s %10s\n", r, way, d.Seconds(), rate, cpu, self, srvCol, sumCol)
			if results != nil {
				side := "satchel-s3"
				if way == "direct" {
					side = "direct-s3"
				}
				if _, err := fmt.Fprintf(results, "%s\t%s\t%d\tMB/s\t%.2f\t0\n", scenario, side, r, rate); err != nil {
					return err
				}
			}
			if o.verify && r == 1 {
				var got [32]byte
				var n int64
				if way == "satchel" {
					got, n, err = node.download(ctx, uuid)
				} else {
					got, n, err = s3c.download(ctx, key)
				}
				if err != nil {
					return fmt.Errorf("round 1, %s: read back: %w", way, err)
				}
				if n != o.size || got != want {
					return fmt.Errorf("round 1, %s: read back %d bytes with sha256 %x, want %d bytes with %x", way, n, got, o.size, want)
				}
			}
		}
		// Keep the S3 server's disk bounded: drop this round's objects.
		if err := s3c.deletePrefix(ctx, prefix); err != nil {
			return err
		}
		if err := stats.RecordLoad(scenario, r, "after"); err != nil {
			return err
		}
	}
	if o.verify {
		fmt.Printf("\nround 1: both objects read back with the stream's SHA-256 %x\n", want[:8])
	}
	ms, md := stats.Median(satRates), stats.Median(dirRates)
	fmt.Printf("\nmedian: satchel %.0f MB/s, direct S3 %.0f MB/s, satchel/direct = %.2f\n", ms, md, ms/md)
	return nil
}

// freshSchema creates a schema of its own in the PostgreSQL database at dsn
// (so the demo project, and with it the benchmark's key, is created there)
// and returns a DSN using it and a function that drops it.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("bench_s3multipart_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}, nil
}

// The stream: byte i of the upload is byte i%8 (little-endian) of
// splitmix64(seed + i/8), so any range can be generated on its own, in any
// order, by any goroutine. The first bytes are a fixed text so that
// content sniffing sees a plain binary file.

var streamHeader = []byte("satchel s3multipart benchmark stream\x00")

type stream struct {
	seed     uint64
	off, end int64
}

// newStream returns the bytes [off, off+n) of the stream.
func newStream(seed uint64, off, n int64) *stream { return &stream{seed: seed, off: off, end: off + n} }

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *stream) Read(p []byte) (int, error) {
	if s.off >= s.end {
		return 0, io.EOF
	}
	if rest := s.end - s.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n := 0
	// Unaligned head, byte by byte.
	for n < len(p) && (s.off+int64(n))%8 != 0 {
		pos := s.off + int64(n)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], splitmix64(s.seed+uint64(pos/8)))
		p[n] = w[pos%8]
		n++
	}
	// Whole words.
	word := uint64((s.off + int64(n)) / 8)
	for ; n+8 <= len(p); n += 8 {
		binary.LittleEndian.PutUint64(p[n:], splitmix64(s.seed+word))
		word++
	}
	// Tail.
	if n < len(p) {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], splitmix64(s.seed+word))
		copy(p[n:], w[:])
		n = len(p)
	}
	if s.off < int64(len(streamHeader)) {
		copy(p, streamHeader[s.off:])
	}
	s.off += int64(n)
	return n, nil
}

// parts runs fn for every part on o.concurrency goroutines and returns the
// first error.
func parts(o options, fn func(i int, off, n int64) error) error {
	count := int((o.size + o.partSize - 1) / o.partSize)
	next := make(chan int)
	errc := make(chan error, o.concurrency)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for i := range next {
				off := int64(i) * o.partSize
				if err := fn(i, off, min(o.partSize, o.size-off)); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range count {
		select {
		case next <- i:
		case err = <-errc:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// Satchel.

type satchelNode struct {
	cmd    *exec.Cmd
	base   string
	client *http.Client
	logf   *os.File
	exited chan error
}

func startSatchel(bin, tmp string, o options, storageURL string) (*satchelNode, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(tmp, "satchel.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data-dir", filepath.Join(tmp, "data"), "--storage-url", storageURL, "--rate-limit", "0", "--log-level", "warn"}
	if o.databaseURL != "" {
		args = append(args, "--database-url", o.databaseURL)
	}
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SATCHEL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SATCHEL_DEMO_PUBLIC_KEY="+benchPub, "SATCHEL_DEMO_SECRET_KEY="+benchSecret)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	n := &satchelNode{cmd: cmd, base: "http://" + addr, logf: lf, exited: make(chan error, 1), client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.concurrency, DisableCompression: true},
	}}
	go func() { n.exited <- cmd.Wait(); close(n.exited) }()
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case err := <-n.exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("satchel exited while starting (%v):\n%s", err, out)
		default:
		}
		if resp, err := n.client.Get(n.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The demo project exists only if the database had no
				// project: check that our key works (404: unknown upload).
				status, body, err := n.postForm(context.Background(), "/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {benchPub}, "uuid": {"00000000-0000-4000-8000-000000000000"}})
				if err != nil || status != http.StatusNotFound {
					n.stop()
					return nil, fmt.Errorf("the benchmark's public key does not work (HTTP %d %q, %v): the database must have no project yet", status, body, err)
				}
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, errors.New("satchel did not answer /healthz within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *satchelNode) stop() {
	n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
	n.logf.Close()
}

// cpuSeconds is the user+system CPU time the satchel process has used.
func (n *satchelNode) cpuSeconds() float64 { return processCPU(n.cmd.Process.Pid) }

// s3ServerPID reads the pid file scripts/s3server.sh keeps in
// $SATCHEL_S3_DIR (or its default directory); 0 when there is none.
func s3ServerPID() int {
	dir := os.Getenv("SATCHEL_S3_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("satchel-s3server-%d", os.Getuid()))
	}
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// processCPU is the user+system CPU time process pid has used (0 when it
// cannot be read, or pid is 0).
func processCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// postForm posts form to path and returns the answer; a non-200 answer is an
// error only for status >= 500.
func (n *satchelNode) postForm(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode >= 500 {
		err = fmt.Errorf("%s: HTTP %d %q", path, resp.StatusCode, body)
	}
	return resp.StatusCode, body, err
}

// upload sends the stream through Satchel's multipart API and returns the
// file's uuid and the time from start to the completion's answer.
func (n *satchelNode) upload(ctx context.Context, o options) (string, time.Duration, error) {
	began := time.Now()
	status, body, err := n.postForm(ctx, "/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {benchPub}, "UPLOADCARE_STORE": {"1"},
		"filename": {"bench.bin"}, "size": {strconv.FormatInt(o.size, 10)},
		"content_type": {"application/octet-stream"}, "part_size": {strconv.FormatInt(o.partSize, 10)},
	})
	if err != nil || status != http.StatusOK {
		return "", 0, fmt.Errorf("/multipart/start/: HTTP %d %q (%v)", status, body, err)
	}
	var start struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal(body, &start); err != nil {
		return "", 0, fmt.Errorf("/multipart/start/ answered %q: %v", body, err)
	}
	if want := int((o.size + o.partSize - 1) / o.partSize); len(start.Parts) != want {
		return "", 0, fmt.Errorf("/multipart/start/ gave %d part URLs, want %d", len(start.Parts), want)
	}
	err = parts(o, func(i int, off, length int64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, start.Parts[i], newStream(o.seed, off, length))
		if err != nil {
			return err
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := n.client.Do(req)
		if err != nil {
			return fmt.Errorf("part %d: %w", i+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("part %d: HTTP %d %q", i+1, resp.StatusCode, b)
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	status, body, err = n.postForm(ctx, "/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {benchPub}, "uuid": {start.UUID}})
	if err != nil || status != http.StatusOK {
		return "", 0, fmt.Errorf("/multipart/complete/: HTTP %d %q (%v)", status, body, err)
	}
	return start.UUID, time.Since(began), nil
}

func (n *satchelNode) download(ctx context.Context, uuid string) ([32]byte, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.base+"/"+uuid+"/", nil)
	if err != nil {
		return [32]byte{}, 0, err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return [32]byte{}, 0, fmt.Errorf("GET /%s/: HTTP %d", uuid, resp.StatusCode)
	}
	return hashAll(resp.Body)
}

func hashAll(r io.Reader) ([32]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}

// Direct S3.

type s3Client struct {
	client   *s3.Client
	bucket   string
	endpoint string
}

// parseS3URL reads s3://bucket?endpoint=…&region=…&use_path_style=… (the
// form SATCHEL_STORAGE_URL takes; a prefix in it is ignored).
func parseS3URL(ctx context.Context, raw string) (*s3Client, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("-s3-url %q: want s3://bucket?endpoint=…", raw)
	}
	q := u.Query()
	region := q.Get("region")
	if region == "" {
		region = "us-east-1"
	}
	pathStyle, _ := strconv.ParseBool(q.Get("use_path_style"))
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, err
	}
	endpoint := q.Get("endpoint")
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(u.Host)}); err != nil {
		return nil, fmt.Errorf("bucket %s at %s: %w", u.Host, endpoint, err)
	}
	return &s3Client{client: c, bucket: u.Host, endpoint: endpoint}, nil
}

// withPrefix returns raw with its prefix parameter set to prefix.
func (c *s3Client) withPrefix(raw, prefix string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	q.Set("prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

// upload sends the stream as a multipart upload to key.
func (c *s3Client) upload(ctx context.Context, key string, o options) (time.Duration, error) {
	began := time.Now()
	out, err := c.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	count := int((o.size + o.partSize - 1) / o.partSize)
	done := make([]types.CompletedPart, count)
	err = parts(o, func(i int, off, length int64) error {
		num := int32(i + 1)
		res, err := c.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &c.bucket, Key: &key, UploadId: out.UploadId, PartNumber: &num,
			Body: newStream(o.seed, off, length), ContentLength: &length,
		}, func(so *s3.Options) {
			// As Satchel does: the body is a stream, neither hashed first nor resent.
			so.APIOptions = append(so.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
			so.RetryMaxAttempts = 1
		})
		if err != nil {
			return fmt.Errorf("part %d: %w", num, err)
		}
		done[i] = types.CompletedPart{ETag: res.ETag, PartNumber: &num}
		return nil
	})
	if err != nil {
		c.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &c.bucket, Key: &key, UploadId: out.UploadId})
		return 0, err
	}
	_, err = c.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &c.bucket, Key: &key, UploadId: out.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

func (c *s3Client) download(ctx context.Context, key string) ([32]byte, int64, error) {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer out.Body.Close()
	return hashAll(out.Body)
}

// deletePrefix removes every object and unfinished upload under prefix.
func (c *s3Client) deletePrefix(ctx context.Context, prefix string) error {
	p := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{Bucket: &c.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			if _, err := c.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &c.bucket, Key: obj.Key}); err != nil {
				return fmt.Errorf("delete %s: %w", aws.ToString(obj.Key), err)
			}
		}
	}
	ups, err := c.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &c.bucket, Prefix: &prefix})
	if err != nil {
		return nil // not every server lists uploads; objects are what take room
	}
	for _, up := range ups.Uploads {
		c.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &c.bucket, Key: up.Key, UploadId: up.UploadId})
	}
	return nil
}
