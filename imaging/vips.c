#include "vips.h"

#include <string.h>

/* ---- stopping ---------------------------------------------------------- */

sat_ctl *
sat_ctl_new(void)
{
	sat_ctl *ctl = g_new0(sat_ctl, 1);

	ctl->refs = 1;
	return ctl;
}

void
sat_ctl_ref(sat_ctl *ctl)
{
	__atomic_add_fetch(&ctl->refs, 1, __ATOMIC_SEQ_CST);
}

void
sat_ctl_stop(sat_ctl *ctl)
{
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_SEQ_CST);
}

int
sat_ctl_stopped(sat_ctl *ctl)
{
	return __atomic_load_n(&ctl->stop, __ATOMIC_SEQ_CST);
}

void
sat_ctl_unref(sat_ctl *ctl)
{
	if (__atomic_sub_fetch(&ctl->refs, 1, __ATOMIC_SEQ_CST) == 0)
		g_free(ctl);
}

static void
sat_ctl_notify(gpointer data, GClosure *closure)
{
	sat_ctl_unref((sat_ctl *) data);
}

/* Runs on every progress tick of any evaluation downstream of a watched
 * image: progress->im is the image being computed, and killing it makes
 * the sink stop with an error.
 */
static void
sat_eval(VipsImage *image, VipsProgress *progress, gpointer data)
{
	sat_ctl *ctl = (sat_ctl *) data;

	if (sat_ctl_stopped(ctl)) {
		if (progress && progress->im)
			vips_image_set_kill(progress->im, TRUE);
		vips_image_set_kill(image, TRUE);
	}
}

void
sat_watch(VipsImage *im, sat_ctl *ctl)
{
	__atomic_add_fetch(&ctl->refs, 1, __ATOMIC_SEQ_CST);
	vips_image_set_progress(im, TRUE);
	g_signal_connect_data(im, "eval", G_CALLBACK(sat_eval), ctl,
		sat_ctl_notify, 0);
}

/* ---- loading ----------------------------------------------------------- */

static void
sat_free_cb(void *data, void *user)
{
	free(data);
}

VipsBlob *
sat_blob_new(void *data, size_t len)
{
	return vips_blob_new((VipsCallbackFn) sat_free_cb, data, len);
}

void
sat_blob_unref(VipsBlob *blob)
{
	vips_area_unref(VIPS_AREA(blob));
}

static int
sat_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* sat_load builds the loader directly (not through the operation cache,
 * which is off anyway) so nothing keeps the file or buffer once the images
 * are gone. Only the header is read here; pixels come on demand.
 */
int
sat_load(const char *loader, const char *filename, VipsBlob *buffer,
	const sat_load_opts *o, VipsImage **out)
{
	VipsOperation *op;

	*out = NULL;
	if (!(op = vips_operation_new(loader)))
		return -1;
	if (buffer)
		g_object_set(op, "buffer", buffer, NULL);
	else
		g_object_set(op, "filename", filename, NULL);
	g_object_set(op, "access", o->sequential ?
		VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM, NULL);
	if (sat_has_prefix(loader, "jpegload") && o->shrink > 1)
		g_object_set(op, "shrink", o->shrink, NULL);
	if ((sat_has_prefix(loader, "webpload") ||
		sat_has_prefix(loader, "svgload")) && o->scale != 1.0)
		g_object_set(op, "scale", o->scale, NULL);
	if ((sat_has_prefix(loader, "gifload") ||
		sat_has_prefix(loader, "webpload")) && o->n != 1)
		g_object_set(op, "n", o->n, NULL);
	if (vips_object_build(VIPS_OBJECT(op))) {
		vips_object_unref_outputs(VIPS_OBJECT(op));
		g_object_unref(op);
		return -1;
	}
	g_object_get(op, "out", out, NULL);
	vips_object_unref_outputs(VIPS_OBJECT(op));
	g_object_unref(op);
	return *out ? 0 : -1;
}

/* ---- metadata ---------------------------------------------------------- */

int
sat_get_int(VipsImage *im, const char *name, int *out)
{
	if (!vips_image_get_typeof(im, name))
		return -1;
	if (vips_image_get_int(im, name, out)) {
		vips_error_clear();
		return -1;
	}
	return 0;
}

char *
sat_get_string(VipsImage *im, const char *name)
{
	char *s = NULL;

	if (!vips_image_get_typeof(im, name))
		return NULL;
	if (vips_image_get_as_string(im, name, &s)) {
		vips_error_clear();
		return NULL;
	}
	return s;
}

