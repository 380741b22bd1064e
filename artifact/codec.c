#include "artifact/codec.h"

#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/*
 * Decoder memory is set by the compressed data: cap it.  mender-artifact
 * writes xz with a 64 MiB dictionary and zstd with windows of at most 8 MiB;
 * beyond these a payload is refused rather than trusted with the memory.
 */
#define XZ_MEMLIMIT (80ull << 20)
#define ZSTD_WINDOW_LOG_MAX 25	/* 32 MiB */

struct af_codec {
	enum af_compression comp;
	bool ended;
	bool frame_end;		/* zstd: the last frame so far is complete */
	struct inflate_state *g;	/* gzip: ISA-L, ~1.5x zlib's speed; its state is
					 * self-contained, so a copy is a checkpoint */
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
		isal_inflate_reset(c->g);
		c->g->crc_flag = ISAL_GZIP;	/* header parsed, CRC and length verified */
		return AF_OK;
	case AF_COMP_XZ:
		lzma_end(&c->x);
		c->x = (lzma_stream)LZMA_STREAM_INIT;
		return lzma_stream_decoder(&c->x, XZ_MEMLIMIT, LZMA_CONCATENATED) == LZMA_OK ?
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
		if ((c->g = malloc(sizeof(*c->g))) == NULL)
			goto fail;
		isal_inflate_init(c->g);
		c->g->crc_flag = ISAL_GZIP;
		break;
	case AF_COMP_XZ:
		if (lzma_stream_decoder(&c->x, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
			goto fail;
		break;
	case AF_COMP_ZSTD:
		if ((c->zs = ZSTD_createDStream()) == NULL ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(c->zs, ZSTD_d_windowLogMax,
		    ZSTD_WINDOW_LOG_MAX)))
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
	free(c->g);
	free(c);
}

static const char *
isal_text(int rc)
{
	switch (rc) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
	case ISAL_INVALID_WRAPPER: return "not gzip data (bad header)";
	case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM: return "CRC mismatch: the data is corrupt";
	default: return "corrupt data";
	}
}

/*
 * ISA-L's AVX-512 inflate returns with the upper halves of the vector
 * registers dirty, and legacy-SSE code run next on the same thread pays for
 * that on every instruction: OpenSSL's SHA-NI SHA-256 ran at 1.35 GB/s
 * instead of 1.8 (AMD EPYC, Zen 4) until the state was cleared.
 */
static void
clear_upper_vector_state(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper");
#endif
}

static enum af_err
run_gzip(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, char *why, size_t whylen)
{
	struct inflate_state *g = c->g;
	int rc;

	if (g->block_state == ISAL_BLOCK_FINISH) {
		/* gzip allows concatenated members; ISA-L stops after each */
		if (*in_len > 0 && (*in)[0] == 0x1f) {
			isal_inflate_reset(g);
			g->crc_flag = ISAL_GZIP;
		} else {
			c->ended = true;
			return AF_OK;
		}
	}
	g->next_in = (uint8_t *)*in;
	g->avail_in = *in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)*in_len;
	g->next_out = *out;
	g->avail_out = *out_len > UINT32_MAX ? UINT32_MAX : (uint32_t)*out_len;
	rc = isal_inflate(g);
	clear_upper_vector_state();
	*in_len -= (size_t)(g->next_in - *in);
	*in = g->next_in;
	*out_len -= (size_t)(g->next_out - *out);
	*out = g->next_out;
	if (rc < 0) {
		snprintf(why, whylen, "gzip: %s", isal_text(rc));
		return AF_ECORRUPT;
	}
	/* At the end of a member with no input left, another member may follow in
	 * the next buffer: the next call, with input or with none, decides. */
	if (g->block_state == ISAL_BLOCK_FINISH && *in_len > 0 && (*in)[0] != 0x1f)
		c->ended = true;
	return AF_OK;
}

static const char *
lzma_text(lzma_ret rc)
{
	switch (rc) {
	case LZMA_FORMAT_ERROR: return "not xz data";
	case LZMA_DATA_ERROR: return "corrupt data";
	case LZMA_BUF_ERROR: return "unexpected end of data";
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_MEMLIMIT_ERROR: return "needs more than 80 MiB of memory (a dictionary "
	    "larger than any Mender tool writes); refused";
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

size_t
af_codec_snapshot_size(const struct af_codec *c)
{
	return c->comp == AF_COMP_GZIP ? sizeof(*c->g) : 0;
}

bool
af_codec_snapshot(const struct af_codec *c, void *buf)
{
	if (c->comp != AF_COMP_GZIP || c->ended)
		return false;
	memcpy(buf, c->g, sizeof(*c->g));
	return true;
}

void
af_codec_restore(struct af_codec *c, const void *buf)
{
	memcpy(c->g, buf, sizeof(*c->g));
	c->g->next_in = NULL;
	c->g->avail_in = 0;
	c->g->next_out = NULL;
	c->g->avail_out = 0;
	c->ended = false;
}
