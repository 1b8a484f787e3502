// Package inspect learns about a file at ingest time, given the MIME type
// sniffed from its first bytes (package internal/sniff): image properties
// from the header libvips reads (never decoding pixels), and container and
// stream properties of audio and video from ffprobe. What it learns is a
// satchel.ContentInfo in the shape of the Uploadcare API. The server hands
// an Inspector to package app, which itself builds without cgo.
//
// The package uses libvips through package internal/vips (cgo); it needs
// libvips 8.14 or later at build and run time. ffprobe is optional.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/sniff"
)

// DefaultTimeout bounds the inspection of one file when Options.Timeout is
// zero.
const DefaultTimeout = 30 * time.Second

// waitDelay is how long ffprobe's output pipe may stay open once the
// process has been killed.
const waitDelay = 2 * time.Second

// Options bound inspection.
type Options struct {
	// FFprobe is the path of ffprobe; "" looks it up in PATH. When it cannot
	// be found, audio and video files are described by their MIME type only.
	FFprobe string
	// Timeout bounds the inspection of one file (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxPixels is the largest image, in pixels, the service is willing to
	// decode. Inspect never decodes pixels, so images above it are still
	// described from their header; the limit is for the stages that do
	// decode, see Oversized.
	MaxPixels int64
}

// Inspector describes files. It is safe for concurrent use.
type Inspector struct {
	ffprobe   string
	timeout   time.Duration
	maxPixels int64
}

// New returns an Inspector bound by o. It looks ffprobe up now; libvips is
// started on the first image.
func New(o Options) *Inspector {
	i := &Inspector{timeout: o.Timeout, maxPixels: o.MaxPixels}
	if i.timeout <= 0 {
		i.timeout = DefaultTimeout
	}
	name := o.FFprobe
	if name == "" {
		name = "ffprobe"
	}
	if p, err := exec.LookPath(name); err == nil {
		i.ffprobe = p
	}
	return i
}

// Oversized reports whether img has more pixels than Options.MaxPixels
// allows (never when MaxPixels is zero or less).
func (i *Inspector) Oversized(img *satchel.ImageInfo) bool {
	if img == nil || i.maxPixels <= 0 {
		return false
	}
	return int64(img.Width)*int64(img.Height) > i.maxPixels
}

// mimeInfo splits a normalized MIME type.
func mimeInfo(m string) satchel.MimeInfo {
	typ, sub, _ := strings.Cut(m, "/")
	return satchel.MimeInfo{Mime: m, Type: typ, Subtype: sub}
}

// Inspect describes the file at path, a complete local file whose sniffed
// MIME type is mime. The result always carries the MIME type. Images whose
// header libvips can read get Image (and isImage true); audio and video get
// Video from ffprobe when it is available, audio with an empty video
// stream list. Content that cannot be parsed is not an error: it is
// described by its MIME type alone. Errors are the context ending or the
// per-file timeout expiring, and libvips failing to start.
func (i *Inspector) Inspect(ctx context.Context, path, mime string) (info *satchel.ContentInfo, isImage bool, err error) {
	mime = sniff.Normalize(mime)
	ctx, cancel := context.WithTimeout(ctx, i.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("inspect: %s: %w", path, err)
	}
	info = &satchel.ContentInfo{Mime: mimeInfo(mime)}
	typ, _, _ := strings.Cut(mime, "/")
	switch typ {
	case "image":
		img, err := i.image(ctx, path, mime)
		if err != nil {
			return nil, false, err
		}
		if img != nil {
			info.Image = img
			isImage = true
		}
	case "video", "audio":
		if i.ffprobe == "" || isPlaylist(mime) {
			break
		}
		v, err := i.probe(ctx, path, mime)
		if err != nil {
			return nil, false, err
		}
		info.Video = v
	}
	return info, isImage, nil
}

// isPlaylist reports whether mime is a playlist, which ffprobe would follow
// to other files.
func isPlaylist(mime string) bool {
	return strings.Contains(mime, "mpegurl") || strings.Contains(mime, "scpls")
}

// image reads the image header in the background so that a stuck decoder
// cannot hold the caller past its deadline; the read itself cannot be
// interrupted and finishes on its own.
func (i *Inspector) image(ctx context.Context, path, mime string) (*satchel.ImageInfo, error) {
	type result struct {
		img *satchel.ImageInfo
		err error
	}
	ch := make(chan result, 1)
	go func() {
		img, err := describeImage(path, mime)
		ch <- result{img, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if errors.Is(r.err, errNotImage) {
				return nil, nil
			}
			return nil, r.err
		}
		return r.img, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("inspect: reading image header of %s: %w", path, ctx.Err())
	}
}
