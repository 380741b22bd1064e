#!/usr/bin/env bash
# refuse.sh — what artifactfs must refuse to mount (non-zero exit, exactly one
# line on stderr naming the file, nothing mounted), and malformed-but-parseable
# artifacts that it must mount anyway (so they can be inspected; the problem
# shows in signature-status).
. "$(dirname "$0")/lib.sh"

SRC="$FIXTURES/rootfs-gzip.mender"

# Rebuilds an artifact with python's tarfile (ustar), copying member bytes.
PY="$T_ROOT/mangle.py"
cat > "$PY" <<'EOF'
import sys, tarfile, copy, io
mode, src, dst = sys.argv[1:4]
with tarfile.open(src, 'r:') as t:
    members = [(m, t.extractfile(m).read()) for m in t.getmembers()]
    offsets = {m.name: (m.offset_data, m.size) for m, _ in members}

def ti(m, name=None):
    n = copy.copy(m)
    if name is not None:
        n.name = name
    return n

out = []
for m, data in members:
    if mode == 'dupversion' and m.name == 'version':
        out += [(ti(m), data), (ti(m), data)]
    elif mode == 'extra' and m.name.startswith('data/'):
        e = tarfile.TarInfo('extra'); e.size = 6; e.mode = 0o600
        out += [(e, b'extra\n'), (ti(m), data)]
    elif mode == 'versionX' and m.name == 'version':
        out.append((ti(m, 'versionX'), data))
    elif mode == 'data0' and m.name.startswith('data/0000.tar'):
        out.append((ti(m, m.name.replace('data/0000.tar', 'data/0.tar')), data))
    else:
        out.append((ti(m), data))

with open(dst, 'wb') as f:
    with tarfile.open(fileobj=f, mode='w:', format=tarfile.USTAR_FORMAT) as t:
        for m, data in out:
            t.addfile(m, io.BytesIO(data))

def cut(prefix):
    name = next(n for n in offsets if n.startswith(prefix))
    off, size = offsets[name]
    with open(dst, 'r+b') as f:
        f.truncate(off + size // 2)
    print(off + size // 2)

if mode == 'cutheader':
    cut('header.tar')
elif mode == 'cutdata':
    cut('data/')
EOF

# refuse LABEL PATH: artifactfs PATH MNT must fail cleanly
refuse() {
    local label=$1 path=$2 w mnt rc lines
    w=$(workdir)
    mnt="$w/mnt"
    mkdir -p "$mnt"
    timeout 30 "$ARTIFACTFS" "$path" "$mnt" > "$w/out" 2> "$w/err"
    rc=$?
    if mountpoint -q "$mnt"; then
        T_MOUNTS+=("$mnt")
        fail "$label: nothing mounted" "$mnt is mounted (exit status $rc)"
    else
        pass "$label: nothing mounted"
    fi
    if [ $rc -eq 124 ]; then
        fail "$label: exit status" "timed out after 30 s"
    elif [ $rc -ne 0 ]; then
        pass "$label: exit status non-zero ($rc)"
    else
        fail "$label: exit status" "0, want non-zero"
    fi
    lines=$(awk 'END{print NR}' "$w/err")
    check_eq "$label: stderr line count" 1 "$lines"
    if grep -qF -- "$path" "$w/err"; then
        pass "$label: stderr names the file"
    else
        fail "$label: stderr names the file" "'$path' not in: $(head -c 400 "$w/err")"
    fi
    [ -n "${VERBOSE:-}" ] && echo "  $label stderr: $(cat "$w/err")"
    return 0
}

w=$(workdir)
: > "$w/empty.mender"
refuse "empty file" "$w/empty.mender"

printf 'this is not a tar archive\njust some text\n%.0s' {1..40} > "$w/text.mender"
refuse "text file" "$w/text.mender"

gzip -c "$SRC" > "$w/gzipped.mender"
refuse "gzip-compressed artifact" "$w/gzipped.mender"

cutpoint=$(python3 "$PY" cutheader "$SRC" "$w/cut-header.mender")
[ -n "${VERBOSE:-}" ] && echo "  cut-header at byte $cutpoint"
refuse "artifact cut inside header.tar.gz (at byte $cutpoint)" "$w/cut-header.mender"

refuse "nonexistent path" "$w/does-not-exist.mender"

mkdir "$w/dir.mender"
refuse "a directory" "$w/dir.mender"

# ---- malformed but parseable: must mount ---------------------------------------
for mode in dupversion extra versionX data0 cutdata; do
    art="$w/$mode.mender"
    if ! python3 "$PY" "$mode" "$SRC" "$art" > /dev/null; then
        fail "$mode: build fixture" "python3 mangle.py $mode failed"
        continue
    fi
    mnt="$w/mnt-$mode"
    if mount_art "$art" "$mnt"; then
        pass "$mode: mounts"
    else
        fail "$mode: mounts" "$(cat "$T_MOUNT_ERR")"
        continue
    fi
    root=$(ls "$mnt" 2>&1 | tr '\n' ' ')
    case "$mode" in
        versionX)
            if [ -e "$mnt/version" ] || [ -e "$mnt/versionX" ]; then pass "$mode: ls shows version"
            else fail "$mode: ls shows version" "ls: $root"; fi ;;
        *)
            if [ -e "$mnt/version" ]; then pass "$mode: ls shows version"
            else fail "$mode: ls shows version" "ls: $root"; fi ;;
    esac
    check "$mode: header/header-info readable" cat "$mnt/header/header-info"
    verdict=$(head -n 1 "$mnt/signature-status" 2>&1)
    check_eq "$mode: signature-status verdict" invalid "$verdict"
    if [ "$mode" = cutdata ]; then
        check_not "$mode: reading the cut payload fails" cat "$mnt/data/0000/rootfs.ext4"
    fi
    umount_art "$mnt" || fail "$mode: unmount" "fusermount3 -u $mnt failed"
done

finish
