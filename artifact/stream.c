/*
 * Random-access reads of a member's decompressed bytes (see stream.h).
 * Over 600 lines: cursors, read-ahead thread and readers share one lock protocol.
 *
 * Locks: the stream's lock guards what other threads see of each cursor
 * (decoding, copiers, seen, ahead_to) and is never held while decoding or
 * copying; the checkpoint list has a lock of its own, which is never taken
 * with the stream's held (maybe_checkpoint and reposition drop it first).
 * Callers may hold their own locks around a read (payload.c holds its
 * scan_lock), never one a cursor thread takes: the read-ahead thread takes
 * only the stream's lock and the checkpoint list's.
 */
#include "artifact/stream.h"

#include "artifact/checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURSORS 4
/* xz decoders hold their whole dictionary (64 MiB for mender-artifact's
 * preset 9): fewer of them when there are no checkpoints to restart from. */
#define CURSORS_WITHOUT_CHECKPOINTS 2
#define WINDOW (4u << 20)	/* bytes of recent output each cursor keeps */
#define INBUF (1u << 20)
#define STEP (1u << 20)	/* most output produced per decoder call */
#define MIN_STEP (64u << 10)	/* least, so that a decoder call is worth its overhead */
/* How far the read-ahead thread decodes past the end of a sequential read,
 * and how much it leaves behind it for out-of-order kernel readahead:
 * AHEAD + STEP + BEHIND <= WINDOW, so it never overwrites what is about to be read. */
#define AHEAD (2u << 20)
#define BEHIND (1u << 20)
#define COPIERS 16	/* copies from one cursor at once; more wait */
/* How far ahead of a cursor being decoded a read waits for it rather than
 * start another decoder: kernel readahead runs a few requests ahead. */
#define WAIT_DISTANCE (8u << 20)

/* A stream read once, front to back: one cursor, decoding further ahead to
 * keep busy through stretches where the reader is the slower one (zeros
 * decode faster than SHA-256 hashes them). */
#define ONCE_WINDOW (16u << 20)
#define ONCE_AHEAD (12u << 20)

_Static_assert(AHEAD + STEP + BEHIND <= WINDOW, "read-ahead would overwrite unread bytes");
_Static_assert(ONCE_AHEAD + STEP + BEHIND <= ONCE_WINDOW, "read-ahead would overwrite unread bytes");

/*
 * One thread at a time decodes with a cursor (it holds "decoding"); any
 * number copy out of its window meanwhile ("copiers"), from the range last
 * published in "seen".  Before a decoder call overwrites the oldest bytes of
 * the ring, the decoder takes them out of "seen" and waits for the copiers
 * still reading them.
 */
struct cursor {
	/* Decoder state: only the thread holding "decoding" touches it. */
	struct af_codec *codec;
	uint8_t *in;		/* compressed input buffer */
	size_t in_off, in_len;	/* unconsumed part of in */
	uint64_t read_pos;	/* compressed bytes fetched from the member */
	uint8_t *window;	/* ring: bytes [pos - filled, pos) at index % size */
	size_t size;
	uint64_t pos;		/* decompressed offset of the next byte */
	uint64_t filled;
	bool ended;
	enum af_err error;	/* sticky until the cursor restarts */
	char why[320];
	/* Under the stream lock. */
	bool decoding;
	unsigned copiers;
	uint64_t copy_start[COPIERS];	/* where each copy under way starts */
	uint64_t last_use;
	uint64_t consumed;	/* end of the last read served here */
	uint64_t ahead_to;	/* the read-ahead thread decodes up to here */
	struct {
		bool usable;	/* window and position valid */
		uint64_t pos, filled;
		bool ended;
		enum af_err error;
		char why[320];
	} seen;
};

