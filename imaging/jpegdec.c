#include "vips.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <jerror.h>

/* ---- JPEG decoding from memory ------------------------------------------
 *
 * libvips' jpegload hands libjpeg the source 4 KB at a time. libjpeg-turbo's
 * fast Huffman decoder only runs while a whole MCU's worth of worst-case
 * bytes (512 per block, 3 KB for a 4:2:0 MCU) is buffered, so with 4 KB
 * refills most of the entropy data goes through its slow path. Entropy
 * decoding is most of the cost of a JPEG downscale: given the whole file in
 * one buffer, the fast path runs almost throughout, about a tenth quicker.
 * The pixels are the ones libvips' loader makes (same libjpeg, same
 * settings: default IDCT, fancy upsampling, RGB or grey output).
 *
 * A JPEG in a local file is not read into memory first: it is fed from its
 * descriptor in SAT_JPEG_READ chunks, large enough that the fast path runs
 * for all but the last few KB of each, so a transform holds a quarter of a
 * megabyte of the source instead of all of it.
 */

/* SAT_JPEG_READ is the read size of the file source. */
#define SAT_JPEG_READ (256 * 1024)

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jmp;
} sat_jerr;

static void
sat_jerr_exit(j_common_ptr cinfo)
{
	sat_jerr *e = (sat_jerr *) cinfo->err;
	char msg[JMSG_LENGTH_MAX];

	cinfo->err->format_message(cinfo, msg);
	vips_error("jpeg", "%s", msg);
	longjmp(e->jmp, 1);
}

/* Warnings (corrupt or truncated data) are not errors, as with libvips'
 * loader when it is not asked to fail: what decodes is used.
 */
static void
sat_jerr_message(j_common_ptr cinfo)
{
}

/* A libjpeg source manager reading a file descriptor. */
typedef struct {
	struct jpeg_source_mgr pub;
	int fd;
	JOCTET *buf;
} sat_fdsrc;

static void
sat_fdsrc_init(j_decompress_ptr cinfo)
{
}

static boolean
sat_fdsrc_fill(j_decompress_ptr cinfo)
{
	sat_fdsrc *src = (sat_fdsrc *) cinfo->src;
	ssize_t n;

	do
		n = read(src->fd, src->buf, SAT_JPEG_READ);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		vips_error("jpeg", "read: %s", g_strerror(errno));
		ERREXIT(cinfo, JERR_FILE_READ);
	}
	if (n == 0) {
		/* Truncated: end the image as libjpeg's own sources do, with
		 * a warning (what decoded so far is kept).
		 */
		WARNMS(cinfo, JWRN_JPEG_EOF);
		src->buf[0] = (JOCTET) 0xFF;
		src->buf[1] = (JOCTET) JPEG_EOI;
		n = 2;
	}
	src->pub.next_input_byte = src->buf;
	src->pub.bytes_in_buffer = (size_t) n;
	return TRUE;
}

static void
sat_fdsrc_skip(j_decompress_ptr cinfo, long num)
{
	struct jpeg_source_mgr *src = cinfo->src;

	if (num <= 0)
		return;
	while (num > (long) src->bytes_in_buffer) {
		num -= (long) src->bytes_in_buffer;
		sat_fdsrc_fill(cinfo);
	}
	src->next_input_byte += num;
	src->bytes_in_buffer -= (size_t) num;
}

static void
sat_fdsrc_term(j_decompress_ptr cinfo)
{
}

static void
sat_fdsrc_set(j_decompress_ptr cinfo, sat_fdsrc *src, int fd, JOCTET *buf)
{
	src->pub.init_source = sat_fdsrc_init;
	src->pub.fill_input_buffer = sat_fdsrc_fill;
	src->pub.skip_input_data = sat_fdsrc_skip;
	src->pub.resync_to_restart = jpeg_resync_to_restart;
	src->pub.term_source = sat_fdsrc_term;
	src->pub.next_input_byte = NULL;
	src->pub.bytes_in_buffer = 0;
	src->fd = fd;
	src->buf = buf;
	cinfo->src = &src->pub;
}

/* sat_jpeg_run decodes from buf (len bytes) or, when buf is NULL, from fd
 * at its current offset.
 */
