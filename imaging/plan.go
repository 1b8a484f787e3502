package imaging

import (
	"math"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// planScale returns the scale (of the upright source) the first resizing
// operation will bring the image to, which is how much the decoder may
// shrink it: operations before it must commute with scaling (settings,
// colour adjustments, turns, flips and plain crops, whose coordinates are
// scaled too). Anything that works in pixels (blurs, layers, masks) ends
// the search at 1. Vector sources may also be scaled up (vector true).
func planScale(ops []cdnurl.Op, w, h float64, vector bool) float64 {
	stretch := "on"
	for _, op := range ops {
		switch o := op.(type) {
		case cdnurl.Stretch:
			stretch = o.Mode
		case cdnurl.SetFill, cdnurl.Format, cdnurl.Quality, cdnurl.Progressive,
			cdnurl.StripMeta, cdnurl.Inline, cdnurl.Rasterize, cdnurl.SRGB,
			cdnurl.MaxICCSize, cdnurl.TextAlign, cdnurl.Font, cdnurl.TextBox,
			cdnurl.Autorotate, cdnurl.Adjust, cdnurl.Grayscale, cdnurl.Invert,
			cdnurl.Flip, cdnurl.Mirror, cdnurl.Filter:
		case cdnurl.Rotate:
			if ((o.Degrees%180)+180)%180 != 0 {
				w, h = h, w
			}
		case cdnurl.Crop:
			if o.Object != "" {
				return 1
			}
			switch {
			case o.Ratio != nil && o.Ratio.A > 0 && o.Ratio.B > 0:
				r := o.Ratio.A / o.Ratio.B
				if w/h > r {
					w = h * r
				} else {
					h = w / r
				}
			case o.Size != nil:
				if o.Size.WSet {
					w = length(o.Size.W, w)
				}
				if o.Size.HSet {
					h = length(o.Size.H, h)
				}
			default:
				return 1
			}
			w, h = math.Max(1, math.Round(w)), math.Max(1, math.Round(h))
		case cdnurl.Preview:
			bw, bh := 2048.0, 2048.0
			if o.Size != nil && (o.Size.WSet || o.Size.HSet) {
				bw, bh = math.Inf(1), math.Inf(1)
				if o.Size.WSet {
					bw = length(o.Size.W, w)
				}
				if o.Size.HSet {
					bh = length(o.Size.H, h)
				}
			}
			return bounded(math.Min(1, math.Min(bw/w, bh/h)), vector)
		case cdnurl.Resize:
			tw, th, ok := sizeOf(o.Size, w, h)
			if !ok {
				return 1
			}
			s := math.Min(tw/w, th/h)
			if stretch != "on" {
				s = math.Min(s, 1)
			}
			return bounded(s, vector)
		case cdnurl.ScaleCrop:
			s := coverScale(o.Size, w, h, stretch, vector)
			if facesType(o.Type) {
				// Faces are looked for before the resize, on up to
				// faceBox pixels.
				s = math.Max(s, bounded(math.Min(1, faceBox/math.Max(w, h)), vector))
			}
			return s
		case DetectFaces:
			return bounded(math.Min(1, faceBox/math.Max(w, h)), vector)
		case cdnurl.SmartResize:
			return coverScale(o.Size, w, h, stretch, vector)
		case cdnurl.JSON, cdnurl.MainColors:
			// The answer is computed on a small copy.
			return bounded(math.Min(1, 256/math.Max(w, h)), vector)
		default:
			return 1
		}
	}
	return 1
}

func coverScale(sz cdnurl.Size, w, h float64, stretch string, vector bool) float64 {
	tw, th, ok := sizeOf(sz, w, h)
	if !ok {
		return 1
	}
	s := math.Max(tw/w, th/h)
	if stretch != "on" {
		s = math.Min(s, 1)
	}
	return bounded(s, vector)
}

// sizeOf resolves a target size against w x h as the operations do.
func sizeOf(sz cdnurl.Size, w, h float64) (float64, float64, bool) {
	if !sz.WSet && !sz.HSet {
		return 0, 0, false
	}
	var tw, th float64
	if sz.WSet {
		tw = length(sz.W, w)
	}
	if sz.HSet {
		th = length(sz.H, h)
	}
	if !sz.HSet {
		th = tw * h / w
	}
	if !sz.WSet {
		tw = th * w / h
	}
	return math.Max(1, math.Round(tw)), math.Max(1, math.Round(th)), true
}

// bounded keeps raster sources from being scaled up on load.
func bounded(s float64, vector bool) float64 {
	if s <= 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return 1
	}
	if !vector && s > 1 {
		return 1
	}
	return s
}

