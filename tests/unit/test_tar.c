/*
 * af_tar_next against archives built by tarbuild: every offset is compared
 * with where the builder put the bytes, not with numbers worked out by hand.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/tar.h"
#include "tarbuild.h"

struct mem {
	const uint8_t *buf;
	size_t len;
	unsigned reads;
};

static enum af_err
mem_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	struct mem *m = ctx;

	m->reads++;
	*got = 0;
	if (off < m->len) {
		*got = m->len - (size_t)off < len ? m->len - (size_t)off : len;
		memcpy(buf, m->buf + off, *got);
	}
	return AF_OK;
}

static enum af_err
eio_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	(void)ctx, (void)buf, (void)len, (void)off;
	*got = 0;
	return AF_EIO;
}

/* A reader over a finished tarbuild buffer. */
struct reader {
	struct mem mem;
	struct af_tar_source src;
	struct af_tar *tar;
	uint64_t pos;		/* where the next header starts, as the entries say */
	struct af_reason why;
};

/* Readers still open when a test ends: closed by the suite's fini. */
static struct af_tar *open_readers[16];
static size_t open_count;

static void
close_readers(void)
{
	while (open_count > 0)
		af_tar_close(open_readers[--open_count]);
}

TestSuite(tar, .fini = close_readers);

static void
reader_init(struct reader *r, const uint8_t *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->mem.buf = buf;
	r->mem.len = len;
	r->src.pread = mem_pread;
	r->src.ctx = &r->mem;
	cr_assert_eq(af_tar_open(&r->src, &r->tar), AF_OK);
	cr_assert_lt(open_count, sizeof(open_readers) / sizeof(open_readers[0]));
	open_readers[open_count++] = r->tar;
}

/* A reader of what t built; the bytes to free. */
static uint8_t *
reader_from(struct reader *r, struct tb *t)
{
	size_t len;
	uint8_t *buf = tb_take(t, &len);

	reader_init(r, buf, len);
	return buf;
}

static enum af_err
next(struct reader *r, struct af_tar_entry *e)
{
	enum af_err err = af_tar_next(r->tar, e, &r->why);

	if (err == AF_OK)
		r->pos = (e->data_offset + e->size + 511) / 512 * 512;
	else
		af_tar_entry_clear(e);	/* a refused entry comes with its name */
	return err;
}

/* Reads one entry that must be fine, and lets it go: the entry before the
 * one a test is about. */
static void
skip_ok(struct reader *r)
{
	struct af_tar_entry e;

	cr_assert_eq(next(r, &e), AF_OK, "%s", r->why.text);
	af_tar_entry_clear(&e);
}

/* The last reason's code is want: the kind of refusal, whatever its words. */
static void
expect_code(const struct reader *r, enum af_code want)
{
	cr_assert_eq(r->why.code, want, "code %s, want %s: %s", af_code_name(r->why.code),
	    af_code_name(want), r->why.text);
}

static uint64_t
padded(uint64_t n)
{
	return (n + 511) / 512 * 512;
}

