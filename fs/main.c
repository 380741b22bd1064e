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
#include "fs/cli.h"
#include "fs/report.h"
#include "fs/status.h"
#include "fs/unmount.h"

#define SYNOPSIS "artifactfs [-fd] [-o OPTION[,...]] ARTIFACT MOUNTPOINT"
#define SYNOPSIS_STATUS \
    "artifactfs --status [--strict] [--format=json] [-o verify_key=FILE]... ARTIFACT..."

static const char usage[] =
    "artifactfs - mount a Mender Artifact as a filesystem\n"
    "\n"
    "usage: " SYNOPSIS "\n"
    "       artifactfs -u MOUNTPOINT\n"
    "       " SYNOPSIS_STATUS "\n"
    "       artifactfs -h | -V\n"
    "\n"
    "    -d                  debug: stay in the foreground and log every FUSE request\n"
    "    -f                  stay in the foreground (messages to stderr, else syslog);\n"
    "                        after unmount exit 0 re-signed, 1 failed, 2 nothing staged\n"
    "    -h, --help          print a summary of the usage and exit\n"
    "    -o allow_new_key    let control/sign-key stage a key that none of the verify\n"
    "                        keys accepts (the re-signed artifact is then invalid\n"
    "                        for devices with those keys)\n"
    "    -o ro               never write the artifact: control/ refuses writes (EROFS)\n"
    "    -o verify_key=FILE  a PEM public key to verify the signature with; repeat it\n"
    "                        for several keys: the first that verifies wins\n"
    "    -u MOUNTPOINT       unmount, wait for the re-sign to be on disk, exit with the\n"
    "                        outcome: 0 re-signed, 1 failed, 2 nothing staged,\n"
    "                        4 not an artifactfs mount\n"
    "    --status            do not mount: print the signature-status report of each\n"
    "                        ARTIFACT and exit with the worst: 0 valid, 1 invalid,\n"
    "                        2 unsigned, 3 unverified, 4 unreadable, 5 usage error\n"
    "    --format=json       with --status: one JSON object per artifact and line\n"
    "    --strict            with --status: a warning makes the verdict invalid\n"
    "    -V, --version       print the version and exit\n"
    "\n"
    "Other -o options go to FUSE (mount.fuse3(8)); an unknown one is a usage error.\n"
    "Write a private key to MOUNTPOINT/control/sign-key to re-sign at unmount.\n"
    "See artifactfs(1).\n";

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

/*
 * After fuse_main: rewrite the artifact if a key was staged, say how it
 * ended (stderr with -f, syslog otherwise, and to artifactfs -u), and return
 * the exit code.  fuse_ok is false when fuse_main failed or a signal ended it.
 */
static int
finish(struct fs_mount *m, bool fuse_ok)
{
	/* shortened as in every reason, so the end of a line is never cut */
	const char *path = AF_SHORT(artifact_path(m->artifact));
	struct af_reason why = { 0 };
	char line[FS_OUTCOME_MAX];
	bool written = false;
	int code, caught = fs_signal_caught();

	if (!m->mounted) {
		snprintf(line, sizeof(line), "%s: not mounted", path);
		code = FS_EXIT_UNUSABLE;	/* libfuse said why */
	} else if (caught != 0 && fs_signer_staged(m->signer)) {
		snprintf(line, sizeof(line), "%s: stopped by SIG%s with a key staged: the key was "
		    "discarded and the artifact is unchanged", path, sigabbrev_np(caught));
		fs_log(LOG_WARNING, "%s", line);
		code = FS_EXIT_FAILED;
	} else if (caught != 0 || !fuse_ok) {
		snprintf(line, sizeof(line), "%s: stopped by %s%s; nothing was committed, the "
		    "artifact is unchanged", path, caught != 0 ? "SIG" : "",
		    caught != 0 ? sigabbrev_np(caught) : "an error");
		code = fs_signer_staged(m->signer) ? FS_EXIT_FAILED : FS_EXIT_UNSTAGED;
	} else if (!fs_signer_commit(m->signer, &written, &why)) {
		snprintf(line, sizeof(line), "%s: %s", path, why.text);
		fs_log(LOG_ERR, "%s", line);
		code = FS_EXIT_FAILED;
	} else if (written) {	/* why: what else changed (the group), or "" */
		snprintf(line, sizeof(line), "%s: re-signed%s%s", path,
		    why.text[0] != '\0' ? "; " : "", why.text);
		fs_log(LOG_NOTICE, "%s", line);
		code = FS_EXIT_RESIGNED;
	} else {
		snprintf(line, sizeof(line), "%s: nothing was staged; the artifact is unchanged",
		    path);
		code = FS_EXIT_UNSTAGED;
	}
	fs_outcome_tell(&m->outcome, code, line);
	return code;
}

