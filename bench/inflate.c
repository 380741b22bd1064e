// bench/inflate: the baseline for artifactfs' gzip speed.
//
// Inflates one gzip region of a file (e.g. the data/0000.tar.gz member inside
// a .mender) in a single stream, the plain way: pread() 1 MiB of input at a
// time, inflate into a 1 MiB buffer, write() it to /dev/null. ISA-L by default
// (crc_flag = ISAL_GZIP: header parsed, CRC32 and ISIZE checked), zlib with -z.
// Concatenated gzip members are followed. Prints one line:
//   isal|zlib|isal+sha256  in=BYTES out=BYTES seconds=S MB/s=OUT_MB_PER_S   (MB = 10^6 bytes)
//
// With -H, a plain checksum pass for reference: ISA-L inflates
// into a ring of 8 blocks of 256 KiB (artifactfs' block size) and a second
// thread SHA-256-hashes each block (crypto/sha256.c, as artifactfs does),
// nothing else. On two vCPUs the hashing thread slows the inflating one.
//
// usage: inflate [-z|-H] PATH OFFSET LENGTH
// Built by bench/run: cc -O2 -I. -o bench/cache/bin/inflate bench/inflate.c
//   crypto/sha256.c -lisal -lz -lcrypto -lpthread
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "crypto/sha256.h"

#define CHUNK (1u << 20)
#define RING 8
#define RING_BLOCK (256u << 10)

static int in_fd, out_fd;
static uint64_t in_off, in_left;
static unsigned char *inbuf, *outbuf;
static size_t out_chunk = CHUNK;	// how much one isal_inflate call may write

// -H: the ring between the inflating and the hashing thread
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned char *slot[RING];
    size_t len[RING];
    uint64_t made, hashed;
    int done;
} ring = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, { 0 }, 0, 0, 0 };
static int hashing;

static void die(const char *what)
{
    fprintf(stderr, "inflate: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *hash_ring(void *unused)
{
    struct cr_sha256 *ctx = cr_sha256_new();
    char hex[CR_SHA256_HEX_LEN + 1];
    (void)unused;
    if (ctx == NULL)
        die("cr_sha256_new");
    pthread_mutex_lock(&ring.lock);
    for (;;) {
        while (ring.hashed == ring.made && !ring.done)
            pthread_cond_wait(&ring.changed, &ring.lock);
        if (ring.hashed == ring.made)
            break;
        size_t i = (size_t)(ring.hashed % RING);
        pthread_mutex_unlock(&ring.lock);
        cr_sha256_update(ctx, ring.slot[i], ring.len[i]);
        pthread_mutex_lock(&ring.lock);
        ring.hashed++;
        pthread_cond_broadcast(&ring.changed);
    }
    pthread_mutex_unlock(&ring.lock);
    cr_sha256_final_hex(ctx, hex);
    cr_sha256_free(ctx);
    return NULL;
}

// Where the next output goes: with -H, the next ring slot once it is hashed.
static unsigned char *next_out(void)
{
    if (!hashing)
        return outbuf;
    pthread_mutex_lock(&ring.lock);
    while (ring.made - ring.hashed == RING)
        pthread_cond_wait(&ring.changed, &ring.lock);
    unsigned char *p = ring.slot[ring.made % RING];
    pthread_mutex_unlock(&ring.lock);
    return p;
}

static void put(const unsigned char *p, size_t n)
{
    if (hashing) {  // p is the slot next_out() gave
        pthread_mutex_lock(&ring.lock);
        ring.len[ring.made % RING] = n;
        ring.made++;
        pthread_cond_broadcast(&ring.changed);
        pthread_mutex_unlock(&ring.lock);
        return;
    }
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
        unsigned char *o = next_out();
        st.next_out = o;
        st.avail_out = (uint32_t)out_chunk;
        int rc = isal_inflate(&st);
        if (rc != ISAL_DECOMP_OK) {
            fprintf(stderr, "inflate: isal_inflate error %d\n", rc);
            exit(1);
        }
        size_t n = out_chunk - st.avail_out;
        put(o, n);
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
    if (argc == 5 && strcmp(argv[1], "-z") == 0)
        use_zlib = 1;
    else if (argc == 5 && strcmp(argv[1], "-H") == 0)
        hashing = 1;
    if (argc == 5 && (use_zlib || hashing)) {
        argv++;
        argc--;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: inflate [-z|-H] PATH OFFSET LENGTH\n");
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

    pthread_t hasher;
    if (hashing) {
        out_chunk = RING_BLOCK;
        for (size_t i = 0; i < RING; i++)
            if ((ring.slot[i] = malloc(RING_BLOCK)) == NULL)
                die("malloc");
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (hashing && (errno = pthread_create(&hasher, NULL, hash_ring, NULL)) != 0)
        die("pthread_create");
    uint64_t out = use_zlib ? run_zlib() : run_isal();
    if (hashing) {
        pthread_mutex_lock(&ring.lock);
        ring.done = 1;
        pthread_cond_broadcast(&ring.changed);
        pthread_mutex_unlock(&ring.lock);
        pthread_join(hasher, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s in=%" PRIu64 " out=%" PRIu64 " seconds=%.3f MB/s=%.1f\n", use_zlib ? "zlib" : hashing ? "isal+sha256" : "isal",
           in_total, out, s, s > 0 ? (double)out / 1e6 / s : 0.0);
    return 0;
}
