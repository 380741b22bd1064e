// bench/randread: latency of random reads on a file.
//
// N pread()s of SIZE bytes at offsets drawn uniformly from [0, filesize-SIZE],
// rounded down to a multiple of SIZE, from a fixed-seed xorshift64* generator
// (same seed, same offsets, every run). Each read is timed with
// CLOCK_MONOTONIC; short reads are an error. Prints one line:
//   n=N size=SIZE p50=MS p90=MS p99=MS max=MS mean=MS total_s=S   (milliseconds)
// p-quantiles are nearest-rank over the sorted latencies.
//
// usage: randread PATH N SIZE [SEED]
// Built by bench/run: cc -O2 -o bench/cache/bin/randread bench/randread.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double q(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);  // nearest rank, 1-based
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: randread PATH N SIZE [SEED]\n");
        return 2;
    }
    size_t n = strtoull(argv[2], NULL, 10), size = strtoull(argv[3], NULL, 10);
    rng = argc == 5 ? strtoull(argv[4], NULL, 10) : 0x5eed5eed5eedull;
    if (rng == 0)
        rng = 1;
    if (n == 0 || size == 0) {
        fprintf(stderr, "randread: N and SIZE must be positive\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "randread: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < size) {
        fprintf(stderr, "randread: %s: too small or unreadable\n", argv[1]);
        return 1;
    }
    uint64_t slots = ((uint64_t)st.st_size - size) / size + 1;
    char *buf = malloc(size);
    double *lat = malloc(n * sizeof *lat);
    if (!buf || !lat)
        return 1;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        off_t off = (off_t)((next() % slots) * size);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ssize_t r = pread(fd, buf, size, off);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r != (ssize_t)size) {
            fprintf(stderr, "randread: pread at %jd: %s\n", (intmax_t)off,
                    r < 0 ? strerror(errno) : "short read");
            return 1;
        }
        lat[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        total += lat[i];
    }
    qsort(lat, n, sizeof *lat, cmp);
    printf("n=%zu size=%zu p50=%.3f p90=%.3f p99=%.3f max=%.3f mean=%.3f total_s=%.3f\n", n, size,
           q(lat, n, 0.50), q(lat, n, 0.90), q(lat, n, 0.99), lat[n - 1], total / (double)n,
           total / 1e3);
    return 0;
}
