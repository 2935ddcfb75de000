/*
 * message_edit.h - header fields of a raw message (CRLF or LF line ends):
 * finding them, reading one's value, and the message without some of
 * them, as segments (nothing is copied).
 *
 * The harness edits only the header: it removes X-Virtual-MTA (always, once
 * the VMTA is chosen) and X-DKIM-Options (when the module says so), and
 * prepends fields (Received:, the module's DKIM-Signature:s).
 */
#ifndef HARNESS_MESSAGE_EDIT_H
#define HARNESS_MESSAGE_EDIT_H

#include <stddef.h>

#include "segments.h"

/* One header field: its bytes, continuation lines and line end included. */
typedef struct msg_field {
	size_t start;
	size_t len;
} msg_field;

/* Bytes of the header, the empty line that ends it included (the whole
 * message when there is no empty line). */
size_t msg_header_length(const char *data, size_t len);
/* The field at *pos within the header [0, hdr_len); advances *pos.
 * Returns 1, or 0 when no field is left. */
int msg_next_field(const char *data, size_t hdr_len, size_t *pos,
    msg_field *f);
/* 1 when the field's name is name (case-insensitive). */
int msg_field_is(const char *data, const msg_field *f, const char *name);
/* The first field called name: its value unfolded and trimmed into out
 * (cut to outlen - 1 bytes).  Returns 1 when found, 0 when not. */
int msg_field_value(const char *data, size_t len, const char *name,
    char *out, size_t outlen);
/* Appends data to sl, leaving out every header field whose name is one
 * of drop (NULL-terminated).  Returns 0, or -1 on allocation failure. */
int msg_add_without(seglist *sl, const char *data, size_t len,
    const char *const *drop);

#endif
