/* SHA-256, incremental. */
#ifndef CR_SHA256_H
#define CR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CR_SHA256_LEN 32
#define CR_SHA256_HEX_LEN 64

struct cr_sha256;

struct cr_sha256 *cr_sha256_new(void);
void cr_sha256_free(struct cr_sha256 *ctx);
void cr_sha256_update(struct cr_sha256 *ctx, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL to hex, and starts over. */
void cr_sha256_final_hex(struct cr_sha256 *ctx, char hex[CR_SHA256_HEX_LEN + 1]);

/* One-shot digest of a buffer. */
void cr_sha256(const void *data, size_t len, uint8_t out[CR_SHA256_LEN]);
void cr_hex(const uint8_t *bytes, size_t len, char *out);

#endif
