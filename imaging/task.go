package imaging

/*
#include "vips.h"
*/
import "C"

import (
	"bytes"
	"io"
	"math"
	"os"
	"strings"
	"unsafe"

	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// task is one transform: it owns every libvips object it makes and
// releases them in close.
type task struct {
	e        *Engine
	uuid     string
	src      Source
	ops      []cdnurl.Op
	accept   string
	overlays Overlays
	ctl      *C.sat_ctl

	// The encoded source: a local file or a blob owning the bytes.
	path   string
	blob   *C.VipsBlob
	loader string // trusted loader base name: "jpegload", "pngload", ...
	hdr    header

	// Settings gathered from all operations (last one wins) because they
	// act at load or encode time wherever they appear.
	autorotate  bool
	srgb        string // "icc" (default), "fast", "keep_profile"
	maxICC      int    // KB
	format      string // "" when not given
	quality     string
	progressive bool
	strip       string // "all" (default), "none", "sensitive"
	info        cdnurl.Op

	animated bool // all frames are processed and encoded

	overlayImgs map[string]vimg // loaded overlays by UUID, shared by frames

	// faceBoxes holds what each face search of the first frame found, in
	// order; the other frames of an animation reuse them (see frame.faces).
	faceBoxes [][]box
}

// header is what the engine learns from the source before decoding.
type header struct {
	width, height int // one frame, stored orientation
	bands         int
	interp        C.VipsInterpretation
	bandFmt       C.VipsBandFormat
	orientation   int
	pages         int
	heif          string // heif-compression
	xres, yres    float64
	resUnit       bool
	palette       bool
	exif          map[string]string
}

func newTask(e *Engine, uuid string, src Source, ops []cdnurl.Op, accept string, overlays Overlays) *task {
	return &task{
		e: e, uuid: uuid, src: src, ops: ops, accept: accept, overlays: overlays,
		ctl:         C.sat_ctl_new(),
		autorotate:  true,
		srgb:        "icc",
		maxICC:      10,
		strip:       "all",
		quality:     "normal",
		overlayImgs: map[string]vimg{},
	}
}

// stopper returns a function that stops the task's computations and one
// that must be called once stopping is no longer needed; both stay valid
// after the task has closed.
func (t *task) stopper() (stop, release func()) {
	ctl := t.ctl
	C.sat_ctl_ref(ctl)
	return func() { C.sat_ctl_stop(ctl) }, func() { C.sat_ctl_unref(ctl) }
}

func (t *task) stopped() bool { return C.sat_ctl_stopped(t.ctl) != 0 }

func (t *task) close() {
	for k, im := range t.overlayImgs {
		unref(im)
		delete(t.overlayImgs, k)
	}
	if t.blob != nil {
		C.sat_blob_unref(t.blob)
		t.blob = nil
	}
	C.sat_ctl_unref(t.ctl)
}

// validate rejects operation lists the engine can never apply, before a
// worker is taken; faces tells whether there is a face detector.
func validate(ops []cdnurl.Op, faces bool) error {
	for i, op := range ops {
		switch o := op.(type) {
		case cdnurl.ZoomObjects:
			return opErr(op, "object detection is not supported")
		case DetectFaces:
			if len(ops) != 1 {
				return opErr(op, "takes no other operations")
			}
			if !faces {
				return opErr(op, errNoDetector)
			}
		case cdnurl.BlurRegion:
			if o.Faces && !faces {
				return opErr(op, errNoDetector)
			}
		case cdnurl.Rotate:
			if o.Degrees%90 != 0 {
				return opErr(op, "angle must be a multiple of 90")
			}
		case cdnurl.JSON, cdnurl.MainColors:
			if i != len(ops)-1 {
				return opErr(op, "must be the last operation")
			}
		case cdnurl.Preview, cdnurl.Resize, cdnurl.SmartResize, cdnurl.Stretch,
			cdnurl.SetFill, cdnurl.Crop, cdnurl.ScaleCrop, cdnurl.BorderRadius,
			cdnurl.Autorotate, cdnurl.Flip, cdnurl.Mirror, cdnurl.Format,
			cdnurl.Quality, cdnurl.Progressive, cdnurl.StripMeta, cdnurl.Inline,
			cdnurl.Rasterize, cdnurl.Adjust, cdnurl.Enhance, cdnurl.Grayscale,
			cdnurl.Invert, cdnurl.Blur, cdnurl.Sharp, cdnurl.SRGB,
			cdnurl.MaxICCSize, cdnurl.Overlay, cdnurl.Rect, cdnurl.Text,
			cdnurl.TextAlign, cdnurl.Font, cdnurl.TextBox, cdnurl.Filter:
		default:
			return opErr(op, "operation is not supported")
		}
	}
	return nil
}

// gather reads the settings that act at load and encode time.
func (t *task) gather() {
	for _, op := range t.ops {
		switch o := op.(type) {
		case cdnurl.Autorotate:
			t.autorotate = o.On
		case cdnurl.SRGB:
			t.srgb = o.Mode
		case cdnurl.MaxICCSize:
			t.maxICC = o.KB
		case cdnurl.Format:
			t.format = o.Format
		case cdnurl.Quality:
			t.quality = o.Level
		case cdnurl.Progressive:
			t.progressive = o.On
		case cdnurl.StripMeta:
			t.strip = o.Mode
		case cdnurl.JSON, cdnurl.MainColors, DetectFaces:
			t.info = op
		}
	}
}

// open finds the local file or reads the content into C memory, and picks
// the loader from the leading bytes.
func (t *task) open() error {
	var head []byte
	if p, ok := t.src.Path(); ok && p != "" {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		buf := make([]byte, 4096)
		n, _ := io.ReadFull(f, buf)
		f.Close()
		t.path, head = p, buf[:n]
	} else {
		data, n, err := t.readAll()
		if err != nil {
			return err
		}
		head = unsafe.Slice((*byte)(data), min(n, 4096))
		t.loader = sniff(head)
		if t.loader == "" {
			C.free(data)
			return ErrNotImage
		}
		t.blob = C.sat_blob_new(data, C.size_t(n))
		return nil
	}
	t.loader = sniff(head)
	if t.loader == "" {
		return ErrNotImage
	}
	if t.loader == "svgload" || (t.loader == "jpegload" && !fastJPEGOps(t.ops) && t.src.Size() <= maxJPEGInMemory) {
		// Loaded from a file, an SVG may pull in files next to it (other
		// users' blobs); from memory it has no base to resolve against.
		// A JPEG the loader streams reads its file 4 KB per call; from
		// memory those are copies. (decodeJPEG reads the file itself, in
		// large chunks, without holding all of it.)
		data, n, err := t.readAll()
		if err != nil {
			return err
		}
		t.blob = C.sat_blob_new(data, C.size_t(n))
		t.path = ""
	}
	return nil
}

// readAll copies the source into C memory (owned by the caller).
func (t *task) readAll() (unsafe.Pointer, int, error) {
	rc, err := t.src.Open()
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	size := t.src.Size()
	if size > maxSourceBytes {
		return nil, 0, ErrTooLarge
	}
	if size > 0 {
		data := C.malloc(C.size_t(size))
		buf := unsafe.Slice((*byte)(data), size)
		n, err := io.ReadFull(rc, buf)
		if err != nil && err != io.ErrUnexpectedEOF {
			C.free(data)
			return nil, 0, err
		}
		if n == 0 {
			C.free(data)
			return nil, 0, ErrNotImage
		}
		return data, n, nil
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxSourceBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(b) > maxSourceBytes {
		return nil, 0, ErrTooLarge
	}
	if len(b) == 0 {
		return nil, 0, ErrNotImage
	}
	data := C.malloc(C.size_t(len(b)))
	copy(unsafe.Slice((*byte)(data), len(b)), b)
	return data, len(b), nil
}

// sniff names the libvips loader for the content by its signature. Only
// these formats are decoded: libvips' other loaders (ImageMagick, PDF,
// matrix and science formats) are not exposed to uploads.
func sniff(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return "jpegload"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "pngload"
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return "gifload"
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webpload"
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiffload"
	case isHEIF(b):
		return "heifload"
	case isSVG(b):
		return "svgload"
	}
	return ""
}

func isHEIF(b []byte) bool {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return false
	}
	size := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if size < 16 || size > len(b) {
		size = min(len(b), 64)
	}
	for i := 8; i+4 <= size; i += 4 {
		if i == 12 {
			continue // minor version
		}
		switch string(b[i : i+4]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis":
			return true
		}
	}
	return false
}

