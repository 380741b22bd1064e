#include "artifact/codec.h"

#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct af_codec {
	enum af_compression comp;
	bool ended;
	bool frame_end;		/* zstd: the last frame so far is complete */
	z_stream z;
	lzma_stream x;
	ZSTD_DStream *zs;
};

static const struct {
	const char *suffix;
	enum af_compression comp;
} suffixes[] = {
	{ ".tar", AF_COMP_NONE },
	{ ".tar.gz", AF_COMP_GZIP },
	{ ".tar.xz", AF_COMP_XZ },
	{ ".tar.zst", AF_COMP_ZSTD },
};

bool
af_compression_from_name(const char *name, enum af_compression *out,
    const char **suffix_out)
{
	size_t i, n = strlen(name);

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t s = strlen(suffixes[i].suffix);
		if (n > s && strcmp(name + n - s, suffixes[i].suffix) == 0) {
			*out = suffixes[i].comp;
			if (suffix_out != NULL)
				*suffix_out = name + n - s;
			return true;
		}
	}
	return false;
}

const char *
af_compression_name(enum af_compression comp)
{
	switch (comp) {
	case AF_COMP_NONE: return "none";
	case AF_COMP_GZIP: return "gzip";
	case AF_COMP_XZ: return "xz";
	case AF_COMP_ZSTD: return "zstd";
	}
	return "unknown";
}

static void
end_streams(struct af_codec *c)
{
	switch (c->comp) {
	case AF_COMP_GZIP: inflateEnd(&c->z); break;
	case AF_COMP_XZ: lzma_end(&c->x); break;
	default: break;
	}
}

