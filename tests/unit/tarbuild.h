/*
 * Test helpers: build tar archives in memory (ustar, GNU long names, PAX
 * records, odd size encodings), compress buffers with the real zlib, liblzma
 * and libzstd, and put bytes in unlinked temporary files.  Malformed inputs
 * are made here, in the tests, rather than committed as binary fixtures.
 *
 * Everything aborts the test process on memory exhaustion: these are tests.
 */
#ifndef TARBUILD_H
#define TARBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/codec.h"

/* Flags of struct tb_entry. */
enum {
	TB_GNU_LONGNAME = 1 << 0,	/* a GNU 'L' record carries the name */
	TB_PAX_PATH = 1 << 1,		/* a PAX 'x' record carries "path" */
	TB_PAX_SIZE = 1 << 2,		/* a PAX 'x' record carries "size"; ustar size says 0 */
	TB_PREFIX = 1 << 3,		/* split the name into ustar prefix + name at a '/' */
	TB_BASE256_SIZE = 1 << 4,	/* size field in GNU base-256 */
	TB_GNU_MAGIC = 1 << 5,		/* "ustar  \0" instead of "ustar\0" "00" */
	TB_SIZE_SET = 1 << 6,		/* the header says .size, whatever .len is */
	TB_BAD_CHECKSUM = 1 << 7,	/* store a checksum one off */
	TB_NO_PAD = 1 << 8,		/* do not pad the data to a whole block */
};

struct tb_entry {
	const char *name;
	const void *data;	/* .len bytes appended after the header */
	size_t len;
	uint32_t mode;		/* 0 means 0644 */
	int64_t mtime;
	char type;		/* 0 means '0' */
	unsigned flags;
	uint64_t size;		/* with TB_SIZE_SET: the size the header claims */
};

/* Where an added entry landed, computed by the builder. */
struct tb_pos {
	uint64_t header_offset;	/* first block, extension records included */
	uint64_t data_offset;
};

struct tb {
	uint8_t *buf;
	size_t len, cap;
};

void tb_init(struct tb *t);
void tb_free(struct tb *t);
/* Gives the buffer to the caller (free()) and resets t. */
uint8_t *tb_take(struct tb *t, size_t *len);

struct tb_pos tb_add_entry(struct tb *t, const struct tb_entry *e);
/* A regular file, mode 0644, mtime 0. */
struct tb_pos tb_add(struct tb *t, const char *name, const void *data, size_t len);
struct tb_pos tb_add_str(struct tb *t, const char *name, const char *text);
/* A bare extension record of the given type ('x', 'L', 'g'). */
void tb_add_ext(struct tb *t, char type, const void *data, size_t len);
/* Two zero blocks. */
void tb_end(struct tb *t);
/* Raw bytes, unpadded. */
void tb_raw(struct tb *t, const void *data, size_t len);

/* Fills a 512-byte ustar header block (name must fit 100 bytes) with a right checksum. */
void tb_header(uint8_t block[512], const char *name, uint64_t size, uint32_t mode,
    int64_t mtime, char type);
/* Recomputes the checksum field of a header block. */
void tb_checksum(uint8_t block[512]);
/* One PAX record "LEN key=value\n", with LEN computed; returns its length. */
size_t tb_pax_record(char *out, size_t outlen, const char *key, const char *value);

/* The data compressed as the artifact layer expects (gzip wrapper, xz with
 * CRC64, zstd with a content checksum); AF_COMP_NONE copies.  free() it. */
uint8_t *tb_compress(enum af_compression comp, const void *in, size_t len, size_t *out_len);

/* A deterministic, partly compressible, offset-dependent test buffer. */
uint8_t *tb_pattern(size_t len, uint32_t seed);

/* An unlinked temporary file holding the bytes; the fd is open read/write. */
int tb_temp_fd(const void *data, size_t len);
/* A path that opens that fd's file ("/proc/self/fd/N"). */
const char *tb_fd_path(int fd, char *buf, size_t buflen);

/* ---- fixtures and shell comparisons ---- */

/* $FIXTURES/name if it exists, else NULL (the test should skip). */
const char *fixture_path(const char *name, char *buf, size_t buflen);
/* Runs a shell command and returns its stdout (malloc'd, NUL-terminated,
 * *len bytes); NULL if it exits non-zero. */
uint8_t *run_capture(const char *cmd, size_t *len);
/* The decompress-to-stdout command for a member name ("gzip -dc", "cat"...). */
const char *decompress_cmd(const char *member);
/* Reads a whole file; NULL if it cannot. */
uint8_t *read_file(const char *path, size_t *len);

#endif
