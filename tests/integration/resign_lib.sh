# resign_lib.sh — sourced by resign.sh and resign_guard.sh after lib.sh:
# their own mounts and daemons (cleaned up at EXIT), the keys ($KD), and the
# helpers that check a re-signed artifact.
T_START=$SECONDS

# Mounts this script makes besides lib.sh's (tmpfs, read-only bind mounts,
# artifactfs daemons it runs itself to see their exit status or kill them).
MY_MOUNTS=()
MY_FUSE=()
MY_PIDS=()
my_cleanup() {
    local m p
    for m in "${MY_FUSE[@]}"; do
        mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; }
    done
    local jobs_now
    jobs_now=" $(jobs -p | tr '\n' ' ') "
    for p in "${MY_PIDS[@]}"; do
        # only a daemon this shell started and has not reaped yet
        [[ $jobs_now == *" $p "* ]] && kill -9 "$p" 2>/dev/null
    done
    for m in "${MY_MOUNTS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m" 2>/dev/null
    done
    return 0
}
trap 'rc=$?; my_cleanup; (exit $rc); t_cleanup' EXIT

F=$FIXTURES

# ---------------------------------------------------------------- keys
# Everything secret lives in $KD, which the key hygiene scan leaves out.
KD="$T_ROOT/secret"
mkdir -p "$KD"
chmod 700 "$KD"
cp "$F/rsa.pem" "$F/rsa.pub" "$F/ec.pem" "$F/ec.pub" "$KD/"
(
    cd "$KD" || exit 1
    # fresh RSA-3072 (PKCS#8), used by the hygiene test, and its PKCS#1 form
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out fresh.pem 2>/dev/null
    openssl rsa -in fresh.pem -traditional -out rsa3072-pkcs1.pem 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in rsa.pem -out rsa2048-pkcs8.pem
    openssl ecparam -genkey -name prime256v1 -out ec-2block.pem          # EC PARAMETERS + EC PRIVATE KEY
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-pkcs8.pem
    # refused
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem 2>/dev/null
    openssl ecparam -genkey -name secp384r1 -noout -out ec384.pem
    openssl genpkey -algorithm ed25519 -out ed25519.pem
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes256 -pass pass:x -out encrypted.pem 2>/dev/null
    openssl rsa -in rsa.pem -RSAPublicKey_out -out rsa-pkcs1.pub 2>/dev/null
    head -c 300 /dev/urandom | base64 > garbage.pem
    printf -- '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n' > broken.pem
    for k in fresh rsa3072-pkcs1 rsa2048-pkcs8 ec-2block ec-pkcs8; do
        openssl pkey -in $k.pem -pubout -out $k.pub 2>/dev/null
    done
) || true
for k in fresh.pem rsa3072-pkcs1.pem rsa2048-pkcs8.pem ec-2block.pem ec-pkcs8.pem fresh.pub \
    rsa3072-pkcs1.pub rsa2048-pkcs8.pub ec-2block.pub ec-pkcs8.pub rsa1024.pem ec384.pem \
    ed25519.pem encrypted.pem rsa-pkcs1.pub; do
    [ -s "$KD/$k" ] || fail "setup: openssl made $KD/$k"
done
check "setup: ec-2block.pem has the EC PARAMETERS block" grep -q 'BEGIN EC PARAMETERS' "$KD/ec-2block.pem"
check "setup: fresh.pem is PKCS#8" grep -q 'BEGIN PRIVATE KEY' "$KD/fresh.pem"
check "setup: rsa3072-pkcs1.pem is PKCS#1" grep -q 'BEGIN RSA PRIVATE KEY' "$KD/rsa3072-pkcs1.pem"

# ---------------------------------------------------------------- helpers
# resigncheck.py ORIG NEW SIGLEN: the structure of a re-signed artifact.
RC_PY="$T_ROOT/resigncheck.py"
cat > "$RC_PY" <<'EOF'
import sys, os, tarfile, hashlib, base64, binascii
orig, new, siglen = sys.argv[1], sys.argv[2], int(sys.argv[3])
bad = []

def members(path):
    with open(path, 'rb') as f, tarfile.open(fileobj=f, mode='r:') as t:
        return [m for m in t.getmembers()]

def digest(f, off, size):
    h = hashlib.sha256()
    f.seek(off)
    left = size
    while left:
        b = f.read(min(left, 1 << 20))
        if not b:
            break
        h.update(b)
        left -= len(b)
    return h.hexdigest(), size - left

