/*
 * artifact_open and what it indexes: every fixture written by mender-artifact
 * opens without errors and agrees with GNU tar about members, offsets, bytes
 * and payload files; hopeless inputs are refused with one line saying why.text;
 * everything else wrong is recorded as a problem naming the member.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "support.h"

#define MiB (1u << 20)

/* A problem of code (AF_C_NONE: any) at where whose text gives text's
 * fragments (the names and numbers it must give; NULL for any). */
static void
expect_problem(const struct artifact *a, int severity, const char *where, enum af_code code,
    const char *text)
{
	const struct af_problems *p = artifact_problems(a);

	cr_assert(count_coded(p, severity, code, where, text) > 0, "want a %s problem at %s "
	    "saying \"%s\"; got:\n%s", af_code_name(code), where != NULL ? where : "(any)",
	    text != NULL ? text : "", problems_str(p));
}

static void
expect_no_errors(const struct artifact *a)
{
	cr_assert_eq(af_problems_errors(artifact_problems(a)), 0, "errors:\n%s",
	    problems_str(artifact_problems(a)));
}

static void
expect_no_problems(const struct artifact *a)
{
	cr_assert_eq(af_problems_count(artifact_problems(a)), 0, "problems:\n%s",
	    problems_str(artifact_problems(a)));
}

/* ==== fixtures written by mender-artifact (support.h: mender_fixtures) ==== */

static struct artifact *
open_fixture(const char *name, char *path, size_t pathlen)
{
	struct artifact *a = NULL;
	struct af_reason why = { 0 };
	enum af_err err;

	if (fixture_path(name, path, pathlen) == NULL)
		cr_skip_test("fixture %s is absent", name);
	err = artifact_open(path, &a, &why);
	cr_assert_eq(err, AF_OK, "%s: %s: %s", name, af_strerror(err), why.text);
	return a;
}

/* The kind a member name has, by the rules of spec §2.2, worked out here. */
static enum af_member_kind
kind_of(const char *name, unsigned *index)
{
	size_t n = strlen(name);
	*index = 0;
	if (strcmp(name, "version") == 0) return AF_MEMBER_VERSION;
	if (strcmp(name, "manifest") == 0) return AF_MEMBER_MANIFEST;
	if (strcmp(name, "manifest.sig") == 0) return AF_MEMBER_SIGNATURE;
	if (strcmp(name, "manifest-augment") == 0) return AF_MEMBER_MANIFEST_AUGMENT;
	if (strncmp(name, "header-augment.tar", 18) == 0) return AF_MEMBER_HEADER_AUGMENT;
	if (strncmp(name, "header.tar", 10) == 0) return AF_MEMBER_HEADER;
	if (n >= 13 && strncmp(name, "data/", 5) == 0 && strncmp(name + 9, ".tar", 4) == 0) {
		*index = (unsigned)atoi(name + 5);
		return AF_MEMBER_DATA;
	}
	return AF_MEMBER_UNKNOWN;
}

ParameterizedTestParameters(artifact, fixture_opens_clean)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

ParameterizedTest(struct fixture_param *param, artifact, fixture_opens_clean)
{
	char path[4096], cmd[8192];
	struct artifact *a = open_fixture(param->name, path, sizeof(path));
	uint8_t *vtext;
	size_t vlen;
	cJSON *v;

	expect_no_errors(a);
	cr_assert_str_eq(artifact_path(a), path);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' version", path);
	vtext = run_capture(cmd, &vlen);
	cr_assert_not_null(vtext);
	v = cJSON_Parse((const char *)vtext);
	cr_assert_not_null(v);
	cr_assert_eq(artifact_format_version(a), cJSON_GetObjectItem(v, "version")->valueint);
	cr_assert_not_null(artifact_header(a, false));
	cr_assert_not_null(artifact_manifest(a, false));
	cr_assert(artifact_manifest(a, false)->canonical);
	{
		struct stat st;
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(artifact_stat(a)->st_size, st.st_size);
		cr_assert_eq(artifact_stat(a)->st_ino, st.st_ino);
	}
	cJSON_Delete(v);
	free(vtext);
	artifact_close(a);
}

ParameterizedTestParameters(artifact, fixture_members_match_tar)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

