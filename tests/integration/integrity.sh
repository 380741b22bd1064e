#!/usr/bin/env bash
# integrity.sh — what `valid` must not cover (issue 13): compressed streams
# whose own checks fail or that carry bytes after their end, JSON members with
# bytes after their value, and verify keys that prove nothing or that a
# Mender client would read otherwise.  Artifacts are written by mender-artifact
# 3.9 (the fixtures) and altered here; keys are made by openssl or built byte
# by byte.  Expected values are computed here, from the altered bytes.
. "$(dirname "$0")/lib.sh"

F=$(cd "$FIXTURES" && pwd)
W=$(workdir)

. "$(dirname "$0")/report.sh"

K=$W/keys
A=$W/art
mkdir -p "$K" "$A"
cp "$F/rsa.pem" "$F/rsa.pub" "$F/ec.pem" "$F/ec.pub" "$K/"

# unpack ART DIR: the members of ART in DIR (emptied first)
unpack() { rm -rf "$2"; mkdir -p "$2"; tar -xf "$1" -C "$2"; }

# py: run python3 with the script on stdin and the arguments given
py() { python3 - "$@"; }

# ---- gzip: trailer (CRC32, ISIZE) and bytes after the stream -----------------------
SRC=$F/rootfs-rsa.mender
G=$A/gzip
unpack "$SRC" "$G/o"
cp "$G/o/data/0000.tar.gz" "$G/orig.gz"
ZLEN=$(stat -c %s "$G/orig.gz")

# change_gz HOW OUT: data/0000.tar.gz altered (crc: a byte of the CRC32;
# isize: a byte of ISIZE; tail: 24 bytes appended; zeros: 512 zero bytes
# appended; split: the same tar as two gzip members), repacked as OUT
change_gz() {
    py "$G/orig.gz" "$G/o/data/0000.tar.gz" "$1" <<'EOF'
import sys, gzip, zlib
src, dst, how = sys.argv[1:]
z = bytearray(open(src, 'rb').read())
if how == 'crc':
    z[-8] ^= 0xff
elif how == 'isize':
    z[-4] ^= 0x01
elif how == 'tail':
    z += b'GARBAGE!' * 3
elif how == 'zeros':
    z += bytes(512)
elif how == 'split':
    tar = gzip.decompress(bytes(z))
    half = len(tar) // 2
    z = gzip.compress(tar[:half], mtime=0) + gzip.compress(tar[half:], mtime=0)
open(dst, 'wb').write(z)
EOF
    repack "$G/o" "$SRC" "$2"
}

# the trailer as written, and the data's CRC32 and size, by python's zlib
read -r TRAILER_CRC TRAILER_ISIZE DATA_CRC DATA_LEN < <(py "$G/orig.gz" <<'EOF'
import sys, gzip, zlib, struct
z = open(sys.argv[1], 'rb').read()
crc, isize = struct.unpack('<II', z[-8:])
data = gzip.decompress(z)
print('%08x %d %08x %d' % (crc, isize, zlib.crc32(data), len(data)))
EOF
)
check_eq "gzip fixture: the trailer's CRC32 is the data's" "$DATA_CRC" "$TRAILER_CRC"
check_eq "gzip fixture: the trailer's ISIZE is the data's size" "$DATA_LEN" "$TRAILER_ISIZE"

change_gz crc "$A/crc.mender"
BAD_CRC=$(printf '%08x' $((0x$TRAILER_CRC ^ 0xff)))
both "gzip CRC32" "$A/crc.mender" invalid "$K/rsa.pub"
codes "gzip CRC32: the reason is a check mismatch" "reason check-mismatch"
line "gzip CRC32: the reason names the member and both values" \
    "^reason: data/0000\.tar\.gz: gzip member 1 .*CRC32 expected $BAD_CRC \(trailer\), actual $DATA_CRC \(data\)"
