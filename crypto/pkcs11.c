/*
 * Signing on a PKCS#11 token (pkcs11.h), in the signing child only.
 * Over 600 lines: one token session, URI to checked signature; every step shares it.
 */
#include "crypto/pkcs11.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/secure.h"
#include "crypto/sha256.h"

#define MAX_PIN 256
#define MAX_MATCHES 8
#define MIN_RSA_BITS 2048

/* DER of the OID prime256v1 (1.2.840.10045.3.1.7), as CKA_EC_PARAMS holds it */
static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
/* DigestInfo prefix of a SHA-256 digest (RFC 8017, 9.2 note 1) */
static const uint8_t sha256_info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

bool
cr_pkcs11_is_uri(const char *text, size_t len)
{
	size_t n = strlen(CR_PKCS11_SCHEME);

	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	return len >= n && strncasecmp(text, CR_PKCS11_SCHEME, n) == 0;
}

void
cr_pkcs11_result_clear(struct cr_pkcs11_result *r)
{
	free(r->sig);
	OPENSSL_free(r->spki);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- the PIN */

struct pin {
	char *value;		/* locked memory, MAX_PIN + 1 */
	size_t len;
	bool given;
};

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes [p, end) into the PIN; false if it is malformed or long. */
static bool
decode_pin(const char *p, const char *end, struct pin *pin)
{
	int hi, lo;

	pin->len = 0;
	pin->given = true;
	while (p < end) {
		if (pin->len == MAX_PIN)
			return false;
		if (*p == '%') {
			if (end - p < 3 || (hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0)
				return false;
			pin->value[pin->len++] = (char)(hi << 4 | lo);
			p += 3;
		} else {
			pin->value[pin->len++] = *p++;
		}
	}
	return true;
}

/*
 * Copies the URI text to clean (locked, as large) without its pin-value
 * attribute, from the query as RFC 7512 puts it or from the path as libp11
 * (mender-artifact's engine) also takes it, and decodes that into pin.  The
 * text is wiped.  Leading and trailing white space (echo's newline) goes.
 */
static bool
take_pin_value(char *text, size_t len, char *clean, struct pin *pin, struct af_reason *why)
{
	char *p = text, *end = text + len, *o = clean, *stop;
	bool query = false, first = true, bad = false;
	size_t n;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = strlen(CR_PKCS11_SCHEME);
	memcpy(o, p, n);
	o += n;
	p += n;
	while (p < end) {
		stop = p;
		while (stop < end && *stop != (query ? '&' : ';') && !(!query && *stop == '?'))
			stop++;
		if ((size_t)(stop - p) >= 10 && strncmp(p, "pin-value=", 10) == 0) {
			bad |= !decode_pin(p + 10, stop, pin);
		} else if (stop > p) {
			if (!first)
				*o++ = query ? '&' : ';';
			memcpy(o, p, (size_t)(stop - p));
			o += stop - p;
			first = false;
		}
		if (stop < end && *stop == '?') {
			*o++ = '?';
			query = true;
			first = true;
		}
		p = stop + 1;
	}
	*o = '\0';
	OPENSSL_cleanse(text, len);
	if (bad)
		af_reason_set(why, AF_C_PKCS11_PIN, "has a pin-value that is not percent-encoded or is over %d "
		    "bytes: write it as RFC 7512 says (%%XX for reserved characters)", MAX_PIN);
	return !bad;
}

/* Reads the PIN from pin-source: "file:/path" or a path (libp11's forms). */
static bool
read_pin_source(const char *source, struct pin *pin, struct af_reason *why)
{
	const char *path = strncmp(source, "file:", 5) == 0 ? source + 5 : source;
	ssize_t n;
	int fd;

	if (strncmp(path, "//", 2) == 0)	/* file:///run/pin */
		path += 2;
	if (path[0] != '/') {
		af_reason_set(why, AF_C_PKCS11_PIN, "has pin-source=%.80s, which is not a file: give an absolute "
		    "path, pin-source=file:/run/keys/pin", source);
		return false;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		af_reason_set(why, AF_C_PKCS11_PIN, "has a pin-source that cannot be read: %.80s: %s", path,
		    strerror(errno));
		return false;
	}
	pin->len = 0;
	do {
		n = read(fd, pin->value + pin->len, MAX_PIN + 1 - pin->len);
	} while ((n > 0 && (pin->len += (size_t)n) <= MAX_PIN) || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0 || pin->len > MAX_PIN) {
		af_reason_set(why, AF_C_PKCS11_PIN, "has a pin-source that is %s: %.80s", n < 0 ?
		    "unreadable" : "over 256 bytes, not a PIN", path);
		return false;
	}
	while (pin->len > 0 && (pin->value[pin->len - 1] == '\n' || pin->value[pin->len - 1] == '\r'))
		pin->value[--pin->len] = '\0';
	pin->given = true;
	return true;
}

static void
pin_wipe(struct pin *pin)
{
	OPENSSL_cleanse(pin->value, MAX_PIN + 1);
	pin->len = 0;
}

/* ---------------------------------------------------------------- the token */

struct token {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO info;
	char label[80];		/* printable */
};

struct session {
	P11KitUri *uri;
	CK_FUNCTION_LIST **modules;	/* the registry's, or one of module-path */
	CK_FUNCTION_LIST *one;
	struct token token;
	CK_SESSION_HANDLE h;
	bool open, logged_in;
	struct pin pin;
	char object[80];
};

/* A label for a person: printable ASCII, quotes and backslashes as '?'. */
static void
printable(char *out, size_t outlen, const unsigned char *in, size_t len)
{
	size_t i, o = 0;

	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\0'))
		len--;
	for (i = 0; i < len && o + 1 < outlen; i++)
		out[o++] = in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\\' ?
		    (char)in[i] : '?';
	out[o] = '\0';
}

/* What the URI asks of the token, for a reason: token="x" or "any token". */
static void
wanted_token(P11KitUri *uri, char *out, size_t outlen)
{
	CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(uri);
	char label[40];

	printable(label, sizeof(label), ti->label, sizeof(ti->label));
	if (label[0] != '\0')
		snprintf(out, outlen, "token \"%s\"", label);
	else
		snprintf(out, outlen, "any token");
}

/* Loads the modules: module-path's, or the registry's (module-name picks one). */
static bool
load_modules(struct session *s, struct af_reason *why)
{
	const char *path = p11_kit_uri_get_module_path(s->uri);
	const char *name = p11_kit_uri_get_module_name(s->uri), *msg;
	CK_RV rv;

	p11_kit_be_quiet();
	if (path != NULL) {
		if ((s->one = p11_kit_module_load(path, 0)) == NULL) {
			af_reason_set(why, AF_C_PKCS11_MODULE, "names a PKCS#11 module that cannot be loaded: "
			    "module-path=%.100s (%s): install the module or fix module-path", path,
			    access(path, R_OK) != 0 ? strerror(errno) : "not a PKCS#11 module");
			return false;
		}
		if ((rv = p11_kit_module_initialize(s->one)) != CKR_OK) {
			p11_kit_module_release(s->one);
			s->one = NULL;
			af_reason_set(why, AF_C_PKCS11_MODULE, "names a PKCS#11 module that fails to start: "
			    "module-path=%.80s (%s)", path, p11_kit_strerror(rv));
			return false;
		}
		return true;
	}
	if ((s->modules = p11_kit_modules_load_and_initialize(0)) == NULL) {
		msg = p11_kit_message();
		af_reason_set(why, AF_C_PKCS11_MODULE, "needs a PKCS#11 module, and p11-kit could not load those "
		    "registered with it (%.100s): fix the module, or add ?module-path=",
		    msg != NULL ? msg : "a critical module failed");
		return false;
	}
	if (s->modules[0] == NULL) {
		af_reason_set(why, AF_C_PKCS11_MODULE, "needs a PKCS#11 module, and p11-kit has none registered "
		    "(/usr/share/p11-kit/modules): install the token's module (softhsm2, "
		    "opensc, ...) or add ?module-path=/path/to/module.so");
		return false;
	}
	if (name != NULL && (s->one = p11_kit_module_for_name(s->modules, name)) == NULL) {
		af_reason_set(why, AF_C_PKCS11_MODULE, "names a PKCS#11 module p11-kit does not have: "
		    "module-name=%.60s: install it, or give module-path=", name);
		return false;
	}
	return true;
}

/* Finds the one initialized token the URI names. */
static bool
find_token(struct session *s, struct af_reason *why)
{
	CK_FUNCTION_LIST *single[2] = { s->one, NULL }, **mods = s->one != NULL ? single : s->modules;
	CK_SLOT_ID slots[64];
	CK_ULONG n, i;
	CK_INFO minfo;
	CK_SLOT_INFO sinfo;
	CK_TOKEN_INFO tinfo;
	struct token found[MAX_MATCHES];
	size_t matches = 0, m;
	char want[64], names[160] = "";

	for (m = 0; mods[m] != NULL; m++) {
		if (mods[m]->C_GetInfo(&minfo) != CKR_OK ||
		    !p11_kit_uri_match_module_info(s->uri, &minfo))
			continue;
		n = sizeof(slots) / sizeof(slots[0]);
		if (mods[m]->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
			continue;
		for (i = 0; i < n; i++) {
			if (mods[m]->C_GetSlotInfo(slots[i], &sinfo) != CKR_OK ||
			    !p11_kit_uri_match_slot_info(s->uri, &sinfo) ||
			    mods[m]->C_GetTokenInfo(slots[i], &tinfo) != CKR_OK ||
			    !(tinfo.flags & CKF_TOKEN_INITIALIZED) ||
			    !p11_kit_uri_match_token_info(s->uri, &tinfo))
				continue;
			if (matches < MAX_MATCHES) {
				found[matches].f = mods[m];
				found[matches].slot = slots[i];
				found[matches].info = tinfo;
				printable(found[matches].label, sizeof(found[matches].label),
				    tinfo.label, sizeof(tinfo.label));
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
				    "%s\"%s\"", matches > 0 ? ", " : "", found[matches].label);
			}
			matches++;
		}
	}
	wanted_token(s->uri, want, sizeof(want));
	if (matches == 0) {
		af_reason_set(why, AF_C_PKCS11_TOKEN, "names %s, which no PKCS#11 module has: list the tokens "
		    "(p11tool --list-tokens, pkcs11-tool -L) and fix token= in the URI", want);
		return false;
	}
	if (matches > 1) {
		af_reason_set(why, AF_C_PKCS11_TOKEN, "matches %zu tokens (%.100s): add token=LABEL (or serial=) "
		    "to the URI", matches, names);
		return false;
	}
	s->token = found[0];
	return true;
}

static bool
log_in(struct session *s, struct af_reason *why)
{
	CK_TOKEN_INFO *ti = &s->token.info;
	CK_RV rv;

	if (ti->flags & CKF_USER_PIN_LOCKED) {
		af_reason_set(why, AF_C_PKCS11_PIN, "names token \"%s\", whose user PIN is locked (too many "
		    "wrong PINs): unlock it with the SO PIN (pkcs11-tool --init-pin --login "
		    "--login-type so)", s->token.label);
		return false;
	}
	if (!(ti->flags & CKF_LOGIN_REQUIRED) && !s->pin.given)
		return true;
	if (!s->pin.given && !(ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
		af_reason_set(why, AF_C_PKCS11_PIN, "names token \"%s\", which needs a PIN: add "
		    "?pin-source=file:/path/to/pin (or pin-value=) to the URI", s->token.label);
		return false;
	}
	rv = s->token.f->C_Login(s->h, CKU_USER,
	    s->pin.given ? (CK_UTF8CHAR_PTR)s->pin.value : NULL, s->pin.given ? s->pin.len : 0);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		s->logged_in = rv == CKR_OK;
		return true;
	}
	if (rv == CKR_PIN_INCORRECT)
		af_reason_set(why, AF_C_PKCS11_PIN, "could not log in to token \"%s\": the PIN is wrong; check "
		    "pin-value or the pin-source file (the token may lock after more wrong PINs)",
		    s->token.label);
	else if (rv == CKR_PIN_LOCKED)
		af_reason_set(why, AF_C_PKCS11_PIN, "names token \"%s\", whose user PIN is locked (too many "
		    "wrong PINs): unlock it with the SO PIN (pkcs11-tool --init-pin --login "
		    "--login-type so)", s->token.label);
	else
		af_reason_set(why, AF_C_PKCS11_PIN, "could not log in to token \"%s\": %s (%s)", s->token.label,
		    p11_kit_strerror(rv), rv == CKR_PIN_EXPIRED ? "set a new PIN" :
		    rv == CKR_PIN_LEN_RANGE ? "the PIN has the wrong length" : "check the token");
	return false;
}

static CK_ULONG
find(struct session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out, CK_ULONG max)
{
	CK_ULONG got = 0;

	if (s->token.f->C_FindObjectsInit(s->h, tmpl, n) != CKR_OK)
		return 0;
	if (s->token.f->C_FindObjects(s->h, out, max, &got) != CKR_OK)
		got = 0;
	s->token.f->C_FindObjectsFinal(s->h);
	return got;
}

/* The URI's object attributes, without its class, plus class. */
static CK_ULONG
template_for(P11KitUri *uri, CK_OBJECT_CLASS *cls, CK_ATTRIBUTE *tmpl, CK_ULONG max)
{
	CK_ULONG n = 0, i, count = 0;
	CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &count);

	for (i = 0; i < count && n + 1 < max; i++)
		if (attrs[i].type != CKA_CLASS)
			tmpl[n++] = attrs[i];
	if (cls != NULL)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, cls, sizeof(*cls) };
	return n;
}

