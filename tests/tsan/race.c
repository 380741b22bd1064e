/*
 * The concurrency driver of the ThreadSanitizer build (issue 19): what a
 * mount does at once, in one process, so that TSan sees every thread.
 *
 * stream: 8 readers on one af_stream (3 sequential, one of them through
 * af_stream_visit, 3 at random offsets, 2 backwards) over a 12 MiB member
 * compressed with none, gzip, xz and zstd, every byte compared.
 *
 * artifact: for rootfs-{none,gzip,xz,zstd}.mender (written by
 * mender-artifact; FIXTURES): 8 readers of data/0000/rootfs.ext4 (the same
 * three kinds), lookups of the payload directory, the signature-status pass
 * (fs_verifier's checksum thread, 2 threads waiting on it and rendering the
 * report, one polling progress), a re-sign copy (af_rewrite_sign and
 * af_rewrite_finish on a copy of the artifact) and lookups of the payload's
 * files, one of which scans to the end, all at once.
 *
 * report: --status (fs_report_run), whose keys load on a thread of their own
 * while the first artifact's checksum pass runs: a good key, and one that
 * is not a key and stops the pass.
 *
 * Prints one line per failed check and "N passed, M failed"; exits 1 on a
 * failure.  A data race is TSan's to report (TSAN_OPTIONS exitcode).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/rewrite.h"
#include "artifact/stream.h"
#include "fs/cli.h"
#include "fs/keys.h"
#include "fs/report.h"
#include "fs/status.h"
#include "fs/verifier.h"
#include "tarbuild.h"

#define MiB (1u << 20)
#define READERS 8

static atomic_uint passed, failed;

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		atomic_fetch_add(&passed, 1);
		return;
	}
	atomic_fetch_add(&failed, 1);
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* What a reader reads from: a stream, or a payload file. */
struct source {
	const char *what;
	const uint8_t *orig;
	size_t len;
	struct af_stream *stream;
	struct af_payload *payload;
	const char *file;	/* looked up by each reader */
};

enum kind { SEQUENTIAL, SEQUENTIAL_VISIT, RANDOM, BACKWARDS };

struct reader {
	const struct source *src;
	enum kind kind;
	unsigned seed;
	unsigned reads;
	bool ok;
	char msg[300];
};

static void
collect(void *ctx, const uint8_t *bytes, size_t n)
{
	uint8_t **at = ctx;

	memcpy(*at, bytes, n);
	*at += n;
}

static enum af_err
read_at(const struct source *src, const struct af_payload_file *f, enum kind kind,
    uint8_t *buf, size_t len, uint64_t off, size_t *got, struct af_reason *why)
{
	uint8_t *at = buf;
	enum af_err err;

	if (src->stream != NULL && kind == SEQUENTIAL_VISIT) {
		err = af_stream_visit(src->stream, len, off, collect, &at, got, why);
		if (err == AF_OK && (size_t)(at - buf) != *got)
			af_reason_set(why, AF_C_NONE, "visit handed %zu bytes for %zu",
			    (size_t)(at - buf), *got);
		return err;
	}
	if (src->stream != NULL)
		return af_stream_pread(src->stream, buf, len, off, got, why);
	if (kind == SEQUENTIAL_VISIT)
		return af_payload_visit(src->payload, f, len, off, collect, &at, got, why);
	return af_payload_read(src->payload, f, buf, len, off, got, why);
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	const struct source *src = r->src;
	const struct af_payload_file *f = NULL;
	size_t chunk_max = 1 * MiB, len, got, want;
	uint8_t *buf = malloc(chunk_max);
	uint64_t off;
	unsigned x = r->seed * 2654435761u + 1, i;
	struct af_reason why = { 0 };
	enum af_err err;

	r->ok = true;
	if (src->payload != NULL &&
	    (err = af_payload_find(src->payload, src->file, &f)) != AF_OK) {
		snprintf(r->msg, sizeof(r->msg), "find %s: %s", src->file, af_strerror(err));
		r->ok = false;
	}
	off = r->kind == BACKWARDS ? src->len : (uint64_t)(r->seed % 4) * (src->len / 5);
	for (i = 0; r->ok && i < r->reads; i++) {
		x = x * 1103515245u + 12345u;
		len = 1 + (x >> 5) % (r->kind == RANDOM ? 4 * 4096 : chunk_max);
		switch (r->kind) {
		case SEQUENTIAL:
		case SEQUENTIAL_VISIT:
			if (off >= src->len)
				off = 0;
			break;
		case RANDOM:
			x = x * 1103515245u + 12345u;
			off = ((uint64_t)x << 7 ^ x) % (src->len + 4096);
			break;
		case BACKWARDS:
			if (off == 0)
				off = src->len;
			len = len > off ? (size_t)off : len;
			off -= len;
			break;
		}
		got = 0;
		why.text[0] = '\0';
		err = read_at(src, f, r->kind, buf, len, off, &got, &why);
		want = off >= src->len ? 0 : src->len - off < len ? (size_t)(src->len - off) : len;
		if (err != AF_OK || got != want || memcmp(buf, src->orig + off, want) != 0) {
			snprintf(r->msg, sizeof(r->msg), "read %zu at %llu: %s (%s), got %zu of %zu%s",
			    len, (unsigned long long)off, af_strerror(err), why.text, got, want,
			    err == AF_OK && got == want ? ", wrong bytes" : "");
			r->ok = false;
		}
		if (r->kind == SEQUENTIAL || r->kind == SEQUENTIAL_VISIT)
			off += got;
	}
	free(buf);
	return NULL;
}

