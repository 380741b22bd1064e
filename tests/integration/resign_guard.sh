#!/usr/bin/env bash
# resign_guard.sh — what a re-sign must never do (issue 14): sign an
# artifact that did not verify, write anywhere but the directory the artifact
# was mounted from, or leave key bytes in the daemon's memory; and how it
# keeps the owner and group of a user's own artifact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resign_lib.sh"

# ---------------------------------------------------------------- 1. verified before signed
# tamper.py SRC DST MODE: a copy of SRC with one thing wrong, its tar intact.
#   payload   a byte of the payload file flipped (SRC has an uncompressed payload)
#   sumline   a hex digit of the payload's manifest line changed (stays canonical)
#   header    a byte of header.tar.gz flipped (the gzip MTIME: it still inflates)
#   sig       manifest.sig made not base64
TP_PY="$T_ROOT/tamper.py"
cat > "$TP_PY" <<'PY'
import sys, tarfile
src, dst, mode = sys.argv[1:4]
data = bytearray(open(src, 'rb').read())
with tarfile.open(src, 'r:') as t:
    ms = {m.name: m for m in t.getmembers()}
def flip(off):
    data[off] ^= 0x01
if mode == 'payload':
    m = ms['data/0000.tar']
    with open(src, 'rb') as f:
        f.seek(m.offset_data)
        import io
        it = tarfile.open(fileobj=io.BytesIO(f.read(m.size)), mode='r:')
        first = it.getmembers()[0]
    flip(m.offset_data + first.offset_data + 1000)
elif mode == 'sumline':
    m = ms['manifest']
    text = bytes(data[m.offset_data:m.offset_data + m.size])
    at = text.index(b'  data/0000/')
    start = text.rindex(b'\n', 0, at) + 1 if b'\n' in text[:at] else 0
    c = data[m.offset_data + start]
    data[m.offset_data + start] = ord('0') if c != ord('0') else ord('1')
elif mode == 'header':
    flip(ms['header.tar.gz'].offset_data + 4)
elif mode == 'sig':
    m = ms['manifest.sig']
    data[m.offset_data:m.offset_data + 4] = b'!!!!'
open(dst, 'wb').write(data)
PY
# refused LABEL SRC MODE ERE: staging a good key into the tampered copy fails
# with EINVAL and a control: line matching ERE; nothing is staged or written.
refused() {
    local label=$1 src=$2 mode=$3 want=$4 w before
    w=$(workdir)
    mkdir "$w/d"
    python3 "$TP_PY" "$src" "$w/d/a.mender" "$mode" || { fail "$label: setup" "tamper.py"; return; }
    cp "$w/d/a.mender" "$w/orig.mender"
    before=$(ident "$w/d/a.mender")
    if ! mount_art "$w/d/a.mender" "$w/mnt" -o verify_key="$KD/rsa.pub"; then
        fail "$label: mount" "$(head -c 400 "$T_MOUNT_ERR")"
        return
    fi
    # staged on a fresh mount: the staging itself waits for the checksum pass
    stage_einval "$label: staging fails at close with EINVAL" "$KD/rsa.pem" "$w/mnt"
    check "$label: signature-status is invalid" test "$(head -1 "$w/mnt/signature-status")" = invalid
    check "$label: control: line says why" \
        grep_status "$w/mnt" "^control: the last write to control/sign-key was refused: it cannot be used: $want"
    check "$label: nothing staged" not_staged "$w/mnt"
    check_not "$label: no pending: line" grep -q '^pending:' "$w/mnt/signature-status"
    check "$label: no temporary file" no_temp_left "$w/d"
    if umount_art "$w/mnt"; then
        pass "$label: daemon exit status 0"
    fi
    check_cmp "$label: same bytes" "$w/orig.mender" "$w/d/a.mender"
    check_eq "$label: same inode, size, mtime, mode, owner" "$before" "$(ident "$w/d/a.mender")"
    check "$label: nothing else in the directory" test "$(ls -A "$w/d")" = a.mender
}
refused "payload does not match its manifest" "$F/rootfs-none.mender" payload \
    'checksum data/0000/rootfs.ext4: MISMATCH'
refused "unsigned, wrong checksum line" "$F/rootfs-gzip.mender" sumline \
    'checksum data/0000/rootfs.ext4: MISMATCH'
