package ucare

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Transformation builds a chain of CDN image operations. Its operations are
// typed values of the CDN URL grammar (package cdnurl, the SDK's copy of
// the grammar the Satchel CDN parses) in the canonical form its parser
// produces, so String() is what the CDN parses back into the same
// operations:
//
//	t := ucare.NewTransformation().Resize(800, 0).Quality("smart").Format("webp")
//	t.String() // "resize/800x/-/quality/smart/-/format/webp/"
//
// Methods append and return t. Arguments out of range are reported by Err
// and Path (the checks are the grammar's).
type Transformation struct {
	ops []cdnurl.Op
	err error
}

// NewTransformation starts a chain, optionally with operations.
func NewTransformation(ops ...cdnurl.Op) *Transformation {
	return &Transformation{ops: append([]cdnurl.Op(nil), ops...)}
}

// ParseTransformation reads an operations string such as
// "resize/800x/-/quality/smart/" (a leading "-/" is optional) with the CDN
// URL grammar's parser.
func ParseTransformation(s string) (*Transformation, error) {
	ops, err := cdnurl.ParseOps(s)
	if err != nil {
		return nil, err
	}
	return &Transformation{ops: ops}, nil
}

// Ops returns the operations (a copy).
func (t *Transformation) Ops() []cdnurl.Op { return append([]cdnurl.Op(nil), t.ops...) }

// String returns the operations in canonical URL form ("op/args/-/op/", ""
// for none), as cdnurl.FormatOps writes them.
func (t *Transformation) String() string { return cdnurl.FormatOps(t.ops) }

// Err returns the first argument error, then checks the whole chain with the
// CDN URL grammar's parser.
func (t *Transformation) Err() error {
	if t.err != nil {
		return t.err
	}
	if len(t.ops) == 0 {
		return nil
	}
	_, err := cdnurl.ParseOps(t.String())
	return err
}

// Path returns "-/<ops>" for appending to "<uuid>/" ("" for no operations),
// or the chain's error.
func (t *Transformation) Path() (string, error) {
	if err := t.Err(); err != nil {
		return "", err
	}
	if len(t.ops) == 0 {
		return "", nil
	}
	return "-/" + t.String(), nil
}

// Op appends any operation value.
func (t *Transformation) Op(op cdnurl.Op) *Transformation {
	t.ops = append(t.ops, op)
	return t
}

func (t *Transformation) fail(op, format string, args ...any) *Transformation {
	if t.err == nil {
		t.err = &InvalidParamError{op, fmt.Sprintf(format, args...)}
	}
	return t
}

// Size is a size in pixels; 0 leaves a side out ("800x", "x600").
func Size(w, h int) cdnurl.Size {
	s := cdnurl.Size{}
	if w != 0 {
		s.W, s.WSet = cdnurl.Length{Value: float64(w)}, true
	}
	if h != 0 {
		s.H, s.HSet = cdnurl.Length{Value: float64(h)}, true
	}
	return s
}

// SizePct is a size in percent; 0 leaves a side out.
func SizePct(w, h float64) cdnurl.Size {
	s := cdnurl.Size{}
	if w != 0 {
		s.W, s.WSet = cdnurl.Length{Value: w, Percent: true}, true
	}
	if h != 0 {
		s.H, s.HSet = cdnurl.Length{Value: h, Percent: true}, true
	}
	return s
}

// Point is a position in pixels from the top left corner.
func Point(x, y int) *cdnurl.Position {
	return &cdnurl.Position{X: cdnurl.Length{Value: float64(x)}, Y: cdnurl.Length{Value: float64(y)}}
}

// PointPct is a position in percent.
func PointPct(x, y float64) *cdnurl.Position {
	return &cdnurl.Position{X: cdnurl.Length{Value: x, Percent: true}, Y: cdnurl.Length{Value: y, Percent: true}}
}

// Aligned is a keyword position: cdnurl.AlignCenter, AlignTop…
func Aligned(a cdnurl.Align) *cdnurl.Position { return &cdnurl.Position{Align: a} }

// Color reads a hex colour of 3, 6 or 8 digits (the last two: alpha).
func Color(hex string) (cdnurl.Color, error) {
	h := strings.TrimPrefix(hex, "#")
	if len(h) != 3 && len(h) != 6 && len(h) != 8 {
		return cdnurl.Color{}, &InvalidParamError{"color", fmt.Sprintf("%q is not 3, 6 or 8 hex digits", hex)}
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) == 6 {
		h += "ff"
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return cdnurl.Color{}, &InvalidParamError{"color", fmt.Sprintf("%q is not hex", hex)}
	}
	return cdnurl.Color{R: uint8(v >> 24), G: uint8(v >> 16), B: uint8(v >> 8), A: uint8(v)}, nil
}

