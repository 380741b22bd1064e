/* The inside of struct artifact, for artifact/ only (artifact.c, artifact_load.c,
 * coverage.c, rewrite.c). */
#ifndef AF_ARTIFACT_IMPL_H
#define AF_ARTIFACT_IMPL_H

#include "artifact/artifact.h"

/* version, manifest, manifest.sig, manifest-augment: the members kept in memory */
#define SMALL_KINDS 4

struct small_member {
	uint8_t *bytes;		/* NUL-terminated copy; NULL if absent or over cap */
	size_t len;
};

struct artifact {
	char *path;
	int fd;
	struct stat st;
	int version;
	struct af_member *members;
	size_t count;
	struct small_member small[SMALL_KINDS];
	struct af_manifest manifest[2];	/* [1]: manifest-augment */
	bool has_manifest[2];
	struct af_header header[2];	/* [1]: header-augment */
	bool has_header[2];
	struct af_payload **payloads;	/* one per shown data member, in order */
	unsigned *payload_index;
	size_t payload_count;
	struct af_problems *problems;
	char *damage;		/* why the outer tar could not be read on, or NULL */
};

/* After index_members: loads and parses everything the mount needs. */
enum af_err artifact_load(struct artifact *a, struct af_reason *why);
/* Checks that the manifests, members and header-info agree (coverage.c). */
void artifact_check_coverage(struct artifact *a);
/* Reads a whole member into a NUL-terminated malloc'd buffer. */
enum af_err artifact_read_member(struct artifact *a, const struct af_member *m,
    uint8_t **out);

#endif
