/* The inside of struct cr_key, for crypto/ only. */
#ifndef CR_KEY_IMPL_H
#define CR_KEY_IMPL_H

#include <openssl/evp.h>

#include "crypto/key.h"

struct cr_key {
	EVP_PKEY *pkey;
	enum cr_key_type type;
	bool is_private;
	const char *form_warning;	/* a PEM form Mender's own tools refuse, or NULL */
	char unusable[200];		/* public keys: why it can verify nothing, or "" */
	char param_warning[240];	/* public keys: an odd exponent or curve form, or "" */
	char description[48];
	char fingerprint[CR_FINGERPRINT_LEN + 1];
};

#endif