/* What the URI asks of the object, for a reason: object "x", id 01 02. */
static void
wanted_object(P11KitUri *uri, char *out, size_t outlen)
{
	CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
	CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(uri, CKA_ID);
	char text[64];
	size_t o = 0;
	CK_ULONG i;

	out[0] = '\0';
	if (label != NULL) {
		printable(text, sizeof(text), label->pValue, label->ulValueLen);
		o += (size_t)snprintf(out, outlen, "object=\"%s\"", text);
	}
	if (id != NULL && o < outlen)
		for (i = 0; i < id->ulValueLen && i < 16 && o + 4 < outlen; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%s%%%02x", i == 0 ?
			    (o > 0 ? " id=" : "id=") : "", ((const uint8_t *)id->pValue)[i]);
	if (o == 0)
		snprintf(out, outlen, "no object= or id=");
}

/* Finds the one private key the URI names; says what else it names if not. */
static bool
find_key(struct session *s, CK_OBJECT_HANDLE *key, struct af_reason *why)
{
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, *cls = NULL;
	CK_ATTRIBUTE tmpl[16], *c = p11_kit_uri_get_attribute(s->uri, CKA_CLASS);
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ULONG n, got;
	char want[128];	/* object="<63 bytes>" id=<16 bytes as %xx>: 124 at most */

	wanted_object(s->uri, want, sizeof(want));
	if (c != NULL && c->ulValueLen == sizeof(CK_OBJECT_CLASS))
		cls = c->pValue;
	if (cls == NULL || *cls == CKO_PRIVATE_KEY) {
		n = template_for(s->uri, &priv, tmpl, 16);
		got = find(s, tmpl, n, found, MAX_MATCHES);
		if (got == 1) {
			*key = found[0];
			return true;
		}
		if (got > 1) {
			af_reason_set(why, AF_C_PKCS11_KEY, "matches %lu private keys on token \"%s\" (%s): add "
			    "object=LABEL or id= to the URI", (unsigned long)got, s->token.label, want);
			return false;
		}
	}
	/* no private key: is it a public key or a certificate? */
	n = template_for(s->uri, cls != NULL && *cls != CKO_PRIVATE_KEY ? cls : NULL, tmpl, 16);
	got = (p11_kit_uri_get_attribute(s->uri, CKA_LABEL) != NULL ||
	    p11_kit_uri_get_attribute(s->uri, CKA_ID) != NULL || cls != NULL) ?
	    find(s, tmpl, n, found, MAX_MATCHES) : 0;
	if (got > 0)
		af_reason_set(why, AF_C_PKCS11_KEY, "names a public-only object on token \"%s\" (%s): no private "
		    "key is there to sign with; name the private key (type=private)", s->token.label,
		    want);
	else
		af_reason_set(why, AF_C_PKCS11_KEY, "names no private key on token \"%s\" (%s): list the keys "
		    "(pkcs11-tool --list-objects --login) and fix object= or id=", s->token.label,
		    want);
	return false;
}

