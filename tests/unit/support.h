/*
 * Test helpers above tarbuild: looking through a problem list, and
 * "synthetic" artifacts: a small valid Mender artifact built member by member
 * in memory, which a test then breaks in exactly one way.
 */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "artifact/problems.h"
#include "crypto/key.h"
#include "tarbuild.h"

#define ANY_SEVERITY (-1)

/* Problems whose severity matches (or ANY_SEVERITY), whose where equals where
 * (or NULL for any) and whose text contains every fragment of text (fragments
 * separated by '|'; NULL for any). */
size_t count_problems(const struct af_problems *p, int severity, const char *where,
    const char *text);
bool has_problem(const struct af_problems *p, int severity, const char *where,
    const char *text);
/* The same, of code (or AF_C_NONE for any): the kind of problem, whatever
 * its words; text is then for the names and numbers it must give. */
size_t count_coded(const struct af_problems *p, int severity, enum af_code code,
    const char *where, const char *text);
/* All problems, one per line, for failure messages (a static buffer). */
const char *problems_str(const struct af_problems *p);

#define SYNTH_MAX 24

struct synth_member {
	char *name;
	uint8_t *data;
	size_t len;
	char type;		/* 0: regular file */
	unsigned flags;		/* tarbuild TB_* flags */
	uint64_t size;		/* with TB_SIZE_SET */
};

struct synth {
	struct synth_member m[SYNTH_MAX];
	size_t n;
	bool no_end_blocks;
};

/* The JSON a synthetic artifact uses unless a test changes it. */
#define SYNTH_NAME "synth-1"
#define SYNTH_DEVICE "dev1"
#define SYNTH_TYPE "my-module"
#define SYNTH_HEADER_INFO "{\"payloads\":[{\"type\":\"" SYNTH_TYPE "\"}]," \
	"\"artifact_provides\":{\"artifact_name\":\"" SYNTH_NAME "\"}," \
	"\"artifact_depends\":{\"device_type\":[\"" SYNTH_DEVICE "\"]}}"
#define SYNTH_TYPE_INFO "{\"type\":\"" SYNTH_TYPE "\"}"
#define SYNTH_VERSION "{\"format\":\"mender\",\"version\":3}"
#define SYNTH_FILE "file1.txt"
#define SYNTH_FILE_DATA "hello, payload\n"

/* A 64-hex-digit stand-in checksum, different per seed. */
const char *fake_sum(unsigned seed);

/* version, manifest, header.tar<ext>, data/0000.tar<ext> (one file). */
void synth_default(struct synth *s, enum af_compression comp);
void synth_free(struct synth *s);
/* Index of the member called name, or -1. */
int synth_index(const struct synth *s, const char *name);
/* Inserts a member at index at (s->n appends); copies data. */
struct synth_member *synth_insert(struct synth *s, size_t at, const char *name,
    const void *data, size_t len);
/* Replaces the data of a member (which must exist). */
void synth_set(struct synth *s, const char *name, const void *data, size_t len);
void synth_remove(struct synth *s, const char *name);
void synth_rename(struct synth *s, const char *from, const char *to);
/* The outer tar; *offsets (if not NULL) gets each member's tar positions. */
uint8_t *synth_build(const struct synth *s, size_t *len, struct tb_pos *offsets);

/* An uncompressed header tar: header-info, type-info and (if not NULL) meta-data. */
uint8_t *header_tar(const char *header_info, const char *type_info, const char *meta_data,
    size_t *len);
/* A manifest text listing these names, each with fake_sum(i). */
char *manifest_for(const char *const *names, size_t count);

/* Writes bytes to an unlinked temp file and opens it as an artifact; *fd
 * gets the temp file's descriptor (close it when done). */
enum af_err open_bytes(const void *data, size_t len, struct artifact **a,
    struct af_reason *why, int *fd);
/* Builds and opens; cr_asserts success (printing why.text) and returns the artifact. */
struct artifact *synth_open_ok(const struct synth *s);

/* The one public key in PEM text; cr_asserts that it loads (what names it). */
struct cr_key *one_public_key(const char *pem, size_t len, const char *what);

/* The artifacts mender-artifact wrote (tests/fixtures, FIXTURES), as
 * parameters of a ParameterizedTest: copied into each test's process, so no
 * pointers in them. */
struct fixture_param {
	char name[48];
};
extern struct fixture_param mender_fixtures[];
extern const size_t mender_fixture_count;

/* A fresh directory for each test, as a suite's .init and .fini: test_dir
 * holds its path while the test runs. */
extern char test_dir[64];
void test_dir_make(void);
void test_dir_remove(void);

#endif
