/*
 * fs/cli.c, the command line: each mode, what each option sets, what is
 * passed on to FUSE, and every usage error with its hint ("did you mean").
 * No mount: cli_parse only parses (tests/integration/cli.sh runs the built
 * binary for exit status 5 and the one line on stderr).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli.h"

#define MAX_ARGS 16

struct parsed {
	bool ok;
	struct cli c;
	struct fuse_args args;
	char *argv[MAX_ARGS + 2];
};

/* Parses "artifactfs" and the NULL-terminated arguments. */
static struct parsed *
parse(const char *first, ...)
{
	struct parsed *p = calloc(1, sizeof(*p));
	const char *a;
	int argc = 0;
	va_list ap;

	p->argv[argc++] = strdup("artifactfs");
	va_start(ap, first);
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		cr_assert_lt(argc, MAX_ARGS);
		p->argv[argc++] = strdup(a);
	}
	va_end(ap);
	p->args = (struct fuse_args)FUSE_ARGS_INIT(argc, p->argv);
	p->ok = cli_parse(&p->args, &p->c);
	if (!p->ok)
		cr_assert_neq(p->c.error[0], '\0', "a refusal without a message");
	cr_assert_null(strchr(p->c.error, '\n'), "one line: %s", p->c.error);
	return p;
}

static void
done(struct parsed *p)
{
	int i;

	fuse_opt_free_args(&p->args);
	cli_free(&p->c);
	for (i = 0; p->argv[i] != NULL; i++)
		free(p->argv[i]);
	free(p);
}

/* What fuse_main would get, as one string: "artifactfs -o ro m". */
static const char *
passed_on(const struct parsed *p)
{
	static char s[512];
	size_t n = 0;
	int i;

	s[0] = '\0';
	for (i = 0; i < p->args.argc; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s", i > 0 ? " " : "",
		    p->args.argv[i]);
	return s;
}

#define PARSE(...) parse(__VA_ARGS__, (const char *)NULL)

/* The arguments must be refused with an error containing every fragment
 * (separated by '|'). */
static void
refused(struct parsed *p, const char *fragments)
{
	char buf[256], *f, *save = NULL;

	cr_assert_not(p->ok, "accepted");
	snprintf(buf, sizeof(buf), "%s", fragments);
	for (f = strtok_r(buf, "|", &save); f != NULL; f = strtok_r(NULL, "|", &save))
		cr_assert(strstr(p->c.error, f) != NULL, "\"%s\", want \"%s\"", p->c.error, f);
	done(p);
}

#define REFUSED(fragments, ...) refused(PARSE(__VA_ARGS__), fragments)

static struct parsed *
accepted(struct parsed *p, enum cli_mode mode)
{
	cr_assert(p->ok, "refused: %s", p->c.error);
	cr_assert_eq(p->c.mode, mode);
	return p;
}

#define ACCEPTED(mode, ...) accepted(PARSE(__VA_ARGS__), mode)

Test(cli, mount)
{
	struct parsed *p = ACCEPTED(CLI_MOUNT, "a.mender", "m");

	cr_assert_eq(p->c.operand_count, 2);
	cr_assert_str_eq(p->c.operands[0], "a.mender");
	cr_assert_str_eq(p->c.operands[1], "m");
	cr_assert_not(p->c.read_only);
	cr_assert_eq(p->c.verify_key_count, 0);
	cr_assert_not(p->c.allow_new_key);
	/* FUSE gets the mountpoint, not the artifact */
	cr_assert_str_eq(passed_on(p), "artifactfs m");
	done(p);
}

Test(cli, mount_options)
{
	struct parsed *p = ACCEPTED(CLI_MOUNT, "-f", "-o", "ro,allow_other", "a.mender", "m",
	    "-o", "verify_key=k1.pub", "-overify_key=k2.pub,allow_new_key", "-d", "-s");

	cr_assert(p->c.read_only);
	cr_assert(p->c.allow_new_key);
	cr_assert_eq(p->c.verify_key_count, 2);
	cr_assert_str_eq(p->c.verify_keys[0], "k1.pub", "in the order given");
	cr_assert_str_eq(p->c.verify_keys[1], "k2.pub");
	/* ro and FUSE's own go on; ours do not */
	/* (libfuse gathers the -o keys into one -o, first) */
	cr_assert_str_eq(passed_on(p), "artifactfs -o ro,allow_other -f -d -s m");
	cr_assert_str_eq(p->c.fuse_option, "-f", "the first option meant for FUSE");
	done(p);
}

