#include "artifact/stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define CURSORS 4
/* xz decoders hold their whole dictionary (64 MiB for mender-artifact's
 * preset 9): fewer of them when there are no checkpoints to restart from. */
#define CURSORS_WITHOUT_CHECKPOINTS 2
#define WINDOW (2u << 20)	/* bytes of recent output each cursor keeps */
#define INBUF (128u << 10)
#define STEP (256u << 10)	/* most output produced per decoder call */
#define SPACING (4u << 20)	/* decompressed bytes between checkpoints */

/* A decoder state to resume from, zstd-compressed (~85 KiB raw for gzip). */
struct checkpoint {
	uint64_t out_pos, in_pos;
	void *blob;
	size_t blob_len;
};

struct cursor {
	struct af_codec *codec;
	uint8_t *in;		/* compressed input buffer */
	size_t in_off, in_len;	/* unconsumed part of in */
	uint64_t read_pos;	/* compressed bytes fetched from the member */
	uint8_t *window;	/* ring: bytes [pos - filled, pos) at index % WINDOW */
	uint64_t pos;		/* decompressed offset of the next byte */
	uint64_t filled;
	bool ended;
	enum af_err error;	/* sticky until the cursor restarts */
	char why[160];
	bool busy;
	uint64_t last_use;
	/* What other threads may know of this cursor: copied under the stream
	 * lock when it is released, so choosing a cursor never reads fields
	 * that the thread using it is changing. */
	struct {
		bool usable;
		uint64_t pos, filled;
	} seen;
};

struct af_stream {
	int fd;
	uint64_t offset, length;
	enum af_compression comp;
	pthread_mutex_t lock;	/* guards cursor selection: busy and last_use */
	pthread_cond_t freed;
	uint64_t clock;
	struct cursor cursors[CURSORS];
	size_t cursor_count;		/* how many of cursors[] this stream uses */
	atomic_uint_fast64_t produced;
	struct checkpoint *checkpoints;	/* by out_pos; guarded by lock */
	size_t checkpoint_count;
};

struct af_stream *
af_stream_new(int fd, uint64_t offset, uint64_t length, enum af_compression comp)
{
	struct af_stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->offset = offset;
	s->length = length;
	s->comp = comp;
	s->cursor_count = comp == AF_COMP_GZIP || comp == AF_COMP_NONE ? CURSORS :
	    CURSORS_WITHOUT_CHECKPOINTS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	atomic_init(&s->produced, 0);
	return s;
}

static void
cursor_release(struct cursor *c)
{
	af_codec_free(c->codec);
	free(c->in);
	free(c->window);
	memset(c, 0, sizeof(*c));
}

void
af_stream_free(struct af_stream *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < CURSORS; i++)
		cursor_release(&s->cursors[i]);
	for (i = 0; i < s->checkpoint_count; i++)
		free(s->checkpoints[i].blob);
	free(s->checkpoints);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t
af_stream_produced(const struct af_stream *s)
{
	return atomic_load(&((struct af_stream *)s)->produced);
}

/* Back to the start of the member (allocating on first use). */
static enum af_err
cursor_restart(struct cursor *c, enum af_compression comp)
{
	if (c->codec == NULL) {
		c->codec = af_codec_new(comp);
		c->in = malloc(INBUF);
		c->window = malloc(WINDOW);
		if (c->codec == NULL || c->in == NULL || c->window == NULL) {
			cursor_release(c);
			return AF_ENOMEM;
		}
	} else if (af_codec_reset(c->codec) != AF_OK) {
		return AF_ENOMEM;
	}
	c->in_off = c->in_len = 0;
	c->read_pos = c->pos = c->filled = 0;
	c->ended = false;
	c->error = AF_OK;
	c->why[0] = '\0';
	return AF_OK;
}

static bool
cursor_has(const struct cursor *c, uint64_t off)
{
	return c->codec != NULL && off < c->pos && off >= c->pos - c->filled;
}

static enum af_err
refill(struct af_stream *s, struct cursor *c)
{
	uint64_t left = s->length - c->read_pos;
	size_t want = left < INBUF ? (size_t)left : INBUF;
	ssize_t n;

	do
		n = pread(s->fd, c->in, want, (off_t)(s->offset + c->read_pos));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(c->why, sizeof(c->why), "read error: %s", strerror(errno));
		return AF_EIO;
	}
	if ((size_t)n < want) {
		snprintf(c->why, sizeof(c->why), "the artifact file is shorter than its tar header says");
		return AF_ETRUNC;
	}
	c->in_off = 0;
	c->in_len = (size_t)n;
	c->read_pos += (uint64_t)n;
	return AF_OK;
}

