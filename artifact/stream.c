/*
 * Random-access reads of a member's decompressed bytes (see stream.h).
 * Over 600 lines: the cache, the decoders, the read-ahead thread and the
 * readers share one lock protocol.
 *
 * The model: decoded blocks.
 *
 * - The decompressed data is cut into blocks of BLOCK bytes: block k holds
 *   the bytes [k * BLOCK, (k + 1) * BLOCK).  A decoder makes a block in a
 *   buffer of its own and then publishes it in the stream's cache.  From then
 *   on its bytes never change.
 * - A read pins the blocks it needs (a reference, under the lock), copies
 *   or hashes their bytes in place with no lock held, and unpins them.
 *   Nobody waits for a reader: a decoder never writes a published block.
 * - The cache keeps at most cache_cap blocks (16 MiB; 8 MiB for xz) and
 *   drops the least recently used of the blocks read (blocks decoded ahead
 *   of a reader stay until read).  A block dropped while pinned lives until
 *   its last reader unpins it.  Block buffers come from blockmem.c, in
 *   2 MiB chunks (with huge pages for gzip), and are reused.
 * - Decoders: a few per stream (gzip 4, zstd 2, xz 1: an xz decoder holds
 *   the stream's whole dictionary, 64 MiB from mender-artifact), each used
 *   by one thread at a time, each standing on a block boundary.  A read of a
 *   block that is not cached waits for a decoder already heading there, or
 *   takes an idle one, moves it (on from where it stands, to a checkpoint,
 *   or to the start) and decodes up to its block, publishing every block on
 *   the way.  Checkpoints (gzip) are left on block boundaries, every 2 MiB.
 *   Without checkpoints (xz, zstd) moving a decoder back means decoding
 *   from the start, so a decoder that serves a sequential reader stays that
 *   reader's while it reads (held()): two readers take turns rather than
 *   restart each other at every read.
 * - Once reads run in order, a read-ahead thread of the stream's own
 *   decodes a few blocks past them, so that decoding overlaps delivery.
 *   The reader of a checksum pass spins a little before it sleeps
 *   (wait_changed), so that the decoding thread need not wake it.
 * - Errors belong to a block, never to the stream: a decoder that fails
 *   publishes what it made of the block, marked failed, and is moved before
 *   it is used again.  A read of the good bytes of a failed block gets them;
 *   a read past them decodes the block again (the next read retries).
 * - But damage found (a failed check, corrupt data; not bytes after the
 *   data when all before them passed its checks) may lie anywhere before
 *   where it was found: every block cached so far is dropped (a pinned one
 *   lives until unpinned), the failed block goes only to the read that made
 *   it, no checkpoint is used or left again, and a decoder whose state came
 *   from a checkpoint, restored before or while the damage was found, has
 *   its blocks dropped and is moved again, from the start (make_blocks).
 * - An uncompressed member has no blocks: its bytes are read with pread
 *   where they are, by any number of threads at once.
 *
 * Threads: readers (any number); the read-ahead thread (started by the first
 * sequential read, ended only by af_stream_free); the checkpoint list's
 * compressor (checkpoint.c, likewise).  A thread that takes a decoder always
 * gives it back and broadcasts "changed", whether it succeeded or not.
 *
 * Locks, in this order, and never the other way:
 * 1. the caller's own, around a whole read (payload.c's scan_lock); no
 *    thread of this file takes them;
 * 2. the stream's lock: the cache, the blocks' references, the decoders'
 *    busy flags and what other threads see of them (seen), the block
 *    memory.  Never held while decoding, copying, calling a visit function
 *    or reading the file;
 * 3. the checkpoint list's lock (checkpoint.c), taken only by a thread that
 *    holds a decoder and not the stream's lock: 2 and 3 never nest in fact.
 */
#include "artifact/stream.h"

#include "artifact/blockmem.h"
#include "artifact/checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK AF_STREAM_BLOCK
#define CACHE_BYTES (16u << 20)	/* the cache's cap for gzip and zstd */
/* xz: the decoder's 64 MiB dictionary already counts against the budget */
#define CACHE_BYTES_XZ (8u << 20)
#define MAX_CACHE_BLOCKS (CACHE_BYTES / BLOCK)
#define MAX_DECODERS 4
#define INBUF (1u << 20)
/* How far the read-ahead thread decodes past the end of a sequential read. */
#define AHEAD (2u << 20)
/* A stream read once, front to back (--status): further ahead, to keep busy
 * through stretches where the reader is the slower one (zeros decode faster
 * than SHA-256 hashes them); not for xz, which decodes slower than anyone
 * reads it. */
#define ONCE_AHEAD (12u << 20)
/* The read-ahead thread publishes blocks this many at a time: each
 * publication wakes the reader waiting for one, a system call on the
 * decoding thread; a sequential reader that waits is waiting for
 * throughput, not for one block.  A read that decodes for itself publishes
 * each block as soon as it is made. */
