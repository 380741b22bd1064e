#!/usr/bin/env bash
# resign.sh — re-signing through control/sign-key: a private key written
# there is checked when the file is closed; from then on the artifact with a
# new manifest.sig (every other member byte for byte) is written into a temp
# file next to it, which at unmount is fsync'd and renamed over it.  Checks
# the result with mender-artifact, the refusals (bad keys, non-canonical
# manifest, file changed on disk, directory not writable, -o ro), cancelling
# and replacing the key while the copy is written, that the private key
# reaches no file, and that a kill -9 (mounted or after the unmount) or a
# full disk leaves the original.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resign_lib.sh"

# ---------------------------------------------------------------- 1. re-sign
resign "rootfs-gzip unsigned->RSA" "$F/rootfs-gzip.mender" "$KD/rsa.pem" "$KD/rsa.pub" 256
resign "rootfs-gzip unsigned->ECDSA" "$F/rootfs-gzip.mender" "$KD/ec.pem" "$KD/ec.pub" 64
resign "rootfs-rsa RSA->ECDSA" "$F/rootfs-rsa.mender" "$KD/ec.pem" "$KD/ec.pub" 64
check_not "rootfs-rsa RSA->ECDSA: old key no longer verifies" ma_validate "$KD/rsa.pub" "$RESULT"
resign "rootfs-ec ECDSA->RSA" "$F/rootfs-ec.mender" "$KD/rsa.pem" "$KD/rsa.pub" 256
check_not "rootfs-ec ECDSA->RSA: old key no longer verifies" ma_validate "$KD/ec.pub" "$RESULT"
resign "module unsigned->RSA" "$F/module.mender" "$KD/rsa.pem" "$KD/rsa.pub" 256
resign "module RSA->ECDSA" "$RESULT" "$KD/ec.pem" "$KD/ec.pub" 64
resign "module ECDSA->RSA" "$RESULT" "$KD/rsa.pem" "$KD/rsa.pub" 256
resign "augmented RSA->ECDSA" "$F/augmented.mender" "$KD/ec.pem" "$KD/ec.pub" 64
resign "rootfs-none unsigned->RSA" "$F/rootfs-none.mender" "$KD/rsa.pem" "$KD/rsa.pub" 256
resign "rootfs-xz unsigned->ECDSA" "$F/rootfs-xz.mender" "$KD/ec.pem" "$KD/ec.pub" 64
resign "rootfs-zstd unsigned->RSA" "$F/rootfs-zstd.mender" "$KD/rsa.pem" "$KD/rsa.pub" 256 status

# key forms
resign "key RSA-2048 PKCS#8" "$F/rootfs-gzip.mender" "$KD/rsa2048-pkcs8.pem" "$KD/rsa2048-pkcs8.pub" 256
resign "key RSA-3072 PKCS#1" "$F/rootfs-gzip.mender" "$KD/rsa3072-pkcs1.pem" "$KD/rsa3072-pkcs1.pub" 384
STAGE_BS=61 resign "key ECDSA P-256 with EC PARAMETERS block" "$F/rootfs-rsa.mender" \
    "$KD/ec-2block.pem" "$KD/ec-2block.pub" 64
resign "key ECDSA P-256 PKCS#8" "$F/rootfs-gzip.mender" "$KD/ec-pkcs8.pem" "$KD/ec-pkcs8.pub" 64

# ---------------------------------------------------------------- 4. key hygiene
# Fresh RSA-3072 PKCS#8 key; afterwards no file written since staging (in the
# artifact's directory, $TMPDIR, /tmp, /dev/shm) holds a piece of it: PEM
# base64 text, DER bytes (modulus, private exponent, primes) or their hex.
HY_PY="$T_ROOT/hygiene.py"
cat > "$HY_PY" <<'EOF'
import os, sys, binascii
keydir, pem, der, marker = sys.argv[1:5]
roots = sys.argv[5:]
body = [l for l in open(pem).read().splitlines() if l and not l.startswith('-----')]
pats = {'PEM base64 line 10': body[9][10:50].encode(), 'PEM base64 line 20': body[19][5:45].encode()}
d = open(der, 'rb').read()
for off in (100, 300, 600, 900, 1200, 1500):
    pats['DER bytes at %d' % off] = d[off:off + 40]
    pats['DER hex at %d' % off] = binascii.hexlify(d[off:off + 20])
    pats['DER HEX at %d' % off] = binascii.hexlify(d[off:off + 20]).upper()
