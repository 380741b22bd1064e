#!/usr/bin/env bash
# everyday.sh — the tools people reach for (issue 16): copies of a mount keep
# signature-status, the usual ways of writing a file write a key, and every
# write to the tree outside control/ is refused with EROFS.
. "$(dirname "$0")/lib.sh"

w=$(workdir)
cp "$FIXTURES/rootfs-gzip.mender" "$w/a.mender"
K=$FIXTURES

# errno_of OP PATH [ARG]: the errno name a python os call gets, or OK
errno_of() {
    python3 - "$@" <<'EOF'
import os, sys, errno
op, path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
calls = {
    'create': lambda: os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)),
    'rename': lambda: os.rename(path, arg),
    'chmod': lambda: os.chmod(path, 0o600),
    'chown': lambda: os.chown(path, 1, 1),
    'link': lambda: os.link(path, arg),
    'symlink': lambda: os.symlink('version', path),
    'unlink': lambda: os.unlink(path),
    'mkdir': lambda: os.mkdir(path),
    'rmdir': lambda: os.rmdir(path),
    'truncate': lambda: os.truncate(path, 0),
    'utimens': lambda: os.utime(path, (1, 1)),
    'mknod': lambda: os.mkfifo(path),
    'write': lambda: os.close(os.open(path, os.O_WRONLY)),
}
try:
    calls[op]()
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
}

# 1. Copies keep the verdict.
if mount_art "$w/a.mender" "$w/m"; then
    m=$w/m
    check_eq "ls -l before any open: signature-status is listed at once" 0 \
        "$(timeout 5 stat -c %s "$m/signature-status")"
    check "ls -l before any open: the checksum pass has not started" \
        grep -q '^idle' "$m/control/progress"
    cat "$m/signature-status" > "$w/status.cat"
    cat "$m/control/progress" > "$w/progress.cat"
    check_eq "after an open, getattr gives the exact size of signature-status" \
        "$(stat -c %s "$w/status.cat")" "$(stat -c %s "$m/signature-status")"
    check_eq "after an open, getattr gives the exact size of control/progress" \
        "$(stat -c %s "$w/progress.cat")" "$(stat -c %s "$m/control/progress")"
    mkdir "$w/rsync"
    check "rsync -a of the mount exits 0" rsync -a "$m/" "$w/rsync/"
    check_cmp "rsync -a copies signature-status" "$w/status.cat" "$w/rsync/signature-status"
    check_cmp "rsync -a copies control/progress" "$w/progress.cat" "$w/rsync/control/progress"
    tar -cf "$w/t.tar" -C "$m" . 2> "$w/tar.err"
    check_eq "tar -c of the mount exits 0 with nothing on stderr" "0:" "$?:$(cat "$w/tar.err")"
    tar -xOf "$w/t.tar" ./signature-status > "$w/status.tar"
    check_cmp "tar -c copies signature-status" "$w/status.cat" "$w/status.tar"
    cp -a "$m" "$w/cpa" 2> "$w/cpa.err"
    check_eq "cp -a of the mount exits 0 with nothing on stderr" "0:" "$?:$(cat "$w/cpa.err")"
    check_cmp "cp -a copies signature-status" "$w/status.cat" "$w/cpa/signature-status"
    check "shutil.copy of signature-status" python3 -c \
        "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])" "$m/signature-status" "$w/status.py"
    check_cmp "shutil.copy copies signature-status" "$w/status.cat" "$w/status.py"
    check "file(1) sees text, not an empty file" bash -c "file '$m/signature-status' | grep -q text"
    umount_art "$m"
fi
# A fresh mount, copied before anything was opened: rsync, cp and shutil open,
# then fstat, and copy what they read.  (tar sizes a file by the stat before
# it opens it: on a mount no one has read signature-status from yet, it
# stores it empty; the README says so.)
if mount_art "$w/a.mender" "$w/m"; then
    mkdir "$w/rsync2"
    check "fresh mount: rsync -a exits 0" rsync -a "$w/m/" "$w/rsync2/"
    check_cmp "fresh mount: rsync -a copies signature-status" "$w/status.cat" "$w/rsync2/signature-status"
    umount_art "$w/m"