#define AHEAD_BATCH 4
/* How far ahead of a decoder at work a read waits for it rather than move
 * another: kernel readahead runs a few requests ahead. */
#define WAIT_DISTANCE (8u << 20)
/* How long a decoder stays a sequential reader's after its last read, where
 * moving it would restart it (xz, zstd): see held(). */
#define HOLD_NS (100 * 1000000ull)
/* A reader that holds have kept waiting this long moves the decoder anyway:
 * holds make readers take turns, and must not starve one behind a reader
 * that never pauses (a checksum pass, a long cat). */
#define HOLD_WAIT_MAX_NS (2000 * 1000000ull)

_Static_assert(CACHE_BYTES % BLOCK == 0 && CACHE_BYTES_XZ % BLOCK == 0, "whole blocks");
_Static_assert(ONCE_AHEAD + (AHEAD_BATCH + 1) * BLOCK < CACHE_BYTES,
    "read-ahead would drop unread blocks");
_Static_assert(AHEAD + (AHEAD_BATCH + 1) * BLOCK < CACHE_BYTES_XZ,
    "read-ahead would drop unread blocks");

/* Published blocks are immutable: only refs and last_use change, under the lock. */
struct block {
	uint64_t index;
	size_t len;		/* BLOCK, but for the last block and a failed one */
	bool failed;		/* decoding stopped after len bytes with an error */
	bool last;		/* the data ends after len bytes */
	unsigned refs;		/* the cache's, and one per reader pinning it */
	uint64_t last_use;
	bool read;		/* a reader has pinned it */
	uint8_t *data;		/* BLOCK bytes from the stream's blockmem */
};

struct decoder {
	/* Only the thread that holds the decoder (busy) touches these. */
	struct af_codec *codec;
	uint8_t *in;		/* compressed input buffer */
	size_t in_off, in_len;	/* unconsumed part of in */
	uint64_t read_pos;	/* compressed bytes fetched from the member */
	uint64_t pos;		/* decompressed offset of the next byte: a block boundary */
	bool ready;		/* the codec stands at pos (false: new or failed) */
	bool ended;
	bool from_checkpoint;	/* its state comes from a checkpoint, not the start */
	/* Under the stream lock. */
	bool busy;
	struct {
		bool ready, ended;
		uint64_t pos;
	} seen;			/* ready, ended, pos as of the last block published */
	uint64_t last_use;
	uint64_t consumed;	/* end of the last read served near it */
	uint64_t ahead_to;	/* the read-ahead thread decodes up to here */
	uint64_t held_until;	/* see held() */
};

struct af_stream {
	int fd;
	uint64_t offset, length;
	enum af_compression comp;
	pthread_mutex_t lock;
	pthread_cond_t changed;	/* a block was published or a decoder given back */
	pthread_cond_t work;	/* for the read-ahead thread */
	pthread_t ahead_thread;
	bool ahead_started, stopping;
	struct decoder *ahead_on;	/* the decoder the read-ahead thread holds, if any */
	bool no_checkpoints;
	/* A check failed (a gzip trailer, say): the damage may lie anywhere
	 * before it, so no checkpoint made so far is trusted again (see
	 * damage_found()). */
	bool checkpoints_distrusted;
	bool restart_only;	/* no checkpoints, ever: moving a decoder back restarts it */
	uint64_t ahead;
	uint64_t clock;
	struct decoder decoders[MAX_DECODERS];
	size_t decoder_count;	/* how many of decoders[] this stream uses */
	struct block *cache[MAX_CACHE_BLOCKS];
	size_t cached, cache_cap;
	struct af_blockmem *blockmem;
	size_t blocks, blocks_peak;	/* blocks in use */
	bool end_known;
	uint64_t end;		/* the length of the data, once end_known */
	atomic_uint_fast64_t produced;
	struct af_checkpoints *checkpoints;
	bool spin;		/* a reader that waits spins before it sleeps */
	atomic_uint_fast64_t changes;	/* broadcasts of "changed", ever */
};

/* Broadcasts "changed", and counts it for readers that spin (spin_for_change). */
static void
announce(struct af_stream *s)
{
	atomic_fetch_add_explicit(&s->changes, 1, memory_order_release);
	pthread_cond_broadcast(&s->changed);
}