since = os.stat(marker).st_mtime - 1
keydir = os.path.realpath(keydir)
found, scanned = [], 0
seen = set()
for root in roots:
    if not os.path.isdir(root):
        continue
    dev = os.stat(root).st_dev
    for dp, dns, fns in os.walk(root):
        if os.path.realpath(dp).startswith(keydir):
            dns[:] = []
            continue
        keep = []
        for dn in dns:
            try:
                if os.lstat(os.path.join(dp, dn)).st_dev == dev:
                    keep.append(dn)
            except OSError:
                pass
        dns[:] = keep
        for fn in fns:
            p = os.path.join(dp, fn)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not os.path.isfile(p) or os.path.islink(p) or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if max(st.st_mtime, st.st_ctime) < since:
                continue
            try:
                with open(p, 'rb') as f:
                    scanned += 1
                    prev = b''
                    while True:
                        b = f.read(8 << 20)
                        if not b:
                            break
                        buf = prev + b
                        for name, pat in pats.items():
                            if pat in buf:
                                found.append('%s: %s' % (p, name))
                        prev = buf[-64:]
            except OSError:
                continue
for x in sorted(set(found)):
    print('key material in ' + x)
if scanned == 0:
    print('nothing scanned')
sys.exit(1 if found or scanned == 0 else 0)
EOF
openssl pkey -in "$KD/fresh.pem" -outform DER -out "$KD/fresh.der" 2>/dev/null
touch "$T_ROOT/hygiene.marker"
sleep 0.01
hy_read_back() {   # MNT: while staged, reading sign-key shows no key text
    check_not "hygiene: control/sign-key read shows no PEM body" \
        grep -qF "$(grep -v -- ----- "$KD/fresh.pem" | sed -n 10p | cut -c11-50)" "$1/control/sign-key"
}
BEFORE_UNMOUNT=hy_read_back resign "hygiene: fresh RSA-3072 PKCS#8" "$F/rootfs-gzip.mender" \
    "$KD/fresh.pem" "$KD/fresh.pub" 384
HY_DIR=$(dirname "$RESULT")
check "hygiene: no trace of the private key in files written since staging" \
    python3 "$HY_PY" "$KD" "$KD/fresh.pem" "$KD/fresh.der" "$T_ROOT/hygiene.marker" \
    "$HY_DIR" "$T_ROOT" "${TMPDIR:-/tmp}" /tmp /dev/shm
# (PR_SET_DUMPABLE is not checked: as root in this VM, /proc/PID access does not show it.)

# ---------------------------------------------------------------- staged-key status, replace
w=$(workdir)
cp "$F/rootfs-gzip.mender" "$w/a.mender"
# (a key that none of the verify keys accepts needs -o allow_new_key)
if mount_art "$w/a.mender" "$w/mnt" -o verify_key="$KD/rsa.pub" -o allow_new_key; then
    check "replace: stage RSA" cp "$KD/rsa.pem" "$w/mnt/control/sign-key"
    check "replace: pending verifies with key 1" grep_status "$w/mnt" '^pending: .*verifies with key 1'
    check "replace: stage ECDSA over it" cp "$KD/ec.pem" "$w/mnt/control/sign-key"
    check "replace: control/sign-key shows the ECDSA key" \
        grep -q "^ECDSA P-256 SHA256:$(fingerprint "$KD/ec.pem"): staged" "$w/mnt/control/sign-key"
    check "replace: pending verifies with none of the keys" grep_status "$w/mnt" '^pending: .*verifies with none'
    umount_art "$w/mnt"
    check "replace: signed with the second key" ma_validate "$KD/ec.pub" "$w/a.mender"
    check_not "replace: not with the first" ma_validate "$KD/rsa.pub" "$w/a.mender"
