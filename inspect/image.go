package inspect

import (
	"math"
	"strconv"
	"strings"

	"github.com/satchel-project/satchel"
)

// loaderFormats maps the libvips loaders Inspect trusts to the format names
// of the Uploadcare API. Loaders not listed here (PDF, ImageMagick, matrix
// and science formats, ...) do not make a file an image: some of them decode
// everything while reading the header, and none of them is an image in the
// Uploadcare sense.
var loaderFormats = map[string]string{
	"jpegload": "JPEG",
	"pngload":  "PNG",
	"gifload":  "GIF",
	"webpload": "WEBP",
	"tiffload": "TIFF",
	"heifload": "HEIC", // or AVIF, see imageFormat
	"svgload":  "SVG",
	"jp2kload": "JPEG2000",
	"jxlload":  "JXL",
	"ppmload":  "PPM",
	"radload":  "HDR",
}

// describeImage reads the header of the image at path; mime is the sniffed
// type, used only to refine what the header leaves open.
func describeImage(path, mime string) (*satchel.ImageInfo, error) {
	h, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	if h.width <= 0 || h.height <= 0 {
		return nil, errNotImage
	}
	info := &satchel.ImageInfo{
		ColorMode: colorMode(h),
		Format:    imageFormat(h, mime),
		Width:     h.width,
		Height:    h.height,
		Sequence:  h.pages > 1 || mime == "image/vnd.mozilla.apng" || mime == "image/apng",
	}
	if h.orientation >= 1 && h.orientation <= 8 {
		o := h.orientation
		info.Orientation = &o
	}
	if s, ok := h.strings["exif-ifd2-DateTimeOriginal"]; ok {
		info.DatetimeOriginal = parseExifDateTime(s)
	}
	info.GeoLocation = parseGeo(h.strings)
	info.DPI = imageDPI(h, path)
	return info, nil
}

// imageFormat names the format of the image from its loader.
func imageFormat(h *header, mime string) string {
	if h.loader == "heifload" {
		c := strings.ToLower(firstToken(h.strings["heif-compression"]))
		if c == "av1" || (c == "" && mime == "image/avif") {
			return "AVIF"
		}
		return "HEIC"
	}
	return loaderFormats[h.loader]
}

// colorMode renders bands and interpretation as a Pillow-style mode.
func colorMode(h *header) string {
	switch h.loader {
	case "gifload":
		// GIF is always palette based, whatever libvips expands it to.
		return "P"
	case "pngload":
		if h.has["palette-bit-depth"] || h.has["palette"] {
			// Pillow keeps a palette PNG with transparency in mode P too.
			return "P"
		}
	}
	if h.interpretation == "cmyk" && h.bands >= 4 {
		return "CMYK"
	}
	if h.interpretation == "lab" && h.bands >= 3 {
		return "LAB"
	}
	switch h.bands {
	case 1:
		switch h.bandFormat {
		case "ushort":
			return "I;16"
		case "int":
			return "I"
		case "float":
			return "F"
		}
		return "L"
	case 2:
		return "LA"
	case 3:
		return "RGB"
	case 4:
		return "RGBA"
	}
	return "RGB"
}

// imageDPI reports the resolution the file states, in dots per inch, or nil
// when it states none, following what Pillow reports for each format.
func imageDPI(h *header, path string) []float64 {
	switch h.loader {
	case "jpegload":
		if x, y, ok := jpegJFIFDensity(path); ok {
			return dpiPair(x, y)
		}
		if !h.has["exif-data"] {
			return nil
		}
		// Pillow falls back to EXIF, and to 72 dpi when EXIF lacks it.
		unit, uok := parseExifInt(h.strings["exif-ifd0-ResolutionUnit"])
		x, xok := parseExifRational(h.strings["exif-ifd0-XResolution"])
		if !uok || !xok || x <= 0 {
			return dpiPair(72, 72)
		}
		if unit == 3 {
			x *= 2.54
		}
		y, yok := parseExifRational(h.strings["exif-ifd0-YResolution"])
		if !yok || y <= 0 {
			y = x
		} else if unit == 3 {
			y *= 2.54
		}
		return dpiPair(x, y)
	case "pngload":
		if x, y, ok := pngPhysDPI(path); ok {
			return dpiPair(x, y)
		}
		return nil
	case "tiffload":
		// libvips reports exactly 1 px/mm when the tags are absent.
		if h.xres == 1 && h.yres == 1 {
			return nil
		}
		return dpiPair(h.xres*25.4, h.yres*25.4)
	}
	return nil
}

