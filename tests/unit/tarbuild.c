#include "tarbuild.h"

#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define BLOCK 512

static void *
xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "tarbuild: out of memory\n");
		abort();
	}
	return p;
}

void
tb_init(struct tb *t)
{
	memset(t, 0, sizeof(*t));
}

void
tb_free(struct tb *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

uint8_t *
tb_take(struct tb *t, size_t *len)
{
	uint8_t *b = t->buf;

	*len = t->len;
	if (b == NULL)
		b = xmalloc(1);
	memset(t, 0, sizeof(*t));
	return b;
}

static void
grow(struct tb *t, size_t more)
{
	size_t cap = t->cap;

	if (t->len + more <= cap)
		return;
	while (cap < t->len + more)
		cap = cap == 0 ? 4096 : cap * 2;
	t->buf = realloc(t->buf, cap);
	if (t->buf == NULL)
		abort();
	t->cap = cap;
}

void
tb_raw(struct tb *t, const void *data, size_t len)
{
	grow(t, len);
	if (len > 0)
		memcpy(t->buf + t->len, data, len);
	t->len += len;
}

static void
zeros(struct tb *t, size_t len)
{
	grow(t, len);
	memset(t->buf + t->len, 0, len);
	t->len += len;
}

static void
pad(struct tb *t)
{
	if (t->len % BLOCK != 0)
		zeros(t, BLOCK - t->len % BLOCK);
}

void
tb_end(struct tb *t)
{
	zeros(t, 2 * BLOCK);
}

/* Octal, zero-padded, NUL-terminated, in a field of width w. */
static void
octal(uint8_t *field, size_t w, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(w - 1), (unsigned long long)v);
	memcpy(field, tmp, w - 1);
	field[w - 1] = '\0';
}

static unsigned
block_sum(const uint8_t *b)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : b[i];
	return sum;
}

void
tb_checksum(uint8_t block[512])
{
	char tmp[16];

	snprintf(tmp, sizeof(tmp), "%06o", block_sum(block));
	memcpy(block + 148, tmp, 6);
	block[154] = '\0';
	block[155] = ' ';
}

static void
fill(uint8_t b[BLOCK], const char *name, size_t namelen, const char *prefix,
    size_t prefixlen, uint64_t size, uint32_t mode, int64_t mtime, char type,
    unsigned flags)
{
	memset(b, 0, BLOCK);
	memcpy(b, name, namelen > 100 ? 100 : namelen);
	octal(b + 100, 8, mode);
	octal(b + 108, 8, 0);
	octal(b + 116, 8, 0);
	if (flags & TB_BASE256_SIZE) {
		int i;
		b[124] = 0x80;
		for (i = 11; i >= 1; i--, size >>= 8)
			b[124 + i] = (uint8_t)(size & 0xff);
	} else {
		octal(b + 124, 12, size);
	}
	octal(b + 136, 12, (uint64_t)mtime);
	b[156] = (uint8_t)type;
	if (flags & TB_GNU_MAGIC)
		memcpy(b + 257, "ustar  \0", 8);
	else
		memcpy(b + 257, "ustar\0" "00", 8);
	if (prefix != NULL)
		memcpy(b + 345, prefix, prefixlen > 155 ? 155 : prefixlen);
	tb_checksum(b);
	if (flags & TB_BAD_CHECKSUM)
		b[148 + 5] = b[148 + 5] == '7' ? '6' : (uint8_t)(b[148 + 5] + 1);
}

void
tb_header(uint8_t block[512], const char *name, uint64_t size, uint32_t mode,
    int64_t mtime, char type)
{
	fill(block, name, strlen(name), NULL, 0, size, mode, mtime, type, 0);
}

size_t
tb_pax_record(char *out, size_t outlen, const char *key, const char *value)
{
	size_t body = 1 + strlen(key) + 1 + strlen(value) + 1;	/* " key=value\n" */
	size_t digits = 1, total;

	/* The length counts its own digits: find the fixed point. */
	for (;;) {
		char tmp[32];
		total = body + digits;
		if ((size_t)snprintf(tmp, sizeof(tmp), "%zu", total) == digits)
			break;
		digits++;
	}
	if (total + 1 > outlen)
		abort();
	snprintf(out, outlen, "%zu %s=%s\n", total, key, value);
	return total;
}

void
tb_add_ext(struct tb *t, char type, const void *data, size_t len)
{
	uint8_t b[BLOCK];
	const char *name = type == 'x' ? "PaxHeaders/x" : "././@LongLink";

	fill(b, name, strlen(name), NULL, 0, len, 0644, 0, type, 0);
	tb_raw(t, b, BLOCK);
	tb_raw(t, data, len);
	pad(t);
}

