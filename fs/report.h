/*
 * artifactfs --status: the signature-status report of each artifact, as text
 * or as one JSON object per line, without FUSE; and the loading of keys and
 * artifacts that a mount shares with it.
 */
#ifndef FS_REPORT_H
#define FS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "fs/cli.h"
#include "fs/keys.h"

/* Exit codes of --status, as the man page lists them. */
enum {
	STATUS_VALID = 0,
	STATUS_INVALID = 1,
	STATUS_UNSIGNED = 2,
	STATUS_UNVERIFIED = 3,
	STATUS_UNREADABLE = 4,
	STATUS_USAGE = 5,
};

/* The keys of the files; NULL with why ("FILE: what is wrong"). */
struct fs_keyring *fs_load_keys(char *const *paths, size_t count, struct af_reason *why);
/* Opens an artifact by its absolute path; NULL with why ("GIVEN: ..."). */
struct artifact *fs_open_artifact(const char *given, struct af_reason *why);

/* Runs --status on every operand; returns the worst exit status. */
int fs_report_run(const struct cli *c);

#endif