try:
    om, nm = members(orig), members(new)
except Exception as e:
    print('cannot read as tar: %s' % e)
    sys.exit(1)

expect = []
for m in om:
    if m.name == 'manifest.sig':
        continue
    expect.append(m)
    if m.name == 'manifest':
        expect.append(None)
want = [m.name if m else 'manifest.sig' for m in expect]
got = [m.name for m in nm]
if want != got:
    bad.append('members %s, want %s' % (got, want))
else:
    with open(orig, 'rb') as fo, open(new, 'rb') as fn:
        for e, n in zip(expect, nm):
            if e is None:
                fn.seek(n.offset_data)
                sig = fn.read(n.size)
                if not n.isreg():
                    bad.append('manifest.sig is not a regular file')
                try:
                    raw = base64.b64decode(sig, validate=True)
                    if len(raw) != siglen:
                        bad.append('manifest.sig decodes to %d bytes, want %d' % (len(raw), siglen))
                except (binascii.Error, ValueError) as ex:
                    bad.append('manifest.sig is not base64: %s' % ex)
                if (n.mode, n.uid, n.gid, n.mtime) != (0o644, 0, 0, 0):
                    bad.append('manifest.sig header mode %o uid %d gid %d mtime %d, want 644 0 0 0'
                               % (n.mode, n.uid, n.gid, n.mtime))
                continue
            fo.seek(e.offset); hb_o = fo.read(e.offset_data - e.offset)
            fn.seek(n.offset); hb_n = fn.read(n.offset_data - n.offset)
            if hb_o != hb_n:
                bad.append('%s: tar header bytes differ' % e.name)
            if e.size != n.size or digest(fo, e.offset_data, e.size) != digest(fn, n.offset_data, n.size):
                bad.append('%s: data differs' % e.name)
    last = nm[-1]
    end = last.offset_data + (last.size + 511) // 512 * 512
    size = os.path.getsize(new)
    with open(new, 'rb') as fn:
        fn.seek(end)
        tail = fn.read()
    if size != end + 1024:
        bad.append('file is %d bytes, want %d (last member ends at %d, then two zero blocks)'
                   % (size, end + 1024, end))
    if tail.strip(b'\0') != b'':
        bad.append('non-zero bytes after the last member')
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF

