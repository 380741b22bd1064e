/*
 * Tar reading through libarchive.  libarchive pulls bytes from the source
 * through a read and a skip callback, so nothing is buffered that this file
 * does not control, and its counters give exact offsets: the header position
 * of an entry is where its first extension header starts, and the bytes it
 * has consumed once it returns a header are where the entry's data starts.
 */
#include "artifact/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one read callback hands libarchive. */
#define READ_CHUNK (16 * 1024)
/* An entry's header blocks: one extension header of up to 64 KiB, then the entry. */
#define MAX_HEADER_BYTES (64 * 1024 + 2 * AF_TAR_BLOCK)

struct af_tar {
	struct archive *ar;
	struct af_tar_source src;
	uint64_t pos;		/* the next byte libarchive has not been given */
	uint64_t data_end;	/* where the last entry's data ends, before padding */
	enum af_err src_err;	/* what the source said when a callback failed */
	enum af_err final;	/* AF_OK while entries may follow */
	bool started;		/* archive_read_open2 has run */
	bool eof;		/* the source has run out of bytes */
	struct af_tar_end end;
	unsigned char buf[READ_CHUNK];
};

bool
af_tar_padded(uint64_t size, uint64_t *out)
{
	if (size > UINT64_MAX - (AF_TAR_BLOCK - 1))
		return false;
	*out = (size + AF_TAR_BLOCK - 1) / AF_TAR_BLOCK * AF_TAR_BLOCK;
	return true;
}

bool
af_tar_is_file(const struct af_tar_entry *entry)
{
	return entry->type == '0' || entry->type == '\0';
}

const char *
af_tar_type_word(const struct af_tar_entry *e)
{
	if (e->sparse)
		return "a sparse file";
	switch (e->type) {
	case '0': case '\0': return "a regular file";
	case '1': return "a hard link";
	case '2': return "a symbolic link";
	case '3': return "a character device";
	case '4': return "a block device";
	case '5': return "a directory";
	case '6': return "a FIFO";
	default: return "not a regular file";
	}
}

void
af_tar_entry_clear(struct af_tar_entry *entry)
{
	free(entry->name);
	memset(entry, 0, sizeof(*entry));
}

static la_ssize_t
read_cb(struct archive *ar, void *ctx, const void **out)
{
	struct af_tar *t = ctx;
	size_t got = 0;
	enum af_err err = t->src.pread(t->src.ctx, t->buf, sizeof(t->buf), t->pos, &got);

	if (err != AF_OK) {
		t->src_err = err;
		archive_set_error(ar, EIO, "%s", af_strerror(err));
		return -1;
	}
	t->pos += got;
	t->eof = got == 0;
	*out = t->buf;
	return (la_ssize_t)got;
}

/*
 * Skips only where the data really goes on: a probe of the last byte.  Where
 * it does not, libarchive reads instead and meets the end itself.
 */
static la_int64_t
skip_cb(struct archive *ar, void *ctx, la_int64_t request)
{
	struct af_tar *t = ctx;
	unsigned char last;
	size_t got = 0;

	(void)ar;
	if (request <= 0 || t->src.pread(t->src.ctx, &last, 1, t->pos + (uint64_t)request - 1,
	    &got) != AF_OK || got != 1)
		return 0;
	t->pos += (uint64_t)request;
	return request;
}

enum af_err
af_tar_open(const struct af_tar_source *src, struct af_tar **out)
{
	struct af_tar *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->ar = archive_read_new()) == NULL) {
		free(t);
		return AF_ENOMEM;
	}
	t->src = *src;
	/* Format tar only, no filters: compressed tars arrive decompressed. */
	if (archive_read_support_format_tar(t->ar) != ARCHIVE_OK) {
		af_tar_close(t);
		return AF_ENOMEM;
	}
	*out = t;
	return AF_OK;
}

/* Opening reads (libarchive bids on the first bytes), so it waits for the first entry. */
static int
start(struct af_tar *t)
{
	t->started = true;
	return archive_read_open2(t->ar, t, NULL, read_cb, skip_cb, NULL);
}

