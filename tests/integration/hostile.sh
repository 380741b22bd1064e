#!/usr/bin/env bash
# hostile.sh — artifacts made to hurt the reader: each is refused with one
# line naming the file, or mounted with the damage contained and
# signature-status saying `invalid` with a reason; never a crash, a hang or a
# memory blow-up.  Cases: truncation at every member boundary and inside every
# member header; size fields past the end; a payload zero bomb (2 GiB always,
# 20 GiB with ARTIFACTFS_SLOW=1) with a peak-RSS bound; a header bomb; huge and
# deeply nested JSON; hostile inner-tar names (.., absolute, NUL via PAX,
# non-ASCII, overlong, newlines), links, devices, FIFOs, duplicates, sparse
# entries, PAX and GNU long names, in the header tar, the payload tar and the
# outer tar; 10,000 files in a module payload.
#
# Every mount goes through mount_art (the daemon runs in the foreground and
# must exit 0 at unmount: ASan/LSan/UBSan reports fail the test); every
# command that touches the mount is bounded by `timeout`.
#
# Environment: ARTIFACTFS_SLOW=1 adds the 20 GiB bomb (~2 minutes of gzip the
# first time; cached in $HOSTILE_CACHE, default BUILD_ROOT/hostile-cache).
# HOSTILE_RSS_MB: the daemon's peak-RSS bound in MiB (default 100; ASan's
# quarantine is made small so that the same bound holds under ASan).
. "$(dirname "$0")/lib.sh"

SRC="$FIXTURES/rootfs-gzip.mender"
MOD="$FIXTURES/module.mender"
W=$(workdir)
PY="$T_ROOT/hostile.py"
: "${BUILD_ROOT:=$(cd "$FIXTURES/../.." && pwd)}"
CACHE=${HOSTILE_CACHE:-$BUILD_ROOT/hostile-cache}
T=(timeout -k 5)          # every command on a mount: "${T[@]}" SECONDS cmd...

HOSTILE_RSS_MB=${HOSTILE_RSS_MB:-100}
# Under ASan, freed memory waits in a quarantine (256 MiB by default) and
# counts in the RSS; a small one keeps the bound meaningful for both builds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

cat > "$PY" <<'EOF'
import copy, gzip, hashlib, io, json, os, sys, tarfile

USTAR, GNU, PAX = tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT
DATA_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE)

def pad(n):
    return b'\0' * (-n % 512)

def entry(name, data=b'', type=tarfile.REGTYPE, fmt=USTAR, linkname='', mode=0o644,
          pax=None, size=None, mtime=1700000000, devmajor=0, devminor=0):
    """One tar entry (header block(s) + data), written in the given format."""
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.mode = mode
    ti.mtime = mtime
    ti.linkname = linkname
    ti.devmajor, ti.devminor = devmajor, devminor
    ti.size = len(data) if size is None else size
    if pax:
        ti.pax_headers = dict(pax)
    buf = ti.tobuf(fmt, 'utf-8', 'surrogateescape')
    if type in DATA_TYPES:
        buf += data + pad(len(data))
    return buf

def tar(entries):
    return b''.join(entries) + b'\0' * 1024

def gz(b):
    return gzip.compress(b, 6, mtime=0)

def read_outer(path):
    raw = open(path, 'rb').read()
    with tarfile.open(fileobj=io.BytesIO(raw), mode='r:') as t:
        return [(m, raw[m.offset_data:m.offset_data + m.size]) for m in t.getmembers()]

def inner_entries(data):
    """(TarInfo, bytes) of a (gzip'd) inner tar."""
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:') as t:
        return [(m, t.extractfile(m).read() if m.isreg() else b'') for m in t.getmembers()]

def sha(b):
    return hashlib.sha256(b).hexdigest()

def get(members, prefix):
    return next(d for m, d in members if m.name.startswith(prefix))

def replace(members, prefix, data):
    return [(m, data if m.name.startswith(prefix) else d) for m, d in members]

def manifest(members, data_files):
    """A canonical manifest for these members and payload files [(name, bytes)]."""
    lines = ['%s  data/0000/%s\n' % (sha(d), n) for n, d in data_files]
    for m, d in members:
        if m.name.startswith('header.tar') or m.name == 'version':
            lines.append('%s  %s\n' % (sha(d), m.name))
    return ''.join(lines).encode()

def outer(members, extra=()):
    """The outer tar: members [(TarInfo, bytes)] (ustar) + extra raw entries at the end."""
    out = []
    for m, d in members:
        n = copy.copy(m)
        n.size = len(d)
        out.append(n.tobuf(USTAR, 'utf-8', 'surrogateescape') + d + pad(len(d)))
    return tar(out + list(extra))

def write(path, b):
    with open(path, 'wb') as f:
        f.write(b)

def set_size(raw, hoff, size):
    """Patches the size field of the header block at hoff (octal, or base-256)."""
    blk = bytearray(raw[hoff:hoff + 512])
    blk[124:136] = (b'%011o\0' % size) if size < 8 ** 11 else b'\x80' + size.to_bytes(11, 'big')
    blk[148:156] = b' ' * 8
    blk[148:156] = b'%06o\0 ' % sum(blk)
    raw[hoff:hoff + 512] = blk

def header_with(members, extra_after_info=(), replace_files=None, fmt=USTAR):
    """The header tar of members, with raw entries inserted after header-info and
    files replaced ({path: bytes})."""
    ents = []
    for ti, d in inner_entries(get(members, 'header.tar')):
        if replace_files and ti.name in replace_files:
            d = replace_files[ti.name]
        ents.append(entry(ti.name, d, mode=0o600, mtime=0, fmt=fmt))
        if ti.name == 'header-info':
            ents.extend(extra_after_info)
    return gz(tar(ents))

def with_header(members, header):
    members = replace(members, 'header.tar', header)
    data_files = [(ti.name, d) for ti, d in inner_entries(get(members, 'data/'))
                  if ti.isreg()]
    return replace(members, 'manifest', manifest(members, data_files))

def header_info(members):
    return dict(json.loads(next(d for ti, d in inner_entries(get(members, 'header.tar'))
                                if ti.name == 'header-info')))