fi
for tool in cp-a shutil; do
    if mount_art "$w/a.mender" "$w/m"; then
        rm -f "$w/fresh"
        case $tool in
            cp-a) cp -a "$w/m/signature-status" "$w/fresh" ;;
            shutil) python3 -c "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])" \
                "$w/m/signature-status" "$w/fresh" ;;
        esac
        check_cmp "fresh mount: $tool copies signature-status" "$w/status.cat" "$w/fresh"
        umount_art "$w/m"
    fi
done
# Once the pass is done, getattr knows the exact size at once, also right
# after a key changed what the report says.
if mount_art "$FIXTURES/rootfs-rsa.mender" "$w/m"; then
    cat "$w/m/signature-status" > /dev/null
    cp "$K/rsa.pub" "$w/m/control/verify-key"
    check_eq "a verify key set: stat at once gives the new size" \
        "$(stat -c %s "$w/m/signature-status")" "$(cat "$w/m/signature-status" | wc -c)"
    tar -cf "$w/t3.tar" -C "$w/m" signature-status
    check_cmp "a verify key set: tar -c copies the new report" <(cat "$w/m/signature-status") \
        <(tar -xOf "$w/t3.tar" signature-status)
    : > "$w/m/control/verify-key"
    check_eq "the key removed: stat at once gives the new size" \
        "$(stat -c %s "$w/m/signature-status")" "$(cat "$w/m/signature-status" | wc -c)"
    umount_art "$w/m"
fi

# 2. Key writes: every usual way of writing a file works and exits 0.
staged() {   # MNT: a key is staged
    grep -q 'staged' "$1/control/sign-key" 2>/dev/null
}
has_control_key() {   # MNT
    grep -q 'from control/verify-key' "$1/control/verify-key" 2>/dev/null
}
# write_with HOW SRC DST: one way of writing SRC to DST; stdout+stderr to "$w/out"
write_with() {
    local how=$1 src=$2 dst=$3
    case "$how" in
        cp) cp "$src" "$dst" ;;
        cp-p) cp -p "$src" "$dst" ;;
        cp-a) cp -a "$src" "$dst" ;;
        install) install -m 0600 "$src" "$dst" ;;
        tee) tee "$dst" < "$src" > /dev/null ;;
        dd) dd if="$src" of="$dst" status=none ;;
        redirect) cat "$src" > "$dst" ;;
        append) : > "$dst" && cat "$src" >> "$dst" ;;
        rsync-inplace) rsync --inplace "$src" "$dst" ;;
        rsync-inplace-a) rsync -a --inplace "$src" "$dst" ;;
    esac
}
WAYS=(cp cp-p cp-a install tee dd redirect append rsync-inplace rsync-inplace-a)
if mount_art "$w/a.mender" "$w/m"; then
    m=$w/m
    for how in "${WAYS[@]}"; do
        rm -f "$m/control/sign-key"
        write_with "$how" "$K/rsa.pem" "$m/control/sign-key" > "$w/out" 2>&1
        check_eq "sign-key by $how: exits 0, says nothing" "0:" "$?:$(head -c 300 "$w/out")"
        check "sign-key by $how: the key is staged" staged "$m"
        rm -f "$m/control/verify-key"
        write_with "$how" "$K/rsa.pub" "$m/control/verify-key" > "$w/out" 2>&1
        check_eq "verify-key by $how: exits 0, says nothing" "0:" "$?:$(head -c 300 "$w/out")"
        check "verify-key by $how: the key is set" has_control_key "$m"
    done
    # over a file that is there (no rm first)
    check "cp -p over a staged key" cp -p "$K/rsa.pem" "$m/control/sign-key"
    check "install over a staged key" install -m 0600 "$K/rsa.pem" "$m/control/sign-key"
    check "sign-key still staged" staged "$m"
    for f in sign-key verify-key; do
        check "chmod control/$f is accepted" chmod 0644 "$m/control/$f"
        check "touch control/$f is accepted" touch -d @1 "$m/control/$f"
        check "chown control/$f is accepted" chown 0:0 "$m/control/$f"
        check_eq "control/$f keeps mode 0600" 600 "$(stat -c %a "$m/control/$f")"
    done
    # rm removes what was written, and the file until it is written again
    rm "$m/control/sign-key"
    check_not "rm control/sign-key: nothing staged" staged "$m"
    check_not "rm control/sign-key: the file is gone" test -e "$m/control/sign-key"
    check_not "rm control/sign-key: not listed" bash -c "ls '$m/control' | grep -qx sign-key"
    rm "$m/control/verify-key"
    check_not "rm control/verify-key: no control key" has_control_key "$m"
    # rm while the file is open for writing: removed all the same
    cp "$K/rsa.pem" "$m/control/sign-key"
    exec 7> "$m/control/sign-key"
    check "rm control/sign-key while it is open" rm "$m/control/sign-key"
    exec 7>&-
    check_not "rm while open: the file is gone" test -e "$m/control/sign-key"
    check "echo > control/sign-key makes it again" bash -c "cat '$K/ec.pem' > '$m/control/sign-key'"
    check "staged again" staged "$m"
    # plain rsync writes a temporary file and renames it: refused, in one
    # line that says why, and nothing of it staged
    rm "$m/control/sign-key"
    rsync "$K/rsa.pem" "$m/control/sign-key" > "$w/out" 2>&1
    rc=$?
    check_not "plain rsync: fails" test "$rc" = 0
    check "plain rsync: says Read-only file system" grep -q 'Read-only file system' "$w/out"
    check_not "plain rsync: nothing staged" staged "$m"
    check_eq "plain rsync: no temporary file left" "" "$(ls -A "$m/control" | grep -v -e progress -e verify-key -e daemon)"
    # a refused write does the same to both files: it leaves nothing
    cp "$K/rsa.pem" "$m/control/sign-key"
    echo garbage > "$w/garbage.pem"
    check_not "sign-key: garbage refused at close" cp "$w/garbage.pem" "$m/control/sign-key"
    check_not "sign-key: a refused write leaves nothing staged" staged "$m"
    cp "$K/rsa.pub" "$m/control/verify-key"
    check_not "verify-key: garbage refused at close" cp "$w/garbage.pem" "$m/control/verify-key"
    check_not "verify-key: a refused write leaves no control key" has_control_key "$m"
    check "both refusals are said in signature-status" \
        grep -q '^control: the last write to control/verify-key was refused' "$m/signature-status"
    umount_art "$m"
