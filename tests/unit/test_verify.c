/*
 * artifact/verify.c, the checksum pass: every fixture written by
 * mender-artifact checks clean, entry for entry against its manifest (read
 * here with tar), and artifacts changed here by one thing check with exactly
 * that entry failing: a payload byte flipped (MISMATCH, with the sum
 * sha256sum gives the changed file), a file removed (MISSING) and one added
 * (NOT IN MANIFEST), a compressed payload damaged (not ok, never a crash).
 * The progress callback is called as hashing goes and can cancel the pass.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/verify.h"
#include "support.h"
#include "tarbuild.h"

TestSuite(verify, .init = test_dir_make, .fini = test_dir_remove);

/* The stdout of a shell command (FIX: the fixtures; DIR: the test's directory). */
static char *
sh(const char *cmd)
{
	char full[4096];
	size_t len;
	char *out;

	if (getenv("FIXTURES") == NULL)
		cr_skip_test("no fixtures (FIXTURES)");
	snprintf(full, sizeof(full), "set -e; FIX='%s'; DIR='%s'; %s", getenv("FIXTURES"), test_dir,
	    cmd);
	out = (char *)run_capture(full, &len);
	cr_assert_not_null(out, "failed: %s", cmd);
	return out;
}

static struct artifact *
open_path(const char *path)
{
	struct artifact *a = NULL;
	struct af_reason why = { 0 };
	enum af_err err = artifact_open(path, &a, &why);

	cr_assert_eq(err, AF_OK, "%s: %s", path, why.text);
	return a;
}

static void
verify(struct artifact *a, struct af_checks *c)
{
	enum af_err err = af_verify_checksums(a, NULL, NULL, c);

	cr_assert_eq(err, AF_OK, "%s", af_strerror(err));
}

static const struct af_check *
find(const struct af_checks *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		if (strcmp(c->items[i].name, name) == 0)
			return &c->items[i];
	cr_assert_fail("no check of %s", name);
	return NULL;
}

/* Every item ok but those named in bad ("name=RESULT" words). */
static void
only_these_fail(const struct af_checks *c, const char *const *bad, size_t nbad)
{
	size_t i, j, failed = 0;

	for (i = 0; i < c->count; i++) {
		const struct af_check *k = &c->items[i];
		const char *want = "ok";
		for (j = 0; j < nbad; j++) {
			size_t n = strcspn(bad[j], "=");
			if (strlen(k->name) == n && strncmp(k->name, bad[j], n) == 0)
				want = bad[j] + n + 1;
		}
		cr_assert_str_eq(af_check_result_word(k->result), want, "%s: %s (%s)", k->name,
		    af_check_result_word(k->result), k->detail != NULL ? k->detail : "");
		failed += k->result != AF_CHECK_OK;
	}
	cr_assert_eq(c->failed, failed);
	cr_assert_eq(failed, nbad);
}

static const char *const fixtures[] = {
	"rootfs-gzip", "rootfs-rsa", "rootfs-ec", "rootfs-none", "rootfs-xz", "rootfs-zstd",
	"rootfs-v2", "module", "module-none", "module-xz", "module-zstd", "module-nofiles",
	"bootstrap", "augmented",
};

/* Each manifest line is one check, with its sum, and every one is ok. */
Test(verify, every_fixture_checks_clean)
{
	size_t i, j;

	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		char cmd[512], path[4096], *lines, *line, *save = NULL;
		struct af_checks c = { 0 };
		struct artifact *a;
		size_t listed = 0;

		snprintf(path, sizeof(path), "%s/%s.mender", getenv("FIXTURES") != NULL ?
		    getenv("FIXTURES") : "", fixtures[i]);
		snprintf(cmd, sizeof(cmd), "f=\"$FIX/%s.mender\"; tar -xOf \"$f\" manifest; "
		    "if tar -tf \"$f\" | grep -qx manifest-augment; then "
		    "tar -xOf \"$f\" manifest-augment; fi", fixtures[i]);
		lines = sh(cmd);
		a = open_path(path);
		verify(a, &c);
		for (line = strtok_r(lines, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			const struct af_check *k = find(&c, line + 66);
			cr_assert_eq(strlen(line) > 66 && line[64] == ' ' && line[65] == ' ', true);
			cr_assert_eq(strncmp(k->expected, line, 64), 0, "%s: %s", fixtures[i], line);
			cr_assert_str_eq(k->expected, k->actual, "%s: %s", fixtures[i], k->name);
			listed++;
		}
		cr_assert_eq(c.count, listed, "%s: one check per manifest line", fixtures[i]);
		for (j = 0; j < c.count; j++)
			cr_assert_eq(c.items[j].result, AF_CHECK_OK, "%s: %s %s", fixtures[i],
			    c.items[j].name, af_check_result_word(c.items[j].result));
		cr_assert_eq(c.failed, 0);
		af_checks_clear(&c);
		artifact_close(a);
		free(lines);
	}
}

