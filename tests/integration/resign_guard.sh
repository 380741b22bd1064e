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
    check "while the pass runs: re-signed, mender-artifact validates" ma_validate "$KD/rsa.pub" "$t/a.mender"
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
# swapped LABEL SRC DECOY STEPS...: each step is stage, swap, back, unmount,
# or copyswap (stage, and swap the moment the copy's file appears)
swapped() {
    local label=$1 src=$2 decoy=$3 w step other_before size cpid
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
            copyswap)   # stage; swap as soon as the copy's file appears
                cp "$KD/rsa.pem" "$w/mnt/control/sign-key" &
                cpid=$!
                while ! compgen -G "$w/DIR/.a.mender.artifactfs-*" > /dev/null; do
                    kill -0 "$cpid" 2>/dev/null || break
                done
                check "$label: swap DIR for a symlink" swap "$w"
                size=$(stat -c %s "$(compgen -G "$w/DIR.real/.a.mender.artifactfs-*" | head -1)" 2>/dev/null)
                wait "$cpid"
                check_eq "$label: stage" 0 $?
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
    copyswap back unmount
swapped "swapped during the copy, still at unmount" "$BIG" none \
    copyswap unmount

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

# ---------------------------------------------------------------- 3. no key bytes in the daemon
# memscan.py PID KEY...: reads every readable mapping of /proc/PID/mem and
# looks for any 16-byte window of each key's secrets: the private scalar
# (EC), the primes and the private exponent (RSA), and the PEM base64 text
# (as in the file, and with its line breaks removed).  Prints what it found
# and how much it read; exits 1 on a find.  Mappings over 1 GiB (ASan's
# shadow and allocator reserves) are counted and left out.
MS_PY="$T_ROOT/memscan.py"
cat > "$MS_PY" <<'PY'
import sys, re, subprocess
pid, keys = sys.argv[1], sys.argv[2:]
W, A = 16, 8
secrets = {}
for k in keys:
    text = subprocess.run(['openssl', 'pkey', '-in', k, '-text', '-noout'],
                          capture_output=True, text=True, check=True).stdout
    for field in ('priv', 'prime1', 'prime2', 'privateExponent'):
        m = re.search(r'^%s:\s*\n((?:\s+[0-9a-f:]+\n)+)' % field, text, re.M)
        if m:
            b = bytes.fromhex(re.sub(r'[\s:]', '', m.group(1)))
            secrets['%s %s' % (k, field)] = b[1:] if len(b) > 1 and b[0] == 0 else b
    body = [l for l in open(k).read().splitlines() if l and not l.startswith('-----')]
    secrets['%s PEM text' % k] = '\n'.join(body).encode()
    secrets['%s PEM base64' % k] = ''.join(body).encode()
# every 16-byte window of a secret holds an 8-byte window at an 8-aligned
# address of the memory: look those up, then extend each hit both ways
index = {}
for name, sec in secrets.items():
    for i in range(len(sec) - A + 1):
        index.setdefault(sec[i:i + A], []).append((name, i))
def hits(buf, base, found):
    mv = memoryview(buf)[:len(buf) // A * A]
    chunks = set(mv.cast('Q')) if len(mv) else set()
    for c in chunks & keyints:
        needle = c.to_bytes(8, sys.byteorder)
        at = buf.find(needle)
        while at >= 0:
            if at % A == 0:
                for name, i in index[needle]:
                    sec = secrets[name]
                    l = 0
                    while l < i and at - l - 1 >= 0 and buf[at - l - 1] == sec[i - l - 1]:
                        l += 1
                    r = 0
                    while i + A + r < len(sec) and at + A + r < len(buf) and buf[at + A + r] == sec[i + A + r]:
                        r += 1
                    if l + A + r >= W:
                        found.add('%s at 0x%x (%d bytes)' % (name, base + at - l, l + A + r))
            at = buf.find(needle, at + 1)
keyints = {int.from_bytes(w, sys.byteorder) for w in index}
found, read, skipped = set(), 0, 0
mem = open('/proc/%s/mem' % pid, 'rb', buffering=0)
for line in open('/proc/%s/maps' % pid):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split('-'))
    if f[1][0] != 'r' or (len(f) > 5 and f[5] in ('[vvar]', '[vsyscall]', '[vvar_vclock]')):
        continue
    if hi - lo > 1 << 30:
        skipped += hi - lo
        continue
    step = 64 << 20
    for off in range(lo, hi, step):
        end = min(hi, off + step + W)
        try:
            mem.seek(off)
            buf = mem.read(end - off)
        except OSError:
            continue
        read += len(buf)
        hits(buf, off, found)