int
sat_has(VipsImage *im, const char *name)
{
	return vips_image_get_typeof(im, name) != 0;
}

size_t
sat_blob_len(VipsImage *im, const char *name)
{
	const void *data;
	size_t len = 0;

	if (!vips_image_get_typeof(im, name))
		return 0;
	if (vips_image_get_blob(im, name, &data, &len)) {
		vips_error_clear();
		return 0;
	}
	return len;
}

const void *
sat_get_blob(VipsImage *im, const char *name, size_t *len)
{
	const void *data;

	*len = 0;
	if (!vips_image_get_typeof(im, name))
		return NULL;
	if (vips_image_get_blob(im, name, &data, len)) {
		vips_error_clear();
		return NULL;
	}
	return data;
}

void
sat_remove(VipsImage *im, const char *name)
{
	vips_image_remove(im, name);
}

void
sat_set_int(VipsImage *im, const char *name, int v)
{
	vips_image_set_int(im, name, v);
}

static void *
sat_remove_prefix_cb(VipsImage *im, const char *field, GValue *value,
	void *a)
{
	const char *prefix = (const char *) a;

	if (sat_has_prefix(field, prefix))
		return (void *) field;
	return NULL;
}

void
sat_remove_prefix(VipsImage *im, const char *prefix)
{
	/* Removing while mapping is not allowed: find one, remove, repeat.
	 */
	for (;;) {
		char *field = (char *) vips_image_map(im,
			(VipsImageMapFn) sat_remove_prefix_cb, (void *) prefix);
		char *name;

		if (!field)
			break;
		name = g_strdup(field);
		vips_image_remove(im, name);
		g_free(name);
	}
}

/* ---- geometry ---------------------------------------------------------- */

int
sat_copy(VipsImage *in, VipsImage **out)
{
	return vips_copy(in, out, NULL);
}

int
sat_copy_memory(VipsImage *in, VipsImage **out)
{
	*out = vips_image_copy_memory(in);
	return *out ? 0 : -1;
}

int
sat_autorot(VipsImage *in, VipsImage **out)
{
	return vips_autorot(in, out, NULL);
}

int
sat_rot(VipsImage *in, VipsImage **out, int clockwise)
{
	VipsAngle a;

	switch (((clockwise % 360) + 360) % 360) {
	case 90:
		a = VIPS_ANGLE_D90;
		break;
	case 180:
		a = VIPS_ANGLE_D180;
		break;
	case 270:
		a = VIPS_ANGLE_D270;
		break;
	default:
		a = VIPS_ANGLE_D0;
	}
	return vips_rot(in, out, a, NULL);
}

int
sat_flip(VipsImage *in, VipsImage **out, int vertical)
{
	return vips_flip(in, out, vertical ?
		VIPS_DIRECTION_VERTICAL : VIPS_DIRECTION_HORIZONTAL, NULL);
}

int
sat_resize(VipsImage *in, VipsImage **out, double h, double v)
{
	return vips_resize(in, out, h, "vscale", v, NULL);
}

int
sat_extract(VipsImage *in, VipsImage **out, int l, int t, int w, int h)
{
	return vips_extract_area(in, out, l, t, w, h, NULL);
}

int
sat_embed(VipsImage *in, VipsImage **out, int x, int y, int w, int h,
	const double *bg, int n)
{
	VipsArrayDouble *background;
	int r;

	if (!bg)
		return vips_embed(in, out, x, y, w, h,
			"extend", VIPS_EXTEND_COPY, NULL);
	background = vips_array_double_new(bg, n);
	r = vips_embed(in, out, x, y, w, h,
		"extend", VIPS_EXTEND_BACKGROUND,
		"background", background,
		NULL);
	vips_area_unref(VIPS_AREA(background));
	return r;
}

int
sat_smartcrop(VipsImage *in, VipsImage **out, int w, int h)
{
	return vips_smartcrop(in, out, w, h,
		"interesting", VIPS_INTERESTING_ATTENTION, NULL);
}

int
sat_insert(VipsImage *main, VipsImage *sub, VipsImage **out, int x, int y)
{
	return vips_insert(main, sub, out, x, y, NULL);
}

int
sat_arrayjoin(VipsImage **in, int n, VipsImage **out)
{
	return vips_arrayjoin(in, out, n, "across", 1, NULL);
}

/* ---- pixels ------------------------------------------------------------ */

