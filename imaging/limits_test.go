package imaging

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestOutputSideLimit checks that operations may not make an image grow
// beyond MaxOutputSide per side (a clear *OpError), while sides the image
// already has are kept.
func TestOutputSideLimit(t *testing.T) {
	small := memSource{encodePNG(t, pattern(64, 48))}
	wide := memSource{encodePNG(t, pattern(300, 40))}
	e := newEngine(t, Options{MaxOutputSide: 100})
	cases := []struct {
		src  Source
		ops  string
		w, h int // 0: refused
	}{
		{small, "resize/100x/", 100, 75},
		{small, "resize/101x/", 0, 0},
		{small, "resize/x101/", 0, 0},
		{small, "stretch/off/-/resize/1000x/", 64, 48},
		{small, "stretch/fill/-/resize/1000x/", 0, 0},
		{small, "scale_crop/200x50/", 0, 0},
		{small, "stretch/off/-/scale_crop/200x50/", 64, 48},
		{small, "crop/200x10/", 0, 0},
		{small, "crop/100x100/center/", 100, 100},
		{small, "preview/4000x4000/", 64, 48},
		{wide, "resize/250x/", 250, 33},
		{wide, "resize/300x/", 300, 40},
		{wide, "resize/301x/", 0, 0},
		{wide, "crop/300x101/", 0, 0},
		{wide, "crop/300x40/", 300, 40},
		{wide, "scale_crop/300x20/", 300, 20},
	}
	for _, c := range cases {
		ops, err := cdnurl.ParseOps(c.ops)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Do(context.Background(), "u", c.src, ops, "", nil)
		if c.w == 0 {
			var opErr *OpError
			if !errors.As(err, &opErr) || !strings.Contains(err.Error(), "100 px per side") {
				t.Errorf("%s: %v, want an operation error naming the limit", c.ops, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.ops, err)
			continue
		}
		if res.Width != c.w || res.Height != c.h {
			t.Errorf("%s: %dx%d, want %dx%d", c.ops, res.Width, res.Height, c.w, c.h)
		}
	}
	// The default limit: 5000 px, as Uploadcare's largest output.
	e = newEngine(t, Options{})
	for _, s := range []string{"resize/8000x/", "resize/8000x/-/blur/4000/", "scale_crop/6000x6000/", "crop/5001x10/"} {
		ops, _ := cdnurl.ParseOps(s)
		var opErr *OpError
		if _, err := e.Do(context.Background(), "u", small, ops, "", nil); !errors.As(err, &opErr) {
			t.Errorf("%s: %v, want an operation error", s, err)
		}
	}
}

// sizedGate is a source that claims to be large (so its transforms count
// as expensive) and whose reads wait for the gate.
type sizedGate struct {
	gateSource
	w, h int
}

func (s sizedGate) Dimensions() (int, int, bool) { return s.w, s.h, true }

// TestCheapTransformNotBehindExpensive occupies the engine with expensive
// transforms and checks that a cheap one still runs at once.
func TestCheapTransformNotBehindExpensive(t *testing.T) {
	e := newEngine(t, Options{Workers: 2})
	gate := make(chan struct{})
	heavy := sizedGate{gateSource{memSource{encodePNG(t, pattern(32, 32))}, gate, make(chan struct{}, 4)}, 6000, 6000}
	if c := e.estimate(heavy, []cdnurl.Op{cdnurl.Blur{Strength: 10}}); c <= e.o.CheapCost {
		t.Fatalf("a blur of 36 Mpx estimated at %d, not expensive", c)
	}
	cheapOps := []cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(16), H: px(16), WSet: true, HSet: true}}}
	cheap := memSource{encodePNG(t, pattern(32, 32))}
	if c := e.estimate(cheap, cheapOps); c > e.o.CheapCost {
		t.Fatalf("a small preview estimated at %d, expensive", c)
	}

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Do(context.Background(), "u", heavy, []cdnurl.Op{cdnurl.Blur{Strength: 10}}, "", nil)
			if err != nil {
				t.Errorf("expensive: %v", err)
			}
			mu.Lock()
			order = append(order, "expensive")
			mu.Unlock()
		}()
	}
	// Wait until the expensive transforms hold or wait for every worker
	// they may have.
	select {
	case <-heavy.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("no expensive transform started")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if e.waiting.Load()+int64(len(heavy.entered)) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expensive transforms did not queue")
		}
	}

	done := make(chan error, 1)
	go func() {
		_, err := e.Do(context.Background(), "u", cheap, cheapOps, "", nil)
		mu.Lock()
		order = append(order, "cheap")
		mu.Unlock()
		done <- err
	}()
	waited := false
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("cheap: %v", err)
		}
	case <-time.After(20 * time.Second):
		waited = true
		t.Error("the cheap transform waited behind the expensive ones")
	}
	close(gate)
	wg.Wait()
	if waited {
		<-done
	}
	if order[0] != "cheap" {
		t.Fatalf("finishing order %v, want the cheap transform first", order)
	}
}

