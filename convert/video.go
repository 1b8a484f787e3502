package convert

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// VideoOptions bound the video converter.
type VideoOptions struct {
	// FFmpeg and FFprobe are the programs (default: found in PATH).
	FFmpeg, FFprobe string
	// Timeout bounds one conversion (default 30 min).
	Timeout time.Duration
	// MaxDuration caps the input's duration (default 1 h).
	MaxDuration time.Duration
	// MaxWidth and MaxHeight cap the input's resolution (default 3840×2160,
	// either orientation).
	MaxWidth, MaxHeight int
	// Threads per ffmpeg process (0: ffmpeg's choice).
	Threads int
}

// Video converts videos with ffmpeg.
type Video struct{ o VideoOptions }

// NewVideo returns a video converter.
func NewVideo(o VideoOptions) *Video {
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.FFprobe == "" {
		o.FFprobe = "ffprobe"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = time.Hour
	}
	if o.MaxWidth <= 0 {
		o.MaxWidth = 3840
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 2160
	}
	return &Video{o: o}
}

// Available reports whether ffmpeg and ffprobe are installed.
func (v *Video) Available() error {
	for _, p := range []string{v.o.FFmpeg, v.o.FFprobe} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s", ErrUnavailable, p)
		}
	}
	return nil
}

// VideoResult is a converted video and its thumbnails (JPEG files).
type VideoResult struct {
	Path, MIME, Ext string
	Thumbs          []string
}

var qualities = map[string]int{"lightest": 0, "lighter": 1, "normal": 2, "better": 3, "best": 4}

type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
}

func (v *Video) probe(ctx context.Context, dir, path string) (dur float64, w, h int, audio bool, err error) {
	out, err := run(ctx, time.Minute, "Reading the video", dir, nil, v.o.FFprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path)
	if err != nil {
		return 0, 0, 0, false, err
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		return 0, 0, 0, false, failf("The file is not a video.")
	}
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			if w == 0 {
				w, h = s.Width, s.Height
			}
		case "audio":
			audio = true
		}
	}
	if w == 0 {
		return 0, 0, 0, false, failf("The file has no video stream.")
	}
	dur, _ = strconv.ParseFloat(p.Format.Duration, 64)
	return dur, w, h, audio, nil
}

// Convert converts src into dir as r asks, reporting progress (0–100).
func (v *Video) Convert(ctx context.Context, src, dir string, r *Request, progress func(int)) (*VideoResult, error) {
	dur, w, h, audio, err := v.probe(ctx, dir, src)
	if err != nil {
		return nil, err
	}
	if dur > v.o.MaxDuration.Seconds() {
		return nil, failf("The video lasts %.0f s, more than the limit of %.0f s.", dur, v.o.MaxDuration.Seconds())
	}
	if err := v.checkResolution("video", w, h); err != nil {
		return nil, err
	}
	outDur := dur
	args := []string{"-hide_banner", "-nostdin", "-y", "-v", "error", "-progress", "pipe:1"}
	if r.Cut {
		if r.CutStart >= dur && dur > 0 {
			return nil, failf("The cut starts at %.3f s, after the end of the video (%.3f s).", r.CutStart, dur)
		}
		args = append(args, "-ss", fmtSecs(r.CutStart))
		outDur = dur - r.CutStart
		if r.CutLength > 0 {
			args = append(args, "-t", fmtSecs(r.CutLength))
			outDur = min(outDur, r.CutLength)
		}
	}
	args = append(args, "-i", src, "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1")
	if vf := scaleFilter(r); vf != "" {
		args = append(args, "-vf", vf)
	}
	if v.o.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(v.o.Threads))
	}
	q := qualities[r.Quality]
	res := &VideoResult{Ext: r.Format}
	switch r.Format {
	case "webm":
		args = append(args, videoCodec("webm", q)...)
		args = append(args, "-c:a", "libopus", "-b:a", []string{"48k", "64k", "96k", "128k", "160k"}[q])
		res.MIME = "video/webm"
	case "ogg":
		args = append(args, "-c:v", "libtheora", "-q:v", []string{"3", "4", "6", "7", "9"}[q], "-pix_fmt", "yuv420p")
		args = append(args, "-c:a", "libvorbis", "-q:a", []string{"1", "2", "4", "5", "6"}[q], "-f", "ogg")
		res.MIME = "video/ogg"
	default:
		args = append(args, videoCodec("mp4", q)...)
		args = append(args, "-c:a", "aac", "-b:a", []string{"64k", "96k", "128k", "160k", "192k"}[q])
		res.MIME = "video/mp4"
	}
	_ = audio
	res.Path = filepath.Join(dir, "out."+r.Format)
	args = append(args, res.Path)
	if err := v.encode(ctx, dir, args, outDur, progress); err != nil {
		return nil, err
	}
	thumbs, err := v.thumbs(ctx, dir, res.Path, outDur, r.Thumbs)
	if err != nil {
		return nil, err
	}
	res.Thumbs = thumbs
	return res, nil
}