else
    fail "replace: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi
w=$(workdir)
cp "$F/rootfs-gzip.mender" "$w/a.mender"
if mount_art "$w/a.mender" "$w/mnt"; then
    check "no verify key: stage" cp "$KD/ec.pem" "$w/mnt/control/sign-key"
    check "no verify key: pending says no key is set" grep_status "$w/mnt" '^pending: re-sign at unmount .*no (verify )?key'
    umount_art "$w/mnt"
    check "no verify key: re-signed" ma_validate "$KD/ec.pub" "$w/a.mender"
else
    fail "no verify key: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi

# an artifact under a path of about 1000 bytes: the outcome line shortens the
# path (start ... end) and keeps the whole of what follows it
w=$(workdir)
long=$w
for i in 1 2 3 4; do long=$long/$(printf 'd%.0s' $(seq 240)); done
mkdir -p "$long"
cp "$F/rootfs-gzip.mender" "$long/a.mender"
if start_daemon "$long/a.mender" "$w/mnt" "$w/err"; then
    check "long path: stage" cp "$KD/ec.pem" "$w/mnt/control/sign-key"
    stop_daemon "$w/mnt"
    check_eq "long path: daemon exit status (re-signed)" 0 "$DRC"
    line=$(grep 're-signed' "$w/err" | tail -n 1)
    check "long path: the outcome line ends with re-signed" grep -q 'a\.mender: re-signed$' <<< "$line"
    check "long path: the outcome line shortens the path" grep -q 'd\.\.\.d' <<< "$line"
    check "long path: the outcome line is under 300 bytes" test "${#line}" -lt 300
    check "long path: re-signed" ma_validate "$KD/ec.pub" "$long/a.mender"
else
    fail "long path: mount" "$(head -c 400 "$w/err")"
fi

# ---------------------------------------------------------------- 2. untouched
# untouched LABEL ACTION: mount a copy, run ACTION MNT, unmount; the file
# must keep its bytes, inode, mtime, mode and owner.
untouched() {
    local label=$1 action=$2 src=${UNTOUCHED_SRC:-$F/rootfs-rsa.mender} w before
    w=$(workdir)
    mkdir "$w/d"
    cp "$src" "$w/d/a.mender"
    cp "$src" "$w/orig.mender"
    chmod 0640 "$w/d/a.mender"
    touch -d '2001-02-03 04:05:06.789' "$w/d/a.mender"
    before=$(ident "$w/d/a.mender")
    if ! mount_art "$w/d/a.mender" "$w/mnt" ${UNTOUCHED_ARGS:-}; then
        fail "$label: mount" "$(head -c 400 "$T_MOUNT_ERR")"
        return
    fi
    "$action" "$w/mnt" "$label"
    if umount_art "$w/mnt"; then
        pass "$label: daemon exit status 0"
    fi
    check_cmp "$label: same bytes" "$w/orig.mender" "$w/d/a.mender"
    check_eq "$label: same inode, size, mtime, mode, owner" "$before" "$(ident "$w/d/a.mender")"
    check "$label: nothing else in the directory" test "$(ls -A "$w/d")" = a.mender
}
act_none() {
    cat "$1/signature-status" "$1/control/sign-key" > /dev/null
}
act_rm() {
    check "$2: stage" cp "$KD/ec.pem" "$1/control/sign-key"
    check "$2: rm control/sign-key" rm "$1/control/sign-key"
    check "$2: nothing staged after rm" not_staged "$1"
    check_not "$2: no pending line" grep -q '^pending:' "$1/signature-status"
}
act_trunc() {
    check "$2: stage" cp "$KD/rsa.pem" "$1/control/sign-key"
    check "$2: truncate control/sign-key" bash -c ": > '$1/control/sign-key'"
    check "$2: nothing staged after truncation" not_staged "$1"
    check_not "$2: no pending line" grep -q '^pending:' "$1/signature-status"
}
act_twice() {
    check "$2: stage" cp "$KD/rsa.pem" "$1/control/sign-key"
    check "$2: stage again" cp "$KD/ec.pem" "$1/control/sign-key"
    check "$2: rm" rm "$1/control/sign-key"
    check "$2: nothing staged" not_staged "$1"
}

