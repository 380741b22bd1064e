/*
 * The lint over one entry's raw header blocks.  libarchive decides what an
 * entry is; this file refuses the entries that GNU tar, Python's tarfile or
 * Go's archive/tar (mender-artifact) could read differently, and the forms
 * mender-artifact never writes.  Each rule names the disagreement it prevents.
 */
#include "artifact/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets of a ustar header block. */
enum {
	NAME = 0, NAME_LEN = 100,
	MODE = 100, UID = 108, GID = 116, SIZE = 124, MTIME = 136,
	CHKSUM = 148, TYPEFLAG = 156, MAGIC = 257, PREFIX = 345, PREFIX_LEN = 155,
	GNU_EXTRA_END = 500,
};

/* Sizes from 8 GiB up do not fit the 11 octal digits of a ustar size field. */
#define USTAR_SIZE_LIMIT (UINT64_C(1) << 33)

/* What the extension header (at most one) said. */
struct extension {
	char type;		/* 'x', 'L' or 0 for none */
	char *path;		/* pax path or GNU long name */
	size_t path_len;	/* bytes, a NUL included if the pax value had one */
	bool has_size;
	uint64_t size;
};

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
	/* Old writers summed signed chars; every reader accepts both. */
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

/* Plain decimal digits, as Go and GNU tar write size, uid and gid. */
static bool
decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Seconds, maybe negative, maybe with a fraction: GNU tar --format=posix. */
static bool
time_value(const char *s, size_t len)
{
	const char *dot;
	uint64_t ignored;

	if (len > 0 && s[0] == '-')
		s++, len--;
	dot = memchr(s, '.', len);
	if (dot == NULL)
		return decimal(s, len, &ignored);
	return decimal(s, (size_t)(dot - s), &ignored) &&
	    decimal(dot + 1, len - (size_t)(dot - s) - 1, &ignored);
}

/* The pax keys mender-artifact (Go) and GNU tar write for a regular file. */
static const char *const pax_keys[] = {
	"path", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime",
};

/* One pax record's key and value; false with why on anything not plain. */
static bool
pax_record(const char *key, size_t keylen, const char *val, size_t vallen,
    unsigned *seen, struct extension *x, struct af_reason *why)
{
	size_t k;

	for (k = 0; k < sizeof(pax_keys) / sizeof(pax_keys[0]); k++)
		if (strlen(pax_keys[k]) == keylen && memcmp(pax_keys[k], key, keylen) == 0)
			break;
	if (k == sizeof(pax_keys) / sizeof(pax_keys[0])) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has a pax record '%.*s', which "
		    "mender-artifact never writes and tar readers treat differently",
		    (int)(keylen > 40 ? 40 : keylen), key);
		return false;
	}
	if (*seen & (1u << k)) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has the pax record '%s' twice; tar readers "
		    "differ on which one counts", pax_keys[k]);
		return false;
	}
	*seen |= 1u << k;
	if (k == 0) {
		free(x->path);
		if ((x->path = malloc(vallen + 1)) == NULL) {
			af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
			return false;
		}
		memcpy(x->path, val, vallen);
		x->path[vallen] = '\0';
		x->path_len = vallen;
		return true;
	}
	if (k == 1 || k == 2 || k == 3) {
		uint64_t v;
		if (!decimal(val, vallen, &v)) {
			af_reason_set(why, AF_C_TAR_EXTENSION, "has a pax '%s' record that is not "
			    "plain decimal digits", pax_keys[k]);
			return false;
		}
		if (k == 1) {
			x->has_size = true;
			x->size = v;
		}
		return true;
	}
	if (k >= 6 && !time_value(val, vallen)) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has a pax '%s' record that is not a time "
		    "in seconds", pax_keys[k]);
		return false;
	}
	return true;
}