Test(tar, ustar_entries_and_offsets)
{
	static const char data1[] = "first file\n";
	uint8_t *big = tb_pattern(5000, 7);
	struct tb t;
	struct tb_pos p1, p2, p3, p4;
	struct tb_entry dir = { .name = "somedir/", .type = '5', .mode = 0755 };
	struct tb_entry exe = { .name = "somedir/tool", .data = big, .len = 5000,
	    .mode = 04755, .mtime = 1700000000 };
	struct af_tar_entry e;
	struct reader r;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	p1 = tb_add(&t, "a.txt", data1, strlen(data1));
	p2 = tb_add_entry(&t, &dir);
	p3 = tb_add_entry(&t, &exe);
	p4 = tb_add(&t, "empty", "", 0);
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "a.txt");
	cr_assert(af_tar_is_file(&e));
	cr_assert_eq(e.size, strlen(data1));
	cr_assert_eq(e.mode, 0644);
	cr_assert_eq(e.header_offset, p1.header_offset);
	cr_assert_eq(e.data_offset, p1.data_offset);
	cr_assert_eq(memcmp(buf + e.data_offset, data1, e.size), 0);
	cr_assert_eq(r.pos, p2.header_offset);
	af_tar_entry_clear(&e);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "somedir/");
	cr_assert_eq(e.type, '5');
	cr_assert(!af_tar_is_file(&e));
	cr_assert_eq(e.mode, 0755);
	cr_assert_eq(e.header_offset, p2.header_offset);
	cr_assert_eq(r.pos, p3.header_offset);
	af_tar_entry_clear(&e);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "somedir/tool");
	cr_assert_eq(e.mode, 04755);
	cr_assert_eq(e.mtime, 1700000000);
	cr_assert_eq(e.size, 5000);
	cr_assert_eq(e.data_offset, p3.data_offset);
	cr_assert_eq(memcmp(buf + e.data_offset, big, 5000), 0);
	cr_assert_eq(r.pos, p4.header_offset);
	af_tar_entry_clear(&e);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "empty");
	cr_assert_eq(e.size, 0);
	cr_assert_eq(e.data_offset, p4.data_offset);
	af_tar_entry_clear(&e);

	cr_assert_eq(next(&r, &e), AF_END);
	cr_assert_null(e.name);
	/* The end stays the end. */
	cr_assert_eq(next(&r, &e), AF_END);
	free(buf);
	free(big);
}

Test(tar, many_sizes_walk_exactly)
{
	static const size_t sizes[] = { 0, 1, 511, 512, 513, 1023, 1024, 1025, 4096, 10000, 0, 7 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	struct tb_pos pos[sizeof(sizes) / sizeof(sizes[0])];
	uint8_t *data = tb_pattern(10000, 3);
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len, i;
	char name[32];

	tb_init(&t);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		pos[i] = tb_add(&t, name, data, sizes[i]);
	}
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);
	for (i = 0; i < n; i++) {
		cr_assert_eq(next(&r, &e), AF_OK, "entry %zu: %s", i, r.why.text);
		snprintf(name, sizeof(name), "f%zu", i);
		cr_assert_str_eq(e.name, name);
		cr_assert_eq(e.size, sizes[i]);
		cr_assert_eq(e.header_offset, pos[i].header_offset);
		cr_assert_eq(e.data_offset, pos[i].data_offset);
		cr_assert_eq(r.pos, pos[i].data_offset + padded(sizes[i]));
		cr_assert_eq(memcmp(buf + e.data_offset, data, sizes[i]), 0);
		af_tar_entry_clear(&e);
	}
	cr_assert_eq(next(&r, &e), AF_END);
	free(buf);
	free(data);
}

Test(tar, gnu_long_name)
{
	char longname[300];
	static const char body[] = "long named\n";
	struct tb_entry le = { .name = longname, .data = body, .len = strlen(body),
	    .flags = TB_GNU_LONGNAME };
	struct af_tar_entry e;
	struct tb_pos p, q;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	memset(longname, 0, sizeof(longname));
	memset(longname, 'n', 150);
	memcpy(longname + 60, "/dir/", 5);
	tb_init(&t);
	p = tb_add_entry(&t, &le);
	q = tb_add_str(&t, "after", "x");
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, longname);
	cr_assert_eq(e.header_offset, p.header_offset);
	/* the L header, its padded data, then the real header */
	cr_assert_eq(e.data_offset, p.data_offset);
	cr_assert_eq(e.data_offset, p.header_offset + 512 + padded(strlen(longname) + 1) + 512);
	cr_assert_eq(e.size, strlen(body));
	cr_assert_eq(memcmp(buf + e.data_offset, body, e.size), 0);
	cr_assert_not(e.name_has_nul);
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	/* the long name does not leak into the next entry */
	cr_assert_str_eq(e.name, "after");
	cr_assert_eq(e.header_offset, q.header_offset);
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_END);
	free(buf);
}

