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

// Colour adjustments. The ones that map each value on its own (brightness,
// exposure, gamma, contrast, warmth, invert, enhance) run as one lookup
// table; saturation and grayscale are one colour matrix; vibrance weighs
// the saturation change by how grey each pixel already is. They act on the
// sRGB values and leave alpha alone:
//
//	brightness N  v + 2.55·N
//	exposure N    v · 2^(N/100)               (N/100 stops)
//	gamma N       255 · (v/255)^(100/N)       (100 neutral, more is lighter)
//	contrast N    (v − 127.5)·(1 + N/100) + 127.5
//	saturation N  luma + (v − luma)·(1 + N/100), luma = .299R + .587G + .114B
//	vibrance N    as saturation with factor 1 + N/100·(1 − s), s = (max−min)/max
//	warmth N      R·(1 + N/400), B·(1 − N/400)
//	grayscale     luma in all three bands
//	invert        255 − v
//	enhance N     stretch of the 1%–99% luma range, by N/100 of the way

// lutOf builds the per-band lookup table fn describes for an image of
// n bands (alpha, band 3, is kept).
func lutOf(n int, fn func(v float64, band int) float64) []byte {
	lut := make([]byte, 256*n)
	for v := 0; v < 256; v++ {
		for b := 0; b < n; b++ {
			x := float64(v)
			if b < 3 {
				x = fn(x, b)
			}
			lut[v*n+b] = clampByte(x)
		}
	}
	return lut
}

func clampByte(x float64) byte {
	x = math.Round(x)
	switch {
	case x < 0 || math.IsNaN(x):
		return 0
	case x > 255:
		return 255
	}
	return byte(x)
}

func (f *frame) lut(fn func(v float64, band int) float64) error {
	n := bands(f.img)
	lut := lutOf(n, fn)
	return f.do("lut", func(in vimg, out *vimg) C.int {
		return C.sat_maplut(in, out, (*C.uchar)(unsafe.Pointer(&lut[0])), C.int(n))
	})
}

// matrix applies a 3x3 colour matrix to the colour bands, rounding back
// to 8 bits.
func (f *frame) matrix(m [9]float64) error {
	n := bands(f.img)
	mat := make([]float64, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			switch {
			case r < 3 && c < 3:
				mat[r*n+c] = m[r*3+c]
			case r == c:
				mat[r*n+c] = 1
			}
		}
	}
	s := &scope{t: f.t}
	defer s.close()
	in := f.img
	x := s.op("recomb", func(out *vimg) C.int {
		return C.sat_recomb(in, out, dp(mat), C.int(n), C.int(n))
	})
	x = s.toUchar(x, n)
	if s.err != nil {
		return s.err
	}
	f.replace(ref(x))
	return nil
}

// toUchar rounds a float image of n bands to 8 bits.
func (s *scope) toUchar(x vimg, n int) vimg {
	a, b := make([]float64, n), make([]float64, n)
	for i := range a {
		a[i], b[i] = 1, 0.5
	}
	return s.op("round", func(out *vimg) C.int {
		return C.sat_linear(x, out, dp(a), dp(b), C.int(n), 1)
	})
}

const lumaR, lumaG, lumaB = 0.299, 0.587, 0.114

func saturationMatrix(k float64) [9]float64 {
	var m [9]float64
	l := [3]float64{lumaR, lumaG, lumaB}
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			m[r*3+c] = (1 - k) * l[c]
			if r == c {
				m[r*3+c] += k
			}
		}
	}
	return m
}

func (f *frame) grayscale() error { return f.matrix(saturationMatrix(0)) }