// dpiPair rounds a resolution to whole dots per inch; nonsense yields nil.
func dpiPair(x, y float64) []float64 {
	x, y = math.Round(x), math.Round(y)
	if !(x > 0 && y > 0) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return nil
	}
	return []float64{x, y}
}

// firstToken returns the value part of a libvips EXIF string such as
// "2 (Inch, Short, 1 components, 2 bytes)", that is "2".
func firstToken(s string) string {
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[:i]
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// parseExifInt parses an integer EXIF field as libvips renders it.
func parseExifInt(s string) (int, bool) {
	v, err := strconv.Atoi(firstToken(s))
	return v, err == nil
}

// parseExifRationals parses the rationals of an EXIF field as libvips
// renders them: "51/1 30/1 1234/100 (51, 30, 12.34, Rational, ...)".
func parseExifRationals(s string) ([]float64, bool) {
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[:i]
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, false
	}
	out := make([]float64, 0, len(f))
	for _, t := range f {
		num, den, found := strings.Cut(t, "/")
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, false
		}
		d := 1.0
		if found {
			if d, err = strconv.ParseFloat(den, 64); err != nil || d == 0 {
				return nil, false
			}
		}
		v := n / d
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// parseExifRational parses a single-rational EXIF field.
func parseExifRational(s string) (float64, bool) {
	v, ok := parseExifRationals(s)
	if !ok {
		return 0, false
	}
	return v[0], true
}

// parseExifDateTime turns "2021:03:04 05:06:07 (...)" into
// "2021-03-04T05:06:07"; anything else yields nil.
func parseExifDateTime(s string) *string {
	if i := strings.Index(s, " ("); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(strings.TrimSpace(s), "\x00")
	if len(s) < 19 {
		return nil
	}
	s = s[:19]
	for i := 0; i < 19; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != ':' && c != '-' {
				return nil
			}
		case 10:
			if c != ' ' && c != 'T' {
				return nil
			}
		case 13, 16:
			if c != ':' {
				return nil
			}
		default:
			if c < '0' || c > '9' {
				return nil
			}
		}
	}
	atoi := func(a, b int) int { n, _ := strconv.Atoi(s[a:b]); return n }
	mo, d, hh, mi, ss := atoi(5, 7), atoi(8, 10), atoi(11, 13), atoi(14, 16), atoi(17, 19)
	if atoi(0, 4) == 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 24 || mi > 59 || ss > 60 {
		return nil
	}
	out := s[0:4] + "-" + s[5:7] + "-" + s[8:10] + "T" + s[11:19]
	return &out
}

// parseGeo builds a GeoLocation from the GPS fields libvips reports.
func parseGeo(fields map[string]string) *satchel.GeoLocation {
	lat, ok := gpsCoordinate(fields["exif-ifd3-GPSLatitude"], fields["exif-ifd3-GPSLatitudeRef"], "S")
	if !ok || math.Abs(lat) > 90 {
		return nil
	}
	lon, ok := gpsCoordinate(fields["exif-ifd3-GPSLongitude"], fields["exif-ifd3-GPSLongitudeRef"], "W")
	if !ok || math.Abs(lon) > 180 {
		return nil
	}
	return &satchel.GeoLocation{Latitude: lat, Longitude: lon}
}

// gpsCoordinate converts degrees/minutes/seconds rationals to decimal
// degrees, negated when ref is the negative hemisphere neg.
func gpsCoordinate(value, ref, neg string) (float64, bool) {
	if value == "" {
		return 0, false
	}
	parts, ok := parseExifRationals(value)
	if !ok {
		return 0, false
	}
	v := 0.0
	for i, div := range []float64{1, 60, 3600} {
		if i < len(parts) {
			v += parts[i] / div
		}
	}
	if strings.EqualFold(firstToken(ref), neg) {
		v = -v
	}
	return v, true
}
