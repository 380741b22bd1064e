#include "fs/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

enum {
	KEY_HELP, KEY_VERSION, KEY_RO, KEY_VERIFY_KEY, KEY_STATUS, KEY_STRICT,
	KEY_FORMAT, KEY_FORMAT_BARE, KEY_UNMOUNT, KEY_FUSE_FLAG, KEY_ALLOW_NEW_KEY,
};

static const struct fuse_opt option_table[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("allow_new_key", KEY_ALLOW_NEW_KEY),
	FUSE_OPT_KEY("verify_key=", KEY_VERIFY_KEY),
	FUSE_OPT_KEY("--status", KEY_STATUS),
	FUSE_OPT_KEY("--strict", KEY_STRICT),
	FUSE_OPT_KEY("--format=", KEY_FORMAT),
	FUSE_OPT_KEY("--format", KEY_FORMAT_BARE),
	FUSE_OPT_KEY("-u", KEY_UNMOUNT),
	FUSE_OPT_KEY("-f", KEY_FUSE_FLAG),
	FUSE_OPT_KEY("-d", KEY_FUSE_FLAG),
	FUSE_OPT_KEY("-s", KEY_FUSE_FLAG),
	FUSE_OPT_END
};

/*
 * The -o keys libfuse 3.14 takes (checked one by one), passed on as they are.  A key
 * ending in '=' takes a value.  Anything else is a usage error: libfuse would
 * refuse it with a less helpful message, or the kernel would ignore it.
 */
static const char *const fuse_keys[] = {
	"rw", "dev", "nodev", "suid", "nosuid", "exec", "noexec", "async", "sync",
	"dirsync", "atime", "noatime",
	"allow_other", "allow_root", "auto_unmount",
	"default_permissions", "fsname=", "subtype=", "max_read=", "context=",
	"fscontext=", "defcontext=", "rootcontext=", "debug", "clone_fd",
	"max_idle_threads=", "max_threads=", "kernel_cache", "auto_cache", "noauto_cache",
	"no_rofd_flush", "umask=", "uid=", "gid=", "entry_timeout=", "negative_timeout=",
	"attr_timeout=", "ac_attr_timeout=", "noforget", "remember=",
	NULL
};

/* What mount(8) and mount.fuse3 may hand a helper that means nothing to FUSE:
 * dropped, as mount.fuse3 itself drops most of them. */
static const char *const dropped_keys[] = {
	"defaults", "user", "nouser", "users", "auto", "noauto", "nofail", "_netdev",
	NULL
};

/* Our own, for "did you mean" (the long options start with "--"). */
static const char *const own_words[] = {
	"ro", "verify_key", "allow_new_key", "--status", "--strict", "--format=json", "--format=text",
	"--help", "--version",
	NULL
};

static void
usage_error(struct cli *c, const char *fmt, const char *arg, const char *more)
{
	char first[400];	/* fmt is one line of ours, arg at most 200 bytes */

	if (c->error[0] != '\0')
		return;	/* the first problem is the one named */
	snprintf(first, sizeof(first), fmt, AF_SHORT(arg));
	snprintf(c->error, sizeof(c->error), "%s%s", first, more != NULL ? more : "");
}

/* The name of an option: "verify-key" of "verify-key=x". */
static size_t
name_len(const char *arg)
{
	return strcspn(arg, "=");
}

static size_t
distance(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t prev[64], cur[64], i, j;

	if (alen >= 63 || blen >= 63)
		return 99;
	for (j = 0; j <= blen; j++)
		prev[j] = j;
	for (i = 1; i <= alen; i++) {
		cur[0] = i;
		for (j = 1; j <= blen; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (blen + 1) * sizeof(prev[0]));
	}
	return prev[blen];
}

/* A close word of ours, or NULL: '-' for '_' (verify-key) or a typo or two. */
static const char *
suggestion(const char *arg)
{
	size_t len = name_len(arg), i;
	char norm[64];

	if (len == 0 || len >= sizeof(norm))
		return NULL;
	if (strncmp(arg, "--json", len) == 0 && len == 6)
		return "--format=json";
	for (i = 0; i < len; i++)
		norm[i] = (arg[i] == '-' && i > 1) ? '_' : arg[i];
	norm[len] = '\0';
	for (i = 0; own_words[i] != NULL; i++) {
		const char *w = own_words[i];
		size_t wlen = name_len(w);
		if (len >= 4 && distance(norm, len, w, wlen) <= 2)
			return w;
		if (arg[0] != '-' && len >= 4 && distance(arg, len, w, wlen) <= 2)
			return w;
	}
	return NULL;
}

static bool
listed(const char *const *keys, const char *arg)
{
	size_t len = name_len(arg), i;

	for (i = 0; keys[i] != NULL; i++) {
		size_t klen = name_len(keys[i]);
		bool takes_value = keys[i][klen] == '=';
		if (klen == len && strncmp(keys[i], arg, len) == 0 &&
		    takes_value == (arg[len] == '='))
			return true;
	}
	return false;
}

static bool
add_string(char ***list, size_t *count, const char *s)
{
	char **grown = reallocarray(*list, *count + 1, sizeof(*grown));

	if (grown == NULL)
		return false;
	*list = grown;
	if ((grown[*count] = strdup(s)) == NULL)
		return false;
	(*count)++;
	return true;
}

static int
unknown(struct cli *c, const char *arg)
{
	const char *close;
	char hint[160] = "";

	if (strcmp(arg, "-k") == 0 || strncmp(arg, "--key", 5) == 0) {
		usage_error(c, "unknown option '%s': give a verify key with -o verify_key=FILE",
		    arg, NULL);
		return -1;
	}
	if ((close = suggestion(arg)) != NULL)
		snprintf(hint, sizeof(hint), ": did you mean %s?", close);
	else
		snprintf(hint, sizeof(hint), "; see artifactfs --help");
	if (arg[0] == '-')
		usage_error(c, "unknown option '%s'", arg, hint);
	else
		usage_error(c, "unknown option '-o %s'", arg, hint);
	return -1;
}

