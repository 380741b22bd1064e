#!/usr/bin/env bash
# pkcs11.sh — re-signing with a key that stays on a PKCS#11 token (issue 17):
# an RFC 7512 URI written to control/sign-key.  A SoftHSM2 token in a temp
# directory (SOFTHSM2_CONF) holds RSA-3072 and P-256 keys generated on it
# and imported into it; artifactfs finds SoftHSM2 through p11-kit's module
# registry (or module-path=).  Checks unsigned->signed and re-sign of rootfs
# and module artifacts (mender-artifact validates each with the exported
# public key), what control/sign-key and signature-status show, every error
# case (EINVAL and one `control:` line), and that the PIN reaches no log, no
# status and no byte of the daemon's memory.  Token states SoftHSM2 never
# reaches (a locked PIN, a missing mechanism) come from p11shim.c, a module
# that wraps SoftHSM2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resign_lib.sh"

for tool in softhsm2-util pkcs11-tool; do
    command -v "$tool" >/dev/null || fail "setup: $tool is installed (bash .ci/deps)"
done
SOFTHSM=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -r "$m" ] && SOFTHSM=$m && break
done
[ -n "$SOFTHSM" ] || fail "setup: SoftHSM2's module is installed (bash .ci/deps)"
: "${P11SHIM:?P11SHIM must name the built p11shim module}"

# ---------------------------------------------------------------- the token
# Everything secret is under $KD (resign_lib.sh), the PIN too.
export SOFTHSM2_CONF="$KD/softhsm2.conf"
mkdir -p "$KD/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$KD/tokens" > "$SOFTHSM2_CONF"
PIN="pin-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12)"
printf '%s\n' "$PIN" > "$KD/pin"
printf '%s\n' "123456-wrong" > "$KD/wrong-pin"
P11() {   # pkcs11-tool on token LABEL, logged in
    local label=$1
    shift
    pkcs11-tool --module "$SOFTHSM" --token-label "$label" --login --pin "$PIN" "$@" >/dev/null 2>&1
}
pubkey() {   # LABEL ID OUT.pub: export a public key object as PEM
    pkcs11-tool --module "$SOFTHSM" --token-label "$1" --read-object --type pubkey --id "$2" \
        -o "$3.der" >/dev/null 2>&1 &&
        openssl pkey -pubin -inform DER -in "$3.der" -out "$3"
}
(
    cd "$KD" || exit 1
    softhsm2-util --init-token --free --label release --pin "$PIN" --so-pin 8765-so >/dev/null
    softhsm2-util --init-token --free --label spare --pin "$PIN" --so-pin 8765-so >/dev/null
    # generated on the token: the private halves never existed outside it
    P11 release --keypairgen --key-type rsa:3072 --label rsa-gen --id 01
    P11 release --keypairgen --key-type EC:prime256v1 --label ec-gen --id 02
    # imported (PKCS#8 files made by openssl), public halves written beside them
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa-imp.pem 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-imp.pem 2>/dev/null
    for k in rsa-imp:11 ec-imp:12; do
        softhsm2-util --import "${k%:*}.pem" --token release --label "${k%:*}" --id "${k#*:}" \
            --pin "$PIN" >/dev/null
        openssl pkey -in "${k%:*}.pem" -pubout -outform DER -out "${k%:*}.pub.der"
        P11 release --write-object "${k%:*}.pub.der" --type pubkey --label "${k%:*}" --id "${k#*:}"
    done
    # refused: another curve, a public key alone, a small RSA key
    P11 spare --keypairgen --key-type EC:secp384r1 --label p384 --id 21
    P11 spare --write-object ec-imp.pub.der --type pubkey --label pub-only --id 22
    P11 spare --keypairgen --key-type rsa:1024 --label rsa1024 --id 23
    P11 spare --keypairgen --key-type EC:prime256v1 --label ec-spare --id 24
) || fail "setup: SoftHSM2 token"
pubkey release 01 "$KD/rsa-gen.pub" || fail "setup: export rsa-gen public key"
pubkey release 02 "$KD/ec-gen.pub" || fail "setup: export ec-gen public key"
pubkey release 11 "$KD/rsa-imp.pub" || fail "setup: export rsa-imp public key"
pubkey release 12 "$KD/ec-imp.pub" || fail "setup: export ec-imp public key"
check "setup: the exported rsa-imp public key is the imported key's" \
    cmp <(openssl pkey -in "$KD/rsa-imp.pem" -pubout) "$KD/rsa-imp.pub"
