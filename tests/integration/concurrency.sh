#!/usr/bin/env bash
# concurrency.sh — many readers at once on one mount: 8 processes read the same
# and different payload files (and the raw payload member) at random offsets,
# with sequential stretches and page-cache drops so that the reads reach the
# daemon, each comparing every byte with the file extracted by tar; meanwhile 2
# processes loop opening signature-status (which must always be the exact
# `artifactfs --status` report), control/progress and control/verify-key.
# For CONCURRENCY_SECONDS (default 20) on each of rootfs-gzip, rootfs-xz,
# rootfs-zstd, module, module-zstd and a 48 MiB gzip rootfs (so that several
# cursors and decoder checkpoints are in play).  Every process is bounded: a
# read that never returns is a failure, not a hung test.
. "$(dirname "$0")/lib.sh"

SECS=${CONCURRENCY_SECONDS:-20}
W=$(workdir)
PY="$T_ROOT/concurrency.py"

cat > "$PY" <<'EOF'
import multiprocessing as mp, os, random, sys, time

def reader(idx, path, ref_path, seconds, q):
    ref = open(ref_path, 'rb').read()
    size = len(ref)
    rnd = random.Random(idx * 7919 + os.getpid())
    errors, n, nbytes = [], 0, 0
    fd = os.open(path, os.O_RDONLY)
    end = time.monotonic() + seconds
    off = 0
    try:
        while time.monotonic() < end:
            if rnd.random() < 0.3:
                off = off + rnd.choice([4096, 65536, 131072])      # a sequential stretch
            else:
                off = rnd.randrange(0, size + 8192)
            if off > size + 8192:
                off = 0
            ln = rnd.choice([1, 511, 4096, 4097, 65536, 131072, 1 << 20, rnd.randrange(1, 300000)])
            try:
                got = os.pread(fd, ln, off)
            except OSError as e:
                errors.append('pread(%s, off=%d, len=%d): %s' % (path, off, ln, e))
                break
            want = ref[off:off + ln]
            if got != want:
                j = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                         min(len(got), len(want)))
                errors.append('pread(%s, off=%d, len=%d): got %d bytes, want %d, first difference at +%d'
                              % (path, off, ln, len(got), len(want), j))
            n += 1
            nbytes += len(got)
            if n % 8 == 0:      # drop the page cache: the next reads go to the daemon
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            if n % 200 == 0:    # and reopen now and then
                os.close(fd)
                fd = os.open(path, os.O_RDONLY)
    finally:
        os.close(fd)
    q.put(('reader %d' % idx, path, n, nbytes, errors[:5]))

def live(idx, mnt, expected_path, seconds, q):
    expected = open(expected_path, 'rb').read()
    errors, n = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(errors) < 5:
        for name in ('signature-status', 'control/progress', 'control/verify-key'):
            p = os.path.join(mnt, name)
            try:
                with open(p, 'rb') as f:
                    text = f.read()
            except OSError as e:
                errors.append('%s: %s' % (name, e))
                continue
            n += 1
            if name == 'signature-status' and text != expected:
                errors.append('signature-status differs from --status: %r...' % text[:200])
            elif name == 'control/verify-key' and text.strip() not in (b'', b'none') and b'key' not in text:
                errors.append('control/verify-key: unexpected %r' % text[:200])
    q.put(('live %d' % idx, mnt, n, 0, errors[:5]))

def main():
    mnt, seconds, expected = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    pairs = [a.split('=', 1) for a in sys.argv[4:]]      # mounted-path=reference-path
    q = mp.Queue()
    procs = []
    for i in range(8):
        # readers 0-3 share the first file; 4-7 take the others in turn, then it again
        path, ref = pairs[0] if i < 4 else pairs[(1 + i - 4) % len(pairs)]
        procs.append(mp.Process(target=reader, args=(i, path, ref, seconds, q)))
    for i in range(2):
        procs.append(mp.Process(target=live, args=(i, mnt, expected, seconds, q)))
    for p in procs:
        p.start()
    results, deadline = [], time.monotonic() + seconds + 90
    while len(results) < len(procs) and time.monotonic() < deadline:
        try:
            results.append(q.get(timeout=1))
        except Exception:
            if not any(p.is_alive() for p in procs) and q.empty():
                break
    bad = 0
    if len(results) < len(procs):
        print('FAIL: %d of %d processes did not finish within %d s after their run (hung reads?)'
              % (len(procs) - len(results), len(procs), 90))
        bad += 1
    for who, what, n, nbytes, errors in sorted(results):
        if errors:
            bad += 1
            for e in errors:
                print('FAIL: %s: %s' % (who, e))
        elif n == 0:
            bad += 1
            print('FAIL: %s: no read completed on %s' % (who, what))
        else:
            print('ok: %s: %d reads, %d MiB of %s' % (who, n, nbytes >> 20, what))
    for p in procs:
        if p.is_alive():
            p.kill()
    for p in procs:
        p.join(5)
    sys.exit(1 if bad else 0)

