#include "fs/verifier.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum state { IDLE, RUNNING, DONE };

struct fs_verifier {
	struct artifact *artifact;
	pthread_mutex_t lock;
	pthread_cond_t finished;
	enum state state;
	bool stop, thread_started;
	pthread_t thread;
	struct af_checks checks;
	enum af_err err;
	char current[AF_SHORT_MAX];	/* the file being checked, shortened */
	uint64_t done, total;
	struct timespec started, ended;
};

struct fs_verifier *
fs_verifier_new(struct artifact *a)
{
	struct fs_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->artifact = a;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->finished, NULL);
	return v;
}

static bool
on_progress(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	struct fs_verifier *v = ctx;
	bool go_on;

	pthread_mutex_lock(&v->lock);
	af_short(v->current, name);
	v->done = done;
	v->total = total;
	go_on = !v->stop;
	pthread_mutex_unlock(&v->lock);
	return go_on;
}

static void *
run(void *arg)
{
	struct fs_verifier *v = arg;
	struct af_checks checks;
	enum af_err err = af_verify_checksums(v->artifact, on_progress, v, &checks);

	pthread_mutex_lock(&v->lock);
	v->checks = checks;
	v->err = err;
	v->state = DONE;
	clock_gettime(CLOCK_MONOTONIC, &v->ended);
	pthread_cond_broadcast(&v->finished);
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

const struct af_checks *
fs_verifier_wait(struct fs_verifier *v)
{
	const struct af_checks *result;

	pthread_mutex_lock(&v->lock);
	if (v->state == IDLE) {
		clock_gettime(CLOCK_MONOTONIC, &v->started);
		v->state = RUNNING;
		if (pthread_create(&v->thread, NULL, run, v) != 0) {
			v->state = IDLE;
			pthread_mutex_unlock(&v->lock);
			return NULL;
		}
		v->thread_started = true;
	}
	while (v->state != DONE)
		pthread_cond_wait(&v->finished, &v->lock);
	result = v->err == AF_OK ? &v->checks : NULL;
	pthread_mutex_unlock(&v->lock);
	return result;
}

const struct af_checks *
fs_verifier_result(struct fs_verifier *v)
{
	const struct af_checks *result;

	pthread_mutex_lock(&v->lock);
	result = v->state == DONE && v->err == AF_OK ? &v->checks : NULL;
	pthread_mutex_unlock(&v->lock);
	return result;
}

static void
human(uint64_t n, char *buf, size_t len)
{
	if (n >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", (double)n / (1ull << 30));
	else if (n >= (1ull << 20))
		snprintf(buf, len, "%.1f MiB", (double)n / (1ull << 20));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
}

void
fs_verifier_progress(struct fs_verifier *v, char *buf, size_t len)
{
	char done[32], total[32];

	pthread_mutex_lock(&v->lock);
	if (v->state == IDLE) {
		snprintf(buf, len, "idle: checksums are computed on the first read of "
		    "signature-status\n");
	} else if (v->state == RUNNING) {
		human(v->done, done, sizeof(done));
		human(v->total, total, sizeof(total));
		snprintf(buf, len, "checking %s: %s of %s (%.0f%%)\n", v->current[0] != '\0' ?
		    v->current : "the header", done, total,
		    v->total > 0 ? 100.0 * (double)v->done / (double)v->total : 0.0);
	} else {
		double s = (double)(v->ended.tv_sec - v->started.tv_sec) +
		    (double)(v->ended.tv_nsec - v->started.tv_nsec) / 1e9;
		snprintf(buf, len, "done: %zu checksums in %.2f s\n", v->checks.count, s);
	}
	pthread_mutex_unlock(&v->lock);
}

void
fs_verifier_free(struct fs_verifier *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = true;
	pthread_mutex_unlock(&v->lock);
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	af_checks_clear(&v->checks);
	pthread_cond_destroy(&v->finished);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