for x in sorted(found):
    print('found ' + x)
print('read %d MiB of %s, %d GiB of reserves left out; %d secrets, %d bytes' % (
    read >> 20, pid, skipped >> 30, len(secrets), sum(len(s) for s in secrets.values())))
sys.exit(1 if found or read == 0 else 0)
PY
(
    cd "$KD" || exit 1
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out scan-rsa.pem 2>/dev/null
    openssl rsa -in scan-rsa.pem -traditional -out scan-rsa3072.pem 2>/dev/null   # RSA PRIVATE KEY
    openssl ecparam -genkey -name prime256v1 -noout -out scan-ec.pem              # EC PRIVATE KEY
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out scan-pkcs8.pem  # PRIVATE KEY
    for k in scan-rsa3072 scan-ec scan-pkcs8; do openssl pkey -in $k.pem -pubout -out $k.pub; done
) 2>/dev/null
check "memory scan: setup: three keys" test -s "$KD/scan-pkcs8.pub"
SCAN_KEYS=("$KD/scan-rsa3072.pem" "$KD/scan-ec.pem" "$KD/scan-pkcs8.pem")
# The scanner finds what is there: a process holding the keys' PEM text and
# DER bytes (primes and scalars are contiguous in DER).
python3 -c '
import sys, time
held = [open(k, "rb").read() for k in sys.argv[1:]]
held += [__import__("subprocess").run(["openssl", "pkey", "-in", k, "-outform", "DER"],
         capture_output=True).stdout for k in sys.argv[1:]]
sys.stdout.write("ready\n"); sys.stdout.flush(); time.sleep(60)' "${SCAN_KEYS[@]}" > "$T_ROOT/holder.out" &
holder=$!
for i in $(seq 100); do grep -q ready "$T_ROOT/holder.out" && break; sleep 0.05; done
out=$(python3 "$MS_PY" "$holder" "${SCAN_KEYS[@]}")
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
for what in 'scan-rsa3072.pem prime1' 'scan-rsa3072.pem prime2' 'scan-ec.pem priv' \
    'scan-pkcs8.pem priv' 'scan-rsa3072.pem PEM text' 'scan-pkcs8.pem PEM text'; do
    check "memory scan finds the $what in a process that holds it" grep -q "found .*$what" <<<"$out"
done
w=$(workdir)
cp "$F/rootfs-gzip.mender" "$w/a.mender"
if mount_art "$w/a.mender" "$w/mnt"; then
    pid=${T_PIDS[$w/mnt]}
    staged=()
    for k in "${SCAN_KEYS[@]}"; do
        staged+=("$k")
        n=$(basename "$k" .pem)
        check "memory scan: stage $n" cp "$k" "$w/mnt/control/sign-key"
        check "memory scan: $n staged" grep -q "SHA256:$(fingerprint "$k"): staged" "$w/mnt/control/sign-key"
        out=$(python3 "$MS_PY" "$pid" "${staged[@]}" 2>&1)
        if [ $? -eq 0 ]; then
            pass "memory scan after staging $n: no 16-byte window of any key staged so far"
            [ -n "${VERBOSE:-}" ] && echo "memory scan after staging $n: $out"
        else
            fail "memory scan after staging $n: no 16-byte window of any key staged so far" \
                "$(head -8 <<<"$out")"
        fi
    done
    check_eq "memory scan: every signing child was reaped (children of the daemon)" "" \
        "$(ps -o pid=,stat=,args= --ppid "$pid")"
    umount_art "$w/mnt"
    check "memory scan: the result is signed with the last key, mender-artifact validates" \
        ma_validate "$KD/scan-pkcs8.pub" "$w/a.mender"
