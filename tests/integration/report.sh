# report.sh — helpers for the tests of signature-status (status.sh,
# integrity.sh): run `artifactfs --status` and a mount on the same artifact
# and keys, match lines of both reports, compare with `mender-artifact
# validate -k`, and rebuild artifacts.  Needs lib.sh, and W (the workdir) set.

MA=${MENDER_ARTIFACT:-mender-artifact}

# sha256 of a file (stdin if no file)
sum() { sha256sum "$@" | cut -d' ' -f1; }

# fp PUBKEY: what artifactfs prints after SHA256: sha256 of the DER SPKI
fp() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# rsa_bits PUBKEY: key size as openssl reports it
rsa_bits() { openssl pkey -pubin -in "$1" -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p'; }

verdict_rc() {
    case "$1" in
        valid) echo 0 ;; invalid) echo 1 ;; unsigned) echo 2 ;; unverified) echo 3 ;; *) echo '?' ;;
    esac
}

# both NAME ARTIFACT EXPECTED_VERDICT [KEY...]
# Runs `artifactfs --status -o verify_key=KEY...` and reads signature-status on
# a mount with the same keys; checks verdict and exit code of --status, the
# verdict of the mount, and that both reports are the same text.  Leaves the
# reports in $R_ST (--status) and $R_MNT (mount), and the codes of the
# reasons and warnings (reason_codes) in $R_CODES.
R_ST=
R_MNT=
R_CODES=
both() {
    local name=$1 art=$2 exp=$3 k d rc
    shift 3
    local opts=()
    for k in "$@"; do opts+=(-o "verify_key=$k"); done
    d=$(mktemp -d "$W/case.XXXXXX")
    R_ST=$d/status
    R_MNT=$d/mounted
    R_CODES=$d/codes
    "$ARTIFACTFS" --status "${opts[@]}" "$art" >"$R_ST" 2>"$d/status.err"
    rc=$?
    reason_codes "$art" "${opts[@]}" >"$R_CODES"
    check_eq "$name: --status verdict" "$exp" "$(head -n 1 "$R_ST")"
    check_eq "$name: --status exit code" "$(verdict_rc "$exp")" "$rc"
    if mount_art "$art" "$d/mnt" "${opts[@]}" 2>"$d/mount_art.err"; then
        cat "$d/mnt/signature-status" >"$R_MNT" 2>&1
        umount_art "$d/mnt" || fail "$name: unmount"
        check_eq "$name: signature-status verdict" "$exp" "$(head -n 1 "$R_MNT")"
        # a mount says how to sign an unsigned artifact; --status cannot sign
        sed 's/; sign it (write a private key to control\/sign-key)$//' "$R_MNT" > "$d/mounted.nohint"
        check_cmp "$name: signature-status == --status report (but the mount's sign hint)" \
            "$R_ST" "$d/mounted.nohint"
    else
        : >"$R_MNT"
        fail "$name: mounts" "$(cat "$T_MOUNT_ERR")"
    fi
}

# in_both NAME WANT FLAGS PATTERN: whether a line of each report matches
# PATTERN (grep -FLAGS) is WANT (1 or 0)
in_both() {
    local name=$1 want=$2 flags=$3 re=$4 f which found
    for f in "$R_ST" "$R_MNT"; do
        [ "$f" = "$R_ST" ] && which="--status" || which="mounted"
        grep -q"$flags" -- "$re" "$f" && found=1 || found=0
        if [ "$found" = "$want" ]; then
            pass "$name ($which)"
        elif [ "$want" = 1 ]; then
            fail "$name ($which)" "no line matches '$re' in: $(head -c 1500 "$f")"
        else
            fail "$name ($which)" "unexpected: $(grep -"$flags" -- "$re" "$f" | head -3)"
        fi
    done
}

# codes NAME EXPECTED: the reasons' and warnings' codes of the last `both`
# are EXPECTED ("reason sig-bad" lines, or a space between kind and code and
# a comma between entries: "reason sig-bad,warning key-weak")
codes() {
    check_eq "$1" "$(tr ',' '\n' <<<"$2")" "$(cat "$R_CODES")"
}

# has_codes NAME EXPECTED: the reasons' and warnings' codes of the last `both`
# include each of EXPECTED (as for codes), whatever else they hold
has_codes() {
    local want missing=
    while IFS= read -r want; do
        grep -qxF -- "$want" "$R_CODES" || missing="$missing, $want"
    done < <(tr ',' '\n' <<<"$2")
    if [ -z "$missing" ]; then
        pass "$1"
    else
        fail "$1" "missing ${missing#, } in: $(tr '\n' ' ' < "$R_CODES")"
    fi
}

