#include "artifact/recheck.h"

#include "crypto/sha256.h"

#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
/* for ZSTD_d_forceIgnoreChecksum (libzstd >= 1.4.7): an "experimental"
 * parameter by name only; the shared library accepts it like any other */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#define CHUNK (256u << 10)	/* input read, and output decoded, at a time */

/* Input and output buffers of one re-decode. */
struct buffers {
	uint8_t *in, *out;
};

static bool
buffers_new(struct buffers *b)
{
	b->in = malloc(CHUNK);
	b->out = malloc(CHUNK);
	return b->in != NULL && b->out != NULL;
}

static void
buffers_free(struct buffers *b)
{
	free(b->in);
	free(b->out);
}

static bool
read_exact(const struct af_recheck_input *in, uint64_t off, void *buf, size_t len)
{
	size_t got;

	return in->read(in->ctx, off, buf, len, &got) && got == len;
}

/* ---- xz ---------------------------------------------------------------------------- */

/* The check of one block's output, computed the way the Check field stores it. */
struct check_sum {
	lzma_check type;
	uint32_t crc32;
	uint64_t crc64;
	struct cr_sha256 *sha;
};

static bool
check_start(struct check_sum *sum, lzma_check type)
{
	memset(sum, 0, sizeof(*sum));
	sum->type = type;
	if (type == LZMA_CHECK_SHA256)
		return (sum->sha = cr_sha256_new()) != NULL;
	return type == LZMA_CHECK_CRC32 || type == LZMA_CHECK_CRC64;
}

static void
check_update(struct check_sum *sum, const uint8_t *data, size_t len)
{
	switch (sum->type) {
	case LZMA_CHECK_CRC32: sum->crc32 = lzma_crc32(data, len, sum->crc32); break;
	case LZMA_CHECK_CRC64: sum->crc64 = lzma_crc64(data, len, sum->crc64); break;
	case LZMA_CHECK_SHA256: cr_sha256_update(sum->sha, data, len); break;
	default: break;
	}
}

/* The value as `xz -lvv` prints a check: CRCs as numbers (the field holds them
 * little-endian), SHA-256 as its bytes in order. */
static void
stored_hex(lzma_check type, const uint8_t *raw, char *out)
{
	uint32_t n = lzma_check_size(type), i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", raw[type == LZMA_CHECK_SHA256 ? i : n - 1 - i]);
}

/* Ends the sum: its value as stored_hex prints it. */
static void
check_finish(struct check_sum *sum, char *out)
{
	if (sum->type == LZMA_CHECK_SHA256)
		cr_sha256_final_hex(sum->sha, out);
	else if (sum->type == LZMA_CHECK_CRC32)
		sprintf(out, "%08x", (unsigned)sum->crc32);
	else
		sprintf(out, "%016llx", (unsigned long long)sum->crc64);
	cr_sha256_free(sum->sha);
	sum->sha = NULL;
}

static const char *
check_name(lzma_check check)
{
	switch (check) {
	case LZMA_CHECK_NONE: return "no check";
	case LZMA_CHECK_CRC32: return "CRC32";
	case LZMA_CHECK_CRC64: return "CRC64";
	case LZMA_CHECK_SHA256: return "SHA-256";
	default: return "check";
	}
}

/* One block, from its header on. */
struct xz_block {
	unsigned number;
	uint64_t start;		/* offset of its header */
	lzma_block opt;
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
};

static void
filters_free(lzma_filter *filters)
{
	size_t i;

	for (i = 0; filters[i].id != LZMA_VLI_UNKNOWN; i++) {
		free(filters[i].options);
		filters[i].options = NULL;
	}
}

/*
 * Reads the header of block b (at b->start); false, with *stop saying why,
 * at the Index (no block is left) or when it cannot be read or used.
 */
static bool
block_header(const struct af_recheck_input *in, struct xz_block *b, lzma_check check,
    enum af_recheck *stop)
{
	uint8_t header[LZMA_BLOCK_HEADER_SIZE_MAX];

	*stop = AF_RECHECK_UNKNOWN;
	if (!read_exact(in, b->start, header, 1))
		return false;
	if (header[0] == 0x00) {	/* the Index Indicator: every block matched */
		*stop = AF_RECHECK_CORRUPT;
		return false;
	}
	memset(&b->opt, 0, sizeof(b->opt));
	b->opt.version = 1;	/* for ignore_check */
	b->opt.check = check;
	b->opt.filters = b->filters;
	b->opt.header_size = lzma_block_header_size_decode(header[0]);
	b->filters[0].id = LZMA_VLI_UNKNOWN;
	if (!read_exact(in, b->start + 1, header + 1, b->opt.header_size - 1))
		return false;
	if (lzma_block_header_decode(&b->opt, NULL, header) != LZMA_OK) {
		*stop = AF_RECHECK_CORRUPT;
		return false;
	}
	/* the stream decoder that failed was held to the same limit */
	if (b->opt.version < 1 || lzma_raw_decoder_memusage(b->filters) > AF_XZ_MEMLIMIT) {
		filters_free(b->filters);
		return false;
	}
	b->opt.ignore_check = true;
	return true;
}