# fingerprint KEY: sha256 of the DER public key (what SHA256:<fp> shows)
fingerprint() {
    openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
pubfp() {   # PUB: the same, from the public key
    openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

ma_validate() {   # PUB ART
    local out
    out=$(mender-artifact validate -k "$1" "$2" 2>&1) || { echo "$out"; return 1; }
    grep -q 'validated successfully' <<<"$out" || { echo "$out"; return 1; }
}
ma_read_verified() {   # PUB ART
    local out
    out=$(mender-artifact read --no-progress -k "$1" "$2" 2>&1)
    grep -q 'signed and verified correctly' <<<"$out" || { echo "$out" | grep -i sign; return 1; }
}
af_status_valid() {   # PUB ART
    local out rc
    out=$("$ARTIFACTFS" --status "$2" -o verify_key="$1" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [ "$(head -1 <<<"$out")" = valid ] || { echo "exit $rc: $out"; return 1; }
}
no_temp_left() {   # DIR
    local left
    left=$(ls -A "$1" | grep -F '.artifactfs-' || true)
    [ -z "$left" ] || { echo "left in $1: $left"; return 1; }
}
temp_count() {   # DIR
    ls -A "$1" | grep -c -F '.artifactfs-'
}
# the copy's thread removes its file itself when it fails: wait for that
temp_goes() {   # DIR
    local i
    for i in $(seq 100); do
        [ "$(temp_count "$1")" -eq 0 ] && return 0
        sleep 0.1
    done
    no_temp_left "$1"
}
# file identity that must not change when nothing is written
ident() {
    stat -c '%i %s %y %a %u %g' "$1"
}
grep_status() {   # MNT ERE
    grep -qE -- "$2" "$1/signature-status" || { cat "$1/signature-status"; return 1; }
}
not_staged() {   # MNT
    ! grep -q 'staged' "$1/control/sign-key"
}
# stage_einval NAME KEY MNT: writing KEY to MNT/control/sign-key fails at close
# with EINVAL
stage_einval() {
    local out rc
    out=$(cp "$2" "$3/control/sign-key" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] && grep -q 'Invalid argument' <<<"$out"; then
        pass "$1"
    else
        fail "$1" "cp exited $rc: $out"
    fi
}
# errno of open(PATH, O_WRONLY|O_TRUNC): prints its name, or "opened"
open_errno() {
    python3 - "$1" <<'EOF'
import os, sys, errno
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
else:
    os.close(fd)
    print('opened')
EOF
}

# start_daemon ART MNT ERR [ARGS]: artifactfs -f run here (not by mount_art),
# for an exit status we expect to be non-zero or a daemon we kill.  Sets DPID.
start_daemon() {
    local art=$1 mnt=$2 err=$3 i
    shift 3
    mkdir -p "$mnt"
    "$ARTIFACTFS" -f "$@" "$art" "$mnt" 2>"$err" &
    DPID=$!
    MY_PIDS+=("$DPID")
    MY_FUSE+=("$mnt")
    for i in $(seq 300); do
        mountpoint -q "$mnt" && return 0
        kill -0 "$DPID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
# stop_daemon MNT: unmount, wait for $DPID; sets DRC
stop_daemon() {
    fusermount3 -u "$1" 2>/dev/null || fusermount3 -uz "$1" 2>/dev/null
    timeout 60 tail --pid="$DPID" -f /dev/null
    kill -9 "$DPID" 2>/dev/null
    wait "$DPID"
    DRC=$?
}

# resign LABEL SRC PRIV PUB SIGLEN [status]: copy SRC (mode 0640, owner
# 1234:2345), mount it with -o verify_key=PUB, stage PRIV, unmount, check the
# result.  RESULT is the re-signed file.  With "status", mender-artifact is
# not used (3.9 cannot read zstd); artifactfs --status checks the signature.
resign() {
    local label=$1 src=$2 priv=$3 pub=$4 siglen=$5 how=${6:-mender} w a mnt fp desc pid lck
    w=$(workdir)
    mkdir "$w/d"
    a="$w/d/a.mender"
    mnt="$w/mnt"
    cp "$src" "$a"
    cp "$src" "$w/orig.mender"
    chmod 0640 "$a"
    chown 1234:2345 "$a"
    RESULT=$a
    RESULT_MNT=$mnt
    if ! mount_art "$a" "$mnt" -o verify_key="$pub"; then
        fail "$label: mount" "$(head -c 400 "$T_MOUNT_ERR")"
        return 1
    fi
    if [ -n "${STAGE_BS:-}" ]; then
        check "$label: stage key with dd bs=$STAGE_BS" \
            dd if="$priv" of="$mnt/control/sign-key" bs="$STAGE_BS" status=none
    else
        check "$label: stage key (cp)" cp "$priv" "$mnt/control/sign-key"
    fi
    fp=$(pubfp "$pub")   # PRIV may hold a PKCS#11 URI (pkcs11.sh)
    desc=$(cat "$mnt/control/sign-key")
    check "$label: control/sign-key shows SHA256:fingerprint, staged" \
        grep -qE "^(RSA-[0-9]+|ECDSA P-256) SHA256:$fp: staged" <<<"$desc"
    check_not "$label: control/sign-key shows no private key" grep -qE 'PRIVATE|BEGIN' <<<"$desc"
    check "$label: signature-status: pending, verifies with key 1" \
        grep_status "$mnt" "^pending: re-sign at unmount with .*SHA256:$fp.*verifies with key 1"
    pid=${T_PIDS[$mnt]}
    lck=$(awk '/^VmLck:/{print $2}' "/proc/$pid/status" 2>/dev/null)
    check "$label: daemon has locked memory while a key is staged (VmLck ${lck:-?} kB)" \
        test "${lck:-0}" -gt 0
    [ -n "${BEFORE_UNMOUNT:-}" ] && "$BEFORE_UNMOUNT" "$mnt"
    if umount_art "$mnt"; then
        pass "$label: daemon exit status 0"
    fi
    check_eq "$label: mode and owner kept" "640 1234 2345" "$(stat -c '%a %u %g' "$a")"
    check "$label: members byte-identical, manifest.sig after manifest, two zero blocks" \
        python3 "$RC_PY" "$w/orig.mender" "$a" "$siglen"
    check "$label: no temp file left" no_temp_left "$w/d"
    check "$label: artifactfs --status valid with the public key" af_status_valid "$pub" "$a"
    if [ "$how" = mender ]; then
        check "$label: mender-artifact validate -k" ma_validate "$pub" "$a"
        check "$label: mender-artifact read: signed and verified correctly" ma_read_verified "$pub" "$a"
    fi
}
