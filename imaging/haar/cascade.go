// Package haar detects objects (faces) with a boosted cascade of Haar-like
// features in the XML form OpenCV 4 writes (the cascades Debian's
// opencv-data package ships under /usr/share/opencv4/haarcascades), in pure
// Go.
//
// Detection follows Viola and Jones: a window of the cascade's size slides
// over a pyramid of the grey image (each level 1/ScaleFactor of the last);
// at each position the window's standard deviation normalises the feature
// values, and each stage sums the leaf values of its weak classifiers
// (stumps or small trees over rectangle sums read from an integral image)
// and rejects the window when the sum falls below the stage threshold.
// Windows that pass every stage are grouped: overlapping ones (similar
// position and size) form one detection, kept when more than MinNeighbors
// windows agree, as OpenCV's groupRectangles does.
package haar

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Cascade is a loaded classifier. It is read-only and safe for concurrent
// use.
type Cascade struct {
	// Width and Height are the detection window's size in pixels.
	Width, Height int
	stages        []stage
	features      []feature
}

type stage struct {
	threshold float64
	weak      []weak
}

// weak is one weak classifier: a tree of nodes whose leaves hold values.
type weak struct {
	nodes  []node
	leaves []float64
}

// node compares one feature with a threshold. left and right are the next
// node's index when positive, else the negated index of a leaf.
type node struct {
	left, right int
	feature     int
	threshold   float64
}

// feature is a weighted sum of up to three rectangle sums.
type feature struct {
	rects [3]rect
	n     int
}

type rect struct {
	x, y, w, h int
	weight     float64
}

// XML layout of an OpenCV 4 cascade.
type xmlStorage struct {
	Cascade *xmlCascade `xml:"cascade"`
}

type xmlCascade struct {
	StageType   string       `xml:"stageType"`
	FeatureType string       `xml:"featureType"`
	Height      int          `xml:"height"`
	Width       int          `xml:"width"`
	MaxCatCount int          `xml:"featureParams>maxCatCount"`
	Stages      []xmlStage   `xml:"stages>_"`
	Features    []xmlFeature `xml:"features>_"`
}

type xmlStage struct {
	Threshold float64   `xml:"stageThreshold"`
	Weak      []xmlWeak `xml:"weakClassifiers>_"`
}

type xmlWeak struct {
	InternalNodes string `xml:"internalNodes"`
	LeafValues    string `xml:"leafValues"`
}

type xmlFeature struct {
	Rects  []string `xml:"rects>_"`
	Tilted int      `xml:"tilted"`
}

// stageEps is subtracted from stage thresholds, as OpenCV does when it
// reads them, so that sums equal to the threshold within rounding pass.
const stageEps = 1e-5

// Load reads a cascade from an XML file.
func Load(path string) (*Cascade, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("haar: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("haar: %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a cascade in the XML form OpenCV 4 writes (a <cascade>
// element with stages, weakClassifiers, internalNodes, leafValues and
// features/rects). Only Haar features, upright, are supported; LBP/HOG
// cascades and tilted (45°) features are refused.
func Parse(r io.Reader) (*Cascade, error) {
	var doc xmlStorage
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading cascade XML: %w", err)
	}
	x := doc.Cascade
	if x == nil {
		return nil, fmt.Errorf("no <cascade> element (only the OpenCV 4 cascade format is read)")
	}
	if x.StageType != "BOOST" || x.FeatureType != "HAAR" {
		return nil, fmt.Errorf("stage type %q, feature type %q: only BOOST cascades of HAAR features are supported", x.StageType, x.FeatureType)
	}
	if x.MaxCatCount > 0 {
		return nil, fmt.Errorf("categorical features are not supported")
	}
	if x.Width <= 2 || x.Height <= 2 || x.Width > 256 || x.Height > 256 {
		return nil, fmt.Errorf("window %dx%d out of range", x.Width, x.Height)
	}
	if len(x.Stages) == 0 {
		return nil, fmt.Errorf("no stages")
	}
	c := &Cascade{Width: x.Width, Height: x.Height}
	for i, xf := range x.Features {
		f, err := parseFeature(xf, x.Width, x.Height)
		if err != nil {
			return nil, fmt.Errorf("feature %d: %w", i, err)
		}
		c.features = append(c.features, f)
	}
	for i, xs := range x.Stages {
		s := stage{threshold: xs.Threshold - stageEps}
		for j, xw := range xs.Weak {
			w, err := parseWeak(xw, len(c.features))
			if err != nil {
				return nil, fmt.Errorf("stage %d, classifier %d: %w", i, j, err)
			}
			s.weak = append(s.weak, w)
		}
		if len(s.weak) == 0 {
			return nil, fmt.Errorf("stage %d has no classifiers", i)
		}
		c.stages = append(c.stages, s)
	}
	return c, nil
}

func parseFeature(xf xmlFeature, ww, wh int) (feature, error) {
	var f feature
	if xf.Tilted != 0 {
		return f, fmt.Errorf("tilted features are not supported")
	}
	if len(xf.Rects) < 1 || len(xf.Rects) > 3 {
		return f, fmt.Errorf("%d rectangles (1 to 3 expected)", len(xf.Rects))
	}
	for i, s := range xf.Rects {
		v, err := numbers(s, 5)
		if err != nil {
			return f, err
		}
		r := rect{x: int(v[0]), y: int(v[1]), w: int(v[2]), h: int(v[3]), weight: v[4]}
		if r.x < 0 || r.y < 0 || r.w <= 0 || r.h <= 0 || r.x+r.w > ww || r.y+r.h > wh {
			return f, fmt.Errorf("rectangle %q outside the %dx%d window", strings.TrimSpace(s), ww, wh)
		}
		f.rects[i] = r
	}
	f.n = len(xf.Rects)
	return f, nil
}

func parseWeak(xw xmlWeak, nfeatures int) (weak, error) {
	var w weak
	leaves, err := numbers(xw.LeafValues, -1)
	if err != nil {
		return w, err
	}
	v, err := numbers(xw.InternalNodes, -1)
	if err != nil {
		return w, err
	}
	if len(v) == 0 || len(v)%4 != 0 {
		return w, fmt.Errorf("%d internal node values (4 per node expected)", len(v))
	}
	w.leaves = leaves
	for i := 0; i < len(v); i += 4 {
		n := node{left: int(v[i]), right: int(v[i+1]), feature: int(v[i+2]), threshold: v[i+3]}
		if n.feature < 0 || n.feature >= nfeatures {
			return w, fmt.Errorf("feature index %d out of range", n.feature)
		}
		w.nodes = append(w.nodes, n)
	}
	// Every branch must lead forward to a node or to an existing leaf, so
	// that evaluation always ends.
	for i, n := range w.nodes {
		for _, next := range []int{n.left, n.right} {
			if next > 0 && (next <= i || next >= len(w.nodes)) || next <= 0 && -next >= len(leaves) {
				return w, fmt.Errorf("node %d: branch %d out of range", i, next)
			}
		}
	}
	return w, nil
}

// numbers parses whitespace-separated numbers; want < 0 accepts any count.
func numbers(s string, want int) ([]float64, error) {
	fields := strings.Fields(s)
	if want >= 0 && len(fields) != want {
		return nil, fmt.Errorf("%q: %d numbers expected", strings.TrimSpace(s), want)
	}
	out := make([]float64, len(fields))
	for i, fs := range fields {
		v, err := strconv.ParseFloat(fs, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", fs)
		}
		out[i] = v
	}
	return out, nil
}
