package haar_test

import (
	"image"
	"image/color"
	_ "image/jpeg"
	"os"
	"strings"
	"testing"

	"github.com/satchel-project/satchel/imaging/haar"
)

// frontal is the cascade scripts/deps.sh installs (Debian's opencv-data).
const frontal = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

func mustCascade(t testing.TB) *haar.Cascade {
	t.Helper()
	c, err := haar.Load(frontal)
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs opencv-data)", err)
	}
	return c
}

func mustGray(t testing.TB, p string) ([]byte, int, int) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := im.Bounds()
	g := make([]byte, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g[y*b.Dx()+x] = color.GrayModel.Convert(im.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return g, b.Dx(), b.Dy()
}

// overlap is the intersection over union of two rectangles.
func overlap(a, b haar.Rect) float64 {
	x0, y0 := max(a.X, b.X), max(a.Y, b.Y)
	x1, y1 := min(a.X+a.W, b.X+b.W), min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := float64((x1 - x0) * (y1 - y0))
	return in / (float64(a.W*a.H+b.W*b.H) - in)
}

// astronautFace is where Eileen Collins' face is in astronaut.jpg (brow
// to chin, ear to ear), measured by eye.
var astronautFace = haar.Rect{X: 175, Y: 65, W: 100, H: 100}

func TestDetectFace(t *testing.T) {
	c := mustCascade(t)
	g, w, h := mustGray(t, "../testdata/astronaut.jpg")
	// With OpenCV's default of 3 neighbours a 28 px patch of her suit's
	// JPEG noise passes too; 5 is what imaging uses.
	faces, err := c.Detect(g, w, h, haar.Options{MinNeighbors: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("faces = %v, want one", faces)
	}
	if iou := overlap(faces[0], astronautFace); iou < 0.5 {
		t.Errorf("face %v overlaps %v by %.2f, want ≥ 0.5", faces[0], astronautFace, iou)
	}
}

func TestDetectNoFace(t *testing.T) {
	c := mustCascade(t)
	g, w, h := mustGray(t, "../testdata/coffee.jpg")
	faces, err := c.Detect(g, w, h, haar.Options{MinNeighbors: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 0 {
		t.Errorf("faces = %v in a photo of a coffee cup, want none", faces)
	}
	flat := make([]byte, 200*100)
	for i := range flat {
		flat[i] = 128
	}
	if faces, err := c.Detect(flat, 200, 100, haar.Options{}); err != nil || len(faces) != 0 {
		t.Errorf("flat grey: faces = %v, %v", faces, err)
	}
}

func TestDetectStop(t *testing.T) {
	c := mustCascade(t)
	g, w, h := mustGray(t, "../testdata/astronaut.jpg")
	rows := 0
	_, err := c.Detect(g, w, h, haar.Options{Stop: func() bool { rows++; return rows > 3 }})
	if err != haar.ErrStopped {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
	if rows != 4 {
		t.Errorf("Stop asked %d times, want 4 (it ends the scan at once)", rows)
	}
}

func TestGroupingNeedsNeighbours(t *testing.T) {
	c := mustCascade(t)
	g, w, h := mustGray(t, "../testdata/astronaut.jpg")
	raw, err := c.Detect(g, w, h, haar.Options{MinNeighbors: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) <= 3 {
		t.Fatalf("%d raw windows; the face should be hit by many", len(raw))
	}
	all, err := c.Detect(g, w, h, haar.Options{MinNeighbors: len(raw)})
	if err != nil || len(all) != 0 {
		t.Errorf("with more neighbours required than windows: %v, %v", all, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"old format": `<?xml version="1.0"?><opencv_storage><haarcascade type_id="opencv-haar-classifier"><size>24 24</size></haarcascade></opencv_storage>`,
		"lbp":        `<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType><height>24</height><width>24</width></cascade></opencv_storage>`,
		"tilted": `<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height><width>24</width>
<stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>1 -1</leafValues></_></weakClassifiers></_></stages>
<features><_><rects><_>0 0 4 4 -1.</_><_>0 0 2 4 2.</_></rects><tilted>1</tilted></_></features></cascade></opencv_storage>`,
		"bad branch": `<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height><width>24</width>
<stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -5 0 0.5</internalNodes><leafValues>1 -1</leafValues></_></weakClassifiers></_></stages>
<features><_><rects><_>0 0 4 4 -1.</_><_>0 0 2 4 2.</_></rects></_></features></cascade></opencv_storage>`,
	} {
		if _, err := haar.Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	c := mustCascade(b)
	g, w, h := mustGray(b, "../testdata/astronaut.jpg")
	b.ResetTimer()
	for range b.N {
		if _, err := c.Detect(g, w, h, haar.Options{MinNeighbors: 5}); err != nil {
			b.Fatal(err)
		}
	}
}

// frontal_alt2's weak classifiers are two-node trees, not stumps: the
// general path finds the same face.
func TestDetectTreeCascade(t *testing.T) {
	c, err := haar.Load("/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml")
	if err != nil {
		t.Fatal(err)
	}
	g, w, h := mustGray(t, "../testdata/astronaut.jpg")
	faces, err := c.Detect(g, w, h, haar.Options{MinNeighbors: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 || overlap(faces[0], astronautFace) < 0.5 {
		t.Errorf("faces = %v, want one overlapping %v", faces, astronautFace)
	}
}

// Cascades with 45° features are refused when read, not misread.
func TestLoadRefusesTilted(t *testing.T) {
	_, err := haar.Load("/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml")
	if err == nil || !strings.Contains(err.Error(), "tilted") {
		t.Errorf("err = %v, want tilted features refused", err)
	}
}