ParameterizedTest(struct fixture_param *param, artifact, fixture_members_match_tar)
{
	char path[4096], cmd[8192];
	struct artifact *a = open_fixture(param->name, path, sizeof(path));
	uint8_t *list, *buf = malloc(MiB);
	size_t listlen, i = 0;
	char *line, *save = NULL;

	cr_assert_not_null(buf);
	snprintf(cmd, sizeof(cmd), "tar -tf '%s'", path);
	list = run_capture(cmd, &listlen);
	cr_assert_not_null(list);
	for (line = strtok_r((char *)list, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		const struct af_member *m = artifact_member_at(a, i);
		unsigned index;
		enum af_member_kind kind = kind_of(line, &index);
		uint8_t *want;
		size_t wantlen, got, off = 0;

		cr_assert_not_null(m, "member %zu (%s) missing", i, line);
		cr_assert_str_eq(m->name, line);
		cr_assert_eq(m->kind, kind, "%s: kind %d, want %d", line, m->kind, kind);
		cr_assert_eq(m->index, index, "%s", line);
		cr_assert(m->shown, "%s", line);
		cr_assert_not(m->truncated, "%s", line);
		cr_assert_eq(artifact_member(a, kind, index), m, "%s", line);
		/* a short name needs no extension records: header, then data */
		cr_assert_eq(m->data_offset, m->header_offset + 512, "%s", line);
		cr_assert_eq(m->header_offset % 512, 0);
		if (kind == AF_MEMBER_HEADER || kind == AF_MEMBER_DATA ||
		    kind == AF_MEMBER_HEADER_AUGMENT) {
			enum af_compression comp;
			cr_assert(af_compression_from_name(line, &comp, NULL));
			cr_assert_eq(m->comp, comp, "%s", line);
		}

		snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s'", path, line);
		want = run_capture(cmd, &wantlen);
		cr_assert_not_null(want, "%s", cmd);
		cr_assert_eq(m->size, wantlen, "%s: size %llu, tar says %zu", line,
		    (unsigned long long)m->size, wantlen);
		while (off < wantlen) {
			cr_assert_eq(artifact_member_pread(a, m, buf, MiB, off, &got), AF_OK);
			cr_assert_eq(got, wantlen - off < MiB ? wantlen - off : MiB);
			cr_assert_eq(memcmp(buf, want + off, got), 0, "%s differs near %zu", line, off);
			off += got;
		}
		cr_assert_eq(artifact_member_pread(a, m, buf, MiB, m->size, &got), AF_OK);
		cr_assert_eq(got, 0);
		if (kind <= AF_MEMBER_MANIFEST_AUGMENT) {	/* kept in memory */
			size_t blen = 0;
			const uint8_t *bytes = artifact_member_bytes(a, kind, &blen);
			cr_assert_not_null(bytes, "%s", line);
			cr_assert_eq(blen, wantlen);
			cr_assert_eq(memcmp(bytes, want, blen), 0);
		}
		free(want);
	}
	cr_assert_eq(artifact_member_count(a), i);
	cr_assert_null(artifact_member_at(a, i));
	free(list);
	free(buf);
	artifact_close(a);
}

/* The data/0000/<name> lines of a manifest text, newline-separated, sorted by caller. */
static size_t
manifest_files(const uint8_t *text, unsigned index, char names[][128], size_t max)
{
	char prefix[16];
	const char *line = (const char *)text;
	size_t n = 0;

	snprintf(prefix, sizeof(prefix), "data/%04u/", index);
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (len > 66 && strncmp(line + 66, prefix, 10) == 0 && n < max)
			snprintf(names[n++], 128, "%.*s", (int)(len - 76), line + 76);
		line = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

ParameterizedTestParameters(artifact, fixture_payload_files)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

ParameterizedTest(struct fixture_param *param, artifact, fixture_payload_files)
{
	char path[4096], cmd[8192], listed[64][128];
	struct artifact *a = open_fixture(param->name, path, sizeof(path));
	size_t i, payloads = 0, blen;
	const uint8_t *manifest = artifact_member_bytes(a, AF_MEMBER_MANIFEST, &blen);
	const uint8_t *augment = artifact_member_bytes(a, AF_MEMBER_MANIFEST_AUGMENT, &blen);
	uint8_t *buf = malloc(100000);

	cr_assert_not_null(manifest);
	cr_assert_not_null(buf);
	for (i = 0; i < artifact_member_count(a); i++) {
		const struct af_member *m = artifact_member_at(a, i);
		struct af_payload *pl;
		uint8_t *list;
		size_t listlen, files = 0, nlisted, k;
		char *line, *save = NULL;

		if (m->kind != AF_MEMBER_DATA)
			continue;
		payloads++;
		pl = artifact_payload(a, m->index);
		cr_assert_not_null(pl, "%s has no payload view", m->name);
		snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -t", path, m->name,
		    decompress_cmd(m->name));
		list = run_capture(cmd, &listlen);
		cr_assert_not_null(list, "%s", cmd);
		nlisted = manifest_files(manifest, m->index, listed, 64);
		if (augment != NULL)	/* augment files go in the same data member */
			nlisted += manifest_files(augment, m->index, listed + nlisted, 64 - nlisted);
		for (line = strtok_r((char *)list, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save), files++) {
			const struct af_payload_file *f = NULL;
			uint8_t *want;
			size_t wantlen, off = 0, got;
			struct af_reason why = { 0 };
			bool in_manifest = false;

			cr_assert_eq(af_payload_find(pl, line, &f), AF_OK, "%s: %s", m->name, line);
			cr_assert_str_eq(f->name, line);
			snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -xO '%s'", path,
			    m->name, decompress_cmd(m->name), line);
			want = run_capture(cmd, &wantlen);
			cr_assert_not_null(want, "%s", cmd);
			cr_assert_eq(f->size, wantlen, "%s: size %llu, tar says %zu", line,
			    (unsigned long long)f->size, wantlen);
			while (off < wantlen) {
				cr_assert_eq(af_payload_read(pl, f, buf, 100000, off, &got, &why),
				    AF_OK, "%s", why.text);
				cr_assert_gt(got, 0);
				cr_assert_eq(memcmp(buf, want + off, got), 0, "%s differs at %zu", line, off);
				off += got;
			}
			cr_assert_eq(af_payload_read(pl, f, buf, 10, f->size, &got, &why),
			    AF_OK);
			cr_assert_eq(got, 0);
			for (k = 0; k < nlisted; k++)
				in_manifest |= strcmp(listed[k], line) == 0;
			cr_assert(in_manifest, "%s is not in the manifest", line);
			free(want);
		}
		cr_assert_eq(files, nlisted, "%s: %zu files, manifest lists %zu", m->name, files,
		    nlisted);
		cr_assert_eq(af_payload_scan_all(pl), AF_OK);
		cr_assert_eq(af_payload_count(pl), files);
		{
			const struct af_payload_file *none;
			cr_assert_eq(af_payload_find(pl, "no-such-file", &none), AF_ENOENT);
		}
		free(list);
	}
	cr_assert_geq(payloads, 1, "no data member");
	cr_assert_null(artifact_payload(a, 1));
	expect_no_errors(a);	/* scanning found nothing wrong either */
	free(buf);
	artifact_close(a);
}

ParameterizedTestParameters(artifact, fixture_header_info)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

ParameterizedTest(struct fixture_param *param, artifact, fixture_header_info)
{
	char path[4096], cmd[8192];
	struct artifact *a = open_fixture(param->name, path, sizeof(path));
	const struct af_member *hm = artifact_member(a, AF_MEMBER_HEADER, 0);
	const struct af_header *h = artifact_header(a, false);
	const struct af_header_file *f;
	uint8_t *info;
	size_t len;

	cr_assert_not_null(hm);
	cr_assert_not_null(h);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -xO header-info", path,
	    hm->name, decompress_cmd(hm->name));
	info = run_capture(cmd, &len);
	cr_assert_not_null(info, "%s", cmd);
	f = af_header_find(h, "header-info");
	cr_assert_not_null(f);
	cr_assert_eq(f->size, len);
	cr_assert_eq(memcmp(f->data, info, len), 0);
	cr_assert_not_null(h->artifact_name);
	cr_assert(strstr((const char *)info, h->artifact_name) != NULL);
	cr_assert_eq((artifact_header(a, true) != NULL),
	    (artifact_member(a, AF_MEMBER_HEADER_AUGMENT, 0) != NULL));
	free(info);
	artifact_close(a);
}

