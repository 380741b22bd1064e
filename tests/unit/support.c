#include "support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
text_has_all(const char *text, const char *fragments)
{
	char buf[512];
	char *frag, *save = NULL;

	if (fragments == NULL)
		return true;
	snprintf(buf, sizeof(buf), "%s", fragments);
	for (frag = strtok_r(buf, "|", &save); frag != NULL; frag = strtok_r(NULL, "|", &save))
		if (strstr(text, frag) == NULL)
			return false;
	return true;
}

size_t
count_problems(const struct af_problems *p, int severity, const char *where,
    const char *text)
{
	return count_coded(p, severity, AF_C_NONE, where, text);
}

size_t
count_coded(const struct af_problems *p, int severity, enum af_code code, const char *where,
    const char *text)
{
	size_t i, n = 0, count = af_problems_count(p);

	for (i = 0; i < count; i++) {
		const struct af_problem *pr = af_problems_get(p, i);
		if (severity != ANY_SEVERITY && (int)pr->severity != severity)
			continue;
		if (code != AF_C_NONE && pr->code != code)
			continue;
		if (where != NULL && strcmp(pr->where, where) != 0)
			continue;
		if (text_has_all(pr->text, text))
			n++;
	}
	return n;
}

bool
has_problem(const struct af_problems *p, int severity, const char *where, const char *text)
{
	return count_problems(p, severity, where, text) > 0;
}

const char *
problems_str(const struct af_problems *p)
{
	static char buf[16384];
	size_t i, used = 0, count = af_problems_count(p);

	buf[0] = '\0';
	for (i = 0; i < count && used < sizeof(buf) - 1; i++) {
		const struct af_problem *pr = af_problems_get(p, i);
		int n = snprintf(buf + used, sizeof(buf) - used, "  [%s %s] %s: %s\n",
		    pr->severity == AF_ERROR ? "error" :
		    pr->severity == AF_NOTE ? "note" : "warning", af_code_name(pr->code),
		    pr->where, pr->text);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (count == 0)
		snprintf(buf, sizeof(buf), "  (no problems)\n");
	return buf;
}

const char *
fake_sum(unsigned seed)
{
	static char sums[8][65];
	static unsigned next;
	char *s = sums[next++ % 8];
	uint32_t x = seed * 2654435761u + 1;
	int i;

	for (i = 0; i < 64; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		s[i] = "0123456789abcdef"[x & 15];
	}
	s[64] = '\0';
	return s;
}

char *
manifest_for(const char *const *names, size_t count)
{
	size_t i, cap = count * (64 + 2 + 256 + 1) + 1, used = 0;
	char *m = malloc(cap);

	cr_assert_not_null(m);
	m[0] = '\0';
	for (i = 0; i < count; i++)
		used += (size_t)snprintf(m + used, cap - used, "%s  %s\n", fake_sum((unsigned)i), names[i]);
	return m;
}

uint8_t *
header_tar(const char *header_info, const char *type_info, const char *meta_data, size_t *len)
{
	struct tb t;

	tb_init(&t);
	tb_add_str(&t, "header-info", header_info);
	tb_add_str(&t, "headers/0000/type-info", type_info);
	if (meta_data != NULL)
		tb_add_str(&t, "headers/0000/meta-data", meta_data);
	tb_end(&t);
	return tb_take(&t, len);
}

static const char *
suffix_of(enum af_compression comp)
{
	switch (comp) {
	case AF_COMP_GZIP: return ".tar.gz";
	case AF_COMP_XZ: return ".tar.xz";
	case AF_COMP_ZSTD: return ".tar.zst";
	case AF_COMP_NONE: break;
	}
	return ".tar";
}

void
synth_default(struct synth *s, enum af_compression comp)
{
	char header_name[32], data_name[32];
	const char *names[3];
	struct tb t;
	uint8_t *raw, *z;
	size_t len, zlen;
	char *manifest;

	memset(s, 0, sizeof(*s));
	snprintf(header_name, sizeof(header_name), "header%s", suffix_of(comp));
	snprintf(data_name, sizeof(data_name), "data/0000%s", suffix_of(comp));
	names[0] = "data/0000/" SYNTH_FILE;
	names[1] = header_name;
	names[2] = "version";
	manifest = manifest_for(names, 3);

	synth_insert(s, s->n, "version", SYNTH_VERSION, strlen(SYNTH_VERSION));
	synth_insert(s, s->n, "manifest", manifest, strlen(manifest));
	free(manifest);

	raw = header_tar(SYNTH_HEADER_INFO, SYNTH_TYPE_INFO, NULL, &len);
	z = tb_compress(comp, raw, len, &zlen);
	synth_insert(s, s->n, header_name, z, zlen);
	free(raw);
	free(z);

	tb_init(&t);
	tb_add_str(&t, SYNTH_FILE, SYNTH_FILE_DATA);
	tb_end(&t);
	raw = tb_take(&t, &len);
	z = tb_compress(comp, raw, len, &zlen);
	synth_insert(s, s->n, data_name, z, zlen);
	free(raw);
	free(z);
}

void
synth_free(struct synth *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].data);
	}
	memset(s, 0, sizeof(*s));
}