Test(tar, pax_path_and_size)
{
	char longname[260];
	uint8_t *data = tb_pattern(3000, 11);
	struct tb_entry pe = { .name = longname, .data = data, .len = 3000,
	    .flags = TB_PAX_PATH };
	struct af_tar_entry e;
	struct tb_pos p, q;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len, i;

	for (i = 0; i < 200; i++)
		longname[i] = (char)('a' + i % 26);
	longname[200] = '\0';
	longname[100] = '/';
	tb_init(&t);
	p = tb_add_entry(&t, &pe);
	q = tb_add_str(&t, "next", "n");
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);

	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, longname);
	/* the ustar size field says 0: only the PAX record gives 3000 */
	cr_assert_eq(e.size, 3000);
	cr_assert_eq(e.header_offset, p.header_offset);
	cr_assert_eq(e.data_offset, p.data_offset);
	cr_assert_eq(memcmp(buf + e.data_offset, data, 3000), 0);
	cr_assert_eq(r.pos, q.header_offset);
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "next");
	cr_assert_eq(e.size, 1);
	af_tar_entry_clear(&e);
	free(buf);
	free(data);
}

/* tarbuild's PAX size comes with a ustar size of 0: readers that ignore PAX differ. */
Test(tar, pax_size_disagreeing_with_ustar_refused)
{
	struct tb_entry pe = { .name = "f", .data = "abc", .len = 3, .flags = TB_PAX_SIZE };
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	tb_add_entry(&t, &pe);
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_HEADER);
	cr_assert(strstr(r.why.text, "entry 'f' at offset 0") != NULL, "why: %s", r.why.text);
	free(buf);
}

/* 8 GiB and more: Go writes the PAX size with a ustar field of 0, and that is fine. */
Test(tar, pax_size_over_ustar_range_with_zero_field_accepted)
{
	struct tb_entry he = { .name = "rootfs.ext4", .flags = TB_PAX_SIZE | TB_SIZE_SET,
	    .size = 9ull << 30 };
	struct af_tar_entry e;
	struct tb_pos p;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	p = tb_add_entry(&t, &he);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.size, 9ull << 30);
	cr_assert_eq(e.data_offset, p.data_offset);
	af_tar_entry_clear(&e);
	/* the data is not there: the archive is cut short */
	cr_assert_eq(next(&r, &e), AF_ETRUNC, "%s", r.why.text);
	free(buf);
}

static void
refused_after_ext(const char *recs, size_t n, enum af_code want)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	tb_add_ext(&t, 'x', recs, n);
	tb_add_str(&t, "stand-in", "x");
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_EFORMAT, "records \"%.*s\"", (int)n, recs);
	if (want != AF_C_NONE)
		expect_code(&r, want);
	cr_assert(strstr(r.why.text, "at offset 0") != NULL, "why: %s", r.why.text);
	free(buf);
}

Test(tar, pax_path_with_nul_refused)
{
	static const char rec[] = "17 path=bad\0name\n";

	refused_after_ext(rec, sizeof(rec) - 1, AF_C_TAR_EXTENSION);
}

Test(tar, pax_sparse_refused)
{
	char rec[128];
	size_t n = tb_pax_record(rec, sizeof(rec), "GNU.sparse.major", "1");

	refused_after_ext(rec, n, AF_C_NONE);	/* libarchive or the lint */
}

Test(tar, pax_numbers_must_be_plain)
{
	static const char *const bad[][2] = { { "uid", "+1" }, { "gid", "0x10" },
	    { "size", "1e3" }, { "mtime", "12:00" }, { "uid", " 1" } };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char rec[128];
		size_t n = tb_pax_record(rec, sizeof(rec), bad[i][0], bad[i][1]);
		refused_after_ext(rec, n, AF_C_TAR_EXTENSION);
	}
}

Test(tar, pax_times_may_carry_a_fraction)
{
	char recs[256];
	size_t n = tb_pax_record(recs, sizeof(recs), "mtime", "1700000000.123456789");
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;

	n += tb_pax_record(recs + n, sizeof(recs) - n, "atime", "1700000001.5");
	n += tb_pax_record(recs + n, sizeof(recs) - n, "uid", "1000");
	tb_init(&t);
	tb_add_ext(&t, 'x', recs, n);
	tb_add_str(&t, "timed", "x");
	tb_end(&t);
	buf = reader_from(&r, &t);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.mtime, 1700000000);
	cr_assert_eq(e.uid, 1000);
	af_tar_entry_clear(&e);
	free(buf);
}

