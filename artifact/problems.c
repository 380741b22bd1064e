#include "artifact/problems.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/*
 * Problems are stored in fixed-size chunks that never move, so a pointer
 * returned by af_problems_get stays valid while other threads append.
 */
#define CHUNK 64

struct chunk {
	struct af_problem items[CHUNK];
	struct chunk *next;
};

struct af_problems {
	pthread_mutex_t lock;
	struct chunk *head, *tail;
	size_t count, errors;
};

char *
af_one_line(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; p != NULL && *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

struct af_problems *
af_problems_new(void)
{
	struct af_problems *list = calloc(1, sizeof(*list));

	if (list != NULL)
		pthread_mutex_init(&list->lock, NULL);
	return list;
}

void
af_problems_free(struct af_problems *list)
{
	struct chunk *c, *next;
	size_t i, n;

	if (list == NULL)
		return;
	n = list->count;
	for (c = list->head; c != NULL; c = next) {
		next = c->next;
		for (i = 0; i < CHUNK && n > 0; i++, n--) {
			free(c->items[i].where);
			free(c->items[i].text);
		}
		free(c);
	}
	pthread_mutex_destroy(&list->lock);
	free(list);
}

static struct af_problem *
slot_locked(struct af_problems *list)
{
	struct chunk *c;

	if (list->count % CHUNK == 0) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		if (list->tail != NULL)
			list->tail->next = c;
		else
			list->head = c;
		list->tail = c;
	}
	return &list->tail->items[list->count % CHUNK];
}

void
af_problem_add(struct af_problems *list, enum af_severity severity,
    enum af_code code, const char *where, const char *fmt, ...)
{
	struct af_problem *p;
	char *text = NULL, *w;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	w = strdup(where != NULL ? where : "");
	af_one_line(text);
	af_one_line(w);
	pthread_mutex_lock(&list->lock);
	if (text == NULL || w == NULL || (p = slot_locked(list)) == NULL) {
		pthread_mutex_unlock(&list->lock);
		free(text);
		free(w);
		return;
	}
	p->severity = severity;
	p->code = code != AF_C_NONE ? code : AF_C_PROBLEM;	/* a reason that came empty */
	p->where = w;
	p->text = text;
	list->count++;
	if (severity == AF_ERROR)
		list->errors++;
	pthread_mutex_unlock(&list->lock);
}

size_t
af_problems_count(const struct af_problems *list)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&list->lock);
	n = list->count;
	pthread_mutex_unlock((pthread_mutex_t *)&list->lock);
	return n;
}

size_t
af_problems_errors(const struct af_problems *list)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&list->lock);
	n = list->errors;
	pthread_mutex_unlock((pthread_mutex_t *)&list->lock);
	return n;
}

const struct af_problem *
af_problems_get(const struct af_problems *list, size_t i)
{
	const struct chunk *c;
	size_t k;

	if (i >= af_problems_count(list))
		return NULL;
	pthread_mutex_lock((pthread_mutex_t *)&list->lock);
	for (c = list->head, k = i / CHUNK; k > 0; k--)
		c = c->next;
	pthread_mutex_unlock((pthread_mutex_t *)&list->lock);
	return &c->items[i % CHUNK];
}