fi

# 3. Every write to the tree outside control/ gets EROFS.
if mount_art "$w/a.mender" "$w/m"; then
    m=$w/m
    for p in version header/header-info data/0000/rootfs.ext4 signature-status control/progress; do
        for op in rename chmod chown link unlink truncate utimens write; do
            check_eq "$op $p: EROFS" EROFS "$(errno_of $op "$m/$p" "$m/new-name")"
        done
    done
    for p in new-file header/new data/0000/new control/new-file; do
        for op in create symlink mkdir mknod; do
            check_eq "$op $p: EROFS" EROFS "$(errno_of $op "$m/$p")"
        done
    done
    for p in data header control; do
        for op in rename chmod chown rmdir utimens; do
            check_eq "$op $p/: EROFS" EROFS "$(errno_of $op "$m/$p" "$m/new-name")"
        done
    done
    check_eq "rename onto control/sign-key: EROFS" EROFS \
        "$(errno_of rename "$m/version" "$m/control/sign-key")"
    check_eq "nothing was changed: same listing" "$(cd "$m" && ls -a)" "$(cd "$m" && ls -a)"
    check "the tree is still what the artifact holds" cmp "$m/version" <(tar -xOf "$w/a.mender" version)
    umount_art "$m"
fi
# -o ro: control/ refuses the same way
if mount_art "$w/a.mender" "$w/m" -o ro; then
    for op in chmod utimens unlink truncate write; do
        check_eq "-o ro: $op control/sign-key: EROFS" EROFS "$(errno_of $op "$w/m/control/sign-key")"
    done
    umount_art "$w/m"
fi

