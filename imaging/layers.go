package imaging

/*
#include "vips.h"
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Layers drawn over the image: overlay, rect and text. Sizes in percent
// are of the image; positions follow place (top-left by default).

// composite draws layer (RGBA) at x,y, keeping the image's band layout.
func (f *frame) composite(layer vimg, x, y int) error {
	s := &scope{t: f.t}
	defer s.close()
	in := f.img
	hadAlpha := f.alpha()
	r := s.op("composite", func(out *vimg) C.int { return C.sat_composite_over(in, layer, out, C.int(x), C.int(y)) })
	if s.err == nil && C.vips_image_get_format(r) != C.VIPS_FORMAT_UCHAR {
		r = s.op("cast", func(out *vimg) C.int { return C.sat_cast_uchar(r, out) })
	}
	if s.err == nil && !hadAlpha && bands(r) == 4 {
		r = s.op("bands", func(out *vimg) C.int { return C.sat_extract_band(r, out, 0, 3) })
	}
	if s.err != nil {
		return s.err
	}
	f.replace(ref(r))
	return nil
}

// solid makes a w x h RGBA layer of colour c.
func (s *scope) solid(w, h int, c cdnurl.Color) vimg {
	v := []float64{float64(c.R), float64(c.G), float64(c.B), float64(c.A)}
	return s.op("solid", func(out *vimg) C.int { return C.sat_solid(out, C.int(max(w, 1)), C.int(max(h, 1)), dp(v), 4) })
}

func (f *frame) rect(o cdnurl.Rect) error {
	W, H := float64(f.w()), float64(f.h())
	rw, rh := W, H
	if o.Size.WSet {
		rw = length(o.Size.W, W)
	}
	if o.Size.HSet {
		rh = length(o.Size.H, H)
	}
	rw, rh = math.Round(rw), math.Round(rh)
	if rw < 1 || rh < 1 || o.Color.A == 0 {
		return nil
	}
	x, y := place(&o.Position, W, H, rw, rh, "")
	s := &scope{t: f.t}
	defer s.close()
	l := s.solid(int(rw), int(rh), o.Color)
	if s.err != nil {
		return s.err
	}
	return f.composite(l, round(x), round(y))
}

// fit scales w x h to fit inside bw x bh keeping the ratio.
func fit(w, h, bw, bh float64) (float64, float64) {
	k := math.Min(bw/w, bh/h)
	return math.Max(1, math.Round(w*k)), math.Max(1, math.Round(h*k))
}

func (f *frame) overlay(op cdnurl.Op, o cdnurl.Overlay) error {
	W, H := float64(f.w()), float64(f.h())
	bw, bh := W, H // the box the layer must fit in
	upscale := false
	if o.Size != nil && (o.Size.WSet || o.Size.HSet) {
		bw, bh = math.Inf(1), math.Inf(1)
		if o.Size.WSet {
			bw = length(o.Size.W, W)
		}
		if o.Size.HSet {
			bh = length(o.Size.H, H)
		}
		upscale = true
	}
	s := &scope{t: f.t}
	defer s.close()
	var layer vimg
	if o.UUID == "self" {
		if err := f.random(); err != nil {
			return err
		}
		in := f.img
		lw, lh := W, H
		if upscale || lw > bw || lh > bh {
			lw, lh = fit(W, H, bw, bh)
		}
		if err := f.t.checkLayer(lw, lh); err != nil {
			return err
		}
		layer = in
		if lw != W || lh != H {
			hs, vs := lw/W, lh/H
			layer = s.op("overlay", func(out *vimg) C.int { return C.sat_resize(in, out, C.double(hs), C.double(vs)) })
		}
		if s.err == nil && bands(layer) == 3 {
			l := layer
			layer = s.op("overlay", func(out *vimg) C.int { return C.sat_addalpha(l, out) })
		}
		if s.err != nil {
			return s.err
		}
	} else {
		im, err := f.t.overlayImage(op, o.UUID, bw, bh, upscale)
		if err != nil {
			return err
		}
		layer = im // owned by the task's cache
	}
	if o.Opacity != nil {
		p := math.Max(0, math.Min(100, o.Opacity.Value)) / 100
		if p == 0 {
			return nil
		}
		if p < 1 {
			a, b := []float64{1, 1, 1, p}, []float64{0, 0, 0, 0.5}
			l := layer
			layer = s.op("opacity", func(out *vimg) C.int { return C.sat_linear(l, out, dp(a), dp(b), 4, 1) })
			if s.err != nil {
				return s.err
			}
		}
	}
	x, y := place(o.Position, W, H, float64(width(layer)), float64(height(layer)), "")
	return f.composite(layer, round(x), round(y))
}

func (t *task) checkLayer(w, h float64) error {
	if w*h > float64(t.e.o.MaxOutputPixels) {
		return ErrTooLarge
	}
	return nil
}

// overlayImage decodes overlay file uuid as an RGBA image fitted inside
// bw x bh (only shrunk unless upscale), in memory. Frames of an animation
// share it.
func (t *task) overlayImage(op cdnurl.Op, uuid string, bw, bh float64, upscale bool) (vimg, error) {
	key := fmt.Sprintf("%s|%g|%g|%v", uuid, bw, bh, upscale)
	if im, ok := t.overlayImgs[key]; ok {
		return im, nil
	}
	if t.overlays == nil {
		return nil, opErr(op, "overlay %s is not available", uuid)
	}
	src, err := t.overlays(uuid)
	if err != nil {
		return nil, opErr(op, "overlay %s: %v", uuid, err)
	}
	if src == nil {
		return nil, opErr(op, "overlay %s is not available", uuid)
	}
	sub := newTask(t.e, uuid, src, nil, "", nil)
	C.sat_ctl_unref(sub.ctl)
	C.sat_ctl_ref(t.ctl)
	sub.ctl = t.ctl
	defer sub.close()
	im, err := sub.decodeLayer(bw, bh, upscale)
	if err != nil {
		if err == ErrNotImage {
			return nil, opErr(op, "overlay %s is not an image", uuid)
		}
		return nil, err
	}
	t.overlayImgs[key] = im
	return im, nil
}

// decodeLayer decodes the task's source upright, fitted, as RGBA in
// memory.
func (t *task) decodeLayer(bw, bh float64, upscale bool) (vimg, error) {
	if err := t.open(); err != nil {
		return nil, err
	}
	probe, err := t.load(loadOpts())
	if err != nil {
		return nil, err
	}
	t.hdr = readHeader(probe)
	unref(probe)
	if t.hdr.width <= 0 || t.hdr.height <= 0 {
		return nil, ErrNotImage
	}
	if int64(t.hdr.width)*int64(t.hdr.height) > t.e.o.MaxPixels {
		return nil, ErrTooLarge
	}
	lw, lh := t.logicalSize()
	tw, th := lw, lh
	if upscale || lw > bw || lh > bh {
		tw, th = fit(lw, lh, bw, bh)
	}
	if err := t.checkLayer(tw, th); err != nil {
		return nil, err
	}
	root, seq, err := t.decode(math.Min(tw/lw, th/lh))
	if err != nil {
		return nil, err
	}
	fr := &frame{t: t, img: root, lw: lw, lh: lh, seq: seq, stretch: "on"}
	defer func() { unref(fr.img) }()
	if err := fr.toSRGB(); err != nil {
		return nil, err
	}
	if t.hdr.orientation > 1 {
		if err := fr.random(); err != nil {
			return nil, err
		}
		if err := fr.do("autorotate", func(in vimg, out *vimg) C.int { return C.sat_autorot(in, out) }); err != nil {
			return nil, err
		}
	}
	if err := fr.resizeTo(int(tw), int(th)); err != nil {
		return nil, err
	}
	if !fr.alpha() {
		if err := fr.do("alpha", func(in vimg, out *vimg) C.int { return C.sat_addalpha(in, out) }); err != nil {
			return nil, err
		}
	}
	var out vimg
	if C.sat_copy_memory(fr.img, &out) != 0 {
		return nil, t.vipsError("overlay")
	}
	return out, nil
}

var markup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// text draws o.Text in a box of o.Size at o.Position with the font,
// alignment and text box set before. The text wraps at the box width and
// is clipped to the box. Box modes: none; fill paints the whole box; fit
// paints the text's bounds plus padding; line is drawn as fit.
func (f *frame) text(o cdnurl.Text) error {
	if strings.TrimSpace(o.Text) == "" {
		return nil
	}
	W, H := float64(f.w()), float64(f.h())
	bw, bh := W, H
	if o.Size.WSet {
		bw = length(o.Size.W, W)
	}
	if o.Size.HSet {
		bh = length(o.Size.H, H)
	}
	bw, bh = math.Max(1, math.Round(bw)), math.Max(1, math.Round(bh))
	bx, by := place(&o.Position, W, H, bw, bh, "")
	pad := 0
	if f.boxMode != "none" && f.boxMode != "" {
		pad = f.boxPad
	}
	inner := int(bw) - 2*pad
	if inner < 1 || int(bh)-2*pad < 1 {
		return nil
	}
	align := -1
	switch f.textH {
	case "center":
		align = 0
	case "right":
		align = 1
	}
	// Glyphs larger than the box only get clipped, and the renderer
	// would draw them whole first: bound the work.
	fs := min(max(f.fontSize, 1), int(bh))
	if float64(len(o.Text))*float64(fs)*float64(fs) > 4*float64(f.t.e.o.MaxOutputPixels) {
		return &OpError{Op: "text", Msg: "text too large"}
	}
	ctext := C.CString(markup.Replace(o.Text))
	defer C.free(unsafe.Pointer(ctext))
	cfont := C.CString(fmt.Sprintf("sans %d", fs))
	defer C.free(unsafe.Pointer(cfont))

	s := &scope{t: f.t}
	defer s.close()
	mask := s.op("text", func(out *vimg) C.int { return C.sat_text(out, ctext, cfont, C.int(inner), C.int(align)) })
	if s.err != nil {
		return s.err
	}
	mw, mh := min(width(mask), inner), min(height(mask), int(bh)-2*pad)
	if mw != width(mask) || mh != height(mask) {
		m := mask
		mask = s.op("text", func(out *vimg) C.int { return C.sat_extract(m, out, 0, 0, C.int(mw), C.int(mh)) })
	}
	tx := float64(pad)
	switch f.textH {
	case "center":
		tx = (bw - float64(mw)) / 2
	case "right":
		tx = bw - float64(pad) - float64(mw)
	}
	ty := float64(pad)
	switch f.textV {
	case "center":
		ty = (bh - float64(mh)) / 2
	case "bottom":
		ty = bh - float64(pad) - float64(mh)
	}
	switch f.boxMode {
	case "fill":
		if f.boxColor.A > 0 {
			if err := f.drawSolid(s, int(bw), int(bh), f.boxColor, round(bx), round(by)); err != nil {
				return err
			}
		}
	case "fit", "line":
		if f.boxColor.A > 0 {
			if err := f.drawSolid(s, mw+2*pad, mh+2*pad, f.boxColor, round(bx+tx)-pad, round(by+ty)-pad); err != nil {
				return err
			}
		}
	}
	// The glyphs: the font colour with the rendered coverage as alpha.
	c := f.fontColor
	rgb := []float64{float64(c.R), float64(c.G), float64(c.B)}
	col := s.op("text", func(out *vimg) C.int { return C.sat_solid(out, C.int(mw), C.int(mh), dp(rgb), 3) })
	a, b := []float64{float64(c.A) / 255}, []float64{0.5}
	m := mask
	alpha := s.op("text", func(out *vimg) C.int { return C.sat_linear(m, out, dp(a), dp(b), 1, 1) })
	layer := s.op("text", func(out *vimg) C.int { return C.sat_bandjoin2(col, alpha, out) })
	if s.err != nil {
		return s.err
	}
	return f.composite(layer, round(bx+tx), round(by+ty))
}

func (f *frame) drawSolid(s *scope, w, h int, c cdnurl.Color, x, y int) error {
	l := s.solid(w, h, c)
	if s.err != nil {
		return s.err
	}
	return f.composite(l, x, y)
}