Test(artifact, module_fixture_details)
{
	char path[4096];
	struct artifact *a = open_fixture("module.mender", path, sizeof(path));
	const struct af_header *h = artifact_header(a, false);
	struct af_payload *pl = artifact_payload(a, 0);
	const struct af_payload_file *f;
	size_t i, scripts = 0;

	cr_assert(h->has_meta_data);
	for (i = 0; i < h->count; i++)
		scripts += strncmp(h->files[i].path, "scripts/", 8) == 0;
	cr_assert_geq(scripts, 1, "the module fixture has a state script");
	cr_assert_not_null(pl);
	cr_assert_eq(af_payload_find(pl, "empty.txt", &f), AF_OK);
	cr_assert_eq(f->size, 0);
	cr_assert_eq(af_payload_find(pl, "file1.txt", &f), AF_OK);
	cr_assert_eq(af_payload_find(pl, "file2.bin", &f), AF_OK);
	artifact_close(a);
}

/* ==== fatal refusals ==== */

static void
expect_refused(const void *data, size_t len, enum af_code code, const char *why_has)
{
	struct artifact *a = (struct artifact *)1;
	struct af_reason why = { 0 };
	enum af_err err;
	int fd;

	err = open_bytes(data, len, &a, &why, &fd);
	close(fd);
	cr_assert_neq(err, AF_OK, "opened; want a refusal %s", af_code_name(code));
	cr_assert_null(a);
	cr_assert(why.text[0] != '\0', "no reason given");
	cr_assert_null(strchr(why.text, '\n'), "more than one line: %s", why.text);
	cr_assert_eq(why.code, code, "code %s, want %s: %s", af_code_name(why.code),
	    af_code_name(code), why.text);
	if (why_has != NULL)
		cr_assert(strstr(why.text, why_has) != NULL, "why: \"%s\", want \"%s\"", why.text,
		    why_has);
}

Test(refuse, empty_file)
{
	expect_refused("", 0, AF_C_NOT_ARTIFACT, NULL);
}

Test(refuse, not_a_tar)
{
	char text[5000];
	size_t i;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)("This is a README, not an artifact.\n"[i % 35]);
	expect_refused(text, sizeof(text), AF_C_NOT_ARTIFACT, NULL);
}

Test(refuse, empty_tar)
{
	uint8_t zeros[10240] = { 0 };

	expect_refused(zeros, sizeof(zeros), AF_C_NOT_ARTIFACT, NULL);
}

Test(refuse, compressed_artifact)
{
	static const struct {
		enum af_compression comp;
		const char *word;
	} cases[] = { { AF_COMP_GZIP, "gzip" }, { AF_COMP_XZ, "xz" }, { AF_COMP_ZSTD, "zstd" } };
	struct synth s;
	uint8_t *raw, *z;
	size_t len, zlen, i;

	synth_default(&s, AF_COMP_GZIP);
	raw = synth_build(&s, &len, NULL);
	for (i = 0; i < 3; i++) {
		z = tb_compress(cases[i].comp, raw, len, &zlen);
		expect_refused(z, zlen, AF_C_NOT_ARTIFACT, cases[i].word);
		free(z);
	}
	free(raw);
	synth_free(&s);
}

Test(refuse, first_member_not_version)
{
	struct synth s;
	uint8_t *raw;
	size_t len;

	synth_default(&s, AF_COMP_GZIP);
	synth_remove(&s, "version");
	raw = synth_build(&s, &len, NULL);
	expect_refused(raw, len, AF_C_NOT_ARTIFACT, "'manifest'");
	free(raw);
	synth_free(&s);
}

Test(refuse, cut_inside_the_header)
{
	struct synth s;
	struct tb_pos pos[SYNTH_MAX];
	uint8_t *raw;
	size_t len;
	int h;

	synth_default(&s, AF_COMP_GZIP);
	raw = synth_build(&s, &len, pos);
	h = synth_index(&s, "header.tar.gz");
	expect_refused(raw, (size_t)pos[h].data_offset + s.m[h].len / 2, AF_C_TRUNCATED,
	    "header.tar.gz");
	/* and cut inside its tar header block */
	expect_refused(raw, (size_t)pos[h].header_offset + 100, AF_C_DAMAGED, "cut short");
	free(raw);
	synth_free(&s);
}

Test(refuse, no_header_member)
{
	struct synth s;
	uint8_t *raw;
	size_t len;

	synth_default(&s, AF_COMP_GZIP);
	synth_remove(&s, "header.tar.gz");
	synth_remove(&s, "data/0000.tar.gz");
	raw = synth_build(&s, &len, NULL);
	expect_refused(raw, len, AF_C_MISSING, "header.tar");
	free(raw);
	synth_free(&s);
}

Test(refuse, not_a_regular_file_or_missing)
{
	struct artifact *a = NULL;
	struct af_reason why = { 0 };

	cr_assert_neq(artifact_open("/", &a, &why), AF_OK);
	cr_assert_null(a);
	cr_assert_eq(why.code, AF_C_NOT_ARTIFACT, "%s: %s", af_code_name(why.code), why.text);
	why.text[0] = '\0';
	cr_assert_eq(artifact_open("/nonexistent/x.mender", &a, &why), AF_EIO);
	cr_assert_null(a);
	cr_assert_eq(why.code, AF_C_IO, "%s: %s", af_code_name(why.code), why.text);
	cr_assert(why.text[0] != '\0');
}

