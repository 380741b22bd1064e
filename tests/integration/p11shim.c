/*
 * A PKCS#11 module for tests/integration/pkcs11.sh: SoftHSM2 with one thing
 * changed, for the token states SoftHSM2 itself never reaches.  The file
 * named by P11SHIM_MODE_FILE (read when the module is loaded) holds one word:
 *   locked     the user PIN is locked (CKF_USER_PIN_LOCKED, C_Login says
 *              CKR_PIN_LOCKED)
 *   noecdsa    no CKM_ECDSA
 *   nosha256   no CKM_SHA256_RSA_PKCS (signers fall back to CKM_RSA_PKCS)
 *   anything else, or no file: SoftHSM2 unchanged.
 * P11SHIM_REAL names SoftHSM2's module (default: Debian's path).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST_PTR real;
static char mode[32];

static CK_RV
shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	CK_RV rv = real->C_GetTokenInfo(slot, info);

	if (rv == CKR_OK && strcmp(mode, "locked") == 0)
		info->flags |= CKF_USER_PIN_LOCKED;
	return rv;
}

static CK_RV
shim_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	if (strcmp(mode, "locked") == 0)
		return CKR_PIN_LOCKED;
	return real->C_Login(h, user, pin, len);
}

static CK_RV
shim_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	if ((strcmp(mode, "noecdsa") == 0 && type == CKM_ECDSA) ||
	    (strcmp(mode, "nosha256") == 0 && type == CKM_SHA256_RSA_PKCS))
		return CKR_MECHANISM_INVALID;
	return real->C_GetMechanismInfo(slot, type, info);
}

static CK_RV
shim_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	if ((strcmp(mode, "noecdsa") == 0 && mech->mechanism == CKM_ECDSA) ||
	    (strcmp(mode, "nosha256") == 0 && mech->mechanism == CKM_SHA256_RSA_PKCS))
		return CKR_MECHANISM_INVALID;
	return real->C_SignInit(h, mech, key);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	const char *path = getenv("P11SHIM_REAL"), *mode_file = getenv("P11SHIM_MODE_FILE");
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	void *lib;
	FILE *f;

	if (real == NULL) {
		lib = dlopen(path != NULL ? path : "/usr/lib/softhsm/libsofthsm2.so",
		    RTLD_NOW | RTLD_LOCAL);
		if (lib == NULL || (get = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(lib,
		    "C_GetFunctionList")) == NULL || get(&real) != CKR_OK)
			return CKR_GENERAL_ERROR;
		if (mode_file != NULL && (f = fopen(mode_file, "r")) != NULL) {
			if (fscanf(f, "%31s", mode) != 1)
				mode[0] = '\0';
			fclose(f);
		}
		shim = *real;
		shim.C_GetTokenInfo = shim_GetTokenInfo;
		shim.C_Login = shim_Login;
		shim.C_GetMechanismInfo = shim_GetMechanismInfo;
		shim.C_SignInit = shim_SignInit;
	}
	*list = &shim;
	return CKR_OK;
}
