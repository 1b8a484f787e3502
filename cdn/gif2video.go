package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/convert"
	"github.com/satchel-project/satchel/ucare/cdnurl"
	"github.com/satchel-project/satchel/variantcache"
)

// Gif2Video limit defaults.
const (
	// DefaultGif2VideoMaxSize is the largest GIF gif2video converts.
	DefaultGif2VideoMaxSize = 64 << 20
	// DefaultGif2VideoMaxFrames is the most frames of a GIF gif2video
	// converts.
	DefaultGif2VideoMaxFrames = 2000
	// DefaultGif2VideoMaxPixels bounds width × height × frames of a GIF
	// gif2video converts: 5 to 10 s of one core for either codec (about
	// 35 Mpx/s measured on a loaded 2-core machine).
	DefaultGif2VideoMaxPixels = 300_000_000
)

// Gif2Video converts animated GIFs to videos for /<uuid>/gif2video/ with
// ffmpeg. Conversions run as expensive transforms of the Handler's imaging
// engine (its workers, queue and time limit) and are kept as variants.
type Gif2Video struct {
	// Video runs ffprobe and ffmpeg.
	Video *convert.Video
	// TempDir holds the copies of GIFs the blob store keeps no local file
	// of, and the videos being made (default: os.TempDir()).
	TempDir string
	// MaxSize is the largest GIF converted, in bytes (0:
	// DefaultGif2VideoMaxSize).
	MaxSize int64
	// Limits bound the frames and pixels of a GIF converted (zero fields:
	// DefaultGif2VideoMaxFrames and DefaultGif2VideoMaxPixels).
	Limits convert.GIFLimits
}

func (g *Gif2Video) maxSize() int64 {
	if g.MaxSize > 0 {
		return g.MaxSize
	}
	return DefaultGif2VideoMaxSize
}

func (g *Gif2Video) limits() convert.GIFLimits {
	l := g.Limits
	if l.MaxFrames <= 0 {
		l.MaxFrames = DefaultGif2VideoMaxFrames
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultGif2VideoMaxPixels
	}
	return l
}

// gif2videoParams are the output format and quality of ops (after the
// gif2video directive), with their defaults: mp4, normal.
func gif2videoParams(ops []cdnurl.Op) (format, quality string) {
	format, quality = "mp4", "normal"
	for _, op := range ops {
		switch o := op.(type) {
		case cdnurl.Format:
			format = o.Format
		case cdnurl.Quality:
			quality = o.Level
		}
	}
	return format, quality
}

// animatedGIF reports whether ingest found f to be a GIF of more than one
// frame: gif2video converts nothing else.
func animatedGIF(f *satchel.File) bool {
	ci := f.ContentInfo
	return f.IsImage && f.MimeType == "image/gif" && ci != nil && ci.Image != nil && ci.Image.Sequence
}

// serveGif2Video answers /<uuid>/gif2video/…: the file, an animated GIF,
// as an MP4 or WebM video, from the variant cache or converted once.
func (h *Handler) serveGif2Video(w http.ResponseWriter, r *http.Request, f *satchel.File, ops []cdnurl.Op, name string, inline int, hotKey string) {
	if h.Gif2Video == nil || h.Gif2Video.Video == nil || h.Engine == nil || h.Variants == nil {
		h.fail(w, http.StatusNotImplemented, "gif2video is not enabled on this server.")
		return
	}
	if !animatedGIF(f) {
		h.fail(w, http.StatusBadRequest, "gif2video is only available for animated GIF images.")
		return
	}
	if f.Size > h.Gif2Video.maxSize() {
		h.fail(w, http.StatusBadRequest, fmt.Sprintf("The GIF is larger than the gif2video limit of %d bytes.", h.Gif2Video.maxSize()))
		return
	}
	format, quality := gif2videoParams(ops)
	// Spellings of the same output (defaults written or not) share a variant.
	key := variantcache.Key(f.UUID, "gif2video/-/format/"+format+"/-/quality/"+quality+"/")
	e, err := h.cached(r.Context(), key, func(ctx context.Context) ([]byte, string, error) {
		return h.gif2video(ctx, f, format, quality)
	})
	if err != nil {
		h.imagingError(w, f, err)
		return
	}
	h.serveEntry(w, r, f, key, e, name, inline, hotKey, false)
}

// gif2video converts f on one of the engine's expensive places and
// returns the video's bytes and type.
func (h *Handler) gif2video(ctx context.Context, f *satchel.File, format, quality string) ([]byte, string, error) {
	g := h.Gif2Video
	var body []byte
	var ctype string
	start := time.Now()
	began, err := h.Engine.RunExpensive(ctx, func(ctx context.Context) error {
		dir, err := os.MkdirTemp(g.TempDir, "gif2video-")
		if err != nil {
			return fmt.Errorf("cdn: gif2video: %w", err)
		}
		defer os.RemoveAll(dir)
		src, err := h.localCopy(ctx, f, dir, g.maxSize())
		if err != nil {
			return err
		}
		v, err := g.Video.FromGIF(ctx, src, dir, format, quality, g.limits())
		if err != nil {
			return err
		}
		if body, err = os.ReadFile(v.Path); err != nil {
			return fmt.Errorf("cdn: gif2video: %w", err)
		}
		ctype = v.MIME
		return nil
	})
	wait, run := time.Since(start), time.Duration(-1)
	if !began.IsZero() {
		wait, run = began.Sub(start), time.Since(began)
	}
	h.Metrics.ImageOperation(imageOutcome(err), wait, run)
	return body, ctype, err
}

// localCopy returns a local file holding f's bytes: the blob store's own
// when it keeps one, else a copy in dir of at most max bytes.
func (h *Handler) localCopy(ctx context.Context, f *satchel.File, dir string, max int64) (string, error) {
	if p, ok := h.Bucket.LocalPath(f.BlobKey); ok {
		return p, nil
	}
	blob, err := h.Bucket.Open(ctx, f.BlobKey)
	if err != nil {
		return "", fmt.Errorf("cdn: gif2video source: %w", err)
	}
	defer blob.Close()
	p := filepath.Join(dir, "in.gif")
	out, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("cdn: gif2video source: %w", err)
	}
	n, err := io.Copy(out, io.LimitReader(blob, max+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("cdn: gif2video source: %w", err)
	}
	if n > max {
		return "", &convert.Error{Msg: fmt.Sprintf("The GIF is larger than the gif2video limit of %d bytes.", max)}
	}
	return p, nil
}

// convertError maps the errors of a gif2video conversion to an answer;
// false leaves err to imagingError.
func (h *Handler) convertError(w http.ResponseWriter, err error) bool {
	var ce *convert.Error
	switch {
	case errors.As(err, &ce):
		h.fail(w, http.StatusBadRequest, "gif2video: "+ce.Msg)
	case errors.Is(err, convert.ErrUnavailable):
		h.Log.Error("cdn gif2video", "err", err)
		h.fail(w, http.StatusNotImplemented, "gif2video is not enabled on this server.")
	default:
		return false
	}
	return true
}
