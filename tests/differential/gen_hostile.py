#!/usr/bin/env python3
"""gen_hostile.py OUTDIR -- writes the hostile tars of the differential test.

Every tar is built block by block here (no tarfile writer), so that any field,
checksum, extension header or padding byte can be made exactly as wanted.
Deterministic: a fixed seed, fixed mtimes, no network, stdlib only.

Output:
  OUTDIR/cases.json        [{"name", "desc", "control", "hdr"}], in order
  OUTDIR/NAME.tar          the tar used as data/0000.tar (the payload)
  OUTDIR/NAME.hdr.tar      for cases with "hdr": the same entries put between
                           header-info and headers/0000/type-info, used as
                           header.tar
"""
import itertools
import json
import os
import random
import sys

BLOCK = 512
MTIME = 1700000000
RNG = random.Random(0x4172746966)   # fixed seed: the same bytes on every run

HEADER_INFO = (b'{"payloads":[{"type":"test-module"}],'
               b'"artifact_provides":{"artifact_name":"diff-1"},'
               b'"artifact_depends":{"device_type":["dev1"]}}')
TYPE_INFO = (b'{"type":"test-module","artifact_provides":'
             b'{"rootfs-image.test-module.version":"diff-1"},'
             b'"clears_artifact_provides":["rootfs-image.test-module.*"]}')

MAGIC = {
    'ustar': b'ustar\x0000',      # POSIX ustar: "ustar\0" "00"
    'gnu': b'ustar  \x00',        # old GNU: "ustar " " \0"
    'v7': b'\0' * 8,              # no magic at all
}

EOA = b'\0' * 1024


def pad(n):
    return b'\0' * (-n % BLOCK)


def octal(n, width):
    """width-1 zero-padded octal digits and a NUL, as ustar writers do."""
    return b'%0*o\0' % (width - 1, n)


def b256(n, width):
    """GNU base-256: high bit of the first byte set, two's complement big endian."""
    raw = (n % (1 << (8 * width))).to_bytes(width, 'big')
    return bytes([raw[0] | 0x80]) + raw[1:]


FIELDS = {  # name: (offset, length)
    'name': (0, 100), 'mode': (100, 8), 'uid': (108, 8), 'gid': (116, 8),
    'size': (124, 12), 'mtime': (136, 12), 'chksum': (148, 8), 'type': (156, 1),
    'linkname': (157, 100), 'magic': (257, 8), 'uname': (265, 32),
    'gname': (297, 32), 'devmajor': (329, 8), 'devminor': (337, 8),
    'prefix': (345, 155),
}


def enc(s):
    return s.encode('utf-8', 'surrogateescape') if isinstance(s, str) else s


def hdr(name, size=0, typ=b'0', mode=0o644, uid=0, gid=0, mtime=MTIME,
        linkname=b'', magic='ustar', uname=b'root', gname=b'root', prefix=b'',
        raw=None, chksum='ok'):
    """One 512-byte header block.  raw={field: bytes} overrides any field with
    exactly those bytes (padded with NULs to the field length).  chksum: 'ok'
    (unsigned sum, '%06o\\0 '), 'signed' (sum of signed chars), 'bad', or bytes."""
    b = bytearray(BLOCK)

    def put(field, value):
        off, ln = FIELDS[field]
        value = enc(value)[:ln]
        b[off:off + ln] = value + b'\0' * (ln - len(value))

    put('name', name)
    put('mode', octal(mode, 8))
    put('uid', octal(uid, 8))
    put('gid', octal(gid, 8))
    put('size', octal(size, 12) if isinstance(size, int) else size)
    put('mtime', octal(mtime, 12))
    put('type', typ)
    put('linkname', linkname)
    put('magic', MAGIC[magic] if isinstance(magic, str) else magic)
    if magic != 'v7':
        put('uname', uname)
        put('gname', gname)
        put('devmajor', octal(0, 8))
        put('devminor', octal(0, 8))
        put('prefix', prefix)
    for field, value in (raw or {}).items():
        put(field, value)
    b[148:156] = b' ' * 8
    if chksum == 'ok':
        s = sum(b)
    elif chksum == 'signed':
        s = sum(x - 256 if x > 127 else x for x in b)
    elif chksum == 'bad':
        s = sum(b) + 1
    else:
        b[148:156] = chksum
        return bytes(b)
    b[148:156] = b'%06o\0 ' % (s & 0o777777)
    return bytes(b)


def entry(name, data=b'', size=None, padding=None, **kw):
    """A header and its data, padded to a block (padding: explicit pad bytes)."""
    data = enc(data)
    h = hdr(name, len(data) if size is None else size, **kw)
    return h + data + (pad(len(data)) if padding is None else padding)


def rec(key, value):
    """One pax record 'LEN key=value\\n' with the self-referential length."""
    body = b' ' + enc(key) + b'=' + enc(value) + b'\n'
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n += 1
    return str(n).encode() + body


