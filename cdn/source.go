package cdn

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/convert"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/metrics"
	"github.com/satchel-project/satchel/ucare/cdnurl"
	"github.com/satchel-project/satchel/variantcache"
)

// blobSource hands a file's bytes to the imaging engine: a local path when
// the blob store keeps one, a reader otherwise.
type blobSource struct {
	h *Handler
	f *satchel.File
	// began is when the engine first asked for the bytes (Unix ns, 0: not yet).
	began atomic.Int64
}

func (s *blobSource) start() { s.began.CompareAndSwap(0, time.Now().UnixNano()) }

func (s *blobSource) Path() (string, bool) {
	s.start()
	return s.h.Bucket.LocalPath(s.f.BlobKey)
}

func (s *blobSource) Open() (io.ReadCloser, error) {
	s.start()
	return s.h.Bucket.Open(context.Background(), s.f.BlobKey)
}

func (s *blobSource) Size() int64 { return s.f.Size }

// variant returns the variant key of f through the variant cache, computing
// it with the imaging engine on a miss, and records the lookup and the
// transform in the metrics.
func (h *Handler) variant(ctx context.Context, key string, f *satchel.File, ops []cdnurl.Op, accept string) (*variantcache.Entry, error) {
	return h.cached(ctx, key, func(ctx context.Context) ([]byte, string, error) {
		src := &blobSource{h: h, f: f}
		start := time.Now()
		res, err := h.Engine.Do(ctx, f.UUID, src, ops, accept, h.overlays(f.ProjectID))
		// The engine reads the source first thing on a worker: until then
		// the transform waited in the queue.
		wait, run := time.Since(start), time.Duration(-1)
		if began := src.began.Load(); began != 0 {
			wait = time.Duration(began - start.UnixNano())
			run = time.Since(time.Unix(0, began))
		}
		h.Metrics.ImageOperation(imageOutcome(err), wait, run)
		if err != nil {
			return nil, "", err
		}
		return res.Body, res.ContentType, nil
	})
}

// cached returns the variant key through the variant cache, computing it
// with compute on a miss, and records the lookup in the metrics.
func (h *Handler) cached(ctx context.Context, key string, compute func(context.Context) ([]byte, string, error)) (*variantcache.Entry, error) {
	hit := true
	e, err := h.Variants.Get(ctx, key, func(ctx context.Context) ([]byte, string, error) {
		hit = false
		return compute(ctx)
	})
	if err == nil {
		h.Metrics.VariantLookup(hit)
	}
	return e, err
}

// imageOutcome names a transform's result for the metrics.
func imageOutcome(err error) string {
	var opErr *imaging.OpError
	switch {
	case err == nil:
		return metrics.ImageOK
	case errors.As(err, &opErr), errors.Is(err, imaging.ErrTooLarge), errors.Is(err, imaging.ErrNotImage), errors.As(err, new(*convert.Error)):
		return metrics.ImageBadRequest
	case errors.Is(err, imaging.ErrBusy):
		return metrics.ImageBusy
	case errors.Is(err, imaging.ErrTimeout):
		return metrics.ImageTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return metrics.ImageCanceled
	}
	return metrics.ImageError
}

// Dimensions implements imaging.Sized from what ingest recorded.
func (s *blobSource) Dimensions() (int, int, bool) {
	if ci := s.f.ContentInfo; ci != nil && ci.Image != nil {
		return ci.Image.Width, ci.Image.Height, true
	}
	return 0, 0, false
}