static int
sat_jpeg_run(const void *buf, size_t len, int fd, int shrink, VipsImage *hdr,
	sat_ctl *ctl, VipsImage **out)
{
	struct jpeg_decompress_struct cinfo;
	sat_jerr jerr;
	sat_fdsrc fdsrc;
	JOCTET *volatile inbuf = NULL;
	unsigned char *volatile strip = NULL;
	VipsImage *volatile im = NULL;
	volatile int created = 0;
	size_t stride, keep;
	int w, h;

	*out = NULL;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = sat_jerr_exit;
	jerr.pub.output_message = sat_jerr_message;
	if (setjmp(jerr.jmp)) {
		if (created)
			jpeg_destroy_decompress(&cinfo);
		g_free(inbuf);
		g_free(strip);
		if (im)
			g_object_unref(im);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	created = 1;
	if (buf)
		jpeg_mem_src(&cinfo, (const unsigned char *) buf, len);
	else {
		inbuf = g_malloc(SAT_JPEG_READ);
		sat_fdsrc_set(&cinfo, &fdsrc, fd, inbuf);
	}
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.out_color_space != JCS_RGB &&
		cinfo.out_color_space != JCS_GRAYSCALE) {
		/* CMYK and YCCK: left to libvips (inverted Adobe CMYK). */
		jpeg_destroy_decompress(&cinfo);
		g_free(inbuf);
		return 1;
	}
	cinfo.scale_num = 1;
	cinfo.scale_denom = shrink;
	jpeg_calc_output_dimensions(&cinfo);
	/* libjpeg rounds scaled sizes up, libvips down (it drops the partial
	 * last column and row): decode at libjpeg's size, keep libvips'.
	 */
	w = vips_image_get_width(hdr);
	h = vips_image_get_height(hdr);
	if ((int) cinfo.output_width < w || (int) cinfo.output_width > w + 1 ||
		(int) cinfo.output_height < h || (int) cinfo.output_height > h + 1 ||
		cinfo.output_components != vips_image_get_bands(hdr) ||
		vips_image_get_format(hdr) != VIPS_FORMAT_UCHAR) {
		jpeg_destroy_decompress(&cinfo);
		g_free(inbuf);
		return 1;
	}

	/* A plain memory image with the interpretation, resolution and every
	 * metadata field (EXIF with the orientation, ICC, XMP) of the
	 * loader's header, and its demand style.
	 */
	im = vips_image_new_memory();
	if (vips_image_pipelinev(im, VIPS_DEMAND_STYLE_FATSTRIP, hdr, NULL) ||
		vips_image_write_prepare(im)) {
		jpeg_destroy_decompress(&cinfo);
		g_free(inbuf);
		g_object_unref(im);
		return -1;
	}
	stride = (size_t) cinfo.output_width * cinfo.output_components;
	keep = (size_t) w * cinfo.output_components;
	strip = g_malloc(stride * 16);

	jpeg_start_decompress(&cinfo);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[16];
		int i, y0 = cinfo.output_scanline, n;

		for (i = 0; i < 16; i++)
			rows[i] = strip + i * stride;
		n = jpeg_read_scanlines(&cinfo, rows, 16);
		if (n == 0)
			break;
		for (i = 0; i < n && y0 + i < h; i++)
			memcpy(VIPS_IMAGE_ADDR(im, 0, y0 + i), rows[i], keep);
		if (ctl && sat_ctl_stopped(ctl)) {
			jpeg_destroy_decompress(&cinfo);
			g_free(inbuf);
			g_free(strip);
			g_object_unref(im);
			vips_error("jpeg", "computation stopped");
			return -1;
		}
	}
	/* The rest of the file (trailing markers) is not needed. */
	jpeg_abort_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	g_free(inbuf);
	g_free(strip);
	*out = im;
	return 0;
}

int
sat_jpeg_decode(const void *buf, size_t len, int shrink, VipsImage *hdr,
	sat_ctl *ctl, VipsImage **out)
{
	return sat_jpeg_run(buf, len, -1, shrink, hdr, ctl, out);
}

int
sat_jpeg_decode_fd(int fd, int shrink, VipsImage *hdr, sat_ctl *ctl,
	VipsImage **out)
{
	return sat_jpeg_run(NULL, 0, fd, shrink, hdr, ctl, out);
}
