#include "artifact/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Extension headers are small in every tar writer; larger ones are hostile. */
#define MAX_EXTENSION_SIZE (64 * 1024)
#define MAX_EXTENSIONS 8

/* Field offsets of a ustar header block. */
enum {
	NAME = 0, NAME_LEN = 100,
	MODE = 100, UID = 108, GID = 116, SIZE = 124, MTIME = 136,
	CHKSUM = 148, TYPEFLAG = 156, MAGIC = 257, PREFIX = 345, PREFIX_LEN = 155,
};

struct pending {		/* what extension headers said about the next entry */
	char *name;
	bool name_has_nul;
	bool sparse;
	bool has_size, has_mtime, has_uid, has_gid;
	uint64_t size, uid, gid;
	int64_t mtime;
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

/* Octal, with optional leading spaces and a NUL/space end; or GNU base-256. */
static bool
parse_number(const unsigned char *field, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (len > 0 && (field[0] & 0x80) != 0) {
		if (field[0] != 0x80)	/* negative or over 64 bits */
			return false;
		for (i = 1; i < len; i++) {
			if (v > (UINT64_MAX >> 8))
				return false;
			v = v << 8 | field[i];
		}
		*out = v;
		return true;
	}
	while (i < len && field[i] == ' ')
		i++;
	if (i == len || field[i] < '0' || field[i] > '7')
		return false;
	for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return false;
		v = v << 3 | (uint64_t)(field[i] - '0');
	}
	for (; i < len; i++)
		if (field[i] != '\0' && field[i] != ' ')
			return false;
	*out = v;
	return true;
}

static bool
checksum_ok(const unsigned char *b)
{
	uint64_t want;
	unsigned long sum_u = 0;
	long sum_s = 0;
	size_t i;

	if (!parse_number(b + CHKSUM, 8, &want))
		return false;
	for (i = 0; i < AF_TAR_BLOCK; i++) {
		unsigned char c = (i >= CHKSUM && i < CHKSUM + 8) ? ' ' : b[i];
		sum_u += c;
		sum_s += (signed char)c;
	}
	/* Some old writers summed signed chars; accept both, as GNU tar does. */
	return want == sum_u || (long)want == sum_s;
}

static bool
all_zero(const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static char *
field_string(const unsigned char *field, size_t len)
{
	size_t n = strnlen((const char *)field, len);
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, field, n);
		s[n] = '\0';
	}
	return s;
}

static enum af_err
read_exact(const struct af_tar_source *src, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	enum af_err err = src->pread(src->ctx, buf, len, off, &got);

	if (err != AF_OK)
		return err;
	return got == len ? AF_OK : AF_ETRUNC;
}

/* One "len key=value\n" record after another. */
static bool
parse_pax(const char *data, size_t len, struct pending *p)
{
	size_t pos = 0;

	while (pos < len) {
		size_t reclen = 0, i = pos, keylen, vallen;
		const char *key, *eq, *val;

		while (i < len && data[i] >= '0' && data[i] <= '9') {
			reclen = reclen * 10 + (size_t)(data[i] - '0');
			if (reclen > len)
				return false;
			i++;
		}
		if (i == pos || i >= len || data[i] != ' ' || reclen > len - pos ||
		    reclen < 5 || data[pos + reclen - 1] != '\n')
			return false;
		key = data + i + 1;
		eq = memchr(key, '=', (size_t)(data + pos + reclen - 1 - key));
		if (eq == NULL)
			return false;
		keylen = (size_t)(eq - key);
		val = eq + 1;
		vallen = (size_t)(data + pos + reclen - 1 - val);
		if (keylen == 4 && memcmp(key, "path", 4) == 0) {
			free(p->name);
			if ((p->name = strndup(val, vallen)) == NULL)
				return false;
			p->name_has_nul = memchr(val, '\0', vallen) != NULL;
		} else if (keylen == 4 && memcmp(key, "size", 4) == 0) {
			char tmp[24];
			char *end;
			if (vallen == 0 || vallen >= sizeof(tmp))
				return false;
			memcpy(tmp, val, vallen);
			tmp[vallen] = '\0';
			p->size = strtoull(tmp, &end, 10);
			if (*end != '\0' || tmp[0] == '-')
				return false;
			p->has_size = true;
		} else if (keylen == 5 && memcmp(key, "mtime", 5) == 0) {
			p->mtime = strtoll(val, NULL, 10);
			p->has_mtime = true;
		} else if (keylen > 11 && memcmp(key, "GNU.sparse.", 11) == 0) {
			p->sparse = true;
		}
		pos += reclen;
	}
	return true;
}

static void
say(char *why, size_t whylen, const char *fmt, uint64_t off)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, (unsigned long long)off);
}

