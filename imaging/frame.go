package imaging

/*
#include "vips.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// frame is one image (or one frame of an animation) going through the
// operations. The working image may be smaller than the logical size the
// operations are expressed in, when the source was shrunk on load; the
// first resizing operation brings the two back together.
type frame struct {
	t   *task
	img vimg
	// lw, lh are the logical size: the image as the operations see it.
	lw, lh float64
	// seq is true while the image still streams from a sequential
	// decoder and cannot be read out of order.
	seq bool

	stretch string
	fill    cdnurl.Color
	fillSet bool

	textH, textV string
	fontSize     int
	fontColor    cdnurl.Color
	boxMode      string
	boxColor     cdnurl.Color
	boxPad       int

	faceSearches int // face searches made so far on this frame
}

func (f *frame) w() int { return width(f.img) }
func (f *frame) h() int { return height(f.img) }

func (f *frame) alpha() bool { return bands(f.img) == 4 }

// scale is working pixels per logical pixel on each axis.
func (f *frame) scale() (float64, float64) {
	return float64(f.w()) / f.lw, float64(f.h()) / f.lh
}

// replace makes out the current image.
func (f *frame) replace(out vimg) {
	unref(f.img)
	f.img = out
}

// do runs one libvips call on the current image and keeps its result.
func (f *frame) do(step string, fn func(in vimg, out *vimg) C.int) error {
	var out vimg
	if fn(f.img, &out) != 0 {
		return f.t.vipsError(step)
	}
	f.replace(out)
	return nil
}

// random makes the image readable out of order by decoding it to memory
// (it is as small as the operations before allow by now).
func (f *frame) random() error {
	if !f.seq {
		return nil
	}
	if err := f.do("decode", func(in vimg, out *vimg) C.int { return C.sat_copy_memory(in, out) }); err != nil {
		return err
	}
	// A new root: the progress link to the source went with the source.
	C.sat_watch(f.img, f.t.ctl)
	f.seq = false
	return nil
}

func (f *frame) checkOut(w, h float64) error {
	if w*h > float64(f.t.e.o.MaxOutputPixels) {
		return ErrTooLarge
	}
	return nil
}

// checkSide refuses to make a side grow beyond MaxOutputSide (a side the
// image already has may stay).
func (f *frame) checkSide(op cdnurl.Op, w, h float64) error {
	m := f.t.e.o.MaxOutputSide
	if w > float64(m) && w > f.lw || h > float64(m) && h > f.lh {
		return opErr(op, "the result would be %.0fx%.0f px; an image may grow to at most %d px per side", w, h, m)
	}
	return nil
}

// fillBands is the fill colour for an image of n bands.
func (f *frame) fillBands(n int) []float64 {
	c := cdnurl.Color{R: 255, G: 255, B: 255, A: 255}
	if f.fillSet {
		c = f.fill
	}
	v := []float64{float64(c.R), float64(c.G), float64(c.B), float64(c.A)}
	return v[:n]
}

// needFillAlpha adds an alpha band when the fill colour is translucent.
func (f *frame) needFillAlpha() error {
	if f.fillSet && f.fill.A < 255 && !f.alpha() {
		return f.do("alpha", func(in vimg, out *vimg) C.int { return C.sat_addalpha(in, out) })
	}
	return nil
}

// pad places the image at x,y on a w x h canvas of the fill colour
// (x, y may be negative: that crops).
func (f *frame) pad(x, y, w, h int) error {
	if err := f.needFillAlpha(); err != nil {
		return err
	}
	bg := f.fillBands(bands(f.img))
	return f.do("embed", func(in vimg, out *vimg) C.int {
		return C.sat_embed(in, out, C.int(x), C.int(y), C.int(w), C.int(h), (*C.double)(unsafe.Pointer(&bg[0])), C.int(len(bg)))
	})
}

// process prepares the image and applies every operation.
func (f *frame) process() error {
	if err := f.toSRGB(); err != nil {
		return err
	}
	if f.t.autorotate && f.t.hdr.orientation > 1 {
		if err := f.random(); err != nil {
			return err
		}
		if err := f.do("autorotate", func(in vimg, out *vimg) C.int { return C.sat_autorot(in, out) }); err != nil {
			return err
		}
	}
	f.fontSize, f.fontColor = 10, cdnurl.Color{A: 255}
	f.textH, f.textV = "left", "top"
	f.boxMode, f.boxColor, f.boxPad = "none", cdnurl.Color{R: 255, G: 255, B: 255, A: 255}, 10
	for _, op := range f.t.ops {
		if f.t.stopped() {
			return errKilled
		}
		if err := f.apply(op); err != nil {
			return err
		}
	}
	return nil
}

// toSRGB turns any input into 8-bit sRGB, with alpha when it has one.
func (f *frame) toSRGB() error {
	t := f.t
	interp := C.vips_image_get_interpretation(f.img)
	icc := blobLen(f.img, "icc-profile-data")
	switch {
	case interp == C.VIPS_INTERPRETATION_CMYK:
		// libvips uses the embedded profile, or its built-in CMYK one.
		if err := f.do("cmyk to srgb", func(in vimg, out *vimg) C.int {
			return C.sat_colourspace(in, out, C.VIPS_INTERPRETATION_sRGB)
		}); err != nil {
			return err
		}
	case t.srgb != "keep_profile" && t.srgb != "fast" && icc > 0 && icc <= t.maxICC*1024 &&
		!isSRGBProfile(getBlob(f.img, "icc-profile-data")):
		var out vimg
		if C.sat_icc_srgb(f.img, &out) == 0 {
			f.replace(out)
		} else {
			takeError() // a broken profile: fall back to the fast path
		}
	}
	if t.srgb != "keep_profile" {
		removeField(f.img, "icc-profile-data")
	}
	switch C.vips_image_get_interpretation(f.img) {
	case C.VIPS_INTERPRETATION_sRGB:
	case C.VIPS_INTERPRETATION_RGB:
		// Untagged RGB: take it as sRGB.
	default:
		if err := f.do("to srgb", func(in vimg, out *vimg) C.int {
			return C.sat_colourspace(in, out, C.VIPS_INTERPRETATION_sRGB)
		}); err != nil {
			return err
		}
	}
	if C.vips_image_get_format(f.img) != C.VIPS_FORMAT_UCHAR {
		if err := f.do("cast", func(in vimg, out *vimg) C.int { return C.sat_cast_uchar(in, out) }); err != nil {
			return err
		}
	}
	switch n := bands(f.img); {
	case n == 1 || n == 2:
		// A B_W image labelled otherwise: spread the grey.
		if err := f.do("grey", func(in vimg, out *vimg) C.int {
			return C.sat_colourspace(in, out, C.VIPS_INTERPRETATION_sRGB)
		}); err != nil {
			return err
		}
	case n > 4:
		if err := f.do("bands", func(in vimg, out *vimg) C.int { return C.sat_extract_band(in, out, 0, 4) }); err != nil {
			return err
		}
	}
	if n := bands(f.img); n != 3 && n != 4 {
		return &OpError{Op: "decode", Msg: "unsupported colour layout"}
	}
	return nil
}

// resizeTo scales the working image to exactly w x h pixels, which
// become the logical size too.
func (f *frame) resizeTo(w, h int) error {
	w, h = max(w, 1), max(h, 1)
	if err := f.checkOut(float64(w), float64(h)); err != nil {
		return err
	}
	defer func() { f.lw, f.lh = float64(w), float64(h) }()
	cw, ch := f.w(), f.h()
	if cw == w && ch == h {
		return nil
	}
	s := &scope{t: f.t}
	defer s.close()
	in := f.img
	alpha := f.alpha()
	if alpha {
		in = s.op("premultiply", func(out *vimg) C.int { return C.sat_premultiply(in, out) })
	}
	hs, vs := float64(w)/float64(cw), float64(h)/float64(ch)
	r := s.op("resize", func(out *vimg) C.int { return C.sat_resize(in, out, C.double(hs), C.double(vs)) })
	if alpha {
		r = s.op("unpremultiply", func(out *vimg) C.int { return C.sat_unpremultiply(r, out) })
		r = s.toUchar(r, 4)
	}
	if s.err != nil {
		return s.err
	}
	// libvips rounds the output size; settle the last pixel.
	if rw, rh := width(r), height(r); rw != w || rh != h {
		if rw >= w && rh >= h {
			r = s.op("resize fix", func(out *vimg) C.int { return C.sat_extract(r, out, 0, 0, C.int(w), C.int(h)) })
		} else {
			r = s.op("resize fix", func(out *vimg) C.int { return C.sat_embed(r, out, 0, 0, C.int(w), C.int(h), nil, 0) })
		}
	}
	if s.err != nil {
		return s.err
	}
	f.replace(ref(r))
	return nil
}

// scope collects the intermediate images of a multi-step operation and
// stops at the first error.
type scope struct {
	t    *task
	list []vimg
	err  error
}

func (s *scope) op(step string, fn func(out *vimg) C.int) vimg {
	if s.err != nil {
		return nil
	}
	var out vimg
	if fn(&out) != 0 {
		s.err = s.t.vipsError(step)
		return nil
	}
	s.list = append(s.list, out)
	return out
}

func (s *scope) close() {
	for _, im := range s.list {
		unref(im)
	}
	s.list = nil
}

// length resolves a length against ref.
func length(l cdnurl.Length, ref float64) float64 {
	if l.Percent {
		return l.Value * ref / 100
	}
	return l.Value
}

// place positions an object of size ow x oh in a box of size bw x bh: a
// keyword aligns it, pixel offsets are its top-left corner, percentages
// slide it from one edge (0%) to the other (100%), so 50%,50% centres.
func place(p *cdnurl.Position, bw, bh, ow, oh float64, def cdnurl.Align) (float64, float64) {
	a := def
	if p != nil {
		if p.Align == "" {
			x, y := p.X.Value, p.Y.Value
			if p.X.Percent {
				x = (bw - ow) * p.X.Value / 100
			}
			if p.Y.Percent {
				y = (bh - oh) * p.Y.Value / 100
			}
			return x, y
		}
		a = p.Align
	}
	cx, cy := (bw-ow)/2, (bh-oh)/2
	switch a {
	case "":
		return 0, 0
	case cdnurl.AlignTop:
		return cx, 0
	case cdnurl.AlignBottom:
		return cx, bh - oh
	case cdnurl.AlignLeft:
		return 0, cy
	case cdnurl.AlignRight:
		return bw - ow, cy
	}
	return cx, cy
}

func round(v float64) int { return int(math.Round(v)) }

// apply runs one operation.
func (f *frame) apply(op cdnurl.Op) error {
	switch o := op.(type) {
	case cdnurl.Stretch:
		f.stretch = o.Mode
	case cdnurl.SetFill:
		f.fill, f.fillSet = o.Color, true
	case cdnurl.TextAlign:
		if o.H != "" {
			f.textH = o.H
		}
		if o.V != "" {
			f.textV = o.V
		}
	case cdnurl.Font:
		if o.Size > 0 {
			f.fontSize = o.Size
		}
		if o.Color != nil {
			f.fontColor = *o.Color
		}
	case cdnurl.TextBox:
		f.boxMode = o.Mode
		if o.Color != nil {
			f.boxColor = *o.Color
		}
		if o.Padding != nil {
			f.boxPad = max(*o.Padding, 0)
		}
	case cdnurl.Autorotate, cdnurl.SRGB, cdnurl.MaxICCSize, cdnurl.Format,
		cdnurl.Quality, cdnurl.Progressive, cdnurl.StripMeta, cdnurl.Inline,
		cdnurl.Rasterize, cdnurl.JSON, cdnurl.MainColors, DetectFaces:
		// Load, encode or answer time settings; see task.gather.
	case cdnurl.Preview:
		return f.preview(o)
	case cdnurl.Resize:
		return f.resize(op, o.Size)
	case cdnurl.ScaleCrop:
		return f.scaleCrop(op, o.Size, o.Type, o.Position)
	case cdnurl.SmartResize:
		return f.scaleCrop(op, o.Size, "smart", nil)
	case cdnurl.Crop:
		return f.crop(op, o)
	case cdnurl.Rotate:
		return f.rotate(o.Degrees)
	case cdnurl.Flip:
		if err := f.random(); err != nil {
			return err
		}
		return f.do("flip", func(in vimg, out *vimg) C.int { return C.sat_flip(in, out, 1) })
	case cdnurl.Mirror:
		return f.do("mirror", func(in vimg, out *vimg) C.int { return C.sat_flip(in, out, 0) })
	case cdnurl.BorderRadius:
		return f.borderRadius(o)
	case cdnurl.Adjust:
		return f.adjust(op, o)
	case cdnurl.Grayscale:
		return f.grayscale()
	case cdnurl.Invert:
		return f.lut(func(v float64, band int) float64 { return 255 - v })
	case cdnurl.Enhance:
		return f.enhance(o.Strength)
	case cdnurl.Filter:
		return f.filter(op, o)
	case cdnurl.Blur:
		amount := 1.0
		if o.HasAmount {
			amount = float64(o.Amount) / 100
		}
		return f.blur(blurSigma(o.Strength), amount)
	case cdnurl.BlurRegion:
		return f.blurRegion(op, o)
	case cdnurl.Sharp:
		return f.sharp(o.Strength)
	case cdnurl.Overlay:
		return f.overlay(op, o)
	case cdnurl.Rect:
		return f.rect(o)
	case cdnurl.Text:
		return f.text(o)
	default:
		return opErr(op, "operation is not supported")
	}
	return nil
}

func (f *frame) preview(o cdnurl.Preview) error {
	bw, bh := 2048.0, 2048.0
	if o.Size != nil && (o.Size.WSet || o.Size.HSet) {
		bw, bh = math.Inf(1), math.Inf(1)
		if o.Size.WSet {
			bw = length(o.Size.W, f.lw)
		}
		if o.Size.HSet {
			bh = length(o.Size.H, f.lh)
		}
	}
	s := math.Min(1, math.Min(bw/f.lw, bh/f.lh))
	return f.resizeTo(round(f.lw*s), round(f.lh*s))
}

// target resolves a size, keeping the ratio when one side is missing.
func (f *frame) target(op cdnurl.Op, sz cdnurl.Size) (float64, float64, error) {
	if !sz.WSet && !sz.HSet {
		return 0, 0, opErr(op, "a size is required")
	}
	var w, h float64
	if sz.WSet {
		w = length(sz.W, f.lw)
	}
	if sz.HSet {
		h = length(sz.H, f.lh)
	}
	if !sz.HSet {
		h = w * f.lh / f.lw
	}
	if !sz.WSet {
		w = h * f.lw / f.lh
	}
	w, h = math.Max(1, math.Round(w)), math.Max(1, math.Round(h))
	if f.stretch != "off" { // the image takes this size (or a canvas does)
		if err := f.checkSide(op, w, h); err != nil {
			return 0, 0, err
		}
	}
	if err := f.checkOut(w, h); err != nil {
		return 0, 0, err
	}
	return w, h, nil
}

func (f *frame) resize(op cdnurl.Op, sz cdnurl.Size) error {
	tw, th, err := f.target(op, sz)
	if err != nil {
		return err
	}
	if f.stretch == "on" || (tw <= f.lw && th <= f.lh) {
		return f.resizeTo(int(tw), int(th))
	}
	// No upscaling: each side keeps at most its size.
	nw, nh := math.Min(tw, f.lw), math.Min(th, f.lh)
	if err := f.resizeTo(round(nw), round(nh)); err != nil {
		return err
	}
	if f.stretch == "fill" {
		return f.pad(round((tw-nw)/2), round((th-nh)/2), int(tw), int(th))
	}
	return nil
}

func (f *frame) scaleCrop(op cdnurl.Op, sz cdnurl.Size, typ string, pos *cdnurl.Position) error {
	tw, th, err := f.target(op, sz)
	if err != nil {
		return err
	}
	s := math.Max(tw/f.lw, th/f.lh)
	clamped := false
	if f.stretch != "on" && s > 1 {
		s, clamped = 1, true
	}
	sw, sh := math.Max(1, math.Round(f.lw*s)), math.Max(1, math.Round(f.lh*s))
	if !clamped {
		sw, sh = math.Max(sw, tw), math.Max(sh, th)
	}
	if err := f.checkOut(sw, sh); err != nil {
		return err
	}
	cw, ch := math.Min(tw, sw), math.Min(th, sh)
	var faceX, faceY float64
	faced := false
	if (cw < sw || ch < sh) && facesType(typ) && f.t.e.o.Faces != nil {
		// Faces are found before the resize, where they are larger.
		found, err := f.faces()
		if err != nil {
			return err
		}
		if faceX, faceY, faced = facesCentre(found); faced {
			faceX, faceY = faceX*sw/f.lw, faceY*sh/f.lh
		}
	}
	if err := f.resizeTo(int(sw), int(sh)); err != nil {
		return err
	}
	if cw < sw || ch < sh {
		if faced {
			// Centred on the faces, kept inside the image.
			x := math.Max(0, math.Min(sw-cw, math.Round(faceX-cw/2)))
			y := math.Max(0, math.Min(sh-ch, math.Round(faceY-ch/2)))
			if err := f.do("crop", func(in vimg, out *vimg) C.int {
				return C.sat_extract(in, out, C.int(x), C.int(y), C.int(cw), C.int(ch))
			}); err != nil {
				return err
			}
		} else if typ != "" {
			if err := f.smartCrop(int(cw), int(ch)); err != nil {
				return err
			}
		} else {
			x, y := place(pos, sw, sh, cw, ch, cdnurl.AlignCenter)
			x = math.Max(0, math.Min(sw-cw, math.Round(x)))
			y = math.Max(0, math.Min(sh-ch, math.Round(y)))
			if err := f.do("crop", func(in vimg, out *vimg) C.int {
				return C.sat_extract(in, out, C.int(x), C.int(y), C.int(cw), C.int(ch))
			}); err != nil {
				return err
			}
		}
		f.lw, f.lh = cw, ch
	}
	if f.stretch == "fill" && (cw < tw || ch < th) {
		if err := f.pad(round((tw-cw)/2), round((th-ch)/2), int(tw), int(th)); err != nil {
			return err
		}
		f.lw, f.lh = tw, th
	}
	return nil
}

// smartCrop cuts w x h (working pixels) where libvips' attention measure
// (skin tones, saturation, edges) finds the most interest. It stands in
// for the object detector the smart types name, and for the face
// detector when there is none or it finds no face.
func (f *frame) smartCrop(w, h int) error {
	if err := f.random(); err != nil {
		return err
	}
	w, h = min(max(w, 1), f.w()), min(max(h, 1), f.h())
	return f.do("smart crop", func(in vimg, out *vimg) C.int { return C.sat_smartcrop(in, out, C.int(w), C.int(h)) })
}

func (f *frame) crop(op cdnurl.Op, o cdnurl.Crop) error {
	if o.Object == "face" && f.t.e.o.Faces != nil {
		found, err := f.faces()
		if err != nil {
			return err
		}
		if len(found) > 0 {
			return f.cropAround(op, o, found[0])
		}
	}
	var cw, ch float64
	def := cdnurl.Align("")
	switch {
	case o.Ratio != nil:
		if o.Ratio.A <= 0 || o.Ratio.B <= 0 {
			return opErr(op, "bad ratio")
		}
		r := o.Ratio.A / o.Ratio.B
		if f.lw/f.lh > r {
			ch, cw = f.lh, f.lh*r
		} else {
			cw, ch = f.lw, f.lw/r
		}
		def = cdnurl.AlignCenter
	case o.Size != nil:
		cw, ch = f.lw, f.lh
		if o.Size.WSet {
			cw = length(o.Size.W, f.lw)
		}
		if o.Size.HSet {
			ch = length(o.Size.H, f.lh)
		}
	case o.Object != "":
		return nil // the object is taken to be the whole image
	default:
		return opErr(op, "a size or ratio is required")
	}
	cw, ch = math.Max(1, math.Round(cw)), math.Max(1, math.Round(ch))
	if err := f.checkSide(op, cw, ch); err != nil {
		return err
	}
	if err := f.checkOut(cw, ch); err != nil {
		return err
	}
	if o.Object != "" && o.Position == nil {
		// No detector: the window goes where attention is highest.
		sx, sy := f.scale()
		if err := f.smartCrop(round(math.Min(cw, f.lw)*sx), round(math.Min(ch, f.lh)*sy)); err != nil {
			return err
		}
		f.lw, f.lh = math.Min(cw, f.lw), math.Min(ch, f.lh)
		return nil
	}
	x, y := place(o.Position, f.lw, f.lh, cw, ch, def)
	x, y = math.Round(x), math.Round(y)
	sx, sy := f.scale()
	ww, wh := max(1, round(cw*sx)), max(1, round(ch*sy))
	if cw <= f.lw {
		ww = min(ww, f.w())
	}
	if ch <= f.lh {
		wh = min(wh, f.h())
	}
	// The area is kept inside the image (offsets past an edge move it
	// back in); an area larger than the image keeps the image inside it.
	wx, wy := clampOffset(round(x*sx), ww, f.w()), clampOffset(round(y*sy), wh, f.h())
	var err error
	if ww <= f.w() && wh <= f.h() {
		err = f.do("crop", func(in vimg, out *vimg) C.int {
			return C.sat_extract(in, out, C.int(wx), C.int(wy), C.int(ww), C.int(wh))
		})
	} else {
		// Larger than the image: the rest is the fill colour.
		err = f.pad(-wx, -wy, ww, wh)
	}
	if err != nil {
		return err
	}
	f.lw, f.lh = cw, ch
	return nil
}

// cropAround crops around the object b (logical pixels): to b itself, to
// the smallest box of the ratio holding it, or to the size (percentages
// of b's size), placed so that b sits at the position in it (centred by
// default), and kept inside the image.
func (f *frame) cropAround(op cdnurl.Op, o cdnurl.Crop, b box) error {
	cw, ch := b.w, b.h
	switch {
	case o.Ratio != nil:
		if o.Ratio.A <= 0 || o.Ratio.B <= 0 {
			return opErr(op, "bad ratio")
		}
		r := o.Ratio.A / o.Ratio.B
		if b.w/b.h > r {
			ch = b.w / r
		} else {
			cw = b.h * r
		}
	case o.Size != nil:
		if o.Size.WSet {
			cw = length(o.Size.W, b.w)
		}
		if o.Size.HSet {
			ch = length(o.Size.H, b.h)
		}
	}
	cw = math.Max(1, math.Round(math.Min(cw, f.lw)))
	ch = math.Max(1, math.Round(math.Min(ch, f.lh)))
	ox, oy := place(o.Position, cw, ch, b.w, b.h, cdnurl.AlignCenter)
	x := math.Max(0, math.Min(f.lw-cw, math.Round(b.x-ox)))
	y := math.Max(0, math.Min(f.lh-ch, math.Round(b.y-oy)))
	sx, sy := f.scale()
	wx, wy := min(round(x*sx), f.w()-1), min(round(y*sy), f.h()-1)
	ww, wh := max(1, min(round(cw*sx), f.w()-wx)), max(1, min(round(ch*sy), f.h()-wy))
	if err := f.do("crop", func(in vimg, out *vimg) C.int {
		return C.sat_extract(in, out, C.int(wx), C.int(wy), C.int(ww), C.int(wh))
	}); err != nil {
		return err
	}
	f.lw, f.lh = cw, ch
	return nil
}

// clampOffset keeps an area of size at offset off on an axis of length n:
// inside it when it fits, else covering it.
func clampOffset(off, size, n int) int {
	lo, hi := 0, n-size
	if size > n {
		lo, hi = n-size, 0
	}
	return min(max(off, lo), hi)
}

// rotate turns counter-clockwise by deg.
func (f *frame) rotate(deg int) error {
	cw := ((-deg)%360 + 360) % 360
	if cw == 0 {
		return nil
	}
	if err := f.random(); err != nil {
		return err
	}
	if err := f.do("rotate", func(in vimg, out *vimg) C.int { return C.sat_rot(in, out, C.int(cw)) }); err != nil {
		return err
	}
	if cw != 180 {
		f.lw, f.lh = f.lh, f.lw
	}
	return nil
}