static const enum kind kinds[READERS] = { SEQUENTIAL, SEQUENTIAL, SEQUENTIAL_VISIT, RANDOM,
    RANDOM, RANDOM, BACKWARDS, BACKWARDS };

static void
start_readers(const struct source *src, struct reader *r, pthread_t *th, unsigned reads)
{
	size_t i;

	for (i = 0; i < READERS; i++) {
		r[i] = (struct reader){ .src = src, .kind = kinds[i], .seed = (unsigned)i + 1,
		    .reads = kinds[i] == RANDOM ? reads * 4 : reads };
		if (pthread_create(&th[i], NULL, reader_main, &r[i]) != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(errno));
			exit(2);
		}
	}
}

static void
join_readers(const struct source *src, struct reader *r, pthread_t *th)
{
	static const char *const names[] = { "sequential", "sequential (visit)", "random",
	    "backwards" };
	size_t i;

	for (i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		check(r[i].ok, "%s: reader %zu (%s): %s", src->what, i, names[r[i].kind],
		    r[i].msg);
	}
}

static void
stream_case(enum af_compression comp)
{
	size_t len = 12 * MiB, zlen;
	uint8_t *orig = tb_pattern(len, 1234 + (uint32_t)comp);
	uint8_t *z = tb_compress(comp, orig, len, &zlen);
	int fd = tb_temp_fd(z, zlen);
	char what[64];
	struct source src = { what, orig, len, af_stream_new(fd, 0, zlen, comp), NULL, NULL };
	struct reader r[READERS];
	pthread_t th[READERS];

	snprintf(what, sizeof(what), "stream %s", af_compression_name(comp));
	check(src.stream != NULL, "%s: af_stream_new", what);
	if (src.stream != NULL) {
		start_readers(&src, r, th, comp == AF_COMP_XZ ? 12 : 24);
		join_readers(&src, r, th);
		af_stream_free(src.stream);
	}
	close(fd);
	free(z);
	free(orig);
}

/* ---- a whole artifact ---- */

struct status_arg {
	struct artifact *a;
	struct fs_verifier *v;
	struct fs_keyring *ring;
	const char *what;
	bool progress_only;
	atomic_bool *done;
	bool ok;
	char msg[300];
};

static void *
status_main(void *arg)
{
	struct status_arg *s = arg;
	const struct af_checks *checks;
	enum fs_verdict verdict;
	char buf[200], *text;

	s->ok = true;
	if (s->progress_only) {
		while (!atomic_load(s->done))
			fs_verifier_progress(s->v, buf, sizeof(buf));
		return NULL;
	}
	if ((checks = fs_verifier_wait(s->v)) == NULL) {
		snprintf(s->msg, sizeof(s->msg), "no checksums");
		s->ok = false;
		return NULL;
	}
	if (checks->failed != 0) {
		snprintf(s->msg, sizeof(s->msg), "%zu checksums failed", checks->failed);
		s->ok = false;
	}
	text = fs_status_report(s->a, s->ring, checks, NULL, NULL, NULL, &verdict);
	if (text == NULL || strncmp(text, "unsigned\n", 9) != 0) {
		snprintf(s->msg, sizeof(s->msg), "signature-status: %.200s", text != NULL ? text :
		    "(none)");
		s->ok = false;
	}
	free(text);
	return NULL;
}

