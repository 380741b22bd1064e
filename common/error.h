/*
 * The error convention of artifact/ and crypto/: a function that can fail
 * returns enum af_err (or a pointer, NULL on failure) and fills a struct
 * af_reason: a stable code, which tests and programs match, and one line of
 * text for a person.  The text has room for anything passed up whole, so no
 * caller cuts a message by copying it into a shorter buffer.  fs/ translates
 * af_err to errno at the FUSE edge and nowhere else.  Both libraries include
 * this header, so it knows nothing of the format or of OpenSSL.
 */
#ifndef AF_ERROR_H
#define AF_ERROR_H

#include <stddef.h>

enum af_err {
	AF_OK = 0,
	AF_END,		/* no more entries: not an error, the end of a listing */
	AF_ENOMEM,
	AF_EIO,		/* reading the artifact file failed */
	AF_EFORMAT,	/* the bytes break the format */
	AF_ECORRUPT,	/* compressed data does not decompress */
	AF_ETRUNC,	/* the file ends inside something it promised */
	AF_ETOOBIG,	/* over one of our safety caps */
	AF_ENOENT,	/* no such member, entry or file */
	AF_ECANCELED,	/* the caller asked to stop */
};

const char *af_strerror(enum af_err err);

/*
 * What a reason is about.  Each code has a stable name (af_code_name) that
 * --status --format=json shows and man/artifactfs.1 lists: rename none, add
 * new ones at the end of their group.
 */
enum af_code {
	AF_C_NONE,		/* "none": no reason set */
	AF_C_NO_MEMORY,		/* "no-memory" */
	AF_C_IO,		/* "io": a file cannot be read or written */
	/* the artifact */
	AF_C_FORMAT,		/* "format": bytes that break the format */
	AF_C_CORRUPT,		/* "corrupt": compressed data that does not decompress */
	AF_C_TRUNCATED,		/* "truncated": ends inside something it promised */
	AF_C_TOO_BIG,		/* "too-big": over one of artifactfs's safety caps */
	AF_C_NOT_FOUND,		/* "not-found": no such member, entry or file */
	AF_C_CANCELED,		/* "canceled": the caller asked to stop */
	AF_C_CHANGED,		/* "changed": the file on disk changed since it was opened */
	AF_C_RESIGN_REFUSED,	/* "resign-refused": only what verified is re-signed */
	AF_C_RESIGN_FAILED,	/* "resign-failed": the re-signed copy was not written */
	AF_C_NOT_ARTIFACT,	/* "not-artifact": not a Mender artifact at all */
	AF_C_MISSING,		/* "missing": a member or header file the format requires
				 * is missing */
	AF_C_CHECK_MISMATCH,	/* "check-mismatch": compressed data does not match its own
				 * check (gzip CRC or size, xz check, zstd checksum) */
	AF_C_TRAILING_BYTES,	/* "trailing-bytes": bytes after the end of a tar or of a
				 * compressed stream, which nothing signs */
	AF_C_TAR_PADDING,	/* "tar-padding": padding between tar entries that is not
				 * zeros, or that libarchive skipped */
	AF_C_TAR_END,		/* "tar-end": a tar that does not end in two end-of-archive
				 * blocks */
	AF_C_TAR_UNREADABLE,	/* "tar-unreadable": libarchive cannot read an entry, or
				 * warns about it */
	AF_C_TAR_HEADER,	/* "tar-header": header blocks that tar readers may read
				 * differently (checksum, magic, numbers, name, size, type) */
	AF_C_TAR_EXTENSION,	/* "tar-extension": an extension header or pax record
				 * mender-artifact never writes */
	AF_C_TAR_EXTENSION_STACKED,	/* "tar-extension-stacked": more than one extension
				 * header before an entry */
	AF_C_TAR_TYPE,		/* "tar-type": an entry type mender-artifact never writes */
	AF_C_UNSAFE_PATH,	/* "unsafe-path": a name with "..", a leading "/", a NUL, ... */
	/* the rules of the format that problems (artifact/problems.h) break */
	AF_C_TAR_DIR_ENTRY,	/* "tar-dir-entry": a directory entry in a header tar */
	AF_C_DUPLICATE,		/* "duplicate": a member, file or manifest line twice */
	AF_C_UNKNOWN,		/* "unknown": a member, header file or JSON key Mender
				 * does not know */
	AF_C_ORDER,		/* "order": members or header files out of order */
	AF_C_BAD_NAME,		/* "bad-name": a name Mender refuses (payload index,
				 * script name, payload file name) */
	AF_C_MANIFEST_LINE,	/* "manifest-line": a manifest line that is malformed */
	AF_C_MANIFEST_NOT_CANONICAL,	/* "manifest-not-canonical": a manifest that is not
				 * "<sha256>  <name>\n" lines */
	AF_C_COVERAGE,		/* "coverage": a manifest that lists what is not there,
				 * or misses what is */
	AF_C_AUGMENT,		/* "augment": augmented parts that break their rules, or
				 * that nothing signs */
	AF_C_FORMAT_VERSION,	/* "format-version": the version member's format or
				 * version is not what Mender reads */
	AF_C_JSON,		/* "json": a JSON member that is invalid or breaks its
				 * schema */
	AF_C_JSON_TRAILING,	/* "json-trailing": bytes after a JSON member's value */
	AF_C_PAYLOAD_MISMATCH,	/* "payload-mismatch": header-info, type-info, meta-data
				 * and the data members disagree on the payloads */
	/* keys */
	AF_C_KEY_NOT_PEM,	/* "key-not-pem": DER, or not a PEM key at all */
	AF_C_KEY_NOT_PUBLIC,	/* "key-not-public": no public key where one is needed */
	AF_C_KEY_PRIVATE,	/* "key-private": a private key where only public ones belong */
	AF_C_KEY_NOT_PRIVATE,	/* "key-not-private": signing needs the private key */
	AF_C_KEY_ENCRYPTED,	/* "key-encrypted": encrypted keys are refused */
	AF_C_KEY_UNSUPPORTED,	/* "key-unsupported": a key Mender cannot use */
	AF_C_KEY_WEAK,		/* "key-weak": RSA under 2048 bits */
	AF_C_KEY_TOO_BIG,	/* "key-too-big": larger than any key file */
	AF_C_KEY_DAMAGED,	/* "key-damaged": its signatures do not verify with its own
				 * public half */
	/* signing */
	AF_C_SIGN_FAILED,	/* "sign-failed": the key could not sign */
	AF_C_SIGN_CHILD,	/* "sign-child": the signing process failed */
	AF_C_PKCS11_URI,	/* "pkcs11-uri": a PKCS#11 URI that cannot be used as written */
	AF_C_PKCS11_PIN,	/* "pkcs11-pin": no PIN, a wrong or locked one */
	AF_C_PKCS11_MODULE,	/* "pkcs11-module": no module to load, or one that fails */
	AF_C_PKCS11_TOKEN,	/* "pkcs11-token": no such token, or more than one */
	AF_C_PKCS11_KEY,	/* "pkcs11-key": no such key on the token, or one that cannot sign */
	AF_C_PKCS11_SIGN,	/* "pkcs11-sign": the token failed to sign */
	/* the verdict's findings (artifact/verdict.h); index says which key,
	 * checksum or problem.  Reasons: */
	AF_C_DAMAGED,		/* "damaged": the outer tar is damaged: the cause of what follows */
	AF_C_UNSIGNED_WITH_KEYS,	/* "unsigned-with-keys": no signature, but verify keys
				 * are set */
	AF_C_SIG_BAD,		/* "sig-bad": the signature does not verify with a key */
	AF_C_SIG_REBUILT_ONLY,	/* "sig-rebuilt-only": a key verifies only mender-artifact's
				 * rebuilt manifest, not its bytes */
	AF_C_CHECKSUM,		/* "checksum": a checksum result that is not ok */
	AF_C_PROBLEM,		/* "problem": a problem of the artifact, at its severity */
	/* reasons with verify keys, warnings without */
	AF_C_SIG_UNREADABLE,	/* "sig-unreadable": manifest.sig cannot be read */
	AF_C_SIG_NOT_BASE64,	/* "sig-not-base64": manifest.sig is not valid base64 */
	/* warnings (and AF_C_KEY_WEAK, AF_C_CHANGED above) */
	AF_C_KEY_FORM,		/* "key-form": a key in a form Mender's tools refuse */
	AF_C_KEY_PARAM,		/* "key-param": a key with unusual parameters */
	AF_C_KEY_NOTE,		/* "key-note": about the file a key came from */
	AF_C_SIG_DER,		/* "sig-der": DER-encoded ECDSA, which mender-artifact 3.x
				 * refuses */
	AF_C_NOT_CHECKED,	/* "not-checked": signed, but no verify key checked it */
	/* notes */
	AF_C_SIG_NEWLINE,	/* "sig-newline": manifest.sig ends in a newline */
	/* --status --strict: warnings count as a reason */
	AF_C_STRICT,		/* "strict" */
	AF_C_COUNT
};

