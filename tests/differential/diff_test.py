#!/usr/bin/env python3
"""diff_test.py -- the differential test of issue 12 point 3.

Generates the hostile tars (gen_hostile.py), reads each with three readers
(bsdtar/libarchive, GNU tar, Python tarfile), wraps it as data/0000.tar (and,
for some cases, as header.tar) of an uncompressed Mender artifact v3, and
checks artifactfs against the readers:

  * the readers DISAGREE (any error or warning from any reader, or any
    difference in the entry list: name, type, size, content) -> artifactfs
    --status must say `invalid` on line 1;
  * the readers AGREE and artifactfs does not say `invalid` -> the mount must
    show exactly the agreed entries (data/0000/ or header/) with exactly the
    agreed bytes; when it says `invalid`, the mount may hide entries but must
    show no file, and no bytes, that the readers did not read;
  * benign controls must be `unsigned` (a test that can only see `invalid`
    proves nothing).

Environment: ARTIFACTFS (the binary; default BUILD_ROOT/fs/artifactfs or
./build/fs/artifactfs).  Options: -v (a line per case), -k DIR (keep the
tars and artifacts in DIR), -o SUBSTRING (only cases whose name contains it),
--no-mount (skip the mounts).  Prints "N passed, M failed" last; exits 1 on
any failure.
"""
import concurrent.futures
import ctypes
import ctypes.util
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_hostile as g  # noqa: E402  (the block builders, for the artifact)

TIMEOUT = 20
JOBS = int(os.environ.get('DIFF_JOBS', '3'))
# meson test sets MALLOC_PERTURB_, and glibc then fills every allocation:
# artifactfs --status touches ~18 MiB it otherwise never does (0.3 s instead
# of 0.04 s a call), and the readers slow down too; over ~1500 runs that is
# minutes.  The readers (oracles, not under test) and the --status calls run
# without it; the mounts, where artifactfs lives long, keep it.
PERTURB = os.environ.get('MALLOC_PERTURB_') or os.environ.get('DIFF_PERTURB')
BASE_ENV = {k: v for k, v in os.environ.items() if k != 'MALLOC_PERTURB_'}
UTF8_ENV = dict(BASE_ENV, LC_ALL='C.UTF-8')
C_ENV = dict(BASE_ENV, LC_ALL='C')
MOUNT_ENV = dict(UTF8_ENV, **({'MALLOC_PERTURB_': PERTURB} if PERTURB else {}))


def sha(b):
    return hashlib.sha256(b).hexdigest()


# An entry, as every reader reports it: (type, name, size, sha256, link)
#   type: f (a file with content: regular, contiguous, sparse, unknown type
#         read as a file), d, l (symlink), h (hard link), c, b, p, ? (other)
#   name: bytes, a directory's trailing '/' removed
#   size/sha256: of the content the reader delivers, for f (and for h when
#         the reader gives the link a body); None otherwise
#   link: bytes for l and h, else None
def ent(typ, name, data=None, link=None):
    if typ == 'd':
        name = name.rstrip(b'/') or name
    if data is None:
        return (typ, name, None, None, link)
    return (typ, name, len(data), sha(data), link)


class View:
    """What one reader made of one tar: the entries it read, and errors."""

    def __init__(self, reader):
        self.reader = reader
        self.entries = []
        self.errors = []     # error and warning messages (stderr, exit status, exceptions)
        self.data = {}       # index in entries -> bytes (for f)

    def add(self, typ, name, data=None, link=None):
        if data is not None:
            self.data[len(self.entries)] = data
        self.entries.append(ent(typ, name, data, link))

    def ok(self):
        return not self.errors

    def short(self, maxent=6):
        parts = []
        for t, n, s, h, l in self.entries[:maxent]:
            p = '%s %s' % (t, n.decode('utf-8', 'backslashreplace'))
            if s is not None:
                p += ' %d:%s' % (s, h[:8])
            if l is not None:
                p += ' ->%s' % l.decode('utf-8', 'backslashreplace')
            parts.append(p)
        if len(self.entries) > maxent:
            parts.append('... %d entries' % len(self.entries))
        s = '[' + ', '.join(parts) + ']'
        if self.errors:
            s += ' ERROR ' + ' | '.join(e.strip().replace('\n', ' / ')[:120] for e in self.errors[:3])
        return s


