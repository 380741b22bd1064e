/* Messages of the running daemon: to stderr in the foreground, to syslog
 * once daemonized (stderr is /dev/null then). */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stdbool.h>
#include <syslog.h>

void fs_log_init(bool foreground);
void fs_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
