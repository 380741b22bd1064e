/*
 * Memory for secrets: a locked (never swapped), never-dumped arena, wiped on
 * free.  Private keys are parsed into it, so their bytes never leave it.
 */
#ifndef CR_SECURE_H
#define CR_SECURE_H

#include <stdbool.h>
#include <stddef.h>

/* Sets up the arena once per process; false only if it cannot be made at
 * all.  One whose pages could not be locked (RLIMIT_MEMLOCK) still serves,
 * and true is returned: its pages may then be swapped. */
bool cr_secure_init(void);
void *cr_secure_alloc(size_t len);
void *cr_secure_realloc(void *p, size_t old_len, size_t new_len);
void cr_secure_free(void *p, size_t len);
/* Copies a secret without passing it through vector registers: memcpy's
 * would keep 16 or 32 bytes of it in %xmm/%ymm registers, which the next
 * lazy symbol binding or signal saves on the thread's stack, where nothing
 * wipes it. */
void cr_secure_copy(void *dst, const void *src, size_t len);

#endif
