#!/bin/bash
# The layering the README states: fs/ includes only the public headers of
# artifact/ and crypto/ (artifact/artifact.h lists them), and only crypto/
# includes OpenSSL or p11-kit; common/ (the error convention both share)
# includes neither library, and crypto/ nothing of artifact/; only fs/
# includes FUSE; a source file over 600 lines says why at its head.  Prints
# one line per include or file that breaks it.
root=${SOURCE_ROOT:-$(dirname "$0")/..}
public_artifact=' artifact.h codec.h header.h manifest.h payload.h problems.h sigcheck.h verdict.h verify.h rewrite.h '
public_crypto=' base64.h key.h secure.h sha256.h signature.h sign_child.h '
bad=0 seen=0
while IFS=: read -r file line text; do
    seen=$((seen + 1))
    dir=${text#*\"}; dir=${dir%%/*}
    name=${text#*\"*/}; name=${name%\"*}
    case $dir in
        artifact) list=$public_artifact ;;
        crypto) list=$public_crypto ;;
        *) continue ;;
    esac
    if [[ $list != *" $name "* ]]; then
        echo "FAIL: $file:$line includes $dir/$name, which is not public"
        bad=$((bad + 1))
    fi
done < <(cd "$root" && grep -Hn '^#include "\(artifact\|crypto\)/' fs/*.c fs/*.h)
while IFS= read -r hit; do
    echo "FAIL: $hit: only crypto/ uses OpenSSL and p11-kit"
    bad=$((bad + 1))
done < <(cd "$root" && grep -Hn '^#include <\(openssl\|p11-kit\)/' common/*.[ch] artifact/*.c artifact/*.h fs/*.c fs/*.h)
while IFS= read -r hit; do
    echo "FAIL: $hit: common/ and crypto/ sit below artifact/"
    bad=$((bad + 1))
done < <(cd "$root" && grep -Hn '^#include "artifact/' common/*.[ch] crypto/*.[ch]
    grep -Hn '^#include "crypto/' common/*.[ch])
while IFS= read -r hit; do
    echo "FAIL: $hit: only fs/ talks to FUSE"
    bad=$((bad + 1))
done < <(cd "$root" && grep -Hn '^#include <fuse' common/*.[ch] artifact/*.[ch] crypto/*.[ch])
# A file over 600 lines says why in its head comment ("Over 600 lines: ...").
while read -r lines file; do
    [ "$file" = total ] && continue
    seen=$((seen + 1))
    if [ "$lines" -gt 600 ] && ! head -n 12 "$root/$file" | grep -q 'Over 600 lines: '; then
        echo "FAIL: $file has $lines lines and its head comment does not say why"
        bad=$((bad + 1))
    fi
done < <(cd "$root" && wc -l artifact/*.[ch] crypto/*.[ch] fs/*.[ch])
echo "$seen includes and files checked, $bad failed"
[ "$bad" -eq 0 ] && [ "$seen" -gt 0 ]
