# tests/integration/lib.sh — sourced by the integration test scripts.
#
# Environment (set by meson's test_env, or by hand):
#   ARTIFACTFS  path to the built artifactfs binary
#   FIXTURES    directory written by tests/fixtures/make.sh
#
# Helpers:
#   mount_art ARTIFACT MNT    mount (artifactfs daemonizes); cleanup at EXIT
#   umount_art MNT            unmount now
#   pass NAME / fail NAME DETAILS...
#   check NAME CMD...         pass if CMD succeeds
#   check_not NAME CMD...     pass if CMD fails
#   check_eq NAME EXPECTED ACTUAL
#   check_cmp NAME FILE1 FILE2
#   finish                    print "N passed, M failed", exit 1 if M>0
#   tarlist [FILE]            list a tar (stdin if no FILE): "type<TAB>size<TAB>mtime<TAB>name"
#   decomp NAME               decompress stdin to stdout according to NAME's suffix
#   workdir                   a fresh temp dir (removed at EXIT)
#   reason_codes ART [OPT...] the codes of `--status --format=json OPT... ART`:
#                             "reason CODE" and "warning CODE" lines, in order
set -uo pipefail

: "${ARTIFACTFS:?ARTIFACTFS must point to the artifactfs binary}"
: "${FIXTURES:?FIXTURES must point to the fixtures directory}"

T_PASS=0
T_FAIL=0
T_FINISHED=0
T_MOUNTS=()
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/artifactfs-it.XXXXXX")
T_NAME=$(basename "$0" .sh)

t_cleanup() {
    local rc=$? m
    for m in "${T_MOUNTS[@]}"; do
        if mountpoint -q "$m" 2>/dev/null; then
            fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
        fi
        t_reap "$m" >/dev/null || T_FINISHED=0
    done
    rm -rf "$T_ROOT"
    if [ "$T_FINISHED" != 1 ]; then
        echo "FAIL: $T_NAME: script ended before finish (status $rc)"
        T_FAIL=$((T_FAIL + 1))
        echo "$T_PASS passed, $T_FAIL failed"
        exit 1
    fi
}
trap t_cleanup EXIT

workdir() {
    mktemp -d "$T_ROOT/w.XXXXXX"
}

# Tests match a reason's stable code, not its wording (man artifactfs: REASON CODES).
reason_codes() {
    local art=$1
    shift
    "$ARTIFACTFS" --status --format=json "$@" "$art" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    report = json.loads(line)
    for kind in ("reason", "warning"):
        for item in report[kind + "s"]:
            print(kind, item["code"])'
}

pass() {
    T_PASS=$((T_PASS + 1))
    [ -n "${VERBOSE:-}" ] && echo "ok: $1"
    return 0
}

fail() {
    local name=$1
    shift
    T_FAIL=$((T_FAIL + 1))
    echo "FAIL: $name${*:+: $*}"
    return 0
}

# check NAME CMD... : pass when CMD exits 0 (its output is shown on failure)
check() {
    local name=$1 out rc
    shift
    "$@" > "$T_ROOT/check.out" 2>&1
    rc=$?
    out=$(head -c 600 "$T_ROOT/check.out" | tr -d '\0')
    if [ $rc -eq 0 ]; then
        pass "$name"
    else
        fail "$name" "'$*' exited $rc${out:+: $out}"
    fi
}

# check_not NAME CMD... : pass when CMD exits non-zero
check_not() {
    local name=$1 out rc
    shift
    "$@" > "$T_ROOT/check.out" 2>&1
    rc=$?
    out=$(head -c 300 "$T_ROOT/check.out" | tr -d '\0')
    if [ $rc -ne 0 ]; then
        pass "$name"
    else
        fail "$name" "'$*' succeeded but should fail${out:+: $out}"
    fi
}

check_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected '$2', got '$3'"
    fi
}

check_cmp() {
    local out
    if [ ! -e "$2" ]; then fail "$1" "missing: $2"; return 0; fi
    if [ ! -e "$3" ]; then fail "$1" "missing: $3"; return 0; fi
    if out=$(cmp "$2" "$3" 2>&1); then
        pass "$1"
    else
        fail "$1" "$2 vs $3: $out (sizes $(stat -c %s "$2" 2>/dev/null) vs $(stat -c %s "$3" 2>/dev/null))"
    fi
}