/* The reason is one whole line with a code, whatever was in it before. */
Test(refuse, empty_file_code)
{
	struct artifact *a = NULL;
	struct af_reason why;
	int fd;

	memset(&why, 'x', sizeof(why));
	cr_assert_eq(open_bytes("", 0, &a, &why, &fd), AF_EFORMAT);
	close(fd);
	cr_assert_eq(why.code, AF_C_NOT_ARTIFACT, "%s", af_code_name(why.code));
	cr_assert_str_eq(why.text, "is empty; expected a Mender artifact (.mender)");
}

/* ==== synthetic artifacts: recorded problems ==== */

struct comp_param {
	enum af_compression comp;
};

static struct comp_param comps[] = {
	{ AF_COMP_NONE }, { AF_COMP_GZIP }, { AF_COMP_XZ }, { AF_COMP_ZSTD },
};

ParameterizedTestParameters(synth, baseline_is_clean)
{
	return cr_make_param_array(struct comp_param, comps, 4);
}

/* The builder makes a valid artifact: every later problem is the test's doing. */
ParameterizedTest(struct comp_param *p, synth, baseline_is_clean)
{
	struct tb_pos pos[SYNTH_MAX];
	struct artifact *a;
	struct synth s;
	const struct af_payload_file *f;
	uint8_t *raw, buf[64];
	size_t len, i, got;
	struct af_reason why = { 0 };

	synth_default(&s, p->comp);
	raw = synth_build(&s, &len, pos);
	free(raw);
	a = synth_open_ok(&s);
	expect_no_problems(a);
	cr_assert_eq(artifact_member_count(a), s.n);
	for (i = 0; i < s.n; i++) {
		const struct af_member *m = artifact_member_at(a, i);
		cr_assert_str_eq(m->name, s.m[i].name);
		cr_assert_eq(m->header_offset, pos[i].header_offset);
		cr_assert_eq(m->data_offset, pos[i].data_offset);
		cr_assert_eq(m->size, s.m[i].len);
		cr_assert_eq(m->mode, 0600);
	}
	cr_assert_str_eq(artifact_header(a, false)->artifact_name, SYNTH_NAME);
	cr_assert_eq(af_payload_find(artifact_payload(a, 0), SYNTH_FILE, &f), AF_OK);
	cr_assert_eq(f->size, strlen(SYNTH_FILE_DATA));
	cr_assert_eq(af_payload_read(artifact_payload(a, 0), f, buf, sizeof(buf), 0, &got, &why),
	    AF_OK, "%s", why.text);
	cr_assert_eq(got, strlen(SYNTH_FILE_DATA));
	cr_assert_eq(memcmp(buf, SYNTH_FILE_DATA, got), 0);
	expect_no_problems(a);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, mixed_compression_accepted)
{
	struct synth s, none;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_default(&none, AF_COMP_NONE);
	synth_remove(&s, "data/0000.tar.gz");
	synth_insert(&s, s.n, "data/0000.tar", none.m[3].data, none.m[3].len);
	a = synth_open_ok(&s);
	expect_no_problems(a);
	cr_assert_eq(artifact_member(a, AF_MEMBER_DATA, 0)->comp, AF_COMP_NONE);
	artifact_close(a);
	synth_free(&s);
	synth_free(&none);
}

Test(synth, missing_end_blocks_warned_and_trailing_garbage_refused)
{
	struct synth s;
	struct artifact *a;
	struct tb t;
	uint8_t *raw, *more;
	size_t len, morelen;
	struct af_reason why = { 0 };
	int fd;

	synth_default(&s, AF_COMP_GZIP);
	s.no_end_blocks = true;
	a = synth_open_ok(&s);
	expect_problem(a, AF_WARNING, "artifact", AF_C_TAR_END, NULL);
	cr_assert_eq(artifact_member_count(a), 4);
	artifact_close(a);

	s.no_end_blocks = false;
	raw = synth_build(&s, &len, NULL);
	tb_init(&t);
	tb_raw(&t, raw, len);
	tb_raw(&t, "garbage after the end of the archive", 36);
	more = tb_take(&t, &morelen);
	cr_assert_eq(open_bytes(more, morelen, &a, &why, &fd), AF_OK, "%s", why.text);
	close(fd);
	/* nothing signs those bytes */
	expect_problem(a, AF_ERROR, "artifact", AF_C_TRAILING_BYTES, "36 bytes");
	cr_assert_eq(artifact_member_count(a), 4);
	artifact_close(a);
	free(raw);
	free(more);
	synth_free(&s);
}

Test(synth, gnu_and_pax_outer_tar)
{
	struct tb_pos pos[SYNTH_MAX];
	struct synth s;
	struct artifact *a;
	uint8_t *raw;
	size_t len, i;

	synth_default(&s, AF_COMP_GZIP);
	s.m[1].flags = TB_GNU_LONGNAME;				/* manifest */
	s.m[2].flags = TB_PAX_PATH;				/* header */
	s.m[3].flags = TB_BASE256_SIZE;				/* data */
	raw = synth_build(&s, &len, pos);
	free(raw);
	a = synth_open_ok(&s);
	expect_no_problems(a);
	for (i = 0; i < s.n; i++) {
		const struct af_member *m = artifact_member_at(a, i);
		cr_assert_str_eq(m->name, s.m[i].name);
		cr_assert_eq(m->header_offset, pos[i].header_offset, "%s", m->name);
		cr_assert_eq(m->data_offset, pos[i].data_offset, "%s", m->name);
		cr_assert_eq(m->size, s.m[i].len, "%s", m->name);
	}
	cr_assert_gt(artifact_member_at(a, 1)->data_offset,
	    artifact_member_at(a, 1)->header_offset + 512);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, duplicate_data_member)
{
	struct tb_pos pos[SYNTH_MAX];
	struct synth s;
	struct artifact *a;
	uint8_t *raw;
	size_t len;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, s.n, "data/0000.tar.gz", s.m[3].data, s.m[3].len);
	raw = synth_build(&s, &len, pos);
	free(raw);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "data/0000.tar.gz", AF_C_DUPLICATE, NULL);
	/* the first one is the one shown */
	cr_assert_eq(artifact_member(a, AF_MEMBER_DATA, 0)->data_offset, pos[3].data_offset);
	cr_assert(artifact_member_at(a, 3)->shown);
	cr_assert_not(artifact_member_at(a, 4)->shown);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, duplicate_manifest)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, 2, "manifest", s.m[1].data, s.m[1].len);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_DUPLICATE, NULL);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, wrong_order)
{
	static const struct {
		const char *move;
		size_t to;
		const char *where;
	} cases[] = {
		{ "header.tar.gz", 1, "manifest" },	/* header before manifest */
		{ "data/0000.tar.gz", 2, "data/0000.tar.gz" },	/* data before header */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct synth s;
		struct artifact *a;
		int from;
		struct synth_member tmp;

		synth_default(&s, AF_COMP_GZIP);
		from = synth_index(&s, cases[i].move);
		tmp = s.m[from];
		memmove(&s.m[from], &s.m[from + 1], (s.n - (size_t)from - 1) * sizeof(tmp));
		memmove(&s.m[cases[i].to + 1], &s.m[cases[i].to], (s.n - 1 - cases[i].to) * sizeof(tmp));
		s.m[cases[i].to] = tmp;
		a = synth_open_ok(&s);
		expect_problem(a, AF_ERROR, cases[i].where, AF_C_ORDER, NULL);
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, signature_after_header)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, 3, "manifest.sig", "c2lnbmF0dXJl", 12);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest.sig", AF_C_ORDER, "header.tar");
	artifact_close(a);
	synth_free(&s);
}

