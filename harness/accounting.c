/*
 * accounting.c - the accounting file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "strbuf.h"
#include "log.h"
#include "reopen_file.h"

struct accounting {
	reopen_file *file;
};

int
accounting_open(const char *path, accounting **out, char *err,
    size_t errlen)
{
	accounting *a;

	*out = NULL;
	if (path == NULL)
		return 0;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (reopen_file_open(path, "accounting", &a->file, err, errlen) != 0) {
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

static void
add_field(strbuf *line, const char *key, const char *value, int last)
{
	sb_adds(line, key);
	sb_add(line, "=", 1);
	/* A tab (the field separator) or a line break in a value is
	 * escaped too: one delivery, one line of fields. */
	for (const char *p = value != NULL ? value : ""; *p; p++) {
		char esc[LOG_ESCAPE_MAX];
		size_t n = log_escape_byte((unsigned char)*p, esc);

		sb_add(line, esc, n);
	}
	sb_add(line, last ? "\n" : "\t", 1);
}

void
accounting_record(accounting *a, const accounting_entry *e)
{
	strbuf line = STRBUF_INIT;
	char ts[32], size[24];

	if (a == NULL)
		return;
	log_timestamp(ts, sizeof(ts));
	add_field(&line, "time", ts, 0);
	add_field(&line, "queue-id", e->queue_id, 0);
	add_field(&line, "sender", e->sender, 0);
	add_field(&line, "message-id", e->message_id, 0);
	snprintf(size, sizeof(size), "%zu", e->size);
	add_field(&line, "size", size, 0);
	add_field(&line, "vmta", e->vmta != NULL ? e->vmta : "-", 0);
	add_field(&line, "rcpt", e->rcpt, 0);
	add_field(&line, "result", e->result, 0);
	add_field(&line, "reply", e->reply, 0);
	add_field(&line, "signatures", e->signatures, 0);
	add_field(&line, "reason-code", e->reason_code, 0);
	add_field(&line, "reason", e->reason, 1);
	/* O_APPEND: each line lands whole, whatever the other threads do. */
	if (line.failed || reopen_file_write(a->file, line.s, line.len) != 0)
		log_msg(HLOG_ERR, "accounting: cannot write the line for %s "
		    "to %s: %s", e->queue_id, e->rcpt,
		    line.failed ? "out of memory" : strerror(errno));
	sb_free(&line);
}

int
accounting_reopen(accounting *a, char *err, size_t errlen)
{
	return a != NULL ? reopen_file_reopen(a->file, err, errlen) : 0;
}

void
accounting_close(accounting *a)
{
	if (a == NULL)
		return;
	reopen_file_close(a->file);
	free(a);
}
