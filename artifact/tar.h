/*
 * A strict reader of tar headers: ustar, GNU (long names) and PAX.  It reads
 * through a positional source, so the same code indexes the outer tar (a
 * file), the header tar (memory) and a payload tar (a decompressed stream),
 * and it reports where each entry's data starts, which the rest of artifact/
 * needs for raw reads, random access and byte-exact rewriting.
 */
#ifndef AF_TAR_H
#define AF_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/error.h"

#define AF_TAR_BLOCK 512

struct af_tar_source {
	/* Reads up to len bytes at off; *got < len only at the end of the data. */
	enum af_err (*pread)(void *ctx, void *buf, size_t len, uint64_t off,
	    size_t *got);
	void *ctx;
};

struct af_tar_entry {
	char *name;		/* path as stored, long-name extensions applied */
	char type;		/* typeflag: '0' file, '5' dir, '2' symlink, ... */
	bool name_has_nul;	/* a PAX path with an embedded NUL */
	bool sparse;		/* GNU or PAX sparse file */
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
	uint64_t size;		/* bytes of data in the archive */
	uint64_t header_offset;	/* first block of the entry, extensions included */
	uint64_t data_offset;
};

/*
 * Reads the entry at *pos and moves *pos past its data.  Returns AF_END at the
 * end-of-archive block or at a clean end of data on a block boundary.  On an
 * error, why (of whylen bytes) says what is wrong in words for a person.
 */
enum af_err af_tar_next(const struct af_tar_source *src, uint64_t *pos,
    struct af_tar_entry *entry, char *why, size_t whylen);

void af_tar_entry_clear(struct af_tar_entry *entry);

/* True for a regular file typeflag ('0' or the old NUL). */
bool af_tar_is_file(const struct af_tar_entry *entry);

/* What an entry is, for messages: "a symbolic link", "a FIFO", ... */
const char *af_tar_type_word(const struct af_tar_entry *entry);

/* Checked "round up to a whole block"; false on overflow. */
bool af_tar_padded(uint64_t size, uint64_t *out);

#endif
