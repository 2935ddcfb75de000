/*
 * accounting.h - one line per delivery attempt and recipient, appended to
 * the accounting file:
 *
 *   time=2026-11-23T07:01:04.123Z<TAB>queue-id=ID<TAB>sender=ADDR<TAB>
 *   message-id=<ID@HOST><TAB>size=BYTES<TAB>vmta=NAME<TAB>
 *   rcpt=ADDR<TAB>result=delivered|deferred|failed<TAB>reply=SMTP REPLY<TAB>
 *   signatures=d=example.com s=k1; ...<TAB>reason-code=CODE<TAB>reason=TEXT
 *
 * (one line; fields TAB-separated "key=value", always in this order, TABs
 * and line ends inside values escaped as in the log.)  sender is the
 * envelope sender ("" for the null sender); message-id the Message-ID
 * field's value ("" when the message has none); size the bytes of the
 * message as relayed (signatures included); vmta is "-" when none was
 * chosen; signatures is empty when the message left unsigned, and
 * reason-code/reason then say why ("ok" when signed).
 *
 * SIGHUP reopens the file at its path (accounting_reopen), so logrotate
 * can rename it away without copytruncate.
 */
#ifndef HARNESS_ACCOUNTING_H
#define HARNESS_ACCOUNTING_H

#include <stddef.h>

typedef struct accounting accounting;

typedef struct accounting_entry {
	const char *queue_id;
	const char *sender;
	const char *message_id;
	size_t size;
	const char *vmta;
	const char *rcpt;
	const char *result;     /* "delivered", "deferred", "failed" */
	const char *reply;      /* the SMTP reply, or what went wrong */
	const char *signatures;
	const char *reason_code;
	const char *reason;
} accounting_entry;

/* path NULL: no accounting (record() does nothing). */
int accounting_open(const char *path, accounting **out, char *err,
    size_t errlen);
/* Thread-safe; one write(2) per line. */
void accounting_record(accounting *a, const accounting_entry *e);
/* Opens the file again at its path (a no-op without accounting).  0, or
 * -1 with err filled (the old file is kept). */
int accounting_reopen(accounting *a, char *err, size_t errlen);
void accounting_close(accounting *a);

#endif
