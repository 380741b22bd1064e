/*
 * A structure-aware libFuzzer mutator for .mender files.  Byte-level
 * mutations of a tar almost always break a header checksum or a gzip CRC, and
 * the reader then stops at the first block; so half of the mutations here are
 * made inside one member's *decompressed* inner tar (gzip, xz, zstd or none),
 * which is then compressed again and put back with its size field fixed, and
 * after every mutation the checksums of all outer and inner tar headers are
 * recomputed.  The other mutations stay plain libFuzzer ones (with checksums
 * fixed), so that the checksum and CRC checks are still exercised by the inputs
 * the fuzzer keeps unchanged.
 */
#include "mutator.h"

#include <lzma.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define BLOCK 512
#define INNER_MAX (1u << 20)	/* decompressed member bytes mutated in memory */
#define MAX_MEMBERS 64

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

enum comp { C_NONE, C_GZ, C_XZ, C_ZST, C_OTHER };

struct member {
	size_t hoff, doff, size;
	enum comp comp;
};

static bool
all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static bool
tar_number(const uint8_t *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 0 && f[0] == 0x80) {
		for (i = 1; i < len; i++) {
			if (v > (UINT64_MAX >> 8))
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return false;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	*out = v;
	return true;
}

static void
fix_checksum(uint8_t *h)
{
	unsigned sum = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
	h[155] = ' ';
}

static void
set_size(uint8_t *h, uint64_t size)
{
	char field[13];

	if (size < 077777777777ull) {
		snprintf(field, sizeof(field), "%011llo", (unsigned long long)size);
		memcpy(h + 124, field, 12);	/* 11 digits and the NUL */
	} else {
		int i;
		h[124] = 0x80;
		for (i = 11; i >= 1; i--, size >>= 8)
			h[124 + i] = (uint8_t)size;
	}
	fix_checksum(h);
}

static enum comp
comp_of(const uint8_t *name, size_t n)
{
	size_t len = strnlen((const char *)name, n);
	static const struct { const char *s; enum comp c; } sfx[] = {
		{ ".tar", C_NONE }, { ".tar.gz", C_GZ }, { ".tar.xz", C_XZ }, { ".tar.zst", C_ZST },
	};
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t s = strlen(sfx[i].s);
		if (len > s && memcmp(name + len - s, sfx[i].s, s) == 0)
			return sfx[i].c;
	}
	return C_OTHER;
}

/*
 * Walks a tar in b, fixing every header's checksum; with members != NULL,
 * records the members (and fixes the stored inner tars, depth 0 only).
 */
static size_t
walk(uint8_t *b, size_t len, int depth, struct member *members, size_t max)
{
	size_t pos = 0, n = 0;

	while (pos + BLOCK <= len && n < MAX_MEMBERS * 64) {
		uint8_t *h = b + pos;
		uint64_t size, data;
		char type;

		if (all_zero(h, BLOCK))
			break;
		fix_checksum(h);
		if (!tar_number(h + 124, 12, &size))
			break;
		type = (char)h[156];
		data = (type >= '1' && type <= '6') ? 0 : size;
		if (depth == 0 && type != 'x' && type != 'g' && type != 'L' && type != 'K') {
			enum comp c = comp_of(h, 100);
			if (members != NULL && n < max)
				members[n] = (struct member){ pos, pos + BLOCK, (size_t)size, c };
			n++;
			if (c == C_NONE && size <= len - pos - BLOCK)
				walk(h + BLOCK, (size_t)size, 1, NULL, 0);
		}
		if (data > len || pos + BLOCK + (data + BLOCK - 1) / BLOCK * BLOCK > len)
			break;
		pos += BLOCK + (size_t)((data + BLOCK - 1) / BLOCK * BLOCK);
	}
	return n;
}

