/*
 * Every tar of an artifact (the outer tar, the header tars, the payload tars)
 * is read by libarchive, the library the Mender C++ client reads them with, so
 * names, sizes and types are what a device sees.  On top of that, tar_lint.c
 * checks the raw header blocks of each entry, at the offsets libarchive
 * reports, and refuses whatever tar readers may read differently or
 * mender-artifact never writes.
 *
 * The reader pulls bytes through a positional source, so the same code reads
 * a file, a buffer or a decompressed payload stream, and it reports where each
 * entry's data starts, which the rest of artifact/ needs for raw reads, random
 * access and byte-exact rewriting.
 */
#ifndef AF_TAR_H
#define AF_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define AF_TAR_BLOCK 512

struct af_tar_source {
	/* Reads up to len bytes at off; *got < len only at the end of the data. */
	enum af_err (*pread)(void *ctx, void *buf, size_t len, uint64_t off,
	    size_t *got);
	void *ctx;
};

struct af_tar_entry {
	char *name;		/* the path as libarchive reads it */
	char type;		/* what libarchive read, as a typeflag: '0' file, '5' dir, ... */
	bool name_has_nul;	/* a PAX path with an embedded NUL (refused by the lint) */
	bool sparse;		/* GNU or PAX sparse file (refused by the lint) */
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	uint64_t size;		/* bytes of data in the archive */
	uint64_t header_offset;	/* first block of the entry, extensions included */
	uint64_t data_offset;
};

/* How a tar ended, once af_tar_next has returned AF_END. */
struct af_tar_end {
	uint64_t offset;	/* where the end-of-archive blocks (or the data) end */
	bool marked;		/* it ends with its two end-of-archive blocks */
	bool trailer;		/* the error was bytes after the end (why says where) */
};

struct af_tar;			/* a reader over one tar */

/* A reader from offset 0 of src.  AF_ENOMEM is the only error. */
enum af_err af_tar_open(const struct af_tar_source *src, struct af_tar **out);
void af_tar_close(struct af_tar *t);

/*
 * Reads the next entry.  AF_END at the end of the archive.  On an error, why
 * says in words for a person which entry, at which offset, and what is wrong,
 * and its code which rule the entry breaks (tar-header, tar-padding, ...).
 * why stays empty (code none) when the source failed or memory ran out: the
 * source reports its own errors.  AF_EFORMAT with entry->name set refuses one entry that
 * libarchive read whole: the entry is not to be shown, and the next call reads
 * on.  Any other error is final.  Bytes after the end-of-archive blocks that
 * are not zero are an error (AF_EFORMAT): nothing signs them.
 */
enum af_err af_tar_next(struct af_tar *t, struct af_tar_entry *entry,
    struct af_reason *why);

/* After AF_END, or an error about what follows the end: where and how it ended. */
struct af_tar_end af_tar_end(const struct af_tar *t);

void af_tar_entry_clear(struct af_tar_entry *entry);

/* True for a regular file typeflag ('0' or the old NUL). */
bool af_tar_is_file(const struct af_tar_entry *entry);

/* What an entry is, for messages: "a symbolic link", "a FIFO", ... */
const char *af_tar_type_word(const struct af_tar_entry *entry);

/* Checked "round up to a whole block"; false on overflow. */
bool af_tar_padded(uint64_t size, uint64_t *out);

/*
 * The lint (tar_lint.c): checks the raw blocks of one entry, blocks[0..len)
 * being everything from its first extension header to its last header block,
 * against what libarchive read (name, size, type).  Returns AF_EFORMAT with
 * why filled in when readers may disagree or the entry is of a kind
 * mender-artifact never writes (AF_ENOMEM if memory runs out).  Fills in
 * e->sparse and e->name_has_nul.
 */
enum af_err af_tar_lint(const unsigned char *blocks, size_t len, struct af_tar_entry *e,
    struct af_reason *why);

#endif