struct af_stream *
af_stream_new(int fd, uint64_t offset, uint64_t length, enum af_compression comp)
{
	struct af_stream *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->offset = offset;
	s->length = length;
	s->comp = comp;
	s->ahead = AHEAD;
	s->checkpoints = af_checkpoints_new();
	/* Huge pages for gzip only, as measured here: --status went from
	 * 1.17 to 1.12 times bare inflate, sequential reads stayed as they
	 * were; xz verification and sequential reads became 5-20% slower
	 * (in liblzma's own copies, not understood); zstd was not measured. */
	s->blockmem = af_blockmem_new(BLOCK, comp == AF_COMP_GZIP);
	if (s->checkpoints == NULL || s->blockmem == NULL) {
		af_checkpoints_free(s->checkpoints);
		af_blockmem_free(s->blockmem);
		free(s);
		return NULL;
	}
	s->decoder_count = comp == AF_COMP_GZIP ? 4 : comp == AF_COMP_ZSTD ? 2 : 1;
	s->restart_only = comp == AF_COMP_XZ || comp == AF_COMP_ZSTD;
	s->cache_cap = (comp == AF_COMP_XZ ? CACHE_BYTES_XZ : CACHE_BYTES) / BLOCK;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&s->work, NULL);
	atomic_init(&s->produced, 0);
	return s;
}

/* ---- blocks and the cache: under the lock unless said otherwise ---- */

/* A new block; without the lock. */
static struct block *
block_new(struct af_stream *s, uint64_t index)
{
	struct block *b = malloc(sizeof(*b));

	if (b == NULL)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if ((b->data = af_blockmem_get(s->blockmem)) != NULL &&
	    ++s->blocks > s->blocks_peak)
		s->blocks_peak = s->blocks;
	pthread_mutex_unlock(&s->lock);
	if (b->data == NULL) {
		free(b);
		return NULL;
	}
	b->index = index;
	b->len = 0;
	b->failed = b->last = false;
	b->refs = 0;
	b->last_use = 0;
	b->read = false;
	return b;
}

/* Drops a reference; the last one gives the block's memory back. */
static void
block_unref(struct af_stream *s, struct block *b)
{
	if (b->refs > 0 && --b->refs > 0)
		return;
	af_blockmem_put(s->blockmem, b->data);
	free(b);
	s->blocks--;
}

static struct block *
cache_find(const struct af_stream *s, uint64_t index)
{
	size_t i;

	for (i = 0; i < s->cached; i++)
		if (s->cache[i]->index == index)
			return s->cache[i];
	return NULL;
}

/* Drops the cache's reference to cache[i]. */
static void
cache_drop(struct af_stream *s, size_t i)
{
	struct block *b = s->cache[i];

	s->cache[i] = s->cache[--s->cached];
	block_unref(s, b);
}

/*
 * Publishes b (a reference of the cache's own).  A good block already there
 * for the same bytes stays, and b goes (the same bytes, made again by a
 * decoder passing through); a failed one is replaced.  Past the cap, the
 * least recently used block that has been read goes (or, if none has, the
 * least recently used): a block decoded ahead of a reader stays until it is
 * read, however long ago it was made, or a stream without checkpoints would
 * decode from the start to make it again.
 */
static struct block *
cache_publish(struct af_stream *s, struct block *b)
{
	struct block *old = cache_find(s, b->index);
	size_t i, lru = 0;

	if (b->last && !b->failed && !s->end_known) {
		s->end_known = true;
		s->end = b->index * BLOCK + b->len;
	}
	/* of two failed tries, the one that got further stays */
	if (old != NULL && (!old->failed || (b->failed && b->len <= old->len))) {
		block_unref(s, b);
		return old;
	}
	if (old != NULL) {
		for (i = 0; s->cache[i] != old; i++)
			;
		cache_drop(s, i);
	}
	if (s->cached == s->cache_cap) {
		for (i = 1; i < s->cached; i++)
			if (s->cache[i]->read > s->cache[lru]->read ||
			    (s->cache[i]->read == s->cache[lru]->read &&
			    s->cache[i]->last_use < s->cache[lru]->last_use))
				lru = i;
		cache_drop(s, lru);
	}
	b->refs = 1;
	b->last_use = ++s->clock;
	s->cache[s->cached++] = b;
	return b;
}

/* ---- decoders: only the thread that holds one, without the lock ---- */

static void
decoder_release(struct decoder *d)
{
	af_codec_free(d->codec);
	free(d->in);
	d->codec = NULL;
	d->in = NULL;
	d->ready = false;
}

/* The member's compressed bytes, for a codec that reads a failed member
 * again to say which check failed and with what values (recheck.c). */
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
decoder_restart(struct af_stream *s, struct decoder *d)
{
	if (d->codec == NULL) {
		d->codec = af_codec_new(s->comp);
		d->in = malloc(INBUF);
		if (d->codec == NULL || d->in == NULL) {
			decoder_release(d);
			return AF_ENOMEM;
		}
		af_codec_set_reader(d->codec, read_member, s);
	} else if (af_codec_reset(d->codec) != AF_OK) {
		d->ready = false;
		return AF_ENOMEM;
	}
	d->in_off = d->in_len = 0;
	d->read_pos = d->pos = 0;
	d->ended = false;
	d->from_checkpoint = false;
	d->ready = true;
	return AF_OK;
}