int
synth_index(const struct synth *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->m[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct synth_member *
synth_insert(struct synth *s, size_t at, const char *name, const void *data, size_t len)
{
	struct synth_member *m;

	cr_assert(s->n < SYNTH_MAX && at <= s->n);
	memmove(&s->m[at + 1], &s->m[at], (s->n - at) * sizeof(s->m[0]));
	s->n++;
	m = &s->m[at];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	m->data = malloc(len != 0 ? len : 1);
	cr_assert(m->name != NULL && m->data != NULL);
	if (len > 0)
		memcpy(m->data, data, len);
	m->len = len;
	return m;
}

void
synth_set(struct synth *s, const char *name, const void *data, size_t len)
{
	int i = synth_index(s, name);

	cr_assert(i >= 0, "synth_set: no member %s", name);
	free(s->m[i].data);
	s->m[i].data = malloc(len != 0 ? len : 1);
	cr_assert_not_null(s->m[i].data);
	if (len > 0)
		memcpy(s->m[i].data, data, len);
	s->m[i].len = len;
}

void
synth_remove(struct synth *s, const char *name)
{
	int i = synth_index(s, name);

	cr_assert(i >= 0, "synth_remove: no member %s", name);
	free(s->m[i].name);
	free(s->m[i].data);
	memmove(&s->m[i], &s->m[i + 1], (s->n - (size_t)i - 1) * sizeof(s->m[0]));
	s->n--;
}

void
synth_rename(struct synth *s, const char *from, const char *to)
{
	int i = synth_index(s, from);

	cr_assert(i >= 0, "synth_rename: no member %s", from);
	free(s->m[i].name);
	s->m[i].name = strdup(to);
	cr_assert_not_null(s->m[i].name);
}

uint8_t *
synth_build(const struct synth *s, size_t *len, struct tb_pos *offsets)
{
	struct tb t;
	size_t i;

	tb_init(&t);
	for (i = 0; i < s->n; i++) {
		const struct synth_member *m = &s->m[i];
		struct tb_entry e = { .name = m->name, .data = m->data, .len = m->len,
		    .mode = 0600, .type = m->type, .flags = m->flags, .size = m->size };
		struct tb_pos pos = tb_add_entry(&t, &e);
		if (offsets != NULL)
			offsets[i] = pos;
	}
	if (!s->no_end_blocks)
		tb_end(&t);
	return tb_take(&t, len);
}

enum af_err
open_bytes(const void *data, size_t len, struct artifact **a, struct af_reason *why,
    int *fd)
{
	char path[64];

	*fd = tb_temp_fd(data, len);
	return artifact_open(tb_fd_path(*fd, path, sizeof(path)), a, why);
}

struct artifact *
synth_open_ok(const struct synth *s)
{
	struct artifact *a = NULL;
	struct af_reason why = { 0 };
	enum af_err err;
	uint8_t *buf;
	size_t len;
	int fd;

	buf = synth_build(s, &len, NULL);
	err = open_bytes(buf, len, &a, &why, &fd);
	free(buf);
	close(fd);
	cr_assert_eq(err, AF_OK, "artifact_open failed: %s: %s", af_strerror(err), why.text);
	cr_assert_not_null(a);
	return a;
}

char test_dir[64];

void
test_dir_make(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/artifactfs-unit.XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
}

void
test_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	cr_assert_eq(system(cmd), 0);
}

struct cr_key *
one_public_key(const char *pem, size_t len, const char *what)
{
	struct af_reason why = { 0 };
	struct cr_key **keys, *k;
	size_t n = 0;

	cr_assert_eq(cr_keys_load_public(pem, len, &keys, &n, &why), AF_OK, "%s: %s", what,
	    why.text);
	cr_assert_eq(n, 1, "%s: %zu keys", what, n);
	k = keys[0];
	free(keys);
	return k;
}

struct fixture_param mender_fixtures[] = {
	{ "rootfs-gzip.mender" }, { "rootfs-rsa.mender" }, { "rootfs-ec.mender" },
	{ "rootfs-none.mender" }, { "rootfs-xz.mender" }, { "rootfs-zstd.mender" },
	{ "rootfs-v2.mender" }, { "module.mender" }, { "module-none.mender" },
	{ "module-xz.mender" }, { "module-zstd.mender" }, { "module-nofiles.mender" },
	{ "bootstrap.mender" }, { "augmented.mender" },
};
const size_t mender_fixture_count = sizeof(mender_fixtures) / sizeof(mender_fixtures[0]);