Test(tar, duplicate_pax_key_refused)
{
	char recs[128];
	size_t n = tb_pax_record(recs, sizeof(recs), "path", "one");

	n += tb_pax_record(recs + n, sizeof(recs) - n, "path", "two");
	refused_after_ext(recs, n, AF_C_TAR_EXTENSION);
}

Test(tar, ustar_prefix_field)
{
	static const char full[] = "some/deep/directory/for/the/prefix/field/file.bin";
	struct tb_entry pe = { .name = full, .data = "abc", .len = 3, .flags = TB_PREFIX };
	struct tb_entry ge = { .name = full, .data = "def", .len = 3,
	    .flags = TB_PREFIX | TB_GNU_MAGIC };
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	tb_add_entry(&t, &pe);
	tb_add_entry(&t, &ge);
	tb_end(&t);
	buf = tb_take(&t, &len);
	/* the builder really split it: the name field alone is the base name */
	cr_assert_str_eq((const char *)buf, "file.bin");
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, full);
	af_tar_entry_clear(&e);
	/* GNU magic has no prefix field, but Python's tarfile reads one there */
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_HEADER);
	free(buf);
}

Test(tar, missing_end_blocks_is_clean_end)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	tb_add_str(&t, "two", "22");
	buf = tb_take(&t, &len);	/* no tb_end */
	reader_init(&r, buf, len);
	skip_ok(&r);
	skip_ok(&r);
	cr_assert_eq(r.pos, len);
	cr_assert_eq(next(&r, &e), AF_END, "%s", r.why.text);
	free(buf);
}

Test(tar, lone_zero_block_refused)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t zero[512 + 188] = { 0 };	/* one block, then zeros short of a block */
	uint8_t *buf;

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	tb_raw(&t, zero, sizeof(zero));
	buf = reader_from(&r, &t);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT, "%s", r.why.text);
	expect_code(&r, AF_C_TAR_END);
	cr_assert(strstr(r.why.text, "offset 1024") != NULL, "why: %s", r.why.text);
	free(buf);
}

Test(tar, one_zero_block_then_garbage_is_refused)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t zero[512] = { 0 };
	uint8_t *buf;

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	tb_raw(&t, zero, sizeof(zero));
	tb_raw(&t, "trailing garbage after the end", 30);
	buf = reader_from(&r, &t);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT, "%s", r.why.text);
	expect_code(&r, AF_C_TRAILING_BYTES);
	cr_assert(strstr(r.why.text, "30 bytes") != NULL, "why: %s", r.why.text);
	free(buf);
}

Test(tar, zero_record_padding_after_the_end_accepted)
{
	struct af_tar_entry e;
	struct af_tar_end end;
	struct reader r;
	struct tb t;
	uint8_t zero[512 * 16] = { 0 };
	struct tb_pos p;
	uint8_t *buf;

	tb_init(&t);
	p = tb_add_str(&t, "one", "1");
	tb_end(&t);
	tb_raw(&t, zero, sizeof(zero));	/* GNU tar pads to 10 KiB records */
	buf = reader_from(&r, &t);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_END, "%s", r.why.text);
	end = af_tar_end(r.tar);
	cr_assert(end.marked);
	cr_assert_eq(end.offset, p.data_offset + 512 + 1024);
	free(buf);
}

Test(tar, hidden_data_in_padding_refused)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	struct tb_pos p;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	p = tb_add_str(&t, "one", "1");
	tb_add_str(&t, "two", "2");
	tb_end(&t);
	buf = tb_take(&t, &len);
	buf[p.data_offset + 100] = 'X';	/* in the padding after "1" */
	reader_init(&r, buf, len);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT, "%s", r.why.text);
	expect_code(&r, AF_C_TAR_PADDING);
	free(buf);
}

