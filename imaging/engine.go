// Package imaging applies CDN image operations (package cdnurl) with
// libvips and encodes the result.
//
// The engine is built for throughput on few cores, after what imgproxy
// does (see PERF.md): the source is decoded at the smallest size the
// operations allow (JPEG shrink-on-load by the largest of 2, 4 or 8 that
// still leaves at least the target size, WebP and SVG scaled while
// decoding; for resize and crop pipelines a JPEG is decoded in one pass
// from its file in 256 KB reads, or from memory, which keeps libjpeg-turbo
// on its fast Huffman path, see decodeJPEG), libvips runs one thread per
// operation with the engine running
// Options.Workers operations at once, the libvips operation cache is off
// and glibc is held to two malloc arenas so that the resident size stays
// flat. Operations that must read the image out of order (rotations,
// vertical flips, smart crops, two-pass operations) copy the decoded image
// to memory first, after it has been shrunk.
//
// Every transform runs in a goroutine holding one worker slot. When its
// time is up Do returns ErrTimeout at once and asks libvips to stop: the
// running computation is killed at its next progress tick, so the slot
// comes back shortly after and the number of running transforms never
// exceeds Workers. Each transform's cost is estimated before it takes a
// slot (planCost); expensive ones may not take the CheapWorkers slots, so
// cheap ones never wait behind them, and at most ExpensiveWorkers of them
// (one per core less the cheap slot) run at once, which bounds the memory
// they hold.
package imaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/satchel-project/satchel/imaging/haar"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxPixels       = 100_000_000
	DefaultMaxFrames       = 100
	DefaultMaxOutputPixels = 25_000_000
	DefaultMaxOutputSide   = 5000
	DefaultCheapCost       = 4_000_000
	DefaultQueueSize       = 64
	DefaultTimeout         = 30 * time.Second
)

// maxSourceBytes bounds how much of a source without a local file is read
// into memory.
const maxSourceBytes = 512 << 20

// Options bound the engine. Zero fields take the defaults above.
type Options struct {
	// MaxPixels is the largest source, in pixels (width × height of one
	// frame, and of all frames together for animations), the engine will
	// decode. Larger sources fail with ErrTooLarge before any decoding.
	MaxPixels int64
	// MaxFrames is the most frames an animated source may have.
	MaxFrames int
	// MaxOutputPixels is the largest result, in pixels, operations may
	// produce (upscales, crops with fill, ...).
	MaxOutputPixels int64
	// MaxOutputSide is the longest side, in pixels, an operation may make
	// an image grow to; sides the image already had are kept. Beyond it the
	// operation fails with an *OpError.
	MaxOutputSide int
	// Workers is how many transforms run at once: one per core by default
	// (runtime.NumCPU()). Transforms are CPU-bound: with two per core cold
	// resizes ran at the same rate (one per core already keeps every core
	// busy) with a fifth longer p99, as running transforms share the cores
	// instead of finishing in turn. More workers than cores only let cheap
	// transforms in: expensive ones stay at ExpensiveWorkers.
	Workers int
	// CheapWorkers is how many of the Workers only take cheap transforms
	// (estimated cost at most CheapCost), so that those never wait behind
	// expensive ones: 1 by default when Workers is 2 or more, negative for
	// none. At least one worker always takes expensive transforms.
	CheapWorkers int
	// ExpensiveWorkers is how many expensive transforms run at once, at
	// most Workers-CheapWorkers: by default one per core less CheapWorkers,
	// at least one. Expensive transforms hold the most memory (up to
	// MaxPixels decoded) and keep a core busy on their own, so more of them
	// than cores would only multiply the memory held.
	ExpensiveWorkers int
	// CheapCost is the estimated cost, in pixels processed, up to which a
	// transform is cheap (see estimate).
	CheapCost int64
	// QueueSize is how many transforms may wait for a worker; beyond it
	// Do fails with ErrBusy. Negative means none may wait.
	QueueSize int
	// Timeout bounds one transform, waiting for a worker included.
	Timeout time.Duration
	// Faces is the face detector (see package haar and LoadFaces). Without
	// one, detect_faces and blur_region/faces fail with an *OpError, and
	// crop/face and the smart_faces scale_crop types use libvips'
	// attention measure alone.
	Faces *haar.Cascade
}

