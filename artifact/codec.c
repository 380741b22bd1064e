#include "artifact/codec.h"

#include "artifact/recheck.h"

#include <isa-l/igzip_lib.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

/*
 * Where decoding stands in the compressed input: which member (gzip member,
 * xz stream, zstd frame) and where it began, and the last bytes consumed,
 * which at the end of a gzip member are its trailer.  Part of a checkpoint.
 */
struct position {
	uint64_t in_total;	/* compressed bytes consumed since the start */
	uint64_t member_start;	/* offset of the member being decoded */
	uint64_t end_of_last;	/* offset just past the last complete member */
	unsigned member;	/* 1, 2, ...: the member being decoded */
	unsigned complete;	/* members decoded to their end */
	bool open_output;	/* bytes were output from a member not ended yet */
	uint8_t tail[8];
	unsigned tail_len;	/* bytes of tail that belong to this member */
};

/* gzip: ISA-L, ~1.5x zlib's speed; its state is self-contained, so a copy of
 * it (and of where it stands) is a checkpoint. */
struct gzip_state {
	struct inflate_state g;
	struct position at;
};

struct af_codec {
	enum af_compression comp;
	bool ended;
	bool frame_end;		/* zstd: the last frame so far is complete */
	bool after_end;		/* xz: a stream ended; padding or another may follow */
	uint64_t padding;	/* xz: zero bytes since the last stream ended */
	bool trailing;		/* the error is in bytes after the first complete member */
	uint64_t trailing_at;
	struct gzip_state *gz;
	struct position own;	/* xz, zstd, none: gz->at for gzip */
	struct position *at;
	lzma_stream x;
	ZSTD_DStream *zs;
	struct af_recheck_input input;	/* read again only to explain a failed check */
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
	c->after_end = false;
	c->padding = 0;
	c->trailing = false;
	memset(c->at, 0, sizeof(*c->at));
	c->at->member = 1;
	switch (c->comp) {
	case AF_COMP_NONE:
		return AF_OK;
	case AF_COMP_GZIP:
		isal_inflate_reset(&c->gz->g);
		c->gz->g.crc_flag = ISAL_GZIP;	/* header parsed, CRC32 and ISIZE verified */
		return AF_OK;
	case AF_COMP_XZ:
		/* one stream at a time: run_xz sees where each ends (LZMA_CONCATENATED
		 * would hide it) and starts the next.  Initialized again rather than
		 * ended and made anew, liblzma keeps its dictionary: a new one was
		 * 64 MiB of fresh pages at every restart (random reads took 8%
		 * longer). */
		return lzma_stream_decoder(&c->x, AF_XZ_MEMLIMIT, 0) == LZMA_OK ? AF_OK : AF_ENOMEM;
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
	c->at = &c->own;
	c->at->member = 1;
	switch (comp) {
	case AF_COMP_GZIP:
		if ((c->gz = calloc(1, sizeof(*c->gz))) == NULL)
			goto fail;
		isal_inflate_init(&c->gz->g);
		c->gz->g.crc_flag = ISAL_GZIP;
		c->at = &c->gz->at;
		c->at->member = 1;
		break;
	case AF_COMP_XZ:
		if (lzma_stream_decoder(&c->x, AF_XZ_MEMLIMIT, 0) != LZMA_OK)
			goto fail;
		break;
	case AF_COMP_ZSTD:
		if ((c->zs = ZSTD_createDStream()) == NULL ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(c->zs, ZSTD_d_windowLogMax,
		    AF_ZSTD_WINDOW_LOG_MAX)))
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
	free(c->gz);
	free(c);
}

void
af_codec_set_reader(struct af_codec *c, af_codec_reader read, void *ctx)
{
	c->input.read = read;
	c->input.ctx = ctx;
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
	case ISAL_INCORRECT_CHECKSUM: return "the data does not match the member's trailer";
	default: return "corrupt data";
	}
}

/*
 * ISA-L's AVX-512 inflate returns with the upper halves of the vector
 * registers dirty, and legacy-SSE code run next on the same thread pays for
 * that on every instruction: OpenSSL's SHA-NI SHA-256 ran markedly slower
 * until the state was cleared (figures: commit bf9f69a).
 */
static void
clear_upper_vector_state(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper");
#endif
}

