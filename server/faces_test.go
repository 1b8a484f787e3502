package server_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/server"
)

// astronautFace is where the face is in imaging/testdata/astronaut.jpg
// (512×512), measured by eye.
var astronautFace = [4]int{175, 65, 100, 100}

func overlaps(a, b [4]int) bool {
	x0, y0 := max(a[0], b[0]), max(a[1], b[1])
	x1, y1 := min(a[0]+a[2], b[0]+b[2]), min(a[1]+a[3], b[1]+b[3])
	if x1 <= x0 || y1 <= y0 {
		return false
	}
	in := float64((x1 - x0) * (y1 - y0))
	return in/(float64(a[2]*a[3]+b[2]*b[3])-in) >= 0.5
}

func uploadNamed(t *testing.T, s *testServer, name string, b []byte) string {
	t.Helper()
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", name, b}})
	if code != 200 {
		t.Fatal(body)
	}
	return strings.Split(body, `"`)[3]
}

func TestCDNFaces(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.FaceCascade = imaging.DefaultFaceCascade })
	jpg, err := os.ReadFile("../imaging/testdata/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	id := uploadNamed(t, s, "astronaut.jpg", jpg)

	// pyuploadcare's File.detect_faces() asks for detect_faces// and reads
	// format, width, height and faces.
	var etag string
	for _, p := range []string{"/detect_faces//", "/detect_faces/", "/-/detect_faces/"} {
		resp, b := get(t, s.URL+"/"+id+p, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, b)
		}
		var a struct {
			ID     string   `json:"id"`
			Format string   `json:"format"`
			Width  int      `json:"width"`
			Height int      `json:"height"`
			Faces  [][4]int `json:"faces"`
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("%s: %s", p, b)
		}
		if a.ID != id || a.Format != "JPEG" || a.Width != 512 || a.Height != 512 || len(a.Faces) != 1 || !overlaps(a.Faces[0], astronautFace) {
			t.Errorf("%s: %s", p, b)
		}
		// One variant, computed once and served from the cache.
		if etag == "" {
			etag = resp.Header.Get("ETag")
		} else if resp.Header.Get("ETag") != etag {
			t.Errorf("%s: ETag %q, want %q", p, resp.Header.Get("ETag"), etag)
		}
	}
	for _, c := range []struct {
		ops  string
		w, h int
	}{
		{"blur_region/faces/-/format/png/", 512, 512},
		{"blur_region/faces/30/", 512, 512},
		{"scale_crop/100x100/smart_faces/", 100, 100},
		{"scale_crop/100x50/smart_objects_faces_points/", 100, 50},
		{"crop/face/1:1/", 0, 0},
	} {
		resp, b := get(t, s.URL+"/"+id+"/-/"+c.ops, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", c.ops, resp.StatusCode, b)
			continue
		}
		w, h, _ := imageSize(t, b)
		if c.w == 0 {
			// Around the face: about its size, square.
			if w != h || w < 80 || w > 120 {
				t.Errorf("%s: %dx%d, want about the face's 100x100", c.ops, w, h)
			}
		} else if w != c.w || h != c.h {
			t.Errorf("%s: %dx%d, want %dx%d", c.ops, w, h, c.w, c.h)
		}
	}
	// Not an image.
	txt := uploadNamed(t, s, "a.txt", []byte("hello"))
	if resp, b := get(t, s.URL+"/"+txt+"/detect_faces/", nil); resp.StatusCode != 400 {
		t.Errorf("text file: %d %s", resp.StatusCode, b)
	}
}

func TestCDNFacesWithoutCascade(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.FaceCascade = t.TempDir() + "/missing.xml" })
	jpg, err := os.ReadFile("../imaging/testdata/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	id := uploadNamed(t, s, "astronaut.jpg", jpg)
	if resp, b := get(t, s.URL+"/"+id+"/detect_faces//", nil); resp.StatusCode != 501 || !strings.Contains(string(b), "face-cascade") {
		t.Errorf("detect_faces: %d %s", resp.StatusCode, b)
	}
	if resp, b := get(t, s.URL+"/"+id+"/-/blur_region/faces/", nil); resp.StatusCode != 400 || !strings.Contains(string(b), "face detection is not enabled") {
		t.Errorf("blur_region/faces: %d %s", resp.StatusCode, b)
	}
	// The face crops fall back to the attention crop.
	if resp, b := get(t, s.URL+"/"+id+"/-/scale_crop/100x50/smart_faces/", nil); resp.StatusCode != 200 {
		t.Errorf("smart_faces: %d %s", resp.StatusCode, b)
	}
}

func TestFaceCascadeBroken(t *testing.T) {
	p := t.TempDir() + "/broken.xml"
	if err := os.WriteFile(p, []byte("<opencv_storage><cascade>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{DataDir: t.TempDir(), FaceCascade: p}
	s, err := server.New(t.Context(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("a broken cascade file was accepted")
	}
	if !strings.Contains(err.Error(), "face cascade") {
		t.Errorf("err = %v, want one naming the face cascade", err)
	}
}
