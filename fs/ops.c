/*
 * FUSE operations.
 * Over 600 lines: every operation of the mount is here, each one translation
 * from a FUSE request to artifact/ and crypto/ calls and back to an errno.
 *
 * The high-level (path) API fits: the tree is small and
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
	/* rm of an open control file empties it: libfuse must not rename it
	 * to .fuse_hidden instead (renames are EROFS). */
	cfg->hard_remove = 1;
	/* Everything but the live files is immutable for the mount's life. */
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	mount_of()->mounted = true;
	fs_signals_watch();	/* libfuse has set its signal handlers by now */
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

/*
 * What a live file's st_size is: the length it reads as now where that is
 * known without waiting (signature-status once the checksum pass is done),
 * else the length it read as when it was last opened (0 before the first
 * open), so that ls -l never waits for the checksum pass.  An open handle
 * knows its own length: rsync, cp and shutil size their copy by fstat after
 * open, tar by the stat before it.
 */
static off_t
live_size(struct fs_mount *m, const struct fs_entry *e, const struct fs_handle *h)
{
	size_t size = 0;
	bool known = false;

	if (h != NULL)
		return (off_t)(h->writable ? h->written_len : h->text_len);
	/* once the pass is done the report takes a signature check to make */
	if (e->kind == FS_STATUS)
		size = fs_live_status_size(m, &known);
	pthread_mutex_lock(&m->control_lock);
	if (known)
		m->live_size[fs_live_index(e->kind)] = size;
	else
		size = m->live_size[fs_live_index(e->kind)];
	pthread_mutex_unlock(&m->control_lock);
	return (off_t)size;
}

static void
fill_stat(struct fs_mount *m, const struct fs_entry *e, const struct fs_handle *h,
    struct stat *st)
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
		st->st_size = fs_kind_is_live(e->kind) ? live_size(m, e, h) :
		    (off_t)fs_entry_size(e);
		st->st_blocks = (st->st_size + 511) / 512;
		/* cat, cp and dd size their reads by this: a payload is decoded
		 * in 1 MiB steps, and fewer, larger requests cost less. */
		if (streamed(e))
			st->st_blksize = STREAMED_SIZE;
	}
}

/* A removed control file (rm control/sign-key) is not there until created. */
static bool
gone(struct fs_mount *m, enum fs_kind kind)
{
	bool is_gone;

	if (!fs_kind_is_writable(kind))
		return false;
	pthread_mutex_lock(&m->control_lock);
	is_gone = m->control_gone[fs_live_index(kind)];
	pthread_mutex_unlock(&m->control_lock);
	return is_gone;
}

static void
set_gone(struct fs_mount *m, enum fs_kind kind, bool is_gone)
{
	pthread_mutex_lock(&m->control_lock);
	m->control_gone[fs_live_index(kind)] = is_gone;
	pthread_mutex_unlock(&m->control_lock);
}

static int
resolve(struct fs_mount *m, const char *path, struct fs_entry *e)
{
	enum af_err err = fs_tree_resolve(m->root, path, e);

	if (err != AF_OK)
		return fs_errno(err);
	return gone(m, e->kind) ? -ENOENT : 0;
}

static int
op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	const struct fs_handle *h;
	struct fs_entry e;
	int rc;

	if (fi != NULL && fi->fh != 0) {
		h = (const struct fs_handle *)(uintptr_t)fi->fh;
		fill_stat(m, &h->entry, h, st);
		return 0;
	}
	if ((rc = resolve(m, path, &e)) != 0)
		return rc;
	fill_stat(m, &e, NULL, st);
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
		if (!gone(m, c->kind))
			filler(buf, c->name, NULL, 0, 0);
	return 0;
}

/* The live file a handle reads changed length: tell the kernel, whose cached
 * attributes would otherwise keep the old st_size for attr_timeout. */
static void
note_live_size(struct fs_mount *m, const char *path, const struct fs_handle *h)
{
	unsigned i = fs_live_index(h->entry.kind);
	bool changed;

	pthread_mutex_lock(&m->control_lock);
	changed = m->live_size[i] != h->text_len;
	m->live_size[i] = h->text_len;
	pthread_mutex_unlock(&m->control_lock);
	if (changed)
		fuse_invalidate_path(fuse_get_context()->fuse, path);
}

static void
track_handle(struct fs_mount *m, struct fs_handle *h)
{
	pthread_mutex_lock(&m->handle_lock);
	h->prev = NULL;
	h->next = m->open_handles;
	if (h->next != NULL)
		h->next->prev = h;
	m->open_handles = h;
	pthread_mutex_unlock(&m->handle_lock);
}

static void
untrack_handle(struct fs_mount *m, struct fs_handle *h)
{
	pthread_mutex_lock(&m->handle_lock);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		m->open_handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&m->handle_lock);
}

void
fs_mount_free_handles(struct fs_mount *m)
{
	struct fs_handle *h, *next;

	for (h = m->open_handles; h != NULL; h = next) {
		next = h->next;
		fs_handle_free(h);
	}
	m->open_handles = NULL;
}

/* Opens what e names; creating says the path was made by create(2). */
static int
open_entry(struct fs_mount *m, const char *path, struct fs_handle *h,
    struct fuse_file_info *fi)
{
	int rc = 0;

