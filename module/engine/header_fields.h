/*
 * header_fields.h - the header fields of one message, kept in arrival order
 * for the signer and the verifier to pick from.
 */
#ifndef VDKIM_HEADER_FIELDS_H
#define VDKIM_HEADER_FIELDS_H

#include <stddef.h>

#include "vdkim/dkim.h"

/* Entries in one h= tag, for the signer and the verifier alike. */
#define H_ENTRIES_MAX 256
/* The longest field name we sign or accept in h=. */
#define FIELD_NAME_MAX 128

typedef struct header_field {
	size_t off;      /* into the arena */
	size_t len;      /* the field without its final line end */
	size_t name_len; /* the name without WSP before the colon */
} header_field;

typedef struct header_fields {
	char *arena;
	size_t used, cap;
	header_field *f;
	size_t n, fcap;
	int eol_seen;    /* a line end was seen */
	int eol_crlf;    /* ... and it was CRLF */
} header_fields;

void header_fields_init(header_fields *h);
void header_fields_free(header_fields *h);
/*
 * Appends a field ("Name: value" with continuation lines, with or without a
 * final line end).  Refuses a field without a colon or with an empty name
 * (VDKIM_ESYNTAX) and messages over VDKIM_MAX_HEADER_BYTES or
 * VDKIM_MAX_HEADER_FIELDS (VDKIM_ELIMIT).
 */
vdkim_rc header_fields_add(header_fields *h, const char *field, size_t len,
    vdkim_error *err);

static inline const char *
header_fields_text(const header_fields *h, size_t i)
{
	return h->arena + h->f[i].off;
}

/* A field name as it may appear in h=: printable US-ASCII without colon
 * or semicolon, 1 to FIELD_NAME_MAX bytes. */
int header_name_is_valid(const char *name);

/* 1 when field i is named name (case-insensitive). */
int header_fields_is(const header_fields *h, size_t i, const char *name,
    size_t name_len);
/* How many fields are named name. */
size_t header_fields_count(const header_fields *h, const char *name,
    size_t name_len);
/* Takes the fields named name out of the index (their bytes stay in the
 * arena until header_fields_free); returns how many were taken.  The
 * message's line-end style stays that of its first line. */
size_t header_fields_drop(header_fields *h, const char *name,
    size_t name_len);

/*
 * Selection of fields for h=, bottom-up as RFC 6376 5.4.2 says: the k-th
 * occurrence of a name in h= takes the k-th instance from the bottom.
 * Returns the index of the field, or (size_t)-1 when there are no more
 * instances (the h= entry then matches nothing: a null string).  used[] has
 * h->n entries, zeroed by the caller for each signature.
 */
size_t header_fields_pick(const header_fields *h, const char *name,
    size_t name_len, unsigned char *used);

#endif