main()
EOF

# A 48 MiB rootfs (random and compressible stretches) in a gzip artifact,
# with the manifest rebuilt to match: payload reads span many 2 MiB windows
# and 4 MiB checkpoints.
big_artifact() {
    python3 - "$FIXTURES/rootfs-gzip.mender" "$1" <<'EOF'
import copy, gzip, hashlib, io, os, random, sys, tarfile
src, dst = sys.argv[1:3]
rnd = random.Random(42)
parts = []
for i in range(48):
    parts.append(os.urandom(512 << 10))
    parts.append((b'compressible line %d of block %d\n' % (rnd.randrange(1000), i)) * ((512 << 10) // 40))
rootfs = b''.join(parts)[:48 << 20]
ti = tarfile.TarInfo('rootfs.ext4'); ti.size = len(rootfs); ti.mode = 0o644
inner = io.BytesIO()
with tarfile.open(fileobj=inner, mode='w:', format=tarfile.USTAR_FORMAT) as t:
    t.addfile(ti, io.BytesIO(rootfs))
data = gzip.compress(inner.getvalue(), 1, mtime=0)
raw = open(src, 'rb').read()
with tarfile.open(fileobj=io.BytesIO(raw), mode='r:') as t:
    members = [(m, raw[m.offset_data:m.offset_data + m.size]) for m in t.getmembers()]
sums = {m.name: hashlib.sha256(d).hexdigest() for m, d in members}
man = '%s  data/0000/rootfs.ext4\n' % hashlib.sha256(rootfs).hexdigest()
man += ''.join('%s  %s\n' % (sums[n], n) for n in sums if n.startswith('header.tar') or n == 'version')
out = io.BytesIO()
with tarfile.open(fileobj=out, mode='w:', format=tarfile.USTAR_FORMAT) as t:
    for m, d in members:
        d = data if m.name.startswith('data/') else man.encode() if m.name == 'manifest' else d
        n = copy.copy(m); n.size = len(d)
        t.addfile(n, io.BytesIO(d))
open(dst, 'wb').write(out.getvalue())
EOF
}

# run_case NAME ARTIFACT
run_case() {
    local name=$1 art=$2 ref="$W/ref-$1" mnt="$W/mnt-$1" member files=() pairs=() f rc
    mkdir -p "$ref"
    member=$(tar tf "$art" | grep '^data/0000\.tar' | head -n 1)
    tar xOf "$art" "$member" > "$ref/member"
    tar xOf "$art" "$member" | decomp "$member" | tar x -C "$ref" || { fail "$name: extract"; return; }
    # largest first: readers 0-3 share it
    mapfile -t files < <(tar xOf "$art" "$member" | decomp "$member" | tar t |
        while IFS= read -r f; do printf '%s\t%s\n' "$(stat -c %s "$ref/$f")" "$f"; done |
        sort -rn | cut -f2)
    # the expected signature-status: the --status report of the same artifact
    "${T_TIMEOUT[@]}" 300 "$ARTIFACTFS" --status "$art" > "$W/expected-$name" 2>&1
    if ! mount_art "$art" "$mnt"; then
        fail "$name: mounts" "$(cat "$T_MOUNT_ERR")"
        return
    fi
    # the first file is shared by readers 0-3; the raw member is among the others
    for f in "${files[@]}"; do
        pairs+=("$mnt/data/0000/$f=$ref/$f")
    done
    pairs+=("$mnt/data/$(basename "$member")=$ref/member")
    "${T_TIMEOUT[@]}" $((SECS + 150)) python3 "$PY" "$mnt" "$SECS" "$W/expected-$name" "${pairs[@]}" \
        > "$W/out-$name" 2>&1
    rc=$?
    [ -n "${VERBOSE:-}" ] && sed "s/^/  $name: /" "$W/out-$name"
    if [ $rc -eq 0 ]; then
        pass "$name: 8 readers and 2 status loops for $SECS s, every byte right"
    elif [ $rc -ge 124 ]; then
        fail "$name: concurrent reads" "timed out (hang): $(grep -v '^ok' "$W/out-$name" | head -c 800)"
    else
        fail "$name: concurrent reads" "$(grep -v '^ok' "$W/out-$name" | head -c 1500)"
    fi
    # the mount still answers, and a full read is still right
    "${T_TIMEOUT[@]}" 120 cat "$mnt/data/0000/${files[0]}" > "$W/cat-$name" 2>&1
    check_cmp "$name: sequential read after the storm" "$ref/${files[0]}" "$W/cat-$name"
    umount_art "$mnt" || fail "$name: unmount"
}

T_TIMEOUT=(timeout -k 5)
for fx in rootfs-gzip rootfs-xz rootfs-zstd module module-zstd; do
    run_case "$fx" "$FIXTURES/$fx.mender"
done
if big_artifact "$W/big-gzip.mender"; then
    run_case big-gzip "$W/big-gzip.mender"
else
    fail "big-gzip: build"
fi

finish