def main():
    cmd, src = sys.argv[1], sys.argv[2]
    if cmd == 'bomb-head':               # SIZE: the tar header of rootfs.ext4 (GNU base-256)
        sys.stdout.buffer.write(entry('rootfs.ext4', size=int(src), fmt=GNU)[:512])
        return
    if cmd == 'bomb-tail':               # SIZE: padding and the end-of-archive blocks
        sys.stdout.buffer.write(pad(int(src)) + b'\0' * 1024)
        return
    if cmd == 'xz-bigdict':            # SIZE OUT: tar of SIZE zeros as xz, dictionary claimed 1.5 GiB
        import lzma, zlib
        n, out = int(src), sys.argv[3]
        c = lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
            filters=[{'id': lzma.FILTER_LZMA2, 'preset': 1, 'dict_size': 1 << 20}])
        with open(out, 'wb') as f:
            f.write(c.compress(entry('rootfs.ext4', size=n, fmt=GNU)[:512]))
            z = bytes(8 << 20)
            for i in range(n // len(z)):
                f.write(c.compress(z))
            f.write(c.compress(bytes(n % len(z)) + pad(n) + b'\0' * 1024))
            f.write(c.flush())
        b = bytearray(open(out, 'rb').read())
        hs = (b[12] + 1) * 4            # the block header: flags 0, LZMA2 filter, 1 props byte
        assert b[13] == 0 and b[14] == 0x21 and b[15] == 1
        b[16] = 37                      # dictionary 1.5 GiB (the encoder used 1 MiB)
        b[12 + hs - 4:12 + hs] = zlib.crc32(bytes(b[12:12 + hs - 4])).to_bytes(4, 'little')
        write(out, b)
        return
    members = read_outer(src)
    if cmd == 'offsets':                 # name header_offset data_offset size
        raw = open(src, 'rb').read()
        with tarfile.open(fileobj=io.BytesIO(raw), mode='r:') as t:
            for m in t.getmembers():
                print(m.name, m.offset, m.offset_data, m.size)
        return
    dst = sys.argv[3]
    if cmd == 'setsize':                 # MEMBER-PREFIX SIZE: a size field past the end
        prefix, size = sys.argv[4], int(sys.argv[5])
        raw = bytearray(open(src, 'rb').read())
        with tarfile.open(fileobj=io.BytesIO(bytes(raw)), mode='r:') as t:
            m = next(m for m in t.getmembers() if m.name.startswith(prefix))
        set_size(raw, m.offset, size)
        write(dst, raw)
    elif cmd == 'payload':               # FILE [NAME]: data/0000.tar.* replaced (and renamed), manifest kept
        ms = replace(members, 'data/', open(sys.argv[4], 'rb').read())
        if len(sys.argv) > 5:
            for m, d in ms:
                if m.name.startswith('data/'):
                    m.name = sys.argv[5]
        write(dst, outer(ms))
    elif cmd == 'headerbomb':            # a 64 MiB script in the header (cap: 16 MiB)
        big = entry('scripts/ArtifactInstall_Enter_00_big', bytes(64 << 20), mode=0o755)
        write(dst, outer(with_header(members, header_with(members, [big]))))
    elif cmd == 'hinfo-huge':            # header-info of 10 MiB
        hi = header_info(members)
        hi['artifact_provides']['artifact_name'] = 'x' * (10 << 20)
        h = header_with(members, replace_files={'header-info': json.dumps(hi).encode()})
        write(dst, outer(with_header(members, h)))
    elif cmd == 'hinfo-nested':          # header-info [[[...]]] 100000 deep
        n = 100000
        h = header_with(members, replace_files={'header-info': b'[' * n + b']' * n})
        write(dst, outer(with_header(members, h)))
    elif cmd == 'tinfo-nested':          # type-info {"a":{"a":...}} 100000 deep
        n = 100000
        h = header_with(members, replace_files={
            'headers/0000/type-info': b'{"a":' * n + b'1' + b'}' * n})
        write(dst, outer(with_header(members, h)))
    elif cmd == 'version-nested':        # version [[[...]]] 2000 deep (under its 4 KiB cap)
        ms = replace(members, 'version', b'[' * 2000 + b']' * 2000)
        write(dst, outer(with_header(ms, get(ms, 'header.tar'))))
    elif cmd == 'json-newline':          # an unknown JSON key with a newline in it
        hi = header_info(members)
        hi['x\nINJECTED-JSON-LINE'] = 1
        h = header_with(members, replace_files={'header-info': json.dumps(hi).encode()})
        ms = replace(members, 'version', b'{"format":"mender","version":3,"y\\nINJECTED-VERSION-LINE":1}')
        write(dst, outer(with_header(ms, h)))
    elif cmd == 'header-names':          # hostile entries in the header tar
        ev = [
            entry('../evil-dotdot', b'x'),
            entry('/evil-absolute', b'x'),
            entry('scripts/../../evil-inner-dotdot', b'x'),
            entry('scripts/ArtifactInstall_Enter_01_nul', b'x', fmt=PAX,
                  pax={'path': 'scripts/evil\0nul'}),
            entry('scripts/ArtifactInstall_Enter_02_\u00fcml\u00e4ut', b'#!/bin/sh\n', fmt=PAX),
            entry('scripts/' + 'A' * 300, b'x', fmt=PAX),
            entry('scripts/ArtifactInstall_Enter_03_' + 'L' * 150, b'#!/bin/sh\n', fmt=GNU),
            entry('scripts/evil\nINJECTED-HEADER-LINE', b'x', fmt=PAX),
            entry('scripts/evil-symlink', type=tarfile.SYMTYPE, linkname='/etc/passwd'),
            entry('scripts/evil-hardlink', type=tarfile.LNKTYPE, linkname='header-info'),
            entry('scripts/evil-chardev', type=tarfile.CHRTYPE, devmajor=1, devminor=3),
            entry('scripts/evil-blockdev', type=tarfile.BLKTYPE, devmajor=8, devminor=0),
            entry('scripts/evil-fifo', type=tarfile.FIFOTYPE),
            entry('scripts/evil-sparse', b'y' * 10, type=tarfile.GNUTYPE_SPARSE, fmt=GNU),
            entry('header-info', b'{"evil":"duplicate"}'),
        ]
        write(dst, outer(with_header(members, header_with(members, ev))))
    elif cmd == 'header-many':           # 5000 script entries in the header (cap: 4096 entries)
        ev = [entry('scripts/ArtifactInstall_Enter_00_%05d' % i, b'#!/bin/sh\n') for i in range(5000)]
        write(dst, outer(with_header(members, header_with(members, ev))))
    elif cmd == 'outer-many':            # 1100 members after the payload (cap: 1024 members)
        write(dst, outer(members, [entry('extra-%04d' % i, b'x', mode=0o600) for i in range(1100)]))
    elif cmd == 'big-manifest':          # manifest over its 1 MiB cap
        m = get(members, 'manifest') + b''.join(b'%s  data/0000/pad%07d\n' % (b'0' * 64, i)
                                                for i in range(13000))
        write(dst, outer(replace(members, 'manifest', m)))
    elif cmd == 'big-sig':               # manifest.sig over its 8 KiB cap
        ms = []
        for m, d in members:
            ms.append((m, d))
            if m.name == 'manifest':
                sig = copy.copy(m)
                sig.name = 'manifest.sig'
                ms.append((sig, b'A' * 9000))
        write(dst, outer(ms))
    elif cmd == 'payload-trailer':       # bytes after the payload tar's end-of-archive
        raw = gzip.decompress(get(members, 'data/'))
        write(dst, outer(replace(members, 'data/', gz(raw + b'UNSIGNED TRAILER ' * 60))))
    elif cmd == 'payload-zero-records':  # GNU tar's zero record padding: still valid
        raw = gzip.decompress(get(members, 'data/'))
        write(dst, outer(replace(members, 'data/', gz(raw + b'\0' * 10240))))
    elif cmd == 'stacked-script':        # issue 12's attack: x, L, x before one file
        def ext(type, data, name='././@PaxHeader'):
            ti = tarfile.TarInfo(name)
            ti.type, ti.size = type, len(data)
            return ti.tobuf(USTAR, 'utf-8', 'surrogateescape') + data + pad(len(data))
        def rec(k, v):
            body = ' %s=%s\n' % (k, v)
            n = len(body) + 1
            while len(str(n)) + len(body) != n:
                n += 1
            return (str(n) + body).encode()
        script = b'#!/bin/sh\necho pwned > /tmp/stacked-script-ran\nexit 0\n'
        fake_dir = tarfile.TarInfo(script.decode())
        fake_dir.type = tarfile.DIRTYPE
        ev = [ext(tarfile.XHDTYPE, rec('size', 0)),
              ext(tarfile.GNUTYPE_LONGNAME, b'scripts/ArtifactInstall_Enter_00\0', '././@LongLink'),
              ext(tarfile.XHDTYPE, rec('path', 'scripts/')),
              entry('x', fake_dir.tobuf(USTAR, 'utf-8', 'surrogateescape'))]
        write(dst, outer(with_header(members, header_with(members, ev))))
    elif cmd == 'header-slash':          # regular files whose names end in '/', before the real ones
        ev = [entry('headers/0000/type-info/', b'{"type":"shadow"}'),
              entry('scripts/ArtifactInstall_Enter_00_slash/', b'#!/bin/sh\n')]
        write(dst, outer(with_header(members, header_with(members, ev))))
    elif cmd == 'payload-names':         # hostile entries in the payload tar
        rootfs = next(d for ti, d in inner_entries(get(members, 'data/')) if ti.isreg())
        long_gnu, long_pax = 'g' * 150 + '.bin', 'p' * 200 + '.bin'
        ents = [
            entry('rootfs.ext4', rootfs),
            entry('rootfs.ext4', b'SECOND COPY, MUST NOT BE SHOWN'),
            entry(long_gnu, b'gnu long name\n', fmt=GNU),
            entry(long_pax, b'pax long name\n', fmt=PAX),
            entry('../evil-dotdot', b'x'),
            entry('/evil-absolute', b'x'),
            entry('evil-nul-placeholder', b'x', fmt=PAX, pax={'path': 'evil\0nul'}),
            entry('evil-\u00fcml\u00e4ut.bin', b'x', fmt=PAX),
            entry('q' * 300, b'x', fmt=PAX),
            entry('evil\nINJECTED-PAYLOAD-LINE', b'x', fmt=PAX),
            entry('sub/evil-subdir', b'x'),
            entry('evil-dir', type=tarfile.DIRTYPE),
            entry('evil-symlink', type=tarfile.SYMTYPE, linkname='/etc/passwd'),
            entry('evil-hardlink', type=tarfile.LNKTYPE, linkname='rootfs.ext4'),
            entry('evil-chardev', type=tarfile.CHRTYPE, devmajor=1, devminor=3),
            entry('evil-blockdev', type=tarfile.BLKTYPE, devmajor=8, devminor=0),
            entry('evil-fifo', type=tarfile.FIFOTYPE),
            entry('evil-gnusparse', b'y' * 10, type=tarfile.GNUTYPE_SPARSE, fmt=GNU),
            entry('evil-paxsparse', b'z' * 10, fmt=PAX, pax={
                'GNU.sparse.major': '1', 'GNU.sparse.minor': '0',
                'GNU.sparse.name': 'evil-paxsparse', 'GNU.sparse.realsize': '4096'}),
            entry('after-all-that.txt', b'still read\n'),
        ]
        ms = replace(members, 'data/', gz(tar(ents)))
        files = [('rootfs.ext4', rootfs), (long_gnu, b'gnu long name\n'),
                 (long_pax, b'pax long name\n'), ('after-all-that.txt', b'still read\n')]
        write(dst, outer(replace(ms, 'manifest', manifest(ms, files))))
    elif cmd == 'outer-names':           # hostile members in the outer tar, after the payload
        ev = [
            entry('../evil-dotdot', b'x', mode=0o600),
            entry('/evil-absolute', b'x', mode=0o600),
            entry('data/0001.tar.gz', type=tarfile.SYMTYPE, linkname='/etc/passwd'),
            entry('evil-hardlink', type=tarfile.LNKTYPE, linkname='version'),
            entry('evil-fifo', type=tarfile.FIFOTYPE),
            entry('evil-chardev', type=tarfile.CHRTYPE, devmajor=1, devminor=3),
            entry('evil-nul', b'x', fmt=PAX, pax={'path': 'evil\0nul'}),
            entry('evil\nINJECTED-OUTER-LINE', b'x', fmt=PAX),
            entry('data/0000.tar.gz', b'duplicate', mode=0o600),
        ]
        write(dst, outer(members, ev))
    elif cmd == 'refuse-newline':        # not an artifact, and its first name has a newline
        write(dst, tar([entry('evil\nINJECTED-REFUSAL-LINE', b'x', fmt=PAX)]))
    elif cmd == 'manyfiles':             # N payload files in a module, manifest to match
        n = int(sys.argv[4])
        files = [('f%05d' % i, b'file %d\n' % i) for i in range(n)]
        ms = replace(members, 'data/', gz(tar([entry(a, b) for a, b in files])))
        write(dst, outer(replace(ms, 'manifest', manifest(ms, files))))
    else:
        sys.exit('hostile.py: unknown command ' + cmd)

main()
EOF

# ---- helpers ---------------------------------------------------------------------

# status MNT OUT: signature-status of MNT into OUT (bounded); its exit status
status() {
    "${T[@]}" 300 cat "$1/signature-status" > "$2" 2>&1
}

# has_reason LABEL FILE TEXT...: FILE has a "reason:" line containing every TEXT
has_reason() {
    local label=$1 file=$2 line
    shift 2
    line=$(grep '^reason: ' "$file" | while IFS= read -r l; do
        ok=1
        for t in "$@"; do [[ "$l" == *"$t"* ]] || ok=0; done
        [ $ok = 1 ] && { printf '%s\n' "$l"; break; }
    done)
    if [ -n "$line" ]; then
        pass "$label"
    else
        fail "$label" "no 'reason:' line with '$*' in: $(grep -E '^(reason|invalid|valid|unsigned)' "$file" | head -c 1500)"
    fi
}

# count_codes LABEL FILE CODE N: FILE (what reason_codes printed) has N
# reasons of CODE: the kind of each refusal, whatever its words
count_codes() {
    local n
    n=$(grep -cx "reason $3" "$2")
    if [ "$n" = "$4" ]; then
        pass "$1"
    else
        fail "$1" "$n reasons $3, want $4; all: $(sort "$2" | uniq -c | tr -s ' \n' ' ')"
    fi
}

# has_code LABEL ART CODE: ART (--status) has a reason of CODE
has_code() {
    local codes
    codes=$(reason_codes "$2")
    if grep -qx "reason $3" <<<"$codes"; then
        pass "$1"
    else
        fail "$1" "no reason $3 in: $(sort <<<"$codes" | uniq -c | tr -s ' \n' ' ')"
    fi
}

# no_line_starts LABEL FILE PREFIX: no line of FILE starts with PREFIX (a name's
# newline must not start a line of its own in the report)
no_line_starts() {
    if grep -q "^$3" "$2"; then
        fail "$1" "a line starts with '$3': a name's newline split the report: $(grep -B1 "^$3" "$2" | head -c 400)"
    else
        pass "$1"
    fi
}

verdict_is() {
    check_eq "$1: signature-status verdict" "$3" "$(head -n 1 "$2")"
}

# mounted_or_refused LABEL ART MNT: mounts ART; if refused, checks the one-line
# reason names the file.  Returns 0 when mounted.
mounted_or_refused() {
    local label=$1 art=$2 mnt=$3 lines
    if mount_art "$art" "$mnt" 2>/dev/null; then
        return 0
    fi
    lines=$(awk 'END{print NR}' "$T_MOUNT_ERR")
    check_eq "$label: refused with one line" 1 "$lines"
    if grep -qF -- "$art" "$T_MOUNT_ERR"; then
        pass "$label: refusal names the file"
    else
        fail "$label: refusal names the file" "$(head -c 300 "$T_MOUNT_ERR")"
    fi
    [ -n "${VERBOSE:-}" ] && echo "  $label: refused: $(head -c 300 "$T_MOUNT_ERR")"
    return 1
}

# pid_of MNT: the daemon serving MNT
pid_of() { echo "${T_PIDS[$1]:-}"; }

# hwm_kb PID: peak resident set of PID, in KiB
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null; }

