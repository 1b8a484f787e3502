#include "vips.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>

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
 */

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

int
sat_jpeg_decode(const void *buf, size_t len, int shrink, VipsImage *hdr,
	sat_ctl *ctl, VipsImage **out)
{
	struct jpeg_decompress_struct cinfo;
	sat_jerr jerr;
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
		g_free(strip);
		if (im)
			g_object_unref(im);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	created = 1;
	jpeg_mem_src(&cinfo, (const unsigned char *) buf, len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.out_color_space != JCS_RGB &&
		cinfo.out_color_space != JCS_GRAYSCALE) {
		/* CMYK and YCCK: left to libvips (inverted Adobe CMYK). */
		jpeg_destroy_decompress(&cinfo);
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
			g_free(strip);
			g_object_unref(im);
			vips_error("jpeg", "computation stopped");
			return -1;
		}
	}
	/* The rest of the file (trailing markers) is not needed. */
	jpeg_abort_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	g_free(strip);
	*out = im;
	return 0;
}
