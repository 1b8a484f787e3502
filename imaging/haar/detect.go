package haar

import (
	"errors"
	"math"
	"sort"
)

// Rect is a detection: top-left corner and size in pixels of the image
// given to Detect.
type Rect struct {
	X, Y, W, H int
}

// Options tune Detect. Zero fields take the defaults.
type Options struct {
	// ScaleFactor is the ratio between pyramid levels (default 1.1).
	ScaleFactor float64
	// MinNeighbors is how many more than it overlapping windows a
	// detection needs (default 3, as OpenCV's detectMultiScale); negative
	// keeps every window ungrouped.
	MinNeighbors int
	// MinSize and MaxSize bound the side of the objects looked for, in
	// pixels (default: the window's size; no upper bound).
	MinSize, MaxSize int
	// Stop, when set, is asked between rows of windows; when it reports
	// true Detect gives up with ErrStopped.
	Stop func() bool
}

// ErrStopped is returned when Options.Stop ended a detection.
var ErrStopped = errors.New("haar: detection stopped")

// groupEps is how far, relative to their size, windows may differ and
// still be grouped (OpenCV's default).
const groupEps = 0.2

// Detect finds the objects in the w×h grey image gray (one byte per pixel,
// rows top to bottom).
func (c *Cascade) Detect(gray []byte, w, h int, o Options) ([]Rect, error) {
	if w <= 0 || h <= 0 || len(gray) < w*h {
		return nil, errors.New("haar: image buffer smaller than its size")
	}
	if o.ScaleFactor <= 1 {
		o.ScaleFactor = 1.1
	}
	if o.MinNeighbors == 0 {
		o.MinNeighbors = 3
	}
	var found []Rect
	var lv level
	for factor := 1.0; ; factor *= o.ScaleFactor {
		sw, sh := int(math.Round(float64(w)/factor)), int(math.Round(float64(h)/factor))
		ow, oh := int(math.Round(float64(c.Width)*factor)), int(math.Round(float64(c.Height)*factor))
		if sw < c.Width || sh < c.Height || o.MaxSize > 0 && (ow > o.MaxSize || oh > o.MaxSize) {
			break
		}
		if ow < o.MinSize || oh < o.MinSize {
			continue
		}
		lv.build(gray, w, h, sw, sh)
		step := 2
		if factor > 2 {
			step = 1
		}
		hits, err := c.scan(&lv, step, o.Stop)
		if err != nil {
			return nil, err
		}
		for _, p := range hits {
			found = append(found, Rect{
				X: int(math.Round(float64(p[0]) * factor)), Y: int(math.Round(float64(p[1]) * factor)),
				W: ow, H: oh,
			})
		}
	}
	if o.MinNeighbors < 0 {
		return found, nil
	}
	return group(found, o.MinNeighbors, groupEps), nil
}

// level is one pyramid level: its integral and squared integral images,
// (w+1)×(h+1) with a zero first row and column.
type level struct {
	w, h   int
	stride int
	img    []byte
	sum    []int32
	sq     []int64
}

// build scales the source to sw×sh (bilinear) and computes the integrals.
func (l *level) build(src []byte, w, h, sw, sh int) {
	l.w, l.h, l.stride = sw, sh, sw+1
	n := (sw + 1) * (sh + 1)
	if cap(l.sum) < n {
		l.sum, l.sq = make([]int32, n), make([]int64, n)
	}
	l.sum, l.sq = l.sum[:n], l.sq[:n]
	if cap(l.img) < sw*sh {
		l.img = make([]byte, sw*sh)
	}
	l.img = l.img[:sw*sh]
	resize(src, w, h, l.img, sw, sh)
	for x := 0; x <= sw; x++ {
		l.sum[x], l.sq[x] = 0, 0
	}
	for y := 1; y <= sh; y++ {
		row := l.img[(y-1)*sw : y*sw]
		var rs int32
		var rq int64
		o, p := y*l.stride, (y-1)*l.stride
		l.sum[o], l.sq[o] = 0, 0
		for x, v := range row {
			rs += int32(v)
			rq += int64(v) * int64(v)
			l.sum[o+x+1] = l.sum[p+x+1] + rs
			l.sq[o+x+1] = l.sq[p+x+1] + rq
		}
	}
}