refused "flipped byte in header.tar.gz" "$F/rootfs-gzip.mender" header \
    'checksum header.tar.gz: MISMATCH'
refused "signed, flipped byte in header.tar.gz" "$F/rootfs-rsa.mender" header \
    'checksum header.tar.gz: MISMATCH'
refused "manifest.sig not base64" "$F/rootfs-rsa.mender" sig 'its manifest.sig is damaged'

# What may stand: not signed, or signed with another key (both are
# "invalid" with the verify key given); the pending: line counts the
# checksums, and control/progress shows the finished pass.
verified_count() {   # LABEL SRC PRIV PUB
    local label=$1 w n
    w=$(workdir)
    cp "$2" "$w/a.mender"
    if ! mount_art "$w/a.mender" "$w/mnt" -o verify_key="$4"; then
        fail "$label: mount" "$(head -c 400 "$T_MOUNT_ERR")"
        return
    fi
    check "$label: invalid before staging" test "$(head -1 "$w/mnt/signature-status")" = invalid
    check "$label: stage" cp "$3" "$w/mnt/control/sign-key"
    n=$(grep -c . "$w/mnt/manifest")
    check "$label: control/progress: the pass is done, $n checksums" \
        grep -q "^done: $n checksums" "$w/mnt/control/progress"
    check "$label: pending: the $n checksums were verified" \
        grep_status "$w/mnt" "^pending: re-sign at unmount .*; the $n checksums were verified first; "
    umount_art "$w/mnt"
    check "$label: mender-artifact validate -k" ma_validate "$4" "$w/a.mender"
}
verified_count "not signed may stand" "$F/module.mender" "$KD/ec.pem" "$KD/ec.pub"
verified_count "signed with another key may stand" "$F/rootfs-rsa.mender" "$KD/ec.pem" "$KD/ec.pub"

# While the pass runs, staging waits and control/progress shows it.
w=$(workdir)
head -c 300M /dev/urandom > "$w/big.ext4"
mender-artifact write rootfs-image -n big -t dev1 -f "$w/big.ext4" --compression none \
    -o "$w/big.mender" --no-progress > /dev/null 2>&1
rm -f "$w/big.ext4"
BIG=$w/big.mender
t=$(workdir)
cp "$BIG" "$t/a.mender"
if mount_art "$t/a.mender" "$t/mnt" -o verify_key="$KD/rsa.pub"; then
    cp "$KD/rsa.pem" "$t/mnt/control/sign-key" &
    cpid=$!
    seen=
    for i in $(seq 200); do
        p=$(cat "$t/mnt/control/progress")
        case $p in checking*) seen=$p; break ;; done*) break ;; esac
        sleep 0.01
    done
    wait "$cpid"
    check_eq "while the pass runs: staging returns 0 once it is done" 0 $?
    if [ -n "$seen" ]; then
        pass "while the pass runs: control/progress shows it ($seen)"
    else
        echo "note: the checksum pass ended before control/progress was read"
    fi
    check "while the pass runs: pending: after it" grep_status "$t/mnt" '^pending: .*checksums were verified first'
    umount_art "$t/mnt"
    check "while the pass runs: re-signed, valid" af_status_valid "$KD/rsa.pub" "$t/a.mender"
else
    fail "while the pass runs: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi
rm -rf "$t"

