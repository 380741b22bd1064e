#include "fs/unmount.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ the daemon */

static socklen_t
address(const char *name, struct sockaddr_un *sun)
{
	size_t len = strlen(name);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len + 1 > sizeof(sun->sun_path))
		len = sizeof(sun->sun_path) - 1;
	memcpy(sun->sun_path + 1, name, len);	/* abstract: sun_path[0] is NUL */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

bool
fs_outcome_listen(struct fs_outcome *o, struct af_reason *why)
{
	struct sockaddr_un sun;
	uint64_t nonce = 0;
	socklen_t len;

	o->fd = -1;
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		af_reason_set(why, AF_C_IO, "no random bytes: %s", strerror(errno));
		return false;
	}
	snprintf(o->name, sizeof(o->name), "artifactfs-%ld-%016" PRIx64, (long)getpid(), nonce);
	len = address(o->name, &sun);
	if ((o->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(o->fd, (struct sockaddr *)&sun, len) != 0 || listen(o->fd, 64) != 0) {
		af_reason_set(why, AF_C_IO, "cannot make the unmount socket: %s", strerror(errno));
		if (o->fd >= 0)
			close(o->fd);
		o->fd = -1;
		return false;
	}
	return true;
}

char *
fs_outcome_describe(const struct fs_outcome *o)
{
	char *text = NULL;

	if (asprintf(&text, "pid %ld\noutcome @%s\n", (long)getpid(),
	    o->fd >= 0 ? o->name : "") < 0)
		return NULL;
	return text;
}

void
fs_outcome_tell(struct fs_outcome *o, int code, const char *message)
{
	char line[FS_OUTCOME_MAX];
	int fd, n;

	if (o->fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%d %s\n", code, message);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	/* those who connected before unmounting wait in the backlog */
	(void)fcntl(o->fd, F_SETFL, O_NONBLOCK);
	while ((fd = accept4(o->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL);
		close(fd);
	}
	close(o->fd);
	o->fd = -1;
}

static const int watched[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction chained[3];
static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	size_t i;

	caught = sig;
	for (i = 0; i < 3; i++)
		if (watched[i] == sig)
			chained[i].sa_handler(sig);
}

void
fs_signals_watch(void)
{
	struct sigaction sa;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (sigaction(watched[i], NULL, &chained[i]) != 0 ||
		    (chained[i].sa_flags & SA_SIGINFO) != 0 ||
		    chained[i].sa_handler == SIG_DFL || chained[i].sa_handler == SIG_IGN)
			continue;	/* libfuse did not take it: leave it as it is */
		sa = chained[i];
		sa.sa_handler = on_signal;
		(void)sigaction(watched[i], &sa, NULL);
	}
}

int
fs_signal_caught(void)
{
	return caught;
}

/* ------------------------------------------------------------ mountinfo */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
	char *out = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* The type and source of the topmost mount on path (absolute, resolved);
 * false if nothing is mounted there. */
static bool
mounted_at(const char *path, char *type, size_t typelen, char *source, size_t sourcelen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (f == NULL)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *field, *mnt = NULL, *sep;
		int i;
		for (i = 0, field = strtok_r(line, " ", &save); field != NULL && i < 4; i++)
			field = strtok_r(NULL, " ", &save);
		mnt = field;	/* the fifth field */
		if (mnt == NULL || (sep = strtok_r(NULL, "\n", &save)) == NULL ||
		    (sep = strstr(sep, " - ")) == NULL)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) != 0)
			continue;
		found = true;	/* a later line is a mount stacked on top */
		sep += 3;
		snprintf(type, typelen, "%.*s", (int)strcspn(sep, " "), sep);
		sep += strcspn(sep, " ");
		sep += *sep == ' ';
		snprintf(source, sourcelen, "%.*s", (int)strcspn(sep, " "), sep);
		unescape(source);
	}
	free(line);
	fclose(f);
	return found;
}

bool
fs_mountpoint_usable(const char *mountpoint, struct af_reason *why)
{
	char *path, type[64], source[PATH_MAX];
	struct stat st;
	bool ok = true;

	if (strncmp(mountpoint, "/dev/fd/", 8) == 0)
		return true;	/* mount.fuse3 -o drop_privileges mounted it already */
	if (stat(mountpoint, &st) != 0) {
		af_reason_set(why, errno == ENOENT ? AF_C_NOT_FOUND : AF_C_IO,
		    "cannot be used as the mountpoint: %s%s", strerror(errno),
		    errno == ENOTCONN ? " (a mount whose daemon died: fusermount3 -uz it)" :
		    errno == ENOENT ? " (make it with mkdir)" : "");
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		af_reason_set(why, AF_C_IO, "is not a directory; the mountpoint must be an "
		    "existing directory");
		return false;
	}
	if ((path = realpath(mountpoint, NULL)) == NULL) {
		af_reason_set(why, AF_C_IO, "cannot be used as the mountpoint: %s", strerror(errno));
		return false;
	}
	if (mounted_at(path, type, sizeof(type), source, sizeof(source)) &&
	    strcmp(type, "fuse.artifactfs") == 0) {
		af_reason_set(why, AF_C_IO, "already holds an artifactfs mount (of %s); unmount it "
		    "first: artifactfs -u %s", AF_SHORT(source), AF_SHORT(mountpoint));
		ok = false;
	}
	free(path);
	return ok;
}

