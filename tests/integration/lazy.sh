#!/usr/bin/env bash
# lazy.sh — mounting, listing and reading the header never decompress the
# payload. Observed two ways:
#  1. an artifact whose data member is garbage after its first KiB mounts, lists
#     and shows its header; only reading the payload file fails (EIO);
#  2. the daemon's read byte count (/proc/PID/io rchar) stays far below the
#     payload size until the payload file is read.
# With ARTIFACTFS_BIG=1 also times mount + cat header-info on a 1.5 GiB payload
# (printed, not asserted).
. "$(dirname "$0")/lib.sh"

SRC="$FIXTURES/rootfs-gzip.mender"

# daemon_pid MNT: pid of the artifactfs process serving MNT
daemon_pid() {
    local p cmd
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
        case "$cmd" in
            *artifactfs*" $1"|*artifactfs*" $1 "*) echo "${p#/proc/}"; return 0 ;;
        esac
    done
    return 1
}
rchar() {
    awk '$1=="rchar:"{print $2}' "/proc/$1/io" 2>/dev/null
}

# ---- 1. corrupt payload ---------------------------------------------------------
w=$(workdir)
python3 - "$SRC" "$w/corrupt.mender" <<'EOF'
import sys, tarfile, io, copy, random
src, dst = sys.argv[1:3]
rnd = random.Random(1)
with tarfile.open(src, 'r:') as t:
    ms = [(copy.copy(m), t.extractfile(m).read()) for m in t.getmembers()]
with tarfile.open(dst, 'w:', format=tarfile.USTAR_FORMAT) as t:
    for m, data in ms:
        if m.name.startswith('data/'):
            data = data[:1024] + bytes(rnd.getrandbits(8) for _ in range(len(data) - 1024))
        t.addfile(m, io.BytesIO(data))
EOF
tar -xOf "$SRC" header.tar.gz | gzip -dc | tar -xOf - header-info > "$w/header-info"
mnt="$w/mnt"
if mount_art "$w/corrupt.mender" "$mnt"; then
    pass "corrupt payload: mounts"
    check "corrupt payload: ls -l MNT" ls -l "$mnt"
    check "corrupt payload: ls -l MNT/header" ls -l "$mnt/header"
    check_cmp "corrupt payload: cat header/header-info" "$mnt/header/header-info" "$w/header-info"
    check_cmp "corrupt payload: raw data/0000.tar.gz is the stored member" \
        "$mnt/data/0000.tar.gz" <(tar -xOf "$w/corrupt.mender" data/0000.tar.gz)
    err=$(cat "$mnt/data/0000/rootfs.ext4" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 0 ] && grep -q 'Input/output error' <<<"$err"; then
        pass "corrupt payload: cat data/0000/rootfs.ext4 fails with EIO"
    else
        fail "corrupt payload: cat data/0000/rootfs.ext4 fails with EIO" "exit $rc, stderr: $err"
    fi
    check "corrupt payload: still mounted after the error" mountpoint -q "$mnt"
    check "corrupt payload: header still readable after the error" cat "$mnt/header/header-info"
    umount_art "$mnt" || fail "corrupt payload: unmount"
else
    fail "corrupt payload: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# ---- 2. bytes read by the daemon ----------------------------------------------------
w=$(workdir)
head -c $((16 * 1024 * 1024)) /dev/urandom > "$w/rootfs.ext4"
mender-artifact write rootfs-image -n big-1 -t dev1 -f "$w/rootfs.ext4" --no-progress \
    -o "$w/big.mender" > "$w/ma.log" 2>&1 || { cat "$w/ma.log"; fail "rchar: make 16 MiB artifact"; }
mnt="$w/mnt"
if [ -f "$w/big.mender" ] && mount_art "$w/big.mender" "$mnt"; then
    pass "rchar: mounts"
    pid=$(daemon_pid "$mnt")
    ls -l "$mnt" "$mnt/header" > /dev/null
    cat "$mnt/header/header-info" > /dev/null
    r1=$(rchar "$pid")
    cat "$mnt/data/0000/rootfs.ext4" > /dev/null
    r2=$(rchar "$pid")
    echo "daemon pid ${pid:-?}: rchar after mount+ls+cat header-info: ${r1:-?}; after reading the payload: ${r2:-?}"
    if [ -z "$pid" ] || [ -z "$r1" ] || [ -z "$r2" ]; then
        echo "note: cannot read /proc/PID/io of the daemon; rchar check skipped"
    elif [ $((r2 - r1)) -lt $((8 * 1024 * 1024)) ]; then
        echo "note: reading the payload did not raise rchar (mmap?); rchar check skipped"
    elif [ "$r1" -lt $((4 * 1024 * 1024)) ]; then
        pass "rchar: under 4 MiB read before the 16 MiB payload is opened"
    else
        fail "rchar: under 4 MiB read before the 16 MiB payload is opened" "rchar=$r1"
    fi
    umount_art "$mnt" || fail "rchar: unmount"
else
    fail "rchar: mounts" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi
rm -rf "$w"

# ---- 3. timing on a 1.5 GiB payload (opt-in) -----------------------------------------
if [ "${ARTIFACTFS_BIG:-0}" = 1 ]; then
    w=$(workdir)
    truncate -s 1536M "$w/rootfs.ext4"
    head -c 1048576 /dev/urandom | dd of="$w/rootfs.ext4" bs=1M seek=700 conv=notrunc status=none
    t0=$(date +%s%N)
    if mender-artifact write rootfs-image -n huge-1 -t dev1 -f "$w/rootfs.ext4" --no-progress \
        -o "$w/huge.mender" > "$w/ma.log" 2>&1; then
        t1=$(date +%s%N)
        rm -f "$w/rootfs.ext4"
        echo "big: wrote $(stat -c %s "$w/huge.mender") byte artifact in $(( (t1 - t0) / 1000000 )) ms"
        mnt="$w/mnt"
        mkdir -p "$mnt"
        t0=$(date +%s%N)
        if mount_art "$w/huge.mender" "$mnt" && cat "$mnt/header/header-info" > /dev/null; then
            t1=$(date +%s%N)
            pass "big: mount + cat header-info"
            echo "big: artifactfs ART MNT && cat MNT/header/header-info: $(( (t1 - t0) / 1000000 )) ms"
            pid=$(daemon_pid "$mnt")
            echo "big: daemon rchar: $(rchar "$pid")"
            umount_art "$mnt" || fail "big: unmount"
        else
            fail "big: mount + cat header-info" "$(cat "$T_MOUNT_ERR")"
        fi
    else
        fail "big: make 1.5 GiB artifact" "$(cat "$w/ma.log")"
    fi
    rm -rf "$w"
else
    echo "note: set ARTIFACTFS_BIG=1 to time a 1.5 GiB-payload mount"
fi

finish
