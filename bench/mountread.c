// bench/mountread: time from starting a mount program to the first bytes of
// a file under the mount, read by this process (no second program start).
//
// Runs PROGRAM ARGS... (which must mount and return, daemonized, like
// `artifactfs ART MNT`), waits for it, then open()s and read()s FILE to its
// end. Prints one line, in milliseconds:
//   mounted=MS first_read=MS total=MS bytes=N
// where mounted is the program's run and first_read the open and reads after.
// Row 2 of bench/run starts `cat` for the read, a second program start that
// costs this machine about as much as the first; this driver leaves it out.
//
// usage: mountread FILE PROGRAM [ARGS...]
// Built by bench/run: cc -O2 -o bench/cache/bin/mountread bench/mountread.c
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    char buf[65536];
    long total = 0;
    ssize_t n;
    pid_t pid;
    int status, fd, rc;
    double t0, t1, t2;

    if (argc < 3) {
        fprintf(stderr, "usage: mountread FILE PROGRAM [ARGS...]\n");
        return 2;
    }
    t0 = now_ms();
    if ((rc = posix_spawn(&pid, argv[2], NULL, NULL, argv + 2, environ)) != 0) {
        fprintf(stderr, "mountread: %s: %s\n", argv[2], strerror(rc));
        return 1;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "mountread: %s failed\n", argv[2]);
        return 1;
    }
    t1 = now_ms();
    if ((fd = open(argv[1], O_RDONLY)) < 0) {
        perror(argv[1]);
        return 1;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += n;
    if (n < 0) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    t2 = now_ms();
    printf("mounted=%.2f first_read=%.2f total=%.2f bytes=%ld\n", t1 - t0, t2 - t1, t2 - t0, total);
    return 0;
}