// videoCodec is the video encoder of format ("mp4": H.264 with the index
// at the start, "webm": VP9) at quality level q (an index of qualities).
func videoCodec(format string, q int) []string {
	if format == "webm" {
		return []string{"-c:v", "libvpx-vp9", "-crf", []string{"45", "40", "36", "32", "28"}[q], "-b:v", "0",
			"-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-pix_fmt", "yuv420p"}
	}
	return []string{"-c:v", "libx264", "-preset", "veryfast", "-crf", []string{"33", "29", "26", "23", "20"}[q],
		"-pix_fmt", "yuv420p", "-profile:v", "high", "-movflags", "+faststart"}
}

// checkResolution refuses inputs (a "video" or a "GIF") larger than
// MaxWidth×MaxHeight in either orientation.
func (v *Video) checkResolution(what string, w, h int) error {
	long, short := max(w, h), min(w, h)
	if long > max(v.o.MaxWidth, v.o.MaxHeight) || short > min(v.o.MaxWidth, v.o.MaxHeight) {
		return failf("The %s is %dx%d, more than the limit of %dx%d.", what, w, h, v.o.MaxWidth, v.o.MaxHeight)
	}
	return nil
}

func fmtSecs(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

// scaleFilter is the ffmpeg filter of r's size and resize mode; outputs
// have even dimensions (the codecs' 4:2:0 needs them).
func scaleFilter(r *Request) string {
	even := func(n int) int { return n &^ 1 }
	w, h := even(r.Width), even(r.Height)
	if w == 0 && h == 0 {
		return "scale=trunc(iw/2)*2:trunc(ih/2)*2"
	}
	if w == 0 || h == 0 {
		sw, sh := strconv.Itoa(w), strconv.Itoa(h)
		if w == 0 {
			sw = "-2"
		} else {
			sh = "-2"
		}
		return "scale=" + sw + ":" + sh
	}
	W, H := strconv.Itoa(w), strconv.Itoa(h)
	switch r.ResizeMode {
	case "change_ratio":
		return "scale=" + W + ":" + H + ",setsar=1"
	case "scale_crop":
		return "scale=" + W + ":" + H + ":force_original_aspect_ratio=increase,crop=" + W + ":" + H + ",setsar=1"
	case "add_padding":
		return "scale=" + W + ":" + H + ":force_original_aspect_ratio=decrease:force_divisible_by=2,pad=" + W + ":" + H + ":(ow-iw)/2:(oh-ih)/2,setsar=1"
	default:
		return "scale=" + W + ":" + H + ":force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1"
	}
}

// encode runs ffmpeg, reading its -progress output.
func (v *Video) encode(parent context.Context, dir string, args []string, dur float64, progress func(int)) error {
	ctx, cancel := context.WithTimeout(parent, v.o.Timeout)
	defer cancel()
	cmd := command(ctx, dir, nil, v.o.FFmpeg, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("convert: ffmpeg: %w", err)
	}
	var errb strings.Builder
	cmd.Stderr = &limitedWriter{w: &errb, n: 4096}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrUnavailable, v.o.FFmpeg)
		}
		return fmt.Errorf("convert: ffmpeg: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	last := -1
	for sc.Scan() {
		k, val, _ := strings.Cut(sc.Text(), "=")
		if k != "out_time_us" || dur <= 0 || progress == nil {
			continue
		}
		us, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			continue
		}
		pct := min(99, max(0, int(float64(us)/1e6/dur*100)))
		if pct != last {
			last = pct
			progress(pct)
		}
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if err == nil {
		return nil
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	if ctx.Err() != nil {
		return failf("Encoding took longer than %s.", v.o.Timeout)
	}
	return failf("Encoding failed: %s", lastLine(errb.String(), err))
}

// thumbs takes n evenly spaced frames of the converted video as JPEGs.
func (v *Video) thumbs(ctx context.Context, dir, video string, dur float64, n int) ([]string, error) {
	var out []string
	for i := 0; i < n; i++ {
		t := 0.0
		if dur > 0 {
			t = dur * float64(i) / float64(n)
		}
		p := filepath.Join(dir, fmt.Sprintf("thumb-%02d.jpg", i+1))
		if _, err := run(ctx, min(v.o.Timeout, 2*time.Minute), "Making a thumbnail", dir, nil, v.o.FFmpeg,
			"-hide_banner", "-nostdin", "-y", "-v", "error", "-ss", fmtSecs(t), "-i", video, "-frames:v", "1", "-q:v", "3", p); err != nil {
			return nil, err
		}
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			// Past the last frame: take the last one instead.
			if _, err := run(ctx, min(v.o.Timeout, 2*time.Minute), "Making a thumbnail", dir, nil, v.o.FFmpeg,
				"-hide_banner", "-nostdin", "-y", "-v", "error", "-sseof", "-0.5", "-i", video, "-frames:v", "1", "-q:v", "3", p); err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