# line NAME PATTERN: a line of both reports matches the ERE PATTERN
line() { in_both "$1" 1 E "$2"; }
# xline NAME TEXT: a line of both reports is exactly TEXT
xline() { in_both "$1" 1 xF "$2"; }
# no_line NAME PATTERN: no line of either report matches PATTERN
no_line() { in_both "$1" 0 E "$2"; }

# ma_verdict ART KEY: runs mender-artifact validate -k KEY ART; sets MA_OUT to its
# output and MA_V to "valid" if it validated (3.9 exits 0 even on a bad -k
# file, so the success message is required too), else "invalid"
MA_OUT=
MA_V=
ma_verdict() {
    local rc
    MA_OUT=$("$MA" validate -k "$2" "$1" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'validated successfully' <<<"$MA_OUT"; then
        MA_V=valid
    else
        MA_V=invalid
    fi
}

# agree NAME ART KEY: mender-artifact validate succeeds <=> our verdict (in $R_ST) is valid
agree() {
    local name=$1 art=$2 key=$3 ma ours
    ma_verdict "$art" "$key"
    ma=$MA_V
    ours=$(head -n 1 "$R_ST")
    [ "$ours" = valid ] || ours=invalid
    if [ "$ma" = "$ours" ]; then
        pass "$name: agrees with mender-artifact validate ($ma)"
    else
        fail "$name: agrees with mender-artifact validate" \
            "validate says $ma ($(echo $MA_OUT | tail -c 300)), artifactfs says $(head -n 1 "$R_ST")"
    fi
}

# differs NAME ART KEY MA_MESSAGE: a known difference: we say valid, 3.9 refuses with MA_MESSAGE
differs() {
    local name=$1 art=$2 key=$3 msg=$4 ma
    ma_verdict "$art" "$key"
    ma=$MA_V
    check_eq "$name: (known difference) mender-artifact 3.9 validate refuses it" invalid "$ma"
    if grep -qF -- "$msg" <<<"$MA_OUT"; then
        pass "$name: mender-artifact says '$msg'"
    else
        fail "$name: mender-artifact says '$msg'" "it said: $(echo $MA_OUT | tail -c 300)"
    fi
    check_eq "$name: (known difference) artifactfs says valid" valid "$(head -n 1 "$R_ST")"
}

# put_sig SRC SIGFILE OUT: SRC with manifest.sig added (right after manifest) or replaced
put_sig() {
    local src=$1 sig=$2 out=$3 d order
    d=$(mktemp -d "$W/put.XXXXXX")
    tar -xf "$src" -C "$d"
    cp "$sig" "$d/manifest.sig"
    mapfile -t order < <(tar -tf "$src" | grep -vx manifest.sig | sed '/^manifest$/a manifest.sig')
    (cd "$d" && tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 \
        --mode=0600 -cf "$out" "${order[@]}")
}


now_ms() { echo $(( $(date +%s%N) / 1000000 )); }


# stricter NAME ART KEY: a known difference the other way: mender-artifact 3.9
# validate accepts it, artifactfs (its verdict in $R_ST) says invalid
stricter() {
    local name=$1 art=$2 key=$3
    ma_verdict "$art" "$key"
    check_eq "$name: (known difference) mender-artifact 3.9 validate accepts it" valid "$MA_V"
    check_eq "$name: (known difference) artifactfs says invalid" invalid "$(head -n 1 "$R_ST")"
}

# reseal DIR [PRIVATE_KEY]: after members in DIR (an unpacked artifact) were
# changed, puts their new sums in manifest (version, header.tar*) and
# manifest-augment (header-augment.tar*), and signs manifest again with
# PRIVATE_KEY (as mender-artifact does: PKCS#1 v1.5 or raw r||s is not needed
# here, RSA only)
reseal() {
    local dir=$1 key=${2:-} f m
    for f in "$dir"/version "$dir"/header.tar* "$dir"/header-augment.tar*; do
        [ -f "$f" ] || continue
        m=$dir/manifest
        case $f in */header-augment.tar*) m=$dir/manifest-augment ;; esac
        sed -i "s|^[0-9a-f]\{64\}  ${f#"$dir"/}\$|$(sum "$f")  ${f#"$dir"/}|" "$m"
    done
    if [ -n "$key" ]; then
        openssl dgst -sha256 -sign "$key" "$dir/manifest" | base64 -w0 >"$dir/manifest.sig"
    fi
}