// estimate is the rough cost, in pixels processed, of a transform of src:
// see planCost. Sources that are not Sized are guessed from their length.
func (e *Engine) estimate(src Source, ops []cdnurl.Op) int64 {
	var w, h float64
	if s, ok := src.(Sized); ok {
		if sw, sh, ok := s.Dimensions(); ok && sw > 0 && sh > 0 {
			w, h = float64(sw), float64(sh)
		}
	}
	if w == 0 {
		px := math.Min(float64(max(src.Size(), 1))*4, float64(e.o.MaxPixels))
		w = math.Max(1, math.Sqrt(px))
		h = w
	}
	return int64(math.Min(planCost(ops, w, h), math.MaxInt64/2))
}

// planCost sums the pixels each operation works on, weighted by how much
// work it does per pixel, from a w×h source decoded at the scale the
// operations allow, plus the output pixels encoded.
func planCost(ops []cdnurl.Op, w, h float64) float64 {
	s := math.Max(planScale(ops, w, h, false), 1.0/8)
	cost := w * h * s * s
	stretch := "on"
	for _, op := range ops {
		px := w * h
		if needsFaces(op) {
			cost += faceCost
		}
		switch o := op.(type) {
		case cdnurl.Stretch:
			stretch = o.Mode
			continue
		case cdnurl.Preview:
			bw, bh := 2048.0, 2048.0
			if o.Size != nil && (o.Size.WSet || o.Size.HSet) {
				bw, bh = math.Inf(1), math.Inf(1)
				if o.Size.WSet {
					bw = length(o.Size.W, w)
				}
				if o.Size.HSet {
					bh = length(o.Size.H, h)
				}
			}
			k := math.Min(1, math.Min(bw/w, bh/h))
			w, h = w*k, h*k
		case cdnurl.Resize:
			if tw, th, ok := sizeOf(o.Size, w, h); ok {
				if stretch == "off" {
					w, h = math.Min(tw, w), math.Min(th, h)
				} else {
					w, h = tw, th
				}
			}
		case cdnurl.ScaleCrop, cdnurl.SmartResize:
			var sz cdnurl.Size
			if sc, ok := o.(cdnurl.ScaleCrop); ok {
				sz = sc.Size
			} else {
				sz = o.(cdnurl.SmartResize).Size
			}
			if tw, th, ok := sizeOf(sz, w, h); ok {
				k := math.Max(tw/w, th/h)
				if stretch != "on" {
					k = math.Min(k, 1)
				}
				cost += w * h * k * k
				w, h = tw, th
			}
		case cdnurl.Crop:
			switch {
			case o.Size != nil:
				if o.Size.WSet {
					w = length(o.Size.W, w)
				}
				if o.Size.HSet {
					h = length(o.Size.H, h)
				}
			case o.Ratio != nil && o.Ratio.A > 0 && o.Ratio.B > 0:
				r := o.Ratio.A / o.Ratio.B
				if w/h > r {
					w = h * r
				} else {
					h = w / r
				}
			}
			cost += px // attention search, when there is one
		case cdnurl.Blur, cdnurl.BlurRegion, cdnurl.Sharp, cdnurl.Enhance:
			cost += 3 * px
		case cdnurl.BorderRadius, cdnurl.Overlay, cdnurl.Text, cdnurl.Rect, cdnurl.Rotate, cdnurl.Flip:
			cost += px
		}
		w, h = math.Max(1, w), math.Max(1, h)
		cost += w * h
	}
	return cost + w*h // encoding
}
