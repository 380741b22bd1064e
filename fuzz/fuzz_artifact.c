/*
 * libFuzzer harness: a whole .mender file through everything artifact/ does
 * with it.  The input is written to a memfd and opened by its /proc path, as
 * the daemon opens a file; then every member, manifest, header and payload
 * file is read, checksums are verified (small inputs only: it reads
 * everything), the signature is checked with no key and with a fixed P-256
 * key, and the artifact is closed.  ASan/UBSan/LSan report what goes wrong;
 * the few contracts of the public headers that can be checked cheaply abort()
 * when broken.
 *
 * Reads are bounded so that decompression bombs do not make runs slow: at
 * most 4 MiB per payload file and 16 MiB per input, in 64 KiB chunks.
 *
 * Mutations are structure-aware (mutator.c): inside a member's decompressed
 * inner tar, with tar checksums recomputed, so the fuzzer gets past the
 * checksum and CRC checks to the parsers behind them.
 *
 * AF_FUZZ_SKIP=text in the environment turns off the "one line" checks on
 * refusal reasons and problems (to fuzz on past a known bug; fuzz/README.md).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/sigcheck.h"
#include "artifact/verify.h"
#include "crypto/key.h"
#include "mutator.h"

#define CHUNK (64u << 10)
#define PER_FILE (4u << 20)
#define PER_INPUT (16u << 20)
#define VERIFY_MAX (32u << 10)	/* sum of member sizes under which checksums are verified */
#define MAX_PAYLOAD_FILES 4096

static const char ec_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIhuPp2NtNHz1MTHtOJXNRFqa9bp0\n"
    "QiC+NLYJvSTZkpIAGnDTUSqDQVP4ZUZfY/b6stcZBThr39Xuaecdau9jaw==\n"
    "-----END PUBLIC KEY-----\n";

static struct cr_key **keys;
static int key_count;
static bool text_check = true;
static uint8_t *chunk;
static volatile uint64_t sink;	/* keeps the reads from being optimised away */

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_artifact: contract broken: %s: [%s]\n", what,
	    detail != NULL ? detail : "(null)");
	abort();
}

/* A reason or problem is one line of text (problems.h, artifact.h). */
static void
check_line(const char *what, const char *s)
{
	if (s == NULL)
		die(what, "NULL");
	if (text_check && strchr(s, '\n') != NULL)
		die(what, s);
}

static void
touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i < n; i += 61)
		acc += b[i];
	if (n > 0)
		acc += b[n - 1];
	sink += acc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct af_reason why = { 0 };
	size_t n = 0;
	const char *skip = getenv("AF_FUZZ_SKIP");

	(void)argc, (void)argv;
	text_check = skip == NULL || strstr(skip, "text") == NULL;
	if (cr_keys_load_public(ec_pub, sizeof(ec_pub) - 1, &keys, &n, &why) != AF_OK || n != 1) {
		fprintf(stderr, "fuzz_artifact: the embedded key does not load: %s\n", why.text);
		abort();
	}
	key_count = (int)n;
	if ((chunk = malloc(CHUNK)) == NULL)
		abort();
	return 0;
}

static void
read_members(const struct artifact *a, uint64_t *budget, uint64_t *sum)
{
	size_t i, n = artifact_member_count(a);

	*sum = 0;
	for (i = 0; i < n; i++) {
		const struct af_member *m = artifact_member_at(a, i);
		uint64_t off = 0;
		size_t got;

		if (m == NULL)
			die("artifact_member_at", "NULL below the count");
		if (m->name == NULL)
			die("member name", "NULL");
		*sum += m->size > UINT64_MAX - *sum ? UINT64_MAX - *sum : m->size;
		while (*budget > 0 && off < m->size) {
			size_t want = m->size - off < CHUNK ? (size_t)(m->size - off) : CHUNK;
			if (artifact_member_pread(a, m, chunk, want, off, &got) != AF_OK || got == 0)
				break;
			if (got > want)
				die("artifact_member_pread", "returned more than asked");
			touch(chunk, got);
			off += got;
			*budget -= got < *budget ? got : *budget;
		}
		/* past the end is empty, not an error */
		if (artifact_member_pread(a, m, chunk, 16, m->size, &got) != AF_OK || got != 0)
			die("artifact_member_pread", "bytes past the member's end");
	}
	if (artifact_member_at(a, n) != NULL)
		die("artifact_member_at", "non-NULL past the count");
}

static void
read_small(const struct artifact *a)
{
	enum af_member_kind kind;
	const uint8_t *b;
	size_t len;

	for (kind = AF_MEMBER_VERSION; kind <= AF_MEMBER_UNKNOWN; kind++) {
		artifact_member(a, kind, 0);
		if ((b = artifact_member_bytes(a, kind, &len)) != NULL) {
			touch(b, len);
			if (b[len] != '\0')	/* artifact_impl.h: NUL-terminated copy */
				die("artifact_member_bytes", "not NUL-terminated");
		}
	}
}

static void
read_manifests(const struct artifact *a)
{
	int aug;
	size_t i;

	for (aug = 0; aug < 2; aug++) {
		const struct af_manifest *m = artifact_manifest(a, aug);
		if (m == NULL)
			continue;
		for (i = 0; i < m->count; i++) {
			touch(m->entries[i].name, strlen(m->entries[i].name));
			touch(m->entries[i].sum, strlen(m->entries[i].sum));
			if (af_manifest_find(m, m->entries[i].name) == NULL)
				die("af_manifest_find", m->entries[i].name);
		}
	}
}