/* Reads an extension header's data and folds it into p. */
static enum af_err
read_extension(const struct af_tar_source *src, const unsigned char *block,
    uint64_t data_off, uint64_t size, struct pending *p, char *why, size_t whylen)
{
	enum af_err err;
	char *data;

	if (size > MAX_EXTENSION_SIZE) {
		say(why, whylen, "extension header at offset %llu is over 64 KiB", data_off - AF_TAR_BLOCK);
		return AF_ETOOBIG;
	}
	if ((data = malloc(size + 1)) == NULL)
		return AF_ENOMEM;
	if ((err = read_exact(src, data, size, data_off)) != AF_OK) {
		free(data);
		say(why, whylen, "the archive ends inside the extension header at offset %llu", data_off - AF_TAR_BLOCK);
		return err == AF_ETRUNC ? AF_ETRUNC : err;
	}
	data[size] = '\0';
	switch (block[TYPEFLAG]) {
	case 'x':
		if (!parse_pax(data, size, p)) {
			free(data);
			say(why, whylen, "malformed PAX header at offset %llu", data_off - AF_TAR_BLOCK);
			return AF_EFORMAT;
		}
		break;
	case 'L':
		free(p->name);
		p->name = strndup(data, size);
		p->name_has_nul = false;
		if (p->name == NULL) {
			free(data);
			return AF_ENOMEM;
		}
		break;
	default:	/* 'g' global headers and 'K' long link names: not used here */
		break;
	}
	free(data);
	return AF_OK;
}

static bool
is_extension(char type)
{
	return type == 'x' || type == 'g' || type == 'L' || type == 'K';
}

static enum af_err
fill_entry(const unsigned char *b, struct pending *p, struct af_tar_entry *e,
    char *why, size_t whylen, uint64_t off)
{
	uint64_t mode, uid, gid, mtime, size;
	bool posix = memcmp(b + MAGIC, "ustar\0" "00", 8) == 0;

	if (!parse_number(b + MODE, 8, &mode) || !parse_number(b + UID, 8, &uid) ||
	    !parse_number(b + GID, 8, &gid) || !parse_number(b + SIZE, 12, &size) ||
	    !parse_number(b + MTIME, 12, &mtime)) {
		say(why, whylen, "a numeric field of the tar header at offset %llu is not a number", off);
		return AF_EFORMAT;
	}
	e->type = (char)b[TYPEFLAG];
	e->mode = (uint32_t)(mode & 07777);
	e->uid = p->has_uid ? p->uid : uid;
	e->gid = p->has_gid ? p->gid : gid;
	e->mtime = p->has_mtime ? p->mtime : (int64_t)mtime;
	e->size = p->has_size ? p->size : size;
	e->sparse = p->sparse || e->type == 'S';
	e->name_has_nul = p->name_has_nul;
	if (p->name != NULL) {
		e->name = p->name;
		p->name = NULL;
	} else if (posix && b[PREFIX] != '\0') {
		char *prefix = field_string(b + PREFIX, PREFIX_LEN);
		char *name = field_string(b + NAME, NAME_LEN);
		if (prefix != NULL && name != NULL &&
		    asprintf(&e->name, "%s/%s", prefix, name) < 0)
			e->name = NULL;
		free(prefix);
		free(name);
	} else {
		e->name = field_string(b + NAME, NAME_LEN);
	}
	return e->name == NULL ? AF_ENOMEM : AF_OK;
}

enum af_err
af_tar_next(const struct af_tar_source *src, uint64_t *pos,
    struct af_tar_entry *e, char *why, size_t whylen)
{
	unsigned char block[AF_TAR_BLOCK];
	struct pending p = { 0 };
	uint64_t off = *pos, size, padded;
	enum af_err err;
	size_t got;
	int ext;

	memset(e, 0, sizeof(*e));
	e->header_offset = off;
	for (ext = 0;; ext++) {
		if ((err = src->pread(src->ctx, block, sizeof(block), off, &got)) != AF_OK)
			goto fail;
		if (got == 0 && ext == 0) {
			err = AF_END;		/* end markers missing: tolerated */
			goto fail;
		}
		if (got < sizeof(block)) {
			say(why, whylen, "the archive ends inside the tar header at offset %llu", off);
			err = AF_ETRUNC;
			goto fail;
		}
		if (all_zero(block, sizeof(block)) && ext == 0) {
			err = AF_END;
			goto fail;
		}
		if (!checksum_ok(block)) {
			say(why, whylen, "the tar header at offset %llu has a wrong checksum (not a tar archive, or corrupt)", off);
			err = AF_EFORMAT;
			goto fail;
		}
		if (!is_extension((char)block[TYPEFLAG]))
			break;
		if (ext == MAX_EXTENSIONS) {
			say(why, whylen, "more than 8 extension headers in a row at offset %llu", off);
			err = AF_EFORMAT;
			goto fail;
		}
		if (!parse_number(block + SIZE, 12, &size) || !af_tar_padded(size, &padded) ||
		    off > UINT64_MAX - AF_TAR_BLOCK - padded) {
			say(why, whylen, "bad size in the extension header at offset %llu", off);
			err = AF_EFORMAT;
			goto fail;
		}
		if ((err = read_extension(src, block, off + AF_TAR_BLOCK, size, &p, why, whylen)) != AF_OK)
			goto fail;
		off += AF_TAR_BLOCK + padded;
	}
	if ((err = fill_entry(block, &p, e, why, whylen, off)) != AF_OK)
		goto fail;
	e->data_offset = off + AF_TAR_BLOCK;
	/* Only regular files and their like carry data in the archive. */
	size = (e->type == '5' || e->type == '2' || e->type == '1' || e->type == '3' ||
	    e->type == '4' || e->type == '6') ? 0 : e->size;
	if (!af_tar_padded(size, &padded) || e->data_offset > UINT64_MAX - padded) {
		say(why, whylen, "the size in the tar header at offset %llu overflows", off);
		err = AF_EFORMAT;
		goto fail;
	}
	*pos = e->data_offset + padded;
	free(p.name);
	return AF_OK;
fail:
	free(p.name);
	af_tar_entry_clear(e);
	return err;
}
