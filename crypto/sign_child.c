#include "crypto/sign_child.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/key_impl.h"
#include "crypto/pkcs11.h"
#include "crypto/secure.h"
#include "crypto/signature.h"

extern char **environ;

/*
 * Request: MAGIC, the key text's length, the message length (u32 each, host
 * order: both ends are this program), the key text (PEM, or a PKCS#11 URI),
 * the message.  Reply: a u32 status; SIGNED: u32 length and signature, u32
 * length and DER SubjectPublicKeyInfo, u32 length and where the key is ("" for
 * PEM, else the token and object); REFUSED: u32 length and the reason.
 */
#define MAGIC 0x32534641u	/* "AFS2" */
#define MAX_PEM (64u << 10)
#define MAX_MSG (4u << 20)
#define MAX_REPLY (64u << 10)
#define CHILD_SECONDS 30
enum { SIGNED, REFUSED };

/* ---------------------------------------------------------------- the child */

/* Reads or writes all of len bytes. */
static bool
transfer(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
read_full(int fd, void *buf, size_t len)
{
	return transfer(fd, buf, len, false);
}

static bool
write_full(int fd, const void *buf, size_t len)
{
	return transfer(fd, (void *)(uintptr_t)buf, len, true);
}

static bool
write_part(int fd, const void *buf, uint32_t len)
{
	return write_full(fd, &len, sizeof(len)) && write_full(fd, buf, len);
}

/* The refusal's text is its code's name, a newline and the reason's text
 * (which has no newline), so that the code crosses the pipe too. */
static bool
reply_refused(const struct af_reason *why)
{
	uint32_t status = REFUSED;
	char text[AF_REASON_MAX + 64];
	int n = snprintf(text, sizeof(text), "%s\n%s", af_code_name(why->code), why->text);

	return write_full(1, &status, sizeof(status)) && write_part(1, text, (uint32_t)n);
}

/* Signs msg with the key in pem; pem is wiped and freed here. */
static bool
sign_and_reply(char *pem, uint32_t pem_len, const uint8_t *msg, uint32_t msg_len)
{
	struct af_reason why = { AF_C_SIGN_FAILED, "could not sign" };
	struct cr_key *key = NULL;
	struct cr_pkcs11_result token = { 0 };
	unsigned char *spki = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	uint32_t status = SIGNED;
	int spki_len = -1;
	bool ok;

	if (cr_pkcs11_is_uri(pem, pem_len)) {
		/* the token signs; its module runs here, never in the daemon */
		if (cr_pkcs11_sign(pem, pem_len, msg, msg_len, &token, &why) == AF_OK) {
			sig = token.sig;
			sig_len = token.sig_len;
			spki = token.spki;
			spki_len = token.spki_len;
			token.sig = NULL;
			token.spki = NULL;
		}
		cr_secure_free(pem, (size_t)pem_len + 1);
	} else {
		key = cr_key_load_private(pem, pem_len, &why);
		cr_secure_free(pem, (size_t)pem_len + 1);
		if (key != NULL &&
		    (sig = cr_sign(key, msg, msg_len, &sig_len, &why)) != NULL &&
		    (spki_len = i2d_PUBKEY(key->pkey, &spki)) <= 0)
			af_reason_set(&why, AF_C_KEY_DAMAGED, "has no public key OpenSSL can write");
		cr_key_free(key);
	}
	if (sig != NULL && spki_len > 0)
		ok = write_full(1, &status, sizeof(status)) &&
		    write_part(1, sig, (uint32_t)sig_len) && write_part(1, spki, (uint32_t)spki_len) &&
		    write_part(1, token.source, (uint32_t)strlen(token.source));
	else
		ok = reply_refused(&why);
	free(sig);
	OPENSSL_free(spki);
	cr_pkcs11_result_clear(&token);
	ERR_clear_error();
	return ok;
}

int
cr_sign_child_main(void)
{
	const struct rlimit no_core = { 0, 0 };
	uint32_t head[3];
	uint8_t *msg = NULL;
	char *pem = NULL;
	bool ok = false;

	/* no core file, no same-user ptrace; and, where allowed, no swap */
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &no_core);
#ifndef __SANITIZE_ADDRESS__	/* ASan's shadow is terabytes of reserved memory */
	mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
#endif
	cr_secure_init();
	if (!read_full(0, head, sizeof(head)) || head[0] != MAGIC || head[1] > MAX_PEM ||
	    head[2] > MAX_MSG)
		return 2;
	if ((pem = cr_secure_alloc((size_t)head[1] + 1)) == NULL ||
	    (msg = malloc(head[2] > 0 ? head[2] : 1)) == NULL) {
		static const struct af_reason no_memory = { AF_C_NO_MEMORY,
		    "could not be read: out of locked memory" };
		ok = reply_refused(&no_memory);
	} else if (read_full(0, pem, head[1]) && read_full(0, msg, head[2])) {
		ok = sign_and_reply(pem, head[1], msg, head[2]);
		pem = NULL;
	}
	cr_secure_free(pem, (size_t)head[1] + 1);
	free(msg);
	return ok ? 0 : 2;
}