func (f *frame) adjust(op cdnurl.Op, o cdnurl.Adjust) error {
	n := float64(o.Value)
	switch o.Op {
	case "brightness":
		return f.lut(func(v float64, _ int) float64 { return v + 2.55*n })
	case "exposure":
		k := math.Pow(2, n/100)
		return f.lut(func(v float64, _ int) float64 { return v * k })
	case "gamma":
		e := 100 / math.Max(n, 1)
		return f.lut(func(v float64, _ int) float64 { return 255 * math.Pow(v/255, e) })
	case "contrast":
		k := 1 + n/100
		return f.lut(func(v float64, _ int) float64 { return (v-127.5)*k + 127.5 })
	case "warmth":
		k := n / 400
		return f.lut(func(v float64, band int) float64 {
			switch band {
			case 0:
				return v * (1 + k)
			case 2:
				return v * (1 - k)
			}
			return v
		})
	case "saturation":
		return f.matrix(saturationMatrix(1 + n/100))
	case "vibrance":
		return f.vibrance(n / 100)
	}
	return opErr(op, "unknown adjustment")
}

func (f *frame) vibrance(v float64) error {
	if v == 0 {
		return nil
	}
	s := &scope{t: f.t}
	defer s.close()
	in := f.img
	rgb := in
	if f.alpha() {
		rgb = s.op("bands", func(out *vimg) C.int { return C.sat_extract_band(in, out, 0, 3) })
	}
	mx := s.op("max", func(out *vimg) C.int { return C.sat_bandmax(rgb, out, 1) })
	mn := s.op("min", func(out *vimg) C.int { return C.sat_bandmax(rgb, out, 0) })
	diff := s.op("range", func(out *vimg) C.int { return C.sat_subtract(mx, mn, out) })
	one, tiny := []float64{1}, []float64{1e-6}
	mxf := s.op("max", func(out *vimg) C.int {
		return C.sat_linear(mx, out, dp(one), dp(tiny), 1, 0)
	})
	sat := s.op("saturation", func(out *vimg) C.int { return C.sat_divide(diff, mxf, out) })
	ka, kb := []float64{-v}, []float64{1 + v}
	fac := s.op("factor", func(out *vimg) C.int {
		return C.sat_linear(sat, out, dp(ka), dp(kb), 1, 0)
	})
	l := []float64{lumaR, lumaG, lumaB}
	lum := s.op("luma", func(out *vimg) C.int {
		return C.sat_recomb(rgb, out, dp(l), 1, 3)
	})
	d := s.op("chroma", func(out *vimg) C.int { return C.sat_subtract(rgb, lum, out) })
	d = s.op("vibrance", func(out *vimg) C.int { return C.sat_multiply(d, fac, out) })
	d = s.op("vibrance", func(out *vimg) C.int { return C.sat_add(d, lum, out) })
	d = s.toUchar(d, 3)
	if f.alpha() {
		a := s.op("alpha", func(out *vimg) C.int { return C.sat_extract_band(in, out, 3, 1) })
		d = s.op("join", func(out *vimg) C.int { return C.sat_bandjoin2(d, a, out) })
	}
	if s.err != nil {
		return s.err
	}
	f.replace(ref(d))
	return nil
}

// enhance stretches the luma range: strength 0..100 is how far the 1st
// and 99th percentiles move towards 0 and 255.
func (f *frame) enhance(strength int) error {
	if strength <= 0 {
		return nil
	}
	k := math.Min(float64(strength), 100) / 100
	if err := f.random(); err != nil {
		return err
	}
	s := &scope{t: f.t}
	in := f.img
	if f.alpha() {
		in = s.op("bands", func(out *vimg) C.int { return C.sat_extract_band(f.img, out, 0, 3) })
	}
	l := []float64{lumaR, lumaG, lumaB}
	lum := s.op("luma", func(out *vimg) C.int { return C.sat_recomb(in, out, dp(l), 1, 3) })
	lum = s.toUchar(lum, 1)
	hist := s.op("histogram", func(out *vimg) C.int { return C.sat_hist_find(lum, out) })
	var counts []uint32
	if s.err == nil {
		var buf unsafe.Pointer
		var n C.size_t
		if C.sat_write_memory(hist, &buf, &n) != 0 {
			s.err = f.t.vipsError("histogram")
		} else {
			counts = append(counts, unsafe.Slice((*uint32)(buf), int(n)/4)...)
			C.g_free(C.gpointer(buf))
		}
	}
	s.close()
	if s.err != nil {
		return s.err
	}
	lo, hi := percentiles(counts, 0.01, 0.99)
	lo2, hi2 := float64(lo)*k, 255-(255-float64(hi))*k
	if hi2-lo2 < 1 {
		return nil
	}
	return f.lut(func(v float64, _ int) float64 { return (v - lo2) * 255 / (hi2 - lo2) })
}

