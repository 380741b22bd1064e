/*
 * The mounted tree: a node per directory and file built from the artifact at
 * mount, except that a payload directory's files are looked up in its
 * payload on demand, so listing the tree never decompresses a payload.
 */
#ifndef FS_TREE_H
#define FS_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "artifact/artifact.h"

enum fs_kind {
	FS_DIR,
	FS_PAYLOAD_DIR,		/* data/NNNN/: files come from the payload */
	FS_MEMBER,		/* raw bytes of an outer member */
	FS_HEADER_FILE,		/* a file of an unpacked header, in memory */
	FS_PAYLOAD_FILE,
	FS_STATUS,		/* signature-status: generated on open */
	FS_CONTROL_VERIFY_KEY,	/* control/verify-key: writable */
	FS_CONTROL_SIGN_KEY,	/* control/sign-key: writable, never readable back */
	FS_CONTROL_PROGRESS,	/* control/progress: generated on open */
	FS_CONTROL_DAEMON,	/* control/daemon: pid and outcome socket, for -u */
};

struct fs_node {
	char *name;
	enum fs_kind kind;
	unsigned mode;		/* permission bits */
	int64_t mtime;
	struct fs_node *children, *next;
	const struct af_member *member;		/* FS_MEMBER */
	const struct af_header_file *hfile;	/* FS_HEADER_FILE */
	struct af_payload *payload;		/* FS_PAYLOAD_DIR */
	const struct artifact *artifact;	/* FS_PAYLOAD_DIR: whose manifests name files */
};

/* What a path names: a node, or a payload file (node is its directory). */
struct fs_entry {
	const struct fs_node *node;
	const struct af_payload_file *pfile;	/* FS_PAYLOAD_FILE only */
	enum fs_kind kind;
};

struct fs_node *fs_tree_build(const struct artifact *a);
void fs_tree_free(struct fs_node *root);

/* Resolves an absolute path ("/header/header-info"); an af_err on failure. */
enum af_err fs_tree_resolve(const struct fs_node *root, const char *path,
    struct fs_entry *out);

/* True for the files whose bytes are made when opened (no fixed size). */
bool fs_kind_is_live(enum fs_kind kind);
/* 0 .. FS_LIVE_KINDS-1 for a live kind, to index per-file state. */
#define FS_LIVE_KINDS 4
unsigned fs_live_index(enum fs_kind kind);
bool fs_kind_is_dir(enum fs_kind kind);
/* control/verify-key and control/sign-key. */
bool fs_kind_is_writable(enum fs_kind kind);

/* Size of what an entry names (0 for directories and live files). */
uint64_t fs_entry_size(const struct fs_entry *entry);
int64_t fs_entry_mtime(const struct fs_entry *entry);

#endif
