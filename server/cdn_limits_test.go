package server_test

import (
	"strings"
	"testing"
)

// TestCDNImageLimits checks the CDN's answers at the output limits and at
// the image's edges: a clear 400 for growing beyond the limit, a clamped
// image for crops at or past the edges, never a 500.
func TestCDNImageLimits(t *testing.T) {
	s := startServer(t, nil)
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "tiny.png", pngBytes(t, 64, 48)}})
	if code != 200 {
		t.Fatal(body)
	}
	id := strings.Split(body, `"`)[3]
	for _, ops := range []string{"resize/8000x/", "resize/8000x/-/blur/4000/", "scale_crop/6000x6000/", "stretch/fill/-/resize/x9000/"} {
		resp, b := get(t, s.URL+"/"+id+"/-/"+ops, nil)
		if resp.StatusCode != 400 || !strings.Contains(string(b), "5000 px per side") ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q, want 400 naming the limit", ops, resp.StatusCode, b)
		}
	}
	for _, c := range []struct {
		ops  string
		w, h int
	}{
		{"crop/10x10/1000,1000/", 10, 10},
		{"crop/10x10/-50,-50/", 10, 10},
		{"crop/50px50p/100p,100p/", 32, 24},
		{"crop/100x100/bottom/", 100, 100},
		{"crop/1:1/1000,0/", 48, 48},
		{"blur/4000/", 64, 48},
		{"sharp/20/", 64, 48},
	} {
		resp, b := get(t, s.URL+"/"+id+"/-/"+c.ops, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", c.ops, resp.StatusCode, b)
			continue
		}
		if w, h, _ := imageSize(t, b); w != c.w || h != c.h {
			t.Errorf("%s: %dx%d, want %dx%d", c.ops, w, h, c.w, c.h)
		}
	}
}