/* Counts n consumed bytes ending at end, keeping the last 8 of the member. */
static void
consumed(struct position *at, const uint8_t *end, size_t n)
{
	size_t keep = n < sizeof(at->tail) ? n : sizeof(at->tail);

	at->in_total += n;
	if (keep < sizeof(at->tail))
		memmove(at->tail, at->tail + keep, sizeof(at->tail) - keep);
	memcpy(at->tail + sizeof(at->tail) - keep, end - keep, keep);
	at->tail_len = at->tail_len + keep > sizeof(at->tail) ? (unsigned)sizeof(at->tail) :
	    at->tail_len + (unsigned)keep;
}

/* The next member (gzip member, xz stream, zstd frame) starts here. */
static void
next_member(struct position *at)
{
	at->member++;
	at->member_start = at->in_total;
	at->tail_len = 0;
}

static void
member_done(struct position *at)
{
	at->complete++;
	at->end_of_last = at->in_total;
	at->open_output = false;
}

/*
 * The bytes from at on are not another complete member: the caller (which
 * knows the member's length) says how many there are.  what, if not empty,
 * is the decoder's complaint about them (it may be why->text).
 */
static enum af_err
trailing(struct af_codec *c, uint64_t at, const char *what, struct af_reason *why)
{
	c->trailing = true;
	c->trailing_at = at;
	if (what == why->text)	/* the decoder's words are already there */
		why->code = AF_C_TRAILING_BYTES;
	else
		af_reason_set(why, AF_C_TRAILING_BYTES, "%s", what);
	return AF_ECORRUPT;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The member's trailer (CRC32, ISIZE) disagrees with what ISA-L computed as it
 * inflated: say which, with both values. */
static enum af_err
trailer_mismatch(struct af_codec *c, struct af_reason *why)
{
	const struct inflate_state *g = &c->gz->g;
	const struct position *at = c->at;
	char crc[80] = "", isize[100] = "";

	if (at->tail_len < sizeof(at->tail)) {	/* only after a restore inside the trailer */
		snprintf(crc, sizeof(crc), " its data has CRC32 %08x and ISIZE %u;", g->crc,
		    g->total_out);
	} else {
		if (le32(at->tail) != g->crc)
			snprintf(crc, sizeof(crc), " CRC32 expected %08x (trailer), actual %08x "
			    "(data);", le32(at->tail), g->crc);
		if (le32(at->tail + 4) != g->total_out)
			snprintf(isize, sizeof(isize), " ISIZE expected %u (trailer), actual %u "
			    "(data, bytes mod 2^32);", le32(at->tail + 4), g->total_out);
	}
	return af_fail(why, AF_ECORRUPT, AF_C_CHECK_MISMATCH, "gzip member %u (from byte %llu) "
	    "does not match its trailer:%s%s rebuild the artifact", at->member,
	    (unsigned long long)at->member_start, crc, isize);
}

static enum af_err
run_gzip(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, struct af_reason *why)
{
	struct inflate_state *g = &c->gz->g;
	bool input_over = *in_len == 0;
	uint8_t *out0 = *out;
	int rc;

	if (g->block_state == ISAL_BLOCK_FINISH) {
		/* gzip allows concatenated members; ISA-L stops after each */
		if (input_over) {
			c->ended = true;
			return AF_OK;
		}
		if ((*in)[0] != 0x1f)
			return trailing(c, c->at->end_of_last, "", why);
		isal_inflate_reset(g);
		g->crc_flag = ISAL_GZIP;
		next_member(c->at);
	}
	g->next_in = (uint8_t *)*in;
	g->avail_in = *in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)*in_len;
	g->next_out = *out;
	g->avail_out = *out_len > UINT32_MAX ? UINT32_MAX : (uint32_t)*out_len;
	rc = isal_inflate(g);
	clear_upper_vector_state();
	consumed(c->at, g->next_in, (size_t)(g->next_in - *in));
	*in_len -= (size_t)(g->next_in - *in);
	*in = g->next_in;
	*out_len -= (size_t)(g->next_out - *out);
	*out = g->next_out;
	if (rc == ISAL_INCORRECT_CHECKSUM)
		return trailer_mismatch(c, why);
	if (rc < 0 && c->at->member > 1)
		return trailing(c, c->at->end_of_last, isal_text(rc), why);
	if (rc < 0)
		return af_fail(why, AF_ECORRUPT, AF_C_CORRUPT, "gzip: %s", isal_text(rc));
	if (input_over && g->block_state != ISAL_BLOCK_FINISH && c->at->member > 1 &&
	    *out == out0)	/* not still flushing: stuck */
		return trailing(c, c->at->end_of_last, "a gzip member cut short", why);
	if (g->block_state != ISAL_BLOCK_FINISH)
		return AF_OK;
	if (c->at->complete < c->at->member)
		member_done(c->at);
	/* At the end of a member with no input left, another member may follow in
	 * the next buffer: the next call, with input or with none, decides. */
	if (*in_len > 0 && (*in)[0] != 0x1f)
		return trailing(c, c->at->end_of_last, "", why);
	return AF_OK;
}

