#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
af_strerror(enum af_err err)
{
	switch (err) {
	case AF_OK: return "success";
	case AF_END: return "end of listing";
	case AF_ENOMEM: return "out of memory";
	case AF_EIO: return "read error";
	case AF_EFORMAT: return "malformed";
	case AF_ECORRUPT: return "corrupt compressed data";
	case AF_ETRUNC: return "truncated";
	case AF_ETOOBIG: return "too large";
	case AF_ENOENT: return "not found";
	case AF_ECANCELED: return "canceled";
	}
	return "unknown error";
}


static const char *const code_names[AF_C_COUNT] = {
	[AF_C_NONE] = "none",
	[AF_C_NO_MEMORY] = "no-memory",
	[AF_C_IO] = "io",
	[AF_C_FORMAT] = "format",
	[AF_C_CORRUPT] = "corrupt",
	[AF_C_TRUNCATED] = "truncated",
	[AF_C_TOO_BIG] = "too-big",
	[AF_C_NOT_FOUND] = "not-found",
	[AF_C_CANCELED] = "canceled",
	[AF_C_CHANGED] = "changed",
	[AF_C_RESIGN_REFUSED] = "resign-refused",
	[AF_C_RESIGN_FAILED] = "resign-failed",
	[AF_C_NOT_ARTIFACT] = "not-artifact",
	[AF_C_MISSING] = "missing",
	[AF_C_CHECK_MISMATCH] = "check-mismatch",
	[AF_C_TRAILING_BYTES] = "trailing-bytes",
	[AF_C_TAR_PADDING] = "tar-padding",
	[AF_C_TAR_END] = "tar-end",
	[AF_C_TAR_UNREADABLE] = "tar-unreadable",
	[AF_C_TAR_HEADER] = "tar-header",
	[AF_C_TAR_EXTENSION] = "tar-extension",
	[AF_C_TAR_EXTENSION_STACKED] = "tar-extension-stacked",
	[AF_C_TAR_TYPE] = "tar-type",
	[AF_C_UNSAFE_PATH] = "unsafe-path",
	[AF_C_TAR_DIR_ENTRY] = "tar-dir-entry",
	[AF_C_DUPLICATE] = "duplicate",
	[AF_C_UNKNOWN] = "unknown",
	[AF_C_ORDER] = "order",
	[AF_C_BAD_NAME] = "bad-name",
	[AF_C_MANIFEST_LINE] = "manifest-line",
	[AF_C_MANIFEST_NOT_CANONICAL] = "manifest-not-canonical",
	[AF_C_COVERAGE] = "coverage",
	[AF_C_AUGMENT] = "augment",
	[AF_C_FORMAT_VERSION] = "format-version",
	[AF_C_JSON] = "json",
	[AF_C_JSON_TRAILING] = "json-trailing",
	[AF_C_PAYLOAD_MISMATCH] = "payload-mismatch",
	[AF_C_KEY_NOT_PEM] = "key-not-pem",
	[AF_C_KEY_NOT_PUBLIC] = "key-not-public",
	[AF_C_KEY_PRIVATE] = "key-private",
	[AF_C_KEY_NOT_PRIVATE] = "key-not-private",
	[AF_C_KEY_ENCRYPTED] = "key-encrypted",
	[AF_C_KEY_UNSUPPORTED] = "key-unsupported",
	[AF_C_KEY_WEAK] = "key-weak",
	[AF_C_KEY_TOO_BIG] = "key-too-big",
	[AF_C_KEY_DAMAGED] = "key-damaged",
	[AF_C_SIGN_FAILED] = "sign-failed",
	[AF_C_SIGN_CHILD] = "sign-child",
	[AF_C_PKCS11_URI] = "pkcs11-uri",
	[AF_C_PKCS11_PIN] = "pkcs11-pin",
	[AF_C_PKCS11_MODULE] = "pkcs11-module",
	[AF_C_PKCS11_TOKEN] = "pkcs11-token",
	[AF_C_PKCS11_KEY] = "pkcs11-key",
	[AF_C_PKCS11_SIGN] = "pkcs11-sign",
	[AF_C_DAMAGED] = "damaged",
	[AF_C_UNSIGNED_WITH_KEYS] = "unsigned-with-keys",
	[AF_C_SIG_BAD] = "sig-bad",
	[AF_C_SIG_REBUILT_ONLY] = "sig-rebuilt-only",
	[AF_C_CHECKSUM] = "checksum",
	[AF_C_PROBLEM] = "problem",
	[AF_C_SIG_UNREADABLE] = "sig-unreadable",
	[AF_C_SIG_NOT_BASE64] = "sig-not-base64",
	[AF_C_KEY_FORM] = "key-form",
	[AF_C_KEY_PARAM] = "key-param",
	[AF_C_KEY_NOTE] = "key-note",
	[AF_C_SIG_DER] = "sig-der",
	[AF_C_NOT_CHECKED] = "not-checked",
	[AF_C_SIG_NEWLINE] = "sig-newline",
	[AF_C_STRICT] = "strict",
};

