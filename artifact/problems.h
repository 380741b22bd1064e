/*
 * The list of rule violations found in an artifact.  A problem does not stop
 * the mount: the artifact stays inspectable and signature-status reports every
 * problem.  The list only grows, and may grow after mount (payload scans), so
 * it is locked; entries are never moved once added, readers may keep pointers.
 */
#ifndef AF_PROBLEMS_H
#define AF_PROBLEMS_H

#include <stddef.h>

#include "common/error.h"

enum af_severity {
	AF_WARNING,	/* a client may still accept it; worth knowing */
	AF_ERROR,	/* breaks the format rules: the artifact is not valid */
	AF_NOTE,	/* how other versions of Mender's tools read it: no action needed */
};

struct af_problem {
	enum af_severity severity;
	enum af_code code;	/* which rule, stable for programs and tests: "tar-padding" */
	char *where;	/* the member or file concerned, e.g. "data/0000.tar.gz" */
	char *text;	/* what is wrong and what to do, one line, no newline */
};

struct af_problems;

struct af_problems *af_problems_new(void);
void af_problems_free(struct af_problems *list);

/* Never fails visibly: on memory exhaustion the problem is counted as "lost". */
void af_problem_add(struct af_problems *list, enum af_severity severity,
    enum af_code code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Replaces control characters in s with '?', so that a name from an
 * artifact can never break or forge a line of a report. Returns s. */
char *af_one_line(char *s);

size_t af_problems_count(const struct af_problems *list);
/* The i-th problem; valid until the list is freed. */
const struct af_problem *af_problems_get(const struct af_problems *list, size_t i);
/* Number of errors (not warnings). */
size_t af_problems_errors(const struct af_problems *list);

#endif