# zeros_at LABEL FILE OFFSET: 64 KiB at OFFSET of FILE are zeros
zeros_at() {
    local got
    got=$("${T[@]}" 300 python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
b = os.pread(fd, 65536, int(sys.argv[2]))
print(len(b), b.count(0))' "$2" "$3" 2>&1)
    check_eq "$1: 64 KiB of zeros at offset $3" "65536 65536" "$got"
}

# ---- 1. truncation at every member boundary and inside every member header ----
offsets=$(python3 "$PY" offsets "$SRC")
cuts=()
while read -r name hoff doff msize; do
    cuts+=("$hoff:boundary before $name" "$((hoff + 1)):inside the tar header of $name"
        "$((hoff + 148)):at the checksum of $name's header" "$((hoff + 511)):inside the tar header of $name"
        "$((doff + 1)):inside $name")
    [ "$msize" -gt 2 ] && cuts+=("$((doff + msize - 1)):one byte before the end of $name")
    last_end=$(( doff + (msize + 511) / 512 * 512 ))
done <<< "$offsets"
cuts+=("$last_end:end of the last member, no end-of-archive blocks"
    "$((last_end + 512)):after one end-of-archive block")
for c in "${cuts[@]}"; do
    at=${c%%:*}
    what=${c#*:}
    label="cut at $at ($what)"
    art="$W/cut-$at.mender"
    head -c "$at" "$SRC" > "$art"
    mnt="$W/mnt-cut-$at"
    if mounted_or_refused "$label" "$art" "$mnt"; then
        if status "$mnt" "$W/st-cut-$at"; then
            v=$(head -n 1 "$W/st-cut-$at")
            if [ "$at" -eq "$last_end" ]; then
                # a complete artifact without the end markers: tolerated (spec §2.3),
                # with a warning
                check_eq "$label: verdict" unsigned "$v"
                if grep -q '^warning: artifact: .*without end-of-archive blocks' "$W/st-cut-$at"; then
                    pass "$label: warned"
                else fail "$label: warned" "$(head -c 400 "$W/st-cut-$at")"; fi
            elif [ "$at" -gt "$last_end" ]; then
                # one end block of two: GNU tar warns, tarfile and libarchive do not
                check_eq "$label: verdict" invalid "$v"
                if grep -q '^reason: artifact: .*one end-of-archive block' "$W/st-cut-$at"; then
                    pass "$label: has a reason"
                else fail "$label: has a reason" "$(head -c 400 "$W/st-cut-$at")"; fi
            else
                check_eq "$label: verdict" invalid "$v"
                if grep -q '^reason: ' "$W/st-cut-$at"; then pass "$label: has a reason"
                else fail "$label: has a reason" "$(head -c 400 "$W/st-cut-$at")"; fi
            fi
        else
            fail "$label: signature-status readable" "$(head -c 300 "$W/st-cut-$at")"
        fi
        # reading what is there ends (with data or EIO), never hangs
        for f in "$mnt/data/0000/rootfs.ext4" "$mnt/data/0000.tar.gz" "$mnt/header/header-info"; do
            [ -e "$f" ] || continue
            "${T[@]}" 60 cat "$f" > /dev/null 2>&1
            rc=$?
            if [ $rc -ge 124 ]; then fail "$label: cat ${f#"$mnt"/} ends" "timed out (status $rc)"
            else pass "$label: cat ${f#"$mnt"/} ends"; fi
        done
        umount_art "$mnt" || fail "$label: unmount"
    fi
done

# ---- 2. size fields past the end of the file -----------------------------------
for spec in "data/:8589934591" "data/:4611686018427387904" "header.tar:1073741824" \
    "version:1099511627776" "manifest:68719476736"; do
    prefix=${spec%%:*}
    sz=${spec#*:}
    label="size field of ${prefix%/} set to $sz"
    art="$W/size-${prefix%/}-$sz.mender"
    python3 "$PY" setsize "$SRC" "$art" "$prefix" "$sz" || { fail "$label: build"; continue; }
    mnt="$W/mnt-size-${prefix%/}-$sz"
    if mounted_or_refused "$label" "$art" "$mnt"; then
        if status "$mnt" "$W/st-size"; then
            verdict_is "$label" "$W/st-size" invalid
            has_code "$label: the reason is that it is cut short" "$art" truncated
        else
            fail "$label: signature-status readable" "$(head -c 300 "$W/st-size")"
        fi
        for f in "$mnt"/data/0000.tar* "$mnt/data/0000/rootfs.ext4" "$mnt/version" "$mnt/manifest"; do
            [ -e "$f" ] || continue
            "${T[@]}" 60 cat "$f" > /dev/null 2>&1
            rc=$?
            if [ $rc -ge 124 ]; then fail "$label: cat ${f#"$mnt"/} ends" "timed out (status $rc)"
            else pass "$label: cat ${f#"$mnt"/} ends"; fi
        done
        umount_art "$mnt" || fail "$label: unmount"
    fi
done

# ---- 3. payload zero bomb ---------------------------------------------------------
# make_bomb SIZE: data/0000.tar.gz holding rootfs.ext4 of SIZE zero bytes, built
# streaming (gzip -6 of zeros is ~1 MiB per GiB) and cached
make_bomb() {
    local n=$1 out="$CACHE/zero-bomb-$1.tar.gz"
    if [ ! -s "$out" ]; then
        mkdir -p "$CACHE" || return 1
        { python3 "$PY" bomb-head "$n" && head -c "$n" /dev/zero && python3 "$PY" bomb-tail "$n"; } |
            gzip -6 > "$out.tmp.$$" && mv "$out.tmp.$$" "$out" || { rm -f "$out.tmp.$$"; return 1; }
    fi
    echo "$out"
}

bomb_test() {
    local n=$1 label="zero bomb $(( $1 >> 30 )) GiB" payload art mnt pid hwm sz t0 t1 rc
    if ! payload=$(make_bomb "$n"); then
        fail "$label: build"
        return
    fi
    art="$W/bomb-$n.mender"
    python3 "$PY" payload "$SRC" "$art" "$payload" || { fail "$label: build artifact"; return; }
    mnt="$W/mnt-bomb-$n"
    if ! mount_art "$art" "$mnt"; then
        fail "$label: mounts" "$(cat "$T_MOUNT_ERR")"
        return
    fi
    pass "$label: mounts"
    pid=$(pid_of "$mnt")
    sz=$("${T[@]}" 30 stat -c %s "$mnt/data/0000/rootfs.ext4")
    check_eq "$label: stat size" "$n" "$sz"
    # looking up a name that is not there scans the payload's tar to its end
    t0=$(date +%s.%N)
    "${T[@]}" 120 stat "$mnt/data/0000/no-such-file" > /dev/null 2>&1
    rc=$?
    t1=$(date +%s.%N)
    if [ $rc -ge 124 ]; then fail "$label: stat of a missing name ends" "timed out after 120 s"
    else pass "$label: stat of a missing name ends"; fi
    [ -n "${VERBOSE:-}" ] && echo "  $label: stat of a missing name took $(echo "$t1 - $t0" | bc) s"
    for off in 0 $((n / 2 + 12345)) $((n - 65536)) $((n / 4)); do
        zeros_at "$label" "$mnt/data/0000/rootfs.ext4" "$off"
    done
    t0=$(date +%s)
    if status "$mnt" "$W/st-bomb"; then
        t1=$(date +%s)
        verdict_is "$label" "$W/st-bomb" invalid
        has_reason "$label: reason names the payload file" "$W/st-bomb" "data/0000/rootfs.ext4" MISMATCH
        [ -n "${VERBOSE:-}" ] && echo "  $label: signature-status took $((t1 - t0)) s"
    else
        fail "$label: signature-status finishes" "status $?: $(head -c 300 "$W/st-bomb")"
    fi
    hwm=$(hwm_kb "$pid")
    if [ -n "$hwm" ] && [ "$hwm" -lt $((HOSTILE_RSS_MB * 1024)) ]; then
        pass "$label: daemon peak RSS $((hwm / 1024)) MiB < $HOSTILE_RSS_MB MiB"
    else
        fail "$label: daemon peak RSS" "VmHWM ${hwm:-?} KiB, limit $HOSTILE_RSS_MB MiB"
    fi
    umount_art "$mnt" || fail "$label: unmount"
    # --status: the same verdict without FUSE, bounded time and memory
    "${T[@]}" 600 python3 -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
print(r.returncode, r.stdout.split(b"\n")[0].decode(),
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
        "$ARTIFACTFS" --status "$art" > "$W/st-bomb-cli" 2>&1
    read -r rc verdict maxrss < "$W/st-bomb-cli"
    check_eq "$label: --status verdict and exit code" "1 invalid" "$rc $verdict"
    if [ -n "${maxrss:-}" ] && [ "$maxrss" -lt $((HOSTILE_RSS_MB * 1024)) ] 2>/dev/null; then
        pass "$label: --status peak RSS $((maxrss / 1024)) MiB < $HOSTILE_RSS_MB MiB"
    else
        fail "$label: --status peak RSS" "${maxrss:-?} KiB, limit $HOSTILE_RSS_MB MiB ($(head -c 200 "$W/st-bomb-cli"))"
    fi
    rm -f "$art"
}

bomb_test $((2 << 30))
if [ "${ARTIFACTFS_SLOW:-}" = 1 ]; then
    bomb_test $((20 << 30))
else
    echo "hostile: 20 GiB zero bomb skipped (ARTIFACTFS_SLOW=1 runs it)"
fi

# ---- 3b. payloads that ask the decoder for much memory ------------------------------
# An xz block header claiming a 1.5 GiB dictionary (the data needs 1 MiB), and a
# zstd frame with a 128 MiB window: each decoder (a stream keeps several) may
# allocate that much.  Reads may fail (a decoder refusing the stream) but must
# not hang or return wrong bytes, and the daemon's peak RSS stays bounded.
make_packed() {
    local kind=$1 n=$2 out
    mkdir -p "$CACHE" || return 1
    case "$kind" in
        xz)
            out="$CACHE/xz-bigdict-$n.tar.xz"
            [ -s "$out" ] || { python3 "$PY" xz-bigdict "$n" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"; } ||
                { rm -f "$out.tmp.$$"; return 1; } ;;
        zstd)
            out="$CACHE/zstd-window128m-$n.tar.zst"
            [ -s "$out" ] || {
                { python3 "$PY" bomb-head "$n" && head -c "$n" /dev/zero && python3 "$PY" bomb-tail "$n"; } |
                    zstd -q --long=27 -1 -T1 -c > "$out.tmp.$$" && mv "$out.tmp.$$" "$out"; } ||
                { rm -f "$out.tmp.$$"; return 1; } ;;
    esac
    echo "$out"
}

decoder_memory_test() {
    local kind=$1 member=$2 label=$3 n=$((2 << 30)) payload art mnt pid hwm off got
    if ! payload=$(make_packed "$kind" "$n"); then
        fail "$label: build"
        return
    fi
    art="$W/mem-$kind.mender"
    python3 "$PY" payload "$SRC" "$art" "$payload" "$member" || { fail "$label: build artifact"; return; }
    mnt="$W/mnt-mem-$kind"
    if ! mount_art "$art" "$mnt"; then
        fail "$label: mounts" "$(cat "$T_MOUNT_ERR")"
        return
    fi
    pid=$(pid_of "$mnt")
    for off in 0 $((n / 2)) $((n - 65536)) $((n / 4)) $((n / 8)) $((n / 16)); do
        got=$("${T[@]}" 300 python3 -c '
import os, sys
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    b = os.pread(fd, 65536, int(sys.argv[2]))
    print("zeros" if b == bytes(65536) else "WRONG BYTES (%d bytes, %d zero)" % (len(b), b.count(0)))
except OSError as e:
    print("error", e.errno)' "$mnt/data/0000/rootfs.ext4" "$off" 2>&1)
        case "$got" in
            zeros|error*) pass "$label: read at $off: $got" ;;
            *) fail "$label: read at $off" "${got:-timed out}" ;;
        esac
    done
    if status "$mnt" "$W/st-mem-$kind"; then
        verdict_is "$label" "$W/st-mem-$kind" invalid
    else
        fail "$label: signature-status finishes" "$(head -c 300 "$W/st-mem-$kind")"
    fi
    hwm=$(hwm_kb "$pid")
    if [ -n "$hwm" ] && [ "$hwm" -lt $((HOSTILE_RSS_MB * 1024)) ]; then
        pass "$label: daemon peak RSS $((hwm / 1024)) MiB < $HOSTILE_RSS_MB MiB"
    else
        fail "$label: daemon peak RSS" "VmHWM $(( ${hwm:-0} / 1024 )) MiB after reads at 6 offsets and signature-status, limit $HOSTILE_RSS_MB MiB (artifact: $(stat -c %s "$art") bytes)"
    fi
    umount_art "$mnt" || fail "$label: unmount"
    rm -f "$art"
}
decoder_memory_test xz data/0000.tar.xz "xz payload claiming a 1.5 GiB dictionary"
decoder_memory_test zstd data/0000.tar.zst "zstd payload with a 128 MiB window"

# ---- 4. header bomb, huge and nested JSON, every cap on sizes and counts --------
# jsoncase CMD LABEL CODE REASON-TEXT...: a reason of CODE, and one line with
# every REASON-TEXT (where, and the cap)
jsoncase() {
    local cmd=$1 label=$2 code=$3 art mnt hwm
    shift 3
    art="$W/$cmd.mender"
    python3 "$PY" "$cmd" "$SRC" "$art" || { fail "$label: build"; return; }
    mnt="$W/mnt-$cmd"
    if ! mount_art "$art" "$mnt"; then
        fail "$label: mounts" "$(cat "$T_MOUNT_ERR")"
        return
    fi
    pass "$label: mounts"
    if status "$mnt" "$W/st-$cmd"; then
        verdict_is "$label" "$W/st-$cmd" invalid
        has_reason "$label: reason" "$W/st-$cmd" "$@"
        has_code "$label: the reason's code" "$art" "$code"
    else
        fail "$label: signature-status readable" "$(head -c 300 "$W/st-$cmd")"
    fi
    check "$label: ls -R works" "${T[@]}" 30 ls -R "$mnt"
    hwm=$(hwm_kb "$(pid_of "$mnt")")
    if [ -n "$hwm" ] && [ "$hwm" -lt $((HOSTILE_RSS_MB * 1024)) ]; then
        pass "$label: daemon peak RSS $((hwm / 1024)) MiB"
    else
        fail "$label: daemon peak RSS" "VmHWM ${hwm:-?} KiB, limit $HOSTILE_RSS_MB MiB"
    fi
    umount_art "$mnt" || fail "$label: unmount"
}
jsoncase headerbomb "header bomb (64 MiB script in header.tar.gz)" too-big header.tar.gz "16 MiB"
jsoncase hinfo-huge "10 MiB header-info" too-big header/header-info "1 MiB"
jsoncase hinfo-nested "header-info nested 100000 deep" json header/header-info
jsoncase tinfo-nested "type-info nested 100000 deep" json header/headers/0000/type-info
jsoncase version-nested "version nested 2000 deep" format-version "version"
jsoncase header-many "5000 entries in the header" too-big "header" "4096"
jsoncase outer-many "1100 members in the outer tar" too-big "artifact" "1024"
jsoncase big-manifest "manifest over 1 MiB" too-big "manifest"
jsoncase big-sig "manifest.sig over 8 KiB" too-big "manifest.sig"

# ---- 5. hostile names and entry types ---------------------------------------------
# header tar
art="$W/header-names.mender"
if python3 "$PY" header-names "$SRC" "$art" && mount_art "$art" "$W/mnt-hn"; then
    mnt="$W/mnt-hn"
    st="$W/st-hn"
    status "$mnt" "$st" || fail "header names: signature-status readable"
    verdict_is "header names" "$st" invalid
    reason_codes "$art" > "$W/codes-hn"
    has_reason "header names: '..'" "$st" "reason: header" "'../evil-dotdot'"
    has_reason "header names: absolute" "$st" "reason: header" "'/evil-absolute'"
    # '..' twice, absolute, over 255 bytes, a control character
    count_codes "header names: unsafe paths" "$W/codes-hn" unsafe-path 5
    count_codes "header names: NUL (PAX path)" "$W/codes-hn" tar-extension 1
    # libarchive (the client's reader) warns on a name it cannot convert: refused, named
    has_reason "header names: non-ASCII script name refused" "$st" "reason: header" \
        "ArtifactInstall_Enter_02_"
    count_codes "header names: non-ASCII refused as libarchive warns" "$W/codes-hn" tar-unreadable 1
    for t in symlink hardlink chardev blockdev fifo; do
        has_reason "header names: $t refused" "$st" "header/scripts/evil-$t"
    done
    has_reason "header names: sparse refused" "$st" "reason: header" "scripts/evil-sparse"
    count_codes "header names: five types and sparse refused" "$W/codes-hn" tar-type 6
    has_reason "header names: duplicate header-info" "$st" "header/header-info"
    count_codes "header names: duplicate header-info" "$W/codes-hn" duplicate 1
    no_line_starts "header names: newline in an entry name stays on its line" "$st" INJECTED-HEADER-LINE
    tree=$("${T[@]}" 30 find "$mnt" 2>&1)
    for bad in evil-dotdot evil-absolute evil-inner-dotdot evil-symlink evil-hardlink evil-chardev \
        evil-blockdev evil-fifo evil-sparse evil-nul; do
        if grep -q -- "$bad" <<< "$tree"; then fail "header names: $bad not in the tree" "$(grep -- "$bad" <<< "$tree" | head -3)"
        else pass "header names: $bad not in the tree"; fi
    done
    # a name with a newline (or other control character) is as unsafe as one with NUL
    if grep -q INJECTED-HEADER-LINE <<< "$tree"; then
        fail "header names: an entry name with a newline is not shown" "$(grep -B1 INJECTED <<< "$tree" | head -2 | tr '\n' '|')"
    else
        pass "header names: an entry name with a newline is not shown"
    fi
    check_eq "header names: header-info is the first one" "$(python3 -c '
import gzip, io, sys, tarfile
t = tarfile.open(fileobj=io.BytesIO(gzip.decompress(sys.stdin.buffer.read())))
m = next(m for m in t.getmembers() if m.name == "header-info")
print(t.extractfile(m).read().decode())' < <(tar xOf "$art" header.tar.gz))" \
        "$("${T[@]}" 30 cat "$mnt/header/header-info")"
    # a valid long (GNU 'L') script name is shown and readable
    lname="ArtifactInstall_Enter_03_$(printf 'L%.0s' {1..150})"
    check_eq "header names: GNU long script name readable" "#!/bin/sh" "$("${T[@]}" 30 cat "$mnt/header/scripts/$lname" 2>&1)"
    umount_art "$mnt" || fail "header names: unmount"
else
    fail "header names: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

# issue 12's attack: stacked extension headers that Go reads as a state script,
# libarchive as a 512-byte file and the old reader as an empty directory
art="$W/stacked-script.mender"
if python3 "$PY" stacked-script "$SRC" "$art"; then
    "$ARTIFACTFS" --status "$art" > "$W/st-ss" 2>&1
    verdict_is "stacked extension headers" "$W/st-ss" invalid
    has_reason "stacked extension headers: the entry and its offset are named" "$W/st-ss" \
        "reason: header" "at offset 1024"
    reason_codes "$art" > "$W/codes-ss"
    count_codes "stacked extension headers: the reason" "$W/codes-ss" tar-extension-stacked 1
    if mount_art "$art" "$W/mnt-ss"; then
        if "${T[@]}" 30 ls -A "$W/mnt-ss/header/scripts" 2>/dev/null | grep -q .; then
            fail "stacked extension headers: no state script is shown" "$(ls -A "$W/mnt-ss/header/scripts")"
        else
            pass "stacked extension headers: no state script is shown"
        fi
        umount_art "$W/mnt-ss" || fail "stacked extension headers: unmount"
    else
        fail "stacked extension headers: mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
    fi
else
    fail "stacked extension headers: build" "hostile.py failed"
fi

# header entries that are regular files named like directories ("x/", with data)
art="$W/header-slash.mender"
if python3 "$PY" header-slash "$SRC" "$art" && mount_art "$art" "$W/mnt-hs"; then
    mnt="$W/mnt-hs"
    status "$mnt" "$W/st-hs" || fail "header 'x/' files: signature-status readable"
    verdict_is "header 'x/' files" "$W/st-hs" invalid
    has_reason "header 'x/' files: reason names the entry" "$W/st-hs" "headers/0000/type-info/"
    check "header 'x/' files: ls -R header works" "${T[@]}" 30 ls -R "$mnt/header"
    want=$(python3 -c '
import gzip, io, sys, tarfile
t = tarfile.open(fileobj=io.BytesIO(gzip.decompress(sys.stdin.buffer.read())))
print(next(t.extractfile(m).read().decode() for m in t.getmembers() if m.name == "headers/0000/type-info"))' \
        < <(tar xOf "$art" header.tar.gz))
    # libarchive reads a directory there and then a damaged tar: nothing after it is
    # shown, and the shadow's bytes never pass for type-info
    got=$("${T[@]}" 30 cat "$mnt/header/headers/0000/type-info" 2>&1)
    if [ "$got" = '{"type":"shadow"}' ]; then fail "header 'x/' files: the shadow is not type-info" "$got"
    else pass "header 'x/' files: the shadow is not type-info"; fi
    [ -n "$want" ] || fail "header 'x/' files: python read a type-info" "none"
    reason_codes "$art" > "$W/codes-hs"
    count_codes "header 'x/' files: a regular file named like a directory" "$W/codes-hs" tar-type 1
    count_codes "header 'x/' files: the damage after it" "$W/codes-hs" tar-unreadable 1
    umount_art "$mnt" || fail "header 'x/' files: unmount"
else
    fail "header 'x/' files: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

# payload tar
art="$W/payload-names.mender"
if python3 "$PY" payload-names "$SRC" "$art" && mount_art "$art" "$W/mnt-pn"; then
    mnt="$W/mnt-pn"
    st="$W/st-pn"
    status "$mnt" "$st" || fail "payload names: signature-status readable"
    verdict_is "payload names" "$st" invalid
    reason_codes "$art" > "$W/codes-pn"
    has_reason "payload names: '..'" "$st" "reason: data/0000" "'../evil-dotdot'"
    has_reason "payload names: absolute" "$st" "reason: data/0000" "'/evil-absolute'"
    # '..', absolute, over 255 bytes, a control character
    count_codes "payload names: unsafe paths" "$W/codes-pn" unsafe-path 4
    count_codes "payload names: NUL (PAX path)" "$W/codes-pn" tar-extension 1
    has_reason "payload names: non-ASCII" "$st" "reason: data/0000" "evil-"
    has_reason "payload names: subdirectory" "$st" "reason: data/0000" "sub/evil-subdir"
    count_codes "payload names: subdirectory" "$W/codes-pn" bad-name 1
    for t in dir symlink hardlink chardev blockdev fifo gnusparse; do
        has_reason "payload names: $t refused" "$st" "reason: data/0000" "evil-$t"
    done
    count_codes "payload names: six types and GNU sparse refused" "$W/codes-pn" tar-type 7
    # a GNU sparse 1.0 map libarchive cannot read: the tar stops there, at its
    # offset; and the non-ASCII name libarchive warns about
    count_codes "payload names: paxsparse and non-ASCII refused by libarchive" "$W/codes-pn" \
        tar-unreadable 2
    has_reason "payload names: duplicate rootfs.ext4" "$st" "reason: data/0000" "'rootfs.ext4'"
    count_codes "payload names: duplicate rootfs.ext4" "$W/codes-pn" duplicate 1
    no_line_starts "payload names: newline in a file name stays on its line" "$st" INJECTED-PAYLOAD-LINE
    listing=$("${T[@]}" 30 ls -a "$mnt/data/0000" 2>&1)
    want=$(printf '%s\n' . .. rootfs.ext4 "$(printf 'g%.0s' {1..150}).bin" "$(printf 'p%.0s' {1..200}).bin" after-all-that.txt | sort)
    check_eq "payload names: only the safe files are listed" "$want" "$(sort <<< "$listing")"
    tar xOf "$SRC" data/0000.tar.gz | tar xzO rootfs.ext4 > "$W/rootfs.ext4"
    "${T[@]}" 60 cat "$mnt/data/0000/rootfs.ext4" > "$W/got.ext4" 2>&1
    check_cmp "payload names: rootfs.ext4 is the first copy" "$W/rootfs.ext4" "$W/got.ext4"
    check_eq "payload names: GNU long name read" "gnu long name" "$("${T[@]}" 30 cat "$mnt/data/0000/$(printf 'g%.0s' {1..150}).bin" 2>&1)"
    check_eq "payload names: PAX long name read" "pax long name" "$("${T[@]}" 30 cat "$mnt/data/0000/$(printf 'p%.0s' {1..200}).bin" 2>&1)"
    if "${T[@]}" 30 cat "$mnt/data/0000/after-all-that.txt" > /dev/null 2>&1; then
        fail "payload names: nothing is read past the damaged entry" "after-all-that.txt was read"
    else
        pass "payload names: nothing is read past the damaged entry"
    fi
    for bad in evil-dotdot evil-absolute evil-symlink evil-hardlink evil-fifo evil-chardev evil-nul "evil
INJECTED-PAYLOAD-LINE" sub; do
        if "${T[@]}" 30 stat "$mnt/data/0000/$bad" > /dev/null 2>&1; then
            fail "payload names: $(printf %q "$bad") cannot be looked up" "stat succeeded"
        else
            pass "payload names: $(printf %q "$bad") cannot be looked up"
        fi
    done
    umount_art "$mnt" || fail "payload names: unmount"
else
    fail "payload names: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

# outer tar
art="$W/outer-names.mender"
if python3 "$PY" outer-names "$SRC" "$art" && mount_art "$art" "$W/mnt-on"; then
    mnt="$W/mnt-on"
    st="$W/st-on"
    status "$mnt" "$st" || fail "outer names: signature-status readable"
    verdict_is "outer names" "$st" invalid
    reason_codes "$art" > "$W/codes-on"
    has_reason "outer names: '..'" "$st" "'../evil-dotdot'"
    has_reason "outer names: absolute" "$st" "'/evil-absolute'"
    # '..', absolute, a control character
    count_codes "outer names: unsafe paths" "$W/codes-on" unsafe-path 3
    has_reason "outer names: symlink data/0001.tar.gz" "$st" "reason: data/0001.tar.gz:"
    has_reason "outer names: hard link" "$st" "reason: evil-hardlink:"
    has_reason "outer names: FIFO" "$st" "reason: evil-fifo:"
    has_reason "outer names: device" "$st" "reason: evil-chardev:"
    count_codes "outer names: four types refused" "$W/codes-on" tar-type 4
    count_codes "outer names: NUL" "$W/codes-on" tar-extension 1
    has_reason "outer names: duplicate data/0000.tar.gz" "$st" "reason: data/0000.tar.gz:"
    count_codes "outer names: duplicate data/0000.tar.gz" "$W/codes-on" duplicate 1
    no_line_starts "outer names: newline in a member name stays on its line" "$st" INJECTED-OUTER-LINE
    check_eq "outer names: the tree" "control data header header.tar.gz manifest signature-status version" \
        "$("${T[@]}" 30 ls "$mnt" | tr '\n' ' ' | sed 's/ $//')"
    check_eq "outer names: data/" "0000 0000.tar.gz" "$("${T[@]}" 30 ls "$mnt/data" | tr '\n' ' ' | sed 's/ $//')"
    tar xOf "$SRC" data/0000.tar.gz > "$W/data.tgz"
    "${T[@]}" 30 cat "$mnt/data/0000.tar.gz" > "$W/got.tgz" 2>&1
    check_cmp "outer names: data/0000.tar.gz is the first one" "$W/data.tgz" "$W/got.tgz"
    umount_art "$mnt" || fail "outer names: unmount"
else
    fail "outer names: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

# newlines in JSON keys (version, header-info)
art="$W/json-newline.mender"
if python3 "$PY" json-newline "$SRC" "$art" && mount_art "$art" "$W/mnt-jn"; then
    st="$W/st-jn"
    status "$W/mnt-jn" "$st" || fail "JSON key newline: signature-status readable"
    verdict_is "JSON key newline" "$st" invalid
    has_reason "JSON key newline: a reason for header-info" "$st" "reason: header/header-info:"
    has_reason "JSON key newline: a reason for version" "$st" "reason: version:"
    reason_codes "$art" > "$W/codes-jn"
    count_codes "JSON key newline: an unknown key in each" "$W/codes-jn" unknown 2
    no_line_starts "JSON key newline: header-info key stays on its line" "$st" INJECTED-JSON-LINE
    no_line_starts "JSON key newline: version key stays on its line" "$st" INJECTED-VERSION-LINE
    umount_art "$W/mnt-jn" || fail "JSON key newline: unmount"
else
    fail "JSON key newline: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

# refusal of a tar whose first member's name has a newline: still one line
art="$W/refuse-newline.mender"
python3 "$PY" refuse-newline "$SRC" "$art"
"${T[@]}" 30 "$ARTIFACTFS" "$art" "$W/mnt-rn-never" > /dev/null 2> "$W/rn.err"
rc=$?
check_not "refusal with a newline in the name: refused" test "$rc" -eq 0
check_eq "refusal with a newline in the name: one line" 1 "$(awk 'END{print NR}' "$W/rn.err")"
mountpoint -q "$W/mnt-rn-never" 2>/dev/null && { T_MOUNTS+=("$W/mnt-rn-never"); fail "refusal: nothing mounted"; }

# ---- bytes that nothing signs: after the end-of-archive blocks --------------------
"$ARTIFACTFS" --status "$SRC" > "$W/st-src" 2>&1
base=$(head -1 "$W/st-src")
{ cat "$SRC"; head -c 1024 /dev/urandom | base64; } > "$W/outer-trailer.mender"
"$ARTIFACTFS" --status "$W/outer-trailer.mender" > "$W/st-ot" 2>&1
verdict_is "text after the outer end-of-archive" "$W/st-ot" invalid
has_reason "text after the outer end-of-archive: where" "$W/st-ot" "reason: artifact" \
    "offset $(stat -c %s "$SRC")"
reason_codes "$W/outer-trailer.mender" > "$W/codes-ot"
count_codes "text after the outer end-of-archive: the reason" "$W/codes-ot" trailing-bytes 1
{ cat "$SRC"; head -c 10240 /dev/zero; } > "$W/outer-zeros.mender"
"$ARTIFACTFS" --status "$W/outer-zeros.mender" > "$W/st-oz" 2>&1
verdict_is "zero records after the outer end-of-archive" "$W/st-oz" "$base"
if python3 "$PY" payload-trailer "$SRC" "$W/payload-trailer.mender"; then
    "$ARTIFACTFS" --status "$W/payload-trailer.mender" > "$W/st-pt" 2>&1
    verdict_is "bytes after the payload tar's end-of-archive" "$W/st-pt" invalid
    has_reason "bytes after the payload tar's end-of-archive: where" "$W/st-pt" \
        "reason: data/0000"
    reason_codes "$W/payload-trailer.mender" > "$W/codes-pt"
    count_codes "bytes after the payload tar's end-of-archive: the reason" "$W/codes-pt" \
        trailing-bytes 1
else
    fail "payload trailer: build" "hostile.py failed"
fi
if python3 "$PY" payload-zero-records "$SRC" "$W/payload-zeros.mender"; then
    "$ARTIFACTFS" --status "$W/payload-zeros.mender" > "$W/st-pz" 2>&1
    verdict_is "zero records after the payload tar's end-of-archive" "$W/st-pz" "$base"
else
    fail "payload zero records: build" "hostile.py failed"
fi

# ---- 6. 10,000 payload files in a module -------------------------------------------
art="$W/manyfiles.mender"
if python3 "$PY" manyfiles "$MOD" "$art" 10000 && mount_art "$art" "$W/mnt-many"; then
    mnt="$W/mnt-many"
    check_eq "10000 files: ls data/0000 | wc -l" 10000 "$("${T[@]}" 60 ls "$mnt/data/0000" | wc -l)"
    for i in 0 1 4999 9998 9999 123; do
        f=$(printf 'f%05d' "$i")
        check_eq "10000 files: cat $f" "file $i" "$("${T[@]}" 30 cat "$mnt/data/0000/$f" 2>&1)"
    done
    st="$W/st-many"
    status "$mnt" "$st" || fail "10000 files: signature-status readable"
    verdict_is "10000 files" "$st" unsigned
    check_eq "10000 files: checksum lines ok" 10002 "$(grep -c '^checksum .*: ok$' "$st")"
    check "10000 files: sha256sum -c manifest" "${T[@]}" 300 bash -c "cd '$mnt' && sha256sum --quiet -c manifest"
    check_eq "10000 files: find | wc -l after a full scan" 10000 "$("${T[@]}" 60 find "$mnt/data/0000" -type f | wc -l)"
    umount_art "$mnt" || fail "10000 files: unmount"
else
    fail "10000 files: build and mount" "$(cat "$T_MOUNT_ERR" 2>/dev/null)"
fi

finish