finish() {
    local m
    for m in "${T_MOUNTS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && umount_art "$m"
        t_reap "$m"
    done
    T_MOUNTS=()
    T_FINISHED=1
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ] && exit 0
    exit 1
}

# mount_art ARTIFACT MNT [extra args...]: runs artifactfs in the foreground
# (-f) in the background, so that its exit status, and what ASan/LSan/UBSan
# print when it exits, become part of the test: umount_art (or the EXIT
# trap) waits for it and fails the test if it did not exit 0.  Returns 0 once
# mounted; otherwise artifactfs's status, with its stderr in $T_MOUNT_ERR.
T_MOUNT_ERR=
declare -A T_PIDS=() T_ERRS=()
mount_art() {
    local art=$1 mnt=$2 pid i rc
    shift 2
    mkdir -p "$mnt"
    T_MOUNT_ERR="$T_ROOT/mount.err.$RANDOM"
    "$ARTIFACTFS" -f "$@" "$art" "$mnt" 2>"$T_MOUNT_ERR" &
    pid=$!
    for i in $(seq 300); do
        mountpoint -q "$mnt" && break
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            rc=$?
            echo "mount_art: $ARTIFACTFS $* $art $mnt exited $rc: $(head -c 600 "$T_MOUNT_ERR")" >&2
            return $(( rc == 0 ? 99 : rc ))
        fi
        sleep 0.05
    done
    if ! mountpoint -q "$mnt"; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        echo "mount_art: $art was not mounted on $mnt after 15 s" >&2
        return 99
    fi
    T_MOUNTS+=("$mnt")
    T_PIDS[$mnt]=$pid
    T_ERRS[$mnt]=$T_MOUNT_ERR
    return 0
}

# Waits for the daemon of MNT to exit; fails the test unless it exited 0
# (re-signed) or 2 (nothing was staged).  T_RC is its exit status.
T_RC=
t_reap() {
    local mnt=$1 pid=${T_PIDS[$1]:-} rc
    [ -n "$pid" ] || return 0
    unset "T_PIDS[$mnt]"
    timeout 60 tail --pid="$pid" -f /dev/null
    wait "$pid"
    rc=$?
    T_RC=$rc
    if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
        fail "artifactfs for $mnt exited $rc" "$(tail -c 2000 "${T_ERRS[$mnt]}")"
        return 1
    fi
    return 0
}

umount_art() {
    local mnt=$1 i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if fusermount3 -u "$mnt" 2>/dev/null || ! mountpoint -q "$mnt"; then
            t_reap "$mnt"
            return $?
        fi
        sleep 0.2
    done
    echo "umount_art: could not unmount $mnt" >&2
    fusermount3 -uz "$mnt" 2>/dev/null
    t_reap "$mnt"
    return 1
}

# decomp NAME: stdin -> stdout, decompressed according to NAME's suffix
decomp() {
    case "$1" in
        *.gz) gzip -dc ;;
        *.xz) xz -dc ;;
        *.zst) zstd -dc ;;
        *) cat ;;
    esac
}

T_TARLIST_PY="$T_ROOT/tarlist.py"
cat > "$T_TARLIST_PY" <<'EOF'
import sys, tarfile
src = open(sys.argv[1], 'rb') if len(sys.argv) > 1 else sys.stdin.buffer
with tarfile.open(fileobj=src, mode='r|') as t:
    for m in t:
        kind = 'f' if m.isreg() else ('d' if m.isdir() else 'o')
        print('%s\t%d\t%d\t%s' % (kind, m.size, m.mtime, m.name.rstrip('/')))
EOF

tarlist() {
    python3 "$T_TARLIST_PY" "$@"
}

# repack DIR SRC OUT: the members in DIR, in SRC's member order, like mender-artifact
repack() {
    local dir=$1 src=$2 out=$3 order
    mapfile -t order < <(tar -tf "$src")
    (cd "$dir" && tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 \
        --mode=0600 -cf "$out" "${order[@]}")
}

# flip a byte of NAME inside the tar file TAR (python: exact data offset)
flip_in_tar() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys, tarfile
path, name, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tarfile.open(path, 'r:') as t:
    m = t.getmember(name)
    off = m.offset_data + min(at, m.size - 1)
with open(path, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
EOF
}
