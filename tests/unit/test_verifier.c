/*
 * fs/verifier.c, the checksum pass of a mount without the mount: it starts
 * on the first wait and not before, runs once however many wait at the same
 * time, keeps its result, and says where it is in one line.  The pass itself
 * is artifact/verify.c's (test_verify.c); fixtures from FIXTURES.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/verify.h"
#include "fs/verifier.h"
#include "tarbuild.h"

static struct artifact *
open_fixture(const char *name)
{
	char path[4096];
	struct af_reason why = { 0 };
	struct artifact *a = NULL;

	if (fixture_path(name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent (FIXTURES)", name);
	cr_assert_eq(artifact_open(path, &a, &why), AF_OK, "%s: %s", name, why.text);
	return a;
}

Test(verifier, idle_until_asked_then_done_and_kept)
{
	struct artifact *a = open_fixture("module.mender");
	struct fs_verifier *v = fs_verifier_new(a);
	struct af_checks direct = { 0 };
	const struct af_checks *c;
	char line[400], want[64];
	size_t i;

	cr_assert_not_null(v);
	fs_verifier_progress(v, line, sizeof(line));
	cr_assert(strncmp(line, "idle: ", 6) == 0, "%s", line);
	cr_assert_null(fs_verifier_result(v), "nothing before the first wait");
	fs_verifier_progress(v, line, sizeof(line));
	cr_assert(strncmp(line, "idle: ", 6) == 0, "asking for the result starts nothing: %s",
	    line);

	c = fs_verifier_wait(v);
	cr_assert_not_null(c);
	cr_assert_eq(fs_verifier_result(v), c);
	cr_assert_eq(fs_verifier_wait(v), c, "a second wait: the same result, no second pass");
	/* the same checks as the pass run directly */
	cr_assert_eq(af_verify_checksums(a, NULL, NULL, &direct), AF_OK);
	cr_assert_eq(c->count, direct.count);
	cr_assert_eq(c->failed, 0);
	for (i = 0; i < c->count; i++) {
		cr_assert_str_eq(c->items[i].name, direct.items[i].name);
		cr_assert_str_eq(c->items[i].actual, direct.items[i].actual);
	}
	fs_verifier_progress(v, line, sizeof(line));
	snprintf(want, sizeof(want), "done: %zu checksums in ", c->count);
	cr_assert(strncmp(line, want, strlen(want)) == 0, "%s", line);
	cr_assert_eq(line[strlen(line) - 1], '\n');
	af_checks_clear(&direct);
	fs_verifier_free(v);
	artifact_close(a);
}

struct waiter {
	struct fs_verifier *v;
	const struct af_checks *got;
};

static void *
wait_for(void *arg)
{
	struct waiter *w = arg;

	w->got = fs_verifier_wait(w->v);
	return NULL;
}

/* Eight readers open signature-status at once: one pass, one result. */
Test(verifier, many_waiters_one_pass)
{
	struct artifact *a = open_fixture("rootfs-xz.mender");
	struct fs_verifier *v = fs_verifier_new(a);
	struct waiter w[8];
	pthread_t t[8];
	int i;

	for (i = 0; i < 8; i++) {
		w[i].v = v;
		w[i].got = NULL;
		cr_assert_eq(pthread_create(&t[i], NULL, wait_for, &w[i]), 0);
	}
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	cr_assert_not_null(w[0].got);
	for (i = 1; i < 8; i++)
		cr_assert_eq(w[i].got, w[0].got, "waiter %d", i);
	cr_assert_eq(w[0].got->failed, 0);
	fs_verifier_free(v);
	artifact_close(a);
}

/* A mount that ends before anyone asked: nothing to stop, nothing leaked. */
Test(verifier, freed_unstarted)
{
	struct artifact *a = open_fixture("module.mender");

	fs_verifier_free(fs_verifier_new(a));
	fs_verifier_free(NULL);
	artifact_close(a);
}
