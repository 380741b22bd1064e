#!/usr/bin/env bash
# responsive.sh — the mount keeps answering while many opens of
# signature-status wait for the first checksum pass (issue 19: libfuse's
# default of 10 worker threads, all waiting in such opens, stalled it).
#
# The pass is held still for certain: the artifact lives on another
# artifactfs mount (a module payload file, read with direct I/O), whose
# daemon is stopped (SIGSTOP) while 16 processes open signature-status.
# Then `ls` of the mount and `cat header/header-info` must complete within
# a timeout that only a stall exceeds; after SIGCONT every open completes.
. "$(dirname "$0")/lib.sh"

W=$(workdir)
OPENS=16
STALL=20	# seconds: far beyond what ls or a cat of a small file take

cp "$FIXTURES/rootfs-none.mender" "$W/art.mender"
if ! mender-artifact write module-image -T files -n holder -t dev1 -f "$W/art.mender" \
        --compression none -o "$W/holder.mender" >"$W/write.log" 2>&1; then
    fail "write the holder artifact" "$(head -c 800 "$W/write.log")"
    finish
fi
"$ARTIFACTFS" --status "$W/art.mender" > "$W/expected" 2>&1

if ! mount_art "$W/holder.mender" "$W/inner"; then
    fail "mount the holder" "$(cat "$T_MOUNT_ERR")"
    finish
fi
INNER_PID=${T_PIDS[$W/inner]}
ART="$W/inner/data/0000/art.mender"
if ! mount_art "$ART" "$W/outer"; then
    fail "mount the artifact inside the holder" "$(cat "$T_MOUNT_ERR")"
    finish
fi

kill -STOP "$INNER_PID"
trap 'kill -CONT '"$INNER_PID"' 2>/dev/null; t_cleanup' EXIT
pids=()
for i in $(seq "$OPENS"); do
    timeout -k 5 120 cat "$W/outer/signature-status" > "$W/status.$i" 2>&1 &
    pids+=($!)
done
sleep 2
# the opens are waiting: none has finished
still=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && still=$((still + 1)); done
check_eq "the $OPENS opens wait for the held checksum pass" "$OPENS" "$still"

t0=$(date +%s%N)
timeout -k 2 "$STALL" ls "$W/outer" > "$W/ls.out" 2>&1
rc=$?
check_eq "ls of the mount completes while $OPENS opens wait (status)" 0 "$rc"
check "ls lists the tree" grep -qx header "$W/ls.out"
timeout -k 2 "$STALL" cat "$W/outer/header/header-info" > "$W/hi.out" 2>&1
rc=$?
check_eq "cat header/header-info completes while $OPENS opens wait (status)" 0 "$rc"
check "header-info is JSON" grep -q '"payloads"' "$W/hi.out"
t1=$(date +%s%N)
[ -n "${VERBOSE:-}" ] && echo "ls and cat took $(( (t1 - t0) / 1000000 )) ms"

kill -CONT "$INNER_PID"
bad=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || bad=$((bad + 1))
    head -1 "$W/status.$((i + 1))" | grep -qx "$(head -1 "$W/expected")" || bad=$((bad + 1))
done
check_eq "every open completes with the verdict once the pass goes on" 0 "$bad"

umount_art "$W/outer"
umount_art "$W/inner"
finish