/*
 * Decodes the block whose header was read, with its check ignored, summing
 * its output; *end gets the offset just past it (its Check field included).
 * False, with *stop saying why, if it does not decode.
 */
static bool
block_decode(const struct af_recheck_input *in, struct xz_block *b, struct buffers *buf,
    struct check_sum *sum, uint64_t *end, enum af_recheck *stop)
{
	lzma_stream x = LZMA_STREAM_INIT;
	uint64_t chunk_at = b->start + b->opt.header_size;	/* offset of buf->in[0] */
	lzma_ret rc = LZMA_OK;
	size_t got = 0;

	*stop = AF_RECHECK_UNKNOWN;
	if (lzma_block_decoder(&x, &b->opt) != LZMA_OK)
		return false;
	while (rc == LZMA_OK) {
		if (x.avail_in == 0) {
			chunk_at += got;
			if (!in->read(in->ctx, chunk_at, buf->in, CHUNK, &got))
				break;
			x.next_in = buf->in;
			x.avail_in = got;
		}
		x.next_out = buf->out;
		x.avail_out = CHUNK;
		rc = lzma_code(&x, got < CHUNK ? LZMA_FINISH : LZMA_RUN);
		check_update(sum, buf->out, CHUNK - x.avail_out);
	}
	if (rc == LZMA_STREAM_END)
		*end = chunk_at + (uint64_t)(x.next_in - buf->in);
	lzma_end(&x);
	if (rc != LZMA_OK && rc != LZMA_MEM_ERROR && rc != LZMA_STREAM_END)
		*stop = AF_RECHECK_CORRUPT;	/* not even with the check ignored */
	return rc == LZMA_STREAM_END;
}

/*
 * Whether block b (at b->start) decodes and matches its check: then b->start
 * moves past it.  Otherwise *stop says why not; on a mismatch, detail gets
 * both values.
 */
static bool
block_matches(const struct af_recheck_input *in, struct xz_block *b, lzma_check check,
    struct buffers *buf, char *detail, size_t detail_len, enum af_recheck *stop)
{
	char stored[2 * LZMA_CHECK_SIZE_MAX + 1], actual[2 * LZMA_CHECK_SIZE_MAX + 1];
	struct check_sum sum;
	uint64_t end = 0;
	bool decoded;

	if (!block_header(in, b, check, stop))
		return false;
	if (!check_start(&sum, check)) {
		filters_free(b->filters);
		*stop = AF_RECHECK_UNKNOWN;
		return false;
	}
	decoded = block_decode(in, b, buf, &sum, &end, stop);
	check_finish(&sum, actual);
	filters_free(b->filters);
	if (!decoded)
		return false;
	stored_hex(check, b->opt.raw_check, stored);
	if (strcmp(stored, actual) != 0) {
		snprintf(detail, detail_len, "block %u (from byte %llu) does not match its %s: "
		    "expected %s (stored), actual %s (data)", b->number,
		    (unsigned long long)b->start, check_name(check), stored, actual);
		*stop = AF_RECHECK_MISMATCH;
		return false;
	}
	b->number++;
	b->start = end;
	return true;
}

enum af_recheck
af_recheck_xz(const struct af_recheck_input *in, uint64_t start, char *detail,
    size_t detail_len)
{
	uint8_t header[LZMA_STREAM_HEADER_SIZE];
	struct xz_block b = { .number = 1, .start = start + LZMA_STREAM_HEADER_SIZE };
	enum af_recheck stop = AF_RECHECK_UNKNOWN;
	lzma_stream_flags flags;
	struct buffers buf;

	if (!read_exact(in, start, header, sizeof(header)))
		return AF_RECHECK_UNKNOWN;
	if (lzma_stream_header_decode(&flags, header) != LZMA_OK || flags.check == LZMA_CHECK_NONE)
		return AF_RECHECK_CORRUPT;	/* no check to mismatch */
	if (buffers_new(&buf))
		while (block_matches(in, &b, flags.check, &buf, detail, detail_len, &stop))
			;
	buffers_free(&buf);
	return stop;
}

/* ---- zstd -------------------------------------------------------------------------- */

/* Whether the frame at start is a zstd frame that carries a content checksum. */
static bool
has_checksum(const struct af_recheck_input *in, uint64_t start)
{
	uint8_t header[ZSTD_FRAMEHEADERSIZE_MAX];
	ZSTD_frameHeader fh;
	size_t got;

	return in->read(in->ctx, start, header, sizeof(header), &got) &&
	    ZSTD_getFrameHeader(&fh, header, got) == 0 && fh.frameType == ZSTD_frame &&
	    fh.checksumFlag;
}

