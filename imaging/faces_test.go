package imaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"os"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// astronautFace is where Eileen Collins' face is in testdata/astronaut.jpg
// (brow to chin, ear to ear), measured by eye.
var astronautFace = [4]int{175, 65, 100, 100}

func faceEngine(t testing.TB) *Engine {
	t.Helper()
	c, err := LoadFaces(DefaultFaceCascade)
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs opencv-data)", err)
	}
	return newEngine(t, Options{Faces: c})
}

func astronaut(t testing.TB) *image.NRGBA {
	t.Helper()
	b, err := os.ReadFile("testdata/astronaut.jpg")
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return toNRGBA(img)
}

// iou is the intersection over union of two [x, y, w, h] boxes.
func iou(a, b [4]int) float64 {
	x0, y0 := max(a[0], b[0]), max(a[1], b[1])
	x1, y1 := min(a[0]+a[2], b[0]+b[2]), min(a[1]+a[3], b[1]+b[3])
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := float64((x1 - x0) * (y1 - y0))
	return in / (float64(a[2]*a[3]+b[2]*b[3]) - in)
}

// facesAnswer is what pyuploadcare's detect_faces reads.
type facesAnswer struct {
	ID     string   `json:"id"`
	Format string   `json:"format"`
	Width  int      `json:"width"`
	Height int      `json:"height"`
	Faces  [][4]int `json:"faces"`
}

func detect(t *testing.T, e *Engine, src Source) (facesAnswer, []string) {
	t.Helper()
	res := do(t, e, src, DetectFaces{})
	if res.ContentType != "application/json" {
		t.Fatalf("content type %q", res.ContentType)
	}
	var a facesAnswer
	if err := json.Unmarshal(res.Body, &a); err != nil {
		t.Fatalf("%s: %v", res.Body, err)
	}
	// Field order, as Uploadcare writes it.
	dec := json.NewDecoder(bytes.NewReader(res.Body))
	var keys []string
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return a, keys
}

func TestDetectFacesJSON(t *testing.T) {
	e := faceEngine(t)
	a, keys := detect(t, e, fileSource{"testdata/astronaut.jpg"})
	want := []string{"id", "orientation", "format", "height", "width", "geo_location", "datetime_original", "dpi", "faces"}
	if len(keys) != len(want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keys %v, want %v", keys, want)
		}
	}
	if a.Format != "JPEG" || a.Width != 512 || a.Height != 512 || a.ID == "" {
		t.Errorf("answer %+v", a)
	}
	if len(a.Faces) != 1 || iou(a.Faces[0], astronautFace) < 0.5 {
		t.Errorf("faces %v, want one overlapping %v", a.Faces, astronautFace)
	}

	none, _ := detect(t, e, fileSource{"testdata/coffee.jpg"})
	if none.Faces == nil || len(none.Faces) != 0 || none.Width != 600 || none.Height != 400 {
		t.Errorf("coffee: %+v, want faces [] and 600x400", none)
	}
}