# ---------------------------------------------------------------- 2. directory swaps
# The artifact is W/DIR/a.mender; W/other holds a file x and, with "decoy",
# an a.mender of its own.  swap: DIR becomes a symlink to other (the real
# directory moves to DIR.real); back: it is put back.  Whatever the order,
# other receives nothing, and the artifact is re-signed in its own directory.
swap() { mv "$1/DIR" "$1/DIR.real" && ln -s other "$1/DIR"; }
back() { rm "$1/DIR" && mv "$1/DIR.real" "$1/DIR"; }
# swapped LABEL SRC DECOY STEPS...: each step is stage, swap, back, unmount
swapped() {
    local label=$1 src=$2 decoy=$3 w step other_before size
    shift 3
    w=$(workdir)
    mkdir "$w/DIR" "$w/other"
    cp "$src" "$w/DIR/a.mender"
    echo x > "$w/other/x"
    [ "$decoy" = decoy ] && cp "$F/rootfs-ec.mender" "$w/other/a.mender"
    other_before=$(cd "$w/other" && for f in $(ls -A); do echo "$f $(ident "$f") $(sha256sum < "$f")"; done)
    if ! mount_art "$w/DIR/a.mender" "$w/mnt" -o verify_key="$KD/rsa.pub"; then
        fail "$label: mount" "$(head -c 400 "$T_MOUNT_ERR")"
        return
    fi
    for step in "$@"; do
        case $step in
            stage) check "$label: stage" cp "$KD/rsa.pem" "$w/mnt/control/sign-key" ;;
            swap) check "$label: swap DIR for a symlink" swap "$w" ;;
            back) check "$label: put DIR back" back "$w" ;;
            copying)
                size=$(stat -c %s "$(ls -d "$w"/DIR*/.a.mender.artifactfs-* 2>/dev/null | head -1)" 2>/dev/null)
                [ -n "$size" ] && [ "$size" -lt "$(stat -c %s "$src")" ] ||
                    echo "note: $label: the copy was complete before the swap (${size:-no} bytes)" ;;
            unmount)
                if umount_art "$w/mnt"; then
                    pass "$label: daemon exit status 0"
                fi ;;
        esac
    done
    [ -L "$w/DIR" ] && back "$w"
    check_eq "$label: the other directory received nothing" "$other_before" \
        "$(cd "$w/other" && for f in $(ls -A); do echo "$f $(ident "$f") $(sha256sum < "$f")"; done)"
    check "$label: re-signed in its own directory, mender-artifact validates" \
        ma_validate "$KD/rsa.pub" "$w/DIR/a.mender"
    check "$label: nothing else in its directory" test "$(ls -A "$w/DIR")" = a.mender
    check "$label: no symlink followed: W holds DIR and other only" \
        test "$(ls -A "$w" | grep -v '^mnt$' | tr '\n' ' ')" = "DIR other "
}
swapped "swapped before staging, back before unmount" "$F/rootfs-gzip.mender" none \
    swap stage back unmount
swapped "swapped before staging, back before unmount, decoy" "$F/rootfs-gzip.mender" decoy \
    swap stage back unmount
swapped "swapped after staging, back before unmount" "$F/rootfs-gzip.mender" decoy \
    stage swap back unmount
swapped "swapped after staging, still at unmount" "$F/rootfs-gzip.mender" none \
    stage swap unmount
swapped "swapped after staging, still at unmount, decoy" "$F/rootfs-gzip.mender" decoy \
    stage swap unmount
swapped "swapped before staging, still at unmount" "$F/rootfs-gzip.mender" decoy \
    swap stage unmount
swapped "swapped during the copy, back before unmount" "$BIG" decoy \
    stage swap copying back unmount
swapped "swapped during the copy, still at unmount" "$BIG" none \
    stage swap copying unmount

# The artifact's own name replaced by a symlink to an identical copy
# elsewhere: another file (fstatat does not follow it), so nothing is written.
w=$(workdir)
mkdir "$w/DIR" "$w/other"
cp "$F/rootfs-gzip.mender" "$w/DIR/a.mender"
if start_daemon "$w/DIR/a.mender" "$w/mnt" "$w/err"; then
    check "name made a symlink: stage" cp "$KD/rsa.pem" "$w/mnt/control/sign-key"
    mv "$w/DIR/a.mender" "$w/other/a.mender"
    ln -s ../other/a.mender "$w/DIR/a.mender"
    before=$(ident "$w/other/a.mender")
    stop_daemon "$w/mnt"
    check_not "name made a symlink: daemon exit status non-zero" test "$DRC" -eq 0
    check "name made a symlink: stderr says it changed" grep -q 'changed' "$w/err"
    check "name made a symlink: still a symlink" test -L "$w/DIR/a.mender"
    check_eq "name made a symlink: its target untouched" "$before" "$(ident "$w/other/a.mender")"
    check_cmp "name made a symlink: same bytes" "$F/rootfs-gzip.mender" "$w/other/a.mender"
else
    fail "name made a symlink: mount" "$(head -c 400 "$w/err")"
fi
rm -f "$BIG"

[ -n "${VERBOSE:-}" ] && echo "time: $((SECONDS - T_START)) s"
finish