Test(synth, signature_in_place_is_fine)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, 2, "manifest.sig", "c2lnbmF0dXJl", 12);
	a = synth_open_ok(&s);
	expect_no_problems(a);
	cr_assert_not_null(artifact_member(a, AF_MEMBER_SIGNATURE, 0));
	artifact_close(a);
	synth_free(&s);
}

Test(synth, version_x)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_rename(&s, "version", "versionX");
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "versionX", AF_C_BAD_NAME, "'version'");
	cr_assert_eq(artifact_member_at(a, 0)->kind, AF_MEMBER_VERSION);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, unknown_member)
{
	static const char *const names[] = { "extra", "data/extra", "data/extra.tar.gz",
	    "header.tar.bz2", "data/0000.zip" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct synth s;
		struct artifact *a;

		synth_default(&s, AF_COMP_GZIP);
		synth_insert(&s, 3, names[i], "x", 1);
		a = synth_open_ok(&s);
		expect_problem(a, AF_ERROR, names[i], AF_C_UNKNOWN, NULL);
		cr_assert_eq(artifact_member_at(a, 3)->kind, AF_MEMBER_UNKNOWN);
		cr_assert_not(artifact_member_at(a, 3)->shown);
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, data_index_not_four_digits)
{
	static const char *const names[] = { "data/0.tar.gz", "data/00000.tar.gz", "data/000.tar.gz" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct synth s;
		struct artifact *a;

		synth_default(&s, AF_COMP_GZIP);
		synth_rename(&s, "data/0000.tar.gz", names[i]);
		a = synth_open_ok(&s);
		expect_problem(a, AF_ERROR, names[i], AF_C_BAD_NAME, NULL);
		/* still payload 0: what Atoi("0") gives mender-artifact */
		cr_assert_eq(artifact_member(a, AF_MEMBER_DATA, 0), artifact_member_at(a, 3));
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, symlink_directory_and_sparse_members)
{
	static const struct {
		const char *name;
		char type;
		const char *word;
	} cases[] = {
		{ "data/0001.tar.gz", '2', "symbolic link" },
		{ "data/", '5', "directory" },
		{ "header-augment.tar.gz", '1', "hard link" },
		{ "data/0002.tar.gz", '6', "FIFO" },
		{ "data/0003.tar.gz", 'S', "sparse" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct synth s;
		struct artifact *a;
		struct synth_member *m;

		synth_default(&s, AF_COMP_GZIP);
		m = synth_insert(&s, s.n, cases[i].name, "", 0);
		m->type = cases[i].type;
		a = synth_open_ok(&s);
		if (cases[i].type == 'S') {	/* the tar lint refuses it before the rules */
			expect_problem(a, AF_ERROR, "artifact", AF_C_TAR_TYPE, "'S'");
			cr_assert_eq(artifact_member_count(a), 4);
		} else {
			expect_problem(a, AF_ERROR, cases[i].name, AF_C_TAR_TYPE, cases[i].word);
			cr_assert_not(artifact_member_at(a, 4)->shown);
		}
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, unsafe_member_names)
{
	static const char *const names[] = { "data/../../etc/passwd", "../version", "/manifest",
	    "data//0000.tar.gz" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct synth s;
		struct artifact *a;
		const struct af_problems *p;
		size_t k;
		bool named = false;

		synth_default(&s, AF_COMP_GZIP);
		synth_insert(&s, s.n, names[i], "x", 1);
		a = synth_open_ok(&s);
		p = artifact_problems(a);
		cr_assert_eq(af_problems_errors(p), 1, "%s:\n%s", names[i], problems_str(p));
		for (k = 0; k < af_problems_count(p); k++) {
			const struct af_problem *pr = af_problems_get(p, k);
			named |= strcmp(pr->where, names[i]) == 0 || strstr(pr->text, names[i]) != NULL;
		}
		cr_assert(named, "the problem does not name %s:\n%s", names[i], problems_str(p));
		cr_assert_not(artifact_member_at(a, 4)->shown);
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, dotdot_member_says_so)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, s.n, "data/../../etc/passwd", "x", 1);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, NULL, AF_C_UNSAFE_PATH, NULL);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, oversized_manifest)
{
	struct synth s;
	struct artifact *a;
	size_t n = MiB + 1, blen;
	char *big = malloc(n);
	char frag[64];

	cr_assert_not_null(big);
	memset(big, '\n', n);
	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "manifest", big, n);
	a = synth_open_ok(&s);
	snprintf(frag, sizeof(frag), "%zu bytes", n);
	expect_problem(a, AF_ERROR, "manifest", AF_C_TOO_BIG, frag);
	cr_assert_null(artifact_manifest(a, false));
	cr_assert_null(artifact_member_bytes(a, AF_MEMBER_MANIFEST, &blen));
	cr_assert_eq(artifact_member(a, AF_MEMBER_MANIFEST, 0)->size, n);
	artifact_close(a);
	free(big);
	synth_free(&s);
}

Test(synth, oversized_version_and_signature)
{
	struct synth s;
	struct artifact *a;
	char *big = malloc(9000);

	cr_assert_not_null(big);
	memset(big, ' ', 9000);
	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "version", big, 5000);
	synth_insert(&s, 2, "manifest.sig", big, 9000);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "version", AF_C_TOO_BIG, NULL);
	expect_problem(a, AF_ERROR, "manifest.sig", AF_C_TOO_BIG, NULL);
	artifact_close(a);
	free(big);
	synth_free(&s);
}