enum af_err
af_codec_reset(struct af_codec *c)
{
	c->ended = false;
	c->frame_end = false;
	switch (c->comp) {
	case AF_COMP_NONE:
		return AF_OK;
	case AF_COMP_GZIP:
		/* 16 + MAX_WBITS: gzip wrapper only, so a zlib stream is refused. */
		return inflateReset2(&c->z, 16 + MAX_WBITS) == Z_OK ? AF_OK : AF_ENOMEM;
	case AF_COMP_XZ:
		lzma_end(&c->x);
		c->x = (lzma_stream)LZMA_STREAM_INIT;
		return lzma_stream_decoder(&c->x, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK ?
		    AF_OK : AF_ENOMEM;
	case AF_COMP_ZSTD:
		return ZSTD_isError(ZSTD_DCtx_reset(c->zs, ZSTD_reset_session_only)) ?
		    AF_ENOMEM : AF_OK;
	}
	return AF_EFORMAT;
}

struct af_codec *
af_codec_new(enum af_compression comp)
{
	struct af_codec *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->comp = comp;
	c->x = (lzma_stream)LZMA_STREAM_INIT;
	switch (comp) {
	case AF_COMP_GZIP:
		if (inflateInit2(&c->z, 16 + MAX_WBITS) != Z_OK)
			goto fail;
		break;
	case AF_COMP_XZ:
		if (lzma_stream_decoder(&c->x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
			goto fail;
		break;
	case AF_COMP_ZSTD:
		if ((c->zs = ZSTD_createDStream()) == NULL)
			goto fail;
		break;
	case AF_COMP_NONE:
		break;
	}
	return c;
fail:
	free(c);
	return NULL;
}

void
af_codec_free(struct af_codec *c)
{
	if (c == NULL)
		return;
	end_streams(c);
	ZSTD_freeDStream(c->zs);
	free(c);
}

static enum af_err
run_gzip(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, char *why, size_t whylen)
{
	int rc;

	c->z.next_in = (Bytef *)*in;
	c->z.avail_in = *in_len > UINT32_MAX ? UINT32_MAX : (uInt)*in_len;
	c->z.next_out = *out;
	c->z.avail_out = *out_len > UINT32_MAX ? UINT32_MAX : (uInt)*out_len;
	rc = inflate(&c->z, Z_NO_FLUSH);
	*in_len -= (size_t)(c->z.next_in - *in);
	*in = c->z.next_in;
	*out_len -= (size_t)(c->z.next_out - *out);
	*out = c->z.next_out;
	if (rc == Z_STREAM_END) {
		/* gzip allows concatenated members; zlib stops after each. */
		if (*in_len > 0 && (*in)[0] == 0x1f) {
			inflateReset2(&c->z, 16 + MAX_WBITS);
			return AF_OK;
		}
		c->ended = true;
		return AF_OK;
	}
	if (rc == Z_OK || rc == Z_BUF_ERROR)
		return AF_OK;
	snprintf(why, whylen, "gzip: %s", c->z.msg != NULL ? c->z.msg : "corrupt data");
	return AF_ECORRUPT;
}

static const char *
lzma_text(lzma_ret rc)
{
	switch (rc) {
	case LZMA_FORMAT_ERROR: return "not xz data";
	case LZMA_DATA_ERROR: return "corrupt data";
	case LZMA_BUF_ERROR: return "unexpected end of data";
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	default: return "decoder error";
	}
}

static enum af_err
run_xz(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, char *why, size_t whylen)
{
	lzma_ret rc;

	c->x.next_in = *in;
	c->x.avail_in = *in_len;
	c->x.next_out = *out;
	c->x.avail_out = *out_len;
	/* LZMA_FINISH once the caller has no more input tells xz the end is real. */
	rc = lzma_code(&c->x, *in_len == 0 ? LZMA_FINISH : LZMA_RUN);
	*in_len = c->x.avail_in;
	*in = c->x.next_in;
	*out_len = c->x.avail_out;
	*out = c->x.next_out;
	if (rc == LZMA_STREAM_END) {
		c->ended = true;
		return AF_OK;
	}
	if (rc == LZMA_OK)
		return AF_OK;
	snprintf(why, whylen, "xz: %s", lzma_text(rc));
	return AF_ECORRUPT;
}

static enum af_err
run_zstd(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, char *why, size_t whylen)
{
	ZSTD_inBuffer ib = { *in, *in_len, 0 };
	ZSTD_outBuffer ob = { *out, *out_len, 0 };
	bool input_over = *in_len == 0;
	size_t rc = ZSTD_decompressStream(c->zs, &ob, &ib);

	*in += ib.pos;
	*in_len -= ib.pos;
	*out += ob.pos;
	*out_len -= ob.pos;
	if (ZSTD_isError(rc)) {
		snprintf(why, whylen, "zstd: %s", ZSTD_getErrorName(rc));
		return AF_ECORRUPT;
	}
	/* rc == 0: a frame ended and was flushed; another may follow, so only
	 * the caller's end of input makes it the end of the stream.  A call with
	 * no input after a complete frame returns a size hint, not 0. */
	if (rc == 0)
		c->frame_end = true;
	else if (ib.pos > 0)
		c->frame_end = false;
	if (c->frame_end && input_over)
		c->ended = true;
	return AF_OK;
}

enum af_err
af_codec_run(struct af_codec *c, const uint8_t **in, size_t *in_len,
    uint8_t **out, size_t *out_len, bool *done, char *why, size_t whylen)
{
	enum af_err err = AF_OK;
	size_t n;

	if (c->ended) {
		*done = true;
		return AF_OK;
	}
	switch (c->comp) {
	case AF_COMP_NONE:
		if (*in_len == 0)
			c->ended = true;
		n = *in_len < *out_len ? *in_len : *out_len;
		memcpy(*out, *in, n);
		*in += n;
		*in_len -= n;
		*out += n;
		*out_len -= n;
		break;
	case AF_COMP_GZIP:
		err = run_gzip(c, in, in_len, out, out_len, why, whylen);
		break;
	case AF_COMP_XZ:
		err = run_xz(c, in, in_len, out, out_len, why, whylen);
		break;
	case AF_COMP_ZSTD:
		err = run_zstd(c, in, in_len, out, out_len, why, whylen);
		break;
	}
	*done = c->ended;
	return err;
}