struct resign_arg {
	struct artifact *a;
	const char *copy;
	bool ok;
	char msg[400];
};

static void *
resign_main(void *arg)
{
	static const char raw[] = "signed by the race driver";
	static const char sig[] = "c2lnbmVkIGJ5IHRoZSByYWNlIGRyaXZlcg==";	/* raw in base64 */
	struct resign_arg *r = arg;
	struct af_place *p;
	struct af_rewrite *w;
	struct artifact *again;
	struct af_reason reason = { 0 };
	struct af_reason why = { 0 };

	r->ok = false;
	if ((p = af_place_open(r->a, &reason)) == NULL) {
		snprintf(r->msg, sizeof(r->msg), "af_place_open: %s", reason.text);
		return NULL;
	}
	if ((w = af_rewrite_sign(r->a, p, (const uint8_t *)raw, strlen(raw), CR_SIG_RSA,
	    &reason)) == NULL) {
		snprintf(r->msg, sizeof(r->msg), "af_rewrite_sign: %.300s", reason.text);
	} else if (af_rewrite_finish(w, &reason) != AF_OK) {
		snprintf(r->msg, sizeof(r->msg), "af_rewrite_finish: %.300s", reason.text);
	} else if (artifact_open(r->copy, &again, &why) != AF_OK) {
		snprintf(r->msg, sizeof(r->msg), "the re-signed copy does not open: %s", why.text);
	} else {
		size_t n = 0;
		const uint8_t *s = artifact_member_bytes(again, AF_MEMBER_SIGNATURE, &n);
		r->ok = s != NULL && n == strlen(sig) && memcmp(s, sig, n) == 0;
		if (!r->ok)
			snprintf(r->msg, sizeof(r->msg), "the re-signed copy has no such manifest.sig");
		artifact_close(again);
	}
	af_place_close(p);
	return NULL;
}

static bool
copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *data = read_file(from, &len);
	int fd = data != NULL ? open(to, O_CREAT | O_EXCL | O_WRONLY, 0644) : -1;
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	free(data);
	return ok;
}

static void
artifact_case(const char *fixture, const char *tmpdir)
{
	char path[4096], ref_path[4096], copy[4096];
	struct af_reason why = { 0 };
	struct artifact *a = NULL;
	struct source src = { fixture, NULL, 0, NULL, NULL, "rootfs.ext4" };
	struct reader r[READERS];
	pthread_t th[READERS], st[3], rs;
	struct status_arg sa[3];
	struct resign_arg ra;
	atomic_bool done;
	uint8_t *orig;
	size_t i;

	if (fixture_path(fixture, path, sizeof(path)) == NULL ||
	    fixture_path("rootfs.ext4", ref_path, sizeof(ref_path)) == NULL) {
		check(false, "%s: no such fixture (FIXTURES=%s)", fixture, getenv("FIXTURES"));
		return;
	}
	snprintf(copy, sizeof(copy), "%s/%s", tmpdir, fixture);
	if (!copy_file(path, copy) || (orig = read_file(ref_path, &src.len)) == NULL) {
		check(false, "%s: copy to %s: %s", fixture, copy, strerror(errno));
		return;
	}
	src.orig = orig;
	if (artifact_open(copy, &a, &why) != AF_OK) {
		check(false, "%s: artifact_open: %s", fixture, why.text);
		free(orig);
		return;
	}
	src.payload = artifact_payload(a, 0);
	check(src.payload != NULL, "%s: no payload", fixture);
	if (src.payload == NULL)
		goto out;

	atomic_init(&done, false);
	struct fs_keyring *ring = fs_keyring_new();
	struct fs_verifier *v = fs_verifier_new(a);
	check(ring != NULL && v != NULL, "%s: verifier", fixture);
	start_readers(&src, r, th, 16);
	for (i = 0; i < 3; i++) {
		sa[i] = (struct status_arg){ a, v, ring, fixture, i == 2, &done, false, "" };
		pthread_create(&st[i], NULL, status_main, &sa[i]);
	}
	ra = (struct resign_arg){ a, copy, false, "" };
	pthread_create(&rs, NULL, resign_main, &ra);
	/* lookups of the payload directory meanwhile: one that scans to the end
	 * (under the payload's scan lock) while readers look files up */
	{
		const struct af_payload_file *none = NULL;
		enum af_err err = af_payload_find(src.payload, "no-such-file", &none);
		check(err == AF_ENOENT, "%s: find no-such-file: %s", fixture, af_strerror(err));
	}
	for (i = 0; i < 200; i++) {
		const struct af_payload_file *f = af_payload_find_scanned(src.payload, "rootfs.ext4");
		size_t n = af_payload_count(src.payload), k;
		for (k = 0; k < n; k++)
			(void)af_payload_get(src.payload, k);
		(void)f;
	}
	join_readers(&src, r, th);
	for (i = 0; i < 2; i++) {
		pthread_join(st[i], NULL);
		check(sa[i].ok, "%s: signature-status %zu: %s", fixture, i, sa[i].msg);
	}
	atomic_store(&done, true);
	pthread_join(st[2], NULL);
	pthread_join(rs, NULL);
	check(ra.ok, "%s: re-sign: %s", fixture, ra.msg);
	fs_verifier_free(v);
	fs_keyring_free(ring);
out:
	artifact_close(a);
	unlink(copy);
	free(orig);
}