static struct synth
big_payload_synth(size_t payload_len, uint8_t **payload)
{
	struct synth s;
	struct tb t;
	uint8_t *raw, *z;
	size_t len, zlen;

	*payload = tb_pattern(payload_len, 77);
	synth_default(&s, AF_COMP_GZIP);
	tb_init(&t);
	tb_add(&t, SYNTH_FILE, *payload, payload_len);
	tb_end(&t);
	raw = tb_take(&t, &len);
	z = tb_compress(AF_COMP_GZIP, raw, len, &zlen);
	synth_set(&s, "data/0000.tar.gz", z, zlen);
	free(raw);
	free(z);
	return s;
}

Test(synth, file_cut_inside_data_member)
{
	struct tb_pos pos[SYNTH_MAX];
	struct artifact *a;
	uint8_t *raw, *payload, *buf = malloc(MiB);
	size_t len, cut, got;
	const struct af_member *m;
	struct af_payload *pl;
	const struct af_payload_file *f = NULL;
	struct synth s = big_payload_synth(3 * MiB, &payload);
	struct af_reason why = { 0 };
	char frag[96];
	enum af_err err;
	int fd;

	raw = synth_build(&s, &len, pos);
	cut = (size_t)pos[3].data_offset + s.m[3].len / 2;
	cr_assert_eq(open_bytes(raw, cut, &a, &why, &fd), AF_OK, "%s", why.text);
	close(fd);
	m = artifact_member(a, AF_MEMBER_DATA, 0);
	cr_assert_not_null(m);
	cr_assert(m->truncated);
	snprintf(frag, sizeof(frag), "%zu bytes|holds %zu", s.m[3].len,
	    cut - (size_t)pos[3].data_offset);
	expect_problem(a, AF_ERROR, "data/0000.tar.gz", AF_C_TRUNCATED, frag);
	/* the raw bytes that are there read; then a short read, no error */
	cr_assert_eq(artifact_member_pread(a, m, buf, MiB, 0, &got), AF_OK);
	cr_assert_eq(got, s.m[3].len / 2 < MiB ? s.m[3].len / 2 : MiB);
	/* the payload: the file is found or not, but reading it fails cleanly */
	pl = artifact_payload(a, 0);
	cr_assert_not_null(pl);
	err = af_payload_find(pl, SYNTH_FILE, &f);
	if (err == AF_OK) {
		uint64_t off = 0;
		do {
			err = af_payload_read(pl, f, buf, MiB, off, &got, &why);
			off += got;
		} while (err == AF_OK && got > 0);
		cr_assert_eq(err, AF_ETRUNC, "%s", af_strerror(err));
		cr_assert(why.text[0] != '\0');
	}
	cr_assert_neq(af_payload_scan_all(pl), AF_OK);
	/* the scan names the compressed member that ends early */
	expect_problem(a, AF_ERROR, "data/0000.tar.gz", AF_C_TRUNCATED, NULL);
	artifact_close(a);
	free(raw);
	free(buf);
	free(payload);
	synth_free(&s);
}

Test(synth, size_field_past_eof)
{
	struct synth s;
	struct artifact *a;
	const struct af_member *m;
	char frag[96];

	synth_default(&s, AF_COMP_GZIP);
	s.m[3].flags = TB_SIZE_SET;
	s.m[3].size = s.m[3].len + 5000;	/* the header promises more than follows */
	s.no_end_blocks = true;
	a = synth_open_ok(&s);
	m = artifact_member(a, AF_MEMBER_DATA, 0);
	cr_assert_not_null(m);
	cr_assert(m->truncated);
	cr_assert_eq(m->size, s.m[3].len + 5000);
	snprintf(frag, sizeof(frag), "%zu bytes", s.m[3].len + 5000);
	expect_problem(a, AF_ERROR, "data/0000.tar.gz", AF_C_TRUNCATED, frag);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, huge_size_field_no_crash)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	s.m[3].flags = TB_SIZE_SET | TB_BASE256_SIZE;
	s.m[3].size = UINT64_MAX - 4096;
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, NULL, AF_C_NONE, NULL);
	cr_assert_gt(af_problems_errors(artifact_problems(a)), 0);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, outer_tar_damaged_later)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	s.m[3].flags = TB_BAD_CHECKSUM;
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "artifact", AF_C_DAMAGED, "header.tar.gz");
	cr_assert_eq(artifact_member_count(a), 3);
	artifact_close(a);
	synth_free(&s);
}

static void
with_manifest(struct synth *s, const char *const *names, size_t n)
{
	char *m = manifest_for(names, n);

	synth_set(s, "manifest", m, strlen(m));
	free(m);
}

Test(synth, manifest_line_without_data_member)
{
	static const char *const names[] = { ("data/0000/" SYNTH_FILE), "header.tar.gz", "version",
	    "data/0001/extra.bin" };
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	with_manifest(&s, names, 4);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_COVERAGE,
	    "line 4|data/0001/extra.bin|data/0001.tar");
	artifact_close(a);
	synth_free(&s);
}

Test(synth, manifest_line_for_nothing)
{
	static const char *const names[] = { ("data/0000/" SYNTH_FILE), "stray", "header.tar.gz",
	    "version" };
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	with_manifest(&s, names, 4);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_COVERAGE, "line 2|'stray'");
	artifact_close(a);
	synth_free(&s);
}