/* Moves d to a checkpoint. */
static bool
decoder_resume(struct af_stream *s, struct decoder *d, const struct af_checkpoint_at *at)
{
	if (d->codec == NULL && decoder_restart(s, d) != AF_OK)
		return false;
	if (!af_checkpoints_restore(s->checkpoints, at, d->codec)) {
		d->ready = false;
		return false;
	}
	d->in_off = d->in_len = 0;
	d->read_pos = at->in_pos;
	d->pos = at->out_pos;
	d->ended = false;
	d->from_checkpoint = true;
	d->ready = true;
	return true;
}

/*
 * Moves d to where it can decode the block at kb: on from where it stands,
 * from a closer checkpoint, or from the start.  *moved says whether it moved.
 * A check that fails after the checkpoints are found trusted here, while d
 * is restored or later, voids d's blocks when they are published
 * (make_blocks).
 */
static enum af_err
reposition(struct af_stream *s, struct decoder *d, uint64_t kb, bool *moved)
{
	struct af_checkpoint_at cp;
	bool behind = d->ready && d->pos <= kb, trusted;
	bool jump;

	pthread_mutex_lock(&s->lock);
	trusted = !s->checkpoints_distrusted;
	pthread_mutex_unlock(&s->lock);
	jump = trusted && af_checkpoints_find(s->checkpoints, kb, &cp) &&
	    (!behind || cp.out_pos > d->pos);

	*moved = !(behind && !jump);
	if (!*moved)
		return AF_OK;
	if (jump && decoder_resume(s, d, &cp))
		return AF_OK;
	return decoder_restart(s, d);
}

static enum af_err
refill(struct af_stream *s, struct decoder *d, struct af_reason *why)
{
	uint64_t left = s->length - d->read_pos;
	size_t want = left < INBUF ? (size_t)left : INBUF;
	ssize_t n;

	do
		n = pread(s->fd, d->in, want, (off_t)(s->offset + d->read_pos));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return af_fail(why, AF_EIO, AF_C_IO, "read error: %s", strerror(errno));
	if ((size_t)n < want)
		return af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "the artifact file is shorter than "
		    "its tar header says");
	d->in_off = 0;
	d->in_len = (size_t)n;
	d->read_pos += (uint64_t)n;
	return AF_OK;
}

/* A decoder on a checkpoint mark leaves one; reads behind every cached
 * block resume from them. */
static void
maybe_checkpoint(struct af_stream *s, struct decoder *d)
{
	bool keep;

	if (af_codec_snapshot_size(d->codec) == 0 || d->pos == 0)
		return;
	pthread_mutex_lock(&s->lock);
	keep = !s->no_checkpoints;
	pthread_mutex_unlock(&s->lock);
	if (keep && af_checkpoints_due(s->checkpoints, d->pos, 0))
		af_checkpoints_add(s->checkpoints, d->codec, d->pos,
		    d->read_pos - (d->in_len - d->in_off));
}

/* The codec failed on bytes after the end of the compressed data: say where
 * they are and how many, which only the stream knows. */
static void
explain_trailing(const struct af_stream *s, const struct decoder *d, struct af_reason *why)
{
	const char *name = af_compression_name(s->comp);
	uint64_t at;

	if (!af_codec_trailing(d->codec, &at) || at > s->length)
		return;
	af_reason_reword(why, "%llu bytes at offset %llu follow the end of the %s "
	    "data and are not a complete %s %s%s%s; rebuild the artifact",
	    (unsigned long long)(s->length - at), (unsigned long long)at,
	    name, name, s->comp == AF_COMP_ZSTD ? "frame" : s->comp == AF_COMP_XZ ? "stream" :
	    "member", why->text[0] != '\0' ? ": " : "", why->text);
}

/* Decodes the block at d->pos into b: up to BLOCK bytes, the end of the
 * data, or an error (b->failed, and d must be moved before its next use). */
static enum af_err
decode_block(struct af_stream *s, struct decoder *d, struct block *b,
    struct af_reason *why)
{
	enum af_err err = AF_OK;

	maybe_checkpoint(s, d);
	while (b->len < BLOCK && !d->ended) {
		const uint8_t *in;
		uint8_t *out = b->data + b->len;
		size_t in_len, out_len = BLOCK - b->len, made;
		bool done = false, input_over;

		if (d->in_off == d->in_len && d->read_pos < s->length &&
		    (err = refill(s, d, why)) != AF_OK)
			break;
		input_over = d->in_off == d->in_len;
		in = d->in + d->in_off;
		in_len = d->in_len - d->in_off;
		err = af_codec_run(d->codec, &in, &in_len, &out, &out_len, &done, why);
		d->in_off = d->in_len - in_len;
		made = BLOCK - b->len - out_len;
		b->len += made;
		d->pos += made;
		atomic_fetch_add(&s->produced, made);
		if (err == AF_ECORRUPT)
			explain_trailing(s, d, why);
		if (err != AF_OK)
			break;
		if (done) {
			d->ended = true;
		} else if (input_over && made == 0) {
			err = af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "%s data ends early "
			    "(truncated member)", af_compression_name(s->comp));
			break;
		}
	}
	if (err != AF_OK) {
		b->failed = true;
		d->ready = false;
	}
	b->last = d->ended;
	return err;
}

