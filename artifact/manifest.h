/*
 * The manifest: "<sha256 hex>  <name>\n" per line.  mender-artifact parses it
 * leniently and verifies the signature over a rebuilt text, the C++ client
 * strictly and over the raw bytes; so we parse leniently (to check checksums
 * as mender-artifact would) and say exactly where a manifest is not
 * canonical, since only a canonical manifest means the same to both.
 */
#ifndef AF_MANIFEST_H
#define AF_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "artifact/names.h"
#include "artifact/problems.h"

struct af_manifest_entry {
	char *name;
	char *sum;		/* as written; 64 lowercase hex digits when canonical */
	unsigned line;
};

struct af_manifest {
	struct af_manifest_entry *entries;
	size_t count;
	bool canonical;
	struct af_names index;	/* entries by name (the first of each) */
};

/*
 * Parses text of len bytes (the member named member, for messages).  Each
 * deviation from the canonical form and each malformed line is added to
 * problems.  Fails only on memory exhaustion.
 */
enum af_err af_manifest_parse(const char *text, size_t len, const char *member,
    struct af_manifest *out, struct af_problems *problems);
void af_manifest_clear(struct af_manifest *manifest);

const struct af_manifest_entry *af_manifest_find(const struct af_manifest *manifest,
    const char *name);

#endif
