/*
 * recheck.c: the stored and computed values of a failed xz block check or
 * zstd frame checksum.  Streams are written here by the real liblzma and
 * libzstd, then one check is changed; the value expected as "actual" is the
 * one the encoder stored before the change, so the library that wrote the
 * check, not recheck.c, says what the data's value is.
 */
#include <criterion/criterion.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "artifact/codec.h"
#include "artifact/recheck.h"
#include "crypto/sha256.h"
#include "tarbuild.h"

#define BLOCKS 3
#define BLOCK_DATA 70000u	/* input bytes per xz block */

struct mem {
	const uint8_t *buf;
	size_t len;
	bool fail;	/* every read fails */
};

static bool
mem_read(void *ctx, uint64_t off, void *buf, size_t len, size_t *got)
{
	const struct mem *m = ctx;

	*got = 0;
	if (m->fail)
		return false;
	if (off < m->len) {
		*got = m->len - off < len ? (size_t)(m->len - off) : len;
		memcpy(buf, m->buf + off, *got);
	}
	return true;
}

/* An xz stream of BLOCKS blocks; start[i] is where block i begins and
 * start[BLOCKS] where the index does. */
static uint8_t *
xz_blocks(lzma_check check, const uint8_t *data, size_t *len, uint64_t start[BLOCKS + 1])
{
	size_t cap = BLOCKS * BLOCK_DATA + 4096;
	uint8_t *out = malloc(cap);
	lzma_stream x = LZMA_STREAM_INIT;
	int i;

	cr_assert_not_null(out);
	cr_assert_eq(lzma_easy_encoder(&x, 1, check), LZMA_OK);
	x.next_out = out;
	x.avail_out = cap;
	for (i = 0; i < BLOCKS; i++) {
		start[i] = i == 0 ? LZMA_STREAM_HEADER_SIZE : x.total_out;
		x.next_in = data + (size_t)i * BLOCK_DATA;
		x.avail_in = BLOCK_DATA;
		/* LZMA_FULL_FLUSH ends the block; the next input starts another */
		while (lzma_code(&x, LZMA_FULL_FLUSH) == LZMA_OK)
			;
		cr_assert_eq(x.avail_in, 0);
	}
	start[BLOCKS] = x.total_out;
	cr_assert_eq(lzma_code(&x, LZMA_FINISH), LZMA_STREAM_END);
	*len = x.total_out;
	lzma_end(&x);
	return out;
}

/* The check field as xz -lvv prints it: CRCs as numbers (stored little-endian),
 * SHA-256 as its bytes. */
static void
hex_of(lzma_check check, const uint8_t *raw, char *out)
{
	unsigned long long crc = 0;
	int i;

	if (check == LZMA_CHECK_SHA256) {
		cr_hex(raw, CR_SHA256_LEN, out);
		return;
	}
	for (i = (int)lzma_check_size(check) - 1; i >= 0; i--)
		crc = crc << 8 | raw[i];
	sprintf(out, check == LZMA_CHECK_CRC32 ? "%08llx" : "%016llx", crc);
}

static void
xz_mismatch_in_block_2(lzma_check check, const char *name)
{
	uint8_t *data = tb_pattern(BLOCKS * BLOCK_DATA, 5);
	uint64_t start[BLOCKS + 1];
	size_t len, size = lzma_check_size(check);
	uint8_t *z = xz_blocks(check, data, &len, start);
	uint8_t *field = z + start[2] - size;	/* block 2's check ends it */
	char stored[65], actual[65], want[400], detail[256];
	struct mem m = { z, len, false };
	struct af_recheck_input in = { mem_read, &m };

	hex_of(check, field, actual);
	field[0] ^= 0x40;
	hex_of(check, field, stored);
	cr_assert_eq(af_recheck_xz(&in, 0, detail, sizeof(detail)), AF_RECHECK_MISMATCH, "%s",
	    name);
	snprintf(want, sizeof(want), "block 2 (from byte %llu) does not match its %s: expected "
	    "%s (stored), actual %s (data)", (unsigned long long)start[1], name, stored, actual);
	cr_assert_str_eq(detail, want);
	free(z);
	free(data);
}

