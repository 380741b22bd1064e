#!/usr/bin/env bash
# cli.sh — what scripts rely on (issue 15): usage errors are exit 5 and one
# line; --status takes several artifacts, prints JSON, fails on warnings with
# --strict and says something on every exit status; the mountpoint is
# checked; artifactfs -u waits for the commit and exits with its outcome; -f
# exits 0/1/2; a signal with a key staged says the key was discarded.
. "$(dirname "$0")/lib.sh"

F=$FIXTURES
W=$(workdir)
A=$ARTIFACTFS

# one_line_exit NAME WANT CMD...: CMD exits WANT with one line on stderr
# and nothing on stdout; the line is in $LINE.
one_line_exit() {
    local name=$1 want=$2 rc
    shift 2
    "$@" > "$W/o" 2> "$W/e"
    rc=$?
    LINE=$(cat "$W/e")
    check_eq "$name: exit $want" "$want" "$rc"
    check_eq "$name: one line on stderr" 1 "$(wc -l < "$W/e")"
    check_eq "$name: nothing on stdout" 0 "$(wc -c < "$W/o")"
}

# ------------------------------------------------------------ usage errors
ART=$F/rootfs-rsa.mender
mkdir -p "$W/m"
for args in "--json" "-q" "--bogus" "-x" "-o bogus=1" "-o verify-key=$F/rsa.pub" \
    "-k $F/rsa.pub" "--format=yaml" "--format" "-o ro" "-f" "-o allow_other"; do
    # shellcheck disable=SC2086
    one_line_exit "--status $args" 5 "$A" --status $args "$ART"
done
for args in "--json" "-q" "-x" "-o bogus=1" "-o verify-key=$F/rsa.pub" "-k $F/rsa.pub" \
    "--strict" "--format=json"; do
    # shellcheck disable=SC2086
    one_line_exit "mount $args" 5 "$A" $args "$ART" "$W/m"
    check_not "mount $args: nothing mounted" mountpoint -q "$W/m"
done
check "-o verify-key=: did you mean verify_key?" \
    grep -q "did you mean verify_key?" <("$A" --status -o "verify-key=$F/rsa.pub" "$ART" 2>&1)
check "mount -o verify-key=: did you mean verify_key?" \
    grep -q "did you mean verify_key?" <("$A" -o "verify-key=$F/rsa.pub" "$ART" "$W/m" 2>&1)
check "--status -k KEY: hint to use -o verify_key=" \
    grep -q -- "-k'.*-o verify_key=FILE" <("$A" --status -k "$F/rsa.pub" "$ART" 2>&1)
check "--json: did you mean --format=json?" \
    grep -q "did you mean --format=json?" <("$A" --status --json "$ART" 2>&1)
check "-o bogus=1 names the option" grep -q "'-o bogus=1'" <("$A" --status -o bogus=1 "$ART" 2>&1)
one_line_exit "mount with three operands" 5 "$A" "$ART" "$W/m" extra
one_line_exit "mount without MOUNTPOINT" 5 "$A" "$ART"
one_line_exit "--status without ARTIFACT" 5 "$A" --status
one_line_exit "-u without MOUNTPOINT" 5 "$A" -u
one_line_exit "-u with -o" 5 "$A" -u -o ro "$W/m"

# ------------------------------------------------------------ --status, several
VALID=$F/rootfs-rsa.mender      # valid with rsa.pub
UNSIGNED=$F/rootfs-gzip.mender  # invalid with rsa.pub (unsigned while a key is set)
status_rc() { "$A" --status "$@" > "$W/st.out" 2> "$W/st.err"; echo $?; }
check_eq "one valid: 0" 0 "$(status_rc -o "verify_key=$F/rsa.pub" "$VALID")"
check_eq "no key: unverified and unsigned: worst is unsigned (2)" 2 \
    "$(status_rc "$VALID" "$UNSIGNED")"
check_eq "verdict lines, one per artifact, in order" \
    "$VALID: unverified|$UNSIGNED: unsigned" "$(head -n 2 "$W/st.out" | paste -sd '|')"
check_eq "two reports follow, each under its name" 2 "$(grep -c '^==> .* <==$' "$W/st.out")"
check_eq "with a key: valid and invalid: worst is invalid (1)" 1 \
    "$(status_rc -o "verify_key=$F/rsa.pub" "$VALID" "$UNSIGNED")"
check_eq "a missing artifact: worst is 4" 4 \
    "$(status_rc -o "verify_key=$F/rsa.pub" "$VALID" "$W/missing.mender" "$UNSIGNED")"
check_eq "the missing artifact's verdict line" "$W/missing.mender: unreadable" \
    "$(sed -n 2p "$W/st.out")"
check_eq "exit 4 alone: first line unreadable" unreadable \
    "$(status_rc "$W/missing.mender" >/dev/null; head -n 1 "$W/st.out")"