static int
run_mount(struct fuse_args *args, const struct cli *c)
{
	struct fs_mount m = { .uid = getuid(), .gid = getgid(), .read_only = c->read_only,
	    .allow_new_key = c->allow_new_key, .outcome = { .fd = -1 } };
	const char *mountpoint = c->operands[1];
	char *fsname = NULL, *opts = NULL;
	struct af_reason reason;
	int rc = FS_EXIT_UNUSABLE;

	pthread_mutex_init(&m.control_lock, NULL);
	pthread_mutex_init(&m.handle_lock, NULL);
	if ((m.keys = fs_load_keys(c->verify_keys, c->verify_key_count, &reason)) == NULL ||
	    (m.artifact = fs_open_artifact(c->operands[0], &reason)) == NULL) {
		fprintf(stderr, "artifactfs: %s\n", reason.text);
		goto out;
	}
	if (!fs_mountpoint_usable(mountpoint, &reason)) {
		fprintf(stderr, "artifactfs: %s: %s\n", mountpoint, reason.text);
		goto out;
	}
	if ((m.place = af_place_open(m.artifact, &reason)) == NULL) {
		fprintf(stderr, "artifactfs: %s: %s\n", c->operands[0], reason.text);
		goto out;
	}
	af_rewrite_cleanup(m.place);	/* what a killed re-sign left */
	rc = FS_EXIT_FAILED;
	if ((m.root = fs_tree_build(m.artifact)) == NULL ||
	    (m.verifier = fs_verifier_new(m.artifact)) == NULL ||
	    (m.signer = fs_signer_new()) == NULL) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", c->operands[0]);
		goto out;
	}
	if (!fs_outcome_listen(&m.outcome, &reason)) {
		fprintf(stderr, "artifactfs: %s\n", reason.text);
		goto out;
	}
	/* fsname shows the artifact in mount(8) and df(1); commas must be escaped. */
	if (asprintf(&fsname, "fsname=%s", artifact_path(m.artifact)) < 0)
		fsname = NULL;
	if (fsname == NULL || fuse_opt_add_opt(&opts, "subtype=artifactfs") != 0 ||
	    fuse_opt_add_opt(&opts, "default_permissions") != 0 ||
	    fuse_opt_add_opt_escaped(&opts, fsname) != 0 ||
	    fuse_opt_add_arg(args, "-o") != 0 || fuse_opt_add_arg(args, opts) != 0) {
		fprintf(stderr, "artifactfs: %s: out of memory\n", c->operands[0]);
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
	rc = finish(&m, fuse_main(args->argc, args->argv, &fs_operations, &m) == 0);
out:
	if (m.outcome.fd >= 0)
		fs_outcome_tell(&m.outcome, rc, "not mounted");
	free(fsname);
	free(opts);
	fs_mount_free_handles(&m);
	fs_signer_free(m.signer);
	fs_verifier_free(m.verifier);
	fs_tree_free(m.root);
	af_place_close(m.place);
	if (rc == FS_EXIT_RESIGNED)	/* the old file's last close frees its blocks */
		artifact_close_replaced(m.artifact);
	else
		artifact_close(m.artifact);
	fs_keyring_free(m.keys);
	pthread_mutex_destroy(&m.control_lock);
	pthread_mutex_destroy(&m.handle_lock);
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
	struct cli c = { 0 };
	int rc = FS_EXIT_USAGE;

	if (!cli_parse(&args, &c)) {
		fprintf(stderr, "artifactfs: %s\n", c.error);
		goto out;
	}
	switch (c.mode) {
	case CLI_HELP:
		fputs(usage, stdout);
		rc = 0;
		break;
	case CLI_VERSION:
		printf("artifactfs %s (libfuse %s)\n", ARTIFACTFS_VERSION, fuse_pkgversion());
		rc = 0;
		break;
	case CLI_STATUS:
		rc = fs_report_run(&c);
		break;
	case CLI_UNMOUNT:
		rc = fs_unmount(c.operands[0]);
		break;
	case CLI_MOUNT:
		rc = run_mount(&args, &c);
		break;
	}
out:
	fuse_opt_free_args(&args);
	cli_free(&c);
	return rc;
}