/* The reason for rc; true if it is a block's check mismatch. */
static bool
lzma_text(struct af_codec *c, lzma_ret rc, struct af_reason *why)
{
	enum af_code code = AF_C_CORRUPT;
	const char *text;
	lzma_check check;

	switch (rc) {
	case LZMA_FORMAT_ERROR: text = "not xz data"; break;
	case LZMA_DATA_ERROR:	/* corrupt data, or a block's check mismatch */
		/* the failed decoder is of no more use (af_codec_reset makes a new
		 * one): free its dictionary before the recheck allocates another */
		check = lzma_get_check(&c->x);
		lzma_end(&c->x);
		c->x = (lzma_stream)LZMA_STREAM_INIT;
		return af_recheck_xz_reason(&c->input, c->at->member, c->at->member_start,
		    check, why);
	case LZMA_BUF_ERROR: text = "unexpected end of data"; break;
	case LZMA_MEM_ERROR: text = "out of memory"; code = AF_C_NO_MEMORY; break;
	case LZMA_MEMLIMIT_ERROR: text = "needs more than 80 MiB of memory (a dictionary "
	    "larger than any Mender tool writes); refused"; code = AF_C_TOO_BIG; break;
	case LZMA_OPTIONS_ERROR: text = "unsupported options"; break;
	default: text = "decoder error"; break;
	}
	af_reason_set(why, code, "xz: %s", text);
	return false;
}

/* After the end of an xz stream: Stream Padding (zero bytes, a multiple of
 * four) and further streams may follow; anything else may not. */
static enum af_err
xz_after_end(struct af_codec *c, const uint8_t **in, size_t *in_len, bool input_over,
    struct af_reason *why)
{
	size_t n = 0;

	while (n < *in_len && (*in)[n] == 0)
		n++;
	c->padding += n;
	consumed(c->at, *in + n, n);
	*in += n;
	*in_len -= n;
	if (*in_len == 0 && !input_over)
		return AF_OK;
	if (c->padding % 4 != 0)
		return trailing(c, c->at->end_of_last, "zero padding that is not a multiple of "
		    "4 bytes", why);
	if (*in_len == 0) {
		c->ended = true;
		return AF_OK;
	}
	if ((*in)[0] != 0xfd)	/* the first byte of an xz stream's magic */
		return trailing(c, c->at->end_of_last, "", why);
	if (lzma_stream_decoder(&c->x, AF_XZ_MEMLIMIT, 0) != LZMA_OK)
		return af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "xz: out of memory");
	c->after_end = false;
	c->padding = 0;
	next_member(c->at);
	return AF_OK;
}

static enum af_err
run_xz(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, struct af_reason *why)
{
	bool input_over = *in_len == 0;
	enum af_err err;
	lzma_ret rc;

	if (c->after_end && ((err = xz_after_end(c, in, in_len, input_over, why)) !=
	    AF_OK || c->after_end || c->ended))
		return err;
	c->x.next_in = *in;
	c->x.avail_in = *in_len;
	c->x.next_out = *out;
	c->x.avail_out = *out_len;
	/* LZMA_FINISH once the caller has no more input tells xz the end is real. */
	rc = lzma_code(&c->x, input_over ? LZMA_FINISH : LZMA_RUN);
	consumed(c->at, c->x.next_in, *in_len - c->x.avail_in);
	*in_len = c->x.avail_in;
	*in = c->x.next_in;
	*out_len = c->x.avail_out;
	*out = c->x.next_out;
	if (rc == LZMA_STREAM_END) {
		member_done(c->at);
		c->after_end = true;
		c->ended = input_over;
		return AF_OK;
	}
	if (rc == LZMA_OK)
		return AF_OK;
	/* a later stream that decodes but fails a block's check is a whole stream,
	 * not bytes after the data */
	if (!lzma_text(c, rc, why) && c->at->member > 1 && rc != LZMA_MEM_ERROR &&
	    rc != LZMA_MEMLIMIT_ERROR)
		return trailing(c, c->at->end_of_last, why->text, why);
	return AF_ECORRUPT;
}