/* One attribute, malloc'd (NULL if the token has none or hides it). */
static uint8_t *
attribute(struct session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	uint8_t *v;

	if (s->token.f->C_GetAttributeValue(s->h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 ||
	    a.ulValueLen > (1u << 16) || (v = malloc(a.ulValueLen)) == NULL)
		return NULL;
	a.pValue = v;
	if (s->token.f->C_GetAttributeValue(s->h, o, &a, 1) != CKR_OK) {
		free(v);
		return NULL;
	}
	*len = a.ulValueLen;
	return v;
}

static bool
attribute_ulong(struct session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	CK_ATTRIBUTE a = { type, v, sizeof(*v) };

	return s->token.f->C_GetAttributeValue(s->h, o, &a, 1) == CKR_OK;
}

static bool
attribute_bool(struct session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, bool fallback)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { type, &b, sizeof(b) };

	if (s->token.f->C_GetAttributeValue(s->h, o, &a, 1) != CKR_OK)
		return fallback;
	return b == CK_TRUE;
}

/*
 * The public value (CKA_EC_POINT or CKA_MODULUS) of a public key object
 * beside the private key: same CKA_ID, else same label.  (An import may leave
 * a public object without it, and a second one with it.)
 */
static uint8_t *
public_value(struct session *s, CK_OBJECT_HANDLE key, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE want,
    CK_ULONG *want_len)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) } };
	CK_ATTRIBUTE_TYPE by[2] = { CKA_ID, CKA_LABEL };
	CK_OBJECT_HANDLE found[MAX_MATCHES];
	CK_ULONG len = 0, got, j;
	uint8_t *v, *value = NULL;
	size_t i;

	for (i = 0; i < 2 && value == NULL; i++) {
		if ((v = attribute(s, key, by[i], &len)) == NULL)
			continue;
		tmpl[2] = (CK_ATTRIBUTE){ by[i], v, len };
		got = find(s, tmpl, 3, found, MAX_MATCHES);
		for (j = 0; j < got && value == NULL; j++)
			value = attribute(s, found[j], want, want_len);
		free(v);
	}
	return value;
}

