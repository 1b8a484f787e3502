package imaging

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// TestCropAtOrPastEdges runs crops of every form at and past the edges of
// a 64×48 image: the area is moved inside the image, an area larger than
// the image keeps the image inside it, and none of them fails.
func TestCropAtOrPastEdges(t *testing.T) {
	e := newEngine(t, Options{})
	const W, H = 64, 48
	src := pattern(W, H)
	in := memSource{encodePNG(t, src)}
	white := color.NRGBA{255, 255, 255, 255}
	half := boxResize(src, 32, 24)
	cases := []struct {
		ops  string
		want *image.NRGBA
		tol  float64
	}{
		{"crop/10x10/1000,1000/", sub(src, 54, 38, 10, 10, white), 0},
		{"crop/10x10/64,48/", sub(src, 54, 38, 10, 10, white), 0},
		{"crop/10x10/60,40/", sub(src, 54, 38, 10, 10, white), 0},
		{"crop/10x10/54,38/", sub(src, 54, 38, 10, 10, white), 0},
		{"crop/10x10/1000,5/", sub(src, 54, 5, 10, 10, white), 0},
		{"crop/10x10/-100,-100/", sub(src, 0, 0, 10, 10, white), 0},
		{"crop/10x10/-5,20/", sub(src, 0, 20, 10, 10, white), 0},
		{"crop/64x48/10,10/", src, 0},
		{"crop/64x48/", src, 0},
		{"crop/100px100p/", src, 0},
		{"crop/100px100p/bottom/", src, 0},
		{"crop/50px50p/100p,100p/", sub(src, 32, 24, 32, 24, white), 0},
		{"crop/50px50p/1000,1000/", sub(src, 32, 24, 32, 24, white), 0},
		{"crop/10x10/right/", sub(src, 54, 19, 10, 10, white), 0},
		{"crop/10x10/bottom/", sub(src, 27, 38, 10, 10, white), 0},
		{"crop/10x10/center/", sub(src, 27, 19, 10, 10, white), 0},
		{"crop/1:1/1000,1000/", sub(src, 16, 0, 48, 48, white), 0},
		{"crop/1:1/100p,0p/", sub(src, 16, 0, 48, 48, white), 0},
		{"crop/image/50px50p/1000,1000/", sub(src, 32, 24, 32, 24, white), 0},
		{"crop/face/10x10/-3,1000/", sub(src, 0, 38, 10, 10, white), 0},
		// Larger than the image: the image stays inside the area.
		{"crop/100x100/1000,1000/", sub(src, 0, 0, 100, 100, white), 0},
		{"crop/100x100/-10,-20/", sub(src, -10, -20, 100, 100, white), 0},
		{"crop/100x100/-1000,-1000/", sub(src, -36, -52, 100, 100, white), 0},
		{"crop/100x100/center/", sub(src, -18, -26, 100, 100, white), 0},
		{"crop/100x20/1000,1000/", sub(src, 0, 28, 100, 20, white), 0},
		// After a resize the coordinates are those of the resized image.
		{"resize/32x24/-/crop/10x10/100,100/", sub(half, 22, 14, 10, 10, white), 4},
	}
	for _, c := range cases {
		t.Run(c.ops, func(t *testing.T) {
			ops, err := cdnurl.ParseOps(c.ops)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, cdnurl.Format{Format: "png"})
			res, err := e.Do(context.Background(), "u", in, ops, "", nil)
			if err != nil {
				t.Fatalf("%s: %v", c.ops, err)
			}
			got := decode(t, res)
			if got.Bounds().Size() != c.want.Bounds().Size() {
				t.Fatalf("size %v, want %v", got.Bounds().Size(), c.want.Bounds().Size())
			}
			if d := mae(t, got, c.want, false); d > c.tol+0.01 {
				t.Errorf("mean abs error %.2f > %.2f", d, c.tol)
			}
		})
	}
}