# ------------------------------------------------------------ libarchive
class LibArchive:
    """libarchive through ctypes (the library bsdtar is a front end of), set up
    as bsdtar sets it up (all filters, all formats), so that every entry's
    bytes are known even when names repeat.  bsdtar itself is also run (-tf):
    its warnings and exit status count, and it must list as many entries."""

    def __init__(self):
        path = ctypes.util.find_library('archive') or 'libarchive.so.13'
        la = ctypes.CDLL(path)
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        for fn, res, args in [
                ('archive_read_new', vp, []),
                ('archive_read_support_filter_all', ctypes.c_int, [vp]),
                ('archive_read_support_format_all', ctypes.c_int, [vp]),
                ('archive_read_open_memory', ctypes.c_int, [vp, vp, ctypes.c_size_t]),
                ('archive_read_next_header', ctypes.c_int, [vp, ctypes.POINTER(vp)]),
                ('archive_read_data', ctypes.c_ssize_t, [vp, vp, ctypes.c_size_t]),
                ('archive_error_string', cp, [vp]),
                ('archive_read_free', ctypes.c_int, [vp]),
                ('archive_entry_pathname', cp, [vp]),
                ('archive_entry_hardlink', cp, [vp]),
                ('archive_entry_symlink', cp, [vp]),
                ('archive_entry_filetype', ctypes.c_uint, [vp]),
                ('archive_entry_size', ctypes.c_int64, [vp]),
                ('archive_version_string', cp, [])]:
            getattr(la, fn).restype = res
            getattr(la, fn).argtypes = args
        self.la = la
        self.version = la.archive_version_string().decode()

    def read(self, raw):
        la = self.la
        v = View('libarchive')
        a = la.archive_read_new()
        la.archive_read_support_filter_all(a)
        la.archive_read_support_format_all(a)
        buf = ctypes.create_string_buffer(raw, len(raw))
        try:
            if la.archive_read_open_memory(a, buf, len(raw)) != 0:
                v.errors.append('open: %s' % la.archive_error_string(a))
                return v
            e = ctypes.c_void_p()
            chunk = ctypes.create_string_buffer(65536)
            retries = 0
            while True:
                r = la.archive_read_next_header(a, ctypes.byref(e))
                if r == 1:              # ARCHIVE_EOF
                    break
                if r != 0:
                    msg = (la.archive_error_string(a) or b'?').decode('utf-8', 'replace')
                    v.errors.append('next_header %d: %s' % (r, msg))
                    # as bsdtar does: RETRY -> next header, FATAL -> stop,
                    # WARN and FAILED -> the entry is still there
                    if r == -10 and retries < 100:
                        retries += 1
                        continue
                    if r == -30 or r == -10:
                        break
                name = la.archive_entry_pathname(e) or b''
                ft = la.archive_entry_filetype(e) & 0o170000
                hl = la.archive_entry_hardlink(e)
                sl = la.archive_entry_symlink(e)
                data = []
                while True:
                    n = la.archive_read_data(a, chunk, len(chunk))
                    if n < 0:
                        v.errors.append('read_data %s: %s' % (
                            name, (la.archive_error_string(a) or b'?').decode('utf-8', 'replace')))
                        break
                    if n == 0:
                        break
                    data.append(chunk.raw[:n])
                data = b''.join(data)
                if hl is not None:
                    v.add('h', name, data if data else None, link=hl)
                elif ft == 0o100000:
                    v.add('f', name, data)
                elif ft == 0o040000:
                    v.add('d', name)
                elif ft == 0o120000:
                    v.add('l', name, link=sl or b'')
                else:
                    v.add({0o020000: 'c', 0o060000: 'b', 0o010000: 'p'}.get(ft, '?'), name)
        finally:
            la.archive_read_free(a)
        return v


def run(cmd, env, cwd=None, extra_env=None):
    if extra_env:
        env = dict(env, **extra_env)
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, b'', b'timed out after %d s' % TIMEOUT


def read_bsdtar(lib, path):
    raw = open(path, 'rb').read()
    v = lib.read(raw)
    v.reader = 'bsdtar'
    rc, out, err = run(['bsdtar', '-tf', path], UTF8_ENV)
    if rc != 0 or err:
        v.errors.append('bsdtar -tf exit %d: %s' % (rc, err.decode('utf-8', 'replace')))
    elif out.count(b'\n') != len(v.entries):
        v.errors.append('bsdtar -tf lists %d entries, libarchive read %d' % (out.count(b'\n'), len(v.entries)))
    return v