int
sat_cast_uchar(VipsImage *in, VipsImage **out)
{
	return vips_cast(in, out, VIPS_FORMAT_UCHAR, NULL);
}

int
sat_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space)
{
	return vips_colourspace(in, out, space, NULL);
}

int
sat_icc_srgb(VipsImage *in, VipsImage **out)
{
	return vips_icc_transform(in, out, "srgb",
		"embedded", TRUE,
		"intent", VIPS_INTENT_PERCEPTUAL,
		"depth", 8,
		NULL);
}

int
sat_linear(VipsImage *in, VipsImage **out, const double *a, const double *b,
	int n, int uchar)
{
	return vips_linear(in, out, (double *) a, (double *) b, n,
		"uchar", uchar, NULL);
}

int
sat_maplut(VipsImage *in, VipsImage **out, const unsigned char *lut,
	int bands)
{
	VipsImage *l;
	int r;

	if (!(l = vips_image_new_from_memory_copy(lut, 256 * bands,
		256, 1, bands, VIPS_FORMAT_UCHAR)))
		return -1;
	r = vips_maplut(in, out, l, NULL);
	g_object_unref(l);
	return r;
}

int
sat_recomb(VipsImage *in, VipsImage **out, const double *m, int rows,
	int cols)
{
	VipsImage *mat;
	int r;

	if (!(mat = vips_image_new_matrix_from_array(cols, rows, m,
		rows * cols)))
		return -1;
	r = vips_recomb(in, out, mat, NULL);
	g_object_unref(mat);
	return r;
}

int
sat_extract_band(VipsImage *in, VipsImage **out, int band, int n)
{
	return vips_extract_band(in, out, band, "n", n, NULL);
}

int
sat_bandjoin2(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_bandjoin2(a, b, out, NULL);
}

int
sat_addalpha(VipsImage *in, VipsImage **out)
{
	return vips_bandjoin_const1(in, out, 255, NULL);
}

int
sat_add(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_add(a, b, out, NULL);
}

int
sat_subtract(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_subtract(a, b, out, NULL);
}

int
sat_multiply(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_multiply(a, b, out, NULL);
}

int
sat_divide(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_divide(a, b, out, NULL);
}

/* sat_bandmax makes a one-band image of the largest (max) or smallest
 * band of each pixel.
 */