// percentiles finds the values below which fractions a and b of the
// histogram lie.
func percentiles(h []uint32, a, b float64) (int, int) {
	var total float64
	for _, c := range h {
		total += float64(c)
	}
	lo, hi := 0, len(h)-1
	var acc float64
	loSet := false
	for v, c := range h {
		acc += float64(c)
		if !loSet && acc > a*total {
			lo, loSet = v, true
		}
		if acc >= b*total {
			hi = v
			break
		}
	}
	return lo, hi
}

// blurSigma maps the blur strength (0..5000, default 10) to the Gaussian
// standard deviation in pixels.
func blurSigma(strength int) float64 { return float64(strength) / 2 }

// Blurs up to blurDirect (sigma) run at full size in float precision
// (libvips' integer masks are too coarse); wider ones run on a copy
// reduced so that the blur there is blurReduced wide, then scale back: a
// faithful Gaussian at a cost that no longer grows with the width.
const blurDirect, blurReduced = 6.0, 3.0

// gauss makes a Gaussian blur of in (a new reference). Wide blurs run on
// a reduced copy and are scaled back, which costs the same at any width.
func (s *scope) gauss(in vimg, sigma float64) vimg {
	if s.err != nil {
		return nil
	}
	w, h := width(in), height(in)
	sigma = math.Min(sigma, float64(max(w, h)))
	if sigma < 0.2 {
		return in
	}
	if sigma <= blurDirect {
		return s.op("blur", func(out *vimg) C.int { return C.sat_gaussblur(in, out, C.double(sigma)) })
	}
	k := sigma / blurReduced
	sw, sh := max(1, round(float64(w)/k)), max(1, round(float64(h)/k))
	small := s.op("blur", func(out *vimg) C.int {
		return C.sat_resize(in, out, C.double(float64(sw)/float64(w)), C.double(float64(sh)/float64(h)))
	})
	if s.err != nil {
		return nil
	}
	sw, sh = width(small), height(small)
	b := s.op("blur", func(out *vimg) C.int { return C.sat_gaussblur(small, out, C.double(sigma*float64(sw)/float64(w))) })
	b = s.op("blur", func(out *vimg) C.int {
		return C.sat_resize(b, out, C.double(float64(w)/float64(sw)), C.double(float64(h)/float64(sh)))
	})
	if s.err != nil {
		return nil
	}
	if width(b) != w || height(b) != h {
		b = s.op("blur", func(out *vimg) C.int { return C.sat_embed(b, out, 0, 0, C.int(w), C.int(h), nil, 0) })
	}
	return b
}

// blurred returns in blurred by sigma and mixed with the original by
// amount (1: all blur, negative: unsharp mask). The result is 8-bit.
func (s *scope) blurred(in vimg, sigma, amount float64) vimg {
	n := bands(in)
	alpha := n == 4
	x := in
	if alpha {
		x = s.op("premultiply", func(out *vimg) C.int { return C.sat_premultiply(in, out) })
	}
	b := s.gauss(x, sigma)
	if amount != 1 && s.err == nil {
		a1, a2, zero := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range a1 {
			a1[i], a2[i] = 1-amount, amount
		}
		p := s.op("mix", func(out *vimg) C.int {
			return C.sat_linear(x, out, dp(a1), dp(zero), C.int(n), 0)
		})
		q := s.op("mix", func(out *vimg) C.int {
			return C.sat_linear(b, out, dp(a2), dp(zero), C.int(n), 0)
		})
		b = s.op("mix", func(out *vimg) C.int { return C.sat_add(p, q, out) })
	}
	if alpha {
		b = s.op("unpremultiply", func(out *vimg) C.int { return C.sat_unpremultiply(b, out) })
	}
	if s.err == nil && C.vips_image_get_format(b) != C.VIPS_FORMAT_UCHAR {
		b = s.toUchar(b, n)
	}
	return b
}