// resize scales src (w×h) into dst (dw×dh) bilinearly, pixel centres
// aligned.
func resize(src []byte, w, h int, dst []byte, dw, dh int) {
	if w == dw && h == dh {
		copy(dst, src[:w*h])
		return
	}
	fx, fy := float64(w)/float64(dw), float64(h)/float64(dh)
	x0s, x1s, wxs := make([]int, dw), make([]int, dw), make([]float64, dw)
	for x := 0; x < dw; x++ {
		sx := math.Max(0, (float64(x)+0.5)*fx-0.5)
		x0 := min(int(sx), w-1)
		x0s[x], x1s[x], wxs[x] = x0, min(x0+1, w-1), sx-float64(x0)
	}
	for y := 0; y < dh; y++ {
		sy := math.Max(0, (float64(y)+0.5)*fy-0.5)
		y0 := min(int(sy), h-1)
		y1, wy := min(y0+1, h-1), sy-float64(y0)
		r0, r1 := src[y0*w:], src[y1*w:]
		out := dst[y*dw : (y+1)*dw]
		for x := range out {
			a, b := float64(r0[x0s[x]]), float64(r0[x1s[x]])
			c, d := float64(r1[x0s[x]]), float64(r1[x1s[x]])
			top := a + (b-a)*wxs[x]
			bot := c + (d-c)*wxs[x]
			out[x] = byte(top + (bot-top)*wy + 0.5)
		}
	}
}

// placed is a feature's rectangles as offsets into one level's integral
// image (unused rectangles have zero weight and offsets).
type placed struct {
	off [3][4]int
	wt  [3]float64
}

// place lays feature f out for an integral image of the given stride.
func (f *feature) place(stride int) placed {
	var p placed
	for j := 0; j < f.n; j++ {
		r := f.rects[j]
		p.off[j] = corners(stride, r.x, r.y, r.w, r.h)
		p.wt[j] = r.weight
	}
	return p
}

// value is the feature's weighted rectangle sum in the window at base
// (an unused third rectangle adds 0: its offsets and weight are zero).
func (p *placed) value(sum []int32, base int) float64 {
	w := sum[base:]
	o := &p.off
	return p.wt[0]*float64(w[o[0][3]]-w[o[0][1]]-w[o[0][2]]+w[o[0][0]]) +
		p.wt[1]*float64(w[o[1][3]]-w[o[1][1]]-w[o[1][2]]+w[o[1][0]]) +
		p.wt[2]*float64(w[o[2][3]]-w[o[2][1]]-w[o[2][2]]+w[o[2][0]])
}

// compiled is a tree node with its feature placed for one level.
type compiled struct {
	placed
	threshold   float64
	left, right int
}

// compile lays the cascade's nodes out for one level's stride: stage by
// stage, classifier by classifier, each node with its feature inline.
func (c *Cascade) compile(stride int) []compiled {
	var out []compiled
	for _, st := range c.stages {
		for _, wk := range st.weak {
			for _, n := range wk.nodes {
				out = append(out, compiled{c.features[n.feature].place(stride), n.threshold, n.left, n.right})
			}
		}
	}
	return out
}

// scan runs the cascade over every step-th window of the level and
// returns the top-left corners of the windows every stage accepted. As in
// OpenCV, a window the first stage rejects also skips the next position.
func (c *Cascade) scan(l *level, step int, stop func() bool) ([][2]int, error) {
	stumps := c.stumps(l.stride)
	var nodes []compiled
	if stumps == nil {
		nodes = c.compile(l.stride)
	}
	// Variance is measured inside a one-pixel margin, as OpenCV does.
	norm := corners(l.stride, 1, 1, c.Width-2, c.Height-2)
	area := float64((c.Width - 2) * (c.Height - 2))
	var hits [][2]int
	for y := 0; y+c.Height <= l.h; y += step {
		if stop != nil && stop() {
			return nil, ErrStopped
		}
		for x := 0; x+c.Width <= l.w; x += step {
			base := y*l.stride + x
			s := float64(sum32(l.sum, base, norm))
			q := float64(sum64(l.sq, base, norm))
			nf := area*q - s*s
			if nf > 0 {
				nf = math.Sqrt(nf)
			} else {
				nf = 1
			}
			var passed int
			if stumps != nil {
				passed = c.runStumps(l.sum, base, stumps, nf)
			} else {
				passed = c.run(l.sum, base, nodes, nf)
			}
			switch passed {
			case 0:
				x += step
			case len(c.stages):
				hits = append(hits, [2]int{x, y})
			}
		}
	}
	return hits, nil
}

// corners are the integral offsets of a rectangle's four corners.
func corners(stride, x, y, w, h int) [4]int {
	return [4]int{y*stride + x, y*stride + x + w, (y+h)*stride + x, (y+h)*stride + x + w}
}

func sum32(s []int32, base int, c [4]int) int32 {
	return s[base+c[3]] - s[base+c[1]] - s[base+c[2]] + s[base+c[0]]
}

func sum64(s []int64, base int, c [4]int) int64 {
	return s[base+c[3]] - s[base+c[1]] - s[base+c[2]] + s[base+c[0]]
}

// stump is a one-node weak classifier with its feature placed for one
// level, its threshold and both leaves.
type stump struct {
	placed
	threshold   float64
	left, right float64
}