/* Whether err, from decoding with d, says the data decoded so far may be
 * wrong: a failed check or corrupt data may come after the damage.  Bytes
 * after the data are no such sign when all that was output before them
 * passed its members' checks. */
static bool
damage_found(enum af_err err, const struct decoder *d)
{
	uint64_t at;

	return err == AF_ECORRUPT && !(af_codec_trailing(d->codec, &at) &&
	    af_codec_output_checked(d->codec));
}

/* Damage was found: no checkpoint made so far is used again, and no block
 * decoded so far is served again (a pinned one lives until unpinned); later
 * reads decode again from the start, from the file as it is then. */
static void
distrust_decoded(struct af_stream *s)
{
	s->checkpoints_distrusted = s->no_checkpoints = true;
	while (s->cached > 0)
		cache_drop(s, s->cached - 1);
}

/* Under the lock: b is not published; pinned for the caller if wanted. */
static void
withhold(struct af_stream *s, struct block *b, bool pin, struct block **pinned)
{
	if (pin && b->len > 0) {
		b->refs = 1;
		*pinned = b;
	} else {
		block_unref(s, b);
	}
}

/*
 * Decodes the next count blocks with d (held), fewer if the data ends or
 * decoding fails, and publishes them together; with pin, the first block
 * made is also pinned for the caller (*pinned), failed or not.
 *
 * Nothing is published when damage is found (the failed block is only
 * pinned, so that its reader gets its bytes and the error), nor by a decoder
 * restored from a checkpoint that is no longer trusted: that one is made not
 * ready, to be moved again, and its blocks and error are void (AF_OK).
 */
static enum af_err
make_blocks(struct af_stream *s, struct decoder *d, size_t count, bool pin,
    struct block **pinned, struct af_reason *why)
{
	struct block *made[AHEAD_BATCH], *b;
	enum af_err err = AF_OK;
	size_t n = 0, i;
	bool damaged, stale;

	if (count > AHEAD_BATCH)
		count = AHEAD_BATCH;
	while (n < count && err == AF_OK && (n == 0 || !d->ended)) {
		if ((b = block_new(s, d->pos / BLOCK)) == NULL) {
			err = af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "out of memory");
			break;
		}
		err = decode_block(s, d, b, why);
		made[n++] = b;
	}
	damaged = damage_found(err, d);
	pthread_mutex_lock(&s->lock);
	if (damaged)
		distrust_decoded(s);
	stale = d->from_checkpoint && s->checkpoints_distrusted;
	if (stale) {
		d->ready = false;
		err = AF_OK;
		af_reason_clear(why);
	}
	for (i = 0; i < n; i++) {
		b = made[i];
		if (stale || damaged || (b->failed && b->len == 0)) {	/* not published */
			withhold(s, b, pin && i == 0 && !stale, pinned);
			continue;
		}
		b = cache_publish(s, b);
		if (pin && i == 0) {
			b->refs++;
			*pinned = b;
		}
	}
	d->seen.ready = d->ready;
	d->seen.ended = d->ended;
	d->seen.pos = d->pos;
	announce(s);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/*
 * Decodes with d (held) until block k is published (and pinned for the
 * caller, in *pinned), the data ends or decoding fails.
 */
static enum af_err
run_to(struct af_stream *s, struct decoder *d, uint64_t k, struct block **pinned,
    struct af_reason *why)
{
	enum af_err err;
	bool moved;

	*pinned = NULL;
	do {			/* again if its checkpoint is distrusted on the way */
		err = reposition(s, d, k * BLOCK, &moved);
		pthread_mutex_lock(&s->lock);
		d->seen.ready = d->ready;
		d->seen.ended = d->ended;
		d->seen.pos = d->pos;
		if (moved) {
			d->consumed = d->pos;
			d->ahead_to = 0;	/* read-ahead resumes once reads come in order again */
		}
		pthread_mutex_unlock(&s->lock);
		if (err != AF_OK)
			return af_fail(why, err, AF_C_NO_MEMORY, "out of memory");
		while (d->ready && d->pos <= k * BLOCK && !d->ended)
			if ((err = make_blocks(s, d, 1, d->pos == k * BLOCK, pinned, why)) !=
			    AF_OK)
				return err;
	} while (!d->ready);
	return AF_OK;
}

/* ---- reads: under the lock, dropped to decode and to deliver ---- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Whether a read of the block at kb may not move d (to a checkpoint, to the
 * start, or on past WAIT_DISTANCE) yet: without checkpoints a move means
 * decoding from the start, so a decoder that serves a sequential reader is
 * that reader's until it has not read for HOLD_NS; *until gets the earliest
 * end of such a hold.  Readers take turns instead of restarting each other
 * at every read.  (Not "unless the holder moves it": FUSE serves one
 * reader's requests on any of its worker threads.)
 */