func (t *Transformation) color(op, hex string) (cdnurl.Color, bool) {
	c, err := Color(hex)
	if err != nil {
		t.fail(op, "%v", err)
		return c, false
	}
	return c, true
}

// Preview fits the image in the default 2048x2048 box.
func (t *Transformation) Preview() *Transformation { return t.Op(cdnurl.Preview{}) }

// PreviewBox fits the image in a w×h box (0 leaves a side free).
func (t *Transformation) PreviewBox(w, h int) *Transformation {
	if w == cdnurl.DefaultPreviewSize && h == cdnurl.DefaultPreviewSize {
		return t.Preview()
	}
	s := Size(w, h)
	return t.Op(cdnurl.Preview{Size: &s})
}

// Resize scales to w×h pixels; with one side 0 the ratio is kept.
func (t *Transformation) Resize(w, h int) *Transformation {
	return t.Op(cdnurl.Resize{Size: Size(w, h)})
}

// SmartResize fills w×h keeping the ratio, cropping content-aware.
func (t *Transformation) SmartResize(w, h int) *Transformation {
	return t.Op(cdnurl.SmartResize{Size: Size(w, h)})
}

// Stretch sets the upscale policy of the following resizes: on, off, fill.
func (t *Transformation) Stretch(mode string) *Transformation {
	return t.Op(cdnurl.Stretch{Mode: mode})
}

// SetFill sets the background colour (hex) of the following operations.
func (t *Transformation) SetFill(hex string) *Transformation {
	if c, ok := t.color("setfill", hex); ok {
		t.Op(cdnurl.SetFill{Color: c})
	}
	return t
}

// Crop cuts a region of size at pos (nil: the top left corner).
func (t *Transformation) Crop(size cdnurl.Size, pos *cdnurl.Position) *Transformation {
	c := cdnurl.Crop{Size: &size}
	if pos != nil && !(pos.Align == "" && pos.X.Value == 0 && pos.Y.Value == 0) {
		c.Position = pos
	}
	return t.Op(c)
}

// CropRatio cuts the largest region of ratio a:b at pos (nil: centred).
func (t *Transformation) CropRatio(a, b float64, pos *cdnurl.Position) *Transformation {
	c := cdnurl.Crop{Ratio: &cdnurl.Ratio{A: a, B: b}}
	if pos != nil && pos.Align != cdnurl.AlignCenter {
		c.Position = pos
	}
	return t.Op(c)
}

// CropObjects cuts around detected objects: object is "face" or "image";
// ratio or size (either may be nil) set the region, pos its placement.
func (t *Transformation) CropObjects(object string, ratio *cdnurl.Ratio, size *cdnurl.Size, pos *cdnurl.Position) *Transformation {
	if ratio != nil && size != nil {
		return t.fail("crop", "give a ratio or a size, not both")
	}
	return t.Op(cdnurl.Crop{Object: object, Ratio: ratio, Size: size, Position: pos})
}

// ScaleCrop covers a w×h box then crops at pos (nil: the CDN's default).
func (t *Transformation) ScaleCrop(w, h int, pos *cdnurl.Position) *Transformation {
	return t.Op(cdnurl.ScaleCrop{Size: Size(w, h), Position: pos})
}

// ScaleCropSmart covers a w×h box then crops content-aware: kind is "smart",
// "smart_faces", … (cdnurl.ScaleCropTypes); pos may be nil.
func (t *Transformation) ScaleCropSmart(w, h int, kind string, pos *cdnurl.Position) *Transformation {
	return t.Op(cdnurl.ScaleCrop{Size: Size(w, h), Type: kind, Position: pos})
}

// BorderRadius rounds the corners with 1–4 CSS-style radii, and optional
// vertical radii.
func (t *Transformation) BorderRadius(radii []cdnurl.Length, vertical []cdnurl.Length) *Transformation {
	if len(radii) < 1 || len(radii) > 4 || len(vertical) > 4 {
		return t.fail("border_radius", "1 to 4 radii")
	}
	h := expandRadii(radii)
	br := cdnurl.BorderRadius{Radii: collapseRadii(h)}
	if len(vertical) > 0 {
		if v := expandRadii(vertical); v != h {
			br.Vertical = collapseRadii(v)
		}
	}
	return t.Op(br)
}

func expandRadii(r []cdnurl.Length) [4]cdnurl.Length {
	switch len(r) {
	case 1:
		return [4]cdnurl.Length{r[0], r[0], r[0], r[0]}
	case 2:
		return [4]cdnurl.Length{r[0], r[1], r[0], r[1]}
	case 3:
		return [4]cdnurl.Length{r[0], r[1], r[2], r[1]}
	}
	return [4]cdnurl.Length{r[0], r[1], r[2], r[3]}
}