/* The curve of CKA_EC_PARAMS, for a reason: "secp384r1", or "an unnamed curve". */
static void
curve_name(const uint8_t *params, CK_ULONG len, char *out, size_t outlen)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
	int nid = oid != NULL ? OBJ_obj2nid(oid) : NID_undef;

	snprintf(out, outlen, "%s", nid != NID_undef ? OBJ_nid2sn(nid) : "an unnamed curve");
	ASN1_OBJECT_free(oid);
}

/* The uncompressed point of CKA_EC_POINT: DER OCTET STRING, or raw as some tokens give it. */
static bool
ec_point(const uint8_t *v, CK_ULONG len, uint8_t point[65])
{
	const unsigned char *p = v;
	ASN1_OCTET_STRING *os;
	bool ok = false;

	if (len == 65 && v[0] == 0x04) {
		memcpy(point, v, 65);
		return true;
	}
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len)) != NULL &&
	    ASN1_STRING_length(os) == 65 && ASN1_STRING_get0_data(os)[0] == 0x04) {
		memcpy(point, ASN1_STRING_get0_data(os), 65);
		ok = true;
	}
	ASN1_OCTET_STRING_free(os);
	return ok;
}

/* DER SubjectPublicKeyInfo from the token's public values. */
static bool
make_spki(bool rsa, const uint8_t *a, CK_ULONG alen, const uint8_t *b, CK_ULONG blen,
    struct cr_pkcs11_result *out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL);
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if (bld == NULL || ctx == NULL)
		goto done;
	if (rsa) {
		if ((n = BN_bin2bn(a, (int)alen, NULL)) == NULL ||
		    (e = BN_bin2bn(b, (int)blen, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto done;
	} else if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    a, alen)) {
		goto done;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1)
		out->spki_len = i2d_PUBKEY(pkey, &out->spki);
done:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return out->spki_len > 0;
}

