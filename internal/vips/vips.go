// Package vips is Satchel's one binding of libvips: it starts the library
// once per process with one tuning, reads its error buffer, and opens image
// headers without decoding pixels for inspection. The transform pipeline's
// own wrappers live in package imaging and call Start before their first
// operation.
//
// The package uses cgo and needs libvips 8.14 or later at build and run
// time.
package vips

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <vips/vips.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static void satv_drop_log(const gchar *domain, GLogLevelFlags level,
	const gchar *message, gpointer user_data)
{
}

// satv_init starts libvips and silences its warnings: corrupt uploads are
// routine here, not worth a line on stderr each. One libvips thread per
// operation, since the imaging engine runs one operation per core instead.
// No operation cache: every request is different and cached operations pin
// source buffers and files.
static int satv_init(void)
{
	// glibc gives every thread that mallocs its own arena; with libvips
	// worker threads that makes the resident size creep up. Two arenas
	// keep it flat at no measurable cost here.
#ifdef __GLIBC__
	mallopt(M_ARENA_MAX, 2);
#endif
	if (VIPS_INIT("satchel"))
		return -1;
	g_log_set_handler("VIPS",
		G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
		G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
		satv_drop_log, NULL);
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	return 0;
}

static char *satv_error(void)
{
	return vips_error_buffer_copy();
}

static void *satv_count_object(VipsObject *object, void *a, void *b)
{
	int *n = (int *) a;

	*n += 1;
	return NULL;
}

static int satv_live_objects(void)
{
	int n = 0;

	vips_object_map((VipsSListMap2Fn) satv_count_object, &n, NULL);
	return n;
}

// satv_find_loader returns the nickname ("jpegload", ...) of the loader
// libvips would pick for path from its content, or NULL.
static const char *satv_find_loader(const char *path)
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

// satv_open_header runs loader on path and returns the image it produces.
// Loaders only read the header when built; pixels are decoded on demand and
// nothing here ever demands them. The operation is built directly rather
// than through the operation cache so that no reference to the file (or an
// open descriptor) outlives the image, and a replaced file is never
// answered from a cache.
static VipsImage *satv_open_header(const char *loader, const char *path)
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

static void satv_unref(VipsImage *image)
{
	g_object_unref(image);
}

// satv_get_string returns field name of image rendered as a string (free
// it with g_free), or NULL when the field is absent.
static char *satv_get_string(VipsImage *image, const char *name)
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

// satv_get_int stores int field name of image in out; it returns 0 on
// success and -1 when the field is absent or not an int.
static int satv_get_int(VipsImage *image, const char *name, int *out)
{
	if (!vips_image_get_typeof(image, name))
		return -1;
	if (vips_image_get_int(image, name, out)) {
		vips_error_clear();
		return -1;
	}
	return 0;
}

static int satv_has(VipsImage *image, const char *name)
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
	startOnce sync.Once
	startErr  error
)

// Start initialises libvips once per process (later calls return the first
// result): warnings silenced, one libvips thread per operation, no operation
// cache, and on glibc two malloc arenas. Every user of libvips in the process
// calls it before its first operation.
func Start() error {
	startOnce.Do(func() {
		if C.satv_init() != 0 {
			startErr = fmt.Errorf("vips: starting libvips: %s", TakeError())
		}
	})
	return startErr
}

// TakeError returns and clears the libvips error buffer. The buffer is
// shared by all threads, so under load a message may carry a neighbour's
// words too; it is only ever used as text.
func TakeError() string {
	s := C.satv_error()
	if s == nil {
		return "unknown libvips error"
	}
	defer C.g_free(C.gpointer(unsafe.Pointer(s)))
	msg := strings.TrimSpace(C.GoString(s))
	if msg == "" {
		msg = "unknown libvips error"
	}
	return msg
}

// LiveObjects counts the libvips objects alive in the process (tests use
// it to check that every reference was released).
func LiveObjects() int { return int(C.satv_live_objects()) }

// TrackedMem is the memory libvips holds for pixel buffers.
func TrackedMem() int { return int(C.vips_tracked_get_mem()) }

// ErrNotImage reports that libvips found no loader it was allowed to use
// for a file, or that the loader could not read the header.
var ErrNotImage = errors.New("vips: not a readable image")

// Header is an image opened for its header only: what it reports is read
// from the file's header, and its pixels are never decoded. Close releases
// it. A Header is not safe for concurrent use.
type Header struct {
	img    *C.VipsImage
	loader string
}

// OpenHeader starts libvips if needed, finds the loader libvips would pick
// for the file at path from its content and, if accept (nil: any) agrees
// with that loader's nickname ("jpegload", "pngload", ...), reads the
// file's header with it. It returns ErrNotImage when no loader is found,
// accept refuses it, or the header cannot be read; other errors are
// libvips failing to start.
func OpenHeader(path string, accept func(loader string) bool) (*Header, error) {
	if err := Start(); err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))

	cloader := C.satv_find_loader(cpath)
	if cloader == nil {
		return nil, ErrNotImage
	}
	loader := C.GoString(cloader)
	if accept != nil && !accept(loader) {
		return nil, ErrNotImage
	}
	img := C.satv_open_header(cloader, cpath)
	if img == nil {
		return nil, ErrNotImage
	}
	return &Header{img: img, loader: loader}, nil
}

// Close releases the image. It may be called more than once.
func (h *Header) Close() {
	if h.img != nil {
		C.satv_unref(h.img)
		h.img = nil
	}
}

// Loader is the nickname of the loader that read the header.
func (h *Header) Loader() string { return h.loader }

// Width is the image width in pixels.
func (h *Header) Width() int { return int(C.vips_image_get_width(h.img)) }

// Height is the image height in pixels (of all pages, for multi-page loads).
func (h *Header) Height() int { return int(C.vips_image_get_height(h.img)) }

// Bands is the number of bands (channels).
func (h *Header) Bands() int { return int(C.vips_image_get_bands(h.img)) }

// XRes is the horizontal resolution in pixels per millimetre.
func (h *Header) XRes() float64 { return float64(C.vips_image_get_xres(h.img)) }

// YRes is the vertical resolution in pixels per millimetre.
func (h *Header) YRes() float64 { return float64(C.vips_image_get_yres(h.img)) }

// Int returns the int field name, and whether it is present and an int.
func (h *Header) Int(name string) (int, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var v C.int
	if C.satv_get_int(h.img, cname, &v) != 0 {
		return 0, false
	}
	return int(v), true
}

// String returns field name rendered as a string, and whether it is present.
func (h *Header) String(name string) (string, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	s := C.satv_get_string(h.img, cname)
	if s == nil {
		return "", false
	}
	defer C.g_free(C.gpointer(unsafe.Pointer(s)))
	return C.GoString(s), true
}

// Has reports whether field name is present.
func (h *Header) Has(name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.satv_has(h.img, cname) != 0
}

// Interpretation names the image's colour interpretation: "b-w", "grey16",
// "srgb", "rgb", "rgb16", "scrgb", "cmyk", "lab", "xyz", "multiband" or
// "other".
func (h *Header) Interpretation() string {
	switch C.vips_image_get_interpretation(h.img) {
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

// BandFormat names the storage of one band sample, signedness aside:
// "uchar", "ushort", "int", "float" or "other".
func (h *Header) BandFormat() string {
	switch C.vips_image_get_format(h.img) {
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

// tuning reports the libvips settings Start applied: worker threads per
// operation and the operation cache's size.
func tuning() (concurrency, cacheMax int) {
	return int(C.vips_concurrency_get()), int(C.vips_cache_get_max())
}