else
    fail "memory scan: mount" "$(head -c 400 "$T_MOUNT_ERR")"
fi

# ---------------------------------------------------------------- 4. owners
# A user (uid 1234, group 1234, in no other group) re-signs their own
# artifact whose group (2345) they are not in: like cp -p, the owner is
# kept, the group becomes theirs, the outcome line says so.  An artifact of
# another user is refused, and the refusal says what to do.  Where uid 1234
# cannot open /dev/fuse (libfuse then does not fall back to fusermount3),
# root without CAP_CHOWN stands in for the user: the same fchown fails the
# same way (EPERM), the user's group is then 0.
if setpriv --reuid=1234 --regid=1234 --clear-groups test -r /dev/fuse -a -w /dev/fuse; then
    as_user() { setpriv --reuid=1234 --regid=1234 --clear-groups "$@"; }
    U_UID=1234 U_GID=1234
else
    echo "note: owners: uid 1234 cannot open /dev/fuse here; root without CAP_CHOWN stands in"
    as_user() { setpriv --bounding-set=-chown "$@"; }
    U_UID=0 U_GID=0
fi
# user_mount W: as_user mounts W/d/a.mender on W/mnt (stderr in W/err); sets UPID
user_mount() {
    as_user "$ARTIFACTFS" -f "$1/d/a.mender" "$1/mnt" 2> "$1/err" &
    UPID=$!
    for i in $(seq 100); do mountpoint -q "$1/mnt" && return 0; sleep 0.05; done
    kill "$UPID" 2>/dev/null
    wait "$UPID" 2>/dev/null
    return 1
}
w=$(workdir)
chmod 755 "$T_ROOT" "$w"
mkdir "$w/d" "$w/mnt" "$w/k"
cp "$F/rootfs-gzip.mender" "$w/d/a.mender"
cp "$KD/ec.pem" "$w/k/"
chown -R "$U_UID:$U_GID" "$w/d" "$w/mnt" "$w/k"
chown "$U_UID:2345" "$w/d/a.mender"
chmod 2640 "$w/d/a.mender"
if user_mount "$w"; then
    check "user not in the group: stage" as_user cp "$w/k/ec.pem" "$w/mnt/control/sign-key"
    check "user not in the group: pending: says the group changes" \
        as_user grep -q "^pending: .*its group is now $U_GID (was 2345)" "$w/mnt/signature-status"
    as_user fusermount3 -u "$w/mnt"
    wait "$UPID"
    check_eq "user not in the group: daemon exit status 0" 0 $?
    check "user not in the group: the outcome line says the group changed" \
        grep -q "re-signed; its group is now $U_GID (was 2345): you are not in group 2345" "$w/err"
    check_eq "user not in the group: owner kept, group the user's, mode kept but setgid" \
        "$U_UID $U_GID 640" "$(stat -c '%u %g %a' "$w/d/a.mender")"
    check "user not in the group: mender-artifact validates" ma_validate "$KD/ec.pub" "$w/d/a.mender"
else
    fail "user not in the group: mount" "$(head -c 400 "$w/err")"
fi
chown 4321:"$U_GID" "$w/d/a.mender"
chmod 664 "$w/d/a.mender"
cp "$w/d/a.mender" "$w/orig.mender"
if user_mount "$w"; then
    check_not "another user's artifact: staging fails" as_user cp "$w/k/ec.pem" "$w/mnt/control/sign-key"
    check "another user's artifact: the refusal says what to do" as_user grep -q \
        '^control: .*cannot keep the owner of the artifact (uid 4321): only root can give a file to another user; re-sign it as uid 4321 or as root' \
        "$w/mnt/signature-status"
    as_user fusermount3 -u "$w/mnt"
    wait "$UPID"
    check_cmp "another user's artifact: untouched" "$w/orig.mender" "$w/d/a.mender"
    check "another user's artifact: nothing else in the directory" test "$(ls -A "$w/d")" = a.mender
else
    fail "another user's artifact: mount" "$(head -c 400 "$w/err")"
fi

[ -n "${VERBOSE:-}" ] && echo "time: $((SECONDS - T_START)) s"
finish