Test(tar, truncated_header)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	struct tb_pos p2;
	uint8_t *buf;
	size_t len;
	char expect[64];

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	p2 = tb_add_str(&t, "two", "2");
	buf = tb_take(&t, &len);
	len = (size_t)p2.header_offset + 300;	/* cut inside the second header */
	reader_init(&r, buf, len);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_ETRUNC);
	expect_code(&r, AF_C_TRUNCATED);
	cr_assert_null(e.name);
	snprintf(expect, sizeof(expect), "offset %llu", (unsigned long long)p2.header_offset);
	cr_assert(strstr(r.why.text, expect) != NULL, "why: %s", r.why.text);
	free(buf);
}

Test(tar, truncated_extension_data)
{
	char longname[200];
	struct tb_entry le = { .name = longname, .data = "x", .len = 1, .flags = TB_PAX_PATH };
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	memset(longname, 'p', 150);
	longname[150] = '\0';
	tb_init(&t);
	tb_add_entry(&t, &le);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, 512 + 50);	/* the PAX header, then part of its data */
	cr_assert_eq(next(&r, &e), AF_ETRUNC, "%s", r.why.text);
	cr_assert(r.why.text[0] != '\0');
	free(buf);
}

Test(tar, bad_checksum)
{
	struct tb_entry bad = { .name = "two", .data = "2", .len = 1, .flags = TB_BAD_CHECKSUM };
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	struct tb_pos p2;
	uint8_t *buf;
	size_t len;
	char expect[64];

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	p2 = tb_add_entry(&t, &bad);
	tb_end(&t);
	buf = tb_take(&t, &len);
	reader_init(&r, buf, len);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	snprintf(expect, sizeof(expect), "offset %llu", (unsigned long long)p2.header_offset);
	cr_assert(strstr(r.why.text, expect) != NULL, "why: %s", r.why.text);
	expect_code(&r, AF_C_TAR_UNREADABLE);	/* libarchive refuses it first */
	free(buf);
}

Test(tar, one_flipped_byte_breaks_checksum)
{
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	tb_add_str(&t, "name.txt", "data");
	tb_end(&t);
	buf = tb_take(&t, &len);
	buf[2] ^= 0x01;		/* in the name field, after the checksum was set */
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	free(buf);
}

Test(tar, signed_checksum_accepted)
{
	uint8_t block[512 * 3];
	struct af_tar_entry e;
	struct reader r;
	long sum = 0;
	size_t i;
	char tmp[16];

	memset(block, 0, sizeof(block));
	tb_header(block, "caf\xe9\xe9", 0, 0644, 0, '0');
	/* rewrite the checksum as old writers did, summing signed chars */
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : (signed char)block[i];
	snprintf(tmp, sizeof(tmp), "%06lo", (unsigned long)sum);
	memcpy(block + 148, tmp, 6);
	reader_init(&r, block, sizeof(block));
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "caf\xe9\xe9");
	af_tar_entry_clear(&e);
}

Test(tar, not_a_tar)
{
	char text[2048];
	struct af_tar_entry e;
	struct reader r;
	size_t i;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)("lorem ipsum dolor sit amet\n"[i % 27]);
	reader_init(&r, (const uint8_t *)text, sizeof(text));
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	cr_assert(r.why.text[0] != '\0');
}

Test(tar, garbage_numeric_field)
{
	uint8_t block[3072] = { 0 };
	struct af_tar_entry e;
	struct reader r;

	tb_header(block, "x", 1, 0644, 0, '0');
	memcpy(block + 100, "06x4   ", 8);	/* mode */
	tb_checksum(block);
	reader_init(&r, block, sizeof(block));
	/* as the first header, libarchive does not take it for a tar at all */
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	tb_header(block, "ok", 1, 0644, 0, '0');
	tb_header(block + 1024, "x", 1, 0644, 0, '0');
	memcpy(block + 1024 + 100, "06x4   ", 8);
	tb_checksum(block + 1024);
	reader_init(&r, block, sizeof(block));
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_HEADER);
}

Test(tar, leading_space_octal_accepted)
{
	uint8_t block[1536] = { 0 };
	struct af_tar_entry e;
	struct reader r;

	tb_header(block, "x", 5, 0644, 0, '0');
	memcpy(block + 124, "         5 ", 12);	/* size, old style */
	tb_checksum(block);
	reader_init(&r, block, sizeof(block));
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.size, 5);
	af_tar_entry_clear(&e);
}