func collapseRadii(e [4]cdnurl.Length) []cdnurl.Length {
	n := 4
	if e[3] == e[1] {
		n = 3
		if e[2] == e[0] {
			n = 2
			if e[1] == e[0] {
				n = 1
			}
		}
	}
	return append([]cdnurl.Length(nil), e[:n]...)
}

// ZoomObjects zooms on the main objects (1..100).
func (t *Transformation) ZoomObjects(zoom int) *Transformation {
	return t.Op(cdnurl.ZoomObjects{Zoom: zoom})
}

// Autorotate turns EXIF rotation on or off.
func (t *Transformation) Autorotate(on bool) *Transformation { return t.Op(cdnurl.Autorotate{On: on}) }

// Rotate turns counter-clockwise by a multiple of 90 degrees.
func (t *Transformation) Rotate(degrees int) *Transformation {
	if degrees%90 != 0 {
		return t.fail("rotate", "%d is not a multiple of 90", degrees)
	}
	return t.Op(cdnurl.Rotate{Degrees: ((degrees % 360) + 360) % 360})
}

// Flip mirrors vertically.
func (t *Transformation) Flip() *Transformation { return t.Op(cdnurl.Flip{}) }

// Mirror mirrors horizontally.
func (t *Transformation) Mirror() *Transformation { return t.Op(cdnurl.Mirror{}) }

// Format sets the output format: jpeg, png, webp, avif, gif, auto, preserve.
func (t *Transformation) Format(f string) *Transformation {
	if f == "jpg" {
		f = "jpeg"
	}
	return t.Op(cdnurl.Format{Format: f})
}

// Quality sets the encoder quality: normal, better, best, lighter, lightest,
// smart, smart_retina.
func (t *Transformation) Quality(level string) *Transformation {
	return t.Op(cdnurl.Quality{Level: level})
}

// Progressive turns progressive JPEG on or off.
func (t *Transformation) Progressive(on bool) *Transformation {
	return t.Op(cdnurl.Progressive{On: on})
}

// StripMeta chooses the metadata to strip: all, none, sensitive.
func (t *Transformation) StripMeta(mode string) *Transformation {
	return t.Op(cdnurl.StripMeta{Mode: mode})
}

// Inline sets Content-Disposition to inline (true) or attachment.
func (t *Transformation) Inline(on bool) *Transformation { return t.Op(cdnurl.Inline{On: on}) }

// Rasterize renders SVG to pixels.
func (t *Transformation) Rasterize() *Transformation { return t.Op(cdnurl.Rasterize{}) }

func (t *Transformation) adjust(op string, v int) *Transformation {
	return t.Op(cdnurl.Adjust{Op: op, Value: v})
}

// Brightness adjusts brightness (-100..100).
func (t *Transformation) Brightness(v int) *Transformation { return t.adjust("brightness", v) }

// Exposure adjusts exposure (-500..500).
func (t *Transformation) Exposure(v int) *Transformation { return t.adjust("exposure", v) }

// Gamma adjusts gamma (0..1000, neutral 100).
func (t *Transformation) Gamma(v int) *Transformation { return t.adjust("gamma", v) }

// Contrast adjusts contrast (-100..500).
func (t *Transformation) Contrast(v int) *Transformation { return t.adjust("contrast", v) }

// Saturation adjusts saturation (-100..500).
func (t *Transformation) Saturation(v int) *Transformation { return t.adjust("saturation", v) }

// Vibrance adjusts vibrance (-100..500).
func (t *Transformation) Vibrance(v int) *Transformation { return t.adjust("vibrance", v) }

// Warmth adjusts warmth (-100..100).
func (t *Transformation) Warmth(v int) *Transformation { return t.adjust("warmth", v) }

// Enhance auto-enhances with the default strength.
func (t *Transformation) Enhance() *Transformation {
	return t.Op(cdnurl.Enhance{Strength: cdnurl.DefaultEnhance})
}

// EnhanceBy auto-enhances with a strength of 0..100.
func (t *Transformation) EnhanceBy(strength int) *Transformation {
	return t.Op(cdnurl.Enhance{Strength: strength})
}

// Grayscale drops colour.
func (t *Transformation) Grayscale() *Transformation { return t.Op(cdnurl.Grayscale{}) }

// Invert inverts colours.
func (t *Transformation) Invert() *Transformation { return t.Op(cdnurl.Invert{}) }

// Filter applies a named filter (cdnurl.FilterNames) at full strength.
func (t *Transformation) Filter(name string) *Transformation {
	return t.Op(cdnurl.Filter{Filter: name, Strength: cdnurl.DefaultFilterStrength})
}

// FilterBy applies a named filter with a strength of -100..200.
func (t *Transformation) FilterBy(name string, strength int) *Transformation {
	return t.Op(cdnurl.Filter{Filter: name, Strength: strength})
}