/* The key's public half, as SPKI; checks Mender can use the key (P-256, RSA >= 2048). */
static bool
public_key(struct session *s, CK_OBJECT_HANDLE key, CK_KEY_TYPE kt, struct cr_pkcs11_result *out,
    int *rsa_bits, struct af_reason *why)
{
	CK_ULONG alen = 0, blen = 0;
	uint8_t *a = NULL, *b = NULL, point[65];
	bool ok = false;
	char curve[48];

	if (kt == CKK_RSA) {
		if ((a = attribute(s, key, CKA_MODULUS, &alen)) == NULL)
			a = public_value(s, key, kt, CKA_MODULUS, &alen);
		if ((b = attribute(s, key, CKA_PUBLIC_EXPONENT, &blen)) == NULL)
			b = public_value(s, key, kt, CKA_PUBLIC_EXPONENT, &blen);
		while (a != NULL && alen > 1 && a[0] == 0)	/* leading zeros */
			memmove(a, a + 1, --alen);
		*rsa_bits = a != NULL && a[0] != 0 ? (int)(alen * 8) - __builtin_clz(a[0]) + 24 : 0;
		if (a != NULL && *rsa_bits < MIN_RSA_BITS)
			af_reason_set(why, AF_C_KEY_WEAK, "names an RSA-%d key on token \"%s\": artifactfs signs "
			    "only with RSA keys of 2048 bits or more; make one of 3072 (pkcs11-tool "
			    "--keypairgen --key-type rsa:3072)", *rsa_bits, s->token.label);
		else if (a == NULL || b == NULL)
			af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\" whose public half the token "
			    "does not show: import its public key with the same id", s->token.label);
		else if (!(ok = make_spki(true, a, alen, b, blen, out)))
			af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\" whose public half is not "
			    "an RSA key OpenSSL can read", s->token.label);
	} else {
		if ((a = attribute(s, key, CKA_EC_PARAMS, &alen)) == NULL)
			a = public_value(s, key, kt, CKA_EC_PARAMS, &alen);
		if (a != NULL && (alen != sizeof(p256_oid) || memcmp(a, p256_oid, alen) != 0)) {
			curve_name(a, alen, curve, sizeof(curve));
			af_reason_set(why, AF_C_KEY_UNSUPPORTED, "names an ECDSA key on curve %s on "
			    "token \"%s\": Mender signs only with P-256 (prime256v1); make a P-256 key (pkcs11-tool "
			    "--keypairgen --key-type EC:prime256v1)", curve, s->token.label);
		} else if (a == NULL || (b = public_value(s, key, kt, CKA_EC_POINT, &blen)) == NULL ||
		    !ec_point(b, blen, point)) {
			af_reason_set(why, AF_C_PKCS11_KEY, "names an EC key on token \"%s\" without a public key "
			    "object beside it (same id): import the public key to the token",
			    s->token.label);
		} else if (!(ok = make_spki(false, point, sizeof(point), NULL, 0, out))) {
			af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\" whose public point is not "
			    "on P-256", s->token.label);
		}
	}
	free(a);
	free(b);
	return ok;
}

