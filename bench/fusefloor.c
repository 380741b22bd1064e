/*
 * bench/fusefloor: the least a libfuse high-level filesystem can do for
 * `ls -lR` and `cat *` of many small files, to compare artifactfs's module
 * row with.  It serves FILES files ("f00000"...) of SIZE bytes from memory:
 * no format, no locks, no lookups beyond parsing the name.
 *
 *   fusefloor FILES SIZE [FUSE options] MOUNTPOINT
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long files, size;
static char *bytes;

static long
file_index(const char *path)
{
	long i;

	return sscanf(path, "/f%ld", &i) == 1 && i >= 0 && i < files ? i : -1;
}

static int
floor_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (file_index(path) < 0)
		return -ENOENT;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = size;
	return 0;
}

static int
floor_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	char name[32];
	long i;

	(void)path, (void)off, (void)fi, (void)flags;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	for (i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "f%05ld", i);
		fill(buf, name, NULL, 0, 0);
	}
	return 0;
}

static int
floor_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	return file_index(path) < 0 ? -ENOENT : 0;
}

static int
floor_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	if (off >= size)
		return 0;
	if ((off_t)len > size - off)
		len = (size_t)(size - off);
	memcpy(buf, bytes + off, len);
	return (int)len;
}

/* The timeouts artifactfs uses for what never changes. */
static void *
floor_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 1.0;
	return NULL;
}

static const struct fuse_operations floor_ops = {
	.getattr = floor_getattr,
	.readdir = floor_readdir,
	.open = floor_open,
	.read = floor_read,
	.init = floor_init,
};

int
main(int argc, char *argv[])
{
	if (argc < 4 || (files = atol(argv[1])) <= 0 || (size = atol(argv[2])) < 0) {
		fprintf(stderr, "usage: fusefloor FILES SIZE [FUSE options] MOUNTPOINT\n");
		return 2;
	}
	if ((bytes = malloc((size_t)size + 1)) == NULL)
		return 1;
	memset(bytes, 'x', (size_t)size);
	argv[2] = argv[0];
	return fuse_main(argc - 2, argv + 2, &floor_ops, NULL);
}