Test(synth, manifest_without_version_or_header)
{
	static const char *const no_version[] = { ("data/0000/" SYNTH_FILE), "header.tar.gz" };
	static const char *const no_header[] = { ("data/0000/" SYNTH_FILE), "version" };
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	with_manifest(&s, no_version, 2);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_COVERAGE, "'version'");
	artifact_close(a);
	with_manifest(&s, no_header, 2);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_COVERAGE, "'header.tar.gz'");
	artifact_close(a);
	synth_free(&s);
}

Test(synth, manifest_not_canonical)
{
	struct synth s;
	struct artifact *a;
	char text[512];

	snprintf(text, sizeof(text), "%s  data/0000/%s\r\n%s  header.tar.gz\n%s  version\n",
	    fake_sum(1), SYNTH_FILE, fake_sum(2), fake_sum(3));
	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "manifest", text, strlen(text));
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_MANIFEST_NOT_CANONICAL, "line 1 ");
	cr_assert_not(artifact_manifest(a, false)->canonical);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, manifest_missing)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_remove(&s, "manifest");
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest", AF_C_MISSING, NULL);
	cr_assert_null(artifact_manifest(a, false));
	artifact_close(a);
	synth_free(&s);
}

Test(synth, version_contents)
{
	static const struct {
		const char *json;
		int severity;
		enum af_code code;
		const char *text;
	} cases[] = {
		{ "not json", AF_ERROR, AF_C_FORMAT_VERSION, NULL },
		{ "{\"format\":\"mender\",\"version\":4}", AF_ERROR, AF_C_FORMAT_VERSION, NULL },
		{ "{\"format\":\"mender\",\"version\":\"3\"}", AF_ERROR, AF_C_FORMAT_VERSION, NULL },
		{ "{\"format\":\"mender\",\"version\":3.5}", AF_ERROR, AF_C_FORMAT_VERSION, NULL },
		{ "{\"format\":\"foo\",\"version\":3}", AF_ERROR, AF_C_FORMAT_VERSION, NULL },
		{ "{\"format\":\"mender\",\"version\":3,\"x\":1}", AF_ERROR, AF_C_UNKNOWN, "\"x\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct synth s;
		struct artifact *a;

		synth_default(&s, AF_COMP_GZIP);
		synth_set(&s, "version", cases[i].json, strlen(cases[i].json));
		a = synth_open_ok(&s);
		expect_problem(a, cases[i].severity, "version", cases[i].code, cases[i].text);
		cr_assert_eq(artifact_format_version(a), 3);
		artifact_close(a);
		synth_free(&s);
	}
}

/* One JSON value and nothing but white space after it: the C++ client's
 * parser refuses the rest (mender-artifact ignores it). */
Test(synth, version_with_bytes_after_its_json)
{
	static const char v[] = "{\"format\":\"mender\",\"version\":3}";
	static const struct {
		const char *tail;
		size_t at;	/* offset of the first extra byte in the member */
	} cases[] = {
		{ "garbage", 0 }, { " {}", 1 }, { "\n\n}", 2 }, { "\t3", 1 }, { "\0", 0 },
	};
	char text[100], want[80];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct synth s;
		struct artifact *a;

		len = (size_t)snprintf(text, sizeof(text), "%s%s", v, cases[i].tail);
		if (cases[i].tail[0] == '\0')
			len++;	/* the NUL itself */
		synth_default(&s, AF_COMP_GZIP);
		synth_set(&s, "version", text, len);
		a = synth_open_ok(&s);
		snprintf(want, sizeof(want), "has %zu bytes from byte %zu on", len -
		    (sizeof(v) - 1 + cases[i].at), sizeof(v) - 1 + cases[i].at);
		expect_problem(a, AF_ERROR, "version", AF_C_JSON_TRAILING, want);
		expect_problem(a, AF_ERROR, "version", AF_C_JSON_TRAILING, "the Mender client refuses");
		cr_assert_eq(artifact_format_version(a), 3, "still read as what it says");
		artifact_close(a);
		synth_free(&s);
	}
}

Test(synth, version_with_white_space_around_its_json)
{
	static const char v[] = " \r\n{\"format\":\"mender\",\"version\":3} \t\r\n\n";
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "version", v, sizeof(v) - 1);
	a = synth_open_ok(&s);
	expect_no_problems(a);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, format_version_2)
{
	static const char v2[] = "{\"format\":\"mender\",\"version\":2}";
	static const char info[] = "{\"artifact_name\":\"rel-v2\",\"updates\":[{\"type\":"
	    "\"rootfs-image\"}],\"device_types_compatible\":[\"dev1\"]}";
	struct synth s;
	struct artifact *a;
	struct tb t;
	uint8_t *raw, *z;
	size_t len, zlen;

	tb_init(&t);
	tb_add_str(&t, "header-info", info);
	tb_add_str(&t, "headers/0000/files", "{\"files\":[\"" SYNTH_FILE "\"]}");
	tb_add_str(&t, "headers/0000/type-info", "{\"type\":\"rootfs-image\"}");
	tb_add_str(&t, "headers/0000/meta-data", "");
	tb_end(&t);
	raw = tb_take(&t, &len);
	z = tb_compress(AF_COMP_GZIP, raw, len, &zlen);
	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "version", v2, strlen(v2));
	synth_set(&s, "header.tar.gz", z, zlen);
	a = synth_open_ok(&s);
	cr_assert_eq(artifact_format_version(a), 2);
	expect_no_errors(a);
	expect_problem(a, AF_WARNING, "version", AF_C_FORMAT_VERSION, NULL);
	cr_assert_str_eq(artifact_header(a, false)->artifact_name, "rel-v2");
	artifact_close(a);

	/* and v2 has no augmented parts */
	synth_insert(&s, 2, "manifest-augment", "", 0);
	synth_insert(&s, 4, "header-augment.tar.gz", z, zlen);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "version", AF_C_AUGMENT, NULL);
	artifact_close(a);
	free(raw);
	free(z);
	synth_free(&s);
}