// LoadFaces reads a face cascade (an OpenCV 4 Haar cascade XML file, such
// as DefaultFaceCascade) for Options.Faces.
func LoadFaces(path string) (*haar.Cascade, error) { return haar.Load(path) }

// DefaultFaceCascade is where Debian's opencv-data package puts OpenCV's
// frontal face cascade.
const DefaultFaceCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

// Errors of Do. Operation-specific failures are *OpError.
var (
	ErrBusy     = errors.New("imaging: too many transforms waiting")
	ErrTooLarge = errors.New("imaging: image too large")
	ErrNotImage = errors.New("imaging: not a supported image")
	ErrTimeout  = errors.New("imaging: transform timed out")
)

// OpError reports an operation that cannot be applied: unsupported,
// misplaced or with arguments that make no sense for this image.
type OpError struct {
	Op  string
	Msg string
}

func (e *OpError) Error() string { return e.Op + ": " + e.Msg }

func opErr(op cdnurl.Op, format string, args ...any) *OpError {
	return &OpError{Op: op.Name(), Msg: fmt.Sprintf(format, args...)}
}

// Source is the stored file to transform.
type Source interface {
	// Path is the local file holding the content, if there is one; the
	// engine then reads it directly.
	Path() (string, bool)
	// Open returns the content (used when Path has none).
	Open() (io.ReadCloser, error)
	// Size is the content length in bytes (0 or less when unknown).
	Size() int64
}

// Overlays resolves the UUID of an overlay operation to its source.
type Overlays func(uuid string) (Source, error)

// Result is an encoded image, or the JSON answer of the json and
// main_colors operations.
type Result struct {
	Body        []byte
	ContentType string
	Width       int
	Height      int
	// Format is "jpeg", "png", "webp", "avif", "gif" or "json".
	Format string
}

// Sized is implemented by sources that know their pixel size without
// decoding; the engine then estimates the cost of a transform better.
type Sized interface {
	Dimensions() (width, height int, ok bool)
}

// Engine transforms images. It is safe for concurrent use.
type Engine struct {
	o Options
	// slots holds a token per running transform; heavy one per running or
	// slot-waiting expensive transform, so that CheapWorkers slots stay
	// free for cheap ones.
	slots   chan struct{}
	heavy   chan struct{}
	waiting atomic.Int64
	running sync.WaitGroup
}