check "exit 4 alone: a reason line names the file" \
    grep -q "^reason: $W/missing.mender: cannot open" "$W/st.out"
check_eq "a key that cannot be read: 4" 4 "$(status_rc -o "verify_key=$W/nokey.pub" "$VALID")"
check_eq "a key that cannot be read: first line unreadable" unreadable "$(head -n 1 "$W/st.out")"
check "a key that cannot be read: the reason names the key" \
    grep -q "^reason: $W/nokey.pub: " "$W/st.out"
# the keys load while the first artifact is checked: their failure still
# makes every artifact unreadable, a missing one too, and is said first
printf 'not a key\n' > "$W/junk.pub"
check_eq "a key that is not a key, three artifacts: 4" 4 \
    "$(status_rc -o "verify_key=$W/junk.pub" "$VALID" "$W/missing.mender" "$UNSIGNED")"
check_eq "a key that is not a key: every verdict line unreadable" \
    "$VALID: unreadable|$W/missing.mender: unreadable|$UNSIGNED: unreadable" \
    "$(head -n 3 "$W/st.out" | paste -sd '|')"
check_eq "a key that is not a key: every report's reason names the key" 3 \
    "$(grep -c "^reason: $W/junk.pub: " "$W/st.out")"
check "a key that is not a key: stderr's first line names the key" \
    grep -q "^artifactfs: $W/junk.pub: " <(head -n 1 "$W/st.err")
check_not "a key that is not a key: stderr says nothing of the missing artifact" \
    grep -q "missing.mender" "$W/st.err"
check_eq "one artifact: the report is signature-status's (verdict first)" valid \
    "$(status_rc -o "verify_key=$F/rsa.pub" "$VALID" >/dev/null; head -n 1 "$W/st.out")"

# --strict: a warning fails; without warnings, the same status as without it
for art in "$F"/rootfs-rsa.mender "$F"/module.mender "$F"/rootfs-ec.mender; do
    plain=$(status_rc "$art")
    nwarn=$(grep -c '^warning:' "$W/st.out")
    strict=$(status_rc --strict "$art")
    if [ "$nwarn" -gt 0 ] && [ "$plain" -ne 1 ]; then
        check_eq "--strict $(basename "$art") ($nwarn warnings): exit 1" 1 "$strict"
        check_eq "--strict $(basename "$art"): verdict invalid" invalid "$(head -n 1 "$W/st.out")"
        check "--strict $(basename "$art"): a reason says why" grep -q '^reason: --strict: ' "$W/st.out"
        check_eq "--strict $(basename "$art"): the first reason's code is strict" "reason strict" \
            "$(reason_codes "$art" --strict | head -n 1)"
    else
        check_eq "--strict $(basename "$art") (no warnings): exit as without" "$plain" "$strict"
    fi
done

# --format=json: one object per artifact, checked with jq against the text
# report and the artifact's own header-info.
"$A" --status --format=json -o "verify_key=$F/rsa.pub" "$VALID" "$UNSIGNED" "$W/missing.mender" \
    > "$W/j.out" 2> /dev/null
check_eq "json: exit is the worst (4)" 4 "$?"
check_eq "json: one object per line" 3 "$(jq -c . "$W/j.out" | wc -l)"
check_eq "json: artifacts in order" "$VALID $UNSIGNED $W/missing.mender" \
    "$(jq -r .artifact "$W/j.out" | paste -sd ' ')"
check_eq "json: verdicts" "valid invalid unreadable" "$(jq -r .verdict "$W/j.out" | paste -sd ' ')"
check_eq "json: statuses" "0 1 4" "$(jq -r .status "$W/j.out" | paste -sd ' ')"
"$A" --status -o "verify_key=$F/rsa.pub" "$UNSIGNED" > "$W/t.out"
check_eq "json: reasons are the text report's reason lines" \
    "$(sed -n 's/^reason: //p' "$W/t.out")" "$(jq -r 'select(.status == 1) | .reasons[].text' "$W/j.out")"
check_eq "json: warnings are the text report's warning lines" \
    "$(sed -n 's/^warning: //p' "$W/t.out")" "$(jq -r 'select(.status == 1) | .warnings[].text' "$W/j.out")"
check_eq "json: each reason has its code" "unsigned-with-keys" \
    "$(jq -r 'select(.status == 1) | .reasons[].code' "$W/j.out")"
"$A" --status -o "verify_key=$F/rsa.pub" "$VALID" > "$W/t.out"
check_eq "json: key lines" "$(sed -n 's/^key [0-9]*: //p' "$W/t.out")" \
    "$(jq -r 'select(.status == 0) | .keys[]' "$W/j.out")"