Test(synth, data_member_without_payload)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, s.n, "data/0001.tar.gz", s.m[3].data, s.m[3].len);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "data/0001.tar.gz", AF_C_PAYLOAD_MISMATCH, NULL);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, payload_without_data_member)
{
	static const char *const names[] = { "header.tar.gz", "version" };
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_remove(&s, "data/0000.tar.gz");
	with_manifest(&s, names, 2);
	a = synth_open_ok(&s);
	expect_no_errors(a);
	expect_problem(a, AF_WARNING, "artifact", AF_C_PAYLOAD_MISMATCH, "data/0000.tar");
	cr_assert_null(artifact_payload(a, 0));
	artifact_close(a);
	synth_free(&s);
}

Test(synth, augment_without_partner)
{
	struct synth s;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	synth_insert(&s, 2, "manifest-augment", "", 0);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "manifest-augment", AF_C_AUGMENT, NULL);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, corrupt_header_member)
{
	struct synth s;
	struct artifact *a;
	static const char junk[] = "\x1f\x8b\x08\x00 this is not deflate data at all";

	synth_default(&s, AF_COMP_GZIP);
	synth_set(&s, "header.tar.gz", junk, sizeof(junk) - 1);
	a = synth_open_ok(&s);
	expect_problem(a, AF_ERROR, "header.tar.gz", AF_C_CORRUPT, NULL);
	artifact_close(a);
	synth_free(&s);
}

Test(synth, too_many_members)
{
	struct synth s;
	struct artifact *a;
	struct tb t;
	uint8_t *raw, *all;
	size_t len, alllen, i;
	struct af_reason why = { 0 };
	int fd;

	synth_default(&s, AF_COMP_GZIP);
	s.no_end_blocks = true;
	raw = synth_build(&s, &len, NULL);
	tb_init(&t);
	tb_raw(&t, raw, len);
	for (i = 0; i < 1100; i++)
		tb_add_str(&t, "data/0000.tar.gz", "");
	tb_end(&t);
	all = tb_take(&t, &alllen);
	cr_assert_eq(open_bytes(all, alllen, &a, &why, &fd), AF_OK, "%s", why.text);
	close(fd);
	expect_problem(a, AF_ERROR, "artifact", AF_C_TOO_BIG, NULL);
	cr_assert_leq(artifact_member_count(a), 1024);
	artifact_close(a);
	free(raw);
	free(all);
	synth_free(&s);
}

/* ==== payload rules, through an artifact ==== */

static struct artifact *
with_payload(struct synth *s, struct tb *inner)
{
	uint8_t *raw, *z;
	size_t len, zlen;

	tb_end(inner);
	raw = tb_take(inner, &len);
	z = tb_compress(AF_COMP_GZIP, raw, len, &zlen);
	synth_default(s, AF_COMP_GZIP);
	synth_set(s, "data/0000.tar.gz", z, zlen);
	free(raw);
	free(z);
	return synth_open_ok(s);
}

Test(payload, rules)
{
	struct tb_entry link = { .name = "link", .type = '2' };
	struct synth s;
	struct artifact *a;
	struct tb t;
	struct af_payload *pl;
	const struct af_payload_file *f;

	tb_init(&t);
	tb_add_str(&t, SYNTH_FILE, SYNTH_FILE_DATA);
	tb_add_str(&t, "bad name!.txt", "x");
	tb_add_str(&t, "sub/file.txt", "x");
	tb_add_str(&t, SYNTH_FILE, "second copy");
	tb_add_str(&t, "../escape", "x");
	tb_add_entry(&t, &link);
	tb_add_str(&t, "last.bin", "ok");
	a = with_payload(&s, &t);
	pl = artifact_payload(a, 0);
	cr_assert_eq(af_payload_scan_all(pl), AF_OK);
	expect_problem(a, AF_ERROR, "data/0000", AF_C_BAD_NAME, "'bad name!.txt'");
	expect_problem(a, AF_ERROR, "data/0000", AF_C_BAD_NAME, "'sub/file.txt'");
	expect_problem(a, AF_ERROR, "data/0000", AF_C_DUPLICATE, "'" SYNTH_FILE "'");
	expect_problem(a, AF_ERROR, "data/0000", AF_C_UNSAFE_PATH, NULL);
	expect_problem(a, AF_ERROR, "data/0000", AF_C_TAR_TYPE, "'link'");
	cr_assert_eq(af_payload_count(pl), 2);
	cr_assert_eq(af_payload_find(pl, "last.bin", &f), AF_OK);
	cr_assert_eq(af_payload_find(pl, SYNTH_FILE, &f), AF_OK);
	cr_assert_eq(f->size, strlen(SYNTH_FILE_DATA));	/* the first copy */
	cr_assert_eq(af_payload_find(pl, "sub/file.txt", &f), AF_ENOENT);
	cr_assert_str_eq(af_payload_get(pl, 1)->name, "last.bin");
	cr_assert_null(af_payload_get(pl, 2));
	artifact_close(a);
	synth_free(&s);
}

Test(payload, find_scans_only_as_far_as_needed)
{
	struct synth s;
	struct artifact *a;
	struct tb t;
	struct af_payload *pl;
	const struct af_payload_file *f;
	uint8_t *big = tb_pattern(4 * MiB, 5);

	tb_init(&t);
	tb_add_str(&t, "first.txt", "1");
	tb_add(&t, "big.bin", big, 4 * MiB);
	tb_add_str(&t, "after.txt", "2");
	a = with_payload(&s, &t);
	pl = artifact_payload(a, 0);
	cr_assert_eq(af_payload_find(pl, "first.txt", &f), AF_OK);
	cr_assert_eq(af_payload_count(pl), 1);
	cr_assert_lt(af_stream_produced(af_payload_stream(pl)), 4 * MiB);
	cr_assert_eq(af_payload_find(pl, "after.txt", &f), AF_OK);
	cr_assert_eq(af_payload_count(pl), 3);
	cr_assert_eq(af_payload_find(pl, "big.bin", &f), AF_OK);
	cr_assert_eq(f->size, 4 * MiB);
	expect_no_problems(a);
	artifact_close(a);
	free(big);
	synth_free(&s);
}