/* Longer than anything a reason holds: file names are at most PATH_MAX
 * (4096) but are cut to 200 bytes (AF_SHORT) where a reason names them. */
#define AF_REASON_MAX 1024

struct af_reason {
	enum af_code code;
	char text[AF_REASON_MAX];	/* one line, no newline; "" when code is AF_C_NONE */
};

/* Sets r to code and the printf-formatted text; r may be NULL (ignored).
 * Returns err, so that a failing function ends in one statement. */
enum af_err af_fail(struct af_reason *r, enum af_err err, enum af_code code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same without an error to return. */
void af_reason_set(struct af_reason *r, enum af_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void af_reason_clear(struct af_reason *r);
/* Rewrites r's text with fmt, keeping its code; the arguments may include
 * r->text itself, to wrap it ("ends with %s", r->text).  r may be NULL. */
void af_reason_reword(struct af_reason *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * A path, or a name from the artifact, as a reason shows it: whole when it
 * is under AF_SHORT_MAX bytes, else its start and its end with "..." between
 * (never inside a UTF-8 character), so that what a reason says after a name,
 * the advice, always fits in AF_REASON_MAX.  af_short writes into buf and
 * returns it; AF_SHORT(s) does so in a buffer that lives until the end of the
 * enclosing block, for use as a printf argument.
 */
#define AF_SHORT_MAX 201	/* 200 bytes and the NUL */
const char *af_short(char buf[AF_SHORT_MAX], const char *s);
#define AF_SHORT(s) af_short((char[AF_SHORT_MAX]){ 0 }, (s))
/* The code that stands for a bare error, when a function gives no finer
 * one: AF_EIO is "io", AF_EFORMAT "format", ... */
enum af_code af_code_of(enum af_err err);
/* The code's stable name, "key-weak"; "none" for AF_C_NONE. */
const char *af_code_name(enum af_code code);
/* The code of a stable name, or AF_C_NONE. */
enum af_code af_code_from_name(const char *name, size_t len);

#endif