# ------------------------------------------------------------ GNU tar
TV_RE = re.compile(rb'^(.)\S{9} (\S+) +(\d+|\d+,\d+) (\d{4,}-\d\d-\d\d \d\d:\d\d|-?\d+) (.*)$')
ESC_RE = re.compile(rb'\\([0-7]{3}|.)')
ESCAPES = {b'n': b'\n', b't': b'\t', b'\\': b'\\', b'a': b'\a', b'b': b'\b', b'f': b'\f',
           b'r': b'\r', b'v': b'\v', b'?': b'?', b' ': b' '}


def unescape(s):
    return ESC_RE.sub(lambda m: bytes([int(m.group(1), 8)]) if len(m.group(1)) == 3
                      else ESCAPES.get(m.group(1), m.group(1)), s)


TO_COMMAND = r'''#!/bin/sh
n=$(cat "$DIFF_OUT/count" 2>/dev/null || echo 0)
cat > "$DIFF_OUT/$n.data"
echo $((n + 1)) > "$DIFF_OUT/count"
'''


def to_command_files(path):
    """The bytes GNU tar extracts for each file, one --to-command run per file
    (slow: used only when -xO cannot be cut by the -tv sizes, e.g. a sparse
    file whose extraction is shorter than its listed size)."""
    d = tempfile.mkdtemp(prefix='artifactfs-diff-gnu.')
    try:
        script = os.path.join(d, 'cmd.sh')
        with open(script, 'w') as fh:
            fh.write(TO_COMMAND)
        os.chmod(script, 0o755)
        out = os.path.join(d, 'out')
        os.mkdir(out)
        run(['tar', '-xf', path, '--to-command=' + script], C_ENV, cwd=d, extra_env={'DIFF_OUT': out})
        cnt = os.path.join(out, 'count')
        n = int(open(cnt).read()) if os.path.exists(cnt) else 0
        return [open(os.path.join(out, '%d.data' % i), 'rb').read() for i in range(n)]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def read_gnutar(path):
    """GNU tar: the entry list from the -vv listing (names quoted with
    escapes, in the C locale), the contents from -O (every regular file's
    bytes, in archive order), cut by the sizes listed; or, when they do not
    add up, from --to-command, file by file."""
    v = View('gnutar')
    # one run: -xvv -O writes the files' bytes to stdout and the -tv style
    # listing to stderr, among its own "tar: ..." messages
    rc, data, err = run(['tar', '--quoting-style=escape', '--numeric-owner', '--utc', '-xvvOf', path], C_ENV)
    listing = [l for l in err.split(b'\n') if l and not l.startswith(b'tar: ')]
    msgs = [l for l in err.split(b'\n') if l.startswith(b'tar: ')]
    if rc != 0 or msgs:
        v.errors.append('tar -x exit %d: %s' % (rc, b' / '.join(msgs).decode('utf-8', 'replace')))
    out = b'\n'.join(listing)
    pos = 0
    for line in out.split(b'\n'):
        if not line:
            continue
        m = TV_RE.match(line)
        if not m:
            v.errors.append('tar -vv line not understood: %r' % line[:100])
            continue
        t, size, rest = m.group(1), m.group(3), m.group(5)
        link = None
        if t == b'h':
            rest, _, link = rest.partition(b' link to ')
            link = unescape(link)
        elif t == b'l':
            rest, _, link = rest.partition(b' -> ')
            link = unescape(link)
        elif t == b'?':
            rest = re.sub(rb' unknown file type .*$', b'', rest)
        elif t in (b'V', b'M', b'N'):
            rest = re.sub(rb'--(Volume Header|Continued at byte \d+|Mangled file names)--$', b'', rest)
        name = unescape(rest)
        if t in (b'-', b'C', b'?'):  # what tar -xO writes out: regular, contiguous, sparse,
            # and an unknown type, "extracted as normal file" (with a warning)
            n = int(size)
            v.add('f', name, data[pos:pos + n])
            pos += n
        else:
            v.add({b'd': 'd', b'l': 'l', b'h': 'h', b'c': 'c', b'b': 'b', b'p': 'p'}.get(t, '?'),
                  name, link=link)
    if pos != len(data):
        files = to_command_files(path)
        fidx = [i for i, e in enumerate(v.entries) if e[0] == 'f']
        if len(files) != len(fidx):
            v.errors.append('tar -xO wrote %d bytes, tar -tv sizes add up to %d, and --to-command '
                            'gave %d files for %d listed' % (len(data), pos, len(files), len(fidx)))
        else:
            for i, d in zip(fidx, files):
                v.data[i] = d
                v.entries[i] = ent('f', v.entries[i][1], d)
    return v


