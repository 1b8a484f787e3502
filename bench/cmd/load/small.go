package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// cmdSmall posts one prebuilt small multipart/form-data upload over and over
// from c keep-alive connections, for a bounded time and request count.
func cmdSmall(args []string) error {
	var cm common
	fs := flag.NewFlagSet("small", flag.ExitOnError)
	cm.register(fs)
	u := fs.String("url", "", "upload URL, e.g. http://127.0.0.1:18080/base/")
	pub := fs.String("pub", "", "public key")
	fileSize := fs.Int("file-size", 10000, "bytes of each file")
	conc := fs.Int("c", 16, "connections")
	dur := fs.Duration("duration", 10*time.Second, "run time")
	maxReq := fs.Int64("max", 200000, "stop after this many requests")
	warmup := fs.Int("warmup", 200, "requests sent (and not counted) before the clock starts")
	fs.Parse(args)

	var body bytes.Buffer
	body.Write(formHead(*pub, "small.bin"))
	body.Write(randomBytes(2, *fileSize))
	body.Write(formTail())
	payload := body.Bytes()
	c := newClient(*conc)

	post := func() error {
		req, err := http.NewRequest(http.MethodPost, *u, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", formContentType)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	// Warm up: open the connections and let the server reach a steady state.
	var wg sync.WaitGroup
	var werr atomic.Value
	for w := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < *warmup; i += *conc {
				if err := post(); err != nil {
					werr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := werr.Load().(error); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	var issued, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, *conc)
	cm.start()
	t0 := time.Now()
	deadline := t0.Add(*dur)
	for w := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) && issued.Add(1) <= *maxReq {
				s := time.Now()
				if err := post(); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				mine = append(mine, time.Since(s))
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "load small: %d errors, first: %v\n", errs.Load(), err)
	}
	r := Result{Seconds: secs, Requests: int64(len(all)), Errors: errs.Load(), Bytes: int64(len(all)) * int64(*fileSize)}
	if len(all) > 0 {
		r.P50 = ms(all[len(all)/2])
		r.P99 = ms(all[min(len(all)-1, len(all)*99/100)])
	}
	cm.finish(r)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
