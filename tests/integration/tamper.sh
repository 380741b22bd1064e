#!/usr/bin/env bash
# tamper.sh — tampered artifacts still mount (so they can be inspected), and
# `sha256sum -c manifest` in the mount fails on exactly the tampered entry.
. "$(dirname "$0")/lib.sh"

SRC="$FIXTURES/rootfs-gzip.mender"

# check_sums LABEL MNT BADNAME: sha256sum -c fails, and only BADNAME is FAILED
check_sums() {
    local label=$1 mnt=$2 bad=$3 out rc
    out=$(cd "$mnt" && sha256sum -c manifest 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        pass "$label: sha256sum -c manifest fails"
    else
        fail "$label: sha256sum -c manifest fails" "it passed: $(echo $out)"
    fi
    if grep -qx "$bad: FAILED" <<<"$out"; then
        pass "$label: $bad reported FAILED"
    else
        fail "$label: $bad reported FAILED" "output: $(echo $out)"
    fi
    local others
    others=$(grep -v -x -e "$bad: FAILED" -e '.*: OK' -e 'sha256sum: WARNING: .*' <<<"$out")
    if [ -z "$others" ]; then
        pass "$label: every other entry OK"
    else
        fail "$label: every other entry OK" "unexpected: $(echo $others)"
    fi
}

# ---- payload tamper -------------------------------------------------------------
w=$(workdir)
mkdir "$w/o"
tar -xf "$SRC" -C "$w/o"
gzip -dc "$w/o/data/0000.tar.gz" > "$w/data.tar"
flip_in_tar "$w/data.tar" rootfs.ext4 1000
gzip -n -c "$w/data.tar" > "$w/o/data/0000.tar.gz"
tar -xOf "$w/data.tar" rootfs.ext4 > "$w/tampered.ext4"
check_not "payload: fixture really differs" cmp -s "$w/tampered.ext4" <(tar -xOf "$SRC" data/0000.tar.gz | gzip -dc | tar -xOf - rootfs.ext4)
repack "$w/o" "$SRC" "$w/payload.mender"
mnt="$w/mnt"
if mount_art "$w/payload.mender" "$mnt"; then
    pass "payload: mounts"
    check_cmp "payload: data/0000/rootfs.ext4 shows the tampered bytes" \
        "$mnt/data/0000/rootfs.ext4" "$w/tampered.ext4"
    check_sums "payload" "$mnt" data/0000/rootfs.ext4
    verdict=$(head -n 1 "$mnt/signature-status" 2>&1)
    check_eq "payload: signature-status verdict" invalid "$verdict"
    umount_art "$mnt" || fail "payload: unmount"
else
    fail "payload: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# ---- header tamper --------------------------------------------------------------
w=$(workdir)
mkdir "$w/o"
tar -xf "$SRC" -C "$w/o"
gzip -dc "$w/o/header.tar.gz" > "$w/header.tar"
python3 - "$w/header.tar" <<'EOF'
import sys, tarfile, io, copy
path = sys.argv[1]
with tarfile.open(path, 'r:') as t:
    ms = [(copy.copy(m), t.extractfile(m).read() if m.isreg() else None) for m in t.getmembers()]
out = []
for m, data in ms:
    if m.name == 'header-info':
        new = data.replace(b'"rel-1"', b'"rel-X"')
        assert new != data, 'artifact name not found in header-info'
        data = new
    out.append((m, data))
with tarfile.open(path, 'w:', format=tarfile.USTAR_FORMAT) as t:
    for m, data in out:
        t.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
gzip -n -c "$w/header.tar" > "$w/o/header.tar.gz"
tar -xOf "$w/header.tar" header-info > "$w/header-info"
repack "$w/o" "$SRC" "$w/header.mender"
mnt="$w/mnt"
if mount_art "$w/header.mender" "$mnt"; then
    pass "header: mounts"
    check_cmp "header: header/header-info shows the tampered bytes" \
        "$mnt/header/header-info" "$w/header-info"
    check "header: header-info has rel-X" grep -q '"rel-X"' "$mnt/header/header-info"
    check_sums "header" "$mnt" header.tar.gz
    verdict=$(head -n 1 "$mnt/signature-status" 2>&1)
    check_eq "header: signature-status verdict" invalid "$verdict"
    umount_art "$mnt" || fail "header: unmount"
else
    fail "header: mounts" "$(cat "$T_MOUNT_ERR")"
fi

# ---- untampered repack (control: the repacking itself keeps sums valid) -------------
w=$(workdir)
mkdir "$w/o"
tar -xf "$SRC" -C "$w/o"
repack "$w/o" "$SRC" "$w/same.mender"
mnt="$w/mnt"
if mount_art "$w/same.mender" "$mnt"; then
    pass "repacked original: mounts"
    check "repacked original: sha256sum -c manifest passes" \
        bash -c 'cd "$1" && sha256sum -c --quiet manifest' _ "$mnt"
    umount_art "$mnt" || fail "repacked original: unmount"
else
    fail "repacked original: mounts" "$(cat "$T_MOUNT_ERR")"
fi

finish