// New starts libvips and returns an engine bound by o.
func New(o Options) (*Engine, error) {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = DefaultMaxFrames
	}
	if o.MaxOutputPixels <= 0 {
		o.MaxOutputPixels = DefaultMaxOutputPixels
	}
	if o.MaxOutputSide <= 0 {
		o.MaxOutputSide = DefaultMaxOutputSide
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	switch {
	case o.CheapWorkers == 0:
		o.CheapWorkers = 1
	case o.CheapWorkers < 0:
		o.CheapWorkers = 0
	}
	o.CheapWorkers = min(o.CheapWorkers, o.Workers-1)
	if o.ExpensiveWorkers <= 0 {
		o.ExpensiveWorkers = max(1, runtime.NumCPU()-o.CheapWorkers)
	}
	o.ExpensiveWorkers = min(o.ExpensiveWorkers, o.Workers-o.CheapWorkers)
	if o.CheapCost <= 0 {
		o.CheapCost = DefaultCheapCost
	}
	switch {
	case o.QueueSize == 0:
		o.QueueSize = DefaultQueueSize
	case o.QueueSize < 0:
		o.QueueSize = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if err := startVips(); err != nil {
		return nil, err
	}
	return &Engine{o: o, slots: make(chan struct{}, o.Workers), heavy: make(chan struct{}, o.ExpensiveWorkers)}, nil
}

// acquire takes a worker slot, waiting in the queue if there is room. An
// expensive transform first takes one of the ExpensiveWorkers places
// expensive ones may hold.
func (e *Engine) acquire(ctx context.Context, expensive bool) error {
	if !expensive {
		select {
		case e.slots <- struct{}{}:
			return nil
		default:
		}
	} else {
		select {
		case e.heavy <- struct{}{}:
			select {
			case e.slots <- struct{}{}:
				return nil
			default:
				<-e.heavy
			}
		default:
		}
	}
	if e.waiting.Add(1) > int64(e.o.QueueSize) {
		e.waiting.Add(-1)
		return ErrBusy
	}
	defer e.waiting.Add(-1)
	if expensive {
		select {
		case e.heavy <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case e.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		if expensive {
			<-e.heavy
		}
		return ctx.Err()
	}
}

func (e *Engine) release(expensive bool) {
	<-e.slots
	if expensive {
		<-e.heavy
	}
}

// Faces reports whether the engine has a face detector.
func (e *Engine) Faces() bool { return e.o.Faces != nil }

// Wait blocks until every transform started so far, including those whose
// Do already returned ErrTimeout, has finished.
func (e *Engine) Wait() { e.running.Wait() }

type outcome struct {
	res *Result
	err error
}

// Do applies ops to the image in src and encodes it. uuid names the file
// in JSON answers, accept is the request's Accept header (for format/auto)
// and overlays resolves overlay operations (nil: overlays of other files
// fail).
func (e *Engine) Do(ctx context.Context, uuid string, src Source, ops []cdnurl.Op, accept string, overlays Overlays) (*Result, error) {
	if err := validate(ops, e.o.Faces != nil); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	expensive := e.estimate(src, ops) > e.o.CheapCost
	if err := e.acquire(tctx, expensive); err != nil {
		return nil, e.ctxErr(ctx, err)
	}
	t := newTask(e, uuid, src, ops, accept, overlays)
	stop, release := t.stopper()
	defer release()
	done := make(chan outcome, 1)
	e.running.Add(1)
	go func() {
		defer e.running.Done()
		defer e.release(expensive)
		defer t.close()
		res, err := t.run()
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err == errKilled {
			return nil, e.ctxErr(ctx, context.DeadlineExceeded)
		}
		return o.res, o.err
	case <-tctx.Done():
		stop()
		return nil, e.ctxErr(ctx, tctx.Err())
	}
}

// ctxErr turns the end of the transform's context into the caller's own
// context error, or ErrTimeout when the engine's timeout ended it.
func (e *Engine) ctxErr(parent context.Context, err error) error {
	if err != context.Canceled && err != context.DeadlineExceeded {
		return err
	}
	if perr := parent.Err(); perr != nil {
		return perr
	}
	return ErrTimeout
}

// RunExpensive runs fn, work done outside libvips (an ffmpeg process), as
// an expensive transform: it takes one of the ExpensiveWorkers places,
// waiting in the queue (ErrBusy when it is full), and the ctx fn gets ends
// after the engine's Timeout, waiting included; fn must stop then, and
// RunExpensive returns ErrTimeout. began is when fn started (zero when it
// did not).
func (e *Engine) RunExpensive(ctx context.Context, fn func(ctx context.Context) error) (began time.Time, err error) {
	tctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	if err := e.acquire(tctx, true); err != nil {
		return time.Time{}, e.ctxErr(ctx, err)
	}
	defer e.release(true)
	e.running.Add(1)
	defer e.running.Done()
	began = time.Now()
	if err := fn(tctx); err != nil {
		if tctx.Err() != nil {
			return began, e.ctxErr(ctx, tctx.Err())
		}
		return began, err
	}
	return began, nil
}
