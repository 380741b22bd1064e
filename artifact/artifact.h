/*
 * A Mender Artifact opened for reading: the outer tar's member index, the
 * small members in memory, the parsed manifest(s) and header(s), a payload
 * view per data member, and the problems found.
 *
 * The public face of artifact/ is this header and those it includes, with
 * verify.h (checksums), sigcheck.h (the signature check), verdict.h (the
 * verdict) and rewrite.h (re-signing); fs/ and the --status path use only
 * these (tests/layering.sh checks it).  The rest (artifact_impl.h,
 * checkpoint.h, json.h, names.h, place_impl.h, stream.h, tar.h) is
 * artifact/'s own.
 */
#ifndef AF_ARTIFACT_H
#define AF_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "artifact/codec.h"
#include "common/error.h"
#include "artifact/header.h"
#include "artifact/manifest.h"
#include "artifact/payload.h"
#include "artifact/problems.h"

enum af_member_kind {
	AF_MEMBER_VERSION,
	AF_MEMBER_MANIFEST,
	AF_MEMBER_SIGNATURE,		/* manifest.sig */
	AF_MEMBER_MANIFEST_AUGMENT,
	AF_MEMBER_HEADER,		/* header.tar<ext> */
	AF_MEMBER_HEADER_AUGMENT,
	AF_MEMBER_DATA,			/* data/NNNN.tar<ext> */
	AF_MEMBER_UNKNOWN,
};

struct af_member {
	char *name;
	enum af_member_kind kind;
	bool shown;			/* the first of its kind (and index); in the tree */
	unsigned index;			/* NNNN of a data member */
	enum af_compression comp;	/* of an inner tar */
	uint64_t header_offset;		/* where its tar header starts */
	uint64_t data_offset;
	uint64_t size;
	uint32_t mode;
	int64_t mtime;
	bool truncated;			/* the file ends before its data does */
};

struct artifact;

/*
 * Opens and indexes the artifact at path.  Fails only when the file cannot be
 * read or is not a Mender artifact at all; then why holds one line saying
 * what is wrong and what to do (without the file name), and a code
 * (not-artifact, io, truncated, ...).  Anything else that
 * is wrong is recorded in artifact_problems().
 */
enum af_err artifact_open(const char *path, struct artifact **out,
    struct af_reason *why);
void artifact_close(struct artifact *a);
/* artifact_close for a daemon whose re-sign renamed a copy over the file:
 * the last close of the old file, which frees its blocks, is left to a
 * short-lived grandchild so that the exit does not wait for it. */
void artifact_close_replaced(struct artifact *a);

const char *artifact_path(const struct artifact *a);
/* 2 or 3; 3 when the version member is unreadable. */
int artifact_format_version(const struct artifact *a);
/* The file's identity and times at open, to notice later changes. */
const struct stat *artifact_stat(const struct artifact *a);
struct af_problems *artifact_problems(const struct artifact *a);
/* Why the outer tar could not be read to its end (a damaged tar header), or
 * NULL: the cause of what is missing after it. */
const char *artifact_damage(const struct artifact *a);

size_t artifact_member_count(const struct artifact *a);
const struct af_member *artifact_member_at(const struct artifact *a, size_t i);
/* The shown member of a kind (and index, for data); NULL if there is none. */
const struct af_member *artifact_member(const struct artifact *a,
    enum af_member_kind kind, unsigned index);

/* Raw bytes of a member, as stored. */
enum af_err artifact_member_pread(const struct artifact *a,
    const struct af_member *m, void *buf, size_t len, uint64_t off, size_t *got);
/* The bytes of a small member held in memory (version, manifest, manifest.sig,
 * manifest-augment), or NULL if absent, truncated or over its cap. */
const uint8_t *artifact_member_bytes(const struct artifact *a,
    enum af_member_kind kind, size_t *len);

/* NULL when the member is absent or could not be parsed. */
const struct af_manifest *artifact_manifest(const struct artifact *a, bool augment);
const struct af_header *artifact_header(const struct artifact *a, bool augment);

/* Whether manifest or manifest-augment lists name ("data/0000/rootfs.ext4"). */
bool artifact_lists(const struct artifact *a, const char *name);

/* The payload of the shown data member with this index, or NULL. */
struct af_payload *artifact_payload(const struct artifact *a, unsigned index);

/* The caller will read each payload once, front to back (--status): skip
 * the checkpoints that make later reads at an offset cheap, and decode
 * further ahead of the reader. */
void artifact_read_once(struct artifact *a);

#endif
