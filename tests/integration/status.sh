#!/usr/bin/env bash
# status.sh — the signature-status report, both as `artifactfs --status` and as
# MNT/signature-status on a mount: verdicts and exit codes, key forms, key
# rotation, algorithm mismatches, signatures made by openssl, the tampers of
# spec §16, agreement with `mender-artifact validate -k`, and the live
# behaviour of a mount (control/verify-key, artifact changed on disk, caching).
# Every extra key and artifact is made here, in the test's workdir, with
# openssl and mender-artifact 3.9; expected values are computed at test time.
. "$(dirname "$0")/lib.sh"

F=$(cd "$FIXTURES" && pwd)
W=$(workdir)

. "$(dirname "$0")/report.sh"

# ---- keys and artifacts made here ---------------------------------------------------
K=$W/keys
mkdir -p "$K"
cp "$F/rsa.pem" "$F/rsa.pub" "$F/ec.pem" "$F/ec.pub" "$K/"
for b in 3072 4096; do
    openssl genrsa -traditional -out "$K/rsa$b.pem" $b 2>/dev/null
    openssl pkey -in "$K/rsa$b.pem" -pubout -out "$K/rsa$b.pub"
done
openssl genrsa -traditional -out "$K/rsa-b.pem" 2048 2>/dev/null
openssl pkey -in "$K/rsa-b.pem" -pubout -out "$K/rsa-b.pub"
openssl ecparam -genkey -name prime256v1 -noout -out "$K/ec-b.pem"
openssl pkey -in "$K/ec-b.pem" -pubout -out "$K/ec-b.pub"
openssl rsa -in "$K/rsa.pem" -RSAPublicKey_out -out "$K/rsa-pkcs1.pub" 2>/dev/null
openssl req -x509 -new -key "$K/rsa.pem" -subj /CN=t -days 1 -out "$K/cert.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$K/ec.pem" -out "$K/ec-pkcs8.pem"
openssl ecparam -genkey -name secp384r1 -noout -out "$K/ec384.pem"
openssl pkey -in "$K/ec384.pem" -pubout -out "$K/ec384.pub"
openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2>/dev/null
openssl pkey -in "$K/ed.pem" -pubout -out "$K/ed.pub"
printf 'this is not a key\n' >"$K/garbage.pub"
for f in rsa3072.pub rsa4096.pub rsa-b.pub ec-b.pub rsa-pkcs1.pub cert.pem ec384.pub ed.pub; do
    check "key made: $f" test -s "$K/$f"
done
check_eq "rsa-pkcs1.pub is PKCS#1" "-----BEGIN RSA PUBLIC KEY-----" "$(head -n 1 "$K/rsa-pkcs1.pub")"
check_eq "cert.pem is a certificate" "-----BEGIN CERTIFICATE-----" "$(head -n 1 "$K/cert.pem")"

A=$W/art
mkdir -p "$A"
for b in 3072 4096; do
    "$MA" write rootfs-image -n rel-1 -t dev1 -f "$F/rootfs.ext4" -k "$K/rsa$b.pem" \
        -o "$A/rootfs-rsa$b.mender" --no-progress >/dev/null 2>&1
    check "mender-artifact signs with RSA-$b" test -s "$A/rootfs-rsa$b.mender"
done