Test(cli, fuse_keys_with_and_without_values)
{
	struct parsed *p = ACCEPTED(CLI_MOUNT, "-o", "uid=0,gid=0,umask=022,max_read=4096,"
	    "noatime,default_permissions,fsname=x,subtype=y", "a", "m");

	cr_assert_str_eq(passed_on(p), "artifactfs -o uid=0,gid=0,umask=022,max_read=4096,"
	    "noatime,default_permissions,fsname=x,subtype=y m");
	cr_assert_str_eq(p->c.fuse_option, "-o uid");
	done(p);
	/* a key that takes a value given none, and one that takes none given one */
	REFUSED("unknown option '-o uid'", "-o", "uid", "a", "m");
	REFUSED("unknown option '-o noatime=1'", "-o", "noatime=1", "a", "m");
	REFUSED("unknown option '-o ro=1'", "-o", "ro=1", "a", "m");
}

/* What mount(8) hands a helper and means nothing to FUSE is dropped. */
Test(cli, mount_helper_keys_are_dropped)
{
	struct parsed *p = ACCEPTED(CLI_MOUNT, "-o", "defaults,nofail,_netdev,user,noauto,"
	    "x-systemd.automount,comment=systemd.foo,ro", "a", "m");

	cr_assert(p->c.read_only);
	cr_assert_str_eq(passed_on(p), "artifactfs -o ro m");
	done(p);
}

Test(cli, mount_operands)
{
	REFUSED("missing ARTIFACT and MOUNTPOINT|usage: artifactfs", "-f");
	refused(parse(NULL), "missing ARTIFACT and MOUNTPOINT");
	REFUSED("missing MOUNTPOINT|usage: artifactfs", "a.mender");
	REFUSED("unexpected argument 'extra'|--status takes several artifacts", "a.mender", "m",
	    "extra");
	/* mount-only options are still checked without operands... */
	REFUSED("--strict only goes with --status", "--strict", "a", "m");
	REFUSED("--format only goes with --status", "--format=json", "a", "m");
	REFUSED("--format only goes with --status", "--format=text", "a", "m");
}

Test(cli, verify_key_needs_a_file)
{
	REFUSED("-o verify_key= needs a file", "-o", "verify_key=", "a", "m");
	REFUSED("-o verify_key= needs a file", "--status", "-o", "verify_key=", "a");
	/* without '=', it is not our key, and nearly it */
	REFUSED("unknown option '-o verify_key'|did you mean verify_key?", "-o", "verify_key",
	    "a", "m");
}

Test(cli, status)
{
	struct parsed *p = ACCEPTED(CLI_STATUS, "--status", "a.mender", "b.mender",
	    "-o", "verify_key=k.pub");

	cr_assert_eq(p->c.operand_count, 2);
	cr_assert_str_eq(p->c.operands[1], "b.mender");
	cr_assert_eq(p->c.verify_key_count, 1);
	cr_assert_not(p->c.json);
	cr_assert_not(p->c.strict);
	done(p);
	p = ACCEPTED(CLI_STATUS, "--strict", "--format=json", "--status", "a");
	cr_assert(p->c.strict);
	cr_assert(p->c.json);
	done(p);
	p = ACCEPTED(CLI_STATUS, "--status", "--format=json", "--format=text", "a");
	cr_assert_not(p->c.json, "the last --format counts");
	done(p);
}

Test(cli, status_usage_errors)
{
	REFUSED("missing ARTIFACT|usage: artifactfs --status", "--status");
	REFUSED("missing ARTIFACT", "--status", "--strict", "-o", "verify_key=k");
	REFUSED("'-o ro' is for a mount|--status takes only", "--status", "-o", "ro", "a");
	REFUSED("'-f' is for a mount", "--status", "-f", "a");
	REFUSED("'-d' is for a mount", "--status", "-d", "a");
	REFUSED("'-o allow_other' is for a mount", "--status", "-o", "allow_other", "a");
	/* the first of them is named */
	REFUSED("'-f' is for a mount", "--status", "-f", "-o", "ro", "a");
	REFUSED("'-o ro' is for a mount", "--status", "-o", "ro", "-f", "a");
	REFUSED("'-o allow_other' is for a mount", "--status", "-o", "allow_other,ro", "a");
	REFUSED("unknown --format 'yaml': it is text or json", "--status", "--format=yaml", "a");
	REFUSED("unknown --format '': it is text or json", "--status", "--format=", "a");
	REFUSED("--format needs a value: --format=text or --format=json", "--status", "--format",
	    "json", "a");
	REFUSED("--status and -u do not go together", "--status", "-u", "m");
}

Test(cli, unmount)
{
	struct parsed *p = ACCEPTED(CLI_UNMOUNT, "-u", "m");

	cr_assert_eq(p->c.operand_count, 1);
	cr_assert_str_eq(p->c.operands[0], "m");
	done(p);
	REFUSED("missing MOUNTPOINT|usage: artifactfs -u MOUNTPOINT", "-u");
	REFUSED("-u takes one MOUNTPOINT", "-u", "m", "n");
	REFUSED("'-o ro' is for a mount; -u takes only MOUNTPOINT", "-u", "-o", "ro", "m");
	REFUSED("'-f' is for a mount", "-u", "-f", "m");
	REFUSED("'-o verify_key' is for a mount", "-u", "-o", "verify_key=k", "m");
	REFUSED("--strict only goes with --status", "-u", "--strict", "m");
}