# 3. bad keys, each refused at close with a reason in signature-status.
# Ordered so that no two neighbours give the same reason.
BAD_KEYS=(
    "rsa.pub|public"
    "garbage.pem|"
    "rsa1024.pem|1024"
    "ec.pub|public"
    "ec384.pem|P-384|secp384"
    "broken.pem|"
    "ed25519.pem|Ed25519"
    "rsa-pkcs1.pub|public"
    "encrypted.pem|encrypt"
)
act_badkeys() {
    local mnt=$1 entry k why line
    for entry in "${BAD_KEYS[@]}"; do
        k=${entry%%|*}
        why=${entry#*|}
        stage_einval "bad key $k: cp fails with EINVAL" "$KD/$k" "$mnt"
        line=$(grep '^control: ' "$mnt/signature-status")
        if grep -q '^control: the last write to control/sign-key was refused: it ' <<<"$line" &&
            { [ -z "$why" ] || grep -qiE "$why" <<<"$line"; }; then
            pass "bad key $k: signature-status says why"
        else
            fail "bad key $k: signature-status says why" "want /$why/, got: ${line:-no control: line}"
        fi
        check "bad key $k: nothing staged" not_staged "$mnt"
    done
    check "bad keys: a good key after them is accepted" cp "$KD/ec.pem" "$mnt/control/sign-key"
    check_not "bad keys: the control: line goes away after a good write" \
        grep -q '^control:' "$mnt/signature-status"
    check "bad keys: rm cancels" rm "$mnt/control/sign-key"
}

untouched "no key staged" act_none
untouched "cancel by rm" act_rm
untouched "cancel by truncation" act_trunc
untouched "stage twice then cancel" act_twice
untouched "bad keys" act_badkeys

# -o ro: control/ refuses writes with EROFS
act_ro() {
    check_eq "-o ro: open control/sign-key for writing" EROFS "$(open_errno "$1/control/sign-key")"
    check_eq "-o ro: open control/verify-key for writing" EROFS "$(open_errno "$1/control/verify-key")"
    check_not "-o ro: cp key fails" cp "$KD/rsa.pem" "$1/control/sign-key"
    check "-o ro: nothing staged" not_staged "$1"
}
UNTOUCHED_ARGS="-o ro" untouched "-o ro" act_ro

# ---------------------------------------------------------------- 7. refusals
# non-canonical manifest (a blank line at its end): refused when staged
w=$(workdir)
mkdir "$w/d"
python3 - "$F/rootfs-gzip.mender" "$w/d/a.mender" <<'EOF'
import sys, tarfile, io, copy
src, dst = sys.argv[1:3]
with tarfile.open(src, 'r:') as t:
    ms = [(copy.copy(m), t.extractfile(m).read()) for m in t.getmembers()]
with open(dst, 'wb') as f, tarfile.open(fileobj=f, mode='w:', format=tarfile.USTAR_FORMAT) as t:
    for m, data in ms:
        if m.name == 'manifest':
            data += b'\n'
            m.size = len(data)
        t.addfile(m, io.BytesIO(data))
EOF
cp "$w/d/a.mender" "$w/orig.mender"
before=$(ident "$w/d/a.mender")
if mount_art "$w/d/a.mender" "$w/mnt"; then
    check "non-canonical: signature-status says so" grep_status "$w/mnt" 'not canonical'
    check_not "non-canonical: staging a key fails at close" cp "$KD/rsa.pem" "$w/mnt/control/sign-key"
    check "non-canonical: control: line names the manifest" \
        grep_status "$w/mnt" '^control: the last write to control/sign-key was refused: .*canonical'
    check "non-canonical: nothing staged" not_staged "$w/mnt"
    umount_art "$w/mnt"
    check_cmp "non-canonical: same bytes" "$w/orig.mender" "$w/d/a.mender"
    check_eq "non-canonical: same inode, mtime" "$before" "$(ident "$w/d/a.mender")"
else
    fail "non-canonical: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi

# directory not writable (read-only bind mount): refused when staged
w=$(workdir)
mkdir "$w/d"
cp "$F/rootfs-gzip.mender" "$w/d/a.mender"
cp "$F/rootfs-gzip.mender" "$w/orig.mender"
if mount --bind "$w/d" "$w/d" && MY_MOUNTS+=("$w/d") && mount -o remount,bind,ro "$w/d"; then
    check_not "ro dir: the directory is read-only (setup)" touch "$w/d/x"
    before=$(ident "$w/d/a.mender")
    if mount_art "$w/d/a.mender" "$w/mnt"; then
        stage_einval "ro dir: staging fails at close with EINVAL" "$KD/rsa.pem" "$w/mnt"
        check "ro dir: control: line names the directory" \
            grep_status "$w/mnt" "^control: the last write to control/sign-key was refused: .*$w/d"
        check "ro dir: nothing staged" not_staged "$w/mnt"
        umount_art "$w/mnt"
        check_cmp "ro dir: same bytes" "$w/orig.mender" "$w/d/a.mender"
        check_eq "ro dir: same inode, mtime" "$before" "$(ident "$w/d/a.mender")"
    else
        fail "ro dir: mount" "$(head -c 400 "$T_MOUNT_ERR")"
    fi
    umount "$w/d"
else
    fail "ro dir: setup" "could not make a read-only bind mount"
fi

# artifact changed on disk after the mount: nothing written, exit non-zero.
# changed LABEL inplace|replaced [SRC]
changed() {
    local label=$1 how=$2 src=${3:-$F/rootfs-gzip.mender} w
    w=$(workdir)
    mkdir "$w/d"
    cp "$src" "$w/d/a.mender"
    if ! start_daemon "$w/d/a.mender" "$w/mnt" "$w/err"; then
        fail "$label: mount" "$(head -c 400 "$w/err")"
        return
    fi
    check "$label: stage" cp "$KD/rsa.pem" "$w/mnt/control/sign-key"
    case $how in
        inplace)
            python3 -c '
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xff]))' "$w/d/a.mender" ;;
        replaced)
            cp "$F/rootfs-ec.mender" "$w/d/new.mender"
            mv "$w/d/new.mender" "$w/d/a.mender" ;;
    esac
    cp "$w/d/a.mender" "$w/expect.mender"
    before=$(ident "$w/d/a.mender")
    stop_daemon "$w/mnt"
    check_not "$label: daemon exit status non-zero" test "$DRC" -eq 0
    check "$label: stderr says it changed" grep -qi 'changed' "$w/err"
    check_cmp "$label: the file on disk is left as it is" "$w/expect.mender" "$w/d/a.mender"
    check_eq "$label: same inode, mtime" "$before" "$(ident "$w/d/a.mender")"
    check "$label: nothing else in the directory" test "$(ls -A "$w/d")" = a.mender
}
changed "changed in place" inplace
changed "replaced by another file" replaced