/* Whether the token offers mech for signing. */
static bool
offers(struct session *s, CK_MECHANISM_TYPE mech)
{
	CK_MECHANISM_INFO info;

	return s->token.f->C_GetMechanismInfo(s->token.slot, mech, &info) == CKR_OK &&
	    (info.flags & CKF_SIGN);
}

/* Signs data with mech; the signature is malloc'd into out. */
static CK_RV
sign_with(struct session *s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE type, const uint8_t *data,
    size_t len, struct cr_pkcs11_result *out)
{
	CK_MECHANISM mech = { type, NULL, 0 };
	CK_ULONG sig_len = 0;
	CK_RV rv;

	if ((rv = s->token.f->C_SignInit(s->h, &mech, key)) != CKR_OK)
		return rv;
	/* a key that asks for its PIN at every use (CKA_ALWAYS_AUTHENTICATE) */
	if (attribute_bool(s, key, CKA_ALWAYS_AUTHENTICATE, false) && s->pin.given &&
	    (rv = s->token.f->C_Login(s->h, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)s->pin.value,
	    s->pin.len)) != CKR_OK)
		return rv;
	if ((rv = s->token.f->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)data, len, NULL, &sig_len)) !=
	    CKR_OK)
		return rv;
	if (sig_len == 0 || sig_len > 4096 || (out->sig = malloc(sig_len)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = s->token.f->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)data, len, out->sig,
	    &sig_len)) != CKR_OK)
		return rv;
	out->sig_len = sig_len;
	return CKR_OK;
}