void
af_tar_close(struct af_tar *t)
{
	if (t == NULL)
		return;
	archive_read_free(t->ar);
	free(t);
}

struct af_tar_end
af_tar_end(const struct af_tar *t)
{
	return t->end;
}

/* Reads exactly [from, to) of the source; AF_ETRUNC where it ends before. */
static enum af_err
read_range(struct af_tar *t, void *buf, uint64_t from, uint64_t to)
{
	size_t got = 0;
	enum af_err err = t->src.pread(t->src.ctx, buf, (size_t)(to - from), from, &got);

	if (err != AF_OK)
		return err;
	return got == to - from ? AF_OK : AF_ETRUNC;
}

static bool
all_zero(const unsigned char *b, size_t len)
{
	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

/*
 * The padding between the end of the last entry's data and off must be zeros:
 * every reader skips it, and nothing signs it.  Says what it found as
 * "N bytes of padding at offset X are not zeros".
 */
static enum af_err
check_padding(struct af_tar *t, uint64_t off, struct af_reason *why)
{
	unsigned char gap[AF_TAR_BLOCK];
	enum af_err err;

	if (off <= t->data_end)
		return AF_OK;
	if (off - t->data_end >= AF_TAR_BLOCK)
		return af_fail(why, AF_EFORMAT, AF_C_TAR_PADDING, "%llu bytes at offset %llu were "
		    "skipped by libarchive", (unsigned long long)(off - t->data_end),
		    (unsigned long long)t->data_end);
	if ((err = read_range(t, gap, t->data_end, off)) != AF_OK)
		return err;
	if (!all_zero(gap, (size_t)(off - t->data_end)))
		return af_fail(why, AF_EFORMAT, AF_C_TAR_PADDING, "%llu bytes of padding at offset "
		    "%llu are not zeros: data is hidden there, and nothing signs it",
		    (unsigned long long)(off - t->data_end), (unsigned long long)t->data_end);
	return AF_OK;
}

/* Everything after the end-of-archive blocks must be zeros too. */
static enum af_err
check_trailer(struct af_tar *t, struct af_reason *why)
{
	uint64_t off = t->end.offset, first;
	size_t got, i;
	enum af_err err;

	for (;; off += got) {
		got = 0;
		if ((err = t->src.pread(t->src.ctx, t->buf, sizeof(t->buf), off, &got)) != AF_OK)
			return err;
		if (got == 0)
			return AF_OK;
		for (i = 0; i < got && t->buf[i] == 0; i++)
			;
		if (i < got)
			break;
	}
	off += i;
	first = off;
	for (;; off += got) {	/* how far the non-zero tail goes: the end of the data */
		got = 0;
		if ((err = t->src.pread(t->src.ctx, t->buf, sizeof(t->buf), off, &got)) != AF_OK)
			return err;
		if (got < sizeof(t->buf))
			break;
	}
	off += got;
	t->end.trailer = true;
	return af_fail(why, AF_EFORMAT, AF_C_TRAILING_BYTES, "has %llu bytes after its "
	    "end-of-archive blocks (from offset %llu, the first non-zero one at %llu) that "
	    "nothing signs", (unsigned long long)(off - t->end.offset),
	    (unsigned long long)t->end.offset, (unsigned long long)first);
}

/*
 * What libarchive consumed at the end must be end-of-archive blocks: an
 * extension header with no entry after it is skipped by libarchive and GNU
 * tar, and refused by Python's tarfile.
 */
static enum af_err
check_end_blocks(struct af_tar *t, uint64_t from, struct af_reason *why)
{
	uint64_t off;
	size_t got, i;
	enum af_err err;

	for (off = from; off < t->end.offset; off += got) {
		size_t want = t->end.offset - off < sizeof(t->buf) ? (size_t)(t->end.offset - off) :
		    sizeof(t->buf);
		got = 0;
		if ((err = t->src.pread(t->src.ctx, t->buf, want, off, &got)) != AF_OK)
			return err;
		if (got != want)
			return AF_ETRUNC;
		for (i = 0; i < got && t->buf[i] == 0; i++)
			;
		if (i < got)
			return af_fail(why, AF_EFORMAT, AF_C_TAR_END, "has an extension header "
			    "with no entry after it at offset %llu; tar readers differ on it",
			    (unsigned long long)(off + i) / AF_TAR_BLOCK * AF_TAR_BLOCK);
	}
	return AF_OK;
}

static enum af_err
finish(struct af_tar *t, struct af_reason *why)
{
	uint64_t data_padded;
	enum af_err err;

	t->end.offset = (uint64_t)archive_filter_bytes(t->ar, 0);
	if (!af_tar_padded(t->data_end, &data_padded))
		data_padded = t->data_end;
	t->end.marked = t->end.offset > data_padded;
	if ((err = check_padding(t, data_padded, why)) != AF_OK) {
		if (why->code != AF_C_NONE)	/* else the source failed: it says so */
			af_reason_reword(why, "ends with %s", why->text);
		return err;
	}
	if ((err = check_end_blocks(t, data_padded, why)) != AF_OK)
		return err;
	if ((err = check_trailer(t, why)) != AF_OK)
		return err;
	if (t->end.offset - data_padded == AF_TAR_BLOCK)
		return af_fail(why, AF_EFORMAT, AF_C_TAR_END, "ends with one end-of-archive block "
		    "at offset %llu, not two; GNU tar warns about it",
		    (unsigned long long)data_padded);
	return AF_END;
}

/* libarchive stopped on something: warnings count as errors here. */
static enum af_err
refused(struct af_tar *t, int r, struct af_reason *why)
{
	const char *msg = archive_error_string(t->ar);
	uint64_t off;

	if (t->src_err != AF_OK)
		return t->src_err;
	if (archive_errno(t->ar) == ENOMEM)
		return AF_ENOMEM;
	if (t->pos == 0)	/* GNU tar and Python's tarfile refuse an empty file */
		return af_fail(why, AF_EFORMAT, AF_C_TAR_END, "is empty: not even the "
		    "end-of-archive blocks of a tar");
	if (!af_tar_padded(t->data_end, &off))
		off = t->data_end;
	if (t->eof)
		return af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "the archive ends inside the entry "
		    "at offset %llu: it was cut short; copy it again", (unsigned long long)off);
	if (msg == NULL)
		msg = "no reason given";
	return af_fail(why, AF_EFORMAT, AF_C_TAR_UNREADABLE, "the entry at offset %llu: "
	    "libarchive %s: %s%s", (unsigned long long)off, r == ARCHIVE_WARN ? "warns" :
	    "cannot read it", msg, strcmp(msg, "Damaged tar archive") == 0 ?
	    " (a header checksum is wrong)" : "");
}