# ------------------------------------------------------------ Python tarfile
def read_tarfile(path):
    v = View('tarfile')
    raw = open(path, 'rb').read()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode='r:', encoding='utf-8',
                          errors='surrogateescape') as t:
            while True:
                m = t.next()
                if m is None:
                    break
                name = m.name.encode('utf-8', 'surrogateescape')
                link = m.linkname.encode('utf-8', 'surrogateescape')
                if m.isreg() or m.type not in tarfile.SUPPORTED_TYPES:
                    v.add('f', name, t.extractfile(m).read())
                elif m.isdir():
                    v.add('d', name)
                elif m.issym():
                    v.add('l', name, link=link)
                elif m.islnk():
                    v.add('h', name, link=link)
                elif m.ischr():
                    v.add('c', name)
                elif m.isblk():
                    v.add('b', name)
                elif m.isfifo():
                    v.add('p', name)
                else:
                    v.add('?', name)
    except Exception as e:  # any exception is this reader erroring
        v.errors.append('%s: %s' % (type(e).__name__, e))
    return v


# ------------------------------------------------------------ the artifact
VERSION = b'{"format":"mender","version":3}'
EMPTY_TAR = b'\0' * 1024


def member(name, data):
    return g.entry(name, data, mode=0o600, mtime=0, uname=b'', gname=b'')


def artifact(header_tar, data_tar, data_files):
    """An uncompressed v3 artifact; data_files: [(name bytes, sha256 hex)]."""
    last = {}                   # one line per name: a name that repeats gets the
    for n, h in data_files:     # hash of its last entry (what extraction leaves)
        last.pop(n, None)
        last[n] = h
    lines = [b'%s  data/0000/%s\n' % (h.encode(), n) for n, h in last.items()]
    lines.append(b'%s  header.tar\n' % sha(header_tar).encode())
    lines.append(b'%s  version\n' % sha(VERSION).encode())
    manifest = b''.join(lines)
    return (member('version', VERSION) + member('manifest', manifest) +
            member('header.tar', header_tar) + member('data/0000.tar', data_tar) + g.EOA)


def standard_header():
    return (g.entry('header-info', g.HEADER_INFO, mode=0o600, mtime=0) +
            g.entry('headers/0000/type-info', g.TYPE_INFO, mode=0o600, mtime=0) + g.EOA)


def status(exe, art):
    rc, out, err = run([exe, '--status', art], UTF8_ENV)
    lines = out.decode('utf-8', 'replace').splitlines()
    verdict = lines[0] if lines else '(nothing on stdout; exit %d: %s)' % (
        rc, err.decode('utf-8', 'replace').strip()[:200])
    reasons = [l for l in lines if l.startswith('reason:')]
    return rc, verdict, reasons, lines


# ------------------------------------------------------------ the mount
def norm(name):
    parts = [p for p in name.split(b'/') if p not in (b'', b'.')]
    return b'/'.join(parts)


def expected_tree(entries):
    """path -> ('f', size, sha) | ('d',) | ('l', link) for the agreed entries."""
    tree, seen = {}, {}
    for t, n, s, h, l in entries:
        p = norm(n)
        parts = p.split(b'/')
        for i in range(1, len(parts)):
            tree.setdefault(b'/'.join(parts[:i]), ('d',))
        if t == 'f':
            tree[p] = ('f', s, h)
        elif t == 'd':
            tree[p] = ('d',)
        elif t == 'l':
            tree[p] = ('l', l)
        else:
            tree[p] = (t,)
        if p in seen and seen[p] != tree[p]:
            # the same name twice with different content or type: no mount
            # can show both, so accepting this can never match
            tree[p] = ('conflict', seen[p], tree[p])
        seen[p] = tree[p]
    return tree