static bool
sign_key(struct session *s, CK_OBJECT_HANDLE key, const uint8_t *msg, size_t msg_len,
    struct cr_pkcs11_result *out, struct af_reason *why)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	uint8_t digest[CR_SHA256_LEN], info[sizeof(sha256_info) + CR_SHA256_LEN];
	CK_MECHANISM_TYPE mech;
	const char *name;
	int bits = 0;
	CK_RV rv;

	if (!attribute_ulong(s, key, CKA_KEY_TYPE, &kt) || (kt != CKK_RSA && kt != CKK_EC)) {
		af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\" that is neither RSA nor ECDSA "
		    "(key type %#lx): Mender signs with RSA or ECDSA P-256", s->token.label,
		    (unsigned long)kt);
		return false;
	}
	if (!public_key(s, key, kt, out, &bits, why))
		return false;
	if (!attribute_bool(s, key, CKA_SIGN, true)) {
		af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\" that may not sign (CKA_SIGN is "
		    "false): make a signing key", s->token.label);
		return false;
	}
	cr_sha256(msg, msg_len, digest);
	if (kt == CKK_EC) {
		mech = CKM_ECDSA;
		name = "CKM_ECDSA";
	} else if (offers(s, CKM_SHA256_RSA_PKCS)) {
		mech = CKM_SHA256_RSA_PKCS;
		name = "CKM_SHA256_RSA_PKCS";
	} else {
		mech = CKM_RSA_PKCS;
		name = "CKM_SHA256_RSA_PKCS or CKM_RSA_PKCS";
	}
	if (!offers(s, mech)) {
		af_reason_set(why, AF_C_PKCS11_KEY, "names a key on token \"%s\", which does not offer %s for "
		    "signing: Mender's signatures need it; use another token", s->token.label, name);
		return false;
	}
	if (mech == CKM_ECDSA) {
		rv = sign_with(s, key, mech, digest, sizeof(digest), out);
	} else if (mech == CKM_SHA256_RSA_PKCS) {
		rv = sign_with(s, key, mech, msg, msg_len, out);
	} else {
		memcpy(info, sha256_info, sizeof(sha256_info));
		memcpy(info + sizeof(sha256_info), digest, sizeof(digest));
		rv = sign_with(s, key, mech, info, sizeof(info), out);
	}
	if (rv == CKR_OK && kt == CKK_EC && out->sig_len != 64)
		af_reason_set(why, AF_C_PKCS11_SIGN, "got a %zu-byte ECDSA signature from token \"%s\", not the "
		    "64-byte r||s PKCS#11 defines for P-256", out->sig_len, s->token.label);
	else if (rv == CKR_OK && kt == CKK_RSA && out->sig_len != (size_t)(bits + 7) / 8)
		af_reason_set(why, AF_C_PKCS11_SIGN, "got a %zu-byte RSA signature from token \"%s\" for an "
		    "RSA-%d key", out->sig_len, s->token.label, bits);
	else if (rv != CKR_OK)
		af_reason_set(why, AF_C_PKCS11_SIGN, "could not sign on token \"%s\" with %s: %s", s->token.label,
		    name, p11_kit_strerror(rv));
	else
		return true;
	return false;
}