# 5. Staging a key that none of the verify keys accepts is refused, unless
# the mount says -o allow_new_key.
cp "$FIXTURES/rootfs-rsa.mender" "$w/release.mender"
cp "$w/release.mender" "$w/release.orig"
if mount_art "$w/release.mender" "$w/m" -o "verify_key=$K/rsa.pub"; then
    m=$w/m
    check_eq "valid release: valid" valid "$(head -n 1 "$m/signature-status")"
    cp "$K/ec.pem" "$m/control/sign-key" 2> "$w/cp.err"
    check_eq "another key: cp fails" 1 "$?"
    check "another key: with EINVAL" grep -q 'Invalid argument' "$w/cp.err"
    check "another key: nothing staged" bash -c "! grep -q staged '$m/control/sign-key'"
    check "another key: the control: line says why and how" grep -q \
        '^control: the last write to control/sign-key was refused: it was not staged: its signature verifies with none of the verify keys.*-o allow_new_key' \
        "$m/signature-status"
    check_eq "another key: still valid" valid "$(head -n 1 "$m/signature-status")"
    check "the matching key is staged" cp "$K/rsa.pem" "$m/control/sign-key"
    check "the matching key: pending says it verifies" grep -q '^pending: .*it verifies with key 1' \
        "$m/signature-status"
    rm "$m/control/sign-key"
    umount_art "$m"
fi
check_cmp "another key refused: the release is untouched" "$w/release.orig" "$w/release.mender"
if mount_art "$w/release.mender" "$w/m" -o "verify_key=$K/rsa.pub" -o allow_new_key; then
    check "-o allow_new_key: another key is staged" cp "$K/ec.pem" "$w/m/control/sign-key"
    check "-o allow_new_key: pending says it verifies with none" \
        grep -q '^pending: .*verifies with none of the 1 verify keys' "$w/m/signature-status"
    rm "$w/m/control/sign-key"
    umount_art "$w/m"
fi
# a key written to control/verify-key first makes the new key acceptable
if mount_art "$w/release.mender" "$w/m" -o "verify_key=$K/rsa.pub"; then
    cp "$K/ec.pub" "$w/m/control/verify-key"
    check "a new key whose public key is set: staged" cp "$K/ec.pem" "$w/m/control/sign-key"
    rm "$w/m/control/sign-key"
    umount_art "$w/m"
fi

# 6. Warnings: a normal artifact written by mender-artifact 3.9 has none;
# what other versions of Mender's tools do is a note:.
for f in rootfs-gzip rootfs-none rootfs-xz rootfs-zstd module module-none module-xz \
    module-zstd module-nofiles bootstrap; do
    "$ARTIFACTFS" --status "$FIXTURES/$f.mender" > "$w/st" 2>&1
    check_eq "$f (mender-artifact 3.9): no warning" "" "$(grep '^warning:' "$w/st")"
done
"$ARTIFACTFS" --status -o "verify_key=$K/rsa.pub" "$FIXTURES/rootfs-rsa.mender" > "$w/st" 2>&1
check_eq "rootfs-rsa with its key: valid, exit 0" "valid 0" "$(head -n 1 "$w/st") $?"
check_eq "rootfs-rsa with its key: no warning" "" "$(grep '^warning:' "$w/st")"
"$ARTIFACTFS" --status -o "verify_key=$K/ec.pub" "$FIXTURES/rootfs-ec.mender" > "$w/st" 2>&1
check_eq "rootfs-ec with its key: no warning" "" "$(grep '^warning:' "$w/st")"
check "the type-info note names 3.9" grep -q \
    '^note: header/headers/0000/type-info: type is "", as mender-artifact 3.9 writes it for rootfs-image; 3.9 and the C++ client accept it' "$w/st"
# what the note says of 3.9, checked against 3.9
check_eq "3.9 writes type \"\" for rootfs-image" '""' \
    "$(tar -xOf "$FIXTURES/rootfs-gzip.mender" header.tar.gz | tar -xzO headers/0000/type-info | jq .type)"
check "3.9 accepts it (validate)" bash -c \
    "mender-artifact validate -k '$K/rsa.pub' '$FIXTURES/rootfs-rsa.mender' 2>&1 | grep -q 'validated successfully'"