def mounted_tree(root, out):
    tree = {}
    rootb = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(rootb):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, rootb)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                tree[rel] = ('phantom',)     # listed by readdir, but no such file
                continue
            except OSError as e:
                tree[rel] = ('unreadable', e.strerror)   # listed, but shows nothing
                continue
            if os.path.islink(full):
                tree[rel] = ('l', os.readlink(full))
            elif os.path.isdir(full):
                tree[rel] = ('d',)
            elif os.path.isfile(full):
                try:
                    with open(full, 'rb') as fh:
                        d = fh.read()
                except OSError as e:
                    tree[rel] = ('unreadable', e.strerror)   # shows no bytes
                    continue
                if len(d) != st.st_size:
                    tree[rel] = ('f', 'st_size %d but read %d bytes' % (st.st_size, len(d)), sha(d))
                else:
                    tree[rel] = ('f', len(d), sha(d))
            else:
                tree[rel] = ('?',)
    out['tree'] = tree


def check_mount(exe, art, mnt, subdir, entries, subset=False):
    """Mounts art, compares MNT/subdir with entries; returns None or a message.
    subset: for an artifact artifactfs calls invalid, which may hide entries
    (directories, links, names it refuses) but must not show a file the
    readers did not read, or other bytes than they read; an artifact it will
    not mount at all shows nothing, which is fine too."""
    os.makedirs(mnt, exist_ok=True)
    errf = open(mnt + '.err', 'wb')
    p = subprocess.Popen([exe, '-f', art, mnt], stdin=subprocess.DEVNULL,
                         stdout=errf, stderr=errf, env=MOUNT_ENV)
    t0 = time.time()
    while not os.path.ismount(mnt):
        if p.poll() is not None:
            errf.close()
            if subset:
                return None
            return 'mount failed: artifactfs exited %d: %s' % (
                p.returncode, open(mnt + '.err', 'rb').read()[:300].decode('utf-8', 'replace'))
        if time.time() - t0 > TIMEOUT:
            p.kill()
            p.wait()
            return 'not mounted after %d s' % TIMEOUT
        time.sleep(0.02)
    res = {}
    th = threading.Thread(target=lambda: _walk(os.path.join(mnt, subdir), res), daemon=True)
    th.start()
    th.join(TIMEOUT)
    msg = None
    if th.is_alive():
        msg = 'reading the mount hung for %d s' % TIMEOUT
    elif 'error' in res:
        msg = 'reading the mount: %s' % res['error']
    else:
        want, got = expected_tree(entries), res['tree']
        if subset:
            # any one of the entries of that name will do
            alts = {}
            for e in entries:
                alts.setdefault(norm(e[1]), set()).add(expected_tree([e])[norm(e[1])])
        diffs = []
        for k in sorted(set(want) | set(got)):
            if subset:
                if got.get(k) == ('phantom',) or got.get(k, ('',))[0] == 'unreadable':
                    continue    # listed by readdir but not there or not readable: no bytes
                if k in got and got[k] != want.get(k) and got[k] not in alts.get(k, ()):
                    diffs.append('%s: the readers have %s, the mount of an invalid artifact shows %s' % (
                        k.decode('utf-8', 'backslashreplace'), fmt_node(want.get(k)), fmt_node(got[k])))
            elif want.get(k) != got.get(k):
                diffs.append('%s: want %s, mount has %s' % (
                    k.decode('utf-8', 'backslashreplace'), fmt_node(want.get(k)), fmt_node(got.get(k))))
        if diffs:
            msg = 'mount differs from the readers: ' + '; '.join(diffs[:4])
    for i in range(50):
        if subprocess.run(['fusermount3', '-u', mnt], stderr=subprocess.DEVNULL).returncode == 0 \
                or not os.path.ismount(mnt):
            break
        time.sleep(0.1)
    else:
        subprocess.run(['fusermount3', '-uz', mnt], stderr=subprocess.DEVNULL)
    try:
        rc = p.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    errf.close()
    # artifactfs -f exits 2 for "nothing was staged", which is what an inspection is
    if rc != 2 and msg is None:
        msg = 'artifactfs exited %d at unmount: %s' % (
            rc, open(mnt + '.err', 'rb').read()[-300:].decode('utf-8', 'replace'))
    return msg


def _walk(root, res):
    try:
        if not os.path.isdir(root):
            res['error'] = '%s is not a directory' % root
            return
        mounted_tree(root, res)
    except OSError as e:
        res['error'] = str(e)