# ---------------------------------------------------------------- 6. ENOSPC
w=$(workdir)
mkdir "$w/small"
head -c 4M /dev/urandom > "$w/r4.ext4"
mender-artifact write rootfs-image -n small -t dev1 -f "$w/r4.ext4" --compression none \
    -o "$w/small.mender" --no-progress > /dev/null 2>&1
if mount -t tmpfs -o size=6m tmpfs "$w/small" && MY_MOUNTS+=("$w/small"); then
    if cp "$w/small.mender" "$w/small/a.mender"; then
        if start_daemon "$w/small/a.mender" "$w/mnt" "$w/err"; then
            check "ENOSPC: stage" cp "$KD/rsa.pem" "$w/mnt/control/sign-key"
            check "ENOSPC: the failed copy is removed while still mounted" temp_goes "$w/small"
            stop_daemon "$w/mnt"
            check_not "ENOSPC: daemon exit status non-zero" test "$DRC" -eq 0
            check "ENOSPC: stderr says why" grep -qi 'no space' "$w/err"
            check_cmp "ENOSPC: original intact" "$w/small.mender" "$w/small/a.mender"
            check "ENOSPC: no temp file left" test "$(ls -A "$w/small")" = a.mender
        else
            fail "ENOSPC: mount" "$(head -c 400 "$w/err")"
        fi
    else
        fail "ENOSPC: setup" "the artifact does not fit in the 6 MiB tmpfs"
    fi
    umount "$w/small"
