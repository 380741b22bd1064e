#!/usr/bin/env bash
# Runs every ```sh block of README.md, as printed, against artifacts written
# by mender-artifact, so that the README's examples cannot rot.  Only the
# mount points (/mnt/art, /mnt/rootfs) are replaced by temporary directories.
. "$(dirname "$0")/lib.sh"

readme="$SOURCE_ROOT/README.md"
w=$(workdir)
bin=$(workdir)
ln -s "$(realpath "$ARTIFACTFS")" "$bin/artifactfs"
export PATH="$bin:$PATH"

# the cast of the examples, made as the README tells a newcomer to
check "scripts/example-artifacts makes the examples' artifacts" \
    bash "$SOURCE_ROOT/scripts/example-artifacts" "$w"
for f in release-1.0.mender release-key.pub refused.mender edited.mender build-42.mender signing-key.pem \
    signing-key.pub; do
    check "example-artifacts made $f" test -s "$w/$f"
done

# Splits the README into blocks/N.sh, one per ```sh fence.
mkdir -p "$w/blocks"
awk -v dir="$w/blocks" '
    /^```sh$/ { n++; file = sprintf("%s/%02d.sh", dir, n); inside = 1; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { print > file }
' "$readme"
count=$(ls "$w/blocks" | wc -l)
check "README has runnable examples" test "$count" -ge 5

for block in "$w"/blocks/*.sh; do
    name="README example $(basename "$block" .sh) ($(grep -m1 -o 'artifactfs[^|&;]*' "$block" | head -c 60))"
    art=$(workdir)
    rootfs=$(workdir)
    T_MOUNTS+=("$art" "$rootfs")
    sed -e "s#/mnt/art#$art#g" -e "s#/mnt/rootfs#$rootfs#g" "$block" > "$block.run"
    (cd "$w" && timeout 120 bash -e -o pipefail "$block.run") > "$block.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name"
    else
        fail "$name" "exited $rc: $(tail -c 800 "$block.out")"
    fi
    mountpoint -q "$rootfs" && umount "$rootfs"
    mountpoint -q "$art" && fusermount3 -u "$art"
done

# What each example shows must be what the README says it shows.
out() { cat "$w/blocks/$1.sh.out" 2>/dev/null; }
check "inspect: sha256sum -c passes" grep -q '^data/0000/rootfs.ext4: OK$' <(out 01)
check "inspect: the rootfs inside is readable" grep -q 'Demo Linux' <(out 01)
check "inspect: jq reads the device types" grep -q '^raspberrypi4$' <(out 01)
check "CI: release-1.0.mender is valid" grep -q '^release-1.0.mender: valid$' <(out 02)
check "CI: build-42.mender is invalid (unsigned, a key is set)" grep -q '^build-42.mender: invalid$' <(out 02)
check "CI: nightly.mender is unreadable" grep -q '^nightly.mender: unreadable$' <(out 02)
check "CI: a reason for each failure" test "$(grep -c '^reason:' <(out 02))" -ge 2
check "CI: the worst status is 4" grep -q '^worst status: 4$' <(out 02)
check_eq "JSON: verdict, name, device types" "valid|demo-1.0|raspberrypi4 qemux86-64" \
    "$(head -n 3 <(out 03) | paste -sd '|')"
check "JSON: checksums listed" grep -q '^data/0000/rootfs.ext4 ok$' <(out 03)
check "JSON: --strict passes: a release has no warning" grep -q '^with --strict: valid, no warning either$' <(out 03)
check "debug: refused.mender is invalid" grep -q '^invalid$' <(out 04)
check "debug: a reason names the key" grep -q '^reason: signature does not verify with key 1' <(out 04)
check "debug: another key's signature: not made by this key" \
    grep -q '^reason: signature does not verify with key 1 (RSA-3072): not made by this key' <(out 04)
check "debug: an edited manifest: made by this key, over a different manifest" \
    grep -q '^reason: signature does not verify with key 1 (RSA-3072): made by this key, over a different manifest: it signed SHA-256 [0-9a-f]\{64\}, the manifest.s is [0-9a-f]\{64\}' <(out 04)
check "sign: pending line shown" grep -q '^pending: re-sign at unmount' <(out 05)
check "sign: -u says re-signed" grep -q '^build-42.mender is re-signed$' <(out 05)
check "sign: re-signed and valid" grep -q '^valid$' <(out 05)
check "sign: mender-artifact agrees" mender-artifact validate -k "$w/signing-key.pub" "$w/build-42.mender"
finish