// A photo stored turned (EXIF orientation 6) is answered upright: size
// and boxes as the picture is shown.
func TestDetectFacesOrientation(t *testing.T) {
	e := faceEngine(t)
	up := image.NewNRGBA(image.Rect(0, 0, 700, 512))
	draw.Draw(up, up.Bounds(), image.NewUniform(color.NRGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
	draw.Draw(up, image.Rect(100, 0, 612, 512), astronaut(t), image.Point{}, draw.Src)
	jpg := withOrientation(encodeJPEG(t, stored(up, 6), 90), 6)
	a, _ := detect(t, e, memSource{jpg})
	if a.Width != 700 || a.Height != 512 {
		t.Fatalf("size %dx%d, want the upright 700x512", a.Width, a.Height)
	}
	face := astronautFace
	face[0] += 100
	if len(a.Faces) != 1 || iou(a.Faces[0], face) < 0.5 {
		t.Errorf("faces %v, want one overlapping %v", a.Faces, face)
	}
}

// A large photo is searched shrunk to at most 800 px, and the box comes
// back in its own pixels.
func TestDetectFacesLargeImage(t *testing.T) {
	e := faceEngine(t)
	big := boxResize(astronaut(t), 4096, 4096)
	var sizes [][2]int
	faceInput = func(w, h int) { sizes = append(sizes, [2]int{w, h}) }
	defer func() { faceInput = nil }()
	a, _ := detect(t, e, toFile(t, encodeJPEG(t, big, 85), "big.jpg"))
	if len(sizes) != 1 || max(sizes[0][0], sizes[0][1]) > 800 {
		t.Errorf("detector inputs %v, want one of at most 800 px", sizes)
	}
	// Resampled twice, a patch of her suit also passes the cascade (a
	// false positive Haar detectors are known for): only her face is
	// required.
	face := [4]int{astronautFace[0] * 8, astronautFace[1] * 8, astronautFace[2] * 8, astronautFace[3] * 8}
	found := false
	for _, f := range a.Faces {
		found = found || iou(f, face) >= 0.5
	}
	if a.Width != 4096 || a.Height != 4096 || !found {
		t.Errorf("%dx%d faces %v, want one overlapping %v", a.Width, a.Height, a.Faces, face)
	}
}

func TestDetectFacesStopped(t *testing.T) {
	e := faceEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	faceInput = func(int, int) { cancel() }
	defer func() { faceInput = nil }()
	_, err := e.Do(ctx, "u", fileSource{"testdata/astronaut.jpg"}, []cdnurl.Op{DetectFaces{}}, "", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	e.Wait() // the detection stops at its next row
}

func TestBlurFaces(t *testing.T) {
	e := faceEngine(t)
	src := fileSource{"testdata/astronaut.jpg"}
	png := cdnurl.Format{Format: "png"}
	a, _ := detect(t, e, src)
	if len(a.Faces) != 1 {
		t.Fatalf("faces %v", a.Faces)
	}
	fb := a.Faces[0]
	before := decode(t, do(t, e, src, png))
	after := decode(t, do(t, e, src, cdnurl.BlurRegion{Faces: true, Strength: 40}, png))
	inside, outside := 0, 0
	for y := 0; y < 512; y++ {
		for x := 0; x < 512; x++ {
			if before.NRGBAAt(x, y) == after.NRGBAAt(x, y) {
				continue
			}
			if x >= fb[0] && x < fb[0]+fb[2] && y >= fb[1] && y < fb[1]+fb[3] {
				inside++
			} else {
				outside++
			}
		}
	}
	if outside != 0 || inside < fb[2]*fb[3]/2 {
		t.Errorf("blur_region/faces changed %d pixels inside %v and %d outside", inside, fb, outside)
	}
	// A photo without faces comes back unchanged.
	coffee := fileSource{"testdata/coffee.jpg"}
	if d := mae(t, decode(t, do(t, e, coffee, png)), decode(t, do(t, e, coffee, cdnurl.BlurRegion{Faces: true}, png)), false); d != 0 {
		t.Errorf("coffee changed by %.2f", d)
	}
}

func TestCropFace(t *testing.T) {
	e := faceEngine(t)
	src := fileSource{"testdata/astronaut.jpg"}
	a, _ := detect(t, e, src)
	if len(a.Faces) != 1 {
		t.Fatalf("faces %v", a.Faces)
	}
	fb := a.Faces[0]
	res := do(t, e, src, cdnurl.Crop{Object: "face"}, cdnurl.Format{Format: "png"})
	if res.Width != fb[2] || res.Height != fb[3] {
		t.Errorf("crop/face: %dx%d, want the face's %dx%d", res.Width, res.Height, fb[2], fb[3])
	}
	whole := decode(t, do(t, e, src, cdnurl.Format{Format: "png"}))
	want := image.NewNRGBA(image.Rect(0, 0, fb[2], fb[3]))
	draw.Draw(want, want.Bounds(), whole, image.Pt(fb[0], fb[1]), draw.Src)
	if d := mae(t, decode(t, res), want, false); d > 1 {
		t.Errorf("crop/face is not the face box: mean error %.2f", d)
	}
	// 200% of the face's size, centred on it.
	res = do(t, e, src, cdnurl.Crop{Object: "face", Size: &cdnurl.Size{W: pct(200), H: pct(200), WSet: true, HSet: true}})
	if res.Width != 2*fb[2] || res.Height != 2*fb[3] {
		t.Errorf("crop/face/200p: %dx%d", res.Width, res.Height)
	}
	// A ratio: the smallest 2:1 box holding the face.
	res = do(t, e, src, cdnurl.Crop{Object: "face", Ratio: &cdnurl.Ratio{A: 2, B: 1}})
	if res.Width != 2*fb[3] || res.Height != fb[3] {
		t.Errorf("crop/face/2:1: %dx%d", res.Width, res.Height)
	}
}

// scale_crop/…/smart_faces centres on the face where a centred crop
// would miss it.
func TestScaleCropSmartFaces(t *testing.T) {
	e := faceEngine(t)
	wide := image.NewNRGBA(image.Rect(0, 0, 1536, 512))
	draw.Draw(wide, wide.Bounds(), image.NewUniform(color.NRGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	draw.Draw(wide, image.Rect(0, 0, 512, 512), astronaut(t), image.Point{}, draw.Src)
	src := memSource{encodePNG(t, wide)}
	png := cdnurl.Format{Format: "png"}
	got := decode(t, do(t, e, src, cdnurl.ScaleCrop{Size: size(256, 256), Type: "smart_faces"}, png))
	left := decode(t, do(t, e, src, cdnurl.ScaleCrop{Size: size(256, 256), Position: &cdnurl.Position{X: pct(0), Y: pct(50)}}, png))
	centre := decode(t, do(t, e, src, cdnurl.ScaleCrop{Size: size(256, 256)}, png))
	if d := mae(t, got, left, false); d > 2 {
		t.Errorf("smart_faces differs from the crop holding the face by %.2f", d)
	}
	if d := mae(t, got, centre, false); d < 10 {
		t.Errorf("smart_faces is the centred crop (difference %.2f)", d)
	}
}

func TestFacesWithoutDetector(t *testing.T) {
	e := newEngine(t, Options{})
	src := fileSource{"testdata/astronaut.jpg"}
	var opErr *OpError
	for _, op := range []cdnurl.Op{DetectFaces{}, cdnurl.BlurRegion{Faces: true}} {
		if _, err := e.Do(context.Background(), "u", src, []cdnurl.Op{op}, "", nil); !errors.As(err, &opErr) {
			t.Errorf("%s: %v, want an OpError", op.Name(), err)
		}
	}
	// The face crops fall back to the attention measure.
	if res := do(t, e, src, cdnurl.Crop{Object: "face", Ratio: &cdnurl.Ratio{A: 2, B: 1}}); res.Width != 512 || res.Height != 256 {
		t.Errorf("crop/face/2:1 without detector: %dx%d", res.Width, res.Height)
	}
	do(t, e, src, cdnurl.ScaleCrop{Size: size(100, 50), Type: "smart_faces"})
}

// An animation is searched once per face operation, not once per frame.
func TestBlurFacesAnimated(t *testing.T) {
	e := faceEngine(t)
	b, _ := threeFrames(t, 64, 48)
	searches := 0
	faceInput = func(int, int) { searches++ }
	defer func() { faceInput = nil }()
	res := do(t, e, memSource{b}, cdnurl.BlurRegion{Faces: true}, cdnurl.Format{Format: "gif"})
	if res.Format != "gif" || searches != 1 {
		t.Errorf("%s after %d searches, want a gif after 1", res.Format, searches)
	}
}

// BenchmarkDetectFaces measures detect_faces on the 512×512 portrait and
// on a 4096×4096 JPEG (searched at 800 px).
func BenchmarkDetectFaces(b *testing.B) {
	e := faceEngine(b)
	big := toFile(b, encodeJPEG(b, boxResize(astronaut(b), 4096, 4096), 85), "big.jpg")
	for _, c := range []struct {
		name string
		src  Source
	}{{"512", fileSource{"testdata/astronaut.jpg"}}, {"4096", big}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				do(b, e, c.src, DetectFaces{})
			}
		})
	}
}

// Face searches count as expensive transforms, even on a small image, so
// they run under the ExpensiveWorkers cap and never take the cheap slots.
func TestFaceOpsAreExpensive(t *testing.T) {
	e := faceEngine(t)
	src := fileSource{"testdata/astronaut.jpg"}
	for _, ops := range [][]cdnurl.Op{
		{DetectFaces{}},
		{cdnurl.BlurRegion{Faces: true}},
		{cdnurl.Crop{Object: "face"}},
		{cdnurl.ScaleCrop{Size: size(10, 10), Type: "smart_faces"}},
	} {
		if c := e.estimate(src, ops); c <= e.o.CheapCost {
			t.Errorf("%v: estimated %d, not above the cheap limit %d", opNames(ops), c, e.o.CheapCost)
		}
	}
}