// stumps lays out every weak classifier for one level's stride when all
// of them are stumps (as in the frontal face cascades), stage by stage;
// nil when some classifier is a tree.
func (c *Cascade) stumps(stride int) []stump {
	var out []stump
	for _, st := range c.stages {
		for _, wk := range st.weak {
			n := wk.nodes[0]
			if len(wk.nodes) != 1 || n.left > 0 || n.right > 0 {
				return nil
			}
			out = append(out, stump{c.features[n.feature].place(stride), n.threshold, wk.leaves[-n.left], wk.leaves[-n.right]})
		}
	}
	return out
}

// runStumps is run for cascades of stumps.
func (c *Cascade) runStumps(sum []int32, base int, stumps []stump, nf float64) int {
	k := 0
	for si := range c.stages {
		st := &c.stages[si]
		acc := 0.0
		for i := k; i < k+len(st.weak); i++ {
			sp := &stumps[i]
			// placed.value by hand: the hot loop, and the call is not inlined.
			w, o := sum[base:], &sp.off
			v := sp.wt[0]*float64(w[o[0][3]]-w[o[0][1]]-w[o[0][2]]+w[o[0][0]]) +
				sp.wt[1]*float64(w[o[1][3]]-w[o[1][1]]-w[o[1][2]]+w[o[1][0]]) +
				sp.wt[2]*float64(w[o[2][3]]-w[o[2][1]]-w[o[2][2]]+w[o[2][0]])
			if v < sp.threshold*nf {
				acc += sp.left
			} else {
				acc += sp.right
			}
		}
		k += len(st.weak)
		if acc < st.threshold {
			return si
		}
	}
	return len(c.stages)
}

// run evaluates the stages on the window at base and returns how many it
// passed. nf is the window's contrast (area × standard deviation): a
// feature's value over nf is compared with the node's threshold.
func (c *Cascade) run(sum []int32, base int, nodes []compiled, nf float64) int {
	k := 0 // first node of the current classifier
	for si := range c.stages {
		st := &c.stages[si]
		acc := 0.0
		for wi := range st.weak {
			wk := &st.weak[wi]
			idx := 0
			for {
				n := &nodes[k+idx]
				if n.value(sum, base) < n.threshold*nf {
					idx = n.left
				} else {
					idx = n.right
				}
				if idx <= 0 {
					break
				}
			}
			acc += wk.leaves[-idx]
			k += len(wk.nodes)
		}
		if acc < st.threshold {
			return si
		}
	}
	return len(c.stages)
}

// group merges similar windows: windows whose corners lie within eps of
// their size of each other fall in one class; a class of more than
// minNeighbors windows becomes its average rectangle, unless it lies
// inside a larger class that has clearly more support.
func group(rs []Rect, minNeighbors int, eps float64) []Rect {
	if len(rs) == 0 {
		return nil
	}
	parent := make([]int, len(rs))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if similar(rs[i], rs[j], eps) {
				parent[find(i)] = find(j)
			}
		}
	}
	type class struct {
		x, y, w, h, n int
	}
	byRoot := map[int]*class{}
	var order []int
	for i, r := range rs {
		root := find(i)
		c := byRoot[root]
		if c == nil {
			c = &class{}
			byRoot[root] = c
			order = append(order, root)
		}
		c.x += r.X
		c.y += r.Y
		c.w += r.W
		c.h += r.H
		c.n++
	}
	type avg struct {
		r Rect
		n int
	}
	avgs := make([]avg, 0, len(order))
	for _, root := range order {
		c := byRoot[root]
		k := float64(c.n)
		avgs = append(avgs, avg{Rect{
			X: int(math.Round(float64(c.x) / k)), Y: int(math.Round(float64(c.y) / k)),
			W: int(math.Round(float64(c.w) / k)), H: int(math.Round(float64(c.h) / k)),
		}, c.n})
	}
	var out []Rect
	for i, a := range avgs {
		if a.n <= minNeighbors {
			continue
		}
		inside := false
		for j, b := range avgs {
			if j == i || b.n <= minNeighbors {
				continue
			}
			dx, dy := int(math.Round(float64(b.r.W)*eps)), int(math.Round(float64(b.r.H)*eps))
			if a.r.X >= b.r.X-dx && a.r.Y >= b.r.Y-dy &&
				a.r.X+a.r.W <= b.r.X+b.r.W+dx && a.r.Y+a.r.H <= b.r.Y+b.r.H+dy &&
				(b.n > max(3, a.n) || a.n < 3) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, a.r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Y != out[j].Y {
			return out[i].Y < out[j].Y
		}
		return out[i].X < out[j].X
	})
	return out
}

// similar reports whether two windows differ by at most eps of their
// smaller size at every edge.
func similar(a, b Rect, eps float64) bool {
	d := eps * float64(min(a.W, b.W)+min(a.H, b.H)) * 0.5
	return math.Abs(float64(a.X-b.X)) <= d && math.Abs(float64(a.Y-b.Y)) <= d &&
		math.Abs(float64(a.X+a.W-b.X-b.W)) <= d && math.Abs(float64(a.Y+a.H-b.Y-b.H)) <= d
}