no_line "gzip CRC32: ISIZE is not blamed" '^reason: .*ISIZE'
xline "gzip CRC32: the tar content is intact" "checksum data/0000/rootfs.ext4: ok"
line "gzip CRC32: the signature verifies" '^key 1: .*: verified$'
stricter "gzip CRC32" "$A/crc.mender" "$K/rsa.pub"

change_gz isize "$A/isize.mender"
both "gzip ISIZE" "$A/isize.mender" invalid "$K/rsa.pub"
codes "gzip ISIZE: the reason is a check mismatch" "reason check-mismatch"
line "gzip ISIZE: the reason names the member and both values" \
    "^reason: data/0000\.tar\.gz: gzip member 1 .*ISIZE expected $((DATA_LEN ^ 1)) \(trailer\), actual $DATA_LEN "
xline "gzip ISIZE: the tar content is intact" "checksum data/0000/rootfs.ext4: ok"
stricter "gzip ISIZE" "$A/isize.mender" "$K/rsa.pub"

change_gz tail "$A/gztail.mender"
both "bytes after the gzip stream" "$A/gztail.mender" invalid "$K/rsa.pub"
codes "bytes after the gzip stream: the reason is trailing bytes" "reason trailing-bytes"
line "bytes after the gzip stream: offset and length" \
    "^reason: data/0000\.tar\.gz: 24 bytes at offset $ZLEN follow the end of the gzip data"
stricter "bytes after the gzip stream" "$A/gztail.mender" "$K/rsa.pub"

change_gz zeros "$A/gzzeros.mender"
both "zeros after the gzip stream" "$A/gzzeros.mender" invalid "$K/rsa.pub"
codes "zeros after the gzip stream: the reason is trailing bytes" "reason trailing-bytes"
line "zeros after the gzip stream: offset and length" \
    "^reason: data/0000\.tar\.gz: 512 bytes at offset $ZLEN follow the end of the gzip data"

change_gz split "$A/gzsplit.mender"
check_eq "two gzip members: gzip reads them as one" "$(gzip -dc "$G/orig.gz" | sum)" \
    "$(tar -xOf "$A/gzsplit.mender" data/0000.tar.gz | gzip -dc | sum)"
both "two gzip members" "$A/gzsplit.mender" valid "$K/rsa.pub"
no_line "two gzip members: no reason" '^reason:'
agree "two gzip members" "$A/gzsplit.mender" "$K/rsa.pub"

# the header member is read whole at mount: the same rules hold for it
unpack "$SRC" "$G/h"
printf 'JUNK' >>"$G/h/header.tar.gz"
HLEN=$(($(stat -c %s "$G/h/header.tar.gz") - 4))
reseal "$G/h" "$K/rsa.pem"
repack "$G/h" "$SRC" "$A/hdrtail.mender"
both "bytes after the header's gzip stream (manifest re-signed)" "$A/hdrtail.mender" invalid "$K/rsa.pub"
codes "header tail: the reason is trailing bytes" "reason trailing-bytes"
line "header tail: offset and length" \
    "^reason: header\.tar\.gz: .*4 bytes at offset $HLEN follow the end of the gzip data"
xline "header tail: its checksum matches (re-signed)" "checksum header.tar.gz: ok"

# a mount shows the same verdict after a full read of the payload file
m=$A/mnt-crc
if mount_art "$A/crc.mender" "$m" -o "verify_key=$K/rsa.pub" 2>/dev/null; then
    check_eq "gzip CRC32, mounted: cat of the payload file still gives its bytes" \
        "$(tar -xOf "$SRC" data/0000.tar.gz | gzip -dc | tar -xOf - rootfs.ext4 | sum)" \
        "$(sum "$m/data/0000/rootfs.ext4")"
    check_eq "gzip CRC32, mounted: invalid" invalid "$(head -n 1 "$m/signature-status")"
    umount_art "$m" || fail "gzip CRC32, mounted: unmount"
else
    fail "gzip CRC32: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# ---- xz and zstd: the checks their streams carry, and bytes after them -------------

