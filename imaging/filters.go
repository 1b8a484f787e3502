package imaging

import (
	"math"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Named filters (-/filter/<name>/<amount>/). Uploadcare's filters are
// proprietary looks; these are Satchel's own colour transforms with the
// same names, so every name answers an image, but the pixels do not match
// Uploadcare's. Each filter is a colour matrix followed by a per-band tone
// curve, both on the sRGB values (alpha is kept):
//
//	matrix  (1 − sepia)·S(1 + saturation) + sepia·Sepia
//	        S(k): luma + (v − luma)·k, luma = .299R + .587G + .114B
//	        Sepia: R' = .393R + .769G + .189B, G' = .349R + .686G + .168B,
//	               B' = .272R + .534G + .131B
//	curve   v·(1 + gain[band]) → 255·(v/255)^(1/(1 + gamma)) → (v − 127.5)·(1 + contrast) + 127.5
//	        → + brightness → + shadows[band]·(1 − t)² + highlights[band]·t² (t = v/255)
//	        → fade: black lifted to 80·fade, white lowered to 255 − 30·fade
//
// The amount a = N/100 (default 100, range −100..200) blends both stages
// from identity: M_a = I + a·(M − I) and curve_a(v) = v + a·(curve(v) − v),
// so 0 changes nothing, 100 is the look, and values past it extrapolate.

// filterLook is one named filter's parameters; zero values are neutral.
type filterLook struct {
	Saturation float64    // chroma scale around luma is 1 + Saturation (−1: grey)
	Sepia      float64    // 0..1 blend towards the sepia matrix
	Gain       [3]float64 // per-band multiplier 1 + Gain (white balance)
	Gamma      float64    // gamma 1 + Gamma; more lightens the midtones
	Contrast   float64    // around mid-grey
	Brightness float64    // added to every band
	Shadows    [3]float64 // per-band tint of the dark tones
	Highlights [3]float64 // per-band tint of the light tones
	Fade       float64    // 0..1 matte: lifted blacks, softened whites
}

// filterLooks holds the parameters of every name in cdnurl.FilterNames.
var filterLooks = map[string]filterLook{
	"adaris":     {Saturation: -0.15, Gain: [3]float64{-0.03, 0, 0.06}, Contrast: 0.05, Fade: 0.15},
	"briaril":    {Sepia: 0.25, Saturation: -0.1, Gain: [3]float64{0.06, 0, -0.1}, Contrast: 0.1, Fade: 0.1},
	"calarel":    {Saturation: 0.3, Contrast: 0.2},
	"carris":     {Saturation: -0.2, Contrast: -0.1, Brightness: 8, Fade: 0.2},
	"cynarel":    {Saturation: 0.1, Contrast: 0.1, Shadows: [3]float64{-12, 6, 14}, Highlights: [3]float64{14, 4, -10}},
	"cyren":      {Saturation: -0.1, Gain: [3]float64{-0.1, 0, 0.12}},
	"elmet":      {Saturation: -1, Contrast: 0.3},
	"elonni":     {Saturation: -1, Contrast: -0.05, Fade: 0.25},
	"enzana":     {Saturation: 0.1, Gain: [3]float64{0.1, 0.04, -0.12}, Gamma: 0.08},
	"erydark":    {Saturation: -0.2, Gamma: -0.1, Contrast: 0.25, Brightness: -18},
	"fenralan":   {Saturation: -0.1, Gain: [3]float64{-0.04, 0.05, -0.05}, Fade: 0.12},
	"ferand":     {Contrast: 0.1, Highlights: [3]float64{12, -4, 10}},
	"galen":      {Sepia: 0.85, Contrast: 0.05},
	"gavin":      {Saturation: -0.15, Gain: [3]float64{0.05, 0, -0.05}, Fade: 0.3},
	"gethriel":   {Saturation: 0.25, Gain: [3]float64{-0.05, 0, 0.08}, Contrast: 0.1},
	"iorill":     {Saturation: -0.1, Gamma: 0.15, Contrast: -0.05, Brightness: 12},
	"iothari":    {Gain: [3]float64{0.05, 0, -0.07}, Contrast: 0.35},
	"iselva":     {Saturation: 0.05, Gain: [3]float64{-0.05, 0.03, 0}, Shadows: [3]float64{-6, 8, 10}},
	"jadis":      {Saturation: -1, Gain: [3]float64{-0.05, 0, 0.08}, Contrast: 0.1},
	"lavra":      {Saturation: -0.1, Gain: [3]float64{0.03, -0.05, 0.08}, Fade: 0.1},
	"misiara":    {Saturation: 0.05, Gain: [3]float64{0.08, -0.03, 0}, Highlights: [3]float64{8, 0, 6}},
	"namala":     {Contrast: 0.05, Shadows: [3]float64{0, 10, 4}, Fade: 0.15},
	"nerion":     {Saturation: 0.1, Contrast: 0.15, Shadows: [3]float64{-4, 0, 16}},
	"nethari":    {Saturation: -0.4, Contrast: 0.1, Brightness: -8},
	"pamaya":     {Saturation: -0.2, Gain: [3]float64{0.06, 0.02, -0.04}, Brightness: 10, Fade: 0.1},
	"sarnar":     {Saturation: 0.15, Contrast: 0.15, Shadows: [3]float64{-16, 4, 18}, Highlights: [3]float64{18, 6, -14}},
	"sedis":      {Sepia: 0.5, Fade: 0.15},
	"sewen":      {Saturation: -0.15, Gain: [3]float64{-0.04, 0, 0.05}, Fade: 0.2},
	"sorahel":    {Saturation: 0.15, Gain: [3]float64{0.08, 0.05, -0.1}, Brightness: 8},
	"sorlen":     {Gain: [3]float64{-0.08, -0.02, 0.1}, Contrast: 0.15, Brightness: -10},
	"tarian":     {Saturation: 0.2, Gain: [3]float64{0.1, -0.02, -0.04}, Contrast: 0.05},
	"thellassan": {Saturation: 0.1, Gain: [3]float64{-0.1, 0.04, 0.1}, Highlights: [3]float64{-6, 4, 10}},
	"varriel":    {Saturation: -1, Gamma: 0.2, Contrast: -0.05, Brightness: 15},
	"varven":     {Saturation: -0.1, Contrast: 0.2, Shadows: [3]float64{4, 0, -6}, Fade: 0.08},
	"vevera":     {Saturation: 0.35, Gain: [3]float64{0.05, 0, -0.05}, Contrast: 0.1},
	"virkas":     {Saturation: -0.55, Contrast: 0.35},
	"yedis":      {Saturation: -0.15, Gain: [3]float64{0.03, 0.05, -0.12}, Fade: 0.18},
	"yllara":     {Saturation: 0.05, Gamma: 0.1, Contrast: -0.12, Brightness: 5},
	"zatvel":     {Saturation: 0.2, Contrast: 0.15, Shadows: [3]float64{0, -6, 18}, Highlights: [3]float64{10, 12, -18}},
	"zevcen":     {Saturation: -1, Contrast: 0.45, Brightness: -10},
}

var sepiaMatrix = [9]float64{
	0.393, 0.769, 0.189,
	0.349, 0.686, 0.168,
	0.272, 0.534, 0.131,
}

// matrix is the look's colour matrix at full strength.
func (l filterLook) matrix() [9]float64 {
	m := saturationMatrix(1 + l.Saturation)
	for i := range m {
		m[i] = (1-l.Sepia)*m[i] + l.Sepia*sepiaMatrix[i]
	}
	return m
}

// curve is the look's tone curve for one band at full strength.
func (l filterLook) curve(v float64, band int) float64 {
	x := v * (1 + l.Gain[band])
	x = 255 * math.Pow(math.Max(x, 0)/255, 1/(1+l.Gamma))
	x = (x-127.5)*(1+l.Contrast) + 127.5
	x += l.Brightness
	t := math.Min(math.Max(x, 0), 255) / 255
	x += l.Shadows[band]*(1-t)*(1-t) + l.Highlights[band]*t*t
	lo, hi := 80*l.Fade, 255-30*l.Fade
	return lo + x*(hi-lo)/255
}

// filter applies a named filter at o.Strength percent.
func (f *frame) filter(op cdnurl.Op, o cdnurl.Filter) error {
	l, ok := filterLooks[o.Filter]
	if !ok {
		return opErr(op, "unknown filter")
	}
	a := float64(o.Strength) / 100
	if a == 0 {
		return nil
	}
	m, identity := l.matrix(), true
	for i := range m {
		id := 0.0
		if i%4 == 0 {
			id = 1
		}
		m[i] = id + a*(m[i]-id)
		if math.Abs(m[i]-id) > 1e-9 {
			identity = false
		}
	}
	if !identity {
		if err := f.matrix(m); err != nil {
			return err
		}
	}
	return f.lut(func(v float64, band int) float64 { return v + a*(l.curve(v, band)-v) })
}
