#!/usr/bin/env bash
# reads.sh — random-access reads of a payload file: random (offset, length)
# preads (forwards, backwards, past EOF) and 4 concurrent readers must return
# exactly the bytes of the file extracted with tar; so must a sequential cat
# and a private mapping.
. "$(dirname "$0")/lib.sh"

PY="$T_ROOT/reads.py"
cat > "$PY" <<'EOF'
import os, random, sys, multiprocessing

def reads(path, ref, seed, n):
    """n random preads of path; returns a list of mismatch descriptions."""
    rnd = random.Random(seed)
    size = len(ref)
    bad = []
    fd = os.open(path, os.O_RDONLY)
    try:
        last = 0
        for i in range(n):
            r = rnd.random()
            if r < 0.15:                       # backwards from the previous read
                off = rnd.randrange(0, max(1, last))
            elif r < 0.25:                     # past or across EOF
                off = rnd.randrange(max(0, size - 4096), size + 65536)
            else:
                off = rnd.randrange(0, size)
            ln = rnd.choice([1, 7, 512, 4096, 4097, 65536, 131072, rnd.randrange(1, 300000)])
            try:
                got = os.pread(fd, ln, off)
            except OSError as e:
                bad.append('pread(off=%d, len=%d): %s' % (off, ln, e))
                continue
            want = ref[off:off + ln]
            if got != want:
                j = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                         min(len(got), len(want)))
                bad.append('pread(off=%d, len=%d): got %d bytes, want %d, first difference at +%d'
                           % (off, ln, len(got), len(want), j))
            last = off
    finally:
        os.close(fd)
    return bad

def worker(args):
    path, refpath, seed, n = args
    with open(refpath, 'rb') as f:
        ref = f.read()
    return reads(path, ref, seed, n)

mode, path, refpath, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if mode == 'serial':
    bad = worker((path, refpath, seed, 200))
else:
    with multiprocessing.Pool(4) as pool:
        res = pool.map(worker, [(path, refpath, seed + k, 150) for k in range(4)])
    bad = [b for r in res for b in r]
for b in bad[:10]:
    print(b)
if bad:
    print('%d mismatching reads' % len(bad))
    sys.exit(1)
EOF

for f in rootfs-gzip rootfs-xz rootfs-zstd rootfs-none; do
    art="$FIXTURES/$f.mender"
    w=$(workdir)
    mnt="$w/mnt"
    member=$(tar -tf "$art" | grep '^data/0000\.tar')
    tar -xOf "$art" "$member" | decomp "$member" | tar -xOf - rootfs.ext4 > "$w/rootfs.ext4"
    if [ ! -s "$w/rootfs.ext4" ]; then
        fail "$f: reference" "could not extract rootfs.ext4 from $member"
        continue
    fi
    if mount_art "$art" "$mnt"; then
        pass "$f: mount"
    else
        fail "$f: mount" "$(cat "$T_MOUNT_ERR")"
        continue
    fi
    file="$mnt/data/0000/rootfs.ext4"
    seed=$RANDOM
    check "$f: 200 random preads (seed $seed)" python3 "$PY" serial "$file" "$w/rootfs.ext4" "$seed"
    check "$f: 4 concurrent readers (seed $seed)" python3 "$PY" parallel "$file" "$w/rootfs.ext4" "$seed"
    # 4 concurrent dd readers (separate processes, separate opens)
    pids=()
    for k in 0 1 2 3; do
        (
            for j in 1 2 3 4 5 6 7 8; do
                skip=$(( (RANDOM * 32768 + RANDOM) % 1024 ))
                cnt=$(( RANDOM % 64 + 1 ))
                a=$(dd if="$file" bs=1024 skip=$skip count=$cnt status=none | sha256sum)
                b=$(dd if="$w/rootfs.ext4" bs=1024 skip=$skip count=$cnt status=none | sha256sum)
                [ "$a" = "$b" ] || { echo "dd skip=$skip count=$cnt differs"; exit 1; }
            done
        ) > "$w/dd.$k" 2>&1 &
        pids+=($!)
    done
    ddfail=
    for k in 0 1 2 3; do
        wait "${pids[$k]}" || ddfail+="reader $k: $(cat "$w/dd.$k") "
    done
    if [ -z "$ddfail" ]; then pass "$f: 4 concurrent dd readers"; else fail "$f: 4 concurrent dd readers" "$ddfail"; fi
    check "$f: sequential cat" bash -c 'cat "$1" | cmp - "$2"' _ "$file" "$w/rootfs.ext4"
    check "$f: second sequential cat" bash -c 'cat "$1" | cmp - "$2"' _ "$file" "$w/rootfs.ext4"
    # direct I/O: reads ask for st_blksize (1 MiB) at a time; a private
    # mapping (what exec uses) works and shows the same bytes; a shared one
    # is refused with ENODEV, as the man page says
    check "$f: st_blksize is 1 MiB" test "$(stat -c %o "$file")" = 1048576
    check "$f: private mmap" python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "rb") as r:
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    sys.exit(m[:] != r.read())' "$file" "$w/rootfs.ext4"
    check "$f: shared mmap is ENODEV" python3 -c '
import errno, mmap, sys
with open(sys.argv[1], "rb") as f:
    try:
        mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    except OSError as e:
        sys.exit(e.errno != errno.ENODEV)
sys.exit(1)' "$file"
    umount_art "$mnt" || fail "$f: unmount" "fusermount3 -u $mnt failed"
done

# small payload files stay in the page cache: a shared mapping works there
w=$(workdir)
if mount_art "$FIXTURES/module.mender" "$w/mnt"; then
    small="$w/mnt/data/0000/file2.bin"
    check "module: small file's st_blksize is not 1 MiB" test "$(stat -c %o "$small")" != 1048576
    check "module: shared mmap of a small file" python3 -c '
import mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    sys.exit(m[:] != f.read())' "$small"
    umount_art "$w/mnt" || fail "module: unmount" "fusermount3 -u failed"
else
    fail "module: mount" "$(cat "$T_MOUNT_ERR")"
fi

finish