// Blur blurs with the default strength.
func (t *Transformation) Blur() *Transformation {
	return t.Op(cdnurl.Blur{Strength: cdnurl.DefaultBlur})
}

// BlurBy blurs with a strength of 0..5000.
func (t *Transformation) BlurBy(strength int) *Transformation {
	return t.Op(cdnurl.Blur{Strength: strength})
}

// Unsharp sharpens by unsharp masking: strength 0..5000, amount -200..-1.
func (t *Transformation) Unsharp(strength, amount int) *Transformation {
	return t.Op(cdnurl.Blur{Strength: strength, Amount: amount, HasAmount: true})
}

// BlurRegion blurs a region of size at pos; strength 0 is the default.
func (t *Transformation) BlurRegion(size cdnurl.Size, pos cdnurl.Position, strength int) *Transformation {
	if pos.Align != "" {
		return t.fail("blur_region", "the position must be a point")
	}
	return t.Op(cdnurl.BlurRegion{Size: size, Position: pos, Strength: strength})
}

// BlurFaces blurs the faces; strength 0 is the default.
func (t *Transformation) BlurFaces(strength int) *Transformation {
	return t.Op(cdnurl.BlurRegion{Faces: true, Strength: strength})
}

// Sharp sharpens with the default strength.
func (t *Transformation) Sharp() *Transformation {
	return t.Op(cdnurl.Sharp{Strength: cdnurl.DefaultSharp})
}

// SharpBy sharpens with a strength of 0..20.
func (t *Transformation) SharpBy(strength int) *Transformation {
	return t.Op(cdnurl.Sharp{Strength: strength})
}

// SRGB chooses colour-profile handling: fast, icc, keep_profile.
func (t *Transformation) SRGB(mode string) *Transformation { return t.Op(cdnurl.SRGB{Mode: mode}) }

// MaxICCSize sets the profile size threshold (KB) of srgb/icc.
func (t *Transformation) MaxICCSize(kb int) *Transformation {
	return t.Op(cdnurl.MaxICCSize{KB: kb})
}

// Overlay draws another file (a UUID, or "self") as a layer; size, pos and
// opacity (percent) are optional but positional: pos needs size, opacity
// needs pos.
func (t *Transformation) Overlay(uuid string, size *cdnurl.Size, pos *cdnurl.Position, opacityPct *float64) *Transformation {
	if pos != nil && size == nil || opacityPct != nil && pos == nil {
		return t.fail("overlay", "pos needs size and opacity needs pos")
	}
	o := cdnurl.Overlay{UUID: uuid, Size: size, Position: pos}
	if opacityPct != nil {
		o.Opacity = &cdnurl.Length{Value: *opacityPct, Percent: true}
	}
	return t.Op(o)
}

// Rect draws a rectangle of colour (hex) and size at pos.
func (t *Transformation) Rect(hex string, size cdnurl.Size, pos cdnurl.Position) *Transformation {
	if c, ok := t.color("rect", hex); ok {
		t.Op(cdnurl.Rect{Color: c, Size: size, Position: pos})
	}
	return t
}

// Text draws text in a box of size at pos (escaping is done for you).
func (t *Transformation) Text(size cdnurl.Size, pos cdnurl.Position, text string) *Transformation {
	return t.Op(cdnurl.Text{Size: size, Position: pos, Text: text})
}

// TextAlign aligns the following text: h is left, center or right; v top,
// center or bottom.
func (t *Transformation) TextAlign(h, v string) *Transformation {
	return t.Op(cdnurl.TextAlign{H: h, V: v})
}

// Font sets the text size and colour (hex; "" for the default black).
func (t *Transformation) Font(size int, hex string) *Transformation {
	f := cdnurl.Font{Size: size}
	if hex != "" {
		c, ok := t.color("font", hex)
		if !ok {
			return t
		}
		if c != (cdnurl.Color{A: 255}) {
			f.Color = &c
		}
	}
	return t.Op(f)
}

// TextBox sets the text background: mode none, fit, line or fill, colour
// (hex, "" for none) and padding (needs a colour; negative for none).
func (t *Transformation) TextBox(mode, hex string, padding int) *Transformation {
	tb := cdnurl.TextBox{Mode: mode}
	if hex != "" {
		c, ok := t.color("text_box", hex)
		if !ok {
			return t
		}
		tb.Color = &c
		if padding >= 0 {
			tb.Padding = &padding
		}
	}
	return t.Op(tb)
}

// MainColors answers the n main colours as JSON (0: the default 4). It must
// be the last operation.
func (t *Transformation) MainColors(n int) *Transformation {
	if n == 0 {
		n = cdnurl.DefaultMainColors
	}
	return t.Op(cdnurl.MainColors{N: n})
}

// JSON answers the image's information as JSON. It must be the last
// operation.
func (t *Transformation) JSON() *Transformation { return t.Op(cdnurl.JSON{}) }