int
sat_bandmax(VipsImage *in, VipsImage **out, int max)
{
	VipsImage *b[8];
	int n = in->Bands;
	int i, r;

	if (n > 8) {
		vips_error("satchel", "too many bands");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (vips_extract_band(in, &b[i], i, NULL)) {
			while (--i >= 0)
				g_object_unref(b[i]);
			return -1;
		}
	r = vips_bandrank(b, out, n, "index", max ? n - 1 : 0, NULL);
	for (i = 0; i < n; i++)
		g_object_unref(b[i]);
	return r;
}

int
sat_premultiply(VipsImage *in, VipsImage **out)
{
	return vips_premultiply(in, out, NULL);
}

int
sat_unpremultiply(VipsImage *in, VipsImage **out)
{
	return vips_unpremultiply(in, out, NULL);
}

int
sat_flatten(VipsImage *in, VipsImage **out, const double *bg, int n)
{
	VipsArrayDouble *background = vips_array_double_new(bg, n);
	int r;

	r = vips_flatten(in, out, "background", background, NULL);
	vips_area_unref(VIPS_AREA(background));
	return r;
}

int
sat_gaussblur(VipsImage *in, VipsImage **out, double sigma)
{
	return vips_gaussblur(in, out, sigma, "min_ampl", 0.05, "precision", VIPS_PRECISION_FLOAT, NULL);
}

int
sat_sharpen(VipsImage *in, VipsImage **out, double sigma, double m2,
	double y2, double y3)
{
	return vips_sharpen(in, out,
		"sigma", sigma,
		"m2", m2,
		"y2", y2,
		"y3", y3,
		NULL);
}

int
sat_composite_over(VipsImage *base, VipsImage *over, VipsImage **out,
	int x, int y)
{
	return vips_composite2(base, over, out, VIPS_BLEND_MODE_OVER,
		"x", x, "y", y, NULL);
}

/* sat_solid makes a w x h image of n uchar bands, every pixel c.
 */
int
sat_solid(VipsImage **out, int w, int h, const double *c, int n)
{
	VipsImage *black, *t;
	double zero[8] = { 0 };
	int r;

	if (n > 8) {
		vips_error("satchel", "too many bands");
		return -1;
	}
	if (vips_black(&black, w, h, "bands", n, NULL))
		return -1;
	r = vips_linear(black, &t, zero, (double *) c, n, "uchar", TRUE,
		NULL);
	g_object_unref(black);
	if (r)
		return r;
	r = vips_copy(t, out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL);
	g_object_unref(t);
	return r;
}

int
sat_hist_find(VipsImage *in, VipsImage **out)
{
	return vips_hist_find(in, out, NULL);
}

int
sat_text(VipsImage **out, const char *text, const char *font, int width,
	int align)
{
	VipsAlign a = align < 0 ? VIPS_ALIGN_LOW :
		align > 0 ? VIPS_ALIGN_HIGH : VIPS_ALIGN_CENTRE;

	if (width > 0)
		return vips_text(out, text,
			"font", font,
			"width", width,
			"align", a,
			"dpi", 72,
			NULL);
	return vips_text(out, text, "font", font, "align", a, "dpi", 72, NULL);
}

int
sat_svg(const char *svg, size_t len, VipsImage **out)
{
	return vips_svgload_buffer((void *) svg, len, out, NULL);
}

/* ---- output ------------------------------------------------------------ */

int
sat_write_memory(VipsImage *in, void **buf, size_t *len)
{
	*buf = vips_image_write_to_memory(in, len);
	return *buf ? 0 : -1;
}

int
sat_save(VipsImage *in, const sat_save_opts *o, void **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	switch (o->format) {
	case SAT_JPEG:
		return vips_jpegsave_buffer(in, buf, len,
			"Q", o->q,
			"interlace", o->progressive,
			"optimize_coding", TRUE,
			"strip", o->strip,
			NULL);
	case SAT_PNG:
		return vips_pngsave_buffer(in, buf, len,
			"strip", o->strip,
			NULL);
	case SAT_WEBP:
		return vips_webpsave_buffer(in, buf, len,
			"Q", o->q,
			"effort", o->effort,
			"strip", o->strip,
			NULL);
	case SAT_AVIF:
		return vips_heifsave_buffer(in, buf, len,
			"Q", o->q,
			"compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
			"effort", o->effort,
			"strip", o->strip,
			NULL);
	case SAT_GIF:
		return vips_gifsave_buffer(in, buf, len,
			"strip", o->strip,
			NULL);
	}
	vips_error("satchel", "unknown output format");
	return -1;
}

/* sat_thumbnail_buffer is the plain libvips way to make a thumbnail; the
 * benchmarks compare the engine with it.
 */
int
sat_thumbnail_buffer(void *buf, size_t len, int w, int h, int format, int q,
	void **obuf, size_t *olen)
{
	VipsImage *t;
	int r;

	if (vips_thumbnail_buffer(buf, len, &t, w, "height", h, NULL))
		return -1;
	if (format == SAT_WEBP)
		r = vips_webpsave_buffer(t, obuf, olen, "Q", q, "strip", TRUE,
			NULL);
	else
		r = vips_jpegsave_buffer(t, obuf, olen, "Q", q, "strip", TRUE,
			"optimize_coding", TRUE, NULL);
	g_object_unref(t);
	return r;
}

/* sat_decode_rgba decodes an encoded image (first frame) to RGBA bytes;
 * the tests use it for formats Go cannot read.
 */
int
sat_decode_rgba(const void *buf, size_t len, void **pix, int *w, int *h,
	int *pages)
{
	VipsImage *im, *t1, *t2;
	size_t n;

	*pix = NULL;
	if (!(im = vips_image_new_from_buffer(buf, len, "", NULL)))
		return -1;
	*pages = 1;
	if (vips_image_get_typeof(im, "n-pages"))
		vips_image_get_int(im, "n-pages", pages);
	if (vips_colourspace(im, &t1, VIPS_INTERPRETATION_sRGB, NULL)) {
		g_object_unref(im);
		return -1;
	}
	g_object_unref(im);
	if (t1->Bands == 3) {
		if (vips_bandjoin_const1(t1, &t2, 255, NULL)) {
			g_object_unref(t1);
			return -1;
		}
		g_object_unref(t1);
		t1 = t2;
	}
	if (vips_cast(t1, &t2, VIPS_FORMAT_UCHAR, NULL)) {
		g_object_unref(t1);
		return -1;
	}
	g_object_unref(t1);
	*w = t2->Xsize;
	*h = t2->Ysize;
	*pix = vips_image_write_to_memory(t2, &n);
	g_object_unref(t2);
	return *pix ? 0 : -1;
}