/* fs_report_run (--status) with KEY, its report thrown away; its exit status */
static int
report_run(const char *key, char **operands, size_t count)
{
	char *keys[] = { (char *)key };
	struct cli c = { .mode = CLI_STATUS, .operands = operands, .operand_count = count,
	    .verify_keys = keys, .verify_key_count = 1 };
	int out = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	dup2(null, STDOUT_FILENO);
	rc = fs_report_run(&c);
	fflush(stdout);
	dup2(out, STDOUT_FILENO);
	close(out);
	close(null);
	return rc;
}

/* --status loads its keys on a thread of its own while the first checksum
 * pass runs, and a key that fails stops that pass. */
static void
report_case(const char *tmpdir)
{
	char signed_art[4096], unsigned_art[4096], key[4096], junk[4096];
	char *both[2] = { signed_art, unsigned_art };
	FILE *f;

	if (fixture_path("rootfs-rsa.mender", signed_art, sizeof(signed_art)) == NULL ||
	    fixture_path("rootfs-gzip.mender", unsigned_art, sizeof(unsigned_art)) == NULL ||
	    fixture_path("rsa.pub", key, sizeof(key)) == NULL) {
		check(false, "report: no fixtures (FIXTURES=%s)", getenv("FIXTURES"));
		return;
	}
	snprintf(junk, sizeof(junk), "%s/junk.pub", tmpdir);
	if ((f = fopen(junk, "w")) == NULL || fputs("not a key\n", f) == EOF || fclose(f) != 0) {
		check(false, "report: %s: %s", junk, strerror(errno));
		return;
	}
	check(report_run(key, both, 1) == STATUS_VALID, "report: signed artifact, its key: valid");
	check(report_run(key, both, 2) == STATUS_INVALID,
	    "report: signed and unsigned, a key: invalid is the worst");
	check(report_run(junk, both, 2) == STATUS_UNREADABLE, "report: a key that is not a key: unreadable");
	unlink(junk);
}

int
main(int argc, char **argv)
{
	static const enum af_compression comps[] = { AF_COMP_NONE, AF_COMP_GZIP, AF_COMP_XZ,
	    AF_COMP_ZSTD };
	static const char *const fixtures[] = { "rootfs-none.mender", "rootfs-gzip.mender",
	    "rootfs-xz.mender", "rootfs-zstd.mender" };
	char tmpdir[] = "/tmp/race.XXXXXX";
	size_t i;

	(void)argc;
	(void)argv;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	for (i = 0; i < 4; i++)
		stream_case(comps[i]);
	for (i = 0; i < 4; i++)
		artifact_case(fixtures[i], tmpdir);
	report_case(tmpdir);
	rmdir(tmpdir);
	printf("%u passed, %u failed\n", atomic_load(&passed), atomic_load(&failed));
	return atomic_load(&failed) == 0 ? 0 : 1;
}
