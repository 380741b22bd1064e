#include "artifact/checkpoint.h"

#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

#define SPACING (4u << 20)	/* decompressed bytes between checkpoints */

/* A decoder state, zstd-compressed (~85 KiB raw for gzip). */
struct checkpoint {
	uint64_t out_pos, in_pos;
	void *blob;
	size_t blob_len;
};

struct af_checkpoints {
	pthread_mutex_t lock;
	struct checkpoint *items;	/* by out_pos */
	size_t count;
};

struct af_checkpoints *
af_checkpoints_new(void)
{
	struct af_checkpoints *list = calloc(1, sizeof(*list));

	if (list != NULL)
		pthread_mutex_init(&list->lock, NULL);
	return list;
}

void
af_checkpoints_free(struct af_checkpoints *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		free(list->items[i].blob);
	free(list->items);
	pthread_mutex_destroy(&list->lock);
	free(list);
}

/* Output offset of the last checkpoint, or 0; under the lock. */
static uint64_t
last_out_pos(const struct af_checkpoints *list)
{
	return list->count > 0 ? list->items[list->count - 1].out_pos : 0;
}

bool
af_checkpoints_due(struct af_checkpoints *list, uint64_t out_pos, uint64_t slack)
{
	bool due;

	if (out_pos == 0 || out_pos % SPACING > slack)
		return false;
	pthread_mutex_lock(&list->lock);
	due = list->count == 0 || last_out_pos(list) + SPACING <= out_pos;
	pthread_mutex_unlock(&list->lock);
	return due;
}

/* The codec's state, compressed; NULL without memory or state. */
static void *
snapshot(const struct af_codec *codec, size_t *len)
{
	size_t size = af_codec_snapshot_size(codec), bound = ZSTD_compressBound(size);
	void *raw = size > 0 ? malloc(size) : NULL, *blob = raw != NULL ? malloc(bound) : NULL;

	if (blob == NULL || !af_codec_snapshot(codec, raw) ||
	    ZSTD_isError(*len = ZSTD_compress(blob, bound, raw, size, 1))) {
		free(raw);
		free(blob);
		return NULL;
	}
	free(raw);
	return blob;
}

void
af_checkpoints_add(struct af_checkpoints *list, const struct af_codec *codec,
    uint64_t out_pos, uint64_t in_pos)
{
	struct checkpoint cp = { out_pos, in_pos, NULL, 0 }, *grown;
	void *shrunk;

	if ((cp.blob = snapshot(codec, &cp.blob_len)) == NULL)
		return;
	if ((shrunk = realloc(cp.blob, cp.blob_len)) != NULL)
		cp.blob = shrunk;
	pthread_mutex_lock(&list->lock);
	if ((list->count == 0 || last_out_pos(list) < out_pos) &&
	    (grown = reallocarray(list->items, list->count + 1, sizeof(*grown))) != NULL) {
		list->items = grown;
		list->items[list->count++] = cp;
		cp.blob = NULL;
	}
	pthread_mutex_unlock(&list->lock);
	free(cp.blob);
}

bool
af_checkpoints_find(struct af_checkpoints *list, uint64_t out_pos, struct af_checkpoint_at *at)
{
	size_t lo = 0, hi;
	bool found;

	pthread_mutex_lock(&list->lock);
	hi = list->count;
	while (lo < hi) {		/* the first past out_pos */
		size_t mid = (lo + hi) / 2;
		if (list->items[mid].out_pos <= out_pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((found = lo > 0))
		*at = (struct af_checkpoint_at){ list->items[lo - 1].out_pos,
		    list->items[lo - 1].in_pos, lo - 1 };
	pthread_mutex_unlock(&list->lock);
	return found;
}

bool
af_checkpoints_restore(struct af_checkpoints *list, const struct af_checkpoint_at *at,
    struct af_codec *codec)
{
	size_t size = af_codec_snapshot_size(codec);
	void *raw = malloc(size);
	struct checkpoint cp;

	pthread_mutex_lock(&list->lock);
	cp = list->items[at->index];	/* blobs stay while the list lives */
	pthread_mutex_unlock(&list->lock);
	if (raw == NULL || ZSTD_decompress(raw, size, cp.blob, cp.blob_len) != size) {
		free(raw);
		return false;
	}
	af_codec_restore(codec, raw);
	free(raw);
	return true;
}