Test(tar, base256_size)
{
	uint8_t *data = tb_pattern(1500, 5);
	struct tb_entry be = { .name = "b256", .data = data, .len = 1500, .flags = TB_BASE256_SIZE };
	struct tb_entry huge = { .name = "huge", .flags = TB_BASE256_SIZE | TB_SIZE_SET,
	    .size = 9ull << 30 };	/* 9 GiB: more than 11 octal digits hold */
	struct af_tar_entry e;
	struct tb_pos p1, p2, p3;
	struct reader r;
	struct tb t;
	uint8_t *buf;
	size_t len;

	tb_init(&t);
	p1 = tb_add_entry(&t, &be);
	p2 = tb_add_str(&t, "after", "a");
	p3 = tb_add_entry(&t, &huge);
	buf = tb_take(&t, &len);
	cr_assert_eq(buf[124], 0x80);
	reader_init(&r, buf, len);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.size, 1500);
	cr_assert_eq(e.data_offset, p1.data_offset);
	cr_assert_eq(r.pos, p2.header_offset);
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "after");
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.size, 9ull << 30);
	cr_assert_eq(e.data_offset, p3.data_offset);
	cr_assert_eq(r.pos, p3.data_offset + (9ull << 30));
	af_tar_entry_clear(&e);
	/* far past the buffer: cut short, not a crash */
	cr_assert_eq(next(&r, &e), AF_ETRUNC);
	free(buf);
	free(data);
}

static enum af_err
one_sized(uint64_t size, unsigned flags, struct reader *r, uint8_t **bufp)
{
	struct tb_entry he = { .name = "big", .flags = flags | TB_SIZE_SET, .size = size };
	struct af_tar_entry e;
	struct tb t;
	size_t len;
	enum af_err err;

	tb_init(&t);
	tb_add_entry(&t, &he);
	tb_end(&t);
	*bufp = tb_take(&t, &len);
	reader_init(r, *bufp, len);
	err = next(r, &e);
	if (err == AF_OK)
		af_tar_entry_clear(&e);
	return err;
}

Test(tar, overflowing_sizes_are_errors)
{
	static const uint64_t sizes[] = { UINT64_MAX, UINT64_MAX - 100, UINT64_MAX - 511,
	    UINT64_MAX - 600 };
	struct reader r;
	uint8_t *buf;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t before;
		enum af_err err = one_sized(sizes[i], TB_BASE256_SIZE, &r, &buf);
		before = r.pos;
		cr_assert_eq(err, AF_EFORMAT, "size %llu: got %s", (unsigned long long)sizes[i],
		    af_strerror(err));
		cr_assert(r.why.text[0] != '\0');
		cr_assert_eq(r.pos, before);
		free(buf);
		err = one_sized(sizes[i], TB_PAX_SIZE, &r, &buf);
		cr_assert_eq(err, AF_EFORMAT, "PAX size %llu: got %s", (unsigned long long)sizes[i],
		    af_strerror(err));
		free(buf);
	}
}

Test(tar, negative_base256_refused)
{
	uint8_t block[1536] = { 0 };
	struct af_tar_entry e;
	struct reader r;

	tb_header(block, "neg", 0, 0644, 0, '0');
	/* base-256 with the sign bit set: -2^88 + 5, which is no size */
	memset(block + 124, 0, 12);
	block[124] = 0xff;
	block[135] = 5;
	tb_checksum(block);
	reader_init(&r, block, sizeof(block));
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
}

Test(tar, pax_size_out_of_range_refused)
{
	static const char *const values[] = { "99999999999999999999999", "-5", "", "12abc" };
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char rec[128];
		size_t n = tb_pax_record(rec, sizeof(rec), "size", values[i]);

		refused_after_ext(rec, n, AF_C_NONE);
	}
}

