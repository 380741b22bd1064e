/*
 * How the end of a mount reaches whoever waits for it.
 *
 * The daemon listens on an abstract unix socket with an unguessable name,
 * made before the mount, and names it (with its pid) in control/daemon.
 * `artifactfs -u MOUNTPOINT` reads that file, connects, unmounts, and reads
 * one line the daemon sends to every waiting connection once the commit is
 * done: the exit code and what happened.  No file is left anywhere, a daemon
 * that dies unannounced closes the socket (the waiter sees that), and the
 * name is only readable in control/, which is mode 0700.
 *
 * The same exit codes serve `artifactfs -f` after its unmount.
 */
#ifndef FS_UNMOUNT_H
#define FS_UNMOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* The daemon's outcome line: an exit status, the artifact's path (shortened
 * by AF_SHORT), a fixed text of under 128 bytes and a whole reason. */
#define FS_OUTCOME_MAX (16 + AF_SHORT_MAX + 128 + AF_REASON_MAX)

enum {
	FS_EXIT_RESIGNED = 0,	/* re-signed, renamed over the artifact, on disk */
	FS_EXIT_FAILED = 1,	/* a staged re-sign was refused or failed, or the mount did */
	FS_EXIT_UNSTAGED = 2,	/* nothing was staged: the artifact is unchanged */
	FS_EXIT_UNUSABLE = 4,	/* the artifact, a key or the mountpoint cannot be used */
	FS_EXIT_USAGE = 5,
};

struct fs_outcome {
	int fd;			/* listening socket, or -1 */
	char name[64];		/* abstract name, without the leading NUL */
};

/* Makes the listening socket; false with why. */
bool fs_outcome_listen(struct fs_outcome *o, struct af_reason *why);
/* What control/daemon reads as: "pid N\noutcome @NAME\n" (malloc'd). */
char *fs_outcome_describe(const struct fs_outcome *o);
/* Sends "CODE MESSAGE\n" to every waiter and closes the socket. */
void fs_outcome_tell(struct fs_outcome *o, int code, const char *message);

/* In the daemon, once libfuse has set its handlers: notes SIGINT, SIGTERM and
 * SIGHUP before libfuse's handler ends the loop, so that the end can say a
 * signal stopped it.  fs_signal_caught() is the signal, or 0. */
void fs_signals_watch(void);
int fs_signal_caught(void);

/* Whether mountpoint can take a mount: an existing directory that does not
 * hold an artifactfs mount already.  False with why (a clause). */
bool fs_mountpoint_usable(const char *mountpoint, struct af_reason *why);

/* artifactfs -u MOUNTPOINT: unmounts, waits for the outcome, returns the
 * exit code; prints the outcome (one line). */
int fs_unmount(const char *mountpoint);

#endif