/* One byte of one payload file flipped in place (no compression to undo). */
Test(verify, a_flipped_payload_byte)
{
	char *sum, path[600];
	struct af_checks c = { 0 };
	struct artifact *a;
	const struct af_check *k;
	static const char *const bad[] = { "data/0000/file2.bin=MISMATCH" };

	free(sh("cp \"$FIX/module-none.mender\" \"$DIR/t.mender\"; python3 -c '"
	    "import tarfile\n"
	    "p = \"'\"$DIR\"'/t.mender\"\n"
	    "with tarfile.open(p) as o:\n"
	    "    m = o.getmember(\"data/0000.tar\")\n"
	    "    f = tarfile.open(fileobj=o.extractfile(m)).getmember(\"file2.bin\")\n"
	    "    at = m.offset_data + f.offset_data + 4000\n"
	    "with open(p, \"r+b\") as h:\n"
	    "    h.seek(at); b = h.read(1); h.seek(at); h.write(bytes([b[0] ^ 1]))\n'"));
	sum = sh("tar -xOf \"$DIR/t.mender\" data/0000.tar | tar -xOf - file2.bin | sha256sum | "
	    "cut -c1-64 | tr -d '\\n'");
	snprintf(path, sizeof(path), "%s/t.mender", test_dir);
	a = open_path(path);
	verify(a, &c);
	only_these_fail(&c, bad, 1);
	k = find(&c, "data/0000/file2.bin");
	cr_assert_str_eq(k->actual, sum, "the sum of the bytes as they are now");
	cr_assert_str_neq(k->expected, k->actual);
	af_checks_clear(&c);
	cr_assert_eq(c.count, 0);
	cr_assert_null(c.items);
	artifact_close(a);
	free(sum);
}

/* A file taken out of the payload, another put in: the manifest is unchanged. */
Test(verify, a_missing_and_an_unlisted_file)
{
	char path[600];
	struct af_checks c = { 0 };
	struct artifact *a;
	static const char *const bad[] = { "data/0000/file1.txt=MISSING",
	    "data/0000/extra.txt=NOT IN MANIFEST" };
	const struct af_check *k;

	free(sh("w=\"$DIR/w\"; mkdir -p \"$w/d\"; cd \"$w\"; "
	    "tar -xf \"$FIX/module-none.mender\"; tar -xf data/0000.tar -C d; "
	    "rm d/file1.txt; echo extra > d/extra.txt; "
	    "T='tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=0600'; "
	    "(cd d && $T -cf ../data/0000.tar file2.bin empty.txt extra.txt); "
	    "$T -cf \"$DIR/t.mender\" $(tar -tf \"$FIX/module-none.mender\")"));
	snprintf(path, sizeof(path), "%s/t.mender", test_dir);
	a = open_path(path);
	verify(a, &c);
	only_these_fail(&c, bad, 2);
	k = find(&c, "data/0000/extra.txt");
	cr_assert_str_eq(k->expected, "", "an unlisted file has no expected sum");
	cr_assert_eq(strlen(k->actual), 64, "it is hashed all the same");
	k = find(&c, "data/0000/file1.txt");
	cr_assert_str_eq(k->actual, "", "a missing file is not hashed");
	af_checks_clear(&c);
	artifact_close(a);
}

/* A compressed payload damaged in its middle: its file does not check ok, the
 * stream's own check fails as a problem of the member, and the rest of the
 * artifact still checks ok. */
