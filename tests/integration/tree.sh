#!/usr/bin/env bash
# tree.sh — for every fixture: the mounted tree mirrors the artifact exactly.
# Raw members, unpacked header(s) and payload files are compared with what
# GNU tar extracts; names, sizes and mtimes with the tar headers; modes are
# 0444/0555; `sha256sum -c manifest` passes inside the mount.
. "$(dirname "$0")/lib.sh"

FIXTURE_NAMES=(rootfs-gzip rootfs-rsa rootfs-ec rootfs-none rootfs-xz rootfs-zstd rootfs-v2
               module module-none module-xz module-zstd module-nofiles bootstrap augmented)

# check_meta LABEL PATH SIZE MTIME
check_meta() {
    local label=$1 path=$2 size=$3 mtime=$4 got
    got=$(stat -c %s "$path" 2>&1)
    check_eq "$label: size" "$size" "$got"
    got=$(stat -c %Y "$path" 2>&1)
    check_eq "$label: mtime" "$mtime" "$got"
}

for f in "${FIXTURE_NAMES[@]}"; do
    art="$FIXTURES/$f.mender"
    if [ ! -f "$art" ]; then
        fail "$f: fixture" "missing $art"
        continue
    fi
    w=$(workdir)
    mnt="$w/mnt"
    if mount_art "$art" "$mnt"; then
        pass "$f: mount"
    else
        fail "$f: mount" "$(cat "$T_MOUNT_ERR")"
        continue
    fi

    tarlist "$art" > "$w/outer.lst"
    mapfile -t members < <(cut -f4 "$w/outer.lst")

    # --- root and data/ listings ---------------------------------------------
    expected_root=()
    expected_data=()
    for m in "${members[@]}"; do
        case "$m" in
            data/*) expected_data+=("${m#data/}" "$(basename "${m%%.tar*}")"); expected_root+=(data) ;;
            header.tar*) expected_root+=("$m" header) ;;
            header-augment.tar*) expected_root+=("$m" header-augment) ;;
            *) expected_root+=("$m") ;;
        esac
    done
    want=$(printf '%s\n' "${expected_root[@]}" | sort -u | tr '\n' ' ')
    got=$(ls -A "$mnt" 2>&1 | grep -vx -e signature-status -e control | sort -u | tr '\n' ' ')
    check_eq "$f: root entries (besides signature-status, control)" "$want" "$got"
    check "$f: root has signature-status" test -f "$mnt/signature-status"
    check "$f: root has control/" test -d "$mnt/control"
    want=$(printf '%s\n' "${expected_data[@]}" | sort -u | tr '\n' ' ')
    got=$(ls -A "$mnt/data" 2>&1 | sort -u | tr '\n' ' ')
    check_eq "$f: data/ entries" "$want" "$got"

    # --- raw members -----------------------------------------------------------
    while IFS=$'\t' read -r kind size mtime m; do
        [ "$kind" = f ] || { fail "$f: outer member $m" "fixture has non-file member"; continue; }
        tar -xOf "$art" "$m" > "$w/raw"
        check_cmp "$f: $m bytes" "$mnt/$m" "$w/raw"
        check_meta "$f: $m" "$mnt/$m" "$size" "$mtime"
    done < "$w/outer.lst"

    # --- unpacked inner tars ---------------------------------------------------
    for m in "${members[@]}"; do
        case "$m" in
            header.tar*|header-augment.tar*|data/*.tar*) ;;
            *) continue ;;
        esac
        dir=${m%%.tar*}
        x="$w/x/$dir"
        mkdir -p "$x"
        if ! tar -xOf "$art" "$m" | decomp "$m" > "$w/inner.tar"; then
            fail "$f: $m" "cannot decompress with the system tools"
            continue
        fi
        tar --warning=no-timestamp -xf "$w/inner.tar" -C "$x"
        tarlist "$w/inner.tar" > "$w/inner.lst"
        want=$(awk -F'\t' '$1=="f"{print $4}' "$w/inner.lst" | sed 's|^\./||' | sort | tr '\n' ' ')
        got=$( (cd "$mnt/$dir" 2>/dev/null && find . -type f) | sed 's|^\./||' | sort | tr '\n' ' ')
        check_eq "$f: files in $dir/" "$want" "$got"
        if [ ! -d "$mnt/$dir" ]; then
            fail "$f: $dir/" "not a directory in the mount"
            continue
        fi
        while IFS=$'\t' read -r kind size mtime name; do
            [ "$kind" = f ] || continue
            name=${name#./}
            check_cmp "$f: $dir/$name bytes" "$mnt/$dir/$name" "$x/$name"
            check_meta "$f: $dir/$name" "$mnt/$dir/$name" "$size" "$mtime"
        done < "$w/inner.lst"
    done

    # --- modes ---------------------------------------------------------------
    bad=$(find "$mnt" -path "$mnt/control" -prune -o \
              \( -type f ! -perm 0444 -printf '%m %p\n' \) -o \
              \( -type d ! -perm 0555 -printf '%m %p\n' \) -o \
              \( ! -type f ! -type d -printf '%y %p\n' \) 2>&1 | sed "s|$mnt|MNT|" | head -5)
    if [ -z "$bad" ]; then pass "$f: modes"; else fail "$f: modes (want files 0444, dirs 0555)" "$(echo $bad)"; fi
    got=$(stat -c %a "$mnt" 2>&1)
    check_eq "$f: mount root mode" 555 "$got"

    # --- manifest invariant ----------------------------------------------------
    check "$f: sha256sum -c manifest" bash -c 'cd "$1" && sha256sum -c --quiet manifest' _ "$mnt"
    if [ -e "$w/x/header-augment" ] || grep -q $'\tmanifest-augment$' "$w/outer.lst"; then
        check "$f: sha256sum -c manifest-augment" \
            bash -c 'cd "$1" && sha256sum -c --quiet manifest-augment' _ "$mnt"
    fi

    umount_art "$mnt" || fail "$f: unmount" "fusermount3 -u $mnt failed"
done

finish