/* A zstd frame begins where the last complete one ended. */
static void
next_frame(struct af_codec *c)
{
	c->frame_end = false;
	c->at->member++;
	c->at->member_start = c->at->end_of_last;
}

static enum af_err
zstd_checksum_mismatch(struct af_codec *c, struct af_reason *why)
{
	if (c->frame_end)	/* the frame that failed began in this call */
		next_frame(c);
	af_recheck_zstd_reason(&c->input, c->at->member, c->at->member_start, why);
	return AF_ECORRUPT;
}

static enum af_err
run_zstd(struct af_codec *c, const uint8_t **in, size_t *in_len, uint8_t **out,
    size_t *out_len, struct af_reason *why)
{
	ZSTD_inBuffer ib = { *in, *in_len, 0 };
	ZSTD_outBuffer ob = { *out, *out_len, 0 };
	bool input_over = *in_len == 0;
	size_t rc = ZSTD_decompressStream(c->zs, &ob, &ib);

	consumed(c->at, *in + ib.pos, ib.pos);
	*in += ib.pos;
	*in_len -= ib.pos;
	*out += ob.pos;
	*out_len -= ob.pos;
	if (ZSTD_isError(rc) && ZSTD_getErrorCode(rc) == ZSTD_error_checksum_wrong)
		return zstd_checksum_mismatch(c, why);
	if (ZSTD_isError(rc) && c->at->complete > 0)
		return trailing(c, c->at->end_of_last, ZSTD_getErrorName(rc), why);
	if (ZSTD_isError(rc))
		return af_fail(why, AF_ECORRUPT, AF_C_CORRUPT, "zstd: %s", ZSTD_getErrorName(rc));
	/* rc == 0: a frame ended and was flushed; another may follow, so only
	 * the caller's end of input makes it the end of the stream.  A call with
	 * no input after a complete frame returns a size hint, not 0. */
	if (rc == 0 && (ib.pos > 0 || !c->frame_end)) {
		if (c->frame_end)	/* a whole frame more, in this one call */
			next_frame(c);
		c->frame_end = true;
		member_done(c->at);
	} else if (rc != 0 && ib.pos > 0 && c->frame_end) {
		next_frame(c);
	}
	if (input_over && !c->frame_end && c->at->complete > 0 && ob.pos == 0)
		return trailing(c, c->at->end_of_last, "a zstd frame cut short", why);
	if (c->frame_end && input_over)
		c->ended = true;
	return AF_OK;
}

enum af_err
af_codec_run(struct af_codec *c, const uint8_t **in, size_t *in_len,
    uint8_t **out, size_t *out_len, bool *done, struct af_reason *why)
{
	enum af_err err = AF_OK;
	const uint8_t *out0 = *out;
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
		err = run_gzip(c, in, in_len, out, out_len, why);
		break;
	case AF_COMP_XZ:
		err = run_xz(c, in, in_len, out, out_len, why);
		break;
	case AF_COMP_ZSTD:
		err = run_zstd(c, in, in_len, out, out_len, why);
		break;
	}
	/* a call that ends a member has counted its input up to the end */
	if (*out != out0 && c->at->in_total > c->at->end_of_last)
		c->at->open_output = true;
	*done = c->ended;
	return err;
}

size_t
af_codec_snapshot_size(const struct af_codec *c)
{
	return c->comp == AF_COMP_GZIP ? sizeof(*c->gz) : 0;
}

bool
af_codec_snapshot(const struct af_codec *c, void *buf)
{
	if (c->comp != AF_COMP_GZIP || c->ended || c->trailing)
		return false;
	memcpy(buf, c->gz, sizeof(*c->gz));
	return true;
}

void
af_codec_restore(struct af_codec *c, const void *buf)
{
	struct inflate_state *g = &c->gz->g;

	memcpy(c->gz, buf, sizeof(*c->gz));
	g->next_in = NULL;
	g->avail_in = 0;
	g->next_out = NULL;
	g->avail_out = 0;
	c->ended = false;
	c->trailing = false;
}

bool
af_codec_trailing(const struct af_codec *c, uint64_t *at)
{
	if (c->trailing)
		*at = c->trailing_at;
	return c->trailing;
}

bool
af_codec_output_checked(const struct af_codec *c)
{
	return !c->at->open_output;
}
