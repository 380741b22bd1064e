#!/usr/bin/env bash
# FUSE habits: mount -t fuse.artifactfs and an fstab line, -f and -d, --help
# and --version in the man page's words, messages to syslog once daemonized.
. "$(dirname "$0")/lib.sh"

w=$(workdir)
cp "$FIXTURES/rootfs-rsa.mender" "$w/a.mender"
cp "$FIXTURES/rsa.pub" "$w/rsa.pub"
mnt="$w/mnt"
mkdir -p "$mnt"
T_MOUNTS+=("$mnt")

# --help and --version: exit 0, the man page's NAME line, every option.
help=$("$ARTIFACTFS" --help)
check "--help exits 0" "$ARTIFACTFS" --help
name_line=$(sed -n 's/^\.Nd //p' "$SOURCE_ROOT/man/artifactfs.1")
check "--help starts with the man page's NAME line" \
    grep -qx "artifactfs - $name_line" <<< "$(head -1 <<< "$help")"
for opt in -d -f -h -u -V --status --strict --format=json verify_key ro; do
    check "--help documents $opt" grep -q -- "$opt" <<< "$help"
done
check "--version names the version" grep -qE '^artifactfs [0-9]+\.[0-9]+\.[0-9]+' <<< "$("$ARTIFACTFS" --version)"

# mount(8) finds FUSE helpers on its own PATH: put artifactfs there for the test.
helper=/usr/local/bin/artifactfs
if [ -e "$helper" ] && [ "$(readlink -f "$helper")" != "$(readlink -f "$ARTIFACTFS")" ]; then
    echo "note: $helper exists and is another artifactfs; skipping mount(8) checks"
else
    placed=
    [ -e "$helper" ] || { ln -s "$(readlink -f "$ARTIFACTFS")" "$helper"; placed=1; }
    check "mount -t fuse.artifactfs with -o verify_key" \
        mount -t fuse.artifactfs "$w/a.mender" "$mnt" -o "verify_key=$w/rsa.pub,allow_new_key"
    check_eq "mount -t: verdict with the key" valid "$(head -1 "$mnt/signature-status" 2>&1)"
    check "mount -t: listed as fuse.artifactfs" grep -q " $mnt fuse.artifactfs " /proc/mounts
    cp "$w/a.mender" "$w/a.orig"
    check "mount -t: stage a key" cp "$FIXTURES/ec.pem" "$mnt/control/sign-key"
    "$ARTIFACTFS" -u "$mnt" > "$w/u.out" 2> "$w/u.err"
    check_eq "mount -t: artifactfs -u exits 0 (re-signed)" 0 "$?"
    check_not "mount -t: unmounted" mountpoint -q "$mnt"
    check "mount -t: -u says re-signed" grep -q "^artifactfs: $w/a.mender: re-signed$" "$w/u.out"
    check_eq "mount -t: after -u, valid with the new key" valid \
        "$("$ARTIFACTFS" --status -o "verify_key=$FIXTURES/ec.pub" "$w/a.mender" | head -1)"
    mv "$w/a.orig" "$w/a.mender"

    printf '%s %s fuse.artifactfs ro,noauto,verify_key=%s 0 0\n' "$w/a.mender" "$mnt" \
        "$w/rsa.pub" > "$w/fstab"
    check "fstab line mounts (mount -T FSTAB MOUNTPOINT)" mount -T "$w/fstab" "$mnt"
    check_eq "fstab: verdict with the key" valid "$(head -1 "$mnt/signature-status" 2>&1)"
    check "fstab: ro reaches the kernel" grep -qE " $mnt fuse.artifactfs ro[,]" /proc/mounts
    check_not "fstab: ro refuses control/ writes" cp "$w/rsa.pub" "$mnt/control/verify-key"
    "$ARTIFACTFS" -u "$mnt" > "$w/u.out" 2>&1
    check_eq "fstab: artifactfs -u exits 2 (nothing staged)" 2 "$?"
    check "fstab: -u says nothing was staged" grep -q 'nothing was staged' "$w/u.out"
    check_not "fstab: unmounted by -u" mountpoint -q "$mnt"
    [ -n "$placed" ] && rm -f "$helper"