struct af_stream {
	int fd;
	uint64_t offset, length;
	enum af_compression comp;
	pthread_mutex_t lock;
	pthread_cond_t changed;	/* a cursor was published or let go */
	pthread_cond_t work;	/* for the read-ahead thread */
	pthread_t ahead_thread;
	bool ahead_started, stopping;
	struct cursor *ahead_on;	/* what the read-ahead thread decodes with, if any */
	bool no_checkpoints;
	size_t window_size, ahead;	/* for cursors (re)started from now on */
	uint64_t clock;
	struct cursor cursors[CURSORS];
	size_t cursor_count;		/* how many of cursors[] this stream uses */
	atomic_uint_fast64_t produced;
	struct af_checkpoints *checkpoints;
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
	s->window_size = WINDOW;
	s->ahead = AHEAD;
	if ((s->checkpoints = af_checkpoints_new()) == NULL) {
		free(s);
		return NULL;
	}
	s->cursor_count = comp == AF_COMP_GZIP || comp == AF_COMP_NONE ? CURSORS :
	    CURSORS_WITHOUT_CHECKPOINTS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	pthread_cond_init(&s->work, NULL);
	atomic_init(&s->produced, 0);
	return s;
}

/* Frees the decoder and its buffers; the fields other threads read stay. */
static void
cursor_release(struct cursor *c)
{
	af_codec_free(c->codec);
	free(c->in);
	free(c->window);
	c->codec = NULL;
	c->in = c->window = NULL;
}

void
af_stream_free(struct af_stream *s)
{
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	if (s->ahead_started)
		pthread_join(s->ahead_thread, NULL);
	for (i = 0; i < CURSORS; i++)
		cursor_release(&s->cursors[i]);
	af_checkpoints_free(s->checkpoints);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
af_stream_keep_checkpoints(struct af_stream *s, bool keep)
{
	pthread_mutex_lock(&s->lock);
	s->no_checkpoints = !keep;
	pthread_mutex_unlock(&s->lock);
}

uint64_t
af_stream_produced(const struct af_stream *s)
{
	return atomic_load(&((struct af_stream *)s)->produced);
}

/* The member's compressed bytes, for a codec that reads a failed member again. */
static bool
read_member(void *ctx, uint64_t off, void *buf, size_t len, size_t *got)
{
	const struct af_stream *s = ctx;
	ssize_t n = 0;

	*got = 0;
	if (off >= s->length)
		return true;
	if (len > s->length - off)
		len = (size_t)(s->length - off);
	while (*got < len && (n = pread(s->fd, (uint8_t *)buf + *got, len - *got,
	    (off_t)(s->offset + off + *got))) != 0) {
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0)
			*got += (size_t)n;
	}
	return true;
}