func isSVG(b []byte) bool {
	s := strings.TrimLeft(string(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))), " \t\r\n")
	if !strings.HasPrefix(s, "<") {
		return false
	}
	return strings.Contains(s, "<svg")
}

// load decodes the source header with the given options.
func (t *task) load(o C.sat_load_opts) (vimg, error) {
	name := t.loader
	var cpath *C.char
	if t.blob != nil {
		name += "_buffer"
	} else {
		cpath = C.CString(t.path)
		defer C.free(unsafe.Pointer(cpath))
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var out vimg
	if C.sat_load(cname, cpath, t.blob, &o, &out) != 0 {
		takeError()
		return nil, ErrNotImage
	}
	return out, nil
}

func loadOpts() C.sat_load_opts {
	return C.sat_load_opts{shrink: 1, scale: 1, n: 1, sequential: 0}
}

// exifFields lists the EXIF fields the JSON answer uses.
var exifFields = []string{
	"exif-ifd2-DateTimeOriginal",
	"exif-ifd3-GPSLatitude",
	"exif-ifd3-GPSLatitudeRef",
	"exif-ifd3-GPSLongitude",
	"exif-ifd3-GPSLongitudeRef",
}

func readHeader(im vimg) header {
	h := header{
		width:   width(im),
		height:  height(im),
		bands:   bands(im),
		interp:  C.vips_image_get_interpretation(im),
		bandFmt: C.vips_image_get_format(im),
		xres:    float64(C.vips_image_get_xres(im)),
		yres:    float64(C.vips_image_get_yres(im)),
		resUnit: hasField(im, "resolution-unit"),
		palette: hasField(im, "palette-bit-depth") || hasField(im, "palette"),
		exif:    map[string]string{},
	}
	if v, ok := getInt(im, "orientation"); ok && v >= 1 && v <= 8 {
		h.orientation = v
	}
	if v, ok := getInt(im, "n-pages"); ok {
		h.pages = v
	}
	if ph, ok := getInt(im, "page-height"); ok && ph > 0 && ph < h.height && h.height%ph == 0 {
		h.height = ph
	}
	if s, ok := getString(im, "heif-compression"); ok {
		h.heif = strings.ToLower(strings.TrimSpace(s))
	}
	for _, f := range exifFields {
		if s, ok := getString(im, f); ok {
			h.exif[f] = s
		}
	}
	return h
}

// srcFormat names the source format as the engine's output formats do.
func (t *task) srcFormat() string {
	switch t.loader {
	case "jpegload":
		return "jpeg"
	case "pngload":
		return "png"
	case "webpload":
		return "webp"
	case "gifload":
		return "gif"
	case "svgload":
		return "svg"
	case "tiffload":
		return "tiff"
	case "heifload":
		if strings.HasPrefix(t.hdr.heif, "av1") {
			return "avif"
		}
		return "heic"
	}
	return ""
}

// logicalSize is the source size the operations see: upright when
// autorotating.
func (t *task) logicalSize() (float64, float64) {
	lw, lh := float64(t.hdr.width), float64(t.hdr.height)
	if t.autorotate && t.hdr.orientation >= 5 {
		lw, lh = lh, lw
	}
	return lw, lh
}

// jpegShrink is the JPEG shrink-on-load factor for a decode towards scale:
// the largest of 8, 4 and 2 that still leaves at least the target size
// (the rest of the way is a resize), or 1.
func jpegShrink(scale float64) int {
	for _, s := range []int{8, 4, 2} {
		if float64(s) <= 1/scale+1e-9 {
			return s
		}
	}
	return 1
}

// decode opens the source for pixels, shrinking on load towards scale
// (the largest JPEG factor of 2, 4 or 8 that keeps at least the target
// size; WebP and SVG exactly). The root is watched for stop requests;
// seq tells whether it may only be read top to bottom.
func (t *task) decode(scale float64) (root vimg, seq bool, err error) {
	o := loadOpts()
	lw, lh := t.logicalSize()
	switch t.loader {
	case "jpegload":
		o.sequential = 1
		o.shrink = C.int(jpegShrink(scale))
	case "webpload":
		if scale < 1 {
			o.scale = C.double(scale)
		}
		o.sequential = 1
	case "svgload":
		// Vector: render at the size the operations want, within limits.
		if most := math.Sqrt(float64(t.e.o.MaxPixels) / (lw * lh)); scale > most {
			scale = most
		}
		o.scale = C.double(scale)
	case "pngload", "tiffload", "heifload":
		o.sequential = 1
	}
	if t.animated {
		o.n = -1
		o.sequential = 0
	}
	if t.loader == "jpegload" && !t.animated && fastJPEGOps(t.ops) {
		if root, ok, err := t.decodeJPEG(o.shrink); err != nil || ok {
			return root, false, err
		}
	}
	root, err = t.load(o)
	if err != nil {
		return nil, false, err
	}
	C.sat_watch(root, t.ctl)
	return root, o.sequential != 0, nil
}

// Bounds of the JPEG path: a source without a local file, or one the
// loader streams, is read into memory up to maxJPEGInMemory; decodeJPEG
// holds at most maxJPEGDecodedMemory of decoded (shrunk) pixels per
// transform, larger images stream from libvips' loader, strip by strip.
const (
	maxJPEGInMemory      = 64 << 20
	maxJPEGDecodedMemory = 32 << 20
)

// fastJPEGOps reports whether decodeJPEG serves ops: resizes, crops,
// turns and settings. Pipelines with convolutions (blurs, sharpening) or
// layers keep libvips' loader, whose demand pattern they were tuned with:
// on the in-memory image a large blur ran many times slower.
func fastJPEGOps(ops []cdnurl.Op) bool {
	for _, op := range ops {
		switch o := op.(type) {
		case cdnurl.Stretch, cdnurl.SetFill, cdnurl.Format, cdnurl.Quality, cdnurl.Progressive,
			cdnurl.StripMeta, cdnurl.Inline, cdnurl.SRGB, cdnurl.MaxICCSize, cdnurl.Autorotate,
			cdnurl.Resize, cdnurl.Preview, cdnurl.Flip, cdnurl.Mirror, cdnurl.Rotate,
			cdnurl.Grayscale, cdnurl.Invert:
		case cdnurl.ScaleCrop:
			if o.Type == "smart" {
				return false
			}
		case cdnurl.Crop:
			if o.Object != "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// decodeJPEG decodes the whole JPEG, held in t.blob or in the file t.path,
// at 1/shrink scale into memory, straight from the buffer or from the file
// in large reads (faster than libvips' loader, which feeds libjpeg 4 KB at
// a time), with the metadata libvips reads. ok is false when the image is
// left to the loader: too large decoded, or not RGB or grey. The root is
// watched for stop requests and is random access.
func (t *task) decodeJPEG(shrink C.int) (root vimg, ok bool, err error) {
	o := loadOpts()
	o.shrink = shrink
	hdr, err := t.load(o)
	if err != nil {
		return nil, false, err
	}
	defer unref(hdr)
	if int64(width(hdr))*int64(height(hdr))*int64(bands(hdr)) > maxJPEGDecodedMemory {
		return nil, false, nil
	}
	var rc C.int
	if t.blob != nil {
		var n C.size_t
		data := C.vips_blob_get(t.blob, &n)
		rc = C.sat_jpeg_decode(data, n, shrink, hdr, t.ctl, &root)
	} else {
		f, err := os.Open(t.path)
		if err != nil {
			return nil, false, err
		}
		rc = C.sat_jpeg_decode_fd(C.int(f.Fd()), shrink, hdr, t.ctl, &root)
		f.Close()
	}
	switch rc {
	case 0:
	case 1:
		return nil, false, nil
	default:
		if t.stopped() {
			return nil, false, errKilled
		}
		takeError()
		return nil, false, ErrNotImage
	}
	C.sat_watch(root, t.ctl)
	return root, true, nil
}

// run is the whole transform, on a worker.
func (t *task) run() (*Result, error) {
	if err := t.open(); err != nil {
		return nil, err
	}
	t.gather()

	probe, err := t.load(loadOpts())
	if err != nil {
		return nil, err
	}
	t.hdr = readHeader(probe)
	unref(probe)
	h := &t.hdr
	if h.width <= 0 || h.height <= 0 {
		return nil, ErrNotImage
	}
	if int64(h.width)*int64(h.height) > t.e.o.MaxPixels {
		return nil, ErrTooLarge
	}
	if (t.loader == "gifload" || t.loader == "webpload") && h.pages > 1 {
		if h.pages > t.e.o.MaxFrames {
			return nil, ErrTooLarge
		}
		if t.info == nil && animatedFormat(t.chooseFormat(false, true)) {
			t.animated = true
			if int64(h.width)*int64(h.height)*int64(h.pages) > t.e.o.MaxPixels {
				return nil, ErrTooLarge
			}
		}
	}

	// Logical size: what the operations see, upright when autorotating.
	lw, lh := t.logicalSize()
	root, seq, err := t.decode(planScale(t.ops, lw, lh, t.loader == "svgload"))
	if err != nil {
		return nil, err
	}

	var frames []vimg
	defer func() {
		for _, f := range frames {
			unref(f)
		}
	}()
	if t.animated {
		fh := height(root) / h.pages
		for i := 0; i < h.pages; i++ {
			var f vimg
			if C.sat_extract(root, &f, 0, C.int(i*fh), C.int(width(root)), C.int(fh)) != 0 {
				unref(root)
				return nil, t.vipsError("frame")
			}
			frames = append(frames, f)
		}
		unref(root)
	} else {
		frames = []vimg{root}
	}

	var first *frame
	for i := range frames {
		fr := &frame{t: t, img: frames[i], lw: lw, lh: lh, seq: seq, stretch: "on"}
		err := fr.process()
		frames[i] = fr.img
		if i == 0 {
			first = fr
		}
		if err != nil {
			if t.stopped() {
				return nil, errKilled
			}
			return nil, err
		}
	}
	if t.stopped() {
		return nil, errKilled
	}
	if _, ok := t.info.(DetectFaces); ok {
		res, err := t.answerFaces(first)
		frames[0] = first.img // detection may have copied it to memory
		return res, err
	}
	if t.info != nil {
		return t.answerInfo(first)
	}
	out := frames[0]
	if len(frames) > 1 {
		w0, h0 := width(frames[0]), height(frames[0])
		for _, f := range frames {
			if width(f) != w0 || height(f) != h0 {
				return nil, &OpError{Op: "animation", Msg: "frames came out in different sizes"}
			}
		}
		var joined vimg
		if C.sat_arrayjoin(&frames[0], C.int(len(frames)), &joined) != 0 {
			return nil, t.vipsError("joining frames")
		}
		defer unref(joined)
		out = joined
		res, err := t.encode(out, h0)
		return res, err
	}
	return t.encode(out, 0)
}