static bool
held(const struct af_stream *s, const struct decoder *d, uint64_t kb, uint64_t now,
    uint64_t *until)
{
	bool goes_on = d->seen.ready && !d->seen.ended && d->seen.pos <= kb &&
	    kb - d->seen.pos <= WAIT_DISTANCE;

	if (!s->restart_only || goes_on || d->held_until <= now)
		return false;
	if (*until == 0 || d->held_until < *until)
		*until = d->held_until;
	return true;
}

/*
 * The decoder a read of block k decodes with, taken (busy); or NULL to wait
 * for a decoder already heading there (another read's, or the read-ahead
 * thread, which may be about to wake for it), for one to be given back, or
 * (*until, on the monotonic clock) for a hold to end.  *held_since is when
 * holds first kept this read waiting (0: not yet).
 */
static struct decoder *
take_decoder(struct af_stream *s, uint64_t k, uint64_t *until, uint64_t *held_since)
{
	uint64_t kb = k * BLOCK, now = s->restart_only ? now_ns() : 0;
	struct decoder *near = NULL, *idle = NULL, *d;
	bool waited_enough = *held_since != 0 && now - *held_since >= HOLD_WAIT_MAX_NS;
	size_t i;

	*until = 0;

	for (i = 0; i < s->decoder_count; i++) {
		d = &s->decoders[i];
		if (d->seen.ready && !d->seen.ended && d->seen.pos <= kb &&
		    (near == NULL || d->seen.pos > near->seen.pos))
			near = d;
	}
	if (near != NULL && kb - near->seen.pos <= WAIT_DISTANCE &&
	    (near->busy || (s->ahead_started && near->ahead_to > near->seen.pos &&
	    (s->ahead_on == NULL || s->ahead_on == near)))) {
		if (near->ahead_to <= kb)
			near->ahead_to = kb + 1;
		pthread_cond_signal(&s->work);
		return NULL;
	}
	for (i = 0; i < s->decoder_count; i++) {	/* idle, closest before kb */
		d = &s->decoders[i];
		if (!d->busy && d->seen.ready && !d->seen.ended && d->seen.pos <= kb &&
		    (waited_enough || !held(s, d, kb, now, until)) &&
		    (idle == NULL || d->seen.pos > idle->seen.pos))
			idle = d;
	}
	for (i = 0; idle == NULL && i < s->decoder_count; i++) {
		d = &s->decoders[i];	/* else the least recently used, to move */
		if (!d->busy && (waited_enough || !held(s, d, kb, now, until)) &&
		    (idle == NULL || d->last_use < idle->last_use))
			idle = d;
	}
	if (idle == NULL && *until != 0 && *held_since == 0)
		*held_since = now;
	if (idle == NULL)
		return NULL;
	idle->busy = true;
	idle->last_use = ++s->clock;
	return idle;
}

static void *read_ahead(void *arg);

/* A read of [off, end) was served: reads that carry on where the last one
 * near a decoder ended start the read-ahead on it. */