Test(recheck, xz_crc32_mismatch) { xz_mismatch_in_block_2(LZMA_CHECK_CRC32, "CRC32"); }
Test(recheck, xz_crc64_mismatch) { xz_mismatch_in_block_2(LZMA_CHECK_CRC64, "CRC64"); }
Test(recheck, xz_sha256_mismatch) { xz_mismatch_in_block_2(LZMA_CHECK_SHA256, "SHA-256"); }

/* What is not a check mismatch: data that does not decode, a stream whose
 * blocks all match, input that cannot be read, a stream without checks. */
Test(recheck, xz_not_a_mismatch)
{
	uint8_t *data = tb_pattern(BLOCKS * BLOCK_DATA, 6);
	uint64_t start[BLOCKS + 1];
	size_t len;
	uint8_t *z = xz_blocks(LZMA_CHECK_CRC64, data, &len, start);
	struct mem m = { z, len, false };
	struct af_recheck_input in = { mem_read, &m };
	char detail[256] = "";
	uint8_t header_size_byte = z[start[1]];

	cr_assert_eq(af_recheck_xz(&in, 0, detail, sizeof(detail)), AF_RECHECK_CORRUPT);
	cr_assert_str_empty(detail);
	m.fail = true;
	cr_assert_eq(af_recheck_xz(&in, 0, detail, sizeof(detail)), AF_RECHECK_UNKNOWN);
	m.fail = false;
	/* 0x03: no LZMA2 chunk starts with it */
	z[start[1] + (header_size_byte + 1u) * 4] = 0x03;
	cr_assert_eq(af_recheck_xz(&in, 0, detail, sizeof(detail)), AF_RECHECK_CORRUPT);
	cr_assert_str_empty(detail);
	free(z);
	z = xz_blocks(LZMA_CHECK_NONE, data, &len, start);
	m.buf = z;
	m.len = len;
	cr_assert_eq(af_recheck_xz(&in, 0, detail, sizeof(detail)), AF_RECHECK_CORRUPT);
	free(z);
	free(data);
}

static uint8_t *
zstd_frame(const uint8_t *data, size_t len, size_t *zlen)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len);
	uint8_t *z = malloc(cap);

	cr_assert_not_null(z);
	cr_assert_not(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)));
	*zlen = ZSTD_compress2(cc, z, cap, data, len);
	cr_assert_not(ZSTD_isError(*zlen));
	ZSTD_freeCCtx(cc);
	return z;
}

static uint32_t
le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

Test(recheck, zstd_mismatch)
{
	uint8_t *data = tb_pattern(300000, 7);
	size_t zlen;
	uint8_t *z = zstd_frame(data, 300000, &zlen);
	uint32_t actual = le32_at(z + zlen - 4);
	struct mem m = { z, zlen, false };
	struct af_recheck_input in = { mem_read, &m };
	char detail[160], want[64];

	z[zlen - 2] ^= 0x10;
	cr_assert_eq(af_recheck_zstd(&in, 0, detail, sizeof(detail)), AF_RECHECK_MISMATCH);
	snprintf(want, sizeof(want), "expected %08x (stored), actual %08x ",
	    (unsigned)le32_at(z + zlen - 4), (unsigned)actual);
	cr_assert(strncmp(detail, want, strlen(want)) == 0, "%s", detail);
	/* the full XXH64 follows, and its low 32 bits are the ones compared */
	cr_assert(strstr(detail, "(data, the low 32 bits of XXH64 ") != NULL, "%s", detail);
	snprintf(want, sizeof(want), "%08x)", (unsigned)actual);
	cr_assert(strstr(detail, want) == detail + strlen(detail) - strlen(want), "%s", detail);
	z[zlen - 2] ^= 0x10;	/* intact: nothing to report */
	cr_assert_eq(af_recheck_zstd(&in, 0, detail, sizeof(detail)), AF_RECHECK_UNKNOWN);
	m.fail = true;
	cr_assert_eq(af_recheck_zstd(&in, 0, detail, sizeof(detail)), AF_RECHECK_UNKNOWN);
	free(z);
	free(data);
}

/*
 * Through the codec: the second of two members fails its check, and the
 * reason names it and where it starts.  The data is fed step bytes at a
 * time: the codec's own count of members, not the reader, places it, whether
 * the failing member began in an earlier call or in the failing one.
 */