struct tb_pos
tb_add_entry(struct tb *t, const struct tb_entry *e)
{
	struct tb_pos pos;
	uint8_t b[BLOCK];
	char pax[4096];
	size_t paxlen = 0, namelen = strlen(e->name);
	const char *name = e->name, *prefix = NULL;
	size_t prefixlen = 0;
	uint64_t size = (e->flags & TB_SIZE_SET) ? e->size : e->len;
	uint64_t field_size = size;
	char type = e->type != 0 ? e->type : '0';

	pos.header_offset = t->len;
	if (e->flags & TB_GNU_LONGNAME)
		tb_add_ext(t, 'L', e->name, namelen + 1);	/* GNU tar counts the NUL */
	if (e->flags & (TB_PAX_PATH | TB_PAX_SIZE)) {
		if (e->flags & TB_PAX_PATH)
			paxlen += tb_pax_record(pax + paxlen, sizeof(pax) - paxlen, "path", e->name);
		if (e->flags & TB_PAX_SIZE) {
			char num[32];
			snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
			paxlen += tb_pax_record(pax + paxlen, sizeof(pax) - paxlen, "size", num);
			field_size = 0;
		}
		tb_add_ext(t, 'x', pax, paxlen);
	}
	if (e->flags & (TB_GNU_LONGNAME | TB_PAX_PATH)) {
		name = "truncated-stand-in-name";	/* what a reader must not use */
		namelen = strlen(name);
	} else if (e->flags & TB_PREFIX) {
		const char *slash = strrchr(e->name, '/');
		if (slash == NULL)
			abort();
		prefix = e->name;
		prefixlen = (size_t)(slash - e->name);
		name = slash + 1;
		namelen = strlen(name);
	}
	fill(b, name, namelen, prefix, prefixlen, field_size, e->mode != 0 ? e->mode : 0644,
	    e->mtime, type, e->flags);
	tb_raw(t, b, BLOCK);
	pos.data_offset = t->len;
	tb_raw(t, e->data, e->len);
	if (!(e->flags & TB_NO_PAD))
		pad(t);
	return pos;
}

struct tb_pos
tb_add(struct tb *t, const char *name, const void *data, size_t len)
{
	struct tb_entry e = { .name = name, .data = data, .len = len };

	return tb_add_entry(t, &e);
}

struct tb_pos
tb_add_str(struct tb *t, const char *name, const char *text)
{
	return tb_add(t, name, text, strlen(text));
}

/* ---- compression ---- */

static uint8_t *
gzip_buf(const void *in, size_t len, size_t *out_len)
{
	z_stream z;
	uint8_t *out;
	uLong bound;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	bound = deflateBound(&z, (uLong)len) + 64;
	out = xmalloc(bound);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static uint8_t *
xz_buf(const void *in, size_t len, size_t *out_len)
{
	size_t bound = lzma_stream_buffer_bound(len), pos = 0;
	uint8_t *out = xmalloc(bound);

	if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, in, len, out, &pos, bound) != LZMA_OK)
		abort();
	*out_len = pos;
	return out;
}

static uint8_t *
zstd_buf(const void *in, size_t len, size_t *out_len)
{
	size_t bound = ZSTD_compressBound(len), n;
	uint8_t *out = xmalloc(bound);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();

	if (cctx == NULL)
		abort();
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(cctx, out, bound, in, len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n))
		abort();
	*out_len = n;
	return out;
}

uint8_t *
tb_compress(enum af_compression comp, const void *in, size_t len, size_t *out_len)
{
	uint8_t *out;

	switch (comp) {
	case AF_COMP_GZIP: return gzip_buf(in, len, out_len);
	case AF_COMP_XZ: return xz_buf(in, len, out_len);
	case AF_COMP_ZSTD: return zstd_buf(in, len, out_len);
	case AF_COMP_NONE: break;
	}
	out = xmalloc(len);
	if (len > 0)
		memcpy(out, in, len);
	*out_len = len;
	return out;
}

uint8_t *
tb_pattern(size_t len, uint32_t seed)
{
	uint8_t *b = xmalloc(len);
	uint32_t x = seed != 0 ? seed : 1;
	size_t i = 0;

	while (i < len) {
		size_t block = i / 4096;
		if (block % 3 == 0) {		/* random: barely compressible */
			for (; i < len && i / 4096 == block; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				b[i] = (uint8_t)x;
			}
		} else {			/* text that names its offset */
			char line[48];
			int n = snprintf(line, sizeof(line), "offset %zu seed %u\n", i, seed);
			size_t k;
			for (k = 0; k < (size_t)n && i < len; k++, i++)
				b[i] = (uint8_t)line[k];
		}
	}
	return b;
}

/* ---- files ---- */

int
tb_temp_fd(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	const uint8_t *p = data;
	int fd;

	snprintf(path, sizeof(path), "%s/afunit-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		perror("mkstemp");
		abort();
	}
	unlink(path);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("write");
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

const char *
tb_fd_path(int fd, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "/proc/self/fd/%d", fd);
	return buf;
}

const char *
fixture_path(const char *name, char *buf, size_t buflen)
{
	const char *dir = getenv("FIXTURES");
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		return NULL;
	snprintf(buf, buflen, "%s/%s", dir, name);
	if (stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	return buf;
}

uint8_t *
run_capture(const char *cmd, size_t *len)
{
	FILE *f = popen(cmd, "r");
	uint8_t *buf = NULL;
	size_t cap = 0, n;
	int status;

	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*len + 65536 + 1 > cap) {
			cap = cap == 0 ? 131072 : cap * 2;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0)
			break;
	}
	status = pclose(f);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(buf);
		*len = 0;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

const char *
decompress_cmd(const char *member)
{
	size_t n = strlen(member);

	if (n > 3 && strcmp(member + n - 3, ".gz") == 0)
		return "gzip -dc";
	if (n > 3 && strcmp(member + n - 3, ".xz") == 0)
		return "xz -dc";
	if (n > 4 && strcmp(member + n - 4, ".zst") == 0)
		return "zstd -dcq";
	return "cat";
}

uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}