/*
 * Decodes the frame at start with its checksum ignored, hashing its content
 * into h; *end gets the offset just past it.
 */
static bool
frame_decode(const struct af_recheck_input *in, uint64_t start, ZSTD_DCtx *z,
    XXH64_state_t *h, struct buffers *buf, uint64_t *end)
{
	ZSTD_inBuffer ib = { buf->in, 0, 0 };
	uint64_t chunk_at = start;	/* offset of buf->in[0] */
	size_t rc = 1, got = 0;

	if (ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, AF_ZSTD_WINDOW_LOG_MAX)) ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_forceIgnoreChecksum,
	    ZSTD_d_ignoreChecksum)))
		return false;
	while (rc != 0) {
		ZSTD_outBuffer ob = { buf->out, CHUNK, 0 };
		if (ib.pos == ib.size) {
			chunk_at += got;
			if (!in->read(in->ctx, chunk_at, buf->in, CHUNK, &got) || got == 0)
				return false;
			ib.size = got;
			ib.pos = 0;
		}
		rc = ZSTD_decompressStream(z, &ob, &ib);
		if (ZSTD_isError(rc))
			return false;
		XXH64_update(h, buf->out, ob.pos);
	}
	*end = chunk_at + ib.pos;
	return true;
}

enum af_recheck
af_recheck_zstd(const struct af_recheck_input *in, uint64_t start, char *detail,
    size_t detail_len)
{
	enum af_recheck result = AF_RECHECK_UNKNOWN;
	ZSTD_DCtx *z = ZSTD_createDCtx();
	XXH64_state_t *h = XXH64_createState();
	struct buffers buf;
	uint64_t end = 0, actual;
	uint8_t stored[4];

	if (buffers_new(&buf) && z != NULL && h != NULL && has_checksum(in, start) &&
	    XXH64_reset(h, 0) == XXH_OK && frame_decode(in, start, z, h, &buf, &end) &&
	    read_exact(in, end - sizeof(stored), stored, sizeof(stored))) {
		uint32_t want = (uint32_t)stored[0] | (uint32_t)stored[1] << 8 |
		    (uint32_t)stored[2] << 16 | (uint32_t)stored[3] << 24;
		actual = XXH64_digest(h);
		snprintf(detail, detail_len, "expected %08x (stored), actual %08x (data, the low "
		    "32 bits of XXH64 %016llx)", (unsigned)want, (unsigned)(actual & 0xffffffffu),
		    (unsigned long long)actual);
		result = want == (uint32_t)actual ? AF_RECHECK_UNKNOWN : AF_RECHECK_MISMATCH;
	}
	buffers_free(&buf);
	XXH64_freeState(h);
	ZSTD_freeDCtx(z);
	return result;
}

/* ---- the reasons ------------------------------------------------------------------- */

bool
af_recheck_xz_reason(const struct af_recheck_input *in, unsigned member, uint64_t start,
    unsigned check, struct af_reason *why)
{
	char detail[AF_REASON_MAX];
	enum af_recheck found = in->read == NULL ? AF_RECHECK_UNKNOWN :
	    af_recheck_xz(in, start, detail, sizeof(detail));

	if (found == AF_RECHECK_MISMATCH)
		af_reason_set(why, AF_C_CHECK_MISMATCH, "xz stream %u (from byte %llu), %s; "
		    "rebuild the artifact",
		    member, (unsigned long long)start, detail);
	else if (found == AF_RECHECK_CORRUPT)
		af_reason_set(why, AF_C_CORRUPT, "xz stream %u (from byte %llu): corrupt data; "
		    "rebuild the "
		    "artifact", member, (unsigned long long)start);
	else
		af_reason_set(why, AF_C_CORRUPT, "xz stream %u (from byte %llu): corrupt data, or "
		    "a block that does not match its %s; rebuild the artifact", member,
		    (unsigned long long)start, check_name((lzma_check)check));
	return found == AF_RECHECK_MISMATCH;
}

void
af_recheck_zstd_reason(const struct af_recheck_input *in, unsigned member, uint64_t start,
    struct af_reason *why)
{
	char detail[AF_REASON_MAX];

	if (in->read != NULL &&
	    af_recheck_zstd(in, start, detail, sizeof(detail)) == AF_RECHECK_MISMATCH)
		af_reason_set(why, AF_C_CHECK_MISMATCH, "zstd frame %u (from byte %llu): its "
		    "content checksum does not match its data: %s; rebuild the artifact", member,
		    (unsigned long long)start, detail);
	else
		af_reason_set(why, AF_C_CHECK_MISMATCH, "zstd frame %u (from byte %llu): its "
		    "content checksum (XXH64) does not match its data; rebuild the artifact",
		    member, (unsigned long long)start);
}