static void
codec_reason(enum af_compression comp, const uint8_t *z, size_t len, size_t step,
    bool with_reader, struct af_reason *why)
{
	struct af_codec *c = af_codec_new(comp);
	struct mem m = { z, len, false };
	uint8_t *out = malloc(1u << 20);
	size_t pos = 0;
	uint64_t trailing_at;
	enum af_err err = AF_OK;
	bool done = false;

	cr_assert_not_null(c);
	if (with_reader)
		af_codec_set_reader(c, mem_read, &m);
	while (err == AF_OK && !done) {
		const uint8_t *ip = z + pos;
		size_t il = len - pos < step ? len - pos : step, il0 = il;
		uint8_t *op = out;
		size_t ol = 1u << 20;

		err = af_codec_run(c, &ip, &il, &op, &ol, &done, why);
		pos += il0 - il;
	}
	cr_assert_eq(err, AF_ECORRUPT, "%s", why->text);
	/* a whole member that fails its check, not bytes after the data */
	cr_assert_not(af_codec_trailing(c, &trailing_at), "%s", why->text);
	cr_assert_eq(why->code, AF_C_CHECK_MISMATCH, "%s: %s", af_code_name(why->code), why->text);
	af_codec_free(c);
	free(out);
}

Test(recheck, codec_second_zstd_frame)
{
	uint8_t *data = tb_pattern(200000, 8);
	size_t l1, l2;
	uint8_t *f1 = zstd_frame(data, 100000, &l1), *f2 = zstd_frame(data + 100000, 100000, &l2);
	uint8_t *z = malloc(l1 + l2);
	struct af_reason why = { 0 };
	char want[200];

	memcpy(z, f1, l1);
	memcpy(z + l1, f2, l2);
	z[l1 + l2 - 1] ^= 1;
	snprintf(want, sizeof(want), "zstd frame 2 (from byte %zu): its content checksum does not "
	    "match its data: expected %08x (stored), actual %08x ", l1,
	    (unsigned)le32_at(z + l1 + l2 - 4), (unsigned)le32_at(f2 + l2 - 4));
	codec_reason(AF_COMP_ZSTD, z, l1 + l2, 4096, true, &why);
	cr_assert(strncmp(why.text, want, strlen(want)) == 0, "%s", why.text);
	codec_reason(AF_COMP_ZSTD, z, l1 + l2, l1 + l2, true, &why);
	cr_assert(strncmp(why.text, want, strlen(want)) == 0, "%s", why.text);
	codec_reason(AF_COMP_ZSTD, z, l1 + l2, 4096, false, &why);
	snprintf(want, sizeof(want), "zstd frame 2 (from byte %zu): its content checksum (XXH64) "
	    "does not match its data; rebuild the artifact", l1);
	cr_assert_str_eq(why.text, want);
	free(z);
	free(f1);
	free(f2);
	free(data);
}

Test(recheck, codec_second_xz_stream)
{
	uint8_t *data = tb_pattern(BLOCKS * BLOCK_DATA, 9);
	uint64_t start[BLOCKS + 1];
	size_t l1, l2;
	uint8_t *s1 = tb_compress(AF_COMP_XZ, data, 5000, &l1);
	uint8_t *s2 = xz_blocks(LZMA_CHECK_CRC64, data, &l2, start);
	uint8_t *z = malloc(l1 + l2);
	struct af_reason why = { 0 };
	char want[300], stored[17], actual[17];

	memcpy(z, s1, l1);
	memcpy(z + l1, s2, l2);
	hex_of(LZMA_CHECK_CRC64, z + l1 + start[3] - 8, actual);
	z[l1 + start[3] - 8] ^= 1;	/* block 3's CRC64 */
	hex_of(LZMA_CHECK_CRC64, z + l1 + start[3] - 8, stored);
	codec_reason(AF_COMP_XZ, z, l1 + l2, 4096, true, &why);
	snprintf(want, sizeof(want), "xz stream 2 (from byte %zu), block 3 (from byte %llu) does "
	    "not match its CRC64: expected %s (stored), actual %s (data); rebuild the artifact",
	    l1, (unsigned long long)(l1 + start[2]), stored, actual);
	cr_assert_str_eq(why.text, want);
	free(z);
	free(s1);
	free(s2);
	free(data);
}
