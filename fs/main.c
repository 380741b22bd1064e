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

#include <fuse_lowlevel.h>	/* fuse_parse_cmdline */

#ifndef ARTIFACTFS_VERSION
#define ARTIFACTFS_VERSION "unknown"
#endif

#include "artifact/rewrite.h"
#include "crypto/secure.h"
#include "crypto/sign_child.h"
#include "fs/live.h"
#include "fs/log.h"
#include "fs/status.h"

struct options {
	char *artifact;
	char *mountpoint;
	char **verify_keys;
	size_t verify_key_count;
	int show_help;
	int show_version;
	int read_only;
	int status_only;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO, KEY_VERIFY_KEY, KEY_STATUS };

/* Exit codes of --status, as the man page lists them. */
enum {
	STATUS_VALID = 0,
	STATUS_INVALID = 1,
	STATUS_UNSIGNED = 2,
	STATUS_UNVERIFIED = 3,
	STATUS_UNREADABLE = 4,
	STATUS_USAGE = 5,
};

static const struct fuse_opt option_table[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("verify_key=", KEY_VERIFY_KEY),
	FUSE_OPT_KEY("--status", KEY_STATUS),
	FUSE_OPT_END
};

#define SYNOPSIS "artifactfs [-fd] [-o OPTION[,...]] ARTIFACT MOUNTPOINT"
#define SYNOPSIS_STATUS "artifactfs --status [-o verify_key=FILE]... ARTIFACT"

static const char usage[] =
    "artifactfs - mount a Mender Artifact as a filesystem\n"
    "\n"
    "usage: " SYNOPSIS "\n"
    "       " SYNOPSIS_STATUS "\n"
    "       artifactfs -h | -V\n"
    "\n"
    "    -d                  debug: stay in the foreground and log every FUSE request\n"
    "    -f                  stay in the foreground (messages to stderr, else syslog)\n"
    "    -h, --help          print a summary of the usage and exit\n"
    "    -o ro               never write the artifact: control/ refuses writes (EROFS)\n"
    "    -o verify_key=FILE  a PEM public key to verify the signature with; repeat it\n"
    "                        for several keys: the first that verifies wins\n"
    "    --status            do not mount: print the signature-status report and exit\n"
    "                        0 valid, 1 invalid, 2 unsigned, 3 unverified,\n"
    "                        4 artifact or key unreadable, 5 usage error\n"
    "    -V, --version       print the version and exit\n"
    "\n"
    "Other -o options go to FUSE (mount.fuse3(8)).  Unmount with fusermount3 -u.\n"
    "Write a private key to MOUNTPOINT/control/sign-key to re-sign at unmount.\n"
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
	case KEY_STATUS:
		o->status_only = 1;
		return 0;
	case KEY_VERIFY_KEY: {
		char **grown = reallocarray(o->verify_keys, o->verify_key_count + 1,
		    sizeof(*grown));
		if (grown == NULL)
			return -1;
		o->verify_keys = grown;
		if ((grown[o->verify_key_count] = strdup(arg + strlen("verify_key="))) == NULL)
			return -1;
		o->verify_key_count++;
		return 0;
	}
	case FUSE_OPT_KEY_NONOPT:
		if (o->artifact == NULL) {
			o->artifact = strdup(arg);
			return 0;
		}
		if (o->mountpoint == NULL && !o->status_only) {
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

static struct fs_keyring *
load_keys(const struct options *o)
{
	struct fs_keyring *ring = fs_keyring_new();
	char why[256];
	size_t i;

	if (ring == NULL) {
		fprintf(stderr, "artifactfs: out of memory\n");
		return NULL;
	}
	for (i = 0; i < o->verify_key_count; i++) {
		if (!fs_keyring_add_file(ring, o->verify_keys[i], why, sizeof(why))) {
			fprintf(stderr, "artifactfs: %s: %s\n", o->verify_keys[i], why);
			fs_keyring_free(ring);
			return NULL;
		}
	}
	return ring;
}

static struct artifact *
open_artifact(const char *given)
{
	struct artifact *a = NULL;
	char why[512] = "", *path;

	if ((path = absolute(given)) == NULL)
		return NULL;
	if (artifact_open(path, &a, why, sizeof(why)) != AF_OK)
		fprintf(stderr, "artifactfs: %s: %s\n", given, why);
	free(path);
	return a;
}

/* --status: the report on stdout, the verdict in the exit status. */
static int
run_status(const struct options *o)
{
	static const int codes[] = { [FS_VALID] = STATUS_VALID, [FS_INVALID] = STATUS_INVALID,
	    [FS_UNSIGNED] = STATUS_UNSIGNED, [FS_UNVERIFIED] = STATUS_UNVERIFIED };
	struct fs_keyring *ring = load_keys(o);
	struct artifact *a = ring != NULL ? open_artifact(o->artifact) : NULL;
	struct af_checks checks = { 0 };
	enum fs_verdict verdict = FS_INVALID;
	char *text = NULL;
	int rc = STATUS_UNREADABLE;

	if (a != NULL)
		artifact_read_once(a);
	if (a != NULL && af_verify_checksums(a, NULL, NULL, &checks) == AF_OK &&
	    (text = fs_status_report(a, ring, &checks, NULL, NULL, &verdict)) != NULL) {
		fputs(text, stdout);
		rc = codes[verdict];
	} else if (a != NULL) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", o->artifact);
	}
	free(text);
	af_checks_clear(&checks);
	artifact_close(a);
	fs_keyring_free(ring);
	return rc;
}

