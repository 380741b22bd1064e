/*
 * Failures injected under the artifact library: this executable is linked
 * with -Wl,--wrap for malloc, calloc, strdup, mmap64 and pread64 (what mmap
 * and pread are with _FILE_OFFSET_BITS=64), so a test can make
 * an allocation fail or hold reads at a gate while it looks at what other
 * threads can still do.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "artifact/artifact.h"
#include "artifact/blockmem.h"
#include "artifact/codec.h"
#include "artifact/rewrite.h"
#include "artifact/stream.h"
#include "support.h"
#include "tarbuild.h"

#define MiB (1u << 20)

/* ---- the wrappers ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
char *__real_strdup(const char *s);
void *__real_mmap64(void *addr, size_t n, int prot, int flags, int fd, off_t off);
ssize_t __real_pread64(int fd, void *buf, size_t n, off_t off);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
char *__wrap_strdup(const char *s);
void *__wrap_mmap64(void *addr, size_t n, int prot, int flags, int fd, off_t off);
ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off);

/* every malloc or mmap of exactly this many bytes fails */
static atomic_size_t fail_size;
/* every malloc or mmap of a size from fail_from to fail_from + SIZE_SLACK fails */
static atomic_size_t fail_from;
#define SIZE_SLACK 4096
static atomic_long fail_in;	/* > 0: the fail_in-th allocation from now on fails */
static atomic_long failures;	/* how many were made to fail */

static bool
fail_this(size_t n)
{
	long left;

	size_t from = atomic_load(&fail_from);

	if (n != 0 && (atomic_load(&fail_size) == n ||
	    (from != 0 && n >= from && n - from <= SIZE_SLACK))) {
		atomic_fetch_add(&failures, 1);
		return true;
	}
	left = atomic_load(&fail_in);
	while (left > 0) {
		if (atomic_compare_exchange_weak(&fail_in, &left, left - 1)) {
			if (left == 1) {
				atomic_fetch_add(&failures, 1);
				return true;
			}
			return false;
		}
	}
	return false;
}

void *
__wrap_malloc(size_t n)
{
	return fail_this(n) ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return fail_this(0) ? NULL : __real_calloc(n, size);
}

char *
__wrap_strdup(const char *s)
{
	return fail_this(0) ? NULL : __real_strdup(s);
}

void *
__wrap_mmap64(void *addr, size_t n, int prot, int flags, int fd, off_t off)
{
	if (fail_this(n)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap64(addr, n, prot, flags, fd, off);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_moved = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static int gate_waiting;
static _Thread_local bool gate_exempt;

ssize_t
__wrap_pread64(int fd, void *buf, size_t n, off_t off)
{
	if (!gate_exempt) {
		pthread_mutex_lock(&gate_lock);
		while (gate_closed) {
			gate_waiting++;
			pthread_cond_broadcast(&gate_moved);
			pthread_cond_wait(&gate_moved, &gate_lock);
			gate_waiting--;
		}
		pthread_mutex_unlock(&gate_lock);
	}
	return __real_pread64(fd, buf, n, off);
}

static void
gate_set(bool closed)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_moved);
	pthread_mutex_unlock(&gate_lock);
}

/* Waits up to seconds for a read to stand at the closed gate. */
static bool
gate_has_waiter(int seconds)
{
	struct timespec until;
	bool yes;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&gate_lock);
	while (gate_waiting == 0 &&
	    pthread_cond_timedwait(&gate_moved, &gate_lock, &until) == 0)
		;
	yes = gate_waiting > 0;
	pthread_mutex_unlock(&gate_lock);
	return yes;
}

/* ---- checkpoints ---- */

/*
 * When zstd cannot compress a checkpoint (no memory), the compressing thread
 * keeps it raw and goes on (issue 19: it exited, its queue stayed full, and
 * every later checkpoint was silently dropped): after one pass over 64 MiB
 * with every compression failing, a read at 41 MiB (behind the 16 MiB that
 * stay cached) still resumes from the checkpoint at 40 MiB.
 */
