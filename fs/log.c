#include "fs/log.h"

#include <stdarg.h>
#include <stdio.h>

static bool to_stderr = true;

void
fs_log_init(bool foreground)
{
	to_stderr = foreground;
	if (!foreground)
		openlog("artifactfs", LOG_PID, LOG_USER);
}

void
fs_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (to_stderr) {
		fputs("artifactfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(priority, fmt, ap);
	}
	va_end(ap);
}