fi

# -f stays in the foreground until unmounted; -d logs requests to stderr.
"$ARTIFACTFS" -f "$w/a.mender" "$mnt" 2> "$w/f.err" &
pid=$!
for i in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
check "-f: mounted while running" mountpoint -q "$mnt"
check "-f: process still there" kill -0 "$pid"
fusermount3 -u "$mnt"
wait "$pid"
check_eq "-f: exit 2 after unmount (nothing staged)" 2 "$?"
"$ARTIFACTFS" -d "$w/a.mender" "$mnt" 2> "$w/d.err" &
pid=$!
for i in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
cat "$mnt/version" > /dev/null
fusermount3 -u "$mnt"
wait "$pid"
check "-d: FUSE requests on stderr" grep -q 'LOOKUP\|GETATTR\|opcode' "$w/d.err"

# Daemonized, messages go to syslog: listen on /dev/log if nobody does.
if [ ! -S /dev/log ]; then
    python3 - "$w/syslog.txt" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
s.settimeout(20)
with open(sys.argv[1], "a") as out:
    try:
        while True:
            out.write(s.recv(4096).decode(errors="replace") + "\n")
            out.flush()
    except socket.timeout:
        pass
os.unlink("/dev/log")
PY
    listener=$!
    for i in $(seq 50); do [ -S /dev/log ] && break; sleep 0.05; done
    cp "$w/a.mender" "$w/b.mender"
    "$ARTIFACTFS" "$w/b.mender" "$mnt"
    check "daemonized mount" mountpoint -q "$mnt"
    cp "$FIXTURES/ec.pem" "$mnt/control/sign-key"
    printf 'x' | dd of="$w/b.mender" bs=1 seek=100 conv=notrunc status=none
    fusermount3 -u "$mnt"
    for i in $(seq 100); do grep -q 'not re-signed' "$w/syslog.txt" 2>/dev/null && break; sleep 0.1; done
    check "daemonized: the refused re-sign reaches syslog" grep -q 'artifactfs.*not re-signed.*changed on disk' "$w/syslog.txt"
    kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null
    rm -f /dev/log
else
    echo "note: /dev/log exists; check journalctl -t artifactfs by hand"
fi
# A file still open at a lazy unmount: the kernel never delivers its RELEASE,
# so the daemon frees the handle itself (under ASan a leak fails the exit).
lz="$w/lazy"
if mount_art "$w/a.mender" "$lz"; then
    exec 7<"$lz/version"
    check "lazy unmount with a file open" fusermount3 -uz "$lz"
    check "the open file still reads after the lazy unmount" cat <&7 >/dev/null
    exec 7<&-
    t_reap "$lz" && check_eq "lazy unmount: the daemon exits 2 (nothing staged)" 2 "$T_RC"
else
    fail "mount for the lazy unmount check"
fi

# A re-sign renames its copy over the artifact; the last close of the old
# file, which frees its blocks, is left to a short-lived grandchild: it must
# not keep the old file once the daemon has exited.
rs="$w/rs"
cp "$w/a.mender" "$w/c.mender"
if mount_art "$w/c.mender" "$rs"; then
    check "re-sign for the old file's close: stage a key" cp "$FIXTURES/ec.pem" "$rs/control/sign-key"
    fusermount3 -u "$rs"
    t_reap "$rs" && check_eq "re-sign for the old file's close: exit 0 (re-signed)" 0 "$T_RC"
    holders() { find /proc/[0-9]*/fd -lname "$w/c.mender (deleted)" 2>/dev/null | wc -l; }
    for i in $(seq 100); do [ "$(holders)" = 0 ] && break; sleep 0.1; done
    check_eq "no process keeps the replaced artifact open 10 s after the daemon exits" 0 "$(holders)"
else
    fail "mount for the old file's close check"
fi

finish
