package imaging

/*
#include "vips.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// infoJSON is the /-/json/ answer.
type infoJSON struct {
	ID               string    `json:"id"`
	Width            int       `json:"width"`
	Height           int       `json:"height"`
	Format           string    `json:"format"`
	ColorMode        string    `json:"color_mode"`
	Orientation      *int      `json:"orientation"`
	DPI              []float64 `json:"dpi"`
	GeoLocation      *geo      `json:"geo_location"`
	DatetimeOriginal *string   `json:"datetime_original"`
	Sequence         bool      `json:"sequence"`
	Hash             string    `json:"hash"`
	Blurhash         *string   `json:"blurhash"`
}

type geo struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// settingOnly reports whether op leaves the pixels alone.
func settingOnly(op cdnurl.Op) bool {
	switch op.(type) {
	case cdnurl.Stretch, cdnurl.SetFill, cdnurl.Format, cdnurl.Quality,
		cdnurl.Progressive, cdnurl.StripMeta, cdnurl.Inline, cdnurl.Rasterize,
		cdnurl.SRGB, cdnurl.MaxICCSize, cdnurl.TextAlign, cdnurl.Font,
		cdnurl.TextBox, cdnurl.Autorotate, cdnurl.JSON, cdnurl.MainColors:
		return true
	}
	return false
}

// answerInfo computes the json or main_colors answer on the processed
// image f (owned by the caller).
func (t *task) answerInfo(f *frame) (*Result, error) {
	pix, pw, ph, err := t.thumbPixels(f.img, 256)
	if err != nil {
		return nil, err
	}
	var body any
	w, h := round(f.lw), round(f.lh)
	switch o := t.info.(type) {
	case cdnurl.MainColors:
		n := o.N
		if n <= 0 {
			n = 4
		}
		body = map[string]any{"main_colors": mainColors(pix, pw, ph, min(n, 256))}
	default:
		raw := true
		for _, op := range t.ops {
			if !settingOnly(op) {
				raw = false
			}
		}
		if raw {
			// The stored image as it is, like the REST API describes it.
			w, h = t.hdr.width, t.hdr.height
		}
		body = t.describe(w, h, fmt.Sprintf("%016x", dHash(pix, pw, ph)))
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &Result{Body: b, ContentType: "application/json", Width: w, Height: h, Format: "json"}, nil
}

// thumbPixels returns the RGBA pixels of im fitted inside box x box.
func (t *task) thumbPixels(im vimg, box int) ([]byte, int, int, error) {
	s := &scope{t: t}
	defer s.close()
	w, h := width(im), height(im)
	if k := float64(box) / float64(max(w, h)); k < 1 {
		tw, th := max(1, round(float64(w)*k)), max(1, round(float64(h)*k))
		in := im
		im = s.op("thumbnail", func(out *vimg) C.int {
			return C.sat_resize(in, out, C.double(float64(tw)/float64(w)), C.double(float64(th)/float64(h)))
		})
	}
	if s.err == nil && bands(im) == 3 {
		in := im
		im = s.op("thumbnail", func(out *vimg) C.int { return C.sat_addalpha(in, out) })
	}
	if s.err == nil && C.vips_image_get_format(im) != C.VIPS_FORMAT_UCHAR {
		in := im
		im = s.op("thumbnail", func(out *vimg) C.int { return C.sat_cast_uchar(in, out) })
	}
	if s.err != nil {
		return nil, 0, 0, s.err
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.sat_write_memory(im, &buf, &n) != 0 {
		return nil, 0, 0, t.vipsError("thumbnail")
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), width(im), height(im), nil
}

// dHash is the 64-bit difference hash: the image reduced to 9x8 grey
// cells, one bit per horizontal neighbour pair, set when the left cell is
// brighter. Transparent parts count as white.
func dHash(pix []byte, w, h int) uint64 {
	var cells [8][9]float64
	var counts [8][9]float64
	for y := 0; y < h; y++ {
		cy := y * 8 / h
		for x := 0; x < w; x++ {
			cx := x * 9 / w
			p := pix[(y*w+x)*4:]
			a := float64(p[3]) / 255
			g := lumaR*float64(p[0]) + lumaG*float64(p[1]) + lumaB*float64(p[2])
			cells[cy][cx] += g*a + 255*(1-a)
			counts[cy][cx]++
		}
	}
	var hash uint64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			hash <<= 1
			l := cells[y][x] / math.Max(counts[y][x], 1)
			r := cells[y][x+1] / math.Max(counts[y][x+1], 1)
			if l > r {
				hash |= 1
			}
		}
	}
	return hash
}

// mainColors finds up to n dominant colours over the opaque pixels, most
// common first: median cut seeds the clusters, a few k-means rounds
// move them onto the actual colour groups.
func mainColors(pix []byte, w, h, n int) [][3]int {
	px := make([][3]byte, 0, w*h)
	for i := 0; i+3 < len(pix); i += 4 {
		if pix[i+3] >= 128 {
			px = append(px, [3]byte{pix[i], pix[i+1], pix[i+2]})
		}
	}
	if len(px) == 0 {
		return [][3]int{}
	}
	boxes := [][][3]byte{slices.Clone(px)}
	for len(boxes) < n {
		// Split the box with the widest channel range (weighted by size).
		best, bestCh, bestScore := -1, 0, 0.0
		for i, b := range boxes {
			if len(b) < 2 {
				continue
			}
			ch, r := widest(b)
			if score := float64(r) * math.Sqrt(float64(len(b))); r > 0 && score > bestScore {
				best, bestCh, bestScore = i, ch, score
			}
		}
		if best < 0 {
			break
		}
		b := boxes[best]
		slices.SortFunc(b, func(p, q [3]byte) int { return int(p[bestCh]) - int(q[bestCh]) })
		m := len(b) / 2
		boxes[best] = b[:m]
		boxes = append(boxes, b[m:])
	}
	centres := make([][3]float64, len(boxes))
	for i, b := range boxes {
		for _, p := range b {
			for c := 0; c < 3; c++ {
				centres[i][c] += float64(p[c])
			}
		}
		for c := 0; c < 3; c++ {
			centres[i][c] /= float64(len(b))
		}
	}
	counts := make([]int, len(centres))
	for round := 0; round < 8; round++ {
		sums := make([][3]float64, len(centres))
		clear(counts)
		for _, p := range px {
			best, bestD := 0, math.Inf(1)
			for i, c := range centres {
				dr, dg, db := float64(p[0])-c[0], float64(p[1])-c[1], float64(p[2])-c[2]
				if d := dr*dr + dg*dg + db*db; d < bestD {
					best, bestD = i, d
				}
			}
			counts[best]++
			for c := 0; c < 3; c++ {
				sums[best][c] += float64(p[c])
			}
		}
		moved := false
		for i := range centres {
			if counts[i] == 0 {
				continue
			}
			for c := 0; c < 3; c++ {
				v := sums[i][c] / float64(counts[i])
				if math.Abs(v-centres[i][c]) > 0.25 {
					moved = true
				}
				centres[i][c] = v
			}
		}
		if !moved {
			break
		}
	}
	order := make([]int, 0, len(centres))
	for i := range centres {
		if counts[i] > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return counts[b] - counts[a] })
	out := make([][3]int, 0, len(order))
	for _, i := range order {
		c := centres[i]
		out = append(out, [3]int{int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2]))})
	}
	return out
}

func widest(b [][3]byte) (int, int) {
	lo, hi := [3]byte{255, 255, 255}, [3]byte{}
	for _, p := range b {
		for c := 0; c < 3; c++ {
			lo[c] = min(lo[c], p[c])
			hi[c] = max(hi[c], p[c])
		}
	}
	ch, r := 0, 0
	for c := 0; c < 3; c++ {
		if d := int(hi[c]) - int(lo[c]); d > r {
			ch, r = c, d
		}
	}
	return ch, r
}

// describe fills the JSON answer from the source header.
func (t *task) describe(w, h int, hash string) infoJSON {
	hd := &t.hdr
	info := infoJSON{
		ID:       t.uuid,
		Width:    w,
		Height:   h,
		Format:   strings.ToUpper(t.srcFormat()),
		Sequence: hd.pages > 1,
		Hash:     hash,
	}
	info.ColorMode = t.colorMode()
	if hd.orientation > 0 {
		o := hd.orientation
		info.Orientation = &o
	}
	dpi := func(x, y float64) []float64 {
		x, y = math.Round(x*25.4), math.Round(y*25.4)
		if x <= 0 || y <= 0 {
			return nil
		}
		return []float64{x, y}
	}
	switch {
	case hd.resUnit:
		info.DPI = dpi(hd.xres, hd.yres)
	case t.loader == "pngload" && math.Round(hd.xres*25.4) != 72:
		info.DPI = dpi(hd.xres, hd.yres)
	}
	if s, ok := hd.exif["exif-ifd2-DateTimeOriginal"]; ok {
		info.DatetimeOriginal = exifTime(s)
	}
	lat, okLat := gpsCoord(hd.exif["exif-ifd3-GPSLatitude"], hd.exif["exif-ifd3-GPSLatitudeRef"], "S")
	lon, okLon := gpsCoord(hd.exif["exif-ifd3-GPSLongitude"], hd.exif["exif-ifd3-GPSLongitudeRef"], "W")
	if okLat && okLon {
		info.GeoLocation = &geo{Latitude: lat, Longitude: lon}
	}
	return info
}

func (t *task) colorMode() string {
	hd := &t.hdr
	if t.loader == "gifload" || (t.loader == "pngload" && hd.palette) {
		return "P"
	}
	if hd.interp == C.VIPS_INTERPRETATION_CMYK {
		return "CMYK"
	}
	switch hd.bands {
	case 1:
		if hd.bandFmt == C.VIPS_FORMAT_USHORT {
			return "I;16"
		}
		return "L"
	case 2:
		return "LA"
	case 4:
		return "RGBA"
	}
	return "RGB"
}

// exifValue is the value part of a libvips EXIF string such as
// "2020:06:07 10:38:16 (2020:06:07 10:38:16, ASCII, 20 components, 20 bytes)".
func exifValue(s string) string {
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// exifTime turns "YYYY:MM:DD HH:MM:SS" into "YYYY-MM-DDTHH:MM:SS".
func exifTime(s string) *string {
	v := exifValue(s)
	if len(v) < 19 || v[4] != ':' || v[7] != ':' || v[13] != ':' || v[16] != ':' {
		return nil
	}
	out := v[0:4] + "-" + v[5:7] + "-" + v[8:10] + "T" + v[11:19]
	for i, c := range out {
		if (i == 4 || i == 7) && c == '-' || i == 10 && c == 'T' || (i == 13 || i == 16) && c == ':' {
			continue
		}
		if c < '0' || c > '9' {
			return nil
		}
	}
	return &out
}

// gpsCoord converts "d/1 m/1 s/100" with its reference to degrees.
func gpsCoord(value, ref, neg string) (float64, bool) {
	f := strings.Fields(exifValue(value))
	if len(f) == 0 {
		return 0, false
	}
	var deg float64
	div := 1.0
	for i, r := range f {
		if i > 2 {
			break
		}
		num, den, ok := strings.Cut(r, "/")
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		d := 1.0
		if ok {
			if d, err = strconv.ParseFloat(den, 64); err != nil || d == 0 {
				return 0, false
			}
		}
		deg += n / d / div
		div *= 60
	}
	if strings.HasPrefix(strings.ToUpper(exifValue(ref)), neg) {
		deg = -deg
	}
	return deg, true
}
