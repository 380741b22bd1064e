#include "artifact/names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND ((size_t)-1)

static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The slot of name, or of the empty slot where it would go. */
static size_t
probe(const struct af_names *ix, const char *name, af_names_key_fn key, const void *items)
{
	size_t at = (size_t)hash(name) & (ix->size - 1);

	while (ix->slots[at] != 0 && strcmp(key(items, ix->slots[at] - 1), name) != 0)
		at = (at + 1) & (ix->size - 1);
	return at;
}

static bool
grow(struct af_names *ix, af_names_key_fn key, const void *items)
{
	struct af_names bigger = { NULL, ix->size == 0 ? 64 : ix->size * 2, ix->used };
	size_t i;

	if ((bigger.slots = calloc(bigger.size, sizeof(*bigger.slots))) == NULL)
		return false;
	for (i = 0; i < ix->size; i++)
		if (ix->slots[i] != 0)
			bigger.slots[probe(&bigger, key(items, ix->slots[i] - 1), key, items)] =
			    ix->slots[i];
	free(ix->slots);
	*ix = bigger;
	return true;
}

bool
af_names_add(struct af_names *ix, size_t i, af_names_key_fn key, const void *items)
{
	size_t at;

	if ((ix->used + 1) * 2 > ix->size && !grow(ix, key, items))
		return false;
	at = probe(ix, key(items, i), key, items);
	if (ix->slots[at] == 0) {
		ix->slots[at] = i + 1;
		ix->used++;
	}
	return true;
}

size_t
af_names_find(const struct af_names *ix, const char *name, af_names_key_fn key,
    const void *items)
{
	size_t at;

	if (ix->size == 0)
		return NOT_FOUND;
	at = probe(ix, name, key, items);
	return ix->slots[at] != 0 ? ix->slots[at] - 1 : NOT_FOUND;
}

void
af_names_clear(struct af_names *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->size = ix->used = 0;
}
