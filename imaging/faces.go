package imaging

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/satchel-project/satchel/imaging/haar"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// DetectFaces is the /<uuid>/detect_faces/ request as an operation: Do
// answers it with the faces JSON (see facesJSON). It must be the only
// operation, and needs Options.Faces.
type DetectFaces struct{}

// Name implements cdnurl.Op.
func (DetectFaces) Name() string { return "detect_faces" }

// Face detection bounds: the image is searched at most faceBox pixels on
// its long side (a larger one is shrunk first and the boxes scaled back),
// and a detection needs more than faceNeighbours overlapping windows. faceCost is
// what a detection adds to a transform's estimated cost: enough to make it
// an expensive transform, which runs under the ExpensiveWorkers cap.
const (
	faceBox        = 800
	faceNeighbours = 5
	faceCost       = faceBox * faceBox * 20
)

// errNoDetector is the message of face operations on an engine without a
// cascade.
const errNoDetector = "face detection is not enabled on this server (no face cascade loaded; see --face-cascade)"

// faceInput, when set (by tests), is told the size of every image given to
// the detector.
var faceInput func(w, h int)

// box is a face in logical pixels (the operations' coordinates).
type box struct{ x, y, w, h float64 }

// facesJSON is the /<uuid>/detect_faces/ answer, fields in Uploadcare's
// order. Width, height and faces are in pixels of the stored image turned
// upright (EXIF orientation applied), so the boxes fit the size given.
type facesJSON struct {
	ID               string    `json:"id"`
	Orientation      *int      `json:"orientation"`
	Format           string    `json:"format"`
	Height           int       `json:"height"`
	Width            int       `json:"width"`
	GeoLocation      *geo      `json:"geo_location"`
	DatetimeOriginal *string   `json:"datetime_original"`
	DPI              []float64 `json:"dpi"`
	Faces            [][4]int  `json:"faces"`
}

// needsFaces reports whether op looks for faces: detect_faces and
// blur_region/faces need a detector; crop/face and the smart_faces
// scale_crop types use one when there is one.
func needsFaces(op cdnurl.Op) bool {
	switch o := op.(type) {
	case DetectFaces:
		return true
	case cdnurl.BlurRegion:
		return o.Faces
	case cdnurl.Crop:
		return o.Object == "face"
	case cdnurl.ScaleCrop:
		return facesType(o.Type)
	}
	return false
}

// facesType reports whether a scale_crop type names faces
// (smart_faces, smart_faces_objects, smart_objects_faces_points, ...).
func facesType(typ string) bool {
	return strings.HasPrefix(typ, "smart") && strings.Contains(typ, "faces")
}

// faces finds the faces in the current image, in logical pixels, largest
// first. The image is read through libvips at most faceBox pixels on its
// long side; the search stops when the transform is stopped.
// Every frame of an animation goes through the same operations, so the
// n-th search of a later frame takes the n-th answer of the first: one
// detection per operation, not per frame.
func (f *frame) faces() ([]box, error) {
	c := f.t.e.o.Faces
	if c == nil {
		return nil, nil
	}
	n := f.faceSearches
	f.faceSearches++
	if n < len(f.t.faceBoxes) {
		return f.t.faceBoxes[n], nil
	}
	found, err := f.detect(c)
	if err != nil {
		return nil, err
	}
	f.t.faceBoxes = append(f.t.faceBoxes, found)
	return found, nil
}

// detect runs the cascade on the current image.
func (f *frame) detect(c *haar.Cascade) ([]box, error) {
	if err := f.random(); err != nil {
		return nil, err
	}
	pix, pw, ph, err := f.t.thumbPixels(f.img, faceBox)
	if err != nil {
		return nil, err
	}
	if faceInput != nil {
		faceInput(pw, ph)
	}
	gray := make([]byte, pw*ph)
	for i := range gray {
		p := pix[i*4:]
		a := float64(p[3]) / 255
		g := lumaR*float64(p[0]) + lumaG*float64(p[1]) + lumaB*float64(p[2])
		gray[i] = clampByte(g*a + 255*(1-a))
	}
	rs, err := c.Detect(gray, pw, ph, haar.Options{MinNeighbors: faceNeighbours, Stop: f.t.stopped})
	if errors.Is(err, haar.ErrStopped) {
		return nil, errKilled
	}
	if err != nil {
		return nil, err
	}
	kx, ky := f.lw/float64(pw), f.lh/float64(ph)
	out := make([]box, len(rs))
	for i, r := range rs {
		out[i] = box{float64(r.X) * kx, float64(r.Y) * ky, float64(r.W) * kx, float64(r.H) * ky}
	}
	// Largest first; ties keep the detector's top-to-bottom order.
	slices.SortStableFunc(out, func(a, b box) int { return cmp.Compare(b.w*b.h, a.w*a.h) })
	return out, nil
}

// answerFaces is the detect_faces answer for the upright source in f.
func (t *task) answerFaces(f *frame) (*Result, error) {
	found, err := f.faces()
	if err != nil {
		return nil, err
	}
	w, h := round(f.lw), round(f.lh)
	d := t.describe(w, h, "")
	body := facesJSON{
		ID: d.ID, Orientation: d.Orientation, Format: d.Format, Height: h, Width: w,
		GeoLocation: d.GeoLocation, DatetimeOriginal: d.DatetimeOriginal, DPI: d.DPI,
		Faces: [][4]int{},
	}
	// Reported top to bottom, left to right, as the detector finds them.
	for _, b := range found {
		x0, y0 := max(0, round(b.x)), max(0, round(b.y))
		x1, y1 := min(w, round(b.x+b.w)), min(h, round(b.y+b.h))
		body.Faces = append(body.Faces, [4]int{x0, y0, x1 - x0, y1 - y0})
	}
	slices.SortFunc(body.Faces, func(a, b [4]int) int {
		if c := cmp.Compare(a[1], b[1]); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &Result{Body: b, ContentType: "application/json", Width: w, Height: h, Format: "json"}, nil
}

// blurFaces blurs every face found in the current image.
func (f *frame) blurFaces(strength int) error {
	found, err := f.faces()
	if err != nil {
		return err
	}
	for _, b := range found {
		if err := f.blurRect(b.x, b.y, b.w, b.h, strength); err != nil {
			return err
		}
	}
	return nil
}

// facesCentre is the centre of the box holding every face, in logical
// pixels; ok is false when there are none.
func facesCentre(found []box) (cx, cy float64, ok bool) {
	if len(found) == 0 {
		return 0, 0, false
	}
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	for _, b := range found {
		x0, y0 = math.Min(x0, b.x), math.Min(y0, b.y)
		x1, y1 = math.Max(x1, b.x+b.w), math.Max(y1, b.y+b.h)
	}
	return (x0 + x1) / 2, (y0 + y1) / 2, true
}
