#include "artifact/hasher.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "crypto/sha256.h"

#define BUFFERS 4

struct af_hasher {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint8_t *buf[BUFFERS];
	size_t len[BUFFERS];
	uint64_t submitted, hashed;	/* buffers; slot = count % BUFFERS */
	bool quit;
	struct cr_sha256 *sha;
};

static void *
work(void *arg)
{
	struct af_hasher *h = arg;
	size_t slot;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->hashed == h->submitted && !h->quit)
			pthread_cond_wait(&h->changed, &h->lock);
		if (h->hashed == h->submitted)
			break;
		slot = h->hashed % BUFFERS;
		pthread_mutex_unlock(&h->lock);
		cr_sha256_update(h->sha, h->buf[slot], h->len[slot]);
		pthread_mutex_lock(&h->lock);
		h->hashed++;
		pthread_cond_broadcast(&h->changed);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct af_hasher *
af_hasher_new(size_t size)
{
	struct af_hasher *h = calloc(1, sizeof(*h));
	size_t i;

	if (h == NULL)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->changed, NULL);
	h->sha = cr_sha256_new();
	for (i = 0; i < BUFFERS; i++)
		h->buf[i] = malloc(size);
	for (i = 0; i < BUFFERS && h->buf[i] != NULL; i++)
		;
	if (h->sha == NULL || i < BUFFERS || pthread_create(&h->thread, NULL, work, h) != 0) {
		af_hasher_free(h);
		return NULL;
	}
	h->started = true;
	return h;
}

void
af_hasher_free(struct af_hasher *h)
{
	size_t i;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->quit = true;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
	if (h->started)
		pthread_join(h->thread, NULL);
	for (i = 0; i < BUFFERS; i++)
		free(h->buf[i]);
	cr_sha256_free(h->sha);
	pthread_cond_destroy(&h->changed);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

uint8_t *
af_hasher_buffer(struct af_hasher *h)
{
	uint8_t *b;

	pthread_mutex_lock(&h->lock);
	while (h->submitted - h->hashed == BUFFERS)
		pthread_cond_wait(&h->changed, &h->lock);
	b = h->buf[h->submitted % BUFFERS];
	pthread_mutex_unlock(&h->lock);
	return b;
}

void
af_hasher_submit(struct af_hasher *h, size_t len)
{
	pthread_mutex_lock(&h->lock);
	h->len[h->submitted % BUFFERS] = len;
	h->submitted++;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
}

static void
drain(struct af_hasher *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->hashed != h->submitted)
		pthread_cond_wait(&h->changed, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

void
af_hasher_finish(struct af_hasher *h, char hex[65])
{
	drain(h);
	cr_sha256_final_hex(h->sha, hex);
}

void
af_hasher_abandon(struct af_hasher *h)
{
	char ignored[65];

	af_hasher_finish(h, ignored);
}