/* One "len key=value\n" record after another, every byte accounted for. */
static bool
parse_pax(const char *data, size_t len, struct extension *x, struct af_reason *why)
{
	unsigned seen = 0;
	size_t pos = 0;

	while (pos < len) {
		size_t reclen = 0, i = pos;
		const char *key, *eq, *end;

		while (i < len && data[i] >= '0' && data[i] <= '9' && reclen <= len) {
			reclen = reclen * 10 + (size_t)(data[i] - '0');
			i++;
		}
		if (i == pos || data[pos] == '0' || i >= len || data[i] != ' ' ||
		    reclen > len - pos || reclen < i - pos + 4 ||
		    data[pos + reclen - 1] != '\n') {
			af_reason_set(why, AF_C_TAR_EXTENSION, "has a malformed pax record at byte "
			    "%zu of its pax header", pos);
			return false;
		}
		key = data + i + 1;
		end = data + pos + reclen - 1;
		eq = memchr(key, '=', (size_t)(end - key));
		if (eq == NULL || eq == key) {
			af_reason_set(why, AF_C_TAR_EXTENSION, "has a pax record without 'key=' at "
			    "byte %zu of its pax header", pos);
			return false;
		}
		if (!pax_record(key, (size_t)(eq - key), eq + 1, (size_t)(end - eq - 1), &seen,
		    x, why))
			return false;
		pos += reclen;
	}
	return true;
}

/* Reads the extension header at b (its data follows); false with why. */
static bool
read_extension(const unsigned char *b, size_t avail, struct extension *x, size_t *used,
    struct af_reason *why)
{
	uint64_t size, padded;
	const char *data = (const char *)b + AF_TAR_BLOCK;

	if (x->type != 0) {
		af_reason_set(why, AF_C_TAR_EXTENSION_STACKED, "has more than one extension header "
		    "(%c, then %c); tar readers combine them differently", x->type, b[TYPEFLAG]);
		return false;
	}
	x->type = (char)b[TYPEFLAG];
	if (!parse_number(b + SIZE, 12, &size) || !af_tar_padded(size, &padded) ||
	    padded > avail - AF_TAR_BLOCK) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has an extension header with a bad size");
		return false;
	}
	if (!all_zero((const unsigned char *)data + size, (size_t)(padded - size))) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has data hidden in the padding of its "
		    "extension header");
		return false;
	}
	*used = AF_TAR_BLOCK + (size_t)padded;
	if (x->type == 'x')
		return parse_pax(data, (size_t)size, x, why);
	/* GNU long name: the name, then NULs to the end; anything else is hidden. */
	x->path_len = strnlen(data, (size_t)size);
	if (!all_zero((const unsigned char *)data + x->path_len, (size_t)size - x->path_len)) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has bytes after the NUL of its GNU long "
		    "name");
		return false;
	}
	if ((x->path = strndup(data, x->path_len)) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return false;
	}
	return true;
}

static bool
carries_data(char type)
{
	return type == '0' || type == '\0';
}

/* The name the header blocks give, ustar prefix applied. */
static char *
header_name(const unsigned char *b, const struct extension *x)
{
	char *name = NULL;
	int prefix_len = (int)strnlen((const char *)b + PREFIX, PREFIX_LEN);
	int name_len = (int)strnlen((const char *)b + NAME, NAME_LEN);

	if (x->path != NULL)
		return strdup(x->path);
	if (memcmp(b + MAGIC, "ustar\0" "00", 8) == 0 && prefix_len > 0) {
		if (asprintf(&name, "%.*s/%.*s", prefix_len, (const char *)b + PREFIX,
		    name_len, (const char *)b + NAME) < 0)
			return NULL;
		return name;
	}
	return strndup((const char *)b + NAME, (size_t)name_len);
}

/* The last header block: the entry itself. */
static bool
lint_entry_block(const unsigned char *b, const struct extension *x, struct af_tar_entry *e,
    struct af_reason *why)
{
	uint64_t v, size;
	char *name, type;
	bool same;