func (f *frame) blur(sigma, amount float64) error {
	if sigma < 0.2 || amount == 0 {
		return nil
	}
	if err := f.random(); err != nil {
		return err
	}
	s := &scope{t: f.t}
	defer s.close()
	b := s.blurred(f.img, sigma, amount)
	if s.err != nil {
		return s.err
	}
	f.replace(ref(b))
	return nil
}

func (f *frame) blurRegion(op cdnurl.Op, o cdnurl.BlurRegion) error {
	if o.Faces {
		return f.blurFaces(o.Strength)
	}
	rw, rh := f.lw, f.lh
	if o.Size.WSet {
		rw = length(o.Size.W, f.lw)
	}
	if o.Size.HSet {
		rh = length(o.Size.H, f.lh)
	}
	x, y := place(&o.Position, f.lw, f.lh, rw, rh, "")
	return f.blurRect(x, y, rw, rh, o.Strength)
}

// blurRect blurs the rw×rh rectangle at x,y (logical pixels; the part
// inside the image) with strength (0: the default, 10).
func (f *frame) blurRect(x, y, rw, rh float64, strength int) error {
	sx, sy := f.scale()
	x0, y0 := max(0, round(x*sx)), max(0, round(y*sy))
	x1, y1 := min(f.w(), round((x+rw)*sx)), min(f.h(), round((y+rh)*sy))
	if x1 <= x0 || y1 <= y0 {
		return nil
	}
	if strength <= 0 {
		strength = 10
	}
	if err := f.random(); err != nil {
		return err
	}
	s := &scope{t: f.t}
	defer s.close()
	in := f.img
	sub := s.op("blur region", func(out *vimg) C.int {
		return C.sat_extract(in, out, C.int(x0), C.int(y0), C.int(x1-x0), C.int(y1-y0))
	})
	if s.err != nil {
		return s.err
	}
	b := s.blurred(sub, blurSigma(strength), 1)
	r := s.op("blur region", func(out *vimg) C.int { return C.sat_insert(in, b, out, C.int(x0), C.int(y0)) })
	if s.err != nil {
		return s.err
	}
	f.replace(ref(r))
	return nil
}

// sharp sharpens the lightness with libvips' edge-aware unsharp mask;
// strength 0..20 scales the gain on edges (5 is libvips' own default).
func (f *frame) sharp(strength int) error {
	if strength <= 0 {
		return nil
	}
	k := float64(min(strength, 20))
	return f.do("sharpen", func(in vimg, out *vimg) C.int {
		return C.sat_sharpen(in, out, 1.0, C.double(k*0.6), C.double(10+2*k), C.double(20+2*k))
	})
}