Test(tar, malformed_pax_record)
{
	static const char *const recs[] = { "abc", "5 a=b\n", "100 path=x\n", "12 pathx\n", "3 \n",
	    "7xa=bc\n" };
	size_t i;

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		refused_after_ext(recs[i], strlen(recs[i]), AF_C_NONE);
}

static enum af_err
with_extensions(int count, struct af_tar_entry *e, struct reader *r, uint8_t **bufp,
    struct tb_pos *file)
{
	struct tb t;
	size_t len;
	int i;

	tb_init(&t);
	for (i = 0; i < count; i++) {
		char rec[64], path[32];
		size_t n;
		snprintf(path, sizeof(path), "name-%d", i);
		n = tb_pax_record(rec, sizeof(rec), "path", path);
		tb_add_ext(&t, 'x', rec, n);
	}
	*file = tb_add_str(&t, "file", "contents");
	tb_end(&t);
	*bufp = tb_take(&t, &len);
	reader_init(r, *bufp, len);
	return next(r, e);
}

Test(tar, one_extension_header_allowed)
{
	struct af_tar_entry e;
	struct tb_pos file;
	struct reader r;
	uint8_t *buf;

	cr_assert_eq(with_extensions(1, &e, &r, &buf, &file), AF_OK, "%s", r.why.text);
	cr_assert_str_eq(e.name, "name-0");
	cr_assert_eq(e.header_offset, 0);
	cr_assert_eq(e.data_offset, file.data_offset);
	af_tar_entry_clear(&e);
	free(buf);
}

/* Stacked extension headers, in every order of two: readers combine them differently. */
Test(tar, stacked_extension_headers_refused)
{
	static const char orders[][2] = { { 'x', 'x' }, { 'x', 'L' }, { 'L', 'x' }, { 'L', 'L' } };
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		char rec[64];
		size_t n = tb_pax_record(rec, sizeof(rec), "path", "scripts/");
		struct af_tar_entry e;
		struct reader r;
		struct tb t;
		uint8_t *buf;
		size_t len;
		int k;

		tb_init(&t);
		for (k = 0; k < 2; k++) {
			if (orders[i][k] == 'x')
				tb_add_ext(&t, 'x', rec, n);
			else
				tb_add_ext(&t, 'L', "scripts/ArtifactInstall_Enter_00", 33);
		}
		tb_add_str(&t, "x", "#!/bin/sh\n");
		tb_end(&t);
		buf = tb_take(&t, &len);
		reader_init(&r, buf, len);
		cr_assert_eq(next(&r, &e), AF_EFORMAT, "%c then %c", orders[i][0], orders[i][1]);
		expect_code(&r, AF_C_TAR_EXTENSION_STACKED);
		cr_assert(strstr(r.why.text, "at offset 0") != NULL, "why: %s", r.why.text);
		free(buf);
	}
}

Test(tar, many_extension_headers_refused_quickly)
{
	struct af_tar_entry e;
	struct tb_pos file;
	struct reader r;
	uint8_t *buf;

	cr_assert_eq(with_extensions(1000, &e, &r, &buf, &file), AF_EFORMAT);
	free(buf);
}

Test(tar, oversized_extension_refused)
{
	size_t n = 64 * 1024 + 1;
	char *big = malloc(n);
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;

	cr_assert_not_null(big);
	memset(big, 'a', n);
	tb_init(&t);
	tb_add_ext(&t, 'L', big, n);
	tb_add_str(&t, "f", "x");
	tb_end(&t);
	buf = reader_from(&r, &t);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_EXTENSION);
	free(buf);
	free(big);
}

/* A symlink whose size field is not 0: libarchive and GNU tar differ on its data. */
Test(tar, link_with_a_size_refused)
{
	struct tb_entry link = { .name = "link", .type = '2', .flags = TB_SIZE_SET, .size = 700 };
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	uint8_t *buf;

	tb_init(&t);
	tb_add_entry(&t, &link);
	tb_add_str(&t, "next", "n");
	tb_end(&t);
	buf = reader_from(&r, &t);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_HEADER);
	cr_assert(strstr(r.why.text, "700") != NULL, "why: %s", r.why.text);
	free(buf);
}