static int
process_arg(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct cli *c = data;

	(void)out;
	switch (key) {
	case KEY_HELP:
		c->help = true;
		return 0;
	case KEY_VERSION:
		c->version = true;
		return 0;
	case KEY_STATUS:
		c->status = true;
		return 0;
	case KEY_STRICT:
		c->strict = true;
		return 0;
	case KEY_UNMOUNT:
		c->unmount = true;
		return 0;
	case KEY_FORMAT_BARE:
		usage_error(c, "%s needs a value: --format=text or --format=json", arg, NULL);
		return -1;
	case KEY_FORMAT:
		arg += strlen("--format=");
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
			usage_error(c, "unknown --format '%s': it is text or json", arg, NULL);
			return -1;
		}
		c->json = strcmp(arg, "json") == 0;
		c->format_given = true;
		return 0;
	case KEY_RO:
		c->read_only = true;
		if (c->fuse_option[0] == '\0')
			snprintf(c->fuse_option, sizeof(c->fuse_option), "-o ro");
		return 1;	/* and pass it on to the kernel mount */
	case KEY_ALLOW_NEW_KEY:
		c->allow_new_key = true;
		return 0;
	case KEY_VERIFY_KEY:
		arg += strlen("verify_key=");
		if (arg[0] == '\0') {
			usage_error(c, "-o verify_key= needs a file: -o verify_key=FILE", arg, NULL);
			return -1;
		}
		return add_string(&c->verify_keys, &c->verify_key_count, arg) ? 0 : -1;
	case KEY_FUSE_FLAG:
		if (c->fuse_option[0] == '\0')
			snprintf(c->fuse_option, sizeof(c->fuse_option), "%s", arg);
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		return add_string(&c->operands, &c->operand_count, arg) ? 0 : -1;
	default:
		if (arg[0] == '-')
			return unknown(c, arg);
		if (listed(dropped_keys, arg) || strncmp(arg, "x-", 2) == 0 ||
		    strncmp(arg, "comment=", 8) == 0)
			return 0;
		if (!listed(fuse_keys, arg))
			return unknown(c, arg);
		if (c->fuse_option[0] == '\0')
			snprintf(c->fuse_option, sizeof(c->fuse_option), "-o %.*s",
			    (int)name_len(arg), arg);
		return 1;
	}
}

#define SYNOPSIS_MOUNT "artifactfs [-fd] [-o OPTION[,...]] ARTIFACT MOUNTPOINT"

/* What goes with what, once every argument is known. */
static bool
check_mode(struct fuse_args *args, struct cli *c)
{
	if (c->help || c->version) {
		c->mode = c->help ? CLI_HELP : CLI_VERSION;
		return true;
	}
	if (c->status && c->unmount) {
		usage_error(c, "%s", "--status and -u do not go together", NULL);
		return false;
	}
	if (!c->status && (c->strict || c->format_given)) {
		usage_error(c, "%s only goes with --status", c->strict ? "--strict" : "--format",
		    NULL);
		return false;
	}
	if (c->status) {
		c->mode = CLI_STATUS;
		if (c->fuse_option[0] != '\0')
			usage_error(c, "'%s' is for a mount; --status takes only "
			    "-o verify_key=FILE, --strict and --format", c->fuse_option, NULL);
		else if (c->operand_count == 0)
			usage_error(c, "%s", "missing ARTIFACT; usage: artifactfs --status "
			    "[--strict] [--format=json] [-o verify_key=FILE]... ARTIFACT...", NULL);
		return c->error[0] == '\0';
	}
	if (c->unmount) {
		c->mode = CLI_UNMOUNT;
		if (c->fuse_option[0] != '\0' || c->verify_key_count > 0)
			usage_error(c, "'%s' is for a mount; -u takes only MOUNTPOINT",
			    c->verify_key_count > 0 ? "-o verify_key" : c->fuse_option, NULL);
		else if (c->operand_count != 1)
			usage_error(c, "%s", c->operand_count == 0 ? "missing MOUNTPOINT; usage: "
			    "artifactfs -u MOUNTPOINT" : "-u takes one MOUNTPOINT", NULL);
		return c->error[0] == '\0';
	}
	c->mode = CLI_MOUNT;
	if (c->operand_count < 2) {
		usage_error(c, "missing %s; usage: " SYNOPSIS_MOUNT, c->operand_count == 0 ?
		    "ARTIFACT and MOUNTPOINT" : "MOUNTPOINT", NULL);
		return false;
	}
	if (c->operand_count > 2) {
		usage_error(c, "unexpected argument '%s'; usage: " SYNOPSIS_MOUNT
		    " (--status takes several artifacts)", c->operands[2], NULL);
		return false;
	}
	if (fuse_opt_add_arg(args, c->operands[1]) != 0) {
		usage_error(c, "%s", "out of memory", NULL);
		return false;
	}
	return true;
}

bool
cli_parse(struct fuse_args *args, struct cli *c)
{
	if (fuse_opt_parse(args, c, option_table, process_arg) != 0) {
		if (c->error[0] == '\0')
			snprintf(c->error, sizeof(c->error), "bad arguments; see artifactfs --help");
		return false;
	}
	return check_mode(args, c);
}

void
cli_free(struct cli *c)
{
	size_t i;

	for (i = 0; i < c->operand_count; i++)
		free(c->operands[i]);
	free(c->operands);
	for (i = 0; i < c->verify_key_count; i++)
		free(c->verify_keys[i]);
	free(c->verify_keys);
}