check "setup: p11-kit's registry lists SoftHSM2" \
    grep -rqs softhsm /usr/share/p11-kit/modules /etc/pkcs11/modules

# uri OBJECT [QUERY]: a URI naming a key on token "release", PIN from the file
uri() {
    printf 'pkcs11:token=release;object=%s;type=private?pin-source=file:%s%s' "$1" "$KD/pin" \
        "${2:+&$2}"
}

# token_resign LABEL SRC URI PUB SIGLEN OBJECT: resign_lib.sh's resign with
# a file that echo wrote the URI to (newline and all) instead of a PEM key.
token_checks() {   # MNT, while staged
    local desc
    desc=$(cat "$1/control/sign-key")
    check "$TR_LABEL: control/sign-key names the token and the object" \
        grep -qF "staged (PKCS#11 token \"release\", object \"$TR_OBJECT\")" <<<"$desc"
    check_not "$TR_LABEL: control/sign-key shows no PIN" grep -qF "$PIN" <<<"$desc"
    check "$TR_LABEL: pending names the token" \
        grep_status "$1" '^pending: re-sign at unmount with .* on PKCS#11 token "release"'
}
token_resign() {
    echo "$3" > "$KD/uri"
    TR_LABEL=$1 TR_OBJECT=$6 BEFORE_UNMOUNT=token_checks resign "$1" "$2" "$KD/uri" "$4" "$5"
    check_not "$1: the daemon's stderr holds no PIN" grep -qF "$PIN" "$T_MOUNT_ERR"
}

# ---------------------------------------------------------------- 1. re-sign
token_resign "rootfs unsigned->token RSA-3072 (generated)" "$F/rootfs-gzip.mender" \
    "$(uri rsa-gen)" "$KD/rsa-gen.pub" 384 rsa-gen
token_resign "rootfs unsigned->token P-256 (generated)" "$F/rootfs-gzip.mender" \
    "$(uri ec-gen)" "$KD/ec-gen.pub" 64 ec-gen
token_resign "rootfs RSA->token P-256 (imported)" "$F/rootfs-rsa.mender" \
    "$(uri ec-imp)" "$KD/ec-imp.pub" 64 ec-imp
check_not "rootfs RSA->token P-256: the old key no longer verifies" ma_validate "$KD/rsa.pub" "$RESULT"
token_resign "rootfs ECDSA->token RSA-3072 (imported)" "$F/rootfs-ec.mender" \
    "$(uri rsa-imp)" "$KD/rsa-imp.pub" 384 rsa-imp
token_resign "module unsigned->token P-256 (generated)" "$F/module.mender" \
    "$(uri ec-gen)" "$KD/ec-gen.pub" 64 ec-gen
token_resign "module P-256->token RSA-3072 (generated)" "$RESULT" \
    "$(uri rsa-gen)" "$KD/rsa-gen.pub" 384 rsa-gen
token_resign "module unsigned->token RSA-3072 (imported)" "$F/module.mender" \
    "$(uri rsa-imp)" "$KD/rsa-imp.pub" 384 rsa-imp
# the URI forms mender-artifact's --key-pkcs11 takes: pin-value (RFC 7512's
# query, and the path as libp11 reads it), module-path; an id instead of a label
token_resign "pin-value in the query, percent-encoded" "$F/rootfs-gzip.mender" \
    "pkcs11:token=release;object=ec-gen?pin-value=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PIN")" \
    "$KD/ec-gen.pub" 64 ec-gen
token_resign "pin-value in the path (libp11's form)" "$F/rootfs-gzip.mender" \
    "pkcs11:token=release;object=rsa-gen;pin-value=$PIN" "$KD/rsa-gen.pub" 384 rsa-gen
token_resign "module-path=SoftHSM2, id= instead of object=" "$F/rootfs-gzip.mender" \
    "pkcs11:token=release;id=%02?module-path=$SOFTHSM&pin-value=$PIN" "$KD/ec-gen.pub" 64 ec-gen