check_eq "json: checksums" "$(sed -n 's/^checksum \([^:]*\): ok$/\1/p' "$W/t.out")" \
    "$(jq -r 'select(.status == 0) | .checksums[] | select(.result == "ok") | .name' "$W/j.out")"
check_eq "json: checksum values are the manifest's" \
    "$(tar -xOf "$VALID" manifest | awk '{print $1}' | sort)" \
    "$(jq -r 'select(.status == 0) | .checksums[] | .expected' "$W/j.out" | sort)"
if mount_art "$VALID" "$W/m"; then
    hi="$W/m/header/header-info"
    check_eq "json: artifact name" "$(jq -r .artifact_provides.artifact_name "$hi")" \
        "$(jq -r 'select(.status == 0) | .artifact_name' "$W/j.out")"
    check_eq "json: device types" "$(jq -c .artifact_depends.device_type "$hi")" \
        "$(jq -c 'select(.status == 0) | .device_types' "$W/j.out")"
    check_eq "json: provides has header-info's and type-info's" \
        "$(jq -s -c '.[0].artifact_provides + .[1].artifact_provides' "$hi" \
            "$W/m/header/headers/0000/type-info")" \
        "$(jq -c 'select(.status == 0) | .provides' "$W/j.out")"
    check_eq "json: depends" "$(jq -c .artifact_depends "$hi")" \
        "$(jq -c 'select(.status == 0) | .depends' "$W/j.out")"
    umount_art "$W/m"
fi
check_eq "json: unreadable has a reason" 1 \
    "$(jq -r 'select(.status == 4) | .reasons | length' "$W/j.out")"
check_eq "json: a missing artifact's reason is io" io \
    "$(jq -r 'select(.status == 4) | .reasons[].code' "$W/j.out")"

# ------------------------------------------------------------ the mountpoint
cp "$F/rootfs-gzip.mender" "$W/a.mender"
cp "$W/a.mender" "$W/b.mender"
one_line_exit "a regular file as the mountpoint" 4 "$A" "$W/a.mender" "$W/b.mender"
check "regular file: the line says so" grep -q "not a directory" <<< "$LINE"
check_cmp "regular file: nothing mounted over it" "$W/a.mender" "$W/b.mender"
one_line_exit "a missing mountpoint" 4 "$A" "$W/a.mender" "$W/nodir"
if mount_art "$W/a.mender" "$W/m"; then
    one_line_exit "mounting twice on the same mountpoint" 4 "$A" "$W/b.mender" "$W/m"
    check "twice: the line names the artifactfs mount" grep -q "already holds an artifactfs mount" <<< "$LINE"
    check_eq "twice: one mount only" 1 "$(grep -c " $W/m fuse.artifactfs " /proc/mounts)"
    umount_art "$W/m"
fi

# ------------------------------------------------------------ -f exit codes
# fg_run NAME ACTION: artifactfs -f on a copy; ACTION MNT; unmount; DRC
fg_run() {
    local pid i
    cp "$F/rootfs-gzip.mender" "$W/f.mender"
    "$A" -f "$W/f.mender" "$W/m" 2> "$W/f.err" &
    pid=$!
    for i in $(seq 200); do mountpoint -q "$W/m" && break; sleep 0.05; done
    "$2" "$W/m"
    fusermount3 -u "$W/m"
    wait "$pid"
    DRC=$?
}
act_nothing() { cat "$1/signature-status" > /dev/null; }
act_stage() { cp "$F/ec.pem" "$1/control/sign-key"; }
act_stage_change() { act_stage "$1"; printf x | dd of="$W/f.mender" bs=1 seek=100 conv=notrunc status=none; }
fg_run "-f" act_nothing
check_eq "-f, nothing staged: exit 2" 2 "$DRC"
fg_run "-f" act_stage
check_eq "-f, re-signed: exit 0" 0 "$DRC"
check_eq "-f, re-signed: valid" valid "$("$A" --status -o "verify_key=$F/ec.pub" "$W/f.mender" | head -1)"
fg_run "-f" act_stage_change
check_eq "-f, refused (changed on disk): exit 1" 1 "$DRC"
check "-f, refused: the reason on stderr" grep -q "changed on disk" "$W/f.err"

# ------------------------------------------------------------ signals
for sig in INT TERM; do
    cp "$F/rootfs-gzip.mender" "$W/s.mender"
    # a background job of a script ignores SIGINT: give it back its default
    env --default-signal=INT "$A" -f "$W/s.mender" "$W/m" 2> "$W/s.err" &
    pid=$!
    for i in $(seq 200); do mountpoint -q "$W/m" && break; sleep 0.05; done
    check "SIG$sig: stage" cp "$F/ec.pem" "$W/m/control/sign-key"
    kill -"$sig" "$pid"
    wait "$pid"
    check_eq "SIG$sig with a key staged: exit 1" 1 "$?"
    check_eq "SIG$sig: one line on stderr" 1 "$(wc -l < "$W/s.err")"
    check "SIG$sig: the line says discarded and unchanged" \
        grep -q "stopped by SIG$sig with a key staged: the key was discarded and the artifact is unchanged" "$W/s.err"
    check_cmp "SIG$sig: the artifact is unchanged" "$F/rootfs-gzip.mender" "$W/s.mender"
    check_not "SIG$sig: unmounted" mountpoint -q "$W/m"
    check_eq "SIG$sig: no temporary file" 0 "$(ls -A "$W" | grep -c artifactfs-)"