// TestExpensiveWorkersBound runs more expensive transforms than
// ExpensiveWorkers allows: only that many start, the others wait, and the
// slots left over still serve cheap transforms at once.
func TestExpensiveWorkersBound(t *testing.T) {
	e := newEngine(t, Options{Workers: 4, CheapWorkers: 1, ExpensiveWorkers: 2})
	gate := make(chan struct{})
	heavy := sizedGate{gateSource{memSource{encodePNG(t, pattern(32, 32))}, gate, make(chan struct{}, 4)}, 6000, 6000}
	heavyOps := []cdnurl.Op{cdnurl.Blur{Strength: 10}}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Do(context.Background(), "u", heavy, heavyOps, "", nil); err != nil {
				t.Errorf("expensive: %v", err)
			}
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); len(heavy.entered) < 2 || e.waiting.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d expensive transforms started, %d waiting; want 2 and 2", len(heavy.entered), e.waiting.Load())
		}
	}
	// Two started and two wait for a place: all four are accounted for.
	if n := len(heavy.entered); n != 2 {
		t.Fatalf("%d expensive transforms running at once, want 2", n)
	}
	cheapOps := []cdnurl.Op{cdnurl.Preview{Size: &cdnurl.Size{W: px(16), H: px(16), WSet: true, HSet: true}}}
	cheap := memSource{encodePNG(t, pattern(32, 32))}
	var cwg sync.WaitGroup
	for i := 0; i < 2; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			if _, err := e.Do(context.Background(), "u", cheap, cheapOps, "", nil); err != nil {
				t.Errorf("cheap: %v", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { cwg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("cheap transforms waited behind the expensive ones")
	}
	close(gate)
	wg.Wait()
	<-done
}

// TestWorkerDefaults: one worker per core, one of them kept for cheap
// transforms (when there are two or more), and expensive ones at most one
// per core less that one, however many workers are asked for.
func TestWorkerDefaults(t *testing.T) {
	n := runtime.NumCPU()
	e := newEngine(t, Options{})
	if e.o.Workers != n || e.o.CheapWorkers != min(1, n-1) || e.o.ExpensiveWorkers != max(1, n-1) {
		t.Errorf("%d cores: workers %d, cheap %d, expensive %d", n, e.o.Workers, e.o.CheapWorkers, e.o.ExpensiveWorkers)
	}
	e = newEngine(t, Options{Workers: 4 * n})
	if e.o.ExpensiveWorkers != max(1, n-1) {
		t.Errorf("%d cores, %d workers: expensive %d, want %d", n, 4*n, e.o.ExpensiveWorkers, max(1, n-1))
	}
	e = newEngine(t, Options{Workers: 3, ExpensiveWorkers: 10})
	if e.o.ExpensiveWorkers != 2 {
		t.Errorf("3 workers, 1 cheap: expensive %d, want 2", e.o.ExpensiveWorkers)
	}
	e = newEngine(t, Options{Workers: 1})
	if e.o.CheapWorkers != 0 || e.o.ExpensiveWorkers != 1 {
		t.Errorf("1 worker: cheap %d, expensive %d", e.o.CheapWorkers, e.o.ExpensiveWorkers)
	}
}