/* The frontier cursor leaves a checkpoint every SPACING bytes of output. */
static void
maybe_checkpoint(struct af_stream *s, struct cursor *c)
{
	struct checkpoint *grown, cp;
	size_t size = af_codec_snapshot_size(c->codec), bound;
	void *raw;

	pthread_mutex_lock(&s->lock);
	if (size == 0 || c->pos == 0 || c->pos % SPACING > STEP ||
	    (s->checkpoint_count > 0 &&
	    s->checkpoints[s->checkpoint_count - 1].out_pos + SPACING > c->pos)) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	bound = ZSTD_compressBound(size);
	raw = malloc(size);
	cp.blob = malloc(bound);
	cp.out_pos = c->pos;
	cp.in_pos = c->read_pos - (c->in_len - c->in_off);
	if (raw == NULL || cp.blob == NULL || !af_codec_snapshot(c->codec, raw) ||
	    ZSTD_isError(cp.blob_len = ZSTD_compress(cp.blob, bound, raw, size, 1))) {
		free(raw);
		free(cp.blob);
		return;
	}
	free(raw);
	pthread_mutex_lock(&s->lock);
	if ((s->checkpoint_count == 0 ||
	    s->checkpoints[s->checkpoint_count - 1].out_pos < cp.out_pos) &&
	    (grown = reallocarray(s->checkpoints, s->checkpoint_count + 1, sizeof(*grown))) != NULL) {
		s->checkpoints = grown;
		s->checkpoints[s->checkpoint_count++] = (struct checkpoint){ cp.out_pos, cp.in_pos,
		    realloc(cp.blob, cp.blob_len), cp.blob_len };
		cp.blob = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(cp.blob);
}

/* The last checkpoint at or before off, copied out; false if none. */
static bool
checkpoint_before(struct af_stream *s, uint64_t off, struct checkpoint *out)
{
	size_t lo = 0, hi;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	hi = s->checkpoint_count;
	while (lo < hi) {		/* first with out_pos > off */
		size_t mid = (lo + hi) / 2;
		if (s->checkpoints[mid].out_pos <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		*out = s->checkpoints[lo - 1];
		found = true;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Moves c to a checkpoint; blobs are never freed while the stream lives. */
static bool
cursor_resume(struct cursor *c, const struct checkpoint *cp)
{
	size_t size = af_codec_snapshot_size(c->codec);
	void *raw = malloc(size);

	if (raw == NULL || ZSTD_decompress(raw, size, cp->blob, cp->blob_len) != size) {
		free(raw);
		return false;
	}
	af_codec_restore(c->codec, raw);
	free(raw);
	c->in_off = c->in_len = 0;
	c->read_pos = cp->in_pos;
	c->pos = cp->out_pos;
	c->filled = 0;
	c->ended = false;
	c->error = AF_OK;
	return true;
}

/* Decompresses the next piece of output into the window. */
static enum af_err
produce(struct af_stream *s, struct cursor *c)
{
	size_t at = (size_t)(c->pos % WINDOW);
	size_t room = WINDOW - at < STEP ? WINDOW - at : STEP;
	uint8_t *out = c->window + at;
	size_t out_len = room;
	const uint8_t *in;
	size_t in_len, made;
	bool done = false, input_over;
	enum af_err err;

	maybe_checkpoint(s, c);
	if (c->in_off == c->in_len && c->read_pos < s->length &&
	    (err = refill(s, c)) != AF_OK)
		return err;
	input_over = c->in_off == c->in_len;
	in = c->in + c->in_off;
	in_len = c->in_len - c->in_off;
	err = af_codec_run(c->codec, &in, &in_len, &out, &out_len, &done,
	    c->why, sizeof(c->why));
	c->in_off = c->in_len - in_len;
	made = room - out_len;
	c->pos += made;
	c->filled = c->filled + made > WINDOW ? WINDOW : c->filled + made;
	atomic_fetch_add(&s->produced, made);
	if (err != AF_OK)
		return err;
	if (done) {
		c->ended = true;
	} else if (input_over && made == 0) {
		snprintf(c->why, sizeof(c->why), "%s data ends early (truncated member)",
		    af_compression_name(s->comp));
		return AF_ETRUNC;
	}
	return AF_OK;
}

static size_t
copy_out(const struct cursor *c, uint8_t *dst, size_t len, uint64_t off)
{
	size_t avail = (size_t)(c->pos - off), n = len < avail ? len : avail;
	size_t at = (size_t)(off % WINDOW), first = WINDOW - at < n ? WINDOW - at : n;

	memcpy(dst, c->window + at, first);
	memcpy(dst + first, c->window, n - first);
	return n;
}

static enum af_err
cursor_read(struct af_stream *s, struct cursor *c, uint8_t *buf, size_t len,
    uint64_t off, size_t *got)
{
	struct checkpoint cp;
	enum af_err err;

	*got = 0;
	if (c->codec == NULL || off < c->pos - c->filled)
		if ((err = cursor_restart(c, s->comp)) != AF_OK)
			return err;
	/* Jump ahead when a checkpoint is closer than the cursor. */
	if (!cursor_has(c, off) && checkpoint_before(s, off, &cp) && cp.out_pos > c->pos)
		cursor_resume(c, &cp);
	while (*got < len) {
		uint64_t want = off + *got;
		if (cursor_has(c, want)) {
			*got += copy_out(c, buf + *got, len - *got, want);
			continue;
		}
		if (c->ended)
			break;
		if (c->error != AF_OK)	/* after serving what came before it */
			return c->error;
		c->error = produce(s, c);
	}
	return AF_OK;
}

/* The cursor to serve off: one holding it, else the closest one before it,
 * else the least recently used.  Waits while all are busy. */
/* How far ahead of a busy cursor a read waits for it rather than start
 * another decoder: kernel readahead runs a few requests ahead in parallel. */
#define WAIT_DISTANCE (8u << 20)

/* The cursor that can reach off with the least work: one holding it, else
 * the closest one before it.  NULL if there is none. */
static struct cursor *
closest(struct af_stream *s, uint64_t off)
{
	struct cursor *best = NULL, *c;
	size_t i;

	for (i = 0; i < s->cursor_count; i++) {
		c = &s->cursors[i];
		if (!c->seen.usable)
			continue;
		if (off < c->seen.pos && off >= c->seen.pos - c->seen.filled)
			return c;
		if (c->seen.pos <= off && (best == NULL || c->seen.pos > best->seen.pos))
			best = c;
	}
	return best;
}

/* Takes the closest cursor, waiting for it if it is busy and near; else the
 * least recently used free one, which cursor_read restarts if it is past off. */
static struct cursor *
pick_cursor(struct af_stream *s, uint64_t off)
{
	struct cursor *best, *c;
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		best = closest(s, off);
		if (best != NULL && best->busy &&
		    off - (best->seen.pos - best->seen.filled) <= WAIT_DISTANCE) {
			pthread_cond_wait(&s->freed, &s->lock);
			continue;
		}
		if (best == NULL || best->busy) {
			best = NULL;
			for (i = 0; i < s->cursor_count; i++) {
				c = &s->cursors[i];
				if (!c->busy && (best == NULL || c->last_use < best->last_use))
					best = c;
			}
		}
		if (best != NULL)
			break;
		pthread_cond_wait(&s->freed, &s->lock);
	}
	best->busy = true;
	best->last_use = ++s->clock;
	pthread_mutex_unlock(&s->lock);
	return best;
}

enum af_err
af_stream_pread(struct af_stream *s, void *buf, size_t len, uint64_t off,
    size_t *got, char *why, size_t whylen)
{
	struct cursor *c = pick_cursor(s, off);
	enum af_err err = cursor_read(s, c, buf, len, off, got);

	if (err != AF_OK && why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", c->why[0] != '\0' ? c->why : af_strerror(err));
	pthread_mutex_lock(&s->lock);
	c->seen.usable = c->codec != NULL && c->error == AF_OK;
	c->seen.pos = c->pos;
	c->seen.filled = c->filled;
	c->busy = false;
	pthread_cond_broadcast(&s->freed);
	pthread_mutex_unlock(&s->lock);
	return err;
}