# ---- signed by mender-artifact: RSA 2048/3072/4096, ECDSA P-256 ---------------------
for c in "rsa:$F/rootfs-rsa.mender" "rsa3072:$A/rootfs-rsa3072.mender" \
         "rsa4096:$A/rootfs-rsa4096.mender" "ec:$F/rootfs-ec.mender"; do
    kn=${c%%:*}
    art=${c#*:}
    pub=$K/$kn.pub
    both "$kn: right key" "$art" valid "$pub"
    if [ "$kn" = ec ]; then
        type="ECDSA P-256"
    else
        type="RSA-$(rsa_bits "$pub")"
    fi
    xline "$kn: key line has the SPKI fingerprint and says verified" \
        "key 1: $type SHA256:$(fp "$pub") (from -o verify_key=$pub): verified"
    sig_b64=$(tar -xOf "$art" manifest.sig | wc -c)
    sig_bin=$(tar -xOf "$art" manifest.sig | base64 -d | wc -c)
    if [ "$kn" = ec ]; then
        xline "$kn: signature line" "signature: ECDSA P-256, raw r||s, $sig_bin bytes ($sig_b64 bytes base64)"
    else
        xline "$kn: signature line" "signature: $type, $sig_bin bytes ($sig_b64 bytes base64)"
    fi
    xline "$kn: manifest canonical" "manifest: canonical"
    no_line "$kn: no reason lines" '^reason:'
    agree "$kn: right key" "$art" "$pub"
done

# v2 and augmented fixtures (signed with rsa.pem)
both "v2 rsa" "$F/rootfs-v2.mender" valid "$K/rsa.pub"
agree "v2 rsa" "$F/rootfs-v2.mender" "$K/rsa.pub"
both "augmented rsa" "$F/augmented.mender" valid "$K/rsa.pub"
agree "augmented rsa" "$F/augmented.mender" "$K/rsa.pub"

# ---- key forms ----------------------------------------------------------------------
RSAFP=$(fp "$K/rsa.pub")
both "PKCS#1 RSA PUBLIC KEY" "$F/rootfs-rsa.mender" valid "$K/rsa-pkcs1.pub"
xline "PKCS#1: same fingerprint as the SPKI form, verified" \
    "key 1: RSA-2048 SHA256:$RSAFP (from -o verify_key=$K/rsa-pkcs1.pub): verified"
differs "PKCS#1 RSA PUBLIC KEY" "$F/rootfs-rsa.mender" "$K/rsa-pkcs1.pub" "ParsePKCS1PublicKey"

both "certificate" "$F/rootfs-rsa.mender" valid "$K/cert.pem"
check_eq "certificate: openssl's public key of the certificate is rsa.pub" "$RSAFP" \
    "$(openssl x509 -in "$K/cert.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sum)"
xline "certificate: same fingerprint as the SPKI form, verified" \
    "key 1: RSA-2048 SHA256:$RSAFP (from -o verify_key=$K/cert.pem): verified"
differs "certificate" "$F/rootfs-rsa.mender" "$K/cert.pem" "failed to parse encoded public key"

# private keys are refused as verify keys
for pk in rsa.pem ec.pem ec-pkcs8.pem; do
    d=$(mktemp -d "$W/priv.XXXXXX")
    "$ARTIFACTFS" --status -o "verify_key=$K/$pk" "$F/rootfs-rsa.mender" >"$d/out" 2>"$d/err"
    rc=$?
    check_eq "private key $pk: --status exit code" 4 "$rc"
    check "private key $pk: --status error names the file" grep -qF "$K/$pk" "$d/err"
    check_eq "private key $pk: --status prints the verdict unreadable" unreadable "$(head -n 1 "$d/out")"
    check "private key $pk: --status: the reason names the file" grep -qF "reason: $K/$pk" "$d/out"
    mount_art "$F/rootfs-rsa.mender" "$d/mnt" -o "verify_key=$K/$pk" 2>/dev/null
    rc=$?
    if [ $rc -ne 0 ]; then
        pass "private key $pk: mount refused (exit $rc)"
        check_eq "private key $pk: mount error is one line" 1 "$(wc -l <"$T_MOUNT_ERR")"
        check "private key $pk: mount error names the file" grep -qF "$K/$pk" "$T_MOUNT_ERR"
        check_not "private key $pk: nothing mounted" mountpoint -q "$d/mnt"
    else
        fail "private key $pk: mount refused" "it mounted"
        umount_art "$d/mnt"
    fi
done

# unreadable key file, usage error
"$ARTIFACTFS" --status -o "verify_key=$W/no-such.pub" "$F/rootfs-rsa.mender" >/dev/null 2>&1
check_eq "missing key file: --status exit code" 4 "$?"
"$ARTIFACTFS" --status -o "verify_key=$K/garbage.pub" "$F/rootfs-rsa.mender" >/dev/null 2>&1
check_eq "garbage key file: --status exit code" 4 "$?"
"$ARTIFACTFS" --status "$W/no-such.mender" >/dev/null 2>&1
check_eq "missing artifact: --status exit code" 4 "$?"
"$ARTIFACTFS" --status >/dev/null 2>&1
check_eq "no artifact: --status exit code (usage)" 5 "$?"

