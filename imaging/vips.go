package imaging

/*
#cgo pkg-config: vips libjpeg
#include "vips.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/satchel-project/satchel/internal/vips"
)

// startVips initialises libvips once per process, with the tuning of
// package internal/vips (one thread per operation, no operation cache).
func startVips() error {
	if err := vips.Start(); err != nil {
		return fmt.Errorf("imaging: %w", err)
	}
	return nil
}

// takeError returns and clears the libvips error buffer.
func takeError() string { return vips.TakeError() }

// errKilled is what a computation stopped through sat_ctl reports.
var errKilled = errors.New("imaging: computation stopped")

// vipsError wraps the pending libvips error for step.
func (t *task) vipsError(step string) error {
	msg := takeError()
	if C.sat_ctl_stopped(t.ctl) != 0 {
		return errKilled
	}
	return fmt.Errorf("imaging: %s: %s", step, msg)
}

// vimg is one reference to a libvips image.
type vimg = *C.VipsImage

func unref(im vimg) {
	if im != nil {
		C.g_object_unref(C.gpointer(unsafe.Pointer(im)))
	}
}

func ref(im vimg) vimg {
	C.g_object_ref(C.gpointer(unsafe.Pointer(im)))
	return im
}

func width(im vimg) int  { return int(C.vips_image_get_width(im)) }
func height(im vimg) int { return int(C.vips_image_get_height(im)) }
func bands(im vimg) int  { return int(C.vips_image_get_bands(im)) }

func getInt(im vimg, name string) (int, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var v C.int
	if C.sat_get_int(im, cname, &v) != 0 {
		return 0, false
	}
	return int(v), true
}

func getString(im vimg, name string) (string, bool) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	s := C.sat_get_string(im, cname)
	if s == nil {
		return "", false
	}
	defer C.g_free(C.gpointer(unsafe.Pointer(s)))
	return C.GoString(s), true
}

func hasField(im vimg, name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.sat_has(im, cname) != 0
}

func blobLen(im vimg, name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return int(C.sat_blob_len(im, cname))
}

// getBlob copies a binary field.
func getBlob(im vimg, name string) []byte {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var n C.size_t
	p := C.sat_get_blob(im, cname, &n)
	if p == nil {
		return nil
	}
	return C.GoBytes(p, C.int(n))
}

func removeField(im vimg, name string) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	C.sat_remove(im, cname)
}

func removePrefix(im vimg, prefix string) {
	cname := C.CString(prefix)
	defer C.free(unsafe.Pointer(cname))
	C.sat_remove_prefix(im, cname)
}

func setInt(im vimg, name string, v int) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	C.sat_set_int(im, cname, C.int(v))
}

// liveObjects counts the libvips objects alive in the process (tests use
// it to check that transforms release everything).
func liveObjects() int { return vips.LiveObjects() }

// trackedMem is the memory libvips holds for pixel buffers.
func trackedMem() int { return vips.TrackedMem() }

// dp passes a float64 slice to C for the duration of a call (libvips
// copies the values it keeps).
func dp(v []float64) *C.double {
	if len(v) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&v[0]))
}

// decodeRGBA decodes the first frame of an encoded image to RGBA with
// libvips, and counts its pages. Tests use it to read WebP and AVIF.
func decodeRGBA(b []byte) (pix []byte, w, h, pages int, err error) {
	if err := startVips(); err != nil {
		return nil, 0, 0, 0, err
	}
	if len(b) == 0 {
		return nil, 0, 0, 0, ErrNotImage
	}
	var buf unsafe.Pointer
	var cw, ch, cp C.int
	if C.sat_decode_rgba(unsafe.Pointer(&b[0]), C.size_t(len(b)), &buf, &cw, &ch, &cp) != 0 {
		return nil, 0, 0, 0, fmt.Errorf("decode: %s", takeError())
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, cw*ch*4), int(cw), int(ch), int(cp), nil
}

// plainThumbnail is vips_thumbnail_buffer plus a save, the baseline the
// benchmarks compare the engine with.
func plainThumbnail(b []byte, w, h int, format string, q int) ([]byte, error) {
	if err := startVips(); err != nil {
		return nil, err
	}
	f := C.int(C.SAT_JPEG)
	if format == "webp" {
		f = C.SAT_WEBP
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.sat_thumbnail_buffer(unsafe.Pointer(&b[0]), C.size_t(len(b)), C.int(w), C.int(h), f, C.int(q), &buf, &n) != 0 {
		return nil, fmt.Errorf("thumbnail: %s", takeError())
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}

// decodedJPEG is an image as a JPEG decoder produced it, for tests.
type decodedJPEG struct {
	w, h, bands int
	interp      int
	orientation int
	xres        float64
	exifLen     int
	pix         []byte
}

// decodeJPEGBoth decodes the JPEG b at 1/shrink scale with decodeJPEG's
// decoder and with libvips' jpegload. Tests compare the two. With a path
// (a file holding b) the decoder reads the file rather than memory.
func decodeJPEGBoth(b []byte, shrink int, path string) (fast, lib decodedJPEG, err error) {
	if err := startVips(); err != nil {
		return fast, lib, err
	}
	data := C.malloc(C.size_t(len(b)))
	copy(unsafe.Slice((*byte)(data), len(b)), b)
	blob := C.sat_blob_new(data, C.size_t(len(b)))
	defer C.sat_blob_unref(blob)
	name := C.CString("jpegload_buffer")
	defer C.free(unsafe.Pointer(name))
	o := C.sat_load_opts{shrink: C.int(shrink), scale: 1, n: 1, sequential: 0}
	var hdr, libIm, fastIm vimg
	if C.sat_load(name, nil, blob, &o, &hdr) != 0 {
		return fast, lib, fmt.Errorf("header: %s", takeError())
	}
	defer unref(hdr)
	if C.sat_load(name, nil, blob, &o, &libIm) != 0 {
		return fast, lib, fmt.Errorf("jpegload: %s", takeError())
	}
	defer unref(libIm)
	var rc C.int
	if path == "" {
		rc = C.sat_jpeg_decode(data, C.size_t(len(b)), C.int(shrink), hdr, nil, &fastIm)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fast, lib, err
		}
		rc = C.sat_jpeg_decode_fd(C.int(f.Fd()), C.int(shrink), hdr, nil, &fastIm)
		f.Close()
	}
	switch rc {
	case 0:
	case 1:
		return fast, lib, errors.New("left to libvips")
	default:
		return fast, lib, fmt.Errorf("sat_jpeg_decode: %s", takeError())
	}
	defer unref(fastIm)
	dump := func(im vimg) (decodedJPEG, error) {
		d := decodedJPEG{w: width(im), h: height(im), bands: bands(im),
			interp: int(C.vips_image_get_interpretation(im)), xres: float64(C.vips_image_get_xres(im)),
			exifLen: blobLen(im, "exif-data")}
		d.orientation, _ = getInt(im, "orientation")
		var n C.size_t
		p := C.vips_image_write_to_memory(im, &n)
		if p == nil {
			return d, fmt.Errorf("pixels: %s", takeError())
		}
		defer C.g_free(C.gpointer(p))
		d.pix = C.GoBytes(p, C.int(n))
		return d, nil
	}
	if fast, err = dump(fastIm); err != nil {
		return fast, lib, err
	}
	lib, err = dump(libIm)
	return fast, lib, err
}