Test(tar, link_without_size_accepted)
{
	struct tb_entry link = { .name = "link", .type = '2' };
	struct af_tar_entry e;
	struct tb_pos p2;
	struct reader r;
	struct tb t;
	uint8_t *buf;

	tb_init(&t);
	tb_add_entry(&t, &link);
	p2 = tb_add_str(&t, "next", "n");
	tb_end(&t);
	buf = reader_from(&r, &t);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.type, '2');
	cr_assert_not(af_tar_is_file(&e));
	af_tar_entry_clear(&e);
	cr_assert_eq(next(&r, &e), AF_OK, "%s", r.why.text);
	cr_assert_eq(e.header_offset, p2.header_offset);
	af_tar_entry_clear(&e);
	free(buf);
}

/* The source's error comes back as it is; the reason stays empty, as the
 * source reports its own errors. */
Test(tar, source_errors_propagate)
{
	struct af_tar_source src = { eio_pread, NULL };
	struct af_tar_entry e;
	struct af_tar *tar;
	struct af_reason why;

	memset(&why, 'x', sizeof(why));
	cr_assert_eq(af_tar_open(&src, &tar), AF_OK);
	cr_assert_eq(af_tar_next(tar, &e, &why), AF_EIO);
	cr_assert_eq(why.code, AF_C_NONE, "%s", af_code_name(why.code));
	cr_assert_str_eq(why.text, "");
	cr_assert_null(e.name);
	af_tar_close(tar);
}

Test(tar, padded_helper)
{
	uint64_t out;

	cr_assert(af_tar_padded(0, &out));
	cr_assert_eq(out, 0);
	cr_assert(af_tar_padded(1, &out));
	cr_assert_eq(out, 512);
	cr_assert(af_tar_padded(512, &out));
	cr_assert_eq(out, 512);
	cr_assert(af_tar_padded(513, &out));
	cr_assert_eq(out, 1024);
	cr_assert(af_tar_padded(UINT64_MAX - 511, &out));
	cr_assert_eq(out % 512, 0);
	cr_assert_geq(out, UINT64_MAX - 511);
	cr_assert_not(af_tar_padded(UINT64_MAX - 510, &out));
	cr_assert_not(af_tar_padded(UINT64_MAX, &out));
}

Test(tar, is_file_typeflags)
{
	struct af_tar_entry e = { 0 };
	static const char files[] = { '0', '\0' };
	static const char others[] = { '1', '2', '3', '4', '5', '6', '7', 'S', 'x' };
	size_t i;

	for (i = 0; i < sizeof(files); i++) {
		e.type = files[i];
		cr_assert(af_tar_is_file(&e), "type %d", files[i]);
	}
	for (i = 0; i < sizeof(others); i++) {
		e.type = others[i];
		cr_assert_not(af_tar_is_file(&e), "type %c", others[i]);
	}
}

/* libarchive and GNU tar skip a global header with no entry; tarfile refuses it. */
Test(tar, dangling_global_header_before_the_end_refused)
{
	char rec[64];
	size_t n = tb_pax_record(rec, sizeof(rec), "path", "ghost");
	struct af_tar_entry e;
	struct reader r;
	struct tb t;
	struct tb_pos p;
	uint8_t *buf;
	char expect[64];

	tb_init(&t);
	tb_add_str(&t, "one", "1");
	p = tb_add_str(&t, "two", "2");
	tb_add_ext(&t, 'g', rec, n);
	tb_end(&t);
	buf = reader_from(&r, &t);
	skip_ok(&r);
	skip_ok(&r);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	snprintf(expect, sizeof(expect), "offset %llu", (unsigned long long)p.data_offset + 512);
	expect_code(&r, AF_C_TAR_END);
	cr_assert(strstr(r.why.text, expect) != NULL, "why: %s (want %s)", r.why.text, expect);
	free(buf);
}

Test(tar, empty_source_refused)
{
	struct af_tar_entry e;
	struct reader r;

	reader_init(&r, (const uint8_t *)"", 0);
	cr_assert_eq(next(&r, &e), AF_EFORMAT);
	expect_code(&r, AF_C_TAR_END);
}