def pax(records, typ=b'x', name=b'PaxHeaders.0/f', **kw):
    """A pax extended ('x') or global ('g') header; records: list of
    (key, value) pairs or raw bytes."""
    data = b''.join(r if isinstance(r, bytes) else rec(*r) for r in records)
    return entry(name, data, typ=typ, mode=0o644, **kw)


def gnulong(name, typ=b'L', nul=True, **kw):
    """A GNU long-name ('L') or long-link ('K') header."""
    data = enc(name) + (b'\0' if nul else b'')
    return entry(b'././@LongLink', data, typ=typ, magic=kw.pop('magic', 'gnu'),
                 uname=b'root', gname=b'root', mode=0, **kw)


def content(tag, n=None):
    """Deterministic file content, recognisable in a hexdump."""
    if n is None:
        return ('%s\n' % tag).encode()
    unit = ('<%s>' % tag).encode()
    return (unit * (n // len(unit) + 1))[:n]


def garbage(n):
    return bytes(RNG.randrange(256) for _ in range(n))


CASES = []


def case(name, core, tail=EOA, desc='', control=False, hdr_too=False):
    assert not any(c['name'] == name for c in CASES), name
    # size and path conflicts are also tried in the header tar, where a name
    # decides what becomes a state script
    hdr_too = hdr_too or (name.startswith(('size-', 'path-')) and tail == EOA)
    CASES.append({'name': name, 'desc': desc, 'core': core, 'tail': tail,
                  'control': control, 'hdr': hdr_too})


def f(name, tag=None, **kw):
    """A plain ustar regular file whose content names the file."""
    return entry(name, content(tag or name), **kw)


# ---------------------------------------------------------------- controls
def controls():
    case('ctl-ustar-one', f('file1.txt'), desc='one plain ustar file', control=True)
    case('ctl-ustar-three', f('a.txt') + entry('empty.txt', b'') +
         entry('big.bin', content('big', 5000)),
         desc='three plain ustar files, one empty, one over several blocks', control=True)
    case('ctl-empty-tar', b'', desc='an empty tar: two zero blocks only', control=True)
    case('ctl-record-padded', f('file1.txt'), tail=b'\0' * (10240 - 1024),
         desc='GNU-style: the archive padded with zeros to a 10240-byte record', control=True)
    case('ctl-pax-size-match', pax([('size', '6')]) + f('file1.txt', 'hello'),
         desc='pax size record equal to the ustar size (6)', control=True)
    case('ctl-gnu-magic', entry('file1.txt', content('gnu'), magic='gnu'),
         desc='one regular file with the old GNU magic', control=True)
    case('ctl-pax-mtime', pax([('mtime', '1700000000.25')]) + f('file1.txt'),
         desc='pax fractional mtime on a plain file', control=True)
    # readers agree, but mender-artifact never writes these keys: artifactfs may refuse
    case('paxrec-unknown-key', pax([('SCHILY.xattr.user.x', 'y'), ('comment', 'hi')]) +
         f('file1.txt'), desc='pax records no reader acts on (xattr, comment)')
    long120 = 'n' * 116 + '.bin'
    case('ctl-pax-path-120', pax([('path', long120)], name='PaxHeaders.0/' + long120[:87]) +
         entry(long120[:100], content('long')),
         desc='a 120-char name as Go archive/tar writes it: pax path, ustar name = first 100 chars')
    case('ctl-gnu-longname-120', gnulong(long120) + entry(long120[:100], content('long'), magic='gnu'),
         desc='a 120-char name as GNU tar writes it: ././@LongLink L header')
    case('ctl-v7', entry('file1.txt', content('v7'), magic='v7'),
         desc='a v7 header (no magic, type 0)')
    case('ctl-ustar-prefix', entry('f.txt', content('pre'), prefix='dir'),
         desc='ustar prefix field used: dir/f.txt')
    case('ctl-dir-and-file', entry('d/', typ=b'5', mode=0o755) + f('d/f.txt'),
         desc='a directory entry and a file in it')
    case('ctl-dup-same', f('file1.txt') + f('file1.txt'),
         desc='the same file twice, same bytes')
    case('ctl-dup-differ', f('file1.txt', 'one') + f('file1.txt', 'two'),
         desc='the same name twice, different bytes')


# ------------------------------------------------- extension headers stacked
EXT = {
    'x': lambda i: pax([('path', 'from-x%d.txt' % i)]),
    'L': lambda i: gnulong('from-L%d.txt' % i),
    'g': lambda i: pax([('path', 'from-g%d.txt' % i)], typ=b'g', name=b'GlobalHead.0.1'),
    'K': lambda i: gnulong('link-K%d' % i, typ=b'K'),
    's': lambda i: pax([('size', str(len(content('payload'))))]),
}


def stacking():
    seqs = [p for n in (1, 2) for p in itertools.product('xLgKs', repeat=n)]
    seqs += list(itertools.product('xLg', repeat=3))
    seqs += [('x', 'L', 'x', 'L'), ('L', 'x', 'L', 'x'), ('x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x')]
    for seq in seqs:
        core = b''.join(EXT[k](i) for i, k in enumerate(seq))
        core += entry('from-ustar.txt', content('payload')) + f('after.txt')
        case('stack-' + ''.join(seq), core, hdr_too=len(seq) <= 2,
             desc='extension headers %s before one ustar file, then a plain file' % ','.join(seq))
    # the same stacks in front of a GNU-magic and a v7 final header
    for seq in [('x', 'L'), ('L', 'x'), ('x',), ('L',)]:
        for magic in ('gnu', 'v7'):
            core = b''.join(EXT[k](i) for i, k in enumerate(seq))
            core += entry('from-ustar.txt', content('payload'), magic=magic) + f('after.txt')
            case('stack-%s-final-%s' % (''.join(seq), magic), core,
                 desc='extension headers %s before a %s-magic file' % (','.join(seq), magic))
    # L and x with the "wrong" magic
    case('stack-L-ustar-magic', gnulong('from-L.txt', magic='ustar') + f('plain.txt'),
         desc='a GNU L header carrying the POSIX ustar magic')
    case('stack-x-gnu-magic', pax([('path', 'from-x.txt')], magic='gnu') + f('plain.txt'),
         desc='a pax x header carrying the GNU magic')
    case('stack-x-v7-magic', pax([('path', 'from-x.txt')], magic='v7') + f('plain.txt'),
         desc='a pax x header with no magic (v7)')
    case('stack-L-v7-magic', gnulong('from-L.txt', magic='v7') + f('plain.txt'),
         desc='a GNU L header with no magic (v7)')
    # dangling extensions
    for k in 'xLgK':
        case('dangling-%s-eoa' % k, f('first.txt') + EXT[k](0),
             desc='an %s extension header followed directly by the end-of-archive blocks' % k)
        case('dangling-%s-eof' % k, f('first.txt') + EXT[k](0), tail=b'',
             desc='an %s extension header at the very end of the file (no EOA)' % k)
    case('stack-g-then-two-files', EXT['g'](0) + f('one.txt') + f('two.txt'),
         desc='a pax global path before two files: does it rename both?')
    case('stack-g-size', pax([('size', '3')], typ=b'g', name=b'GlobalHead.0.1') + f('one.txt') + f('two.txt'),
         desc='a pax global size record before two files')


# ------------------------------------------------- the attack from issue 12
def attack_core(order=('xs', 'L', 'xp'), inner='dir'):
    """x{size=0}, L scripts/ArtifactInstall_Enter_00, x{path=scripts/} (in the
    given order), then '0' "x" size 512 whose data block looks like a header."""
    parts = {
        'xs': pax([('size', '0')]),
        'L': gnulong('scripts/ArtifactInstall_Enter_00'),
        'xp': pax([('path', 'scripts/')]),
    }
    if inner == 'dir':
        fake = hdr('scripts/', 0, typ=b'5', mode=0o755)
    elif inner == 'file':
        fake = hdr('evil.sh', 512, typ=b'0', mode=0o755)
    else:
        fake = hdr('scripts/ArtifactInstall_Enter_00', 512, typ=b'0', mode=0o755)
    core = b''.join(parts[p] for p in order)
    core += hdr('x', 512) + fake
    if inner in ('file', 'script'):
        core += content('#!/bin/sh\necho pwned', 512)
    return core


def attack():
    case('attack-issue12', attack_core(), hdr_too=True,
         desc='issue 12: x{size=0}, L scripts/ArtifactInstall_Enter_00, x{path=scripts/}, '
              '0 "x" size 512 whose data block is a directory header')
    for order in itertools.permutations(('xs', 'L', 'xp')):
        for inner in ('dir', 'file', 'script'):
            name = 'attack-%s-%s' % ('-'.join(order), inner)
            if order == ('xs', 'L', 'xp') and inner == 'dir':
                continue
            case(name, attack_core(order, inner), hdr_too=True,
                 desc='issue-12 attack, extensions in order %s, the 512-byte data block is a %s header'
                      % (','.join(order), inner))
    for subset in (('xs',), ('L',), ('xp',), ('xs', 'L'), ('xs', 'xp'), ('L', 'xp')):
        case('attack-only-%s' % '-'.join(subset), attack_core(subset, 'script'), hdr_too=True,
             desc='issue-12 attack reduced to %s, data block a script header' % ','.join(subset))


# ------------------------------------------------- size and path conflicts
def conflicts():
    fake = entry('smuggled.txt', content('smuggled'))
    body = content('body', 512)
    # pax size vs ustar size
    case('size-pax0-ustar512', pax([('size', '0')]) + entry('a.txt', body) + f('b.txt'),
         desc='pax size=0, ustar size 512 and 512 data bytes')
    case('size-pax0-ustar512-hdr', pax([('size', '0')]) + hdr('a.txt', 512) + fake + f('b.txt'),
         desc='pax size=0, ustar size 512, the "data" is a file header + data')
    case('size-pax512-ustar0', pax([('size', '512')]) + hdr('a.txt', 0) + fake + f('b.txt'),
         desc='pax size=512, ustar size 0, the next block is a file header')
    case('size-pax1024-ustar512', pax([('size', '1024')]) + entry('a.txt', body) + fake,
         desc='pax size 1024, ustar 512: the pax view swallows the next header')
    case('size-pax10-ustar6', pax([('size', '10')]) + f('a.txt', 'hello') + f('b.txt'),
         desc='pax size 10 vs ustar 6 (same block count)')
    case('size-pax6-ustar10', pax([('size', '6')]) + entry('a.txt', b'hello\nXXXX') + f('b.txt'),
         desc='pax size 6 vs ustar 10 (same block count)')
    case('size-two-pax-differ', pax([('size', '0')]) + pax([('size', '512')]) + hdr('a.txt', 0) +
         fake, desc='two x headers in a row, size 0 then size 512, ustar size 0')
    case('size-dup-key', pax([('size', '0'), ('size', '512')]) + hdr('a.txt', 0) + fake,
         desc='one x header with size=0 and size=512 (duplicate key)')
    case('size-dup-key-rev', pax([('size', '512'), ('size', '0')]) + hdr('a.txt', 0) + fake,
         desc='one x header with size=512 then size=0 (duplicate key)')
    case('size-pax-gnu-magic', pax([('size', '0')]) + entry('a.txt', body, magic='gnu') + f('b.txt'),
         desc='pax size=0 before a GNU-magic header of size 512')
    case('size-pax-past-end', pax([('size', '99999')]) + f('a.txt'),
         desc='pax size larger than the rest of the archive')
    for i, v in enumerate(['0x10', '1e3', '-5', '+6', ' 6', '6 ', '', '99999999999999999999',
                           '010', '6.0', '6a', '0006']):
        case('size-pax-value-%02d' % i, pax([('size', v)]) + f('a.txt', 'hello') + f('b.txt'),
             desc='pax size value %r, ustar size 6' % v)
    # pax path vs ustar name vs L
    case('path-pax-vs-ustar', pax([('path', 'pax.txt')]) + f('ustar.txt'),
         desc='pax path differs from the ustar name (pax wins, per POSIX)')
    case('path-pax-nul', pax([(b'path', b'a.txt\0evil')]) + f('b.txt'),
         desc='pax path with an embedded NUL')
    case('path-pax-empty', pax([('path', '')]) + f('b.txt'),
         desc='pax path record with an empty value (delete the keyword)')
    case('path-pax-slash-file', pax([('path', 'file.txt/')]) + f('b.txt'),
         desc='pax path ending in / on a type 0 entry')
    case('path-pax-dotdot', pax([('path', '../escape.txt')]) + f('b.txt'),
         desc='pax path ../escape.txt')
    case('path-pax-abs', pax([('path', '/etc/escape.txt')]) + f('b.txt'),
         desc='pax path /etc/escape.txt')
    case('path-L-nul-inside', gnulong('a.txt\0evil.txt') + f('b.txt'),
         desc='GNU L name with a NUL in the middle')
    case('path-L-no-nul', gnulong('from-L.txt', nul=False) + f('b.txt'),
         desc='GNU L name without the terminating NUL')
    case('path-L-empty', gnulong('', nul=False) + f('b.txt'),
         desc='GNU L header of size 0')
    case('path-L-huge', entry(b'././@LongLink', b'', size=1 << 30, typ=b'L', magic='gnu') + f('b.txt'),
         desc='GNU L header claiming 1 GiB')
    case('path-x-huge', entry(b'PaxHeaders.0/f', b'', size=1 << 30, typ=b'x') + f('b.txt'),
         desc='pax x header claiming 1 GiB')
    case('path-L-then-L', gnulong('first.txt') + gnulong('second.txt') + f('b.txt'),
         desc='two GNU L headers: which name wins?')
    case('path-x-then-x', pax([('path', 'first.txt')]) + pax([('path', 'second.txt')]) + f('b.txt'),
         desc='two pax x headers with different paths')
    case('path-x-dup-key', pax([('path', 'first.txt'), ('path', 'second.txt')]) + f('b.txt'),
         desc='one x header with path twice')
    case('path-linkpath-regular', pax([('linkpath', 'target')]) + f('b.txt'),
         desc='pax linkpath on a regular file')
    case('path-K-regular', gnulong('target', typ=b'K') + f('b.txt'),
         desc='GNU K long link name on a regular file')
    case('path-hdrcharset-binary', pax([('hdrcharset', 'BINARY'), (b'path', b'bin\xff.txt')]) + f('b.txt'),
         desc='pax hdrcharset=BINARY with a non-UTF-8 path')
    case('path-nonutf8-pax', pax([(b'path', b'bad\xff\xfe.txt')]) + f('b.txt'),
         desc='pax path that is not UTF-8 (no hdrcharset)')


# ------------------------------------------------- malformed pax records
def pax_records():
    good = rec('path', 'pax.txt')
    bad = {
        'len-short': b'10 path=pax.txt\n',
        'len-long': b'30 path=pax.txt\n',
        'len-nondigit': b'1x path=pax.txt\n',
        'len-zero': b'0 path=pax.txt\n',
        'len-leading-zero': b'017 path=pax.txt\n',
        'len-leading-space': b' 16 path=pax.txt\n',
        'len-negative': b'-16 path=pax.txt\n',
        'len-huge': b'99999999999999999999 path=pax.txt\n',
        'no-newline': b'16 path=pax.txt',
        'no-equals': b'15 pathpax.txt\n',
        'empty-key': b'12 =pax.txt\n',
        'no-space': b'16path=pax.txt\n',
        'two-spaces': b'17  path=pax.txt\n',
        'tab-sep': b'16\tpath=pax.txt\n',
        'trailing-junk': good + b'junk',
        'trailing-nul': good + b'\0\0\0',
        'record-past-data': b'40 path=pax.txt\n',
        'only-newline': b'\n',
        'garbage': garbage(100),
    }
    for k, v in bad.items():
        case('paxrec-%s' % k, pax([v]) + f('ustar.txt'),
             desc='pax x record malformed (%s): %r' % (k, v[:40]))
    for key in ('uid', 'gid'):
        for i, v in enumerate(['abc', '-1', '1.5', '99999999999999999999', '', '0x10']):
            case('paxrec-%s-%d' % (key, i), pax([(key, v)]) + f('a.txt'),
                 desc='pax %s=%r' % (key, v))
    for i, v in enumerate(['1700000000.5', '-1', '1e9', 'abc', '1700000000.', '.5',
                           '99999999999999999999']):
        case('paxrec-mtime-%d' % i, pax([('mtime', v)]) + f('a.txt'),
             desc='pax mtime=%r' % v)
    case('paxrec-x-size0', entry(b'PaxHeaders.0/f', b'', typ=b'x') + f('a.txt'),
         desc='an empty pax x header (size 0)')
    case('paxrec-x-truncated', f('a.txt') + hdr(b'PaxHeaders.0/f', 1000, typ=b'x') + rec('path', 'p'),
         tail=b'', desc='a pax x header whose data is cut off by the end of the file')


# ------------------------------------------------- numeric fields
def numeric():
    d6 = content('hello')   # 6 bytes
    sizes = {
        'b256': b256(6, 12),
        'b256-neg': b'\xff' * 12,
        'b256-big': b'\x80' + b'\0' * 3 + (1 << 40).to_bytes(8, 'big'),
        'spaces-lead': b'         6\0',
        'spaces-trail': b'6          \0',
        'space-term': b'00000000006 ',
        'no-term': b'000000000006',
        'all-nul': b'\0' * 12,
        'all-space': b' ' * 12,
        'digit8': b'00000000008\0',
        'garbage-mid': b'0000000x006\0',
        'garbage-after': b'00000000006x',
        'plus': b'+0000000006\0',
        'nul-mid': b'00000\0000006',
        'decimal-10': b'00000000010\0',
        'long-octal': b'000000000000',
    }
    for k, v in sizes.items():
        for magic in ('ustar', 'gnu'):
            data = d6 if k not in ('decimal-10',) else b'hello\nXXXX'
            case('num-size-%s-%s' % (k, magic), entry('a.txt', data, size=v, magic=magic) + f('b.txt'),
                 desc='size field %r (%s magic), %d data bytes' % (v, magic, len(data)))
    for field in ('uid', 'gid', 'mtime', 'mode'):
        ln = FIELDS[field][1]
        for k, v in {'b256': b256(1000, ln), 'garbage': b'zz' + b'0' * (ln - 3) + b'\0',
                     'spaces': b' ' * ln, 'no-term': b'7' * ln}.items():
            case('num-%s-%s' % (field, k), entry('a.txt', d6, raw={field: v}) + f('b.txt'),
                 desc='%s field %r' % (field, v))
    # checksum variants
    name_hi = b'caf\xe9.txt'   # a byte > 127: signed and unsigned sums differ
    case('cksum-signed', hdr(name_hi, 6, chksum='signed') + d6 + pad(6) + f('b.txt'),
         desc='checksum computed over signed chars (old Sun tar), name has byte 0xe9')
    case('cksum-unsigned-hi', hdr(name_hi, 6) + d6 + pad(6) + f('b.txt'),
         desc='checksum over unsigned chars, name has byte 0xe9')
    case('cksum-bad-first', hdr('a.txt', 6, chksum='bad') + d6 + pad(6) + f('b.txt'),
         desc='bad checksum on the first header')
    case('cksum-bad-second', f('a.txt') + hdr('b.txt', 6, chksum='bad') + d6 + pad(6),
         desc='bad checksum on the second header')
    ok = hdr('a.txt', 6)
    s = int(ok[148:154], 8)
    for k, v in {'7digits': b'%07o\0' % s, '8digits': b'%08o' % s, 'lead-space': b' %06o\0' % s,
                 'trail-spaces': b'%06o  ' % s, 'no-term': b'%06o' % s + b'\0\0',
                 'all-space': b' ' * 8}.items():
        h = bytearray(ok)
        h[148:156] = v.ljust(8, b'\0')[:8]
        case('cksum-%s' % k, bytes(h) + d6 + pad(6) + f('b.txt'),
             desc='checksum field written as %r' % v)


# ------------------------------------------------- sparse entries
def sparse_old_gnu(name, chunks, realsize, data, ext_chunks=None):
    """An old GNU 'S' header: up to 4 (offset, numbytes) pairs at 386, isextended
    at 482, realsize at 483; ext_chunks go into a continuation block."""
    h = bytearray(hdr(name, len(data), typ=b'S', magic='gnu', chksum=b' ' * 8))
    for i, (o, n) in enumerate(chunks[:4]):
        h[386 + 24 * i:386 + 24 * i + 12] = octal(o, 12)
        h[398 + 24 * i:398 + 24 * i + 12] = octal(n, 12)
    h[482] = 1 if ext_chunks else 0
    h[483:495] = octal(realsize, 12)
    h[148:156] = b' ' * 8
    h[148:156] = b'%06o\0 ' % sum(h)
    out = bytes(h)
    if ext_chunks:
        e = bytearray(BLOCK)
        for i, (o, n) in enumerate(ext_chunks[:21]):
            e[24 * i:24 * i + 12] = octal(o, 12)
            e[24 * i + 12:24 * i + 24] = octal(n, 12)
        out += bytes(e)
    return out + data + pad(len(data))


def sparse():
    d = content('sp', 1024)
    case('sparse-gnu-old', sparse_old_gnu('sp.bin', [(0, 512), (4096, 512)], 8192, d) + f('b.txt'),
         desc="old GNU 'S' sparse: 2 chunks, realsize 8192")
    case('sparse-gnu-old-ext', sparse_old_gnu('sp.bin', [(0, 512)] * 0 + [(0, 512)], 8192,
                                              d, ext_chunks=[(4096, 512)]) + f('b.txt'),
         desc="old GNU 'S' sparse with an isextended continuation block")
    case('sparse-gnu-old-overlap', sparse_old_gnu('sp.bin', [(0, 1024), (512, 512)], 2048,
                                                  content('sp', 1536)) + f('b.txt'),
         desc="old GNU 'S' sparse with overlapping chunks")
    case('sparse-gnu-old-past-real', sparse_old_gnu('sp.bin', [(0, 512), (8192, 512)], 1024, d) +
         f('b.txt'), desc="old GNU 'S' sparse with a chunk past realsize")
    case('sparse-gnu-old-unsorted', sparse_old_gnu('sp.bin', [(4096, 512), (0, 512)], 8192, d) +
         f('b.txt'), desc="old GNU 'S' sparse with chunks out of order")
    case('sparse-gnu-old-ustar-magic',
         hdr('sp.bin', 1024, typ=b'S') + d + f('b.txt'),
         desc="type 'S' with the POSIX ustar magic (no sparse map in the header)")
    # pax 0.0: repeated offset/numbytes; 0.1: map; 1.0: map in the data
    case('sparse-pax-00', pax([('GNU.sparse.size', '8192'), ('GNU.sparse.numblocks', '2'),
                               ('GNU.sparse.offset', '0'), ('GNU.sparse.numbytes', '512'),
                               ('GNU.sparse.offset', '4096'), ('GNU.sparse.numbytes', '512')]) +
         entry('sp.bin', d) + f('b.txt'), desc='pax GNU.sparse 0.0 (offset/numbytes records)')
    case('sparse-pax-01', pax([('GNU.sparse.size', '8192'), ('GNU.sparse.numblocks', '2'),
                               ('GNU.sparse.map', '0,512,4096,512')]) +
         entry('sp.bin', d) + f('b.txt'), desc='pax GNU.sparse 0.1 (GNU.sparse.map)')
    mapdata = b'2\n0\n512\n4096\n512\n'
    body10 = mapdata + pad(len(mapdata)) + d
    case('sparse-pax-10', pax([('GNU.sparse.major', '1'), ('GNU.sparse.minor', '0'),
                               ('GNU.sparse.name', 'sp.bin'), ('GNU.sparse.realsize', '8192')]) +
         entry('GNUSparseFile.0/sp.bin', body10) + f('b.txt'),
         desc='pax GNU.sparse 1.0 (map at the start of the data)')
    case('sparse-pax-10-badmap', pax([('GNU.sparse.major', '1'), ('GNU.sparse.minor', '0'),
                                      ('GNU.sparse.name', 'sp.bin'), ('GNU.sparse.realsize', '8192')]) +
         entry('GNUSparseFile.0/sp.bin', b'x\ny\n' + pad(4) + d) + f('b.txt'),
         desc='pax GNU.sparse 1.0 with a non-numeric map')
    case('sparse-pax-10-major-only', pax([('GNU.sparse.major', '1'), ('GNU.sparse.realsize', '8192')]) +
         entry('sp.bin', body10) + f('b.txt'),
         desc='pax GNU.sparse.major=1 without minor')
    case('sparse-pax-01-bad', pax([('GNU.sparse.size', '8192'), ('GNU.sparse.map', '0,512,4096')]) +
         entry('sp.bin', d) + f('b.txt'), desc='pax GNU.sparse.map with an odd number of values')
    case('sparse-pax-size-only', pax([('GNU.sparse.size', '8192')]) + entry('sp.bin', d) + f('b.txt'),
         desc='pax GNU.sparse.size alone')
    case('sparse-pax-realsize-small', pax([('GNU.sparse.size', '100'), ('GNU.sparse.map', '0,512')]) +
         entry('sp.bin', content('sp', 512)) + f('b.txt'),
         desc='pax GNU.sparse 0.1, chunk larger than the real size')


# ------------------------------------------------- directories, types, names
def types():
    fake = entry('smuggled.txt', content('smuggled'))
    case('dir-size-hdr-data', hdr('d/', 512, typ=b'5', mode=0o755) + fake + f('b.txt'),
         desc='directory with size 512 whose "data" is a file header + data')
    case('dir-size-data', entry('d/', content('dirdata', 512), typ=b'5', mode=0o755) + f('b.txt'),
         desc='directory with size 512 followed by 512 non-header bytes')
    case('dir-no-slash', entry('d', typ=b'5', mode=0o755) + f('b.txt'),
         desc='type 5 directory without trailing slash')
    case('dir-regular-slash', entry('d/', typ=b'0') + f('b.txt'),
         desc="type '0' entry named d/ size 0")
    case('dir-regular-slash-size', entry('d/', content('dd', 512), typ=b'0') + f('b.txt'),
         desc="type '0' entry named d/ with 512 data bytes")
    case('dir-oldnul-slash', entry('d/', typ=b'\0', magic='v7') + f('b.txt'),
         desc="old typeflag NUL with a trailing slash (v7 directory)")
    case('dir-oldnul-slash-size', hdr('d/', 512, typ=b'\0', magic='v7') + fake + f('b.txt'),
         desc="old typeflag NUL with trailing slash and size 512, data is a file header")
    case('dir-oldnul-slash-ustar', entry('d/', typ=b'\0') + f('b.txt'),
         desc="typeflag NUL with trailing slash, ustar magic")
    case('reg-oldnul', entry('a.txt', content('nul'), typ=b'\0') + f('b.txt'),
         desc="typeflag NUL regular file (ustar)")
    case('reg-7-contig', entry('a.txt', content('contig'), typ=b'7') + f('b.txt'),
         desc="typeflag 7 (contiguous file)")
    for t in b'ZA9DMNVXEIgz':
        tb = bytes([t])
        if tb in (b'g',):
            continue
        case('type-unknown-%s' % chr(t), entry('u.bin', content('unk'), typ=tb) + f('b.txt'),
             desc='typeflag %r with 6 data bytes' % tb)
        case('type-unknown-%s-hdr' % chr(t), hdr('u.bin', 512, typ=tb) + fake + f('b.txt'),
             desc='typeflag %r with size 512 whose data is a file header' % tb)
    # links with size > 0
    case('hardlink-size0', f('a.txt') + entry('l.txt', typ=b'1', linkname='a.txt') + f('b.txt'),
         desc='hard link l.txt -> a.txt, size 0')
    case('hardlink-size-data', f('a.txt') + entry('l.txt', content('hl', 512), typ=b'1',
                                                  linkname='a.txt') + f('b.txt'),
         desc='hard link with size 512 and 512 data bytes')
    case('hardlink-size-hdr', f('a.txt') + hdr('l.txt', 512, typ=b'1', linkname='a.txt') + fake + f('b.txt'),
         desc='hard link with size 512 whose "data" is a file header + data')
    case('hardlink-size-pax', f('a.txt') + pax([('size', '512')]) +
         hdr('l.txt', 0, typ=b'1', linkname='a.txt') + fake + f('b.txt'),
         desc='hard link, pax size 512, next block a file header')
    case('hardlink-size-gnu', f('a.txt') + hdr('l.txt', 512, typ=b'1', linkname='a.txt', magic='gnu') +
         fake + f('b.txt'), desc='hard link, GNU magic, size 512, next block a file header')
    case('hardlink-dangling', entry('l.txt', typ=b'1', linkname='nowhere.txt') + f('b.txt'),
         desc='hard link to a name not in the archive')
    case('symlink-size-hdr', hdr('s.txt', 512, typ=b'2', linkname='b.txt') + fake + f('b.txt'),
         desc='symlink with size 512 whose "data" is a file header')
    case('symlink', entry('s.txt', typ=b'2', linkname='b.txt') + f('b.txt'),
         desc='a plain symlink s.txt -> b.txt')
    for t, what in ((b'3', 'chardev'), (b'4', 'blockdev'), (b'6', 'fifo')):
        case('%s-size-hdr' % what, hdr('dev', 512, typ=t) + fake + f('b.txt'),
             desc='%s with size 512 whose "data" is a file header' % what)
    # names
    for k, n in {'dot-slash': './a.txt', 'double-slash': 'a//b.txt', 'abs': '/abs.txt',
                 'dotdot': '../up.txt', 'empty': '', 'dot': '.', 'space': 'a b.txt',
                 'newline': 'a\nb.txt', 'backslash': 'a\\b.txt', 'full100': 'n' * 100,
                 'sub': 'sub/a.txt', 'high-byte': b'h\xe9.txt'}.items():
        case('name-%s' % k, entry(n, content('nm')) + f('b.txt'), desc='entry named %r' % n)
    case('name-prefix-gnu', entry('f.txt', content('pre'), prefix='dir', magic='gnu') + f('b.txt'),
         desc='prefix field filled but GNU magic (GNU uses those bytes for atime/ctime)')
    case('name-prefix-v7', entry('f.txt', content('pre'), prefix='dir', magic='v7') + f('b.txt'),
         desc='prefix field filled but no magic')
    case('name-prefix-no-nul', entry('n' * 100, content('pre'), prefix='p' * 155) + f('b.txt'),
         desc='name and prefix both full, no NUL terminators')
    case('name-no-nul-linkname', hdr('n' * 100, 0, typ=b'2', linkname='l' * 100) + f('b.txt'),
         desc='symlink with name and linkname full (no NUL), magic right after')


# ------------------------------------------------- data, padding, end
def data_end():
    d = content('hello')
    case('pad-nonzero', entry('a.txt', d, padding=b'\xAA' * (512 - 6)) + f('b.txt'),
         desc='non-zero bytes in the data padding')
    case('pad-header-like', entry('a.txt', d, padding=hdr('hidden.txt', 0)[:506]) + f('b.txt'),
         desc='the data padding holds most of a header block')
    case('pad-secret-text', entry('a.txt', d, padding=content('SECRET', 506)),
         desc='text hidden in the padding of the last file')
    case('zero-block-then-entry', f('a.txt') + b'\0' * 512 + f('hidden.txt'),
         desc='one zero block, then another entry')
    case('eoa-then-entry', f('a.txt') + EOA + f('hidden.txt'),
         desc='two zero blocks, then another entry (hidden after the end)')
    case('eoa-then-garbage', f('a.txt'), tail=EOA + garbage(700),
         desc='end-of-archive blocks followed by random bytes')
    case('missing-eoa', f('a.txt') + f('b.txt'), tail=b'',
         desc='no end-of-archive blocks; the file ends after the last data block')
    case('one-zero-block', f('a.txt'), tail=b'\0' * 512, desc='only one zero block at the end')
    case('truncated-data', f('a.txt') + hdr('b.txt', 2000) + content('b', 700), tail=b'',
         desc='the archive ends inside the data of the last entry')
    case('truncated-header', f('a.txt') + hdr('b.txt', 6)[:300], tail=b'',
         desc='the archive ends inside a header block')
    case('truncated-unaligned', f('a.txt') + b'\0' * 700, tail=b'',
         desc='ends with 700 zero bytes (not a multiple of 512)')
    case('garbage-block-mid', f('a.txt') + garbage(512) + f('b.txt'),
         desc='a random block between two entries')
    case('ff-block-mid', f('a.txt') + b'\xff' * 512 + f('b.txt'),
         desc='a block of 0xff between two entries')
    case('size-past-end', entry('a.txt', content('x', 100), size=100000), tail=b'',
         desc='a size field far past the end of the file')
    case('all-garbage', b'', tail=garbage(2048), desc='2 KiB of random bytes')
    case('empty-file', b'', tail=b'', desc='a zero-byte file')
    case('text-file', b'', tail=b'hello world\n' * 100, desc='a text file, not a tar')
    case('size-multi-block-exact', entry('a.txt', content('m', 1024)) + f('b.txt'),
         desc='a 1024-byte file (no padding)')
    case('big-entry-count', b''.join(f('f%03d.txt' % i) for i in range(60)),
         desc='60 small files')


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for family in (controls, stacking, attack, conflicts, pax_records, numeric, sparse,
                   types, data_end):
        family()
    hi = entry('header-info', HEADER_INFO, mode=0o600, mtime=0)
    ti = entry('headers/0000/type-info', TYPE_INFO, mode=0o600, mtime=0)
    meta = []
    for c in CASES:
        with open(os.path.join(out, c['name'] + '.tar'), 'wb') as fh:
            fh.write(c['core'] + c['tail'])
        if c['hdr']:
            with open(os.path.join(out, c['name'] + '.hdr.tar'), 'wb') as fh:
                fh.write(hi + c['core'] + ti + EOA)
        meta.append({k: c[k] for k in ('name', 'desc', 'control', 'hdr')})
    with open(os.path.join(out, 'cases.json'), 'w') as fh:
        json.dump(meta, fh, indent=1)
    print('%d cases (%d also as header.tar) in %s' % (len(CASES), sum(c['hdr'] for c in CASES), out))


if __name__ == '__main__':
    main()
