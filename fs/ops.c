/*
 * FUSE operations.  The high-level (path) API fits: the tree is small and
 * static, libfuse then handles threading, option parsing and daemonizing, and
 * an open file keeps its resolved entry in fi->fh, so reads do no path work.
 */
#include "fs/ops.h"

#include "fs/live.h"
#include "fs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Payload files this big are streamed: read with direct I/O, 1 MiB at a time. */
#define STREAMED_SIZE (1u << 20)

static struct fs_mount *
mount_of(void)
{
	return fuse_get_context()->private_data;
}

int
fs_errno(enum af_err err)
{
	switch (err) {
	case AF_OK: return 0;
	case AF_ENOENT: return -ENOENT;
	case AF_ENOMEM: return -ENOMEM;
	case AF_ETOOBIG: return -EFBIG;
	default: return -EIO;
	}
}

static void *
op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* A spliced write of more than a page reaches op_write through a buffer
	 * libfuse mallocs and frees without wiping: a key file must not. */
	conn->want &= ~FUSE_CAP_SPLICE_READ;
	/* Everything but the live files is immutable for the mount's life. */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	return mount_of();
}

/*
 * Decompressed bytes of a big payload file go straight to the reader: through
 * the page cache each one was copied once more and requests were cut to
 * 128 KiB, which made a sequential read a third slower.  Small files stay in
 * the page cache, where a read costs no pinning of a 1 MiB buffer.
 */
static bool
streamed(const struct fs_entry *e)
{
	return e->kind == FS_PAYLOAD_FILE && fs_entry_size(e) >= STREAMED_SIZE;
}

static void
fill_stat(const struct fs_mount *m, const struct fs_entry *e, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)fs_entry_mtime(e);
	if (fs_kind_is_dir(e->kind)) {
		st->st_mode = S_IFDIR | e->node->mode;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | (e->kind == FS_PAYLOAD_FILE ? 0444 : e->node->mode);
		st->st_nlink = 1;
		st->st_size = (off_t)fs_entry_size(e);
		st->st_blocks = (st->st_size + 511) / 512;
		/* cat, cp and dd size their reads by this: a payload is decoded
		 * in 1 MiB steps, and fewer, larger requests cost less. */
		if (streamed(e))
			st->st_blksize = STREAMED_SIZE;
	}
}

static int
op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_entry e;
	enum af_err err;

	if (fi != NULL && fi->fh != 0) {
		fill_stat(m, &((const struct fs_handle *)(uintptr_t)fi->fh)->entry, st);
		return 0;
	}
	if ((err = fs_tree_resolve(m->root, path, &e)) != AF_OK)
		return fs_errno(err);
	fill_stat(m, &e, st);
	return 0;
}

/* A payload directory lists what the manifests name and what a scan found. */
static void
list_payload(const struct fs_mount *m, const struct fs_node *dir, void *buf,
    fuse_fill_dir_t filler)
{
	const struct af_payload_file *f;
	char prefix[16];
	size_t i, k, n = dir->payload != NULL ? af_payload_count(dir->payload) : 0;
	int aug;

	for (i = 0; i < n; i++)
		if ((f = af_payload_get(dir->payload, i)) != NULL)
			filler(buf, f->name, NULL, 0, 0);
	snprintf(prefix, sizeof(prefix), "data/%s/", dir->name);
	for (aug = 0; aug < 2; aug++) {
		const struct af_manifest *man = artifact_manifest(m->artifact, aug);
		for (k = 0; man != NULL && k < man->count; k++) {
			const char *name = man->entries[k].name;
			if (strncmp(name, prefix, strlen(prefix)) != 0 ||
			    strchr(name + strlen(prefix), '/') != NULL)
				continue;
			name += strlen(prefix);
			/* listed above if among the first n found (a hashed lookup) */
			f = dir->payload != NULL ? af_payload_find_scanned(dir->payload, name) : NULL;
			if ((f == NULL || f->index >= n) && name[0] != '\0')
				filler(buf, name, NULL, 0, 0);
		}
	}
}

static int
op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_mount *m = mount_of();
	const struct fs_node *c;
	struct fs_entry e;
	enum af_err err;

	(void)off;
	(void)fi;
	(void)flags;
	if ((err = fs_tree_resolve(m->root, path, &e)) != AF_OK)
		return fs_errno(err);
	if (!fs_kind_is_dir(e.kind))
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (e.kind == FS_PAYLOAD_DIR) {
		list_payload(m, e.node, buf, filler);
		return 0;
	}
	for (c = e.node->children; c != NULL; c = c->next)
		filler(buf, c->name, NULL, 0, 0);
	return 0;
}