Test(inject, checkpoints_survive_failed_compression)
{
	size_t len = 64 * MiB, zlen, got;
	uint8_t *orig = tb_pattern(len, 19), *z = tb_compress(AF_COMP_GZIP, orig, len, &zlen);
	uint8_t *buf = malloc(4 * MiB);
	struct af_codec *codec = af_codec_new(AF_COMP_GZIP);
	int fd = tb_temp_fd(z, zlen);
	struct af_stream *s = af_stream_new(fd, 0, zlen, AF_COMP_GZIP);
	uint64_t off, before, cost;
	struct af_reason why = { 0 };

	cr_assert(buf != NULL && codec != NULL && s != NULL);
	atomic_store(&failures, 0);
	atomic_store(&fail_size, ZSTD_compressBound(af_codec_snapshot_size(codec)));
	for (off = 0; off < len; off += got) {
		cr_assert_eq(af_stream_pread(s, buf, 4 * MiB, off, &got, &why), AF_OK,
		    "%s", why.text);
		cr_assert_eq(memcmp(buf, orig + off, got), 0);
		usleep(20000);	/* the compressing thread keeps up, as it does in a mount */
	}
	before = af_stream_produced(s);
	cr_assert_eq(af_stream_pread(s, buf, 4096, 41 * MiB + 4321, &got, &why), AF_OK);
	cr_assert_eq(memcmp(buf, orig + 41 * MiB + 4321, 4096), 0);
	cost = af_stream_produced(s) - before;
	atomic_store(&fail_size, 0);
	cr_assert_geq(atomic_load(&failures), 9, "%ld compressions failed",
	    atomic_load(&failures));
	cr_assert_leq(cost, 4 * MiB + 64 * 1024 + 4096, "a read at 41 MiB decoded %llu bytes",
	    (unsigned long long)cost);
	af_stream_free(s);
	af_codec_free(codec);
	close(fd);
	free(buf);
	free(orig);
	free(z);
}

/*
 * Out of memory for a block, the read-ahead thread stops decoding ahead
 * until a read asks again (it tried again at once, for ever: a core spent,
 * and a read waiting for it waited as long); a read past the decoded blocks
 * meets the error itself, and with memory back the reads go on.
 */
Test(inject, read_ahead_out_of_memory_waits)
{
	size_t len = 8 * MiB, zlen, got;
	uint8_t *orig = tb_pattern(len, 23), *z = tb_compress(AF_COMP_GZIP, orig, len, &zlen);
	uint8_t *buf = malloc(MiB);
	int fd = tb_temp_fd(z, zlen);
	struct af_stream *s = af_stream_new(fd, 0, zlen, AF_COMP_GZIP);
	struct af_reason why = { 0 };
	uint64_t off;
	long failed;

	cr_assert(buf != NULL && s != NULL);
	/* reads in order start the read-ahead, 2 MiB past them */
	for (off = 0; off < MiB; off += got)
		cr_assert_eq(af_stream_pread(s, buf, 64 * 1024, off, &got, &why), AF_OK,
		    "%s", why.text);
	usleep(200000);
	atomic_store(&failures, 0);
	/* block memory comes in chunks, each mapped twice its size (blockmem.c) */
	atomic_store(&fail_from, 2 * AF_BLOCKMEM_CHUNK);
	/* cached: served, and the read-ahead is asked for the next MiB */
	cr_assert_eq(af_stream_pread(s, buf, MiB, MiB, &got, &why), AF_OK, "%s", why.text);
	cr_assert_eq(memcmp(buf, orig + MiB, MiB), 0);
	usleep(300000);
	failed = atomic_load(&failures);
	cr_assert_geq(failed, 1, "the read-ahead did not try to decode");
	/* a try for each block read asks again (and one for a batch that a
	 * slow machine may still have under way), no more */
	cr_assert_leq(failed, MiB / AF_STREAM_BLOCK + 1, "%ld block allocations failed in "
	    "0.3 s", failed);
	cr_assert_eq(af_stream_pread(s, buf, 4096, 6 * MiB, &got, &why), AF_ENOMEM,
	    "%s", why.text);
	atomic_store(&fail_from, 0);
	for (off = 2 * MiB; off < len; off += got) {
		cr_assert_eq(af_stream_pread(s, buf, MiB, off, &got, &why), AF_OK,
		    "%s", why.text);
		cr_assert_eq(memcmp(buf, orig + off, got), 0);
	}
	af_stream_free(s);
	close(fd);
	free(buf);
	free(orig);
	free(z);
}

/* ---- re-signing out of memory ---- */

static char *
artifact_copy(char *dir, char *path, size_t pathlen)
{
	char src[4096];
	size_t len;
	uint8_t *data;
	int fd;

	if (fixture_path("rootfs-gzip.mender", src, sizeof(src)) == NULL)
		cr_skip_test("no fixtures (FIXTURES)");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/art.mender", dir);
	cr_assert_not_null(data = read_file(src, &len));
	cr_assert((fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644)) >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(data);
	return path;
}

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * Every allocation of af_place_open and af_rewrite_sign made to fail in
 * turn: each fails cleanly, saying why.text, frees only what it allocated (ASan
 * and the integration runs check the frees) and leaves no file behind (issue
 * 19: split_path returned before setting dir and base, which the cleanup
 * then freed).
 */