static void
read_headers(const struct artifact *a)
{
	int aug;
	size_t i;

	for (aug = 0; aug < 2; aug++) {
		const struct af_header *h = artifact_header(a, aug);
		if (h == NULL)
			continue;
		for (i = 0; i < h->count; i++) {
			const struct af_header_file *f = &h->files[i];
			if (f->data < h->buf || f->size > h->buf_len ||
			    (size_t)(f->data - h->buf) > h->buf_len - f->size)
				die("header file outside the header buffer", f->path);
			touch(f->data, f->size);
			if (af_header_find(h, f->path) == NULL)
				die("af_header_find", f->path);
		}
		if (h->artifact_name != NULL)
			touch(h->artifact_name, strlen(h->artifact_name));
		for (i = 0; i < h->device_type_count; i++)
			touch(h->device_types[i], strlen(h->device_types[i]));
		if (h->payload_type != NULL)
			touch(h->payload_type, strlen(h->payload_type));
	}
}

static void
read_payloads(const struct artifact *a, uint64_t *budget)
{
	size_t i, k, n = artifact_member_count(a);
	struct af_reason why = { 0 };

	for (i = 0; i < n; i++) {
		const struct af_member *m = artifact_member_at(a, i);
		const struct af_payload_file *f;
		struct af_payload *p;

		if (!m->shown || m->kind != AF_MEMBER_DATA)
			continue;
		if ((p = artifact_payload(a, m->index)) == NULL)
			die("artifact_payload", m->name);
		for (k = 0; k < MAX_PAYLOAD_FILES && *budget > 0; k++) {
			uint64_t off = 0, cap;
			size_t got;
			enum af_err err = af_payload_at(p, k, &f);

			if (err != AF_OK)
				break;
			if (f == NULL || f->name == NULL)
				die("af_payload_at", "AF_OK without a file");
			cap = f->size < PER_FILE ? f->size : PER_FILE;
			while (off < cap && *budget > 0) {
				size_t want = cap - off < CHUNK ? (size_t)(cap - off) : CHUNK;
				why.text[0] = '\0';
				err = af_payload_read(p, f, chunk, want, off, &got, &why);
				if (got > want)
					die("af_payload_read", "returned more than asked");
				if (err != AF_OK) {
					check_line("af_payload_read why", why.text);
					break;
				}
				if (got == 0)
					die("af_payload_read", "AF_OK with no bytes inside the file");
				touch(chunk, got);
				off += got;
				*budget -= got < *budget ? got : *budget;
			}
		}
		/* the lookup path the mount uses, for a file that is there and one that is not */
		if (af_payload_count(p) > 0 && (f = af_payload_get(p, 0)) != NULL &&
		    af_payload_find(p, f->name, &f) != AF_OK)
			die("af_payload_find", "a listed file is not found");
		if (*budget > 0)
			af_payload_find(p, "no-such-file", &f);
		af_payload_get(p, af_payload_count(p));
	}
}

static void
check_problems(const struct artifact *a)
{
	const struct af_problems *list = artifact_problems(a);
	size_t i, n = af_problems_count(list), errors = 0;

	for (i = 0; i < n; i++) {
		const struct af_problem *p = af_problems_get(list, i);
		if (p == NULL)
			die("af_problems_get", "NULL below the count");
		check_line("problem where", p->where);
		check_line("problem text", p->text);
		errors += p->severity == AF_ERROR;
	}
	if (errors != af_problems_errors(list))
		die("af_problems_errors", "does not count the errors");
}

static void
verify(struct artifact *a)
{
	struct af_checks checks;
	size_t i, failed = 0;

	if (af_verify_checksums(a, NULL, NULL, &checks) != AF_OK)
		return;
	for (i = 0; i < checks.count; i++) {
		const struct af_check *c = &checks.items[i];
		touch(c->name, strlen(c->name));
		af_check_result_word(c->result);
		if (c->detail != NULL)
			check_line("check detail", c->detail);
		failed += c->result != AF_CHECK_OK;
	}
	if (failed != checks.failed)
		die("af_verify_checksums", "failed count is wrong");
	af_checks_clear(&checks);
}

static void
signature(const struct artifact *a)
{
	struct af_sigcheck sig;
	size_t i;

	if (af_check_signature(a, NULL, 0, &sig) == AF_OK)
		af_sigcheck_clear(&sig);
	if (af_check_signature(a, keys, (size_t)key_count, &sig) == AF_OK) {
		if (sig.decoded && sig.key_count != (size_t)key_count)
			die("af_check_signature", "per-key results missing");
		for (i = 0; i < sig.key_count; i++)
			check_line("verify detail", sig.per_key[i].detail);
		if (sig.guess != NULL)
			touch(sig.guess, strlen(sig.guess));
		af_sigcheck_clear(&sig);
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed);

/* Mutations inside the compressed inner tars, with tar checksums kept right. */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	return af_fuzz_mutate(data, size, max_size, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct artifact *a = NULL;
	char path[64];
	struct af_reason why = { 0 };
	uint64_t budget = PER_INPUT, sum;
	size_t done = 0;
	ssize_t n;
	int fd = memfd_create("fuzz.mender", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	while (done < size) {
		if ((n = write(fd, data + done, size - done)) <= 0)
			abort();
		done += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (artifact_open(path, &a, &why) != AF_OK) {
		if (a != NULL)
			die("artifact_open", "failed but set *out");
		if (why.text[0] == '\0')
			die("artifact_open", "failed without a reason");
		check_line("artifact_open reason", why.text);
		close(fd);
		return 0;
	}
	artifact_path(a);
	artifact_format_version(a);
	artifact_stat(a);
	read_members(a, &budget, &sum);
	read_small(a);
	read_manifests(a);
	read_headers(a);
	read_payloads(a, &budget);
	if (sum <= VERIFY_MAX)
		verify(a);
	signature(a);
	check_problems(a);
	artifact_close(a);
	close(fd);
	return 0;
}