# Ed25519 and P-384 public keys: unusable
for c in "ed:Ed25519" "ec384:P-384"; do
    kn=${c%%:*}
    label=${c#*:}
    both "$label key on RSA signature" "$F/rootfs-rsa.mender" invalid "$K/$kn.pub"
    line "$label: key 1 line says unusable key" "^key 1: .*SHA256:$(fp "$K/$kn.pub") \(from -o verify_key=$K/$kn.pub\): unusable key"
    line "$label: a reason names key 1" '^reason: .*key 1'
    agree "$label key on RSA signature" "$F/rootfs-rsa.mender" "$K/$kn.pub"
done
both "P-384 key on ECDSA signature" "$F/rootfs-ec.mender" invalid "$K/ec384.pub"
line "P-384 on ECDSA: unusable key" '^key 1: .*: unusable key'
agree "P-384 key on ECDSA signature" "$F/rootfs-ec.mender" "$K/ec384.pub"

# ---- wrong key, key rotation ---------------------------------------------------------------
both "wrong RSA key" "$F/rootfs-rsa.mender" invalid "$K/rsa-b.pub"
codes "wrong RSA key: the reason is that the signature does not verify" "reason sig-bad"
line "wrong RSA key: key 1 line" "^key 1: RSA-2048 SHA256:$(fp "$K/rsa-b.pub") .*: does not verify"
line "wrong RSA key: the reason says not made by this key" \
    '^reason: signature does not verify with key 1 \(RSA-2048\): not made by this key: .*signed with another key'
no_line "wrong RSA key: nothing about a different manifest" 'different manifest'
agree "wrong RSA key" "$F/rootfs-rsa.mender" "$K/rsa-b.pub"

both "wrong EC key" "$F/rootfs-ec.mender" invalid "$K/ec-b.pub"
codes "wrong EC key: the reason is that the signature does not verify" "reason sig-bad"
line "wrong EC key: key 1 line" '^key 1: ECDSA P-256 .*: does not verify'
line "wrong EC key: the reason says ECDSA cannot tell which, and what to check" \
    '^reason: .*with key 1 .*another key, or by this key over a different manifest \(ECDSA cannot tell which\); check whether the manifest changed'
agree "wrong EC key" "$F/rootfs-ec.mender" "$K/ec-b.pub"

both "rotation wrong,right" "$F/rootfs-rsa.mender" valid "$K/rsa-b.pub" "$K/rsa.pub"
line "rotation: key 1 does not verify" "^key 1: RSA-2048 SHA256:$(fp "$K/rsa-b.pub") \(from -o verify_key=$K/rsa-b.pub\): does not verify"
xline "rotation: key 2 verified" "key 2: RSA-2048 SHA256:$RSAFP (from -o verify_key=$K/rsa.pub): verified"
no_line "rotation: no reason lines" '^reason:'

both "rotation right,wrong" "$F/rootfs-rsa.mender" valid "$K/rsa.pub" "$K/rsa-b.pub"
xline "rotation right first: key 1 verified" "key 1: RSA-2048 SHA256:$RSAFP (from -o verify_key=$K/rsa.pub): verified"

both "rotation ec,rsa on RSA signature" "$F/rootfs-rsa.mender" valid "$K/ec.pub" "$K/rsa.pub"
line "rotation ec,rsa: key 1 algorithm mismatch" '^key 1: ECDSA P-256 .*: algorithm mismatch'
line "rotation ec,rsa: key 2 verified" '^key 2: RSA-2048 .*: verified$'

# several keys in one -o file: read as a Mender client reads it, the first
# block only (more in integrity.sh); a private key after a public key in one file
cat "$K/rsa-b.pub" "$K/rsa.pub" >"$K/two.pub"
both "two keys in one -o file" "$F/rootfs-rsa.mender" invalid "$K/two.pub"
line "two keys in one file: key 1 does not verify" "^key 1: RSA-2048 SHA256:$(fp "$K/rsa-b.pub") \(from -o verify_key=$K/two.pub\): does not verify"
no_line "two keys in one file: no key 2" '^key 2:'
agree "two keys in one -o file" "$F/rootfs-rsa.mender" "$K/two.pub"
cat "$K/rsa.pub" "$K/rsa.pem" >"$K/pub-priv.pem"
"$ARTIFACTFS" --status -o "verify_key=$K/pub-priv.pem" "$F/rootfs-rsa.mender" >/dev/null 2>&1
check_eq "public+private key file: --status refuses it (exit 4)" 4 "$?"

# ---- algorithm mismatch --------------------------------------------------------------------
both "RSA key on ECDSA signature" "$F/rootfs-ec.mender" invalid "$K/rsa.pub"
line "RSA key on ECDSA: algorithm mismatch" '^key 1: RSA-2048 .*: algorithm mismatch'
codes "RSA key on ECDSA: the reason is that the signature does not verify" "reason sig-bad"
agree "RSA key on ECDSA signature" "$F/rootfs-ec.mender" "$K/rsa.pub"
both "EC key on RSA signature" "$F/rootfs-rsa.mender" invalid "$K/ec.pub"
line "EC key on RSA: algorithm mismatch" '^key 1: ECDSA P-256 .*: algorithm mismatch'
codes "EC key on RSA: the reason is that the signature does not verify" "reason sig-bad"
agree "EC key on RSA signature" "$F/rootfs-rsa.mender" "$K/ec.pub"

# ---- signatures made by openssl over the manifest (spec §16) ----------------------------
X=$W/ext
mkdir -p "$X"
UNS=$F/rootfs-gzip.mender
tar -xOf "$UNS" manifest >"$X/manifest"

# RSA PKCS#1 v1.5
openssl dgst -sha256 -sign "$K/rsa.pem" "$X/manifest" | base64 -w0 >"$X/rsa.sig"
put_sig "$UNS" "$X/rsa.sig" "$X/ext-rsa.mender"
check_eq "ext-rsa: member order" "version manifest manifest.sig header.tar.gz data/0000.tar.gz" \
    "$(tar -tf "$X/ext-rsa.mender" | tr '\n' ' ' | sed 's/ $//')"
both "openssl RSA PKCS#1 v1.5" "$X/ext-rsa.mender" valid "$K/rsa.pub"
agree "openssl RSA PKCS#1 v1.5" "$X/ext-rsa.mender" "$K/rsa.pub"

# ECDSA DER
openssl dgst -sha256 -sign "$K/ec.pem" -out "$X/sig.der" "$X/manifest"
base64 -w0 "$X/sig.der" >"$X/der.sig"
derlen=$(wc -c <"$X/sig.der")
put_sig "$UNS" "$X/der.sig" "$X/ext-der.mender"
both "openssl ECDSA DER" "$X/ext-der.mender" valid "$K/ec.pub"
line "ECDSA DER: signature line says DER, $derlen bytes" "^signature: ECDSA P-256.*DER.*$derlen bytes"
codes "ECDSA DER: the warning is about DER" "warning sig-der"
differs "ECDSA DER" "$X/ext-der.mender" "$K/ec.pub" "invalid ecdsa key size: $derlen"
both "openssl ECDSA DER, wrong EC key" "$X/ext-der.mender" invalid "$K/ec-b.pub"
line "ECDSA DER wrong key: does not verify" '^key 1: ECDSA P-256 .*: does not verify'

# ECDSA raw r||s, made from the DER signature
for h in $(openssl asn1parse -inform DER -in "$X/sig.der" | awk -F: '/INTEGER/{print $NF}'); do
    printf '%064s' "$h" | tr ' ' 0 | tail -c 64
done | xxd -r -p >"$X/sig.raw"
check_eq "raw r||s is 64 bytes" 64 "$(wc -c <"$X/sig.raw")"
base64 -w0 "$X/sig.raw" >"$X/raw.sig"
put_sig "$UNS" "$X/raw.sig" "$X/ext-raw.mender"
both "openssl ECDSA raw r||s" "$X/ext-raw.mender" valid "$K/ec.pub"
xline "ECDSA raw: signature line" "signature: ECDSA P-256, raw r||s, 64 bytes (88 bytes base64)"
codes "ECDSA raw: no reason, no warning" ""
check "ECDSA raw: mender-artifact validate -k ec.pub accepts it" \
    bash -c '"$1" validate -k "$2" "$3" 2>&1 | grep -q "validated successfully"' _ "$MA" "$K/ec.pub" "$X/ext-raw.mender"
agree "openssl ECDSA raw r||s" "$X/ext-raw.mender" "$K/ec.pub"

# RSA-PSS
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sign "$K/rsa.pem" "$X/manifest" | base64 -w0 >"$X/pss.sig"
put_sig "$UNS" "$X/pss.sig" "$X/ext-pss.mender"
both "openssl RSA-PSS" "$X/ext-pss.mender" invalid "$K/rsa.pub"
line "RSA-PSS: key 1 line says RSA-PSS padding" '^key 1: RSA-2048 .*: wrong padding \(RSA-PSS\)'
codes "RSA-PSS: the reason is that the signature does not verify" "reason sig-bad"
agree "openssl RSA-PSS" "$X/ext-pss.mender" "$K/rsa.pub"

# base64 garbage
printf '!!!notbase64' >"$X/garbage.sig"
put_sig "$UNS" "$X/garbage.sig" "$X/ext-garbage.mender"
both "base64 garbage" "$X/ext-garbage.mender" invalid "$K/rsa.pub"
codes "base64 garbage: the reason is base64" "reason sig-not-base64"
line "base64 garbage: the reason gives byte 0" '^reason: .*byte 0([^0-9]|$)'
xline "base64 garbage: signature line" "signature: not base64 (12 bytes)"
agree "base64 garbage" "$X/ext-garbage.mender" "$K/rsa.pub"
# no key: a client without verify keys never decodes the signature, so the
# design's "unverified" (signed, no key, checksums match) applies
both "base64 garbage, no key" "$X/ext-garbage.mender" unverified
xline "base64 garbage, no key: signature line" "signature: not base64 (12 bytes)"

# ---- unsigned / no key -----------------------------------------------------------------------
both "unsigned with key" "$UNS" invalid "$K/rsa.pub"
codes "unsigned with key: the reason is that it is not signed" "reason unsigned-with-keys"
xline "unsigned with key: signature none" "signature: none"
check_not "unsigned with key: --status gives no hint to write control/sign-key" \
    grep -q 'control/sign-key' "$R_ST"
check "unsigned with key: the mount says how to sign it" \
    grep -q '^reason: the artifact is not signed, .*; sign it (write a private key to control/sign-key)$' "$R_MNT"
agree "unsigned with key" "$UNS" "$K/rsa.pub"
check "unsigned with key: mender-artifact says missing signature" grep -q 'missing signature' <<<"$MA_OUT"
both "unsigned, no key" "$UNS" unsigned
no_line "unsigned, no key: no reason lines" '^reason:'
both "signed, no key" "$F/rootfs-rsa.mender" unverified
codes "signed, no key: the warning is that no key checked it" "warning not-checked"
check_not "signed, no key: mender-artifact validate (no -k) fails too" \
    bash -c '"$1" validate "$2" 2>&1 | grep -q "validated successfully"' _ "$MA" "$F/rootfs-rsa.mender"

# ---- tampers of spec §16 (on the RSA-signed fixture, with the right key) ------------------
SRC=$F/rootfs-rsa.mender
ORIG_DATA_SUM=$(tar -xOf "$SRC" data/0000.tar.gz | gzip -dc | tar -xOf - rootfs.ext4 | sum)
ORIG_HDR_SUM=$(tar -xOf "$SRC" header.tar.gz | sum)
ORIG_VER_SUM=$(tar -xOf "$SRC" version | sum)
check "manifest lists the data sum" grep -qx "$ORIG_DATA_SUM  data/0000/rootfs.ext4" <(tar -xOf "$SRC" manifest)
check "manifest lists the header sum" grep -qx "$ORIG_HDR_SUM  header.tar.gz" <(tar -xOf "$SRC" manifest)
check "manifest lists the version sum" grep -qx "$ORIG_VER_SUM  version" <(tar -xOf "$SRC" manifest)

# payload byte
w=$(mktemp -d "$W/tp.XXXXXX"); mkdir "$w/o"; tar -xf "$SRC" -C "$w/o"
gzip -dc "$w/o/data/0000.tar.gz" >"$w/data.tar"
flip_in_tar "$w/data.tar" rootfs.ext4 1000
gzip -n -c "$w/data.tar" >"$w/o/data/0000.tar.gz"
NEW=$(tar -xOf "$w/data.tar" rootfs.ext4 | sum)
check_not "payload tamper: sum changed" test "$NEW" = "$ORIG_DATA_SUM"
repack "$w/o" "$SRC" "$w/payload.mender"
both "payload tamper" "$w/payload.mender" invalid "$K/rsa.pub"
codes "payload tamper: the reason is a checksum" "reason checksum"
line "payload tamper: reason names data/0000/rootfs.ext4" '^reason: .*data/0000/rootfs\.ext4'
line "payload tamper: checksum line has expected/actual" \
    "^checksum data/0000/rootfs\.ext4: MISMATCH: expected $ORIG_DATA_SUM, actual $NEW; "
xline "payload tamper: header ok" "checksum header.tar.gz: ok"
xline "payload tamper: version ok" "checksum version: ok"
line "payload tamper: signature still verifies" '^key 1: .*: verified$'
agree "payload tamper" "$w/payload.mender" "$K/rsa.pub"
check "payload tamper: mender-artifact names the same sums" \
    grep -q "expected: \[$ORIG_DATA_SUM\]; actual: \[$NEW\]" <<<"$MA_OUT"

# header (manifest unchanged)
w=$(mktemp -d "$W/th.XXXXXX"); mkdir "$w/o"; tar -xf "$SRC" -C "$w/o"
gzip -dc "$w/o/header.tar.gz" >"$w/header.tar"
python3 - "$w/header.tar" <<'EOF'
import sys, tarfile, io, copy
path = sys.argv[1]
with tarfile.open(path, 'r:') as t:
    ms = [(copy.copy(m), t.extractfile(m).read() if m.isreg() else None) for m in t.getmembers()]
with tarfile.open(path, 'w:', format=tarfile.USTAR_FORMAT) as t:
    for m, data in ms:
        if m.name == 'header-info':
            new = data.replace(b'"rel-1"', b'"rel-X"')
            assert new != data, 'artifact name not found in header-info'
            data = new
        t.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
gzip -n -c "$w/header.tar" >"$w/o/header.tar.gz"
NEWH=$(sum "$w/o/header.tar.gz")
check_not "header tamper: sum changed" test "$NEWH" = "$ORIG_HDR_SUM"
repack "$w/o" "$SRC" "$w/header.mender"
both "header tamper" "$w/header.mender" invalid "$K/rsa.pub"
codes "header tamper: the reason is a checksum" "reason checksum"
line "header tamper: reason names header.tar.gz" '^reason: .*header\.tar\.gz'
line "header tamper: checksum line has expected/actual" \
    "^checksum header\.tar\.gz: MISMATCH: expected $ORIG_HDR_SUM, actual $NEWH; "
line "header tamper: signature still verifies" '^key 1: .*: verified$'
agree "header tamper" "$w/header.mender" "$K/rsa.pub"

# header + manifest hash updated: only the signature breaks
sed -i "s/^$ORIG_HDR_SUM  header.tar.gz\$/$NEWH  header.tar.gz/" "$w/o/manifest"
check "header+manifest: manifest now has the new sum" grep -qx "$NEWH  header.tar.gz" "$w/o/manifest"
repack "$w/o" "$SRC" "$w/header-manifest.mender"
both "header+manifest tamper" "$w/header-manifest.mender" invalid "$K/rsa.pub"
xline "header+manifest: header checksum ok" "checksum header.tar.gz: ok"
no_line "header+manifest: no checksum mismatch" '^checksum .*MISMATCH'
line "header+manifest: key 1 does not verify" '^key 1: .*: does not verify'
codes "header+manifest: the signature is the only reason" "reason sig-bad"
ORIG_MANIFEST_SUM=$(tar -xOf "$SRC" manifest | sha256sum | cut -d' ' -f1)
NEW_MANIFEST_SUM=$(sha256sum < "$w/o/manifest" | cut -d' ' -f1)
line "header+manifest: RSA says made by this key over a different manifest, and what it signed" \
    "^reason: signature does not verify with key 1 \\(RSA-2048\\): made by this key, over a different manifest: it signed SHA-256 $ORIG_MANIFEST_SUM, the manifest's is $NEW_MANIFEST_SUM"
no_line "header+manifest: nothing about another key" 'not made by this key'
agree "header+manifest tamper" "$w/header-manifest.mender" "$K/rsa.pub"
check "header+manifest: mender-artifact says crypto/rsa" grep -q 'crypto/rsa: verification error' <<<"$MA_OUT"

# manifest: one hex digit of the data sum flipped
w=$(mktemp -d "$W/tm.XXXXXX"); mkdir "$w/o"; tar -xf "$SRC" -C "$w/o"
first=${ORIG_DATA_SUM:0:1}
[ "$first" = 0 ] && repl=1 || repl=0
FLIPPED=$repl${ORIG_DATA_SUM:1}
sed -i "s/^$ORIG_DATA_SUM  /$FLIPPED  /" "$w/o/manifest"
check "manifest tamper: manifest has the flipped sum" grep -qx "$FLIPPED  data/0000/rootfs.ext4" "$w/o/manifest"
repack "$w/o" "$SRC" "$w/manifest.mender"
both "manifest tamper" "$w/manifest.mender" invalid "$K/rsa.pub"
codes "manifest tamper: the reasons are the signature and a checksum" "reason sig-bad,reason checksum"
line "manifest tamper: reason names data/0000/rootfs.ext4" '^reason: .*data/0000/rootfs\.ext4'
line "manifest tamper: checksum line has expected/actual" \
    "^checksum data/0000/rootfs\.ext4: MISMATCH: expected $FLIPPED, actual $ORIG_DATA_SUM; "
line "manifest tamper: key 1 does not verify" '^key 1: .*: does not verify'
agree "manifest tamper" "$w/manifest.mender" "$K/rsa.pub"

# version: a space appended
w=$(mktemp -d "$W/tv.XXXXXX"); mkdir "$w/o"; tar -xf "$SRC" -C "$w/o"
printf ' ' >>"$w/o/version"
NEWV=$(sum "$w/o/version")
repack "$w/o" "$SRC" "$w/version.mender"
both "version tamper" "$w/version.mender" invalid "$K/rsa.pub"
codes "version tamper: the reason is a checksum" "reason checksum"
line "version tamper: reason names version" '^reason: .*version'
line "version tamper: checksum line has expected/actual" \
    "^checksum version: MISMATCH: expected $ORIG_VER_SUM, actual $NEWV; "
agree "version tamper" "$w/version.mender" "$K/rsa.pub"

# the same tamper without any key: invalid, not unverified
both "payload tamper, no key" "$W/tp."*/payload.mender invalid

# ---- live behaviour on a mount -------------------------------------------------------------
L=$W/live
mkdir -p "$L"
cp "$F/rootfs-rsa.mender" "$L/art.mender"
m=$L/mnt
if mount_art "$L/art.mender" "$m" 2>/dev/null; then
    pass "live: mounts"
    st=$m/signature-status
    check_eq "live: no key: unverified" unverified "$(head -n 1 "$st")"
    check_eq "live: control/verify-key empty" "" "$(cat "$m/control/verify-key")"
    check "live: cp rsa.pub to control/verify-key" cp "$K/rsa.pub" "$m/control/verify-key"
    check_eq "live: now valid without remount" valid "$(head -n 1 "$st")"
    check "live: status key line from control/verify-key" \
        grep -qxF "key 1: RSA-2048 SHA256:$RSAFP (from control/verify-key): verified" "$st"
    check_eq "live: control/verify-key lists the key" \
        "RSA-2048 SHA256:$RSAFP (from control/verify-key)" "$(cat "$m/control/verify-key")"
    check "live: cp wrong key replaces it" cp "$K/rsa-b.pub" "$m/control/verify-key"
    check_eq "live: wrong key: invalid" invalid "$(head -n 1 "$st")"
    check_eq "live: control/verify-key lists only the wrong key" \
        "RSA-2048 SHA256:$(fp "$K/rsa-b.pub") (from control/verify-key)" "$(cat "$m/control/verify-key")"
    cat "$K/rsa-b.pub" "$K/rsa.pub" >"$L/two.pub"
    check "live: write two keys" cp "$L/two.pub" "$m/control/verify-key"
    check_eq "live: two keys: valid" valid "$(head -n 1 "$st")"
    check_eq "live: control/verify-key lists two keys" 2 "$(grep -c 'SHA256:' "$m/control/verify-key")"
    check "live: two keys: key 2 verified" grep -qE '^key 2: RSA-2048 .*\(from control/verify-key\): verified$' "$st"
    check "live: empty control/verify-key" bash -c ': > "$1"' _ "$m/control/verify-key"
    check_eq "live: back to unverified" unverified "$(head -n 1 "$st")"
    check_eq "live: control/verify-key empty again" "" "$(cat "$m/control/verify-key")"
    check_not "live: cp garbage to control/verify-key fails" cp "$K/garbage.pub" "$m/control/verify-key"
    cp "$K/garbage.pub" "$m/control/verify-key" 2>"$L/cp.err"
    check "live: the failure is EINVAL at close" grep -q 'Invalid argument' "$L/cp.err"
    check "live: signature-status has a control: line" grep -q '^control: ' "$st"
    check_eq "live: still unverified after the bad key" unverified "$(head -n 1 "$st")"
    check_not "live: cp a private key to control/verify-key fails" cp "$K/rsa.pem" "$m/control/verify-key"
    check "live: control: line says private key" grep -q '^control: .*private key' "$st"
    check "live: good key after a bad one" cp "$K/rsa.pub" "$m/control/verify-key"
    check_eq "live: valid again" valid "$(head -n 1 "$st")"
    check_not "live: control: line gone after a good write" grep -q '^control: ' "$st"
    check_not "live: garbage refused while a control key is set" cp "$K/garbage.pub" "$m/control/verify-key"
    check_eq "live: a refused write leaves no control key, as for sign-key" \
        "" "$(cat "$m/control/verify-key")"
    check_eq "live: unverified after the refused write" unverified "$(head -n 1 "$st")"
    # a public key followed by a private key: the private key must not pass silently
    cat "$K/rsa-b.pub" "$K/rsa.pem" >"$L/pub-priv.pem"
    check_not "live: public+private key file refused by control/verify-key" \
        cp "$L/pub-priv.pem" "$m/control/verify-key"
    check "live: reset to rsa.pub" cp "$K/rsa.pub" "$m/control/verify-key"
    # the artifact file changes under the mount
    check_eq "live: valid before the artifact changes" valid "$(head -n 1 "$st")"
    check "live: modify artifact in place" \
        bash -c 'printf x | dd of="$1" bs=1 seek=100 conv=notrunc status=none' _ "$L/art.mender"
    check_not "live: the artifact bytes really changed" cmp -s "$L/art.mender" "$F/rootfs-rsa.mender"
    check_eq "live: changed on disk: invalid" invalid "$(head -n 1 "$st")"
    check "live: reason says changed on disk" grep -q '^reason: .*changed on disk' "$st"
    umount_art "$m" || fail "live: unmount"
else
    fail "live: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# -o verify_key and control/verify-key together
m=$L/mnt2
if mount_art "$F/rootfs-rsa.mender" "$m" -o "verify_key=$K/rsa-b.pub" 2>/dev/null; then
    check_eq "live2: wrong -o key: invalid" invalid "$(head -n 1 "$m/signature-status")"
    check "live2: cp right key" cp "$K/rsa.pub" "$m/control/verify-key"
    check_eq "live2: -o wrong + control right: valid" valid "$(head -n 1 "$m/signature-status")"
    check "live2: key 1 is the -o key" grep -qE "^key 1: .*\(from -o verify_key=$K/rsa-b.pub\): does not verify" "$m/signature-status"
    check "live2: key 2 is the control key" grep -qE '^key 2: .*\(from control/verify-key\): verified$' "$m/signature-status"
    check "live2: empty control keys" bash -c ': > "$1"' _ "$m/control/verify-key"
    check_eq "live2: the -o key stays: invalid" invalid "$(head -n 1 "$m/signature-status")"
    umount_art "$m" || fail "live2: unmount"
else
    fail "live2: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# caching: the second read is instant; progress says done
m=$L/mnt3
if mount_art "$F/rootfs-rsa.mender" "$m" -o "verify_key=$K/rsa.pub" 2>/dev/null; then
    echo "info: control/progress before the first read: $(head -n 1 "$m/control/progress")"
    t0=$(now_ms); v1=$(head -n 1 "$m/signature-status"); t1=$(now_ms)
    v2=$(head -n 1 "$m/signature-status"); t2=$(now_ms)
    echo "info: signature-status first read $((t1 - t0)) ms, second read $((t2 - t1)) ms"
    check_eq "timing: first read valid" valid "$v1"
    check_eq "timing: second read valid" valid "$v2"
    check "timing: second read under 1 s" test $((t2 - t1)) -lt 1000
    check "progress: done after the first read" grep -q '^done' "$m/control/progress"
    umount_art "$m" || fail "timing: unmount"
else
    fail "timing: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# a path of about 1000 bytes: the reason shortens it, and its advice survives
long=$W/long
for i in 1 2 3 4; do long=$long/$(printf 'd%.0s' $(seq 240)); done
mkdir -p "$long"
"$ARTIFACTFS" --status "$long" >"$W/long.out" 2>"$W/long.err"
check_eq "long path: --status exit code" 4 "$?"
reason=$(sed -n 's/^reason: //p' "$W/long.out")
check "long path: the reason keeps its advice at the end" \
    grep -q 'is not a regular file; give the path of a .mender file$' <<< "$reason"
check "long path: the reason names the path's start and end" \
    grep -qF "$W/long/ddd" <<< "$reason"
check "long path: the path is shortened with ..." grep -q 'd\.\.\.d' <<< "$reason"
check "long path: the reason is under 300 bytes" test "${#reason}" -lt 300
check_eq "long path: the verdict" unreadable "$(head -n 1 "$W/long.out")"
check "long path: stderr keeps the advice too" grep -q 'give the path of a .mender file$' "$W/long.err"

[ -n "${KEEP_REPORTS:-}" ] && cp -r "$W" "$KEEP_REPORTS"
finish