static int
op_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_handle *h;
	enum af_err err;
	int rc = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	if ((err = fs_tree_resolve(m->root, path, &h->entry)) != AF_OK) {
		rc = fs_errno(err);
	} else if (fs_kind_is_dir(h->entry.kind)) {
		rc = -EISDIR;
	} else if (fs_kind_is_live(h->entry.kind)) {
		rc = fs_live_open(m, h, fi->flags);
		fi->direct_io = 1;	/* made at open: no size, no page cache */
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = -EROFS;
	} else if (streamed(&h->entry)) {
		fi->direct_io = 1;
	} else {
		fi->keep_cache = 1;	/* the bytes never change while mounted */
	}
	if (rc != 0) {
		fs_handle_free(h);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int
read_text(const struct fs_handle *h, char *buf, size_t size, off_t off)
{
	if ((size_t)off >= h->text_len)
		return 0;
	if (size > h->text_len - (size_t)off)
		size = h->text_len - (size_t)off;
	memcpy(buf, h->text + off, size);
	return (int)size;
}

static int
op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	const struct fs_handle *h = (const struct fs_handle *)(uintptr_t)fi->fh;
	const struct fs_entry *e = &h->entry;
	uint64_t total = fs_entry_size(e);
	size_t got = 0;
	enum af_err err = AF_OK;
	char why[200];

	if (off < 0)
		return -EINVAL;
	if (fs_kind_is_live(e->kind))
		return read_text(h, buf, size, off);
	if ((uint64_t)off >= total)
		return 0;
	if (size > total - (uint64_t)off)
		size = (size_t)(total - (uint64_t)off);
	switch (e->kind) {
	case FS_MEMBER:
		err = artifact_member_pread(m->artifact, e->node->member, buf, size,
		    (uint64_t)off, &got);
		break;
	case FS_HEADER_FILE:
		memcpy(buf, e->node->hfile->data + off, size);
		got = size;
		break;
	case FS_PAYLOAD_FILE:
		err = af_payload_read(e->node->payload, e->pfile, buf, size, (uint64_t)off,
		    &got, why, sizeof(why));
		if (err != AF_OK)
			fs_log(LOG_ERR, "%s: %s: %s", artifact_path(m->artifact), path, why);
		break;
	default:
		return -EISDIR;
	}
	if (err != AF_OK)
		return fs_errno(err);
	return (int)got;
}

static int
op_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc;

	(void)path;
	if (off < 0)
		return -EINVAL;
	rc = fs_live_write(h, buf, size, (size_t)off);
	/* buf is libfuse's receive buffer: leave no key bytes behind in it */
	if (h->entry.kind == FS_CONTROL_SIGN_KEY)
		explicit_bzero((void *)buf, size);
	return rc;
}

/* rm control/sign-key cancels the re-sign; nothing else can be removed. */
static int
op_unlink(const char *path)
{
	struct fs_mount *m = mount_of();
	struct fs_entry e;
	enum af_err err;

	if ((err = fs_tree_resolve(m->root, path, &e)) != AF_OK)
		return fs_errno(err);
	if (e.kind != FS_CONTROL_SIGN_KEY)
		return -EACCES;
	if (m->read_only)
		return -EROFS;
	fs_signer_cancel(m->signer);
	return 0;
}

/* Only the writable control files can be truncated, and only to empty
 * (what a shell's '>' does before writing). */
static int
op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_entry e;
	enum af_err err;

	if (fi != NULL && fi->fh != 0)
		e = ((struct fs_handle *)(uintptr_t)fi->fh)->entry;
	else if ((err = fs_tree_resolve(m->root, path, &e)) != AF_OK)
		return fs_errno(err);
	if (!fs_kind_is_writable(e.kind))
		return fs_kind_is_dir(e.kind) ? -EISDIR : -EROFS;
	if (m->read_only)
		return -EROFS;
	return size == 0 ? 0 : -EINVAL;
}

static int
op_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return fs_live_flush(mount_of(), (struct fs_handle *)(uintptr_t)fi->fh);
}

static int
op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	fs_handle_free((struct fs_handle *)(uintptr_t)fi->fh);
	return 0;
}

static int
op_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_namemax = 255;
	return 0;
}

const struct fuse_operations fs_operations = {
	.init = op_init,
	.getattr = op_getattr,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.truncate = op_truncate,
	.unlink = op_unlink,
	.flush = op_flush,
	.release = op_release,
	.statfs = op_statfs,
};
