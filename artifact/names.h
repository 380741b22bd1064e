/*
 * An index of names, for lookups by name in O(1): open addressing over the
 * positions of items the caller keeps (payload files, manifest entries).
 * The index holds no names; key() gives the name of item i.  Not
 * thread-safe: the caller locks.
 */
#ifndef AF_NAMES_H
#define AF_NAMES_H

#include <stdbool.h>
#include <stddef.h>

typedef const char *(*af_names_key_fn)(const void *items, size_t i);

struct af_names {
	size_t *slots;		/* item index + 1; 0: empty */
	size_t size;		/* a power of two, at least twice the items */
	size_t used;
};

/* Indexes item i (named key(items, i)); items 0..i-1 are indexed already.
 * A name already there keeps its first item.  false without memory. */
bool af_names_add(struct af_names *index, size_t i, af_names_key_fn key, const void *items);
/* The first item named name, or (size_t)-1. */
size_t af_names_find(const struct af_names *index, const char *name, af_names_key_fn key,
    const void *items);
void af_names_clear(struct af_names *index);

#endif