/* Whether -f or -d keeps fuse_main in the foreground. */
static bool
in_foreground(struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_cmdline_opts opts = { 0 };
	bool fg = false;
	int i;

	for (i = 0; i < args->argc; i++)
		if (fuse_opt_add_arg(&copy, args->argv[i]) != 0)
			break;
	if (i == args->argc && fuse_parse_cmdline(&copy, &opts) == 0)
		fg = opts.foreground;
	free(opts.mountpoint);
	fuse_opt_free_args(&copy);
	return fg;
}

/* After unmount: rewrite the artifact if a key was staged. */
static bool
commit(struct fs_mount *m)
{
	char why[512] = "";
	bool written;

	if (!fs_signer_commit(m->signer, &written, why, sizeof(why))) {
		fs_log(LOG_ERR, "%s: %s", artifact_path(m->artifact), why);
		return false;
	}
	if (written)	/* why: what else changed (the group), or "" */
		fs_log(LOG_NOTICE, "%s: re-signed%s%s", artifact_path(m->artifact),
		    why[0] != '\0' ? "; " : "", why);
	return true;
}

static int
run_mount(struct fuse_args *args, const struct options *o)
{
	struct fs_mount m = { .uid = getuid(), .gid = getgid(), .read_only = o->read_only };
	char *fsname = NULL, *opts = NULL, why[512];
	int rc = 1;

	pthread_mutex_init(&m.control_lock, NULL);
	if ((m.keys = load_keys(o)) == NULL || (m.artifact = open_artifact(o->artifact)) == NULL)
		goto out;
	if ((m.place = af_place_open(m.artifact, why, sizeof(why))) == NULL) {
		fprintf(stderr, "artifactfs: %s: %s\n", o->artifact, why);
		goto out;
	}
	af_rewrite_cleanup(m.place);	/* what a killed re-sign left */
	if ((m.root = fs_tree_build(m.artifact)) == NULL ||
	    (m.verifier = fs_verifier_new(m.artifact)) == NULL ||
	    (m.signer = fs_signer_new()) == NULL) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", o->artifact);
		goto out;
	}
	/* fsname shows the artifact in mount(8) and df(1); commas must be escaped. */
	if (asprintf(&fsname, "fsname=%s", artifact_path(m.artifact)) < 0)
		fsname = NULL;
	if (fsname == NULL || fuse_opt_add_opt(&opts, "subtype=artifactfs") != 0 ||
	    fuse_opt_add_opt(&opts, "default_permissions") != 0 ||
	    fuse_opt_add_opt_escaped(&opts, fsname) != 0 ||
	    fuse_opt_add_arg(args, "-o") != 0 || fuse_opt_add_arg(args, opts) != 0) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", o->artifact);
		goto out;
	}
	/* libfuse 3.14 warns about its own default idle-thread limit unless one is
	 * given; put ours first so that a user's -o max_idle_threads wins.  Opens
	 * of signature-status wait for the checksum pass, each on a worker thread:
	 * libfuse's default of 10 workers let 10 such opens stall the whole mount,
	 * so allow many more (threads are made only when requests wait). */
	if (fuse_opt_insert_arg(args, 1, "-omax_idle_threads=16,max_threads=256") != 0)
		goto out;
	fs_log_init(in_foreground(args));
	rc = fuse_main(args->argc, args->argv, &fs_operations, &m) == 0 ? 0 : 1;
	if (rc == 0 && !commit(&m))
		rc = 1;
out:
	free(fsname);
	free(opts);
	fs_signer_free(m.signer);
	fs_verifier_free(m.verifier);
	fs_tree_free(m.root);
	af_place_close(m.place);
	artifact_close(m.artifact);
	fs_keyring_free(m.keys);
	pthread_mutex_destroy(&m.control_lock);
	return rc;
}

int
main(int argc, char *argv[])
{
	/* the process a mount runs to parse a private key and sign with it */
	if (argc == 2 && strcmp(argv[1], CR_SIGN_CHILD_ARG) == 0)
		return cr_sign_child_main();
	/* before any key can arrive: the locked arena key files are written into */
	if (!cr_secure_init())
		fprintf(stderr, "artifactfs: warning: could not set up locked memory for keys\n");
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = { 0 };
	int rc = 1;

	if (fuse_opt_parse(&args, &o, option_table, process_arg) != 0) {
		rc = o.status_only ? STATUS_USAGE : 1;
		goto out;
	}
	if (o.show_help) {
		fputs(usage, stdout);
		rc = 0;
	} else if (o.show_version) {
		printf("artifactfs %s (libfuse %s)\n", ARTIFACTFS_VERSION, fuse_pkgversion());
		rc = 0;
	} else if (o.status_only) {
		if (o.artifact == NULL) {
			fprintf(stderr, "artifactfs: missing ARTIFACT; usage: " SYNOPSIS_STATUS "\n");
			rc = STATUS_USAGE;
		} else {
			rc = run_status(&o);
		}
	} else if (o.artifact == NULL || o.mountpoint == NULL) {
		fprintf(stderr, "artifactfs: missing %s; usage: " SYNOPSIS "\n",
		    o.artifact == NULL ? "ARTIFACT and MOUNTPOINT" : "MOUNTPOINT");
		rc = 1;
	} else {
		rc = run_mount(&args, &o);
	}
out:
	fuse_opt_free_args(&args);
	free(o.artifact);
	free(o.mountpoint);
	for (size_t i = 0; i < o.verify_key_count; i++)
		free(o.verify_keys[i]);
	free(o.verify_keys);
	return rc;
}
