package inspect

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <vips/vips.h>

static void sat_drop_log(const gchar *domain, GLogLevelFlags level,
	const gchar *message, gpointer user_data)
{
}

// sat_init starts libvips and silences its warnings (corrupt uploads are
// routine here, not worth a line on stderr each).
static int sat_init(void)
{
	if (VIPS_INIT("satchel"))
		return -1;
	g_log_set_handler("VIPS",
		G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
		G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
		sat_drop_log, NULL);
	return 0;
}

// sat_find_loader returns the nickname ("jpegload", ...) of the loader
// libvips would pick for path from its content, or NULL.
static const char *sat_find_loader(const char *path)
{
	const char *name = vips_foreign_find_load(path);
	GType type;
	gpointer klass;

	if (!name) {
		vips_error_clear();
		return NULL;
	}
	type = g_type_from_name(name);
	if (!type)
		return NULL;
	klass = g_type_class_peek(type);
	if (!klass)
		return NULL;
	return VIPS_OBJECT_CLASS(klass)->nickname;
}

// sat_open_header runs loader on path and returns the image it produces.
// Loaders only read the header when built; pixels are decoded on demand and
// nothing here ever demands them. The operation is built directly rather
// than through the operation cache so that no reference to the file (or an
// open descriptor) outlives the call, and a replaced file is never answered
// from the cache.
static VipsImage *sat_open_header(const char *loader, const char *path)
{
	VipsOperation *op;
	VipsImage *out = NULL;

	op = vips_operation_new(loader);
	if (!op) {
		vips_error_clear();
		return NULL;
	}
	if (vips_object_set(VIPS_OBJECT(op),
			"filename", path,
			"access", VIPS_ACCESS_SEQUENTIAL,
			NULL) ||
		vips_object_build(VIPS_OBJECT(op))) {
		vips_object_unref_outputs(VIPS_OBJECT(op));
		g_object_unref(op);
		vips_error_clear();
		return NULL;
	}
	g_object_get(op, "out", &out, NULL);
	vips_object_unref_outputs(VIPS_OBJECT(op));
	g_object_unref(op);
	return out;
}

static void sat_unref(VipsImage *image)
{
	g_object_unref(image);
}

// sat_get_string returns field name of image rendered as a string (free it
// with g_free), or NULL when the field is absent.
static char *sat_get_string(VipsImage *image, const char *name)
{
	char *s = NULL;

	if (!vips_image_get_typeof(image, name))
		return NULL;
	if (vips_image_get_as_string(image, name, &s)) {
		vips_error_clear();
		return NULL;
	}
	return s;
}

// sat_get_int stores int field name of image in out; it returns 0 on
// success and -1 when the field is absent or not an int.
static int sat_get_int(VipsImage *image, const char *name, int *out)
{
	if (!vips_image_get_typeof(image, name))
		return -1;
	if (vips_image_get_int(image, name, out)) {
		vips_error_clear();
		return -1;
	}
	return 0;
}

static int sat_has(VipsImage *image, const char *name)
{
	return vips_image_get_typeof(image, name) != 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

var (
	vipsOnce sync.Once
	vipsErr  error
)

// startVips initialises libvips once per process.
func startVips() error {
	vipsOnce.Do(func() {
		if C.sat_init() != 0 {
			msg := C.GoString(C.vips_error_buffer())
			C.vips_error_clear()
			vipsErr = fmt.Errorf("inspect: starting libvips: %s", strings.TrimSpace(msg))
		}
	})
	return vipsErr
}

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
	if err := startVips(); err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))

	cloader := C.sat_find_loader(cpath)
	if cloader == nil {
		return nil, errNotImage
	}
	loader := C.GoString(cloader)
	if _, ok := loaderFormats[loader]; !ok {
		return nil, errNotImage
	}
	img := C.sat_open_header(cloader, cpath)
	if img == nil {
		return nil, errNotImage
	}
	defer C.sat_unref(img)

	h := &header{
		loader:         loader,
		width:          int(C.vips_image_get_width(img)),
		height:         int(C.vips_image_get_height(img)),
		bands:          int(C.vips_image_get_bands(img)),
		interpretation: interpretationName(C.vips_image_get_interpretation(img)),
		bandFormat:     bandFormatName(C.vips_image_get_format(img)),
		xres:           float64(C.vips_image_get_xres(img)),
		yres:           float64(C.vips_image_get_yres(img)),
		strings:        map[string]string{},
		has:            map[string]bool{},
	}
	if v, ok := getInt(img, "orientation"); ok {
		h.orientation = v
	}
	if v, ok := getInt(img, "n-pages"); ok {
		h.pages = v
	}
	for _, name := range headerStrings {
		if v, ok := getString(img, name); ok {
			h.strings[name] = v
		}
	}
	for _, name := range headerFlags {
		cname := C.CString(name)
		h.has[name] = C.sat_has(img, cname) != 0
		C.free(unsafe.Pointer(cname))
	}
	return h, nil
}

func getInt(img *C.VipsImage, name string) (int, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var v C.int
	if C.sat_get_int(img, cname, &v) != 0 {
		return 0, false
	}
	return int(v), true
}

func getString(img *C.VipsImage, name string) (string, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	s := C.sat_get_string(img, cname)
	if s == nil {
		return "", false
	}
	defer C.g_free(C.gpointer(unsafe.Pointer(s)))
	return C.GoString(s), true
}

func interpretationName(i C.VipsInterpretation) string {
	switch i {
	case C.VIPS_INTERPRETATION_B_W:
		return "b-w"
	case C.VIPS_INTERPRETATION_GREY16:
		return "grey16"
	case C.VIPS_INTERPRETATION_sRGB:
		return "srgb"
	case C.VIPS_INTERPRETATION_RGB:
		return "rgb"
	case C.VIPS_INTERPRETATION_RGB16:
		return "rgb16"
	case C.VIPS_INTERPRETATION_scRGB:
		return "scrgb"
	case C.VIPS_INTERPRETATION_CMYK:
		return "cmyk"
	case C.VIPS_INTERPRETATION_LAB, C.VIPS_INTERPRETATION_LABQ, C.VIPS_INTERPRETATION_LABS:
		return "lab"
	case C.VIPS_INTERPRETATION_XYZ:
		return "xyz"
	case C.VIPS_INTERPRETATION_MULTIBAND:
		return "multiband"
	}
	return "other"
}

func bandFormatName(f C.VipsBandFormat) string {
	switch f {
	case C.VIPS_FORMAT_UCHAR, C.VIPS_FORMAT_CHAR:
		return "uchar"
	case C.VIPS_FORMAT_USHORT, C.VIPS_FORMAT_SHORT:
		return "ushort"
	case C.VIPS_FORMAT_UINT, C.VIPS_FORMAT_INT:
		return "int"
	case C.VIPS_FORMAT_FLOAT, C.VIPS_FORMAT_DOUBLE:
		return "float"
	}
	return "other"
}
