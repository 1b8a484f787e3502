package inspect

import (
	"errors"
	"fmt"

	"github.com/satchel-project/satchel/internal/vips"
)

// errNotImage reports that libvips could not read a header it accepts.
var errNotImage = errors.New("inspect: not a readable image")

// header is what libvips reports about an image without decoding it.
type header struct {
	loader         string
	width, height  int
	bands          int
	interpretation string
	bandFormat     string
	xres, yres     float64 // pixels per millimetre
	orientation    int     // 0 when absent
	pages          int     // 0 when absent
	strings        map[string]string
	has            map[string]bool
}

// headerStrings lists the string fields readHeader collects.
var headerStrings = []string{
	"exif-ifd2-DateTimeOriginal",
	"exif-ifd3-GPSLatitude",
	"exif-ifd3-GPSLatitudeRef",
	"exif-ifd3-GPSLongitude",
	"exif-ifd3-GPSLongitudeRef",
	"exif-ifd0-XResolution",
	"exif-ifd0-YResolution",
	"exif-ifd0-ResolutionUnit",
	"heif-compression",
}

// headerFlags lists the fields whose mere presence readHeader records.
var headerFlags = []string{
	"exif-data",
	"palette-bit-depth",
	"palette",
}

// readHeader asks libvips for the header of the image at path, accepting
// only loaders listed in loaderFormats.
func readHeader(path string) (*header, error) {
	img, err := vips.OpenHeader(path, func(loader string) bool {
		_, ok := loaderFormats[loader]
		return ok
	})
	if errors.Is(err, vips.ErrNotImage) {
		return nil, errNotImage
	}
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	defer img.Close()

	h := &header{
		loader:         img.Loader(),
		width:          img.Width(),
		height:         img.Height(),
		bands:          img.Bands(),
		interpretation: img.Interpretation(),
		bandFormat:     img.BandFormat(),
		xres:           img.XRes(),
		yres:           img.YRes(),
		strings:        map[string]string{},
		has:            map[string]bool{},
	}
	if v, ok := img.Int("orientation"); ok {
		h.orientation = v
	}
	if v, ok := img.Int("n-pages"); ok {
		h.pages = v
	}
	for _, name := range headerStrings {
		if v, ok := img.String(name); ok {
			h.strings[name] = v
		}
	}
	for _, name := range headerFlags {
		h.has[name] = img.Has(name)
	}
	return h, nil
}
