/*
 * Checkpoints: decoder states recorded on a first pass over a compressed
 * member, so that a later read of a block no longer cached resumes from the
 * nearest one instead of from the start (zran-style; for gzip the state
 * holds the 32 KiB window).  stream.c records them on block boundaries.  A thread of the list's own compresses them with zstd, so
 * that the decoder only copies its state; none is dropped while the list
 * lives.  Thread-safe.
 */
#ifndef ARTIFACT_CHECKPOINT_H
#define ARTIFACT_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "artifact/codec.h"

struct af_checkpoints;

/* Where a checkpoint stands: decompressed and compressed offsets. */
struct af_checkpoint_at {
	uint64_t out_pos, in_pos;
	size_t index;
};

struct af_checkpoints *af_checkpoints_new(void);
void af_checkpoints_free(struct af_checkpoints *list);

/*
 * Whether a decoder at out_pos should leave a checkpoint: one is recorded
 * every few MiB of output, at the first decoder call within slack bytes past
 * each mark.
 */
bool af_checkpoints_due(struct af_checkpoints *list, uint64_t out_pos, uint64_t slack);

/* Records codec's state at out_pos, with in_pos compressed bytes consumed;
 * quietly does nothing without memory or when one is there already. */
void af_checkpoints_add(struct af_checkpoints *list, const struct af_codec *codec,
    uint64_t out_pos, uint64_t in_pos);

/* The last checkpoint at or before out_pos; false if there is none. */
bool af_checkpoints_find(struct af_checkpoints *list, uint64_t out_pos,
    struct af_checkpoint_at *at);

/* Puts codec in the state recorded at at; false if that fails (no memory). */
bool af_checkpoints_restore(struct af_checkpoints *list, const struct af_checkpoint_at *at,
    struct af_codec *codec);

#endif
