package imaging

import (
	"image/color"
	"math"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestFilterTableComplete: every filter name the URL grammar accepts has
// a look, and no look is left without a name or equal to another.
func TestFilterTableComplete(t *testing.T) {
	seen := map[filterLook]string{}
	for _, n := range cdnurl.FilterNames {
		l, ok := filterLooks[n]
		if !ok {
			t.Errorf("filter %q has no look", n)
			continue
		}
		if l == (filterLook{}) {
			t.Errorf("filter %q is the identity", n)
		}
		if other, dup := seen[l]; dup {
			t.Errorf("filters %q and %q are the same look", n, other)
		}
		seen[l] = n
	}
	if len(filterLooks) != len(cdnurl.FilterNames) {
		t.Errorf("%d looks for %d names", len(filterLooks), len(cdnurl.FilterNames))
	}
}

// filterExpect computes a filter on one pixel as the documentation says.
func filterExpect(l filterLook, a float64) func(r, g, b float64) (float64, float64, float64) {
	m := l.matrix()
	return func(r, g, b float64) (float64, float64, float64) {
		in := [3]float64{r, g, b}
		var out [3]float64
		for i := 0; i < 3; i++ {
			mixed := 0.0
			for j := 0; j < 3; j++ {
				mixed += m[i*3+j] * in[j]
			}
			v := in[i] + a*(mixed-in[i])
			v = float64(clamp8(v))
			out[i] = v + a*(l.curve(v, i)-v)
		}
		return out[0], out[1], out[2]
	}
}

// TestFilters applies every named filter at several amounts and compares
// with the documented formula; amount 0 is the identity.
func TestFilters(t *testing.T) {
	e := newEngine(t, Options{})
	src := pattern(64, 48)
	in := memSource{encodePNG(t, src)}
	for _, n := range cdnurl.FilterNames {
		for _, amount := range []int{100, 50, 0, -40, 150} {
			got := decode(t, do(t, e, in, cdnurl.Filter{Filter: n, Strength: amount}))
			want := expectColour(src, filterExpect(filterLooks[n], float64(amount)/100))
			if d := mae(t, got, want, false); d > 1 {
				t.Errorf("%s/%d: mean abs error %.2f", n, amount, d)
			}
			if amount == 100 {
				if d := mae(t, got, src, false); d < 2 {
					t.Errorf("%s/100 barely changes the image (%.2f)", n, d)
				}
			}
		}
	}
}

// TestFilterKeepsAlpha: the colour stages leave the alpha band alone.
func TestFilterKeepsAlpha(t *testing.T) {
	e := newEngine(t, Options{})
	src := mapPixels(pattern(32, 32), func(c color.NRGBA) color.NRGBA { c.A = 100; return c })
	got := decode(t, do(t, e, memSource{encodePNG(t, src)}, cdnurl.Filter{Filter: "galen", Strength: 100}))
	var worst float64
	for i := 3; i < len(got.Pix); i += 4 {
		worst = math.Max(worst, math.Abs(float64(got.Pix[i])-100))
	}
	if worst > 1 {
		t.Errorf("alpha changed by up to %.0f", worst)
	}
}
