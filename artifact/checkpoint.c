#include "artifact/checkpoint.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define SPACING (2u << 20)	/* decompressed bytes between checkpoints */
/* Raw states waiting for the compressing thread; past this many, new
 * checkpoints are skipped rather than hold more memory. */
#define MAX_PENDING 8

/*
 * A decoder state (85 KiB for gzip), raw until the compressing thread has
 * made it a zstd blob (about 15 KiB).  Compressing on the decoder's thread
 * slowed every sequential read; the decoder only copies its state.
 */
struct checkpoint {
	uint64_t out_pos, in_pos;
	void *raw;		/* NULL once compressed */
	bool kept_raw;		/* compressing it failed: it stays raw */
	void *blob;
	size_t blob_len;
};

struct af_checkpoints {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_t compressor;
	bool compressor_started, stopping;
	size_t raw_size;	/* of every state in this list */
	struct checkpoint *items;	/* by out_pos */
	size_t count;
	size_t settled;		/* items before this are compressed */
	size_t pending;		/* raw ones waiting for the compressing thread */
};

struct af_checkpoints *
af_checkpoints_new(void)
{
	struct af_checkpoints *list = calloc(1, sizeof(*list));

	if (list != NULL) {
		pthread_mutex_init(&list->lock, NULL);
		pthread_cond_init(&list->work, NULL);
	}
	return list;
}

void
af_checkpoints_free(struct af_checkpoints *list)
{
	size_t i;

	if (list == NULL)
		return;
	pthread_mutex_lock(&list->lock);
	list->stopping = true;
	pthread_cond_signal(&list->work);
	pthread_mutex_unlock(&list->lock);
	if (list->compressor_started)
		pthread_join(list->compressor, NULL);
	for (i = 0; i < list->count; i++) {
		free(list->items[i].raw);
		free(list->items[i].blob);
	}
	free(list->items);
	pthread_cond_destroy(&list->work);
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

/* raw compressed into a blob of its own size; NULL without memory. */
static void *
compress(ZSTD_CCtx *cctx, const void *raw, size_t size, size_t *len)
{
	size_t bound = ZSTD_compressBound(size);
	void *blob = malloc(bound), *shrunk;

	if (blob == NULL || cctx == NULL ||
	    ZSTD_isError(*len = ZSTD_compressCCtx(cctx, blob, bound, raw, size, 1))) {
		free(blob);
		return NULL;
	}
	shrunk = realloc(blob, *len);
	return shrunk != NULL ? shrunk : blob;
}

/* The first checkpoint still to compress, or NULL; under the lock. */
static struct checkpoint *
next_raw(struct af_checkpoints *list)
{
	while (list->settled < list->count && (list->items[list->settled].raw == NULL ||
	    list->items[list->settled].kept_raw))
		list->settled++;
	return list->settled < list->count ? &list->items[list->settled] : NULL;
}

/*
 * Compresses raw states as they come, off the decoder's thread.  Only this
 * thread frees a raw state, so it reads one without the lock while readers
 * restore from copies taken under it.  It runs until the list is freed: a
 * state it cannot compress (no memory) stays raw and leaves the queue, so
 * the checkpoints after it are still taken.
 */
static void *
compressor(void *arg)
{
	struct af_checkpoints *list = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	struct checkpoint *cp;
	void *raw, *blob;
	size_t len = 0, at, size;

	pthread_mutex_lock(&list->lock);
	while (!list->stopping) {
		if ((cp = next_raw(list)) == NULL) {
			pthread_cond_wait(&list->work, &list->lock);
			continue;
		}
		at = list->settled;
		raw = cp->raw;
		size = list->raw_size;
		pthread_mutex_unlock(&list->lock);
		blob = compress(cctx, raw, size, &len);
		pthread_mutex_lock(&list->lock);
		cp = &list->items[at];	/* items may have moved */
		if (blob == NULL) {	/* no memory: this one stays raw */
			cp->kept_raw = true;
			list->pending--;
			continue;
		}
		cp->blob = blob;
		cp->blob_len = len;
		cp->raw = NULL;
		list->pending--;
		free(raw);
	}
	pthread_mutex_unlock(&list->lock);
	ZSTD_freeCCtx(cctx);
	return NULL;
}

/* Appends cp (raw or compressed) if it comes after the last; under the lock. */
static bool
append(struct af_checkpoints *list, const struct checkpoint *cp, size_t size)
{
	struct checkpoint *grown;

	if ((list->count > 0 && last_out_pos(list) >= cp->out_pos) ||
	    (list->raw_size != 0 && list->raw_size != size) ||
	    (cp->raw == NULL && cp->blob == NULL) ||
	    (cp->raw != NULL && list->pending >= MAX_PENDING) ||
	    (grown = reallocarray(list->items, list->count + 1, sizeof(*grown))) == NULL)
		return false;
	if (list->raw_size == 0)
		list->raw_size = size;
	list->items = grown;
	list->items[list->count++] = *cp;
	return true;
}

void
af_checkpoints_add(struct af_checkpoints *list, const struct af_codec *codec,
    uint64_t out_pos, uint64_t in_pos)
{
	size_t size = af_codec_snapshot_size(codec);
	struct checkpoint cp = { out_pos, in_pos, size > 0 ? malloc(size) : NULL, false, NULL, 0 };
	ZSTD_CCtx *cctx;

	if (cp.raw == NULL || !af_codec_snapshot(codec, cp.raw)) {
		free(cp.raw);
		return;
	}
	pthread_mutex_lock(&list->lock);
	if (!list->compressor_started && !list->stopping)
		list->compressor_started =
		    pthread_create(&list->compressor, NULL, compressor, list) == 0;
	if (!list->compressor_started) {	/* compress here, then */
		pthread_mutex_unlock(&list->lock);
		cctx = ZSTD_createCCtx();
		cp.blob = compress(cctx, cp.raw, size, &cp.blob_len);
		ZSTD_freeCCtx(cctx);
		free(cp.raw);
		cp.raw = NULL;
		pthread_mutex_lock(&list->lock);
	}
	if (!append(list, &cp, size)) {	/* the compressor is behind: skip this one */
		free(cp.raw);
		free(cp.blob);
	} else if (cp.raw != NULL) {
		list->pending++;
		pthread_cond_signal(&list->work);
	}
	pthread_mutex_unlock(&list->lock);
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
	bool ok = raw != NULL;

	pthread_mutex_lock(&list->lock);
	cp = list->items[at->index];	/* blobs stay while the list lives */
	if (ok && cp.raw != NULL)	/* not compressed yet: the compressor may free it */
		memcpy(raw, cp.raw, size);
	pthread_mutex_unlock(&list->lock);
	if (ok && cp.raw == NULL)
		ok = ZSTD_decompress(raw, size, cp.blob, cp.blob_len) == size;
	if (ok)
		af_codec_restore(codec, raw);
	free(raw);
	return ok;
}