/* ------------------------------------------------------------ artifactfs -u */

static int
refuse(const char *mountpoint, int code, const char *fmt, const char *detail)
{
	fprintf(stderr, "artifactfs: %s: ", mountpoint);
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	return code;
}

/* The outcome socket's name from control/daemon, and the control owner. */
static bool
read_daemon_file(const char *path, char *name, size_t namelen, uid_t *owner, char *why,
    size_t whylen)
{
	char file[PATH_MAX + 32], buf[256], *at;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "%s/control/daemon", path);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot read control/daemon: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((at = strstr(buf, "outcome @")) == NULL || at[9] == '\n' || at[9] == '\0') {
		snprintf(why, whylen, "control/daemon names no outcome socket");
		return false;
	}
	at += 9;
	snprintf(name, namelen, "%.*s", (int)strcspn(at, "\n"), at);
	*owner = st.st_uid;
	return true;
}

static int
connect_outcome(const char *name, uid_t owner, char *why, size_t whylen)
{
	struct sockaddr_un sun;
	struct ucred cred;
	socklen_t credlen = sizeof(cred), len = address(name, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, len) != 0) {
		snprintf(why, whylen, "cannot reach the daemon: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* the listener must be the mount's owner (or root), not a squatter */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0 ||
	    (cred.uid != owner && cred.uid != 0)) {
		snprintf(why, whylen, "the outcome socket is not the daemon's");
		close(fd);
		return -1;
	}
	return fd;
}

/* umount2 as root; fusermount3 -u otherwise, as a user's mounts need. */
static bool
do_unmount(const char *path, char *why, size_t whylen)
{
	pid_t pid;
	int status;

	if (geteuid() == 0) {
		if (umount2(path, 0) == 0)
			return true;
		snprintf(why, whylen, "cannot unmount: %s", strerror(errno));
		return false;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "cannot run fusermount3: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	snprintf(why, whylen, "cannot unmount: fusermount3 -u failed (see above)");
	return false;
}

int
fs_unmount(const char *mountpoint)
{
	char *path, type[64], source[PATH_MAX], name[96], why[300], reply[FS_OUTCOME_MAX];
	size_t got = 0;
	ssize_t n;
	uid_t owner = 0;
	int fd, code;

	if ((path = realpath(mountpoint, NULL)) == NULL)
		return refuse(mountpoint, FS_EXIT_UNUSABLE, "%s", errno == ENOTCONN ?
		    "Transport endpoint is not connected: its daemon died; fusermount3 -uz it" :
		    strerror(errno));
	if (!mounted_at(path, type, sizeof(type), source, sizeof(source)) ||
	    strcmp(type, "fuse.artifactfs") != 0) {
		free(path);
		return refuse(mountpoint, FS_EXIT_UNUSABLE, "%s", "is not an artifactfs mount");
	}
	if (!read_daemon_file(path, name, sizeof(name), &owner, why, sizeof(why)) ||
	    (fd = connect_outcome(name, owner, why, sizeof(why))) < 0) {
		free(path);
		return refuse(mountpoint, FS_EXIT_UNUSABLE, "%s; not unmounted", why);
	}
	if (!do_unmount(path, why, sizeof(why))) {
		close(fd);
		free(path);
		return refuse(mountpoint, FS_EXIT_FAILED, "%s; nothing was committed", why);
	}
	free(path);
	while (got < sizeof(reply) - 1 &&
	    ((n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(fd);
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (got == 0 || sscanf(reply, "%d", &code) != 1)
		return refuse(source, FS_EXIT_FAILED, "%s", "unmounted, but the daemon ended "
		    "without telling the outcome (killed?); a staged re-sign was not committed");
	/* the daemon's words: "0 /a.mender: re-signed" */
	fprintf(code == FS_EXIT_FAILED ? stderr : stdout, "artifactfs: %s\n",
	    reply + strcspn(reply, " ") + (reply[strcspn(reply, " ")] == ' '));
	return code;
}