# a token without CKM_SHA256_RSA_PKCS: CKM_RSA_PKCS over a DigestInfo
echo nosha256 > "$KD/shim-mode"
export P11SHIM_MODE_FILE="$KD/shim-mode" P11SHIM_REAL="$SOFTHSM"
token_resign "RSA by CKM_RSA_PKCS over a DigestInfo (no CKM_SHA256_RSA_PKCS)" \
    "$F/rootfs-gzip.mender" "$(uri rsa-gen "module-path=$P11SHIM")" "$KD/rsa-gen.pub" 384 rsa-gen

# ---------------------------------------------------------------- 2. refused
# refuse NAME URI ERE: writing URI fails at close with EINVAL; signature-status
# has one control: line matching ERE (and no PIN); nothing is staged.
w=$(workdir)
cp "$F/rootfs-gzip.mender" "$w/a.mender"
before=$(ident "$w/a.mender")
refuse() {
    local name=$1 u=$2 ere=$3 out rc line
    printf '%s\n' "$u" > "$KD/uri"
    out=$(cp "$KD/uri" "$w/mnt/control/sign-key" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] && grep -q 'Invalid argument' <<<"$out"; then
        pass "refused: $name: close fails with EINVAL"
    else
        fail "refused: $name: close fails with EINVAL" "exit $rc: $out"
    fi
    line=$(grep '^control: ' "$w/mnt/signature-status")
    check_eq "refused: $name: one control: line" 1 "$(grep -c '^control: ' "$w/mnt/signature-status")"
    check "refused: $name: control: says why" grep -qE -- "$ere" <<<"$line"
    check_not "refused: $name: no PIN in signature-status" grep -qF "$PIN" "$w/mnt/signature-status"
    check "refused: $name: nothing staged" not_staged "$w/mnt"
    [ -n "${VERBOSE:-}" ] && echo "    $line"
}
if mount_art "$w/a.mender" "$w/mnt" -o verify_key="$KD/ec-gen.pub"; then
    refuse "wrong PIN" "pkcs11:token=release;object=ec-gen?pin-source=file:$KD/wrong-pin" \
        'could not log in to token "release": the PIN is wrong; check pin-value or the pin-source'
    refuse "wrong pin-value" "pkcs11:token=release;object=ec-gen?pin-value=00000000" \
        'the PIN is wrong'
    refuse "no PIN" "pkcs11:token=release;object=ec-gen" \
        'token "release", which needs a PIN: add \?pin-source='
    refuse "unknown token" "$(uri ec-gen | sed 's/token=release/token=nosuch/')" \
        'names token "nosuch", which no PKCS#11 module has: list the tokens'
    refuse "unknown object" "$(uri nosuch)" \
        'names no private key on token "release" \(object="nosuch"\): list the keys'
    refuse "missing module (module-path)" "$(uri ec-gen 'module-path=/nonexistent/pkcs11.so')" \
        'cannot be loaded: module-path=/nonexistent/pkcs11.so \(No such file or directory\): install'
    refuse "missing module (module-name)" "$(uri ec-gen 'module-name=nosuch-module')" \
        'names a PKCS#11 module p11-kit does not have: module-name=nosuch-module'
    refuse "public-only object" \
        "pkcs11:token=spare;object=pub-only?pin-source=file:$KD/pin" \
        'names a public-only object on token "spare" \(object="pub-only"\)'
    refuse "public object asked for (type=public)" \
        "pkcs11:token=release;object=ec-gen;type=public?pin-source=file:$KD/pin" \
        'names a public-only object on token "release"'
    refuse "unsupported curve (P-384)" "pkcs11:token=spare;object=p384?pin-source=file:$KD/pin" \
        'names an ECDSA key on curve secp384r1 on token "spare": Mender signs only with P-256'
    refuse "RSA-1024" "pkcs11:token=spare;object=rsa1024?pin-source=file:$KD/pin" \
        'names an RSA-1024 key on token "spare": artifactfs signs only with RSA keys of 2048'
    echo noecdsa > "$KD/shim-mode"
    refuse "unsupported mechanism (no CKM_ECDSA)" "$(uri ec-gen "module-path=$P11SHIM")" \
        'which does not offer CKM_ECDSA for signing'
    echo locked > "$KD/shim-mode"
    refuse "locked token" "$(uri ec-gen "module-path=$P11SHIM")" \
        'names token "release", whose user PIN is locked \(too many wrong PINs\): unlock it'
    echo plain > "$KD/shim-mode"
    refuse "ambiguous: two tokens match" "pkcs11:object=ec-gen?pin-source=file:$KD/pin" \
        'matches 2 tokens \("(release|spare)", "(release|spare)"\): add token='
    refuse "not a URI p11-kit reads" "pkcs11:token=%zz" 'is not a PKCS#11 URI p11-kit can read'
    refuse "pin-source not a file" "pkcs11:token=release;object=ec-gen?pin-source=builtin-dialog" \
        'pin-source=builtin-dialog, which is not a file'
    # after the refusals, a good URI stages, and the control: line goes
    uri ec-gen > "$KD/uri"
    check "refused: then a good URI stages" cp "$KD/uri" "$w/mnt/control/sign-key"
    check_not "refused: then no control: line" grep -q '^control: ' "$w/mnt/signature-status"
    check "refused: rm cancels" rm "$w/mnt/control/sign-key"
    umount_art "$w/mnt"
    check_eq "refused: the artifact is untouched" "$before" "$(ident "$w/a.mender")"
    check_not "refused: no PIN in the daemon's stderr (its log)" grep -qF "$PIN" "$T_MOUNT_ERR"
