/*
 * artifactfs: mount a Mender Artifact as a read-only filesystem.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/ops.h"

#ifndef ARTIFACTFS_VERSION
#define ARTIFACTFS_VERSION "unknown"
#endif

struct options {
	char *artifact;
	char *mountpoint;
	int show_help;
	int show_version;
	int read_only;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO };

static const struct fuse_opt option_table[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_END
};

#define SYNOPSIS "artifactfs [-f] [-d] [-o OPTIONS] ARTIFACT MOUNTPOINT"

static const char usage[] =
    "usage: " SYNOPSIS "\n"
    "       fusermount3 -u MOUNTPOINT\n"
    "\n"
    "Mounts the Mender Artifact ARTIFACT (.mender) read-only at MOUNTPOINT.\n"
    "\n"
    "options:\n"
    "    -h, --help          print this help and exit\n"
    "    -V, --version       print the version and exit\n"
    "    -f                  stay in the foreground\n"
    "    -d                  debug: foreground, log every FUSE request\n"
    "    -o ro               never write the artifact\n"
    "\n"
    "See artifactfs(1).\n";

static int
process_arg(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct options *o = data;

	(void)out;
	switch (key) {
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_RO:
		o->read_only = 1;
		return 1;	/* and pass it on to the kernel mount */
	case FUSE_OPT_KEY_NONOPT:
		if (o->artifact == NULL) {
			o->artifact = strdup(arg);
			return 0;
		}
		if (o->mountpoint == NULL) {
			o->mountpoint = strdup(arg);
			return 1;
		}
		fprintf(stderr, "artifactfs: unexpected argument '%s'; usage: " SYNOPSIS "\n",
		    arg);
		return -1;
	default:
		return 1;
	}
}

/* The artifact path must survive the daemon's chdir("/"). */
static char *
absolute(const char *path)
{
	char *abs = realpath(path, NULL);

	if (abs == NULL) {
		fprintf(stderr, "artifactfs: %s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	return abs;
}

static int
run(struct fuse_args *args, const struct options *o)
{
	struct fs_mount m = { .uid = getuid(), .gid = getgid(), .read_only = o->read_only };
	char why[512] = "", *path, *fsname = NULL, *opts = NULL;
	int rc;

	if ((path = absolute(o->artifact)) == NULL)
		return 1;
	if (artifact_open(path, &m.artifact, why, sizeof(why)) != AF_OK) {
		fprintf(stderr, "artifactfs: %s: %s\n", o->artifact, why);
		free(path);
		return 1;
	}
	free(path);
	if ((m.root = fs_tree_build(m.artifact)) == NULL) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", o->artifact);
		artifact_close(m.artifact);
		return 1;
	}
	/* fsname shows the artifact in mount(8) and df(1); commas must be escaped. */
	if (asprintf(&fsname, "fsname=%s", artifact_path(m.artifact)) < 0)
		fsname = NULL;
	if (fsname == NULL || fuse_opt_add_opt(&opts, "subtype=artifactfs") != 0 ||
	    fuse_opt_add_opt(&opts, "default_permissions") != 0 ||
	    fuse_opt_add_opt_escaped(&opts, fsname) != 0 ||
	    fuse_opt_add_arg(args, "-o") != 0 || fuse_opt_add_arg(args, opts) != 0) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", o->artifact);
		rc = 1;
		goto out;
	}
	rc = fuse_main(args->argc, args->argv, &fs_operations, &m) == 0 ? 0 : 1;
out:
	free(fsname);
	free(opts);
	fs_tree_free(m.root);
	artifact_close(m.artifact);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = { 0 };
	int rc = 2;

	if (fuse_opt_parse(&args, &o, option_table, process_arg) != 0)
		goto out;
	if (o.show_help) {
		fputs(usage, stdout);
		rc = 0;
	} else if (o.show_version) {
		printf("artifactfs %s (libfuse %s)\n", ARTIFACTFS_VERSION, fuse_pkgversion());
		rc = 0;
	} else if (o.artifact == NULL || o.mountpoint == NULL) {
		fprintf(stderr, "artifactfs: missing %s; usage: " SYNOPSIS "\n",
		    o.artifact == NULL ? "ARTIFACT and MOUNTPOINT" : "MOUNTPOINT");
	} else {
		rc = run(&args, &o);
	}
out:
	fuse_opt_free_args(&args);
	free(o.artifact);
	free(o.mountpoint);
	return rc;
}