	if (fs_kind_is_dir(h->entry.kind)) {
		rc = -EISDIR;
	} else if (fs_kind_is_live(h->entry.kind)) {
		rc = fs_live_open(m, h, fi->flags);
		fi->direct_io = 1;	/* made at open: no page cache */
		if (rc == 0 && !h->writable)
			note_live_size(m, path, h);
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = -EROFS;
	} else {
		/* a read-only file of the artifact has nothing to flush: close(2)
		 * then costs no round trip (cat of a 2,000-file module makes 2,000);
		 * the RELEASE that follows may be lost at unmount, see open_handles */
		fi->noflush = 1;
		if (streamed(&h->entry))
			fi->direct_io = 1;
		else
			fi->keep_cache = 1;	/* the bytes never change while mounted */
	}
	if (rc != 0) {
		fs_handle_free(h);
		return rc;
	}
	track_handle(m, h);
	fi->fh = (uintptr_t)h;
	return 0;
}

static int
op_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_handle *h;
	int rc;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	if ((rc = resolve(m, path, &h->entry)) != 0) {
		fs_handle_free(h);
		return rc;
	}
	return open_entry(m, path, h, fi);
}

/*
 * Only a removed control file can be created again (install(1) removes the
 * file, then creates it with O_EXCL); any other name is a write to a
 * read-only tree.
 */
static int
op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_handle *h;

	(void)mode;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	if (fs_tree_resolve(m->root, path, &h->entry) != AF_OK ||
	    !fs_kind_is_writable(h->entry.kind) || m->read_only) {
		fs_handle_free(h);
		return -EROFS;
	}
	set_gone(m, h->entry.kind, false);
	return open_entry(m, path, h, fi);
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
	struct af_reason why;

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
		    &got, &why);
		if (err != AF_OK)
			fs_log(LOG_ERR, "%s: %s: %s", artifact_path(m->artifact), path, why.text);
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

/*
 * What a change to the tree's metadata gets: EROFS everywhere but on the
 * writable control files; there it is ENOENT once they were removed, else 0.
 */
static int
control_only(struct fs_mount *m, const char *path, struct fs_entry *e)
{
	enum af_err err = fs_tree_resolve(m->root, path, e);

	if (err != AF_OK)
		return err == AF_ENOENT ? -ENOENT : -EROFS;
	if (!fs_kind_is_writable(e->kind) || m->read_only)
		return -EROFS;
	return gone(m, e->kind) ? -ENOENT : 0;
}

/* rm of a control file empties it (rm control/sign-key cancels the re-sign)
 * and removes it until it is created again; nothing else can be removed. */
static int
op_unlink(const char *path)
{
	struct fs_mount *m = mount_of();
	struct fs_entry e;
	int rc;

	if ((rc = control_only(m, path, &e)) != 0)
		return rc;
	fs_live_clear(m, e.kind);
	set_gone(m, e.kind, true);
	return 0;
}

/* Mode, owner and time changes to the control files are accepted and ignored,
 * so that cp -p, cp -a, install -m and rsync can write keys. */
static int
op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct fs_entry e;

	(void)mode;
	(void)fi;
	return control_only(mount_of(), path, &e);
}

static int
op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct fs_entry e;

	(void)uid;
	(void)gid;
	(void)fi;
	return control_only(mount_of(), path, &e);
}

static int
op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct fs_entry e;

	(void)tv;
	(void)fi;
	return control_only(mount_of(), path, &e);
}

/* Everything else that would change the tree is refused alike. */
static int
op_mkdir(const char *path, mode_t mode)
{
	(void)path;
	(void)mode;
	return -EROFS;
}

static int
op_mknod(const char *path, mode_t mode, dev_t dev)
{
	(void)path;
	(void)mode;
	(void)dev;
	return -EROFS;
}

static int
op_rmdir(const char *path)
{
	(void)path;
	return -EROFS;
}

static int
op_link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EROFS;
}

static int
op_rename(const char *from, const char *to, unsigned int flags)
{
	(void)from;
	(void)to;
	(void)flags;
	return -EROFS;
}

/* cp -p and install set an ACL first and fall back to chmod when the
 * filesystem has none: so on the control files there are no xattrs. */
static int
op_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	struct fs_entry e;
	int rc = control_only(mount_of(), path, &e);

	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	return rc == 0 ? -ENOTSUP : rc;
}

/*
 * The control files can be cut to any length while open for writing (rsync
 * --inplace cuts to the size it wrote); by path only emptied, as a shell's
 * '>' does before it writes.  Everything else is read-only.
 */
static int
op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_mount *m = mount_of();
	struct fs_entry e;
	int rc;

	if (fi != NULL && fi->fh != 0) {
		struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
		if (!h->writable)
			return fs_kind_is_writable(h->entry.kind) ? -EBADF : -EROFS;
		return size < 0 ? -EINVAL : fs_live_resize(h, (size_t)size);
	}
	if ((rc = control_only(m, path, &e)) != 0)
		return rc;
	return size == 0 ? 0 : -EINVAL;
}

static int
op_flush(const char *path, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	bool applied = h->writable && h->unapplied;
	int rc = fs_live_flush(mount_of(), h);

	/* a key changes what signature-status says, and so its length */
	if (applied)
		fuse_invalidate_path(fuse_get_context()->fuse, "/signature-status");
	(void)path;
	return rc;
}

static int
op_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;

	(void)path;
	untrack_handle(mount_of(), h);
	fs_handle_free(h);
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
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.truncate = op_truncate,
	.unlink = op_unlink,
	.chmod = op_chmod,
	.chown = op_chown,
	.utimens = op_utimens,
	.mkdir = op_mkdir,
	.mknod = op_mknod,
	.rmdir = op_rmdir,
	.symlink = op_link,
	.link = op_link,
	.rename = op_rename,
	.setxattr = op_setxattr,
	.flush = op_flush,
	.release = op_release,
	.statfs = op_statfs,
};