else
    fail "refused: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi

# ---------------------------------------------------------------- 3. the PIN
# After staging with pin-value (percent-encoded and plain), no byte sequence
# of the PIN is in any readable mapping of the daemon; the scan does find it
# in a process that holds it (itself).
MS_PY="$T_ROOT/pinscan.py"
cat > "$MS_PY" <<'EOF'
import re, sys
pid, pin = sys.argv[1], sys.argv[2].encode()
pats = [pin, pin[:12]]
mem = open('/proc/%s/mem' % pid, 'rb', buffering=0)
found = []
for line in open('/proc/%s/maps' % pid):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split('-'))
    if f[1][0] != 'r' or hi - lo > (1 << 30) or (len(f) > 5 and f[5] in ('[vvar]', '[vsyscall]')):
        continue
    try:
        mem.seek(lo)
        buf = mem.read(hi - lo)
    except (OSError, ValueError, OverflowError):
        continue
    for p in pats:
        if p in buf:
            found.append('%s in %s' % (p.decode(), ' '.join(f[5:]) or f[0]))
print('\n'.join(sorted(set(found))) or 'none')
sys.exit(1 if found else 0)
EOF
check_not "PIN scan: finds the PIN in a process that holds it" python3 "$MS_PY" self "$PIN"
w=$(workdir)
cp "$F/rootfs-gzip.mender" "$w/a.mender"
if mount_art "$w/a.mender" "$w/mnt"; then
    pid=${T_PIDS[$w/mnt]}
    printf 'pkcs11:token=release;object=ec-gen;type=private?pin-value=%s\n' "$PIN" > "$KD/uri-pin"
    check "PIN scan: stage with pin-value (cp of a file)" cp "$KD/uri-pin" "$w/mnt/control/sign-key"
    check "PIN scan: staged" grep -q 'staged (PKCS#11 token "release"' "$w/mnt/control/sign-key"
    check "PIN scan: no PIN in the daemon's memory after staging" python3 "$MS_PY" "$pid" "$PIN"
    printf 'pkcs11:token=release;object=ec-gen?pin-value=%s\n' "$PIN-bad" > "$KD/uri-pin"
    check_not "PIN scan: a refused PIN fails close" cp "$KD/uri-pin" "$w/mnt/control/sign-key"
    check "PIN scan: no PIN in the daemon's memory after a refusal" python3 "$MS_PY" "$pid" "$PIN"
    check_eq "PIN scan: every signing child was reaped" "" "$(ps -o pid= --ppid "$pid" | tr -d ' ')"
    umount_art "$w/mnt"
    check_not "PIN scan: no PIN in the daemon's stderr" grep -qF "$PIN" "$T_MOUNT_ERR"
else
    fail "PIN scan: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi

finish