/* The typeflag that stands for what libarchive read. */
static char
libarchive_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae) != NULL)
		return '1';
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG: return '0';
	case AE_IFLNK: return '2';
	case AE_IFCHR: return '3';
	case AE_IFBLK: return '4';
	case AE_IFDIR: return '5';
	case AE_IFIFO: return '6';
	case 0: return '1';	/* libarchive leaves a hard link's type unset */
	default: return '?';
	}
}

/* Copies what libarchive read into e. */
static enum af_err
take_entry(struct af_tar *t, struct archive_entry *ae, struct af_tar_entry *e)
{
	const char *name = archive_entry_pathname(ae);

	e->header_offset = (uint64_t)archive_read_header_position(t->ar);
	e->data_offset = (uint64_t)archive_filter_bytes(t->ar, 0);
	e->size = archive_entry_size_is_set(ae) ? (uint64_t)archive_entry_size(ae) : 0;
	e->mode = (uint32_t)(archive_entry_mode(ae) & 07777);
	e->uid = (uint64_t)archive_entry_uid(ae);
	e->gid = (uint64_t)archive_entry_gid(ae);
	e->mtime = (int64_t)archive_entry_mtime(ae);
	e->type = libarchive_type(ae);
	e->name = strdup(name != NULL ? name : "");
	return e->name == NULL ? AF_ENOMEM : AF_OK;
}