static void
note_read(struct af_stream *s, uint64_t off, uint64_t end)
{
	struct decoder *d = NULL, *c;
	bool sequential;
	size_t i;

	for (i = 0; i < s->decoder_count; i++) {
		c = &s->decoders[i];
		if (c->seen.ready && c->seen.pos >= end &&
		    c->seen.pos - end <= s->ahead + (AHEAD_BATCH + 1) * BLOCK &&
		    (d == NULL || c->seen.pos < d->seen.pos))
			d = c;
	}
	if (d == NULL)
		return;
	sequential = off <= d->consumed && end >= d->consumed;
	d->consumed = sequential && d->consumed > end ? d->consumed : end;
	if (!sequential || d->seen.ended)
		return;
	if (s->restart_only)
		d->held_until = now_ns() + HOLD_NS;
	if (d->ahead_to < end + s->ahead)
		d->ahead_to = end + s->ahead;
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

static void
append(void *ctx, const uint8_t *bytes, size_t n)
{
	uint8_t **dst = ctx;

	memcpy(*dst, bytes, n);
	*dst += n;
}

/*
 * An uncompressed member needs no blocks: its bytes are read where they are
 * in the file, at any offset, by any number of threads at once.  Straight
 * into the reader's buffer, or through a buffer of this call's own for a
 * sink that looks at the bytes in place.
 */
static enum af_err
stored_read(struct af_stream *s, const struct sink *to, size_t len, uint64_t off,
    size_t *got, struct af_reason *why)
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
			err = af_fail(why, n < 0 ? AF_EIO : AF_ETRUNC, n < 0 ? AF_C_IO :
			    AF_C_TRUNCATED, "%s%s", n < 0 ? "read error: " : "", n < 0 ?
			    strerror(errno) : "the artifact file is shorter than its tar header "
			    "says");
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

/*
 * A checksum pass (af_stream_read_once) hashes faster than gzip decodes, so
 * its reader waits for nearly every batch of blocks, for about as long as
 * hashing the batch took.  Sleeping on the condition variable costs a
 * futex wake-up on the decoding thread, the critical path, for each batch;
 * on a virtual machine, waking an idle vCPU costs more.  So that reader
 * spins, without the lock, until a broadcast or SPIN_NS, and only then
 * sleeps.  A mount's readers sleep at once: they may wait for long, several
 * may wait together on two CPUs, and a spinning FUSE reader made a
 * sequential cat slower, not faster.
 */
#define SPIN_NS (5 * 1000000ull)

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Spinning pays only while the decoder runs on another CPU: on one CPU the
 * spinner would take the decoder's time (taskset -c 0: a third slower). */
static bool
cpus_to_spin(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
}

/* Without the lock: returns once "changed" is broadcast after seen was
 * read, or after SPIN_NS; the caller re-checks under the lock either way. */
static void
spin_for_change(struct af_stream *s, uint_fast64_t seen)
{
	uint64_t start = now_ns();
	unsigned i;

	for (i = 1; atomic_load_explicit(&s->changes, memory_order_acquire) == seen; i++) {
		cpu_relax();
		if (i % 64 == 0 && now_ns() - start > SPIN_NS)
			return;
	}
}

/* Waits for "changed" (lock held), spinning first where s->spin says so. */
static void
wait_changed(struct af_stream *s)
{
	uint_fast64_t seen = atomic_load_explicit(&s->changes, memory_order_relaxed);

	if (s->spin) {
		pthread_mutex_unlock(&s->lock);
		spin_for_change(s, seen);
		pthread_mutex_lock(&s->lock);
		/* announce() counts under the lock: nothing is missed in between */
		if (atomic_load_explicit(&s->changes, memory_order_relaxed) != seen)
			return;
	}
	pthread_cond_wait(&s->changed, &s->lock);
}

static enum af_err
stream_read(struct af_stream *s, const struct sink *to, size_t len, uint64_t off,
    size_t *got, struct af_reason *why)
{
	enum af_err err = AF_OK;
	struct decoder *d;
	struct block *b;
	/* the block this read decoded and saw fail, and how */
	uint64_t failed_k = UINT64_MAX, until, held_since = 0;
	enum af_err failed_err = AF_OK;
	struct af_reason ignored;	/* decoding words its reason in place */

	if (s->comp == AF_COMP_NONE)
		return stored_read(s, to, len, off, got, why);
	if (why == NULL)
		why = &ignored;
	af_reason_clear(why);
	*got = 0;
	pthread_mutex_lock(&s->lock);
	while (*got < len) {
		uint64_t want = off + *got, k = want / BLOCK;
		size_t at = (size_t)(want % BLOCK), n;

		if (s->end_known && want >= s->end)
			break;
		b = cache_find(s, k);
		if (b != NULL && at < b->len) {
			b->refs++;
			b->last_use = ++s->clock;
			b->read = true;
		} else if (b != NULL && b->last && !b->failed) {
			break;
		} else if (k == failed_k) {	/* failed in this read: say so */
			err = failed_err;
			break;
		} else if ((d = take_decoder(s, k, &until, &held_since)) == NULL) {
			if (until == 0) {
				wait_changed(s);
			} else {
				struct timespec ts = { (time_t)(until / 1000000000u),
				    (long)(until % 1000000000u) };
				pthread_cond_timedwait(&s->changed, &s->lock, &ts);
			}
			continue;
		} else {
			held_since = 0;
			pthread_mutex_unlock(&s->lock);
			af_reason_clear(why);
			err = run_to(s, d, k, &b, why);
			pthread_mutex_lock(&s->lock);
			d->busy = false;
			announce(s);
			if (b != NULL && b->failed) {	/* the next read decodes it again */
				failed_k = k;
				failed_err = err;
			}
			if (b != NULL && at >= b->len) {	/* not these bytes */
				block_unref(s, b);
				b = NULL;
			}
			if (b == NULL && err != AF_OK)
				break;
			err = AF_OK;
			if (b == NULL)
				continue;
		}
		/* b is pinned: hand its bytes over without the lock */
		b->read = true;
		n = b->len - at < len - *got ? b->len - at : len - *got;
		pthread_mutex_unlock(&s->lock);
		to->fn(to->ctx, b->data + at, n);
		pthread_mutex_lock(&s->lock);
		block_unref(s, b);
		*got += n;
		note_read(s, want, want + n);
	}
	pthread_mutex_unlock(&s->lock);
	if (err != AF_OK && why->code == AF_C_NONE)
		af_reason_set(why, af_code_of(err), "%s", af_strerror(err));
	return err;
}

enum af_err
af_stream_pread(struct af_stream *s, void *buf, size_t len, uint64_t off,
    size_t *got, struct af_reason *why)
{
	uint8_t *dst = buf;
	struct sink to = { append, &dst };

	return stream_read(s, &to, len, off, got, why);
}

enum af_err
af_stream_visit(struct af_stream *s, size_t len, uint64_t off, af_stream_visit_fn fn,
    void *ctx, size_t *got, struct af_reason *why)
{
	struct sink to = { fn, ctx };

	return stream_read(s, &to, len, off, got, why);
}

/* ---- the read-ahead thread ---- */

/* The decoder the read-ahead thread should decode with next; under the lock. */
static struct decoder *
ahead_candidate(struct af_stream *s)
{
	size_t i;

	for (i = 0; i < s->decoder_count; i++) {
		struct decoder *d = &s->decoders[i];
		if (d->seen.ready && !d->busy && !d->seen.ended && d->seen.pos < d->ahead_to)
			return d;
	}
	return NULL;
}

/*
 * Decodes ahead of sequential readers, AHEAD_BATCH blocks at a time, so
 * that decoding runs while the bytes already decoded travel to them.  It
 * runs until the stream is freed; a block it fails on is published failed
 * (not if it shows damage: see make_blocks), and the next read of it decodes
 * it again.  Out of memory for a block, it stops decoding ahead on that
 * decoder until a read asks again (note_read): trying again at once would
 * spin, and a read that waited for it would wait for ever; that read now
 * takes the decoder and meets the error itself.
 */
static void *
read_ahead(void *arg)
{
	struct af_stream *s = arg;
	struct decoder *d;
	struct af_reason why;	/* a failed block is decoded again by the read that wants it */
	enum af_err err;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		if ((d = ahead_candidate(s)) == NULL) {
			s->ahead_on = NULL;
			pthread_cond_wait(&s->work, &s->lock);
			continue;
		}
		d->busy = true;
		s->ahead_on = d;
		pthread_mutex_unlock(&s->lock);
		err = make_blocks(s, d, AHEAD_BATCH, false, NULL, &why);
		pthread_mutex_lock(&s->lock);
		d->busy = false;
		if (err == AF_ENOMEM)
			d->ahead_to = 0;
		announce(s);
	}
	s->ahead_on = NULL;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- the rest of the interface ---- */

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
	for (i = 0; i < MAX_DECODERS; i++)
		decoder_release(&s->decoders[i]);
	while (s->cached > 0)
		cache_drop(s, s->cached - 1);
	af_checkpoints_free(s->checkpoints);
	af_blockmem_free(s->blockmem);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
af_stream_keep_checkpoints(struct af_stream *s, bool keep)
{
	pthread_mutex_lock(&s->lock);
	s->no_checkpoints = !keep || s->checkpoints_distrusted;
	pthread_mutex_unlock(&s->lock);
}

uint64_t
af_stream_produced(const struct af_stream *s)
{
	return atomic_load(&((struct af_stream *)s)->produced);
}

void
af_stream_memory(const struct af_stream *cs, struct af_stream_memory *out)
{
	struct af_stream *s = (struct af_stream *)cs;

	pthread_mutex_lock(&s->lock);
	out->cached = s->cached * (size_t)BLOCK;
	out->cache_cap = s->cache_cap * (size_t)BLOCK;
	out->blocks = s->blocks * (size_t)BLOCK;
	out->blocks_peak = s->blocks_peak * (size_t)BLOCK;
	out->decoders = s->decoder_count;
	pthread_mutex_unlock(&s->lock);
}

void
af_stream_read_once(struct af_stream *s)
{
	struct decoder keep;
	size_t i, best = 0;
	bool busy;

	pthread_mutex_lock(&s->lock);
	s->no_checkpoints = true;
	if (s->comp != AF_COMP_XZ) {	/* xz decodes far slower than we hash */
		s->ahead = ONCE_AHEAD;
		s->spin = cpus_to_spin();
	}
	do {			/* every decoder given back, the read-ahead held off */
		busy = false;
		for (i = 0; i < s->decoder_count; i++) {
			s->decoders[i].ahead_to = 0;
			busy = busy || s->decoders[i].busy;
		}
		if (busy)
			pthread_cond_wait(&s->changed, &s->lock);
	} while (busy);
	/* one decoder: the one furthest on, which the blocks cached lead to */
	for (i = 1; i < s->decoder_count; i++)
		if (s->decoders[i].seen.ready && (!s->decoders[best].seen.ready ||
		    s->decoders[i].seen.pos > s->decoders[best].seen.pos))
			best = i;
	keep = s->decoders[best];
	s->decoders[best] = s->decoders[0];
	s->decoders[0] = keep;
	for (i = 1; i < MAX_DECODERS; i++) {
		decoder_release(&s->decoders[i]);
		memset(&s->decoders[i], 0, sizeof(s->decoders[i]));
	}
	s->decoder_count = 1;
	s->ahead_on = NULL;
	pthread_mutex_unlock(&s->lock);
}
