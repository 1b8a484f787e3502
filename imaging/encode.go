package imaging

/*
#include "vips.h"
*/
import "C"

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// Quality levels as encoder settings. JPEG and WebP share one scale;
// AVIF reaches the same look at lower numbers. smart is normal and
// smart_retina lighter (a 2x image hides more).
var (
	jpegQuality = map[string]int{
		"lightest": 60, "lighter": 70, "normal": 80, "better": 87, "best": 95,
		"smart": 80, "smart_retina": 70,
	}
	avifQuality = map[string]int{
		"lightest": 40, "lighter": 48, "normal": 56, "better": 65, "best": 80,
		"smart": 56, "smart_retina": 48,
	}
)

// Encoder effort: WebP 0..6 (libvips default 4), AVIF 0..9 where 9 is
// slowest; AVIF is kept fast since it is encoded on request.
const (
	webpEffort = 4
	avifEffort = 2
)

func animatedFormat(f string) bool { return f == "gif" || f == "webp" }

// accepts reports whether the Accept header lists mime with a non-zero
// quality.
func accepts(header, mime string) bool {
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		if !strings.EqualFold(strings.TrimSpace(fields[0]), mime) {
			continue
		}
		for _, p := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.TrimSpace(k) == "q" {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// chooseFormat picks the output format. Without a format operation (or
// with preserve) the source format is kept where browsers show it: JPEG,
// PNG, WebP and AVIF stay, GIF stays when animated and becomes PNG
// otherwise, HEIC and TIFF become JPEG (PNG with alpha), SVG becomes PNG.
// auto negotiates with the Accept header: AVIF, then WebP, then JPEG or
// PNG with alpha; animations go WebP if accepted, else GIF.
func (t *task) chooseFormat(alpha, animated bool) string {
	switch t.format {
	case "jpeg", "jpg":
		return "jpeg"
	case "png", "webp", "gif":
		return t.format
	case "avif":
		if animated {
			return "webp"
		}
		return "avif"
	case "auto":
		switch {
		case animated && accepts(t.accept, "image/webp"):
			return "webp"
		case animated:
			return "gif"
		case accepts(t.accept, "image/avif"):
			return "avif"
		case accepts(t.accept, "image/webp"):
			return "webp"
		case alpha:
			return "png"
		}
		return "jpeg"
	}
	switch f := t.srcFormat(); f {
	case "jpeg", "png", "webp", "avif":
		return f
	case "gif":
		if animated {
			return "gif"
		}
		return "png"
	case "svg":
		return "png"
	}
	if alpha {
		return "png"
	}
	return "jpeg"
}

var formatCodes = map[string]C.int{
	"jpeg": C.SAT_JPEG, "png": C.SAT_PNG, "webp": C.SAT_WEBP, "avif": C.SAT_AVIF, "gif": C.SAT_GIF,
}

// sensitiveExif are the EXIF fields strip_meta/sensitive removes besides
// the GPS block: who made the picture and with what.
var sensitiveExif = []string{
	"exif-ifd0-Artist", "exif-ifd0-HostComputer", "exif-ifd0-Make", "exif-ifd0-Model",
	"exif-ifd0-Software", "exif-ifd2-BodySerialNumber", "exif-ifd2-CameraOwnerName",
	"exif-ifd2-LensSerialNumber", "exif-ifd2-MakerNote", "exif-ifd2-UserComment",
	"exif-ifd2-ImageUniqueID", "exif-ifd2-LensMake", "exif-ifd2-LensModel",
}

// encode writes img (pageHeight > 0: an animation of frames that tall).
func (t *task) encode(img vimg, pageHeight int) (*Result, error) {
	s := &scope{t: t}
	defer s.close()
	alpha := bands(img) == 4
	format := t.chooseFormat(alpha, pageHeight > 0)
	if pageHeight > 0 && !animatedFormat(format) {
		format = "gif"
	}
	w, h := width(img), height(img)
	if pageHeight > 0 {
		h = pageHeight
	}
	if int64(w)*int64(h) > t.e.o.MaxOutputPixels {
		return nil, ErrTooLarge
	}
	if alpha && format == "jpeg" {
		bg := t.flattenColour()
		in := img
		img = s.op("flatten", func(out *vimg) C.int { return C.sat_flatten(in, out, dp(bg), 3) })
		if s.err == nil && C.vips_image_get_format(img) != C.VIPS_FORMAT_UCHAR {
			f := img
			img = s.op("cast", func(out *vimg) C.int { return C.sat_cast_uchar(f, out) })
		}
	}
	// A private copy whose metadata may change.
	in := img
	img = s.op("copy", func(out *vimg) C.int { return C.sat_copy(in, out) })
	if s.err != nil {
		return nil, s.err
	}
	strip := 1
	switch t.strip {
	case "none":
		strip = 0
	case "sensitive":
		strip = 0
		removePrefix(img, "exif-ifd3-")
		for _, f := range sensitiveExif {
			removeField(img, f)
		}
		removeField(img, "xmp-data")
		removeField(img, "iptc-data")
	default:
		if t.srgb == "keep_profile" && blobLen(img, "icc-profile-data") > 0 {
			// Keep the profile only.
			strip = 0
			removePrefix(img, "exif-")
			removeField(img, "xmp-data")
			removeField(img, "iptc-data")
		}
	}
	if pageHeight > 0 {
		setInt(img, "page-height", pageHeight)
	} else {
		removeField(img, "page-height")
		removeField(img, "n-pages")
	}
	q := jpegQuality[t.quality]
	if q == 0 {
		q = jpegQuality["normal"]
	}
	effort := webpEffort
	if format == "avif" {
		q = avifQuality[t.quality]
		if q == 0 {
			q = avifQuality["normal"]
		}
		effort = avifEffort
	}
	o := C.sat_save_opts{
		format:      formatCodes[format],
		q:           C.int(q),
		progressive: 0,
		strip:       C.int(strip),
		effort:      C.int(effort),
	}
	if t.progressive {
		o.progressive = 1
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.sat_save(img, &o, &buf, &n) != 0 {
		return nil, t.vipsError("encoding " + format)
	}
	defer C.g_free(C.gpointer(buf))
	body := C.GoBytes(buf, C.int(n))
	return &Result{
		Body:        body,
		ContentType: "image/" + format,
		Width:       w,
		Height:      h,
		Format:      format,
	}, nil
}

// flattenColour is the setfill colour (white by default) of the last
// setfill operation.
func (t *task) flattenColour() []float64 {
	bg := []float64{255, 255, 255}
	for _, op := range t.ops {
		if o, ok := op.(cdnurl.SetFill); ok {
			bg = []float64{float64(o.Color.R), float64(o.Color.G), float64(o.Color.B)}
		}
	}
	return bg
}