static void
close_session(struct session *s)
{
	if (s->logged_in)
		s->token.f->C_Logout(s->h);
	if (s->open)
		s->token.f->C_CloseSession(s->h);
	if (s->modules != NULL)
		p11_kit_modules_finalize_and_release(s->modules);
	else if (s->one != NULL) {
		p11_kit_module_finalize(s->one);
		p11_kit_module_release(s->one);
	}
	if (s->uri != NULL)
		p11_kit_uri_free(s->uri);
	pin_wipe(&s->pin);
	cr_secure_free(s->pin.value, MAX_PIN + 1);
}

enum af_err
cr_pkcs11_sign(char *text, size_t len, const uint8_t *msg, size_t msg_len,
    struct cr_pkcs11_result *out, struct af_reason *why)
{
	struct session s = { 0 };
	char *clean = cr_secure_alloc(len + 1);
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_ULONG llen = 0;
	uint8_t *l;
	char object[64] = "";
	const char *source;
	CK_RV rv;
	int rc;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (clean == NULL || (s.pin.value = cr_secure_alloc(MAX_PIN + 1)) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "could not be used: out of locked memory");
		OPENSSL_cleanse(text, len);
		cr_secure_free(clean, len + 1);
		return AF_ENOMEM;
	}
	if (!take_pin_value(text, len, clean, &s.pin, why))
		goto done;
	if ((s.uri = p11_kit_uri_new()) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "could not be used: out of memory");
		goto done;
	}
	if ((rc = p11_kit_uri_parse(clean, P11_KIT_URI_FOR_ANY, s.uri)) != P11_KIT_URI_OK) {
		af_reason_set(why, AF_C_PKCS11_URI, "is not a PKCS#11 URI p11-kit can read (%s): write it as RFC "
		    "7512 says, e.g. pkcs11:token=LABEL;object=LABEL;type=private?pin-source="
		    "file:/run/keys/pin", p11_kit_uri_message(rc));
		goto done;
	}
	if (p11_kit_uri_any_unrecognized(s.uri)) {
		af_reason_set(why, AF_C_PKCS11_URI, "has an attribute p11-kit does not know: use only RFC 7512's "
		    "(token, object, id, type, serial, ..., pin-value, pin-source, module-path, "
		    "module-name)");
		goto done;
	}
	/* a pin-value wins over a pin-source, as in libp11 */
	if (!s.pin.given && (source = p11_kit_uri_get_pin_source(s.uri)) != NULL &&
	    !read_pin_source(source, &s.pin, why))
		goto done;
	if (!load_modules(&s, why) || !find_token(&s, why))
		goto done;
	if ((rv = s.token.f->C_OpenSession(s.token.slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s.h)) != CKR_OK) {
		af_reason_set(why, AF_C_PKCS11_TOKEN, "could not open a session on token \"%s\": %s",
		    s.token.label, p11_kit_strerror(rv));
		goto done;
	}
	s.open = true;
	if (!log_in(&s, why) || !find_key(&s, &key, why))
		goto done;
	if ((ok = sign_key(&s, key, msg, msg_len, out, why))) {
		if ((l = attribute(&s, key, CKA_LABEL, &llen)) != NULL)
			printable(object, sizeof(object), l, llen);
		free(l);
		snprintf(out->source, sizeof(out->source), "PKCS#11 token \"%s\", object \"%s\"",
		    s.token.label, object);
	}
done:
	close_session(&s);
	cr_secure_free(clean, len + 1);
	if (!ok)
		cr_pkcs11_result_clear(out);
	return ok ? AF_OK : AF_EFORMAT;
}
