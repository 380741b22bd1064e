// bench/inflate: the baseline for artifactfs' gzip speed.
//
// Inflates one gzip region of a file (e.g. the data/0000.tar.gz member inside
// a .mender) in a single stream, the plain way: pread() 1 MiB of input at a
// time, inflate into a 1 MiB buffer, write() it to /dev/null. ISA-L by default
// (crc_flag = ISAL_GZIP: header parsed, CRC32 and ISIZE checked), zlib with -z.
// Concatenated gzip members are followed. Prints one line:
//   isal|zlib  in=BYTES out=BYTES seconds=S MB/s=OUT_MB_PER_S   (MB = 10^6 bytes)
//
// usage: inflate [-z] PATH OFFSET LENGTH
// Built by bench/run: cc -O2 -o bench/cache/bin/inflate bench/inflate.c -lisal -lz
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1u << 20)

static int in_fd, out_fd;
static uint64_t in_off, in_left;
static unsigned char *inbuf, *outbuf;

static void die(const char *what)
{
    fprintf(stderr, "inflate: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put(const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(out_fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("write /dev/null");
        }
        p += w;
        n -= (size_t)w;
    }
}

// Fills inbuf with up to CHUNK bytes of the region; returns how many.
static size_t fill(void)
{
    size_t want = in_left < CHUNK ? (size_t)in_left : CHUNK;
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(in_fd, inbuf + got, want - got, (off_t)in_off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("pread");
        }
        if (r == 0) {
            errno = 0;
            fprintf(stderr, "inflate: region runs past the end of the file\n");
            exit(1);
        }
        got += (size_t)r;
        in_off += (uint64_t)r;
        in_left -= (uint64_t)r;
    }
    return got;
}

static uint64_t run_isal(void)
{
    struct inflate_state st;
    uint64_t out = 0;
    isal_inflate_init(&st);
    st.crc_flag = ISAL_GZIP;
    st.avail_in = 0;
    for (;;) {
        if (st.avail_in == 0) {
            if (in_left == 0)
                break;
            st.avail_in = (uint32_t)fill();
            st.next_in = inbuf;
        }
        st.next_out = outbuf;
        st.avail_out = CHUNK;
        int rc = isal_inflate(&st);
        if (rc != ISAL_DECOMP_OK) {
            fprintf(stderr, "inflate: isal_inflate error %d\n", rc);
            exit(1);
        }
        size_t n = CHUNK - st.avail_out;
        put(outbuf, n);
        out += n;
        if (st.block_state == ISAL_BLOCK_FINISH) {
            // Another gzip member may follow (trailing zeros end it).
            while (st.avail_in > 0 && *st.next_in == 0) {
                st.next_in++;
                st.avail_in--;
            }
            if (st.avail_in == 0 && in_left == 0)
                break;
            uint8_t *ni = st.next_in;
            uint32_t ai = st.avail_in;
            isal_inflate_reset(&st);
            st.crc_flag = ISAL_GZIP;
            st.next_in = ni;
            st.avail_in = ai;
        }
    }
    return out;
}

static uint64_t run_zlib(void)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        fprintf(stderr, "inflate: inflateInit2 failed\n");
        exit(1);
    }
    uint64_t out = 0;
    for (;;) {
        if (z.avail_in == 0) {
            if (in_left == 0)
                break;
            z.avail_in = (uInt)fill();
            z.next_in = inbuf;
        }
        z.next_out = outbuf;
        z.avail_out = CHUNK;
        int rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            fprintf(stderr, "inflate: zlib error %d (%s)\n", rc, z.msg ? z.msg : "");
            exit(1);
        }
        size_t n = CHUNK - z.avail_out;
        put(outbuf, n);
        out += n;
        if (rc == Z_STREAM_END) {
            while (z.avail_in > 0 && *z.next_in == 0) {
                z.next_in++;
                z.avail_in--;
            }
            if (z.avail_in == 0 && in_left == 0)
                break;
            inflateReset(&z);
        }
    }
    inflateEnd(&z);
    return out;
}

int main(int argc, char **argv)
{
    int use_zlib = 0;
    if (argc == 5 && strcmp(argv[1], "-z") == 0) {
        use_zlib = 1;
        argv++;
        argc--;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: inflate [-z] PATH OFFSET LENGTH\n");
        return 2;
    }
    in_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (in_fd < 0)
        die(argv[1]);
    out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (out_fd < 0)
        die("/dev/null");
    in_off = strtoull(argv[2], NULL, 10);
    in_left = strtoull(argv[3], NULL, 10);
    uint64_t in_total = in_left;
    inbuf = malloc(CHUNK);
    outbuf = malloc(CHUNK);
    if (!inbuf || !outbuf)
        die("malloc");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t out = use_zlib ? run_zlib() : run_isal();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s in=%" PRIu64 " out=%" PRIu64 " seconds=%.3f MB/s=%.1f\n", use_zlib ? "zlib" : "isal",
           in_total, out, s, s > 0 ? (double)out / 1e6 / s : 0.0);
    return 0;
}
