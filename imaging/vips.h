// Thin, non-variadic wrappers over the libvips calls package imaging uses
// (cgo cannot call variadic C functions). Every wrapper that makes an
// image returns 0 and stores a new reference in *out, or returns -1 with
// the reason in the libvips error buffer.
#ifndef SATCHEL_IMAGING_VIPS_H
#define SATCHEL_IMAGING_VIPS_H

#include <stdlib.h>
#include <vips/vips.h>

// sat_ctl lets Go stop the libvips computations of one transform: every
// image watched with it kills its evaluation at the next progress tick once
// stop is set. It is reference counted because libvips may hold the
// watched images (and so the signal handler) a little longer than Go does.
typedef struct {
	int stop;
	int refs;
} sat_ctl;

sat_ctl *sat_ctl_new(void);
void sat_ctl_ref(sat_ctl *ctl);
void sat_ctl_stop(sat_ctl *ctl);
int sat_ctl_stopped(sat_ctl *ctl);
void sat_ctl_unref(sat_ctl *ctl);
void sat_watch(VipsImage *im, sat_ctl *ctl);


// Loading. buffer is a VipsBlob owning the encoded bytes (NULL for files).
typedef struct {
	int shrink;   // jpegload shrink factor (1, 2, 4, 8)
	double scale; // webpload / svgload scale (1: none)
	int n;        // pages to load (gif, webp): 1 or -1 for all
	int sequential;
} sat_load_opts;

VipsBlob *sat_blob_new(void *data, size_t len);
void sat_blob_unref(VipsBlob *blob);
int sat_load(const char *loader, const char *filename, VipsBlob *buffer,
	const sat_load_opts *o, VipsImage **out);
// sat_jpeg_decode decodes the JPEG in buf at 1/shrink scale into memory,
// with the metadata of hdr (the loader's header of the same bytes at the
// same shrink). It returns 0, -1 on error, or 1 when it leaves the image
// to libvips (CMYK, or a header that does not match).
int sat_jpeg_decode(const void *buf, size_t len, int shrink, VipsImage *hdr,
	sat_ctl *ctl, VipsImage **out);
// sat_jpeg_decode_fd is sat_jpeg_decode reading the JPEG from fd, from its
// current offset, a chunk at a time.
int sat_jpeg_decode_fd(int fd, int shrink, VipsImage *hdr, sat_ctl *ctl,
	VipsImage **out);

// Metadata.
int sat_get_int(VipsImage *im, const char *name, int *out);
char *sat_get_string(VipsImage *im, const char *name);
int sat_has(VipsImage *im, const char *name);
size_t sat_blob_len(VipsImage *im, const char *name);
const void *sat_get_blob(VipsImage *im, const char *name, size_t *len);
void sat_remove(VipsImage *im, const char *name);
void sat_set_int(VipsImage *im, const char *name, int v);
void sat_remove_prefix(VipsImage *im, const char *prefix);

// Geometry.
int sat_copy(VipsImage *in, VipsImage **out);
int sat_copy_memory(VipsImage *in, VipsImage **out);
int sat_autorot(VipsImage *in, VipsImage **out);
int sat_rot(VipsImage *in, VipsImage **out, int clockwise);
int sat_flip(VipsImage *in, VipsImage **out, int vertical);
int sat_resize(VipsImage *in, VipsImage **out, double h, double v);
int sat_extract(VipsImage *in, VipsImage **out, int l, int t, int w, int h);
int sat_embed(VipsImage *in, VipsImage **out, int x, int y, int w, int h,
	const double *bg, int n);
int sat_smartcrop(VipsImage *in, VipsImage **out, int w, int h);
int sat_insert(VipsImage *main, VipsImage *sub, VipsImage **out, int x, int y);
int sat_arrayjoin(VipsImage **in, int n, VipsImage **out);

// Pixels.
int sat_cast_uchar(VipsImage *in, VipsImage **out);
int sat_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space);
int sat_icc_srgb(VipsImage *in, VipsImage **out);
int sat_linear(VipsImage *in, VipsImage **out, const double *a,
	const double *b, int n, int uchar);
int sat_maplut(VipsImage *in, VipsImage **out, const unsigned char *lut,
	int bands);
int sat_recomb(VipsImage *in, VipsImage **out, const double *m, int rows,
	int cols);
int sat_extract_band(VipsImage *in, VipsImage **out, int band, int n);
int sat_bandjoin2(VipsImage *a, VipsImage *b, VipsImage **out);
int sat_addalpha(VipsImage *in, VipsImage **out);
int sat_add(VipsImage *a, VipsImage *b, VipsImage **out);
int sat_subtract(VipsImage *a, VipsImage *b, VipsImage **out);
int sat_multiply(VipsImage *a, VipsImage *b, VipsImage **out);
int sat_divide(VipsImage *a, VipsImage *b, VipsImage **out);
int sat_bandmax(VipsImage *in, VipsImage **out, int max);
int sat_premultiply(VipsImage *in, VipsImage **out);
int sat_unpremultiply(VipsImage *in, VipsImage **out);
int sat_flatten(VipsImage *in, VipsImage **out, const double *bg, int n);
int sat_gaussblur(VipsImage *in, VipsImage **out, double sigma);
int sat_sharpen(VipsImage *in, VipsImage **out, double sigma, double m2,
	double y2, double y3);
int sat_composite_over(VipsImage *base, VipsImage *over, VipsImage **out,
	int x, int y);
int sat_solid(VipsImage **out, int w, int h, const double *c, int n);
int sat_hist_find(VipsImage *in, VipsImage **out);
int sat_text(VipsImage **out, const char *text, const char *font, int width,
	int align);
int sat_svg(const char *svg, size_t len, VipsImage **out);

// Output.
int sat_write_memory(VipsImage *in, void **buf, size_t *len);
enum {
	SAT_JPEG = 1,
	SAT_PNG,
	SAT_WEBP,
	SAT_AVIF,
	SAT_GIF,
};
typedef struct {
	int format;
	int q;
	int progressive;
	int strip;
	int effort;
} sat_save_opts;
int sat_save(VipsImage *in, const sat_save_opts *o, void **buf, size_t *len);
int sat_thumbnail_buffer(void *buf, size_t len, int w, int h, int format,
	int q, void **obuf, size_t *olen);



int sat_decode_rgba(const void *buf, size_t len, void **pix, int *w, int *h,
	int *pages);
#endif