Test(inject, resign_out_of_memory)
{
	char dir[] = "/tmp/afinject-XXXXXX", path[4096];
	struct af_reason why = { 0 };
	struct af_reason reason;
	struct artifact *a;
	struct af_place *p;
	struct af_rewrite *r;
	long k, place_fails = 0, start_fails = 0;
	bool done;

	artifact_copy(dir, path, sizeof(path));
	cr_assert_eq(artifact_open(path, &a, &why), AF_OK, "%s", why.text);
	for (k = 1, done = false; !done && k < 100; k++) {
		af_reason_clear(&reason);
		atomic_store(&failures, 0);
		atomic_store(&fail_in, k);
		p = af_place_open(a, &reason);
		atomic_store(&fail_in, 0);
		done = atomic_load(&failures) == 0;
		if (p == NULL) {
			cr_assert(!done, "af_place_open failed with no failure injected: %s",
			    reason.text);
			cr_assert_eq(reason.code, AF_C_NO_MEMORY, "%s", reason.text);
			place_fails++;
		}
		af_place_close(p);
	}
	cr_assert(done && place_fails >= 3, "%ld failures of af_place_open", place_fails);
	p = af_place_open(a, &reason);
	cr_assert_not_null(p, "%s", reason.text);
	for (k = 1, done = false; !done && k < 100; k++) {
		af_reason_clear(&reason);
		atomic_store(&failures, 0);
		atomic_store(&fail_in, k);
		r = af_rewrite_sign(a, p, (const uint8_t *)"sig", 3, CR_SIG_RSA, &reason);
		atomic_store(&fail_in, 0);
		done = atomic_load(&failures) == 0;
		if (r == NULL) {
			cr_assert(!done, "af_rewrite_sign failed with no failure injected: %s",
			    reason.text);
			cr_assert_neq(reason.code, AF_C_NONE, "%s", reason.text);
			start_fails++;
		}
		af_rewrite_abort(r);
		cr_assert_eq(entries(dir), 1, "a file was left next to the artifact (k=%ld)", k);
	}
	cr_assert(done && start_fails >= 1, "%ld failures of af_rewrite_sign", start_fails);
	af_place_close(p);
	artifact_close(a);
	unlink(path);
	rmdir(dir);
}

/* ---- payload lookups while a scan decodes ---- */

struct finder {
	struct af_payload *pl;
	const char *name;
	enum af_err err;
	size_t count;
	const struct af_payload_file *f;
};

static void *
find_main(void *arg)
{
	struct finder *f = arg;

	f->err = af_payload_find(f->pl, f->name, &f->f);
	f->count = af_payload_count(f->pl);
	(void)af_payload_find_scanned(f->pl, f->name);
	return NULL;
}

/*
 * While one thread scans the payload for a name (its reads held at a gate),
 * lookups of files already found, the file count and the listing answer at
 * once (issue 19: af_payload_find held the payload lock while it decoded).
 */
Test(inject, found_files_answer_while_a_scan_decodes)
{
	struct synth s;
	struct tb t;
	uint8_t *big = tb_pattern(8 * MiB, 5), *raw;
	size_t len;
	struct artifact *a;
	struct finder scan, quick;
	pthread_t scanner, asker;
	struct timespec until;
	int joined;

	synth_default(&s, AF_COMP_NONE);
	tb_init(&t);
	tb_add_str(&t, SYNTH_FILE, SYNTH_FILE_DATA);
	tb_add(&t, "big.bin", big, 8 * MiB);
	tb_add_str(&t, "last.txt", "the end\n");
	tb_end(&t);
	raw = tb_take(&t, &len);
	synth_set(&s, "data/0000.tar", raw, len);
	a = synth_open_ok(&s);
	scan = (struct finder){ artifact_payload(a, 0), "no-such-file", AF_OK, 0, NULL };
	quick = (struct finder){ scan.pl, SYNTH_FILE, AF_OK, 0, NULL };
	cr_assert_not_null(scan.pl);
	cr_assert_eq(af_payload_find(scan.pl, SYNTH_FILE, &quick.f), AF_OK);

	gate_exempt = true;
	gate_set(true);
	cr_assert_eq(pthread_create(&scanner, NULL, find_main, &scan), 0);
	cr_assert(gate_has_waiter(20), "the scan never read");
	cr_assert_eq(pthread_create(&asker, NULL, find_main, &quick), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	joined = pthread_timedjoin_np(asker, NULL, &until);
	gate_set(false);
	if (joined != 0)
		pthread_join(asker, NULL);
	pthread_join(scanner, NULL);
	gate_exempt = false;
	cr_assert_eq(joined, 0, "a lookup of a file already found waited for the scan");
	cr_assert_eq(quick.err, AF_OK);
	cr_assert_eq(scan.err, AF_ENOENT, "%s", af_strerror(scan.err));
	cr_assert_eq(af_payload_count(scan.pl), 3);
	artifact_close(a);
	synth_free(&s);
	free(raw);
	free(big);
}
