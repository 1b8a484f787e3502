package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
)

// cmdPhoto writes a deterministic photo-like JPEG: a sky-to-ground
// gradient, soft blobs, fine texture and sensor-like noise. A smooth
// synthetic picture would compress to little and decode unrealistically
// fast; the noise brings a 4000x3000 quality-90 file to about 6 MB, like a
// camera photo.
func cmdPhoto(args []string) error {
	fs := flag.NewFlagSet("photo", flag.ExitOnError)
	out := fs.String("out", "", "output file")
	w := fs.Int("w", 4000, "width")
	h := fs.Int("h", 3000, "height")
	q := fs.Int("q", 90, "JPEG quality")
	noise := fs.Float64("noise", 60, "noise amplitude (0..255)")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	img := photo(*w, *h, *noise)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := jpeg.Encode(bw, img, &jpeg.Options{Quality: *q}); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	st, _ := f.Stat()
	fmt.Fprintf(os.Stderr, "photo: %s %dx%d q%d, %d bytes\n", *out, *w, *h, *q, st.Size())
	return f.Close()
}

type blob struct{ x, y, r, cr, cg, cb float64 }

func photo(w, h int, amp float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(2024, 7))
	blobs := make([]blob, 24)
	for i := range blobs {
		blobs[i] = blob{
			x: rng.Float64() * float64(w), y: rng.Float64() * float64(h),
			r:  (0.03 + 0.15*rng.Float64()) * float64(w),
			cr: rng.Float64()*200 - 100, cg: rng.Float64()*200 - 100, cb: rng.Float64()*200 - 100,
		}
	}
	horizon := 0.55 * float64(h)
	for y := 0; y < h; y++ {
		fy := float64(y)
		var br, bg, bb float64
		if fy < horizon { // sky: deep blue to pale near the horizon
			t := fy / horizon
			br, bg, bb = 60+120*t, 110+100*t, 200+40*t
		} else { // ground: green-brown getting darker
			t := (fy - horizon) / (float64(h) - horizon)
			br, bg, bb = 110-50*t, 120-40*t, 60-30*t
		}
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			fx := float64(x)
			r, g, b := br, bg, bb
			for i := range blobs {
				bl := &blobs[i]
				dx, dy := fx-bl.x, fy-bl.y
				d2 := (dx*dx + dy*dy) / (bl.r * bl.r)
				if d2 < 4 {
					k := math.Exp(-d2)
					r += k * bl.cr
					g += k * bl.cg
					b += k * bl.cb
				}
			}
			// Texture: grass / cloud-like ripples at a few scales.
			tex := 10*math.Sin(fx*0.013+fy*0.007) + 6*math.Sin(fx*0.11-fy*0.05) + 4*math.Sin(fx*0.9+fy*1.3)
			n := (rng.Float64() + rng.Float64() - 1) * amp
			row[4*x+0] = clamp(r + tex + n)
			row[4*x+1] = clamp(g + tex + n*0.8 + (rng.Float64()-0.5)*amp*0.5)
			row[4*x+2] = clamp(b + tex*0.5 + n*0.9)
			row[4*x+3] = 255
		}
	}
	return img
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// cmdBytes writes size pseudo-random (incompressible) bytes.
func cmdBytes(args []string) error {
	fs := flag.NewFlagSet("bytes", flag.ExitOnError)
	out := fs.String("out", "", "output file")
	size := fs.Int64("size", 0, "bytes")
	seed := fs.Uint64("seed", 1, "seed")
	fs.Parse(args)
	if *out == "" || *size <= 0 {
		return fmt.Errorf("-out and -size are required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	src := rand.NewChaCha8([32]byte{byte(*seed), byte(*seed >> 8), 'c', 'd', 'n'})
	buf := make([]byte, 1<<16)
	for left := *size; left > 0; {
		n := min(left, int64(len(buf)))
		src.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}