enum af_code
af_code_of(enum af_err err)
{
	switch (err) {
	case AF_OK: case AF_END: return AF_C_NONE;
	case AF_ENOMEM: return AF_C_NO_MEMORY;
	case AF_EIO: return AF_C_IO;
	case AF_EFORMAT: return AF_C_FORMAT;
	case AF_ECORRUPT: return AF_C_CORRUPT;
	case AF_ETRUNC: return AF_C_TRUNCATED;
	case AF_ETOOBIG: return AF_C_TOO_BIG;
	case AF_ENOENT: return AF_C_NOT_FOUND;
	case AF_ECANCELED: return AF_C_CANCELED;
	}
	return AF_C_FORMAT;
}

const char *
af_code_name(enum af_code code)
{
	return code < AF_C_COUNT && code_names[code] != NULL ? code_names[code] : "none";
}

enum af_code
af_code_from_name(const char *name, size_t len)
{
	int c;

	for (c = 0; c < AF_C_COUNT; c++)
		if (strlen(code_names[c]) == len && memcmp(code_names[c], name, len) == 0)
			return (enum af_code)c;
	return AF_C_NONE;
}

static void
set(struct af_reason *r, enum af_code code, const char *fmt, va_list ap)
{
	if (r == NULL)
		return;
	r->code = code;
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
}

void
af_reason_set(struct af_reason *r, enum af_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(r, code, fmt, ap);
	va_end(ap);
}

enum af_err
af_fail(struct af_reason *r, enum af_err err, enum af_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(r, code, fmt, ap);
	va_end(ap);
	return err;
}

void
af_reason_clear(struct af_reason *r)
{
	if (r != NULL) {
		r->code = AF_C_NONE;
		r->text[0] = '\0';
	}
}

void
af_reason_reword(struct af_reason *r, const char *fmt, ...)
{
	char text[AF_REASON_MAX];	/* fmt's arguments may point into r->text */
	va_list ap;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(r->text, text, sizeof(text));
}

/* A byte that continues a UTF-8 character, which a cut must not split off. */
static int
continues(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

const char *
af_short(char buf[AF_SHORT_MAX], const char *s)
{
	size_t len = strlen(s), keep = AF_SHORT_MAX - 1 - 3, head = keep / 2,
	    tail = keep - head;

	if (len < AF_SHORT_MAX) {
		memcpy(buf, s, len + 1);
		return buf;
	}
	while (head > 0 && continues(s[head]))
		head--;
	while (tail > 0 && continues(s[len - tail]))
		tail--;
	memcpy(buf, s, head);
	memcpy(buf + head, "...", 3);
	memcpy(buf + head + 3, s + len - tail, tail + 1);
	return buf;
}