// borderRadius cuts the corners round with an anti-aliased mask. Radii
// follow CSS: 1 to 4 values (top-left, top-right, bottom-right,
// bottom-left), percentages of the width (of the height for vertical
// radii, which default to the horizontal ones), scaled down together
// when neighbours overlap.
func (f *frame) borderRadius(o cdnurl.BorderRadius) error {
	if len(o.Radii) == 0 {
		return nil
	}
	w, h := float64(f.w()), float64(f.h())
	sx, sy := f.scale()
	hr := corners(o.Radii, f.lw)
	vsrc, vref := o.Vertical, f.lh
	if len(vsrc) == 0 {
		vsrc = o.Radii
	}
	vr := corners(vsrc, vref)
	for i := range hr {
		hr[i] = math.Max(0, hr[i]*sx)
		vr[i] = math.Max(0, vr[i]*sy)
	}
	k := 1.0
	for _, p := range [][3]float64{{hr[0] + hr[1], w}, {hr[3] + hr[2], w}, {vr[0] + vr[3], h}, {vr[1] + vr[2], h}} {
		if p[0] > p[1] {
			k = math.Min(k, p[1]/p[0])
		}
	}
	zero := true
	for i := range hr {
		hr[i], vr[i] = hr[i]*k, vr[i]*k
		if hr[i] > 0 && vr[i] > 0 {
			zero = false
		}
	}
	if zero {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d"><path fill="#fff" d="`, int(w), int(h))
	fmt.Fprintf(&b, "M%g,0 L%g,0 ", hr[0], w-hr[1])
	fmt.Fprintf(&b, "A%g,%g 0 0 1 %g,%g ", hr[1], vr[1], w, vr[1])
	fmt.Fprintf(&b, "L%g,%g ", w, h-vr[2])
	fmt.Fprintf(&b, "A%g,%g 0 0 1 %g,%g ", hr[2], vr[2], w-hr[2], h)
	fmt.Fprintf(&b, "L%g,%g ", hr[3], h)
	fmt.Fprintf(&b, "A%g,%g 0 0 1 %g,%g ", hr[3], vr[3], 0.0, h-vr[3])
	fmt.Fprintf(&b, "L0,%g ", vr[0])
	fmt.Fprintf(&b, "A%g,%g 0 0 1 %g,0 Z\"/></svg>", hr[0], vr[0], hr[0])
	svg := b.String()

	s := &scope{t: f.t}
	defer s.close()
	csvg := C.CString(svg)
	defer C.free(unsafe.Pointer(csvg))
	in := f.img
	m := s.op("mask", func(out *vimg) C.int { return C.sat_svg(csvg, C.size_t(len(svg)), out) })
	if s.err == nil && (width(m) != f.w() || height(m) != f.h()) {
		mm := m
		m = s.op("mask", func(out *vimg) C.int { return C.sat_embed(mm, out, 0, 0, C.int(f.w()), C.int(f.h()), nil, 0) })
	}
	m = s.op("mask", func(out *vimg) C.int { return C.sat_extract_band(m, out, 3, 1) })
	var r vimg
	if f.alpha() {
		rgb := s.op("bands", func(out *vimg) C.int { return C.sat_extract_band(in, out, 0, 3) })
		a := s.op("alpha", func(out *vimg) C.int { return C.sat_extract_band(in, out, 3, 1) })
		a = s.op("alpha", func(out *vimg) C.int { return C.sat_multiply(a, m, out) })
		k, half := []float64{1.0 / 255}, []float64{0.5}
		a = s.op("alpha", func(out *vimg) C.int {
			return C.sat_linear(a, out, dp(k), dp(half), 1, 1)
		})
		r = s.op("alpha", func(out *vimg) C.int { return C.sat_bandjoin2(rgb, a, out) })
	} else {
		r = s.op("alpha", func(out *vimg) C.int { return C.sat_bandjoin2(in, m, out) })
	}
	if s.err != nil {
		return s.err
	}
	f.replace(ref(r))
	return nil
}

// corners expands 1 to 4 CSS radii to top-left, top-right, bottom-right,
// bottom-left.
func corners(l []cdnurl.Length, ref float64) [4]float64 {
	v := make([]float64, len(l))
	for i := range l {
		v[i] = length(l[i], ref)
	}
	switch len(v) {
	case 1:
		return [4]float64{v[0], v[0], v[0], v[0]}
	case 2:
		return [4]float64{v[0], v[1], v[0], v[1]}
	case 3:
		return [4]float64{v[0], v[1], v[2], v[1]}
	}
	return [4]float64{v[0], v[1], v[2], v[3]}
}