	if (!parse_number(b + MODE, 8, &v) || !parse_number(b + UID, 8, &v) ||
	    !parse_number(b + GID, 8, &v) || !parse_number(b + MTIME, 12, &v) ||
	    !parse_number(b + SIZE, 12, &size)) {
		af_reason_set(why, AF_C_TAR_HEADER, "has a numeric field that is not an octal "
		    "number; tar readers read it differently");
		return false;
	}
	type = b[TYPEFLAG] == '\0' ? '0' : (char)b[TYPEFLAG];
	e->sparse = type == 'S';
	if (type < '0' || type > '6') {
		af_reason_set(why, AF_C_TAR_TYPE, "has typeflag '%c', which mender-artifact never "
		    "writes and tar readers treat differently", type > ' ' && type < 127 ? type :
		    '?');
		return false;
	}
	if (x->has_size && (x->size < USTAR_SIZE_LIMIT ? size != x->size :
	    size != 0 && size != x->size)) {
		af_reason_set(why, AF_C_TAR_HEADER, "has a pax size (%llu) that disagrees with its "
		    "ustar size field (%llu)", (unsigned long long)x->size,
		    (unsigned long long)size);
		return false;
	}
	if (x->has_size)
		size = x->size;
	if (!carries_data(type) && size != 0) {
		af_reason_set(why, AF_C_TAR_HEADER, "is %s with a size of %llu; tar readers differ "
		    "on whether data follows", af_tar_type_word(e), (unsigned long long)size);
		return false;
	}
	if (carries_data(type) && size != e->size) {
		af_reason_set(why, AF_C_TAR_HEADER, "has size %llu in its header but libarchive "
		    "reads %llu", (unsigned long long)size, (unsigned long long)e->size);
		return false;
	}
	if (memcmp(b + MAGIC, "ustar  \0", 8) == 0 &&
	    !all_zero(b + PREFIX, GNU_EXTRA_END - PREFIX)) {
		/* Python's tarfile reads this area as a name prefix; libarchive does not. */
		af_reason_set(why, AF_C_TAR_HEADER, "is an old-GNU header with bytes in its prefix "
		    "area; tar readers read the name differently");
		return false;
	}
	e->name_has_nul = x->path != NULL && strlen(x->path) != x->path_len;
	if (e->name_has_nul) {
		af_reason_set(why, AF_C_TAR_EXTENSION, "has a pax path with a NUL byte in it");
		return false;
	}
	if ((name = header_name(b, x)) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return false;
	}
	if (carries_data(type) && name[0] != '\0' && name[strlen(name) - 1] == '/') {
		af_reason_set(why, AF_C_TAR_TYPE, "is a regular file whose name ends in '/': "
		    "libarchive and GNU tar read a directory there, Python's tarfile a file");
		free(name);
		return false;
	}
	same = strcmp(name, e->name) == 0;
	if (!same)
		af_reason_set(why, AF_C_TAR_HEADER, "is named '%.100s' by its header but '%.100s' "
		    "by libarchive", name, e->name);
	free(name);
	if (same && type != e->type) {
		struct af_tar_entry raw = { .type = type };
		af_reason_set(why, AF_C_TAR_HEADER, "is %s to libarchive but %s by its typeflag",
		    af_tar_type_word(e), af_tar_type_word(&raw));
		return false;
	}
	return same;
}

enum af_err
af_tar_lint(const unsigned char *blocks, size_t len, struct af_tar_entry *e,
    struct af_reason *why)
{
	struct extension x = { 0 };
	size_t pos = 0, used;
	bool ok = false;

	while (len - pos >= AF_TAR_BLOCK) {
		const unsigned char *b = blocks + pos;

		if (!checksum_ok(b)) {
			af_reason_set(why, AF_C_TAR_HEADER, "has a header block at +%zu with a "
			    "wrong checksum", pos);
			goto out;
		}
		if (memcmp(b + MAGIC, "ustar\0" "00", 8) != 0 &&
		    memcmp(b + MAGIC, "ustar  \0", 8) != 0) {
			af_reason_set(why, AF_C_TAR_HEADER, "has a header without the ustar magic "
			    "(an old v7 tar); mender-artifact never writes one");
			goto out;
		}
		if (b[TYPEFLAG] != 'x' && b[TYPEFLAG] != 'L') {
			if (b[TYPEFLAG] == 'g' || b[TYPEFLAG] == 'K') {
				af_reason_set(why, AF_C_TAR_EXTENSION, "has a '%c' extension "
				    "header, which mender-artifact never writes", b[TYPEFLAG]);
				goto out;
			}
			if (len - pos != AF_TAR_BLOCK) {
				af_reason_set(why, AF_C_TAR_HEADER, "has header blocks libarchive "
				    "did not account for");
				goto out;
			}
			ok = lint_entry_block(b, &x, e, why);
			goto out;
		}
		if (!read_extension(b, len - pos, &x, &used, why))
			goto out;
		pos += used;
	}
	af_reason_set(why, AF_C_TAR_HEADER, "has header blocks that end in the middle");
out:
	free(x.path);
	if (ok)
		return AF_OK;
	return why != NULL && why->code == AF_C_NO_MEMORY ? AF_ENOMEM : AF_EFORMAT;
}