/* ---------------------------------------------------------------- the parent */

struct child {
	pid_t pid;
	int to, from;		/* our ends of its stdin (a socket) and stdout (a pipe) */
	struct timespec deadline;
	char *reply;
	size_t reply_len;
};

static bool
spawn(struct child *c, const char *exe, struct af_reason *why)
{
	char *argv[] = { "artifactfs", CR_SIGN_CHILD_ARG, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err = 0;
	sigset_t none, all;

	/* the request goes over a socket, so that sending to a child that is
	 * gone fails with EPIPE instead of raising SIGPIPE in the caller */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0) {
		err = errno;
	} else {
		sigemptyset(&none);
		sigfillset(&all);
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&attr);
		/* FUSE's threads block signals; the child starts with none blocked,
		 * every handler at its default, and no descriptor but its pipes */
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_addclosefrom_np(&fa, 3);
		err = posix_spawn(&c->pid, exe, &fa, &attr, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
	}
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	c->to = in[1];
	c->from = out[0];
	if (err != 0) {
		if (c->to >= 0)
			close(c->to);
		if (c->from >= 0)
			close(c->from);
		c->to = c->from = c->pid = -1;
		af_reason_set(why, AF_C_SIGN_CHILD, "could not be used: cannot start the signing process %s: %s",
		    exe, strerror(err));
		return false;
	}
	fcntl(c->to, F_SETFL, O_NONBLOCK);
	fcntl(c->from, F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += CHILD_SECONDS;
	return true;
}

/* Waits until fd is ready for events, or the deadline: false then. */
static bool
await(const struct child *c, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec now;
	long ms;
	int n;

	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (c->deadline.tv_sec - now.tv_sec) * 1000 +
		    (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return false;
		n = poll(&p, 1, (int)ms);
	} while (n < 0 && errno == EINTR);
	return n > 0;
}

static bool
send_all(struct child *c, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if (!await(c, c->to, POLLOUT))
			return false;
		if ((n = send(c->to, p, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
receive_all(struct child *c)
{
	ssize_t n;

	if ((c->reply = malloc(MAX_REPLY)) == NULL)
		return false;
	for (;;) {
		if (!await(c, c->from, POLLIN))
			return false;
		n = read(c->from, c->reply + c->reply_len, MAX_REPLY - c->reply_len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n == 0;
		if ((c->reply_len += (size_t)n) == MAX_REPLY)
			return false;
	}
}

/* Closes the pipes and reaps the child (killed first if asked); its exit
 * status, or minus the signal that ended it. */
static int
reap(struct child *c, bool kill_it)
{
	int status = 0;

	if (c->to >= 0)
		close(c->to);
	if (c->from >= 0)
		close(c->from);
	c->to = c->from = -1;
	if (c->pid <= 0)
		return -1;
	if (kill_it)
		kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		continue;
	c->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* The next length-prefixed part of the reply, or NULL. */
static const uint8_t *
part(const struct child *c, size_t *at, uint32_t *len)
{
	const uint8_t *p;

	if (c->reply_len - *at < sizeof(*len))
		return NULL;
	memcpy(len, c->reply + *at, sizeof(*len));
	*at += sizeof(*len);
	if (*len > c->reply_len - *at)
		return NULL;
	p = (const uint8_t *)c->reply + *at;
	*at += *len;
	return p;
}

/* Reads the reply: the signature, checked with the public key beside it. */
static bool
take_reply(const struct child *c, const uint8_t *msg, size_t msg_len, struct cr_signed *out,
    struct af_reason *why)
{
	const uint8_t *sig, *spki, *text, *source, *newline;
	uint32_t status, sig_len, spki_len, text_len, source_len;
	struct cr_verify_result check;
	size_t at = sizeof(status);

	status = c->reply_len >= sizeof(status) ? *(const uint32_t *)(const void *)c->reply :
	    ~0u;
	if (status == REFUSED && (text = part(c, &at, &text_len)) != NULL &&
	    (newline = memchr(text, '\n', text_len)) != NULL) {
		af_reason_set(why, af_code_from_name((const char *)text, (size_t)(newline - text)),
		    "%.*s", (int)(text + text_len - newline - 1), (const char *)newline + 1);
		return false;
	}
	if (status != SIGNED || (sig = part(c, &at, &sig_len)) == NULL ||
	    (spki = part(c, &at, &spki_len)) == NULL ||
	    (source = part(c, &at, &source_len)) == NULL ||
	    (out->key = cr_key_load_spki(spki, spki_len)) == NULL ||
	    (out->sig = malloc(sig_len > 0 ? sig_len : 1)) == NULL) {
		af_reason_set(why, AF_C_SIGN_CHILD, "could not be used: the signing process answered "
		    "nonsense");
		return false;
	}
	memcpy(out->sig, sig, sig_len);
	out->sig_len = sig_len;
	snprintf(out->source, sizeof(out->source), "%.*s", (int)source_len, (const char *)source);
	/* Never hand out a signature the key's own public half rejects. */
	cr_verify(out->key, msg, msg_len, out->sig, out->sig_len, &check);
	if (check.status != CR_VERIFY_OK) {
		af_reason_set(why, AF_C_KEY_DAMAGED, out->source[0] != '\0' ? "names a key on %s whose "
		    "signature the token's public key for it does not verify: the public key "
		    "object beside it (same id) belongs to another key" : "made a signature its "
		    "own public key does not verify: the key is damaged", out->source);
		return false;
	}
	out->form = check.form;
	return true;
}

enum af_err
cr_sign_in_child(const char *exe, const char *pem, size_t pem_len, const uint8_t *msg,
    size_t msg_len, struct cr_signed *out, struct af_reason *why)
{
	struct child c = { .pid = -1, .to = -1, .from = -1 };
	uint32_t head[3] = { MAGIC, (uint32_t)pem_len, (uint32_t)msg_len };
	bool talked, ok = false;
	int status;

	memset(out, 0, sizeof(*out));
	if (pem_len > MAX_PEM || msg_len > MAX_MSG) {
		return af_fail(why, AF_ETOOBIG, AF_C_KEY_TOO_BIG, "is too large for a key file");
	}
	if (!spawn(&c, exe, why))
		return AF_EIO;
	talked = send_all(&c, head, sizeof(head)) && send_all(&c, pem, pem_len) &&
	    send_all(&c, msg, msg_len);
	if (talked) {
		close(c.to);
		c.to = -1;
		talked = receive_all(&c);
	}
	status = reap(&c, !talked);
	if (talked && status == 0)
		ok = take_reply(&c, msg, msg_len, out, why);
	if (!talked)
		af_reason_set(why, AF_C_SIGN_CHILD, "could not be used: the signing process ended or hung "
		    "before it answered");
	else if (status != 0)
		af_reason_set(why, AF_C_SIGN_CHILD, "could not be used: the signing process failed (%s %d)",
		    status > 0 ? "exit status" : "killed by signal", status > 0 ? status : -status);
	free(c.reply);
	if (!ok)
		cr_signed_clear(out);
	return ok ? AF_OK : AF_EFORMAT;
}

void
cr_signed_clear(struct cr_signed *s)
{
	cr_key_free(s->key);
	free(s->sig);
	memset(s, 0, sizeof(*s));
}