/* Back to the start of the member (allocating on first use). */
static enum af_err
cursor_restart(struct af_stream *s, struct cursor *c)
{
	if (c->codec == NULL) {
		c->codec = af_codec_new(s->comp);
		c->in = malloc(INBUF);
		c->window = malloc(c->size = s->window_size);
		if (c->codec == NULL || c->in == NULL || c->window == NULL) {
			cursor_release(c);
			return AF_ENOMEM;
		}
		af_codec_set_reader(c->codec, read_member, s);
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

/* The cursor furthest on leaves checkpoints; reads behind it resume from them. */
static void
maybe_checkpoint(struct af_stream *s, struct cursor *c)
{
	bool keep;

	if (af_codec_snapshot_size(c->codec) == 0)
		return;
	pthread_mutex_lock(&s->lock);
	keep = !s->no_checkpoints;
	pthread_mutex_unlock(&s->lock);
	if (keep && af_checkpoints_due(s->checkpoints, c->pos, STEP))
		af_checkpoints_add(s->checkpoints, c->codec, c->pos,
		    c->read_pos - (c->in_len - c->in_off));
}

/* Moves c to a checkpoint. */
static bool
cursor_resume(struct af_stream *s, struct cursor *c, const struct af_checkpoint_at *at)
{
	if (!af_checkpoints_restore(s->checkpoints, at, c->codec))
		return false;
	c->in_off = c->in_len = 0;
	c->read_pos = at->in_pos;
	c->pos = at->out_pos;
	c->filled = 0;
	c->ended = false;
	c->error = AF_OK;
	return true;
}

/* The codec failed on bytes after the end of the compressed data: say where
 * they are and how many, which only the stream knows. */
static void
explain_trailing(const struct af_stream *s, struct cursor *c)
{
	const char *name = af_compression_name(s->comp);
	char what[120];
	uint64_t at;

	if (!af_codec_trailing(c->codec, &at) || at > s->length)
		return;
	snprintf(what, sizeof(what), "%.100s", c->why);
	snprintf(c->why, sizeof(c->why), "%llu bytes at offset %llu follow the end of the %s "
	    "data and are not a complete %s %s%s%s; rebuild the artifact",
	    (unsigned long long)(s->length - at), (unsigned long long)at,
	    name, name, s->comp == AF_COMP_ZSTD ? "frame" : s->comp == AF_COMP_XZ ? "stream" :
	    "member", what[0] != '\0' ? ": " : "", what);
}

/* Decompresses up to room bytes of output into the window. */
static enum af_err
produce(struct af_stream *s, struct cursor *c, size_t room)
{
	size_t at = (size_t)(c->pos % c->size);
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
	c->filled = c->filled + made > c->size ? c->size : c->filled + made;
	atomic_fetch_add(&s->produced, made);
	if (err == AF_ECORRUPT)
		explain_trailing(s, c);
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

/* Makes the cursor's state visible to other threads; under the lock. */
static void
publish(struct cursor *c)
{
	c->seen.usable = c->codec != NULL;
	c->seen.pos = c->pos;
	c->seen.filled = c->filled;
	c->seen.ended = c->ended;
	c->seen.error = c->error;
	memcpy(c->seen.why, c->why, sizeof(c->seen.why));
}

/* Withdraws the window before its bytes change wholesale; under the lock. */
static void
withdraw(struct af_stream *s, struct cursor *c)
{
	c->seen.usable = false;
	while (c->copiers > 0)
		pthread_cond_wait(&s->changed, &s->lock);
}

/* Whether a copy under way started before off; under the lock. */
static bool
copying_below(const struct cursor *c, uint64_t off)
{
	size_t i;

	for (i = 0; i < c->copiers; i++)
		if (c->copy_start[i] < off)
			return true;
	return false;
}

/* One decoder call of at most want bytes (but not less than MIN_STEP), by
 * the thread holding c->decoding. */
static void
step(struct af_stream *s, struct cursor *c, uint64_t want)
{
	size_t to_end = c->size - (size_t)(c->pos % c->size);
	size_t room = want < MIN_STEP ? MIN_STEP : want < STEP ? (size_t)want : STEP;

	if (room > to_end)
		room = to_end;

	pthread_mutex_lock(&s->lock);
	if (c->filled + room > c->size) {	/* the oldest bytes are about to go */
		c->filled = c->size - room;
		c->seen.filled = c->filled;
		while (copying_below(c, c->pos - c->filled))
			pthread_cond_wait(&s->changed, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	c->error = produce(s, c, room);
	pthread_mutex_lock(&s->lock);
	publish(c);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

/* Moves c (held for decoding) to where it can decode want: on from where it
 * is, from a closer checkpoint, or from the start. */
static enum af_err
reposition(struct af_stream *s, struct cursor *c, uint64_t want)
{
	struct af_checkpoint_at cp;
	/* a cursor that failed is moved back, so that the next read retries:
	 * an error belongs to the bytes being decoded, not to the stream */
	bool behind = c->codec != NULL && c->pos <= want && c->error == AF_OK;
	bool jump = af_checkpoints_find(s->checkpoints, want, &cp) &&
	    (!behind || cp.out_pos > c->pos);
	enum af_err err = AF_OK;

	if (behind && !jump)
		return AF_OK;
	pthread_mutex_lock(&s->lock);
	withdraw(s, c);
	pthread_mutex_unlock(&s->lock);
	if (c->codec == NULL || !jump)
		err = cursor_restart(s, c);
	if (err == AF_OK && jump && !cursor_resume(s, c, &cp))
		err = cursor_restart(s, c);
	pthread_mutex_lock(&s->lock);
	publish(c);
	c->consumed = c->pos;
	c->ahead_to = 0;	/* read-ahead resumes once reads come in order again */
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Decodes with c (held) until want is in its window, the data ends or
 * fails (then the error, which the next read through c retries); decoder
 * calls stop near end, so a short read costs little. */
static enum af_err
advance(struct af_stream *s, struct cursor *c, uint64_t want, uint64_t end)
{
	enum af_err err = reposition(s, c, want);

	if (err != AF_OK)
		return err;
	while (c->pos <= want && !c->ended && c->error == AF_OK)
		step(s, c, end - c->pos);
	return c->pos <= want && !c->ended ? c->error : AF_OK;
}

static bool
holds(const struct cursor *c, uint64_t off)
{
	return c->seen.usable && off < c->seen.pos && off >= c->seen.pos - c->seen.filled;
}

/* The cursor whose window has off; under the lock. */
static struct cursor *
holder(struct af_stream *s, uint64_t off)
{
	size_t i;

	for (i = 0; i < s->cursor_count; i++)
		if (holds(&s->cursors[i], off))
			return &s->cursors[i];
	return NULL;
}

/* The cursor standing closest before off, or NULL; under the lock. */
static struct cursor *
closest_before(struct af_stream *s, uint64_t off, bool idle_only)
{
	struct cursor *best = NULL, *c;
	size_t i;

	for (i = 0; i < s->cursor_count; i++) {
		c = &s->cursors[i];
		if (!c->seen.usable || c->seen.pos > off || (idle_only && c->decoding))
			continue;
		if (best == NULL || c->seen.pos > best->seen.pos)
			best = c;
	}
	return best;
}

static struct cursor *
least_recently_used_idle(struct af_stream *s)
{
	struct cursor *best = NULL, *c;
	size_t i;

	for (i = 0; i < s->cursor_count; i++) {
		c = &s->cursors[i];
		if (!c->decoding && (best == NULL || c->last_use < best->last_use))
			best = c;
	}
	return best;
}

/*
 * What a read of off does next, under the lock: NULL with *stop set when the
 * data ends there (AF_END), NULL to wait, or a cursor to decode with, taken
 * for decoding.  A cursor that failed is taken like any other: advance moves
 * it back and decodes again, so an error is never the stream's for good.
 */
static struct cursor *
take_decoder(struct af_stream *s, uint64_t off, enum af_err *stop)
{
	struct cursor *c = closest_before(s, off, false);

	*stop = AF_OK;
	if (c != NULL && c->seen.ended && c->seen.error == AF_OK) {
		*stop = AF_END;
		return c;
	}
	/* Someone decodes towards off already: another reader, or the read-ahead
	 * thread, which may be about to wake for this cursor; wait for it rather
	 * than take turns with it, so that decoding stays on one thread while
	 * this one copies.  Not while the read-ahead works for another cursor. */
	if (c != NULL && off - c->seen.pos <= WAIT_DISTANCE &&
	    (c->decoding || (s->ahead_started && c->seen.error == AF_OK &&
	    c->ahead_to > c->seen.pos &&
	    (s->ahead_on == NULL || s->ahead_on == c)))) {
		if (c->ahead_to <= off)
			c->ahead_to = off + 1;
		pthread_cond_signal(&s->work);
		return NULL;
	}
	if (c != NULL && c->decoding)
		c = closest_before(s, off, true);
	if (c == NULL && (c = least_recently_used_idle(s)) == NULL)
		return NULL;
	c->decoding = true;
	c->last_use = ++s->clock;
	return c;
}

static void *read_ahead(void *arg);

/* A read ending at end was served by c; under the lock.  Reads that carry on
 * where the last one ended start the read-ahead. */
static void
note_read(struct af_stream *s, struct cursor *c, uint64_t off, uint64_t end)
{
	bool sequential = off <= c->consumed && end >= c->consumed;

	c->consumed = sequential && c->consumed > end ? c->consumed : end;
	if (!sequential || c->seen.ended || c->seen.error != AF_OK)
		return;
	if (c->ahead_to < end + s->ahead)
		c->ahead_to = end + s->ahead;
	if (!s->ahead_started && !s->stopping)
		s->ahead_started = pthread_create(&s->ahead_thread, NULL, read_ahead, s) == 0;
	pthread_cond_signal(&s->work);
}

/* Where the bytes of a read go: a buffer, or a function that looks at them
 * in place. */
struct sink {
	af_stream_visit_fn fn;
	void *ctx;
};

/* Hands n bytes at off of c's window to the sink: one or two spans of the ring. */
static void
deliver(const struct cursor *c, const struct sink *to, size_t n, uint64_t off)
{
	size_t at = (size_t)(off % c->size), first = c->size - at < n ? c->size - at : n;

	to->fn(to->ctx, c->window + at, first);
	if (n > first)
		to->fn(to->ctx, c->window, n - first);
}

static void
append(void *ctx, const uint8_t *bytes, size_t n)
{
	uint8_t **dst = ctx;

	memcpy(*dst, bytes, n);
	*dst += n;
}

/* Delivers from c's window (a copier meanwhile); under the lock, dropped while copying. */
static size_t
copy_from(struct af_stream *s, struct cursor *c, const struct sink *to, size_t len,
    uint64_t off)
{
	size_t n, i;

	while (c->copiers == COPIERS)
		pthread_cond_wait(&s->changed, &s->lock);
	if (!holds(c, off))	/* the window moved on while this waited */
		return 0;
	n = c->seen.pos - off < len ? (size_t)(c->seen.pos - off) : len;
	c->copy_start[c->copiers++] = off;
	pthread_mutex_unlock(&s->lock);
	deliver(c, to, n, off);
	pthread_mutex_lock(&s->lock);
	for (i = 0; c->copy_start[i] != off; i++)
		;
	c->copy_start[i] = c->copy_start[--c->copiers];
	pthread_cond_broadcast(&s->changed);
	note_read(s, c, off, off + n);
	return n;
}

/*
 * An uncompressed member needs no cursor: its bytes are read where they are
 * in the file, at any offset, by any number of threads at once.  Straight
 * into the reader's buffer, or through a buffer of this call's own for a
 * sink that looks at the bytes in place.
 */
static enum af_err
stored_read(struct af_stream *s, const struct sink *to, size_t len, uint64_t off,
    size_t *got, char *why, size_t whylen)
{
	uint8_t *bounce = NULL, *dst;
	enum af_err err = AF_OK;
	ssize_t n;

	*got = 0;
	if (off >= s->length)
		return AF_OK;
	if (len > s->length - off)
		len = (size_t)(s->length - off);
	if (to->fn != append && len > 0 &&
	    (bounce = malloc(len < INBUF ? len : INBUF)) == NULL)
		return AF_ENOMEM;
	while (*got < len) {
		size_t want = len - *got;
		if (bounce != NULL && want > INBUF)
			want = INBUF;
		dst = bounce != NULL ? bounce : *(uint8_t **)to->ctx;
		do
			n = pread(s->fd, dst, want, (off_t)(s->offset + off + *got));
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			err = n < 0 ? AF_EIO : AF_ETRUNC;
			if (why != NULL && whylen > 0)
				snprintf(why, whylen, "%s%s", n < 0 ? "read error: " : "", n < 0 ?
				    strerror(errno) : "the artifact file is shorter than its tar "
				    "header says");
			break;
		}
		if (bounce != NULL)
			to->fn(to->ctx, dst, (size_t)n);
		else
			*(uint8_t **)to->ctx += n;
		*got += (size_t)n;
		atomic_fetch_add(&s->produced, (uint64_t)n);
	}
	free(bounce);
	return err;
}

static enum af_err
stream_read(struct af_stream *s, const struct sink *to, size_t len, uint64_t off,
    size_t *got, char *why, size_t whylen)
{
	enum af_err err = AF_OK;
	struct cursor *c = NULL;

	if (s->comp == AF_COMP_NONE)
		return stored_read(s, to, len, off, got, why, whylen);
	*got = 0;
	pthread_mutex_lock(&s->lock);
	while (*got < len) {
		uint64_t want = off + *got;
		if ((c = holder(s, want)) != NULL) {
			*got += copy_from(s, c, to, len - *got, want);
			continue;
		}
		if ((c = take_decoder(s, want, &err)) == NULL) {
			pthread_cond_wait(&s->changed, &s->lock);
			continue;
		}
		if (err != AF_OK)
			break;
		pthread_mutex_unlock(&s->lock);
		err = advance(s, c, want, off + len);
		pthread_mutex_lock(&s->lock);
		c->decoding = false;
		pthread_cond_broadcast(&s->changed);
		if (err != AF_OK)
			break;
	}
	if (err == AF_END)
		err = AF_OK;
	else if (err != AF_OK && why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", c != NULL && c->seen.why[0] != '\0' ?
		    c->seen.why : af_strerror(err));
	pthread_mutex_unlock(&s->lock);
	return err;
}

enum af_err
af_stream_pread(struct af_stream *s, void *buf, size_t len, uint64_t off,
    size_t *got, char *why, size_t whylen)
{
	uint8_t *dst = buf;
	struct sink to = { append, &dst };

	return stream_read(s, &to, len, off, got, why, whylen);
}

enum af_err
af_stream_visit(struct af_stream *s, size_t len, uint64_t off, af_stream_visit_fn fn,
    void *ctx, size_t *got, char *why, size_t whylen)
{
	struct sink to = { fn, ctx };

	return stream_read(s, &to, len, off, got, why, whylen);
}

/* The cursor the read-ahead thread should decode with next; under the lock. */
static struct cursor *
ahead_candidate(struct af_stream *s)
{
	size_t i;

	for (i = 0; i < s->cursor_count; i++) {
		struct cursor *c = &s->cursors[i];
		if (c->seen.usable && !c->decoding && !c->seen.ended &&
		    c->seen.error == AF_OK && c->seen.pos < c->ahead_to)
			return c;
	}
	return NULL;
}

/* Decodes ahead of sequential readers, so that decoding runs while the
 * bytes already decoded travel to them. */
static void *
read_ahead(void *arg)
{
	struct af_stream *s = arg;
	struct cursor *c;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		if ((c = ahead_candidate(s)) == NULL) {
			s->ahead_on = NULL;
			pthread_cond_wait(&s->work, &s->lock);
			continue;
		}
		c->decoding = true;
		s->ahead_on = c;
		pthread_mutex_unlock(&s->lock);
		step(s, c, STEP);
		pthread_mutex_lock(&s->lock);
		c->decoding = false;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void
af_stream_read_once(struct af_stream *s)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	s->no_checkpoints = true;
	if (s->comp != AF_COMP_XZ) {	/* xz decodes slower than anyone reads it */
		s->window_size = ONCE_WINDOW;
		s->ahead = ONCE_AHEAD;
	}
	for (i = 0; i < CURSORS; i++) {	/* drop windows of the old size */
		struct cursor *c = &s->cursors[i];
		c->ahead_to = 0;
		while (c->decoding)
			pthread_cond_wait(&s->changed, &s->lock);
		withdraw(s, c);
		cursor_release(c);
	}
	s->cursor_count = 1;
	pthread_mutex_unlock(&s->lock);
}