Test(cli, help_and_version)
{
	static const char *const help[] = { "-h", "--help" }, *const version[] = { "-V",
	    "--version" };
	struct parsed *p;
	int i;

	for (i = 0; i < 2; i++) {
		done(ACCEPTED(CLI_HELP, help[i]));
		done(ACCEPTED(CLI_VERSION, version[i]));
	}
	/* they win over what would be a usage error of a mode... */
	done(ACCEPTED(CLI_HELP, "--help", "--status"));
	done(ACCEPTED(CLI_HELP, "-h", "a", "b", "c"));
	done(ACCEPTED(CLI_VERSION, "-V", "-u"));
	p = ACCEPTED(CLI_HELP, "--help", "--version");
	done(p);
	/* ...but not over an unknown option */
	REFUSED("unknown option '--bogus'", "--help", "--bogus");
}

Test(cli, did_you_mean)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{ "--json", "--format=json" },
		{ "--stauts", "--status" },
		{ "--satus", "--status" },
		{ "--strcit", "--strict" },
		{ "--hlep", "--help" },
		{ "--verison", "--version" },
		{ "--verify-key=k", "verify_key" },
		{ "--verify_key=k", "verify_key" },
		{ "--allow-new-key", "allow_new_key" },
		{ "--formt=json", "--format=json" },
	};
	static const struct {
		const char *o, *want;
	} keys[] = {
		{ "verify-key=k", "verify_key" },
		{ "verfy_key=k", "verify_key" },
		{ "allow-new-key", "allow_new_key" },
		{ "allow_new_keys", "allow_new_key" },
	};
	size_t i;
	char want[128];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "unknown option '%s': did you mean %s?", cases[i].arg,
		    cases[i].want);
		REFUSED(want, cases[i].arg, "a", "m");
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(want, sizeof(want), "unknown option '-o %s': did you mean %s?", keys[i].o,
		    keys[i].want);
		REFUSED(want, "-o", keys[i].o, "a", "m");
		REFUSED(want, "--status", "-o", keys[i].o, "a");
	}
}

Test(cli, unknown_options_without_a_close_word)
{
	REFUSED("unknown option '--bogus'; see artifactfs --help", "--bogus", "a", "m");
	REFUSED("unknown option '-q'; see artifactfs --help", "-q", "a", "m");
	REFUSED("unknown option '-x'; see artifactfs --help", "--status", "-x", "a");
	REFUSED("unknown option '-o bogus=1'; see artifactfs --help", "-o", "bogus=1", "a", "m");
	/* under four letters, nothing is "close" */
	REFUSED("unknown option '-o rw2'; see artifactfs --help", "-o", "rw2", "a", "m");
	/* -k and --key: the way to give a key */
	REFUSED("unknown option '-k': give a verify key with -o verify_key=FILE", "--status",
	    "-k", "k.pub", "a");
	REFUSED("unknown option '--key=k.pub': give a verify key with -o verify_key=FILE",
	    "--key=k.pub", "a", "m");
}

/* An option of 2000 bytes is named by its start and end, and the hint after
 * it survives. */
Test(cli, a_long_option_keeps_its_hint)
{
	char arg[2001];
	struct parsed *p;
	const char *hint = "'; see artifactfs --help";

	memset(arg, 'x', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	memcpy(arg, "--bog", 5);
	p = parse(arg, "a", "m", NULL);
	cr_assert_not(p->ok);
	cr_assert(strncmp(p->c.error, "unknown option '--bogxx", 23) == 0, "%s", p->c.error);
	cr_assert_not_null(strstr(p->c.error, "x...x"), "%s", p->c.error);
	cr_assert(strcmp(p->c.error + strlen(p->c.error) - strlen(hint), hint) == 0, "%s",
	    p->c.error);
	done(p);
}

/* The first problem is the one named, whichever kind it is. */
Test(cli, the_first_problem_is_named)
{
	REFUSED("'--bogus'", "--bogus", "--json", "a", "m");
	REFUSED("'--json'", "--json", "--bogus", "a", "m");
	REFUSED("'-o nope'", "-o", "nope,verify-key=k", "--status", "a");
	REFUSED("unknown --format 'x'", "--status", "--format=x", "-q", "a");
}

/* After "--", everything is an operand, even what looks like an option. */
Test(cli, double_dash_ends_options)
{
	struct parsed *p = ACCEPTED(CLI_MOUNT, "-o", "ro", "--", "-odd.mender", "m");

	cr_assert_eq(p->c.operand_count, 2);
	cr_assert_str_eq(p->c.operands[0], "-odd.mender");
	cr_assert(p->c.read_only);
	done(p);
}