# check_mounted_read NAME ART ORIG MEMBER REASON: on a mount of ART, after a full
# read of the payload file, signature-status gives the reason (ERE REASON).
# The read itself fails, with the reason in the daemon's log, when the
# decoder meets the check before it hands out the file's last bytes; when it
# does not, the read gives the file's bytes (they are intact; ORIG is the
# member MEMBER as written, before the change).
check_mounted_read() {
    local name=$1 art=$2 orig=$3 member=$4 reason=$5 m=$A/mnt-$RANDOM
    if ! mount_art "$art" "$m" 2>/dev/null; then
        fail "$name: mounts" "$(cat "$T_MOUNT_ERR")"
        return
    fi
    if cat "$m/data/0000/rootfs.ext4" >"$A/read.out" 2>/dev/null; then
        check_eq "$name, mounted: the read that ends before the check gives the file's bytes" \
            "$(decomp "$member" <"$orig" | tar -xOf - rootfs.ext4 | sum)" "$(sum "$A/read.out")"
    else
        grep -qE "data/0000/rootfs\.ext4: .*$reason" "${T_ERRS[$m]}" &&
            pass "$name, mounted: the failed read logs the reason" ||
            fail "$name, mounted: the failed read logs the reason" "$(cat "${T_ERRS[$m]}")"
    fi
    grep -qE "^reason: .*$reason" "$m/signature-status" &&
        pass "$name, mounted: after the read, signature-status gives the reason" ||
        fail "$name, mounted: after the read, signature-status gives the reason" \
            "$(grep '^reason' "$m/signature-status")"
    umount_art "$m" || fail "$name, mounted: unmount"
}
for c in xz:rootfs-xz.mender:0000.tar.xz zst:rootfs-zstd.mender:0000.tar.zst; do
    kind=${c%%:*}
    rest=${c#*:}
    art=$F/${rest%%:*}
    member=data/${rest#*:}
    X=$A/$kind
    unpack "$art" "$X/o"
    cp "$X/o/$member" "$X/orig"
    LEN=$(stat -c %s "$X/orig")
    both "$kind fixture" "$art" unsigned

    # the stored check: xz, the last block's CRC64 (before the index, whose
    # size the footer gives); zstd, the frame's last 4 bytes.  One bit of it
    # changes; printed: the value now stored, and the data's, computed here
    # (xz: CRC64 from its polynomial; zstd: below, by xxhsum)
    read -r STORED ACTUAL < <(py "$X/orig" "$X/o/$member" "$kind" <<'EOF2'
import sys, struct, lzma
src, dst, kind = sys.argv[1:]
z = bytearray(open(src, 'rb').read())
if kind == 'xz':
    # footer: CRC32, Backward Size, Stream Flags (0, check type), 'YZ'
    assert z[-2:] == b'YZ' and z[-4] == 0 and (z[-3] & 0x0f) == 4, 'xz with CRC64'
    index = (struct.unpack('<I', z[-8:-4])[0] + 1) * 4
    at = len(z) - 12 - index - 8
    data = lzma.decompress(bytes(z))
    z[at] ^= 1
    # CRC-64/XZ (ECMA-182 polynomial, reflected)
    table = []
    for n in range(256):
        for _ in range(8):
            n = (n >> 1) ^ (0xc96c5795d7870f42 if n & 1 else 0)
        table.append(n)
    crc = 0xffffffffffffffff
    for b in data:
        crc = table[(crc ^ b) & 0xff] ^ (crc >> 8)
    print('%016x %016x' % (struct.unpack('<Q', z[at:at + 8])[0], crc ^ 0xffffffffffffffff))
else:
    assert z[4] & 0x04, 'zstd frame with a content checksum'
    z[-1] ^= 1
    print('%08x -' % struct.unpack('<I', z[-4:])[0])
open(dst, 'wb').write(z)
EOF2
)
    repack "$X/o" "$art" "$A/$kind-check.mender"
    check_not "$kind check changed: $kind itself refuses it" bash -c \
        "tar -xOf '$A/$kind-check.mender' $member | ${kind/zst/zstd} -dc -q >/dev/null 2>&1"
    both "$kind check" "$A/$kind-check.mender" invalid
    has_codes "$kind check: a reason is a check mismatch" "reason check-mismatch"
    if [ "$kind" = xz ]; then
        read -r BLOCK_AT CHECKVAL < <(xz -lvv --robot "$X/orig" | awk '$1 == "block" { print $5, $11 }')
        check_eq "xz: the block's check as xz -lvv reads it is the data's CRC64" "$ACTUAL" "$CHECKVAL"
        REASON="xz stream 1 \(from byte 0\), block 1 \(from byte $BLOCK_AT\) does not match its CRC64: expected $STORED \(stored\), actual $ACTUAL \(data\); rebuild the artifact$"
    else
        ACTUAL=$(zstd -dc -q "$X/orig" | xxhsum -H64 - | cut -d' ' -f1)
        REASON="zstd frame 1 \(from byte 0\): its content checksum does not match its data: expected $STORED \(stored\), actual ${ACTUAL:8} \(data, the low 32 bits of XXH64 $ACTUAL\); rebuild the artifact$"
    fi
    line "$kind check: the reason names the member and gives both values" \
        "^reason: data/0000(\.tar\.${kind})?: .*$REASON"
    check_mounted_read "$kind check" "$A/$kind-check.mender" "$X/orig" "$member" "$REASON"

    if [ "$kind" = xz ]; then
        # an invalid LZMA2 control byte where the block's data begins: corrupt
        # data, not a check mismatch, so no values
        py "$X/orig" "$X/o/$member" "$BLOCK_AT" <<'EOF2'
import sys
src, dst, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
z = bytearray(open(src, 'rb').read())
z[block + (z[block] + 1) * 4] = 0x03    # after the header, whose size its first byte gives
open(dst, 'wb').write(z)
EOF2
        repack "$X/o" "$art" "$A/xz-data.mender"
        both "xz data" "$A/xz-data.mender" invalid
        has_codes "xz data: a reason is corrupt data" "reason corrupt"
        check_not "xz data: no reason is a check mismatch" grep -qx "reason check-mismatch" "$R_CODES"
        line "xz data: the reason names the stream, without values" \
            "^reason: data/0000(\.tar\.xz)?: .*xz stream 1 \(from byte 0\): [^(]*$"
    fi

    cp "$X/orig" "$X/o/$member"
    printf 'JUNKJUNK' >>"$X/o/$member"
    repack "$X/o" "$art" "$A/$kind-tail.mender"
    both "bytes after the $kind data" "$A/$kind-tail.mender" invalid
    codes "bytes after the $kind data: the reason is trailing bytes" "reason trailing-bytes"
    line "bytes after the $kind data: offset and length" \
        "^reason: $member: 8 bytes at offset $LEN follow the end of the ${kind/zst/zstd} data"

    # what the formats allow: xz Stream Padding, a second zstd frame
    cp "$X/orig" "$X/o/$member"
    if [ "$kind" = xz ]; then
        head -c 8 /dev/zero >>"$X/o/$member"
    else
        head -c 1024 /dev/zero | zstd -q -c >>"$X/o/$member"
    fi
    check "$kind: its own tool reads the member" bash -c \
        "${kind/zst/zstd} -dc -q '$X/o/$member' >/dev/null"
    repack "$X/o" "$art" "$A/$kind-allowed.mender"
    both "$kind padding or second frame" "$A/$kind-allowed.mender" unsigned
done

# ---- JSON members: one value, then only white space ---------------------------------
J=$A/json
unpack "$SRC" "$J/v"
printf '{"format":"mender","version":3}xyz' >"$J/v/version"
reseal "$J/v" "$K/rsa.pem"
repack "$J/v" "$SRC" "$A/version-garbage.mender"
both "version + garbage (re-signed)" "$A/version-garbage.mender" invalid "$K/rsa.pub"
codes "version + garbage: the reason is bytes after the JSON" "reason json-trailing"
line "version + garbage: the reason gives the offset" '^reason: version: has 3 bytes from byte 31 on'
line "version + garbage: the signature verifies" '^key 1: .*: verified$'
stricter "version + garbage" "$A/version-garbage.mender" "$K/rsa.pub"

unpack "$SRC" "$J/v2"
printf '{"format":"mender","version":3}\n \t\r\n' >"$J/v2/version"
reseal "$J/v2" "$K/rsa.pem"
repack "$J/v2" "$SRC" "$A/version-space.mender"
both "version + white space (re-signed)" "$A/version-space.mender" valid "$K/rsa.pub"

# edit_header ART MEMBER FILE SUFFIX OUT [KEY]: FILE inside MEMBER (a .tar.gz)
# gets SUFFIX appended; sums updated, manifest re-signed with KEY
edit_header() {
    local art=$1 member=$2 file=$3 suffix=$4 out=$5 key=${6:-} d
    d=$(mktemp -d "$J/h.XXXXXX")
    unpack "$art" "$d/o"
    gzip -dc "$d/o/$member" >"$d/h.tar"
    py "$d/h.tar" "$file" "$suffix" <<'EOF'
import sys, tarfile, io, copy
path, name, suffix = sys.argv[1], sys.argv[2], sys.argv[3].encode()
with tarfile.open(path, 'r:') as t:
    ms = [(copy.copy(m), t.extractfile(m).read() if m.isreg() else None) for m in t.getmembers()]
assert name in [m.name for m, _ in ms], name + ' not in the header'
with tarfile.open(path, 'w:', format=tarfile.USTAR_FORMAT) as t:
    for m, data in ms:
        if m.name == name:
            data += suffix
            m.size = len(data)
        t.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
    gzip -n -c "$d/h.tar" >"$d/o/$member"
    reseal "$d/o" "$key"
    repack "$d/o" "$art" "$out"
}

INFO_LEN=$(tar -xOf "$SRC" header.tar.gz | tar -xzOf - header-info | wc -c)
edit_header "$SRC" header.tar.gz header-info ' x' "$A/info-garbage.mender" "$K/rsa.pem"
both "header-info + garbage (re-signed)" "$A/info-garbage.mender" invalid "$K/rsa.pub"
codes "header-info + garbage: the reason is bytes after the JSON" "reason json-trailing"
line "header-info + garbage: the offset" "^reason: header/header-info: has 1 bytes from byte $((INFO_LEN + 1)) on"
stricter "header-info + garbage" "$A/info-garbage.mender" "$K/rsa.pub"

TYPE_LEN=$(tar -xOf "$SRC" header.tar.gz | tar -xzOf - headers/0000/type-info | wc -c)
edit_header "$SRC" header.tar.gz headers/0000/type-info '{}' "$A/type-garbage.mender" "$K/rsa.pem"
both "type-info + a second value (re-signed)" "$A/type-garbage.mender" invalid "$K/rsa.pub"
codes "type-info + a second value: the reason is bytes after the JSON" "reason json-trailing"
line "type-info + a second value: the offset" \
    "^reason: header/headers/0000/type-info: has 2 bytes from byte $TYPE_LEN on"

MOD=$F/module.mender
META_LEN=$(tar -xOf "$MOD" header.tar.gz | tar -xzOf - headers/0000/meta-data | wc -c)
check "module fixture has meta-data" test "$META_LEN" -gt 0
edit_header "$MOD" header.tar.gz headers/0000/meta-data $'\n]' "$A/meta-garbage.mender"
both "meta-data + garbage" "$A/meta-garbage.mender" invalid
line "meta-data + garbage: the offset" \
    "^reason: header/headers/0000/meta-data: has 1 bytes from byte $((META_LEN + 1)) on"

AUG=$F/augmented.mender
AINFO_LEN=$(tar -xOf "$AUG" header-augment.tar.gz | tar -xzOf - header-info | wc -c)
edit_header "$AUG" header-augment.tar.gz header-info '[]' "$A/aug-garbage.mender"
both "header-augment header-info + garbage" "$A/aug-garbage.mender" invalid "$K/rsa.pub"
line "augment header-info + garbage: the offset" \
    "^reason: header-augment/header-info: has 2 bytes from byte $AINFO_LEN on"

# ---- keys that prove nothing ------------------------------------------------------------
# rsa_spki N E OUT: a PEM SubjectPublicKeyInfo with modulus N (hex) and exponent E
rsa_spki() {
    cat >"$3.cnf" <<EOF
asn1=SEQUENCE:spki
[spki]
alg=SEQUENCE:alg
key=BITWRAP,SEQUENCE:rsakey
[alg]
oid=OID:rsaEncryption
p=NULL
[rsakey]
n=INTEGER:0x$1
e=INTEGER:$2
EOF
    openssl asn1parse -genconf "$3.cnf" -out "$3.der" -noout >/dev/null &&
        { echo '-----BEGIN PUBLIC KEY-----'; base64 -w 64 "$3.der"; echo '-----END PUBLIC KEY-----'; } >"$3"
}
N=$(openssl rsa -pubin -in "$K/rsa.pub" -modulus -noout | cut -d= -f2)
rsa_spki "$N" 1 "$K/e1.pub"
rsa_spki "$N" 2 "$K/e2.pub"
rsa_spki "$N" 65538 "$K/eeven.pub"
rsa_spki "${N%?}$(printf '%X' $((0x${N: -1} & 14)))" 65537 "$K/neven.pub"
check_eq "e1.pub: openssl reads exponent 1" "Exponent: 1 (0x1)" \
    "$(openssl pkey -pubin -in "$K/e1.pub" -noout -text | grep -o 'Exponent: .*')"

# e = 1: the "signature" is the PKCS#1 v1.5 encoding of the manifest's digest
UNS=$F/rootfs-gzip.mender
unpack "$UNS" "$A/e1"
DIGEST=$(sum "$A/e1/manifest")
DI=3031300d060960864801650304020105000420$DIGEST
PADLEN=$((256 - 3 - ${#DI} / 2))
{ printf '0001'; printf 'ff%.0s' $(seq $PADLEN); printf '00%s' "$DI"; } | xxd -r -p >"$A/e1.sig.bin"
check_eq "e=1 forgery: 256 bytes" 256 "$(wc -c <"$A/e1.sig.bin")"
check "e=1 forgery: openssl's own verify accepts it (the key proves nothing)" \
    openssl dgst -sha256 -verify "$K/e1.pub" -signature "$A/e1.sig.bin" "$A/e1/manifest"
base64 -w0 "$A/e1.sig.bin" >"$A/e1.sig"
put_sig "$UNS" "$A/e1.sig" "$A/e1.mender"
both "RSA key with e=1" "$A/e1.mender" invalid "$K/e1.pub"
line "e=1: key line says unusable and why" \
    "^key 1: RSA-2048 SHA256:$(fp "$K/e1.pub") \(from -o verify_key=$K/e1.pub\): unusable key: .*exponent is 1, below 3"
line "e=1: a reason names key 1" '^reason: signature does not verify with key 1 .*exponent is 1'
stricter "RSA key with e=1" "$A/e1.mender" "$K/e1.pub"

for c in "e2:exponent is 2, below 3" "eeven:exponent 65538 is even" "neven:modulus is even"; do
    kn=${c%%:*}
    both "RSA key $kn" "$F/rootfs-rsa.mender" invalid "$K/$kn.pub"
    line "RSA key $kn: key line says why" "^key 1: RSA-2048 .*: unusable key: .*${c#*:}"
done
both "RSA key e=1 and the right key" "$F/rootfs-rsa.mender" valid "$K/e1.pub" "$K/rsa.pub"
line "e=1 then right key: key 2 verified" '^key 2: .*: verified$'

# e = 3: usable, with a warning
openssl genrsa -3 -traditional -out "$K/rsa-e3.pem" 2048 2>/dev/null
openssl pkey -in "$K/rsa-e3.pem" -pubout -out "$K/rsa-e3.pub"
"$MA" write rootfs-image -n rel-1 -t dev1 -f "$F/rootfs.ext4" -k "$K/rsa-e3.pem" \
    -o "$A/rsa-e3.mender" --no-progress >/dev/null 2>&1
both "RSA key with e=3" "$A/rsa-e3.mender" valid "$K/rsa-e3.pub"
line "e=3: warning says 65537" '^warning: key 1 has public exponent e=3, not 65537'
agree "RSA key with e=3" "$A/rsa-e3.mender" "$K/rsa-e3.pub"

# P-256 with explicit parameters: used, with the command that converts it
openssl ec -in "$K/ec.pem" -pubout -param_enc explicit -out "$K/ec-explicit.pub" 2>/dev/null
check "ec-explicit.pub has explicit parameters" bash -c \
    "openssl asn1parse -in '$K/ec-explicit.pub' | grep -q prime-field"
both "P-256, explicit parameters" "$F/rootfs-ec.mender" valid "$K/ec-explicit.pub"
line "explicit P-256: the key is P-256, verified" \
    "^key 1: ECDSA P-256 SHA256:$(fp "$K/ec-explicit.pub") .*: verified$"
line "explicit P-256: warning with the command" \
    '^warning: key 1 gives the P-256 curve by explicit parameters: .*openssl ec -pubin -in KEY -param_enc named_curve -pubout -out KEY.pub'
differs "P-256, explicit parameters" "$F/rootfs-ec.mender" "$K/ec-explicit.pub" "invalid ECDSA parameters"
openssl ec -pubin -in "$K/ec-explicit.pub" -param_enc named_curve -pubout -out "$K/ec-converted.pub" 2>/dev/null
check_eq "explicit P-256: the command gives the named-curve key" "$(fp "$K/ec.pub")" "$(fp "$K/ec-converted.pub")"

openssl ecparam -genkey -name secp256k1 -noout -out "$K/k1.pem"
openssl ec -in "$K/k1.pem" -pubout -param_enc explicit -out "$K/k1-explicit.pub" 2>/dev/null
both "secp256k1, explicit parameters" "$F/rootfs-ec.mender" invalid "$K/k1-explicit.pub"
line "explicit secp256k1: unusable" '^key 1: .*: unusable key: .*explicit parameters that are not those of P-256'

# ---- one key per file, read as the client reads it -------------------------------------
openssl genrsa -traditional -out "$K/rsa-b.pem" 2048 2>/dev/null
openssl pkey -in "$K/rsa-b.pem" -pubout -out "$K/rsa-b.pub"
cat "$K/rsa-b.pub" "$K/rsa.pub" >"$K/other-first.pub"
both "two keys in a file, the signer second" "$F/rootfs-rsa.mender" invalid "$K/other-first.pub"
line "signer second: key 1 is the first block" "^key 1: RSA-2048 SHA256:$(fp "$K/rsa-b.pub") .*: does not verify"
no_line "signer second: the second block is not a key" '^key 2:'
line "signer second: warning says the client reads only the first block, and how to split" \
    "^warning: key 1 comes from a file of 2 PEM blocks: .*reads only the first.*csplit"
agree "two keys in a file, the signer second" "$F/rootfs-rsa.mender" "$K/other-first.pub"
cat "$K/rsa.pub" "$K/rsa-b.pub" >"$K/signer-first.pub"
both "two keys in a file, the signer first" "$F/rootfs-rsa.mender" valid "$K/signer-first.pub"
line "signer first: warning about the second block" '^warning: key 1 comes from a file of 2 PEM blocks'
agree "two keys in a file, the signer first" "$F/rootfs-rsa.mender" "$K/signer-first.pub"
d=$A/split
mkdir -p "$d"
(cd "$d" && csplit -s -z -f key- "$K/other-first.pub" '/-----BEGIN/' '{*}')
check_eq "the csplit command of the warning makes one file per key" 2 "$(ls "$d" | wc -l)"
both "the split files, each its own option" "$F/rootfs-rsa.mender" valid "$d/key-00" "$d/key-01"
no_line "split files: no warning about blocks" '^warning: .*PEM blocks'

both "the same key twice" "$F/rootfs-rsa.mender" valid "$K/rsa.pub" "$K/rsa.pub"
no_line "the same key twice: listed once" '^key 2:'
openssl rsa -pubin -in "$K/rsa.pub" -RSAPublicKey_out -out "$K/rsa-pkcs1.pub" 2>/dev/null
both "the same key in two forms" "$F/rootfs-rsa.mender" valid "$K/rsa.pub" "$K/rsa-pkcs1.pub"
no_line "the same key in two forms: listed once" '^key 2:'

# control/verify-key: several keys in one write, but none that proves nothing
m=$A/mnt-keys
if mount_art "$F/rootfs-rsa.mender" "$m" 2>/dev/null; then
    st=$m/signature-status
    check_not "control/verify-key: an e=1 key is refused" cp "$K/e1.pub" "$m/control/verify-key"
    cp "$K/e1.pub" "$m/control/verify-key" 2>"$A/cp.err"
    check "control/verify-key: e=1 fails with EINVAL" grep -q 'Invalid argument' "$A/cp.err"
    check "control/verify-key: the control: line says why" grep -q '^control: .*exponent is 1' "$st"
    check_eq "control/verify-key: still unverified" unverified "$(head -n 1 "$st")"
    cat "$K/rsa.pub" "$K/e1.pub" >"$A/good-and-e1.pub"
    check_not "control/verify-key: a good key with an e=1 key is refused" \
        cp "$A/good-and-e1.pub" "$m/control/verify-key"
    cat "$K/rsa-b.pub" "$K/rsa.pub" "$K/rsa.pub" >"$A/three.pub"
    check "control/verify-key: several keys in one write" cp "$A/three.pub" "$m/control/verify-key"
    check_eq "control/verify-key: the same key twice is listed once" 2 \
        "$(grep -c 'SHA256:' "$m/control/verify-key")"
    check_eq "control/verify-key: valid with the second" valid "$(head -n 1 "$st")"
    check "control/verify-key: an explicit-parameters P-256 key is taken" \
        cp "$K/ec-explicit.pub" "$m/control/verify-key"
    check "control/verify-key: its warning" grep -q '^warning: key 1 gives the P-256 curve by explicit' "$st"
    umount_art "$m" || fail "control keys: unmount"
else
    fail "control keys: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# ---- no fixture changes verdict --------------------------------------------------------
for c in rootfs-rsa:rsa.pub:valid rootfs-ec:ec.pub:valid rootfs-v2:rsa.pub:valid \
    augmented:rsa.pub:valid rootfs-gzip::unsigned rootfs-none::unsigned rootfs-xz::unsigned \
    rootfs-zstd::unsigned module::unsigned module-none::unsigned module-xz::unsigned \
    module-zstd::unsigned module-nofiles::unsigned bootstrap::unsigned; do
    IFS=: read -r art key exp <<<"$c"
    "$ARTIFACTFS" --status ${key:+-o "verify_key=$K/$key"} "$F/$art.mender" >"$A/fixture.out" 2>&1
    check_eq "fixture $art: $exp" "$exp" "$(head -n 1 "$A/fixture.out")"
done

[ -n "${KEEP_REPORTS:-}" ] && cp -r "$W" "$KEEP_REPORTS"
finish
