/*
 * The command line: which of the four things artifactfs was asked to do, and
 * a usage error for anything it does not know.  Every option and every -o key
 * is checked here, in all modes, so that a typo is one line and exit status 5
 * instead of a mount or a verdict that silently ignored it.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <stdbool.h>
#include <stddef.h>

enum cli_mode {
	CLI_MOUNT,	/* ARTIFACT MOUNTPOINT */
	CLI_STATUS,	/* --status ARTIFACT... */
	CLI_UNMOUNT,	/* -u MOUNTPOINT */
	CLI_HELP,
	CLI_VERSION,
};

struct cli {
	enum cli_mode mode;
	char **operands;	/* the arguments that are not options */
	size_t operand_count;
	char **verify_keys;
	size_t verify_key_count;
	bool read_only;
	bool allow_new_key;	/* -o allow_new_key */
	bool json;		/* --format=json */
	bool strict;		/* --strict */
	/* internal: what was seen, to say what does not go with what */
	bool status, unmount, help, version, format_given;
	char fuse_option[64];	/* the first option meant for FUSE, for messages */
	char error[512];	/* the usage error, one line without "artifactfs: " */
};

/*
 * Parses args (argv as given).  On return args holds what fuse_main is to
 * get: the program name, the FUSE options and, in CLI_MOUNT mode, the
 * mountpoint.  False with c->error on a usage error.
 */
bool cli_parse(struct fuse_args *args, struct cli *c);
void cli_free(struct cli *c);

#endif