else
    fail "ENOSPC: setup" "could not mount a tmpfs"
fi

# ---------------------------------------------------------------- 5. kill -9
# A 200 MiB artifact; stage, unmount, kill -9 the daemon 0-600 ms later
# (the copy, begun at staging, and the commit take less than that),
# CRASH_TRIALS times (50 by default).  The
# file must be the original or a complete, valid re-signed artifact; a new
# mount+unmount removes the dead process's temp file.
w=$(workdir)
head -c 200M /dev/urandom > "$w/big.ext4"
mender-artifact write rootfs-image -n big -t dev1 -f "$w/big.ext4" --compression none \
    -o "$w/big.mender" --no-progress > /dev/null 2>&1
rm -f "$w/big.ext4"
[ -s "$w/big.mender" ] || fail "crash: setup" "mender-artifact write failed"
# kill_trial LABEL T MAX_MS [mounted]: T/d/a.mender, a copy of big.mender, is
# mounted, a key staged, the daemon killed (kill -9) 0-MAX_MS ms after the
# unmount, or after the staging if "mounted"; sets DELAY.  Fails if no mount.
kill_trial() {
    local label=$1 t=$2 max=$3 when=${4:-unmounted}
    mkdir -p "$t/d"
    cp "$w/big.mender" "$t/d/a.mender"
    if ! start_daemon "$t/d/a.mender" "$t/mnt" "$t/err"; then
        fail "$label: mount" "$(head -c 400 "$t/err")"
        return 1
    fi
    cp "$KD/rsa.pem" "$t/mnt/control/sign-key" || fail "$label: stage"
    DELAY=$(printf '0.%03d' $((RANDOM % (max + 1))))
    [ "$when" = mounted ] || fusermount3 -u "$t/mnt"
    sleep "$DELAY"
    kill -9 "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    [ "$when" = mounted ] && { fusermount3 -u "$t/mnt" 2>/dev/null || fusermount3 -uz "$t/mnt" 2>/dev/null; }
    return 0
}
# remount_clean LABEL T: a new mount+unmount removes what the dead one left
remount_clean() {
    if mount_art "$2/d/a.mender" "$2/mnt2"; then
        umount_art "$2/mnt2"
        check "$1: no temp file after a new mount+unmount" test "$(ls -A "$2/d")" = a.mender
    else
        fail "$1: mount again" "$(head -c 400 "$T_MOUNT_ERR")"
    fi
}
CR_INTACT=0 CR_SIGNED=0 CR_TEMP=0
for trial in $(seq "${CRASH_TRIALS:-50}"); do
    t="$w/t$trial"
    kill_trial "crash $trial" "$t" 600 || continue
    delay=$DELAY
    ls -A "$t/d" | grep -q artifactfs- && CR_TEMP=$((CR_TEMP + 1))
    if cmp -s "$w/big.mender" "$t/d/a.mender"; then
        CR_INTACT=$((CR_INTACT + 1))
        pass "crash $trial (${delay}s): original intact"
    elif out=$(af_status_valid "$KD/rsa.pub" "$t/d/a.mender"); then
        CR_SIGNED=$((CR_SIGNED + 1))
        pass "crash $trial (${delay}s): complete re-signed artifact"
    else
        fail "crash $trial (${delay}s): neither the original nor a valid re-signed artifact" \
            "size $(stat -c %s "$t/d/a.mender"): $(head -c 300 <<<"$out")"
    fi
    # O_TMPFILE leaves nothing named behind; also plant the named temp file
    # that a process killed between linkat and rename (or on a file system
    # without O_TMPFILE) leaves: .NAME.artifactfs-PID.tmp of a dead PID.
    ( exit 0 ) &
    dead=$!
    wait "$dead"
    head -c 4096 "$w/big.mender" > "$t/d/.a.mender.artifactfs-$dead.tmp"
    remount_clean "crash $trial" "$t"
    rm -rf "$t"