static uint8_t *
gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	uint8_t *out = malloc(INNER_MAX);
	int rc;

	if (out == NULL || inflateInit2(&z, 47) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = INNER_MAX;
	rc = inflate(&z, Z_FINISH);
	*out_len = INNER_MAX - z.avail_out;
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

static uint8_t *
gzip_(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len + len / 100 + 1024;
	uint8_t *out = malloc(cap);

	if (out == NULL || deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static uint8_t *
unxz(const uint8_t *in, size_t len, size_t *out_len)
{
	uint64_t memlimit = 64u << 20;
	size_t in_pos = 0;
	uint8_t *out = malloc(INNER_MAX);

	*out_len = 0;
	if (out == NULL || lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &in_pos, len, out,
	    out_len, INNER_MAX) != LZMA_OK) {
		free(out);
		return NULL;
	}
	return out;
}

static uint8_t *
xz_(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = lzma_stream_buffer_bound(len);
	uint8_t *out = malloc(cap);

	*out_len = 0;
	if (out == NULL || lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, in, len, out,
	    out_len, cap) != LZMA_OK) {
		free(out);
		return NULL;
	}
	return out;
}

static uint8_t *
unzstd(const uint8_t *in, size_t len, size_t *out_len)
{
	uint8_t *out = malloc(INNER_MAX);
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, len, 0 };
	ZSTD_outBuffer ob = { out, INNER_MAX, 0 };
	size_t rc = 1;

	if (out == NULL || d == NULL)
		goto fail;
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 24);
	while (ib.pos < ib.size && ob.pos < ob.size) {
		rc = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(rc))
			goto fail;
	}
	if (rc != 0)
		goto fail;
	ZSTD_freeDStream(d);
	*out_len = ob.pos;
	return out;
fail:
	ZSTD_freeDStream(d);
	free(out);
	return NULL;
}

static uint8_t *
zstd_(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	uint8_t *out = malloc(cap);

	if (out == NULL || ZSTD_isError(*out_len = ZSTD_compress(out, cap, in, len, 3))) {
		free(out);
		return NULL;
	}
	return out;
}

/* Mutates inside one member's inner tar; 0 if this input has none to mutate. */
static size_t
mutate_member(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
	struct member members[MAX_MEMBERS], *m;
	size_t n = walk(data, size, 0, members, MAX_MEMBERS), k, inner_len = 0, packed_len = 0;
	size_t old_span, new_span, out_len;
	uint8_t *inner = NULL, *packed = NULL;

	if (n > MAX_MEMBERS)
		n = MAX_MEMBERS;
	/* pick among the members that hold a tar */
	for (k = 0; k < n; k++) {
		m = &members[(seed + k) % n];
		if (m->comp != C_OTHER && m->doff + m->size <= size)
			break;
	}
	if (k == n)
		return 0;
	switch (m->comp) {
	case C_NONE:
		if ((inner = malloc(INNER_MAX)) == NULL || m->size > INNER_MAX)
			break;
		memcpy(inner, data + m->doff, m->size);
		inner_len = m->size;
		break;
	case C_GZ: inner = gunzip(data + m->doff, m->size, &inner_len); break;
	case C_XZ: inner = unxz(data + m->doff, m->size, &inner_len); break;
	case C_ZST: inner = unzstd(data + m->doff, m->size, &inner_len); break;
	default: break;
	}
	if (inner == NULL || inner_len == 0 || inner_len > INNER_MAX) {
		free(inner);
		return 0;
	}
	/* inner has INNER_MAX bytes of room for the compressed kinds and C_NONE */
	inner_len = LLVMFuzzerMutate(inner, inner_len, INNER_MAX);
	walk(inner, inner_len, 1, NULL, 0);
	switch (m->comp) {
	case C_NONE:
		packed = inner;
		packed_len = inner_len;
		inner = NULL;
		break;
	case C_GZ: packed = gzip_(inner, inner_len, &packed_len); break;
	case C_XZ: packed = xz_(inner, inner_len, &packed_len); break;
	case C_ZST: packed = zstd_(inner, inner_len, &packed_len); break;
	default: break;
	}
	free(inner);
	if (packed == NULL)
		return 0;
	old_span = (m->size + BLOCK - 1) / BLOCK * BLOCK;
	new_span = (packed_len + BLOCK - 1) / BLOCK * BLOCK;
	if (m->doff + old_span > size)
		old_span = size - m->doff;
	out_len = size - old_span + new_span;
	if (out_len > max_size) {
		free(packed);
		return 0;
	}
	memmove(data + m->doff + new_span, data + m->doff + old_span, size - m->doff - old_span);
	memcpy(data + m->doff, packed, packed_len);
	memset(data + m->doff + packed_len, 0, new_span - packed_len);
	set_size(data + m->hoff, packed_len);
	free(packed);
	return out_len;
}

size_t
af_fuzz_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t n;

	if ((seed & 1) != 0 && (n = mutate_member(data, size, max_size, seed >> 1)) > 0)
		return n;
	n = LLVMFuzzerMutate(data, size, max_size);
	/* mostly keep checksums right; sometimes leave a broken one */
	if ((seed & 0x1e) != 0)
		walk(data, n, 0, NULL, 0);
	return n;
}
