package inspect

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ffmpegMake runs ffmpeg to produce name in a temporary directory, skipping
// the test when ffmpeg or ffprobe is missing or the encoders are unavailable.
func ffmpegMake(t *testing.T, name string, args ...string) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	out := filepath.Join(t.TempDir(), name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, out)
	if b, err := exec.Command(ffmpeg, full...).CombinedOutput(); err != nil {
		t.Skipf("ffmpeg %v: %v: %s", full, err, b)
	}
	return out
}

// h264OrMPEG4 picks the video encoder the local ffmpeg has.
func h264OrMPEG4(t *testing.T) (encoder, codec string) {
	b, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if err == nil && strings.Contains(string(b), "libx264") {
		return "libx264", "h264"
	}
	return "mpeg4", "mpeg4"
}

func TestVideoMP4(t *testing.T) {
	enc, codec := h264OrMPEG4(t)
	path := ffmpegMake(t, "out.mp4",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine",
		"-t", "1", "-c:v", enc, "-pix_fmt", "yuv420p", "-c:a", "aac")
	info, isImage, err := New(Options{}).Inspect(context.Background(), path, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if isImage || info.Image != nil {
		t.Error("a video is not an image")
	}
	v := info.Video
	if v == nil {
		t.Fatal("no video info")
	}
	if v.Format != "mp4" {
		t.Errorf("format = %q", v.Format)
	}
	if v.Duration == nil || math.Abs(float64(*v.Duration-1000)) > 50 {
		t.Errorf("duration = %v", v.Duration)
	}
	if v.Bitrate == nil || *v.Bitrate <= 0 {
		t.Errorf("bitrate = %v", v.Bitrate)
	}
	if len(v.Video) != 1 {
		t.Fatalf("video streams = %+v", v.Video)
	}
	vs := v.Video[0]
	if vs.Width != 320 || vs.Height != 240 || vs.Codec != codec || vs.FrameRate != 25 {
		t.Errorf("video stream = %+v", vs)
	}
	if vs.Bitrate == nil || *vs.Bitrate <= 0 {
		t.Errorf("video bitrate = %v", vs.Bitrate)
	}
	if len(v.Audio) != 1 {
		t.Fatalf("audio streams = %+v", v.Audio)
	}
	as := v.Audio[0]
	if as.Codec != "aac" || as.SampleRate == nil || *as.SampleRate != 44100 || as.Channels == nil || *as.Channels != 1 {
		t.Errorf("audio stream = %+v", as)
	}
}

func TestVideoWebM(t *testing.T) {
	path := ffmpegMake(t, "out.webm",
		"-f", "lavfi", "-i", "testsrc=size=160x120:rate=30000/1001",
		"-t", "1", "-c:v", "libvpx", "-an")
	info, _, err := New(Options{}).Inspect(context.Background(), path, "video/webm")
	if err != nil {
		t.Fatal(err)
	}
	v := info.Video
	if v == nil || v.Format != "webm" || len(v.Video) != 1 || len(v.Audio) != 0 || v.Audio == nil {
		t.Fatalf("video = %+v", v)
	}
	if vs := v.Video[0]; vs.Codec != "vp8" || vs.FrameRate != 29.97 || vs.Width != 160 {
		t.Errorf("stream = %+v", vs)
	}
}

func TestAudioOnly(t *testing.T) {
	path := ffmpegMake(t, "out.wav", "-f", "lavfi", "-i", "sine=sample_rate=8000", "-t", "2", "-c:a", "pcm_s16le")
	info, isImage, err := New(Options{}).Inspect(context.Background(), path, "audio/wav")
	if err != nil || isImage {
		t.Fatal(err, isImage)
	}
	v := info.Video
	if v == nil {
		t.Fatal("no video info for audio")
	}
	if v.Video == nil || len(v.Video) != 0 || len(v.Audio) != 1 {
		t.Errorf("streams = %+v / %+v", v.Video, v.Audio)
	}
	if v.Format != "wav" || v.Duration == nil || *v.Duration != 2000 {
		t.Errorf("video info = %+v", v)
	}
	if a := v.Audio[0]; a.Codec != "pcm_s16le" || *a.SampleRate != 8000 || *a.Bitrate != 128 {
		t.Errorf("audio = %+v", a)
	}
}

func TestVideoCorrupt(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	path := writeTemp(t, "bad.mp4", []byte("\x00\x00\x00\x18ftypisom this is not a movie"))
	info, isImage, err := New(Options{}).Inspect(context.Background(), path, "video/mp4")
	if err != nil || isImage || info.Video != nil || info.Mime.Mime != "video/mp4" {
		t.Errorf("got %+v %v %v", info, isImage, err)
	}
}

func TestNoFFprobe(t *testing.T) {
	path := writeTemp(t, "x.mp4", []byte("whatever"))
	in := New(Options{FFprobe: filepath.Join(t.TempDir(), "no-such-ffprobe")})
	info, _, err := in.Inspect(context.Background(), path, "video/mp4")
	if err != nil || info.Video != nil || info.Mime.Subtype != "mp4" {
		t.Errorf("got %+v %v", info, err)
	}
}

func TestProbeTimeout(t *testing.T) {
	// A fake ffprobe that hangs shows the deadline is enforced.
	dir := t.TempDir()
	fake := filepath.Join(dir, "ffprobe")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 30\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	in := New(Options{FFprobe: fake, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, _, err := in.Inspect(context.Background(), writeTemp(t, "x.mp4", []byte("x")), "video/mp4")
	if err == nil {
		t.Fatal("no error after the timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