done
echo "kill -9 trials: $CR_INTACT left the original, $CR_SIGNED a complete re-signed artifact, $CR_TEMP a named temp file (removed at the next mount)"

# ---------------------------------------------------------------- 8. copy while mounted
# The re-signed copy is written from the moment a key is staged, and renamed
# at unmount.  On the 200 MiB artifact, so that each of these lands while it
# is being written: cancelling discards it at once, staging another key
# starts over, a change to the artifact makes the unmount refuse, a kill -9
# while mounted leaves the original.
BIG=$w/big.mender
act_rm_copying() {   # MNT LABEL; the artifact is in MNT/../d
    check "$2: stage" cp "$KD/rsa.pem" "$1/control/sign-key"
    check_eq "$2: one temporary file next to the artifact" 1 "$(temp_count "$1/../d")"
    check "$2: rm control/sign-key" rm "$1/control/sign-key"
    check "$2: the temporary file is gone when rm returns" no_temp_left "$1/../d"
}
UNTOUCHED_SRC=$BIG untouched "cancelled while the copy is written" act_rm_copying
t=$(workdir)
mkdir "$t/d"
cp "$BIG" "$t/d/a.mender"
if mount_art "$t/d/a.mender" "$t/mnt"; then
    check "while mounted: stage RSA" cp "$KD/rsa.pem" "$t/mnt/control/sign-key"
    check "while mounted: stage ECDSA over it at once" cp "$KD/ec.pem" "$t/mnt/control/sign-key"
    check_eq "while mounted: still one temporary file" 1 "$(temp_count "$t/d")"
    if umount_art "$t/mnt"; then
        pass "while mounted, replaced: daemon exit status 0"
    fi
    check "while mounted, replaced: members byte-identical, manifest.sig after manifest" \
        python3 "$RC_PY" "$BIG" "$t/d/a.mender" 64
    check "while mounted, replaced: valid with the second key" af_status_valid "$KD/ec.pub" "$t/d/a.mender"
    check "while mounted, replaced: no temp file left" no_temp_left "$t/d"
else
    fail "while mounted: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi
rm -rf "$t"
changed "changed in place during the copy" inplace "$BIG"
changed "replaced by another file during the copy" replaced "$BIG"
# kill -9 while still mounted, 0-300 ms after staging: the original stays
for trial in $(seq "${MOUNTED_CRASH_TRIALS:-5}"); do
    t="$w/m$trial"
    kill_trial "mounted crash $trial" "$t" 300 mounted || continue
    check_cmp "mounted crash $trial (${DELAY}s): original intact" "$BIG" "$t/d/a.mender"
    remount_clean "mounted crash $trial" "$t"
    rm -rf "$t"
done
rm -f "$BIG"

[ -n "${VERBOSE:-}" ] && echo "time: $((SECONDS - T_START)) s"
finish