/* Runs the lint over the entry's raw header blocks. */
static enum af_err
lint(struct af_tar *t, struct af_tar_entry *e, struct af_reason *why)
{
	uint64_t len = e->data_offset - e->header_offset;
	unsigned char *blocks;
	enum af_err err;

	if (e->data_offset < e->header_offset + AF_TAR_BLOCK || len % AF_TAR_BLOCK != 0 ||
	    len > MAX_HEADER_BYTES)
		return af_fail(why, AF_EFORMAT, AF_C_TAR_EXTENSION, "has %llu bytes of header "
		    "blocks; mender-artifact never writes over 64 KiB of extension headers",
		    (unsigned long long)len);
	if ((blocks = malloc((size_t)len)) == NULL)
		return AF_ENOMEM;
	err = read_range(t, blocks, e->header_offset, e->data_offset);
	if (err == AF_OK)
		err = af_tar_lint(blocks, (size_t)len, e, why);
	free(blocks);
	return err;
}

/*
 * Names the entry in why (left empty when the source failed: it says so).
 * A refused entry that libarchive read whole may be read past; after padding
 * that hides data (final) the tar is refused, so the entry goes.
 */
static enum af_err
entry_failed(struct af_tar_entry *e, enum af_err err, bool final, struct af_reason *why)
{
	if (why->code != AF_C_NONE)
		af_reason_reword(why, "entry '%.100s' at offset %llu %s", e->name,
		    (unsigned long long)e->header_offset, why->text);
	if (err != AF_EFORMAT || final)
		af_tar_entry_clear(e);
	return err;
}

static enum af_err
next_entry(struct af_tar *t, struct af_tar_entry *e, struct af_reason *why)
{
	struct archive_entry *ae;
	enum af_err err;
	int r = t->started ? ARCHIVE_OK : start(t);

	if (r == ARCHIVE_OK)
		r = archive_read_next_header(t->ar, &ae);
	if (r == ARCHIVE_EOF)
		return finish(t, why);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return refused(t, r, why);
	if ((err = take_entry(t, ae, e)) != AF_OK)
		return err;
	if ((err = check_padding(t, e->header_offset, why)) != AF_OK) {
		if (why->code != AF_C_NONE)
			af_reason_reword(why, "follows %s", why->text);
		return entry_failed(e, err, true, why);
	}
	/* The lint's words name the cause better than libarchive's warning. */
	if ((err = lint(t, e, why)) == AF_OK && r == ARCHIVE_WARN)
		err = af_fail(why, AF_EFORMAT, AF_C_TAR_UNREADABLE, "makes libarchive warn: %s",
		    archive_error_string(t->ar) != NULL ? archive_error_string(t->ar) : "?");
	/* libarchive skips what it counts as the data: the next padding starts there */
	t->data_end = e->data_offset + e->size;
	if (err != AF_OK)
		return entry_failed(e, err, false, why);
	if (!af_tar_is_file(e))
		e->size = 0;
	return AF_OK;
}

enum af_err
af_tar_next(struct af_tar *t, struct af_tar_entry *e, struct af_reason *why)
{
	struct af_reason ignored;	/* the reader words its reasons in place */
	enum af_err err;

	if (why == NULL)
		why = &ignored;
	memset(e, 0, sizeof(*e));
	af_reason_clear(why);
	if (t->final != AF_OK) {
		if (t->final != AF_END)
			af_reason_set(why, af_code_of(t->final), "the tar was already refused");
		return t->final;
	}
	err = next_entry(t, e, why);
	/* A refused entry that libarchive read whole: the caller may read on. */
	if (err == AF_EFORMAT && e->name != NULL)
		return err;
	if (err != AF_OK) {
		t->final = err;
		af_tar_entry_clear(e);
	}
	return err;
}