done

# ------------------------------------------------------------ artifactfs -u
# daemonized mounts (as `artifactfs ART MNT`, mount -t and fstab do)
u_run() {   # ACTION: mount $W/u.mender daemonized, ACTION, -u; URC, output in u.out/u.err
    "$A" "$W/u.mender" "$W/m" || { fail "-u: mount"; return; }
    "$1" "$W/m"
    "$A" -u "$W/m" > "$W/u.out" 2> "$W/u.err"
    URC=$?
}
cp "$F/rootfs-gzip.mender" "$W/u.mender"
check "control/daemon names the daemon's pid" \
    bash -c "'$A' '$W/u.mender' '$W/m' && pid=\$(sed -n 's/^pid //p' '$W/m/control/daemon') && \
        [ \"\$(cat /proc/\$pid/comm)\" = artifactfs ] && fusermount3 -u '$W/m'"
sleep 0.5
u_run act_nothing
check_eq "-u, nothing staged: exit 2" 2 "$URC"
check "-u, nothing staged: says so" grep -q "nothing was staged" "$W/u.out"
check_not "-u: unmounted" mountpoint -q "$W/m"
check_cmp "-u, nothing staged: unchanged" "$F/rootfs-gzip.mender" "$W/u.mender"
u_run act_stage
check_eq "-u, re-signed: exit 0" 0 "$URC"
check "-u, re-signed: says so" grep -q "^artifactfs: $W/u.mender: re-signed$" "$W/u.out"
check_eq "-u, re-signed: valid" valid "$("$A" --status -o "verify_key=$F/ec.pub" "$W/u.mender" | head -1)"
cp "$F/rootfs-gzip.mender" "$W/u.mender"
act_change() { act_stage "$1"; printf x | dd of="$W/u.mender" bs=1 seek=100 conv=notrunc status=none; }
u_run act_change
check_eq "-u, refused: exit 1" 1 "$URC"
check "-u, refused: the reason on stderr" grep -q "changed on disk" "$W/u.err"
one_line_exit "-u on a directory that is no mount" 4 "$A" -u "$W/m"
check "-u on no mount: says so" grep -q "not an artifactfs mount" <<< "$LINE"
# fusermount3 -u keeps working (it does not wait)
cp "$F/rootfs-gzip.mender" "$W/u.mender"
"$A" "$W/u.mender" "$W/m" && fusermount3 -u "$W/m"
check_eq "fusermount3 -u still unmounts" 0 "$?"
sleep 0.5

# The 300 MiB case: `artifactfs -u MNT && sha256sum ART` sees the final file.
head -c 300M /dev/urandom > "$W/big.ext4"
mender-artifact write rootfs-image -n big -t dev1 -f "$W/big.ext4" --compression none \
    -o "$W/big.mender" --no-progress > /dev/null 2>&1
rm -f "$W/big.ext4"
check "300 MiB artifact written" test "$(stat -c %s "$W/big.mender")" -gt $((300 << 20))
for trial in 1 2 3; do
    cp "$W/big.mender" "$W/u.mender"
    "$A" "$W/u.mender" "$W/m" || { fail "300 MiB $trial: mount"; continue; }
    pid=$(sed -n 's/^pid //p' "$W/m/control/daemon")
    cp "$F/ec.pem" "$W/m/control/sign-key"
    if "$A" -u "$W/m" > /dev/null; then
        sum=$(sha256sum < "$W/u.mender")
        pass "300 MiB $trial: -u exits 0"
    else
        fail "300 MiB $trial: -u exits 0"
        continue
    fi
    timeout 60 tail --pid="$pid" -f /dev/null
    check_eq "300 MiB $trial: the sum after -u is the final file's" "$(sha256sum < "$W/u.mender")" "$sum"
    check_not "300 MiB $trial: not the original" cmp -s "$W/big.mender" "$W/u.mender"
    check_eq "300 MiB $trial: no temporary file" 0 "$(ls -A "$W" | grep -c artifactfs-)"
done
check_eq "300 MiB: the re-signed artifact is valid" valid \
    "$("$A" --status -o "verify_key=$F/ec.pub" "$W/u.mender" | head -1)"
finish
