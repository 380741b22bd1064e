#include "fs/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fs_node *
node_new(struct fs_node *parent, const char *name, size_t len, enum fs_kind kind,
    int64_t mtime)
{
	struct fs_node *n = calloc(1, sizeof(*n)), **tail;

	if (n == NULL || (n->name = strndup(name, len)) == NULL) {
		free(n);
		return NULL;
	}
	n->kind = kind;
	n->mode = fs_kind_is_dir(kind) ? 0555 : 0444;
	n->mtime = mtime;
	if (parent != NULL) {
		/* append, so listings keep the artifact's order */
		for (tail = &parent->children; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = n;
	}
	return n;
}

static struct fs_node *
child(const struct fs_node *dir, const char *name, size_t len)
{
	struct fs_node *c;

	for (c = dir->children; c != NULL; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

/* Adds "a/b/c" under dir, making the directories on the way. */
static struct fs_node *
add_path(struct fs_node *dir, const char *path, enum fs_kind kind, int64_t mtime)
{
	const char *slash;
	struct fs_node *sub;

	while ((slash = strchr(path, '/')) != NULL) {
		sub = child(dir, path, (size_t)(slash - path));
		if (sub == NULL &&
		    (sub = node_new(dir, path, (size_t)(slash - path), FS_DIR, mtime)) == NULL)
			return NULL;
		if (sub->kind != FS_DIR)
			return NULL;	/* a file and a directory of the same name */
		dir = sub;
		path = slash + 1;
	}
	if (child(dir, path, strlen(path)) != NULL)
		return NULL;
	return node_new(dir, path, strlen(path), kind, mtime);
}

static bool
add_header(struct fs_node *root, const struct af_header *h, const struct af_member *m,
    const char *dirname)
{
	struct fs_node *dir, *f;
	size_t i;

	if (h == NULL || m == NULL)
		return true;
	if ((dir = node_new(root, dirname, strlen(dirname), FS_DIR, m->mtime)) == NULL)
		return false;
	for (i = 0; i < h->count; i++) {
		f = add_path(dir, h->files[i].path, FS_HEADER_FILE, h->files[i].mtime);
		if (f != NULL)
			f->hfile = &h->files[i];
	}
	return true;
}

static bool
add_member(struct fs_node *dir, const char *name, const struct af_member *m)
{
	struct fs_node *n = node_new(dir, name, strlen(name), FS_MEMBER, m->mtime);

	if (n != NULL)
		n->member = m;
	return n != NULL;
}

static bool
add_data(struct fs_node *root, const struct artifact *a, int64_t mtime)
{
	struct fs_node *data = NULL, *pdir;
	size_t i;
	char name[16];

	for (i = 0; i < artifact_member_count(a); i++) {
		const struct af_member *m = artifact_member_at(a, i);
		if (!m->shown || m->kind != AF_MEMBER_DATA)
			continue;
		if (data == NULL && (data = node_new(root, "data", 4, FS_DIR, mtime)) == NULL)
			return false;
		if (!add_member(data, m->name + 5, m))
			return false;
		snprintf(name, sizeof(name), "%04u", m->index);
		if ((pdir = node_new(data, name, strlen(name), FS_PAYLOAD_DIR, m->mtime)) == NULL)
			return false;
		pdir->payload = artifact_payload(a, m->index);
		pdir->artifact = a;
	}
	return true;
}

/* signature-status and control/: the files that are not the artifact's. */
static bool
add_live(struct fs_node *root, int64_t mtime)
{
	struct fs_node *control, *n;

	if (node_new(root, "signature-status", 16, FS_STATUS, mtime) == NULL ||
	    (control = node_new(root, "control", 7, FS_DIR, mtime)) == NULL ||
	    (n = node_new(control, "verify-key", 10, FS_CONTROL_VERIFY_KEY, mtime)) == NULL)
		return false;
	control->mode = 0700;	/* keys are the mounting user's business */
	n->mode = 0600;
	if ((n = node_new(control, "sign-key", 8, FS_CONTROL_SIGN_KEY, mtime)) == NULL)
		return false;
	n->mode = 0600;
	if ((n = node_new(control, "progress", 8, FS_CONTROL_PROGRESS, mtime)) == NULL)
		return false;
	n->mode = 0400;
	if ((n = node_new(control, "daemon", 6, FS_CONTROL_DAEMON, mtime)) == NULL)
		return false;
	n->mode = 0400;
	return true;
}

struct fs_node *
fs_tree_build(const struct artifact *a)
{
	static const enum af_member_kind top[] = { AF_MEMBER_VERSION, AF_MEMBER_MANIFEST,
	    AF_MEMBER_SIGNATURE, AF_MEMBER_MANIFEST_AUGMENT, AF_MEMBER_HEADER,
	    AF_MEMBER_HEADER_AUGMENT };
	int64_t mtime = (int64_t)artifact_stat(a)->st_mtime;
	struct fs_node *root = node_new(NULL, "", 0, FS_DIR, mtime);
	const struct af_member *m;
	size_t i;

	if (root == NULL)
		return NULL;
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		/* the first member is "version" even if it was misnamed "versionX" */
		if ((m = artifact_member(a, top[i], 0)) != NULL &&
		    !add_member(root, top[i] == AF_MEMBER_VERSION ? "version" : m->name, m))
			goto fail;
	}
	if (!add_header(root, artifact_header(a, false), artifact_member(a, AF_MEMBER_HEADER, 0),
	    "header") ||
	    !add_header(root, artifact_header(a, true),
	    artifact_member(a, AF_MEMBER_HEADER_AUGMENT, 0), "header-augment") ||
	    !add_data(root, a, mtime) || !add_live(root, mtime))
		goto fail;
	return root;
fail:
	fs_tree_free(root);
	return NULL;
}

void
fs_tree_free(struct fs_node *n)
{
	struct fs_node *c, *next;

	if (n == NULL)
		return;
	for (c = n->children; c != NULL; c = next) {
		next = c->next;
		fs_tree_free(c);
	}
	free(n->name);
	free(n);
}

/*
 * A name the manifests list is worth decompressing up to; any other name is
 * looked for only among the files already found, so that probing names
 * (shells, file managers, typos) never decompresses a whole payload.  Files
 * the manifests do not list show up once a full pass (verification) found them.
 */
static enum af_err
resolve_payload_file(const struct fs_node *dir, const char *name, struct fs_entry *out)
{
	char listed[300];
	enum af_err err;

	snprintf(listed, sizeof(listed), "data/%s/%s", dir->name, name);
	if (artifact_lists(dir->artifact, listed)) {
		if ((err = af_payload_find(dir->payload, name, &out->pfile)) != AF_OK)
			return err;
	} else if ((out->pfile = af_payload_find_scanned(dir->payload, name)) == NULL) {
		return AF_ENOENT;
	}
	out->node = dir;
	out->kind = FS_PAYLOAD_FILE;
	return AF_OK;
}

enum af_err
fs_tree_resolve(const struct fs_node *root, const char *path, struct fs_entry *out)
{
	const struct fs_node *n = root;
	size_t len;

	memset(out, 0, sizeof(*out));
	while (*path == '/')
		path++;
	while (*path != '\0') {
		len = strcspn(path, "/");
		if (n->kind == FS_PAYLOAD_DIR) {
			if (path[len] != '\0' || n->payload == NULL)
				return AF_ENOENT;
			return resolve_payload_file(n, path, out);
		}
		if ((n = child(n, path, len)) == NULL)
			return AF_ENOENT;
		path += len;
		while (*path == '/')
			path++;
	}
	out->node = n;
	out->kind = n->kind;
	return AF_OK;
}

bool
fs_kind_is_live(enum fs_kind kind)
{
	return kind == FS_STATUS || kind == FS_CONTROL_VERIFY_KEY ||
	    kind == FS_CONTROL_SIGN_KEY || kind == FS_CONTROL_PROGRESS ||
	    kind == FS_CONTROL_DAEMON;
}

unsigned
fs_live_index(enum fs_kind kind)
{
	switch (kind) {
	case FS_CONTROL_VERIFY_KEY: return 1;
	case FS_CONTROL_SIGN_KEY: return 2;
	case FS_CONTROL_PROGRESS: return 3;
	default: return 0;
	}
}

bool
fs_kind_is_writable(enum fs_kind kind)
{
	return kind == FS_CONTROL_VERIFY_KEY || kind == FS_CONTROL_SIGN_KEY;
}

bool
fs_kind_is_dir(enum fs_kind kind)
{
	return kind == FS_DIR || kind == FS_PAYLOAD_DIR;
}

uint64_t
fs_entry_size(const struct fs_entry *e)
{
	switch (e->kind) {
	case FS_MEMBER: return e->node->member->size;
	case FS_HEADER_FILE: return e->node->hfile->size;
	case FS_PAYLOAD_FILE: return e->pfile->size;
	default: return 0;
	}
}

int64_t
fs_entry_mtime(const struct fs_entry *e)
{
	return e->kind == FS_PAYLOAD_FILE ? e->pfile->mtime : e->node->mtime;
}
