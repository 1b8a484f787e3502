package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare/akamai"
)

// countingFFmpeg puts an ffmpeg first in PATH that counts its runs in a
// file and then runs the real one; it returns a reader of the count. The
// test is skipped when ffmpeg or ffprobe is missing.
func countingFFmpeg(t *testing.T) func() int {
	t.Helper()
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := "#!/bin/sh\necho run >> " + count + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "ffmpeg"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
}

// makeGIF makes a GIF of frames frames of w×h pixels with ffmpeg.
func makeGIF(t *testing.T, w, h, frames int) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.gif")
	size := strconv.Itoa(w) + "x" + strconv.Itoa(h)
	out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc=size="+size+":rate=10",
		"-frames:v", strconv.Itoa(frames), "-f", "gif", p).CombinedOutput()
	if err != nil {
		t.Fatalf("make GIF: %v: %s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// videoProbe is what ffprobe says of a video's first stream.
type videoProbe struct {
	Codec, PixFmt string
	Width, Height int
	Frames        int
	Audio         bool
	Format        string
}

func probeVideo(t *testing.T, body []byte) videoProbe {
	t.Helper()
	p := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,pix_fmt,width,height,nb_read_frames:format=format_name", "-of", "json", p).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var r struct {
		Streams []struct {
			Type   string `json:"codec_type"`
			Codec  string `json:"codec_name"`
			PixFmt string `json:"pix_fmt"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Name string `json:"format_name"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) == 0 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	var v videoProbe
	v.Format = r.Format.Name
	for _, s := range r.Streams {
		if s.Type == "audio" {
			v.Audio = true
		}
		if s.Type == "video" && v.Codec == "" {
			v.Codec, v.PixFmt, v.Width, v.Height = s.Codec, s.PixFmt, s.Width, s.Height
			json.Unmarshal([]byte(s.Frames), &v.Frames)
		}
	}
	return v
}

// TestGif2Video converts an uploaded animated GIF through the URL forms
// the official clients build: MP4 (H.264) by default and WebM (VP9), with
// even sides, every frame, no audio; qualities differ in size; a second
// request and concurrent identical ones run ffmpeg once; other files are
// refused; a delete removes the videos.
func TestGif2Video(t *testing.T) {
	runs := countingFFmpeg(t)
	s := startServer(t, nil)
	gif := makeGIF(t, 65, 37, 12) // odd sides: padded to even ones
	id := uploadFile(t, s, "road.gif", gif)
	base := runs() // makeGIF ran it

	resp, mp4 := get(t, s.URL+"/"+id+"/gif2video/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("gif2video: %d %s", resp.StatusCode, mp4)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control %q", cc)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `inline; filename="road.mp4"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	v := probeVideo(t, mp4)
	if v.Codec != "h264" || v.PixFmt != "yuv420p" || v.Width != 66 || v.Height != 38 || v.Frames != 12 || v.Audio || !strings.Contains(v.Format, "mp4") {
		t.Errorf("mp4: %+v", v)
	}
	if resp, b := get(t, s.URL+"/"+id+"/gif2video/", map[string]string{"Range": "bytes=0-9"}); resp.StatusCode != 206 || len(b) != 10 {
		t.Errorf("range: %d, %d bytes", resp.StatusCode, len(b))
	}
	if i := strings.Index(string(mp4), "moov"); i < 0 || i > strings.Index(string(mp4), "mdat") {
		t.Errorf("mp4 index not at the start (faststart)")
	}
	if n := runs() - base; n != 1 {
		t.Fatalf("ffmpeg runs after the first request: %d", n)
	}

	// The same output however it is spelled, and concurrent requests:
	// answered from the variant, no new run.
	var wg sync.WaitGroup
	for _, u := range []string{"/gif2video/-/format/mp4/", "/-/gif2video/", "/gif2video/-/quality/normal/road.gif", "/gif2video/", "/gif2video/"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := get(t, s.URL+"/"+id+u, nil)
			if resp.StatusCode != 200 || string(b) != string(mp4) {
				t.Errorf("%s: %d, same body %v", u, resp.StatusCode, string(b) == string(mp4))
			}
		}()
	}
	wg.Wait()
	if n := runs() - base; n != 1 {
		t.Fatalf("ffmpeg runs after repeated requests: %d, want 1", n)
	}

	// WebM, in pyuploadcare's form; concurrent identical requests run once.
	webmURL := s.URL + "/" + id + "/gif2video/-/format/webm/-/quality/lighter/"
	bodies := make([][]byte, 4)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := get(t, webmURL, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/webm" {
				t.Errorf("webm: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b[:min(len(b), 100)])
			}
			bodies[i] = b
		}()
	}
	wg.Wait()
	if n := runs() - base; n != 2 {
		t.Fatalf("ffmpeg runs after concurrent webm requests: %d, want 2", n)
	}
	if v := probeVideo(t, bodies[0]); v.Codec != "vp9" || v.Width != 66 || v.Height != 38 || v.Frames != 12 || v.Audio || !strings.Contains(v.Format, "webm") {
		t.Errorf("webm: %+v", v)
	}

	// Quality sets the compression.
	_, best := get(t, s.URL+"/"+id+"/gif2video/-/quality/best/", nil)
	_, lightest := get(t, s.URL+"/"+id+"/gif2video/-/quality/lightest/", nil)
	if len(best) <= len(mp4) || len(mp4) <= len(lightest) {
		t.Errorf("sizes best %d, normal %d, lightest %d: want decreasing", len(best), len(mp4), len(lightest))
	}

	// Not an animated GIF: 400 in the CDN's error format, nothing run.
	png := uploadFile(t, s, "a.png", pngBytes(t, 20, 20))
	static := uploadFile(t, s, "still.gif", makeGIF(t, 20, 20, 1))
	before := runs()
	for _, other := range []string{png, static} {
		resp, b := get(t, s.URL+"/"+other+"/gif2video/", nil)
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(string(b), "animated GIF") {
			t.Errorf("gif2video of a non-animated file: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	if n := runs(); n != before {
		t.Errorf("refused files ran ffmpeg: %d runs", n-before)
	}

	// A delete removes the videos: the URL answers 404, and the variant
	// directory of the file is gone.
	if code, _, _ := rawREST(t, "DELETE", s.URL+"/files/"+id+"/storage/", v7, "", ""); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if resp, _ := get(t, s.URL+"/"+id+"/gif2video/", nil); resp.StatusCode != 404 {
		t.Errorf("gif2video of a deleted file: %d", resp.StatusCode)
	}
}

// TestGif2VideoLimits: a GIF beyond the frame, pixel or video resolution
// limits is refused
// with 400 before it is encoded, and a secure-delivery project needs a
// token for gif2video as for every CDN path.
func TestGif2VideoLimits(t *testing.T) {
	runs := countingFFmpeg(t)
	s := startServer(t, func(c *server.Config) {
		c.Gif2VideoMaxFrames, c.Gif2VideoMaxPixels = 5, 20_000
		c.VideoMaxWidth, c.VideoMaxHeight = 160, 120
	})
	many := uploadFile(t, s, "many.gif", makeGIF(t, 16, 16, 6))
	big := uploadFile(t, s, "big.gif", makeGIF(t, 100, 100, 3))
	wide := uploadFile(t, s, "wide.gif", makeGIF(t, 200, 50, 2))
	ok := uploadFile(t, s, "ok.gif", makeGIF(t, 16, 16, 3))
	before := runs()
	for id, want := range map[string]string{many: "6 frames", big: "pixels", wide: "200x50, more than the limit of 160x120"} {
		resp, b := get(t, s.URL+"/"+id+"/gif2video/", nil)
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("over the limit: %d %s", resp.StatusCode, b)
		}
	}
	if n := runs(); n != before {
		t.Errorf("GIFs over the limits were encoded: %d runs", n-before)
	}

	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	p, _ := s.Store.ProjectByPublicKey(context.Background(), testPub)
	p.SecureDeliverySecret = secret
	if err := s.Store.UpdateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // CDN metadata cache
	path := "/" + ok + "/gif2video/-/format/webm/"
	if resp, _ := get(t, s.URL+path, nil); resp.StatusCode != 403 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	exp := time.Now().Add(5 * time.Minute).Unix()
	other, _ := akamai.URLToken(secret, "/"+ok+"/gif2video/", exp)
	if resp, _ := get(t, s.URL+path+"?token="+other, nil); resp.StatusCode != 403 {
		t.Errorf("token of another path: %d", resp.StatusCode)
	}
	tok, _ := akamai.URLToken(secret, path, exp)
	resp, b := get(t, s.URL+path+"?token="+tok, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/webm" || resp.Header.Get("Cache-Control") != "private, max-age=300" {
		t.Errorf("signed: %d %q %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), b[:min(len(b), 100)])
	}
}