# the hint to sign: on a mount where a key can be written, until one is
if mount_art "$w/a.mender" "$w/m" -o "verify_key=$K/rsa.pub"; then
    check "unsigned with a key: the mount says how to sign it" grep -q \
        '^reason: the artifact is not signed, .*; sign it (write a private key to control/sign-key)$' \
        "$w/m/signature-status"
    cp "$K/rsa.pem" "$w/m/control/sign-key"
    check "a key staged: the reason is still there" grep -q '^reason: the artifact is not signed' \
        "$w/m/signature-status"
    check_not "a key staged: no hint to write one" grep -q 'write a private key' "$w/m/signature-status"
    rm "$w/m/control/sign-key"
    umount_art "$w/m"
fi
if mount_art "$w/a.mender" "$w/m" -o "verify_key=$K/rsa.pub" -o ro; then
    check_not "-o ro: no hint to write a key" grep -q 'write a private key' "$w/m/signature-status"
    umount_art "$w/m"
fi
"$ARTIFACTFS" --status -o "verify_key=$K/rsa.pub" "$w/a.mender" > "$w/st" 2>&1
check_not "--status: no hint to write control/sign-key" grep -q 'control/sign-key' "$w/st"

# 7. A DER key gets the command that converts it; a damaged tar header is
# named as the cause.
openssl pkey -pubin -in "$K/rsa.pub" -outform DER -out "$w/rsa.der"
"$ARTIFACTFS" --status -o "verify_key=$w/rsa.der" "$FIXTURES/rootfs-rsa.mender" > "$w/st" 2>&1
check "DER verify key: a conversion hint" grep -q \
    'rsa.der: is DER, not PEM: convert it with openssl pkey -pubin -inform DER -in KEY -out KEY.pem' "$w/st"
if mount_art "$w/a.mender" "$w/m"; then
    check_not "DER to control/verify-key: refused" cp "$w/rsa.der" "$w/m/control/verify-key"
    check "DER to control/verify-key: the hint" grep -q '^control: .*is DER, not PEM: convert it' \
        "$w/m/signature-status"
    openssl pkey -in "$K/ec.pem" -outform DER -out "$w/ec-priv.der"
    check_not "DER to control/sign-key: refused" cp "$w/ec-priv.der" "$w/m/control/sign-key"
    check "DER to control/sign-key: the hint" grep -q '^control: .*is DER, not PEM: convert it' \
        "$w/m/signature-status"
    umount_art "$w/m"
fi
# flip_header ART MEMBER: one bit of MEMBER's tar header (its name field)
flip_header() {
    python3 - "$1" "$2" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    off = t.getmember(sys.argv[2]).offset
with open(sys.argv[1], 'r+b') as f:
    f.seek(off + 100); b = f.read(1); f.seek(off + 100); f.write(bytes([b[0] ^ 1]))
PY
}
cp "$w/a.mender" "$w/flip-manifest.mender"
flip_header "$w/flip-manifest.mender" manifest
"$ARTIFACTFS" --status "$w/flip-manifest.mender" > "$w/st" 2>&1
check "manifest's tar header damaged: the refusal names it" grep -q \
    "the outer tar is damaged after 'version': the entry at offset 1024: .*a header checksum is wrong" "$w/st"
check_not "manifest's tar header damaged: not 'has no header.tar member'" grep -q 'has no header.tar' "$w/st"
cp "$w/a.mender" "$w/flip-data.mender"
flip_header "$w/flip-data.mender" data/0000.tar.gz
"$ARTIFACTFS" --status "$w/flip-data.mender" > "$w/st" 2>&1
check "data's tar header damaged: the first reason is the damage" bash -c \
    "sed -n 2p '$w/st' | grep -q \"^reason: artifact: the outer tar is damaged after 'header.tar.gz': .*a header checksum is wrong\""
check_eq "data's tar header damaged: said once" 1 "$(grep -c 'the outer tar is damaged' "$w/st")"
check_eq "data's tar header damaged: the first reason's code is damaged" "reason damaged" \
    "$(reason_codes "$w/flip-data.mender" | head -n 1)"

finish