def fmt_node(n):
    if n is None:
        return 'nothing'
    if n[0] == 'f':
        return 'file %s bytes sha256 %s' % (n[1], n[2][:12])
    if n[0] == 'l':
        return 'symlink to %r' % n[1]
    if n[0] == 'phantom':
        return 'a name readdir lists but lookup says does not exist'
    if n[0] == 'conflict':
        return 'two different entries (%s, then %s)' % (fmt_node(n[1]), fmt_node(n[2]))
    return {'d': 'directory'}.get(n[0], 'type ' + n[0])


# ------------------------------------------------------------ main
def views_agree(views):
    if any(not v.ok() for v in views):
        return False
    return all(v.entries == views[0].entries for v in views[1:])


def main():
    if PERTURB and not os.environ.get('DIFF_REEXEC'):
        # this process too (it reads every tar with tarfile and libarchive)
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(BASE_ENV, DIFF_REEXEC='1', DIFF_PERTURB=PERTURB))
    args = sys.argv[1:]
    verbose = '-v' in args
    no_mount = '--no-mount' in args
    keep = args[args.index('-k') + 1] if '-k' in args else None
    only = args[args.index('-o') + 1] if '-o' in args else None
    exe = os.environ.get('ARTIFACTFS')
    if not exe:
        root = os.environ.get('BUILD_ROOT') or os.path.join(HERE, '..', '..', 'build')
        exe = os.path.join(root, 'fs', 'artifactfs')
    exe = os.path.abspath(exe)
    for tool in ('bsdtar', 'tar', 'fusermount3'):
        if not shutil.which(tool):
            print('diff_test: %s not found (apt-get install libarchive-tools tar fuse3)' % tool)
            print('0 passed, 1 failed')
            return 1
    if not os.access(exe, os.X_OK):
        print('diff_test: %s is not executable (set ARTIFACTFS)' % exe)
        print('0 passed, 1 failed')
        return 1

    work = keep or tempfile.mkdtemp(prefix='artifactfs-diff.')
    os.makedirs(work, exist_ok=True)
    tars = os.path.join(work, 'tars')
    subprocess.run([sys.executable, os.path.join(HERE, 'gen_hostile.py'), tars], check=True,
                   stdout=subprocess.DEVNULL)
    cases = json.load(open(os.path.join(tars, 'cases.json')))
    if only:
        cases = [c for c in cases if only in c['name']]
    lib = LibArchive()
    arts = os.path.join(work, 'artifacts')
    os.makedirs(arts, exist_ok=True)
    mnt_root = tempfile.mkdtemp(prefix='artifactfs-diff-mnt.')

    tv = subprocess.run(['tar', '--version'], stdout=subprocess.PIPE).stdout.split(b'\n')[0].decode()
    bv = subprocess.run(['bsdtar', '--version'], stdout=subprocess.PIPE).stdout.split(b'\n')[0].decode()
    print('readers: %s; %s; python %s tarfile' % (bv, tv, sys.version.split()[0]))
    print('artifactfs: %s' % exe)

    runs = []   # (case, wrap) pairs: wrap is 'data' or 'header'
    for c in cases:
        runs.append((c, 'data'))
        if c['hdr']:
            runs.append((c, 'header'))

    npass = nfail = 0
    stats = {'agree': 0, 'disagree': 0, 'accepted': 0, 'agree_refused': 0, 'mounted': 0}
    failures = []
    refused_agree = []
    std_header = standard_header()
    t_start = time.time()
    def evaluate(r):
        """Reads one tar with the three readers, writes its artifact, asks
        artifactfs --status, and mounts it when the readers agree and
        artifactfs accepts it.  Runs in a small thread pool (it is nearly all
        child processes and FUSE); the report is printed in case order."""
        (c, wrap), idx = r
        label = c['name'] if wrap == 'data' else 'hdr:' + c['name']
        tar_path = os.path.join(tars, c['name'] + ('.tar' if wrap == 'data' else '.hdr.tar'))
        raw = open(tar_path, 'rb').read()
        views = [read_bsdtar(lib, tar_path), read_gnutar(tar_path), read_tarfile(tar_path)]
        agree = views_agree(views)
        # The manifest lists the files as the readers read them.  When they
        # disagree there is no one list: the first artifact takes Python
        # tarfile's, and one more is made for each reader that read other
        # files (bsdtar's, GNU tar's), so that artifactfs cannot pass by
        # refusing a manifest that is not the view it happens to share; every
        # one of them must be invalid.
        manifests = []
        for v in (views[2], views[0], views[1]):
            files = [(n, h) for t, n, s, h, l in v.entries if t == 'f' and h is not None]
            if wrap == 'header':
                files = []
            if all(files != f for r, f in manifests):
                manifests.append((v.reader, files))
        verdicts = []   # (reader whose view the manifest follows, art, rc, verdict, reasons)
        for i, (reader, files) in enumerate(manifests):
            if wrap == 'data':
                art_bytes = artifact(std_header, raw, files)
            else:
                art_bytes = artifact(raw, EMPTY_TAR, [])
            art = os.path.join(arts, label.replace(':', '-') + ('' if i == 0 else '.' + reader) + '.mender')
            with open(art, 'wb') as fh:
                fh.write(art_bytes)
            verdicts.append((reader, art) + status(exe, art)[:3])
        mount_problem = None
        reader, art, rc, verdict, reasons = verdicts[0]
        if agree and not no_mount:
            # accepted: exactly the agreed entries; refused: still nothing
            # but agreed entries (a refused artifact is mounted for inspection)
            mnt = os.path.join(mnt_root, 'm%d' % idx)
            mount_problem = check_mount(exe, art, mnt, 'data/0000' if wrap == 'data' else 'header',
                                        views[0].entries, subset=(verdict == 'invalid'))
        return c, wrap, label, views, agree, verdicts, mount_problem

    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        results = list(pool.map(evaluate, zip(runs, range(len(runs)))))
    for c, wrap, label, views, agree, verdicts, mount_problem in results:
        reader, art, rc, verdict, reasons = verdicts[0]
        stats['agree' if agree else 'disagree'] += 1
        accepted = [v for v in verdicts if v[3] != 'invalid']
        if accepted:
            stats['accepted'] += 1
        problem = None
        if c['control'] and wrap == 'data' and verdict != 'unsigned':
            problem = 'a benign control must be unsigned, artifactfs says %s %s' % (verdict, reasons[:1])
        elif not agree and accepted:
            problem = 'readers disagree, artifactfs says %s (not invalid)' % ', '.join(
                '%s with the manifest of %s\'s view' % (v[3], v[0]) for v in accepted)
        elif agree and verdict == 'invalid':
            stats['agree_refused'] += 1
            refused_agree.append('%s: %s' % (label, reasons[0] if reasons else '(no reason line)'))
            problem = mount_problem
        elif agree and not no_mount:
            stats['mounted'] += 1
            problem = mount_problem
        if problem is None:
            npass += 1
            if verbose:
                print('ok: %s: %s, artifactfs %s' % (label, 'AGREE' if agree else 'DISAGREE',
                                                      ', '.join(v[3] for v in verdicts)))
        else:
            nfail += 1
            failures.append(label)
            print('FAIL: %s: %s' % (label, problem))
            print('    case: %s' % c['desc'])
            for v in views:
                print('    %-8s %s' % (v.reader + ':', v.short()))
            for reader, art, rc, verdict, reasons in verdicts:
                print('    artifactfs (manifest of %s\'s view): %s (exit %d)%s' % (
                    reader, verdict, rc, (' ' + reasons[0]) if reasons else ''))
    shutil.rmtree(mnt_root, ignore_errors=True)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    if verbose and refused_agree:
        print('readers agree, artifactfs refuses (allowed):')
        for r in refused_agree:
            print('    ' + r)
    print('summary: %d cases (%d tars: %d as data/0000.tar, %d as header.tar) in %.0f s; '
          'readers AGREE on %d, DISAGREE on %d; artifactfs accepted (not invalid) %d, '
          'of which %d mounted and compared; refused %d that the readers agree on '
          '(mounted too: nothing shown beyond what they read)'
          % (len(cases), len(runs), len([r for r in runs if r[1] == 'data']),
             len([r for r in runs if r[1] == 'header']), time.time() - t_start,
             stats['agree'], stats['disagree'], stats['accepted'], stats['mounted'],
             stats['agree_refused']))
    if failures:
        print('failing: ' + ' '.join(failures))
    print('%d passed, %d failed' % (npass, nfail))
    return 1 if nfail else 0


if __name__ == '__main__':
    sys.exit(main())