Test(verify, a_damaged_compressed_payload)
{
	char path[600];
	struct af_checks c = { 0 };
	struct artifact *a;
	size_t i, bad = 0;

	free(sh("cp \"$FIX/rootfs-gzip.mender\" \"$DIR/t.mender\"; python3 -c '"
	    "import tarfile\n"
	    "p = \"'\"$DIR\"'/t.mender\"\n"
	    "with tarfile.open(p) as o:\n"
	    "    m = o.getmember(\"data/0000.tar.gz\")\n"
	    "at = m.offset_data + m.size // 2\n"
	    "with open(p, \"r+b\") as h:\n"
	    "    h.seek(at); b = h.read(16); h.seek(at); h.write(bytes(x ^ 0x55 for x in b))\n'"));
	snprintf(path, sizeof(path), "%s/t.mender", test_dir);
	a = open_path(path);
	verify(a, &c);
	for (i = 0; i < c.count; i++) {
		if (strncmp(c.items[i].name, "data/", 5) != 0) {
			cr_assert_eq(c.items[i].result, AF_CHECK_OK, "%s", c.items[i].name);
			continue;
		}
		/* the bytes are stored (random data does not deflate): they come out
		 * changed, and the gzip trailer's CRC32 names the member; had the damage
		 * hit a block header, the file would be unreadable, saying why.text */
		if (c.items[i].result == AF_CHECK_UNREADABLE) {
			cr_assert_not_null(c.items[i].detail, "an unreadable file says why");
		} else {
			cr_assert_eq(c.items[i].result, AF_CHECK_MISMATCH, "%s: %s", c.items[i].name,
			    af_check_result_word(c.items[i].result));
			cr_assert(has_problem(artifact_problems(a), AF_ERROR, "data/0000.tar.gz",
			    "CRC32"), "%s", problems_str(artifact_problems(a)));
		}
		bad++;
	}
	cr_assert_eq(bad, 1, "data/0000/rootfs.ext4");
	cr_assert_eq(c.failed, 1);
	af_checks_clear(&c);
	artifact_close(a);
}

struct calls {
	unsigned n;
	unsigned stop_at;	/* 0: never */
	uint64_t last_done;
	bool saw_payload;
};

static bool
progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	struct calls *k = ctx;

	cr_assert_not_null(name);
	cr_assert_leq(done, total, "%s: %llu of %llu", name, (unsigned long long)done,
	    (unsigned long long)total);
	k->saw_payload |= strncmp(name, "data/", 5) == 0;
	k->last_done = done;
	return ++k->n != k->stop_at;
}

Test(verify, progress_and_cancel)
{
	char path[4096];
	struct af_checks c = { 0 };
	struct calls k = { 0 };
	struct artifact *a;

	if (fixture_path("rootfs-gzip.mender", path, sizeof(path)) == NULL)
		cr_skip_test("no fixtures");
	a = open_path(path);
	cr_assert_eq(af_verify_checksums(a, progress, &k, &c), AF_OK);
	cr_assert_gt(k.n, 0);
	cr_assert(k.saw_payload, "the payload file is named while it is hashed");
	cr_assert_eq(c.failed, 0);
	af_checks_clear(&c);
	artifact_close(a);

	a = open_path(path);
	memset(&k, 0, sizeof(k));
	k.stop_at = 1;
	cr_assert_eq(af_verify_checksums(a, progress, &k, &c), AF_ECANCELED);
	cr_assert_eq(k.n, 1, "no call after the one that said stop");
	af_checks_clear(&c);
	artifact_close(a);
}

Test(verify, result_words)
{
	cr_assert_str_eq(af_check_result_word(AF_CHECK_OK), "ok");
	cr_assert_str_eq(af_check_result_word(AF_CHECK_MISMATCH), "MISMATCH");
	cr_assert_str_eq(af_check_result_word(AF_CHECK_MISSING), "MISSING");
	cr_assert_str_eq(af_check_result_word(AF_CHECK_UNLISTED), "NOT IN MANIFEST");
	cr_assert_str_eq(af_check_result_word(AF_CHECK_UNREADABLE), "UNREADABLE");
}
