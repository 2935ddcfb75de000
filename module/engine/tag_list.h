/*
 * tag_list.h - the tag=value lists of DKIM-Signature fields and key records
 * (RFC 6376 3.2), parsed strictly.
 */
#ifndef VDKIM_TAG_LIST_H
#define VDKIM_TAG_LIST_H

#include <stddef.h>

#define TAG_LIST_MAX 48

typedef struct tag {
	const char *name;
	const char *value; /* FWS at both ends removed; inner FWS kept */
} tag;

typedef struct tag_list {
	size_t n;
	tag tags[TAG_LIST_MAX];
	char *buf; /* one allocation holding every name and value */
} tag_list;

/*
 * Parses text[0..len).  On error returns -1 and writes a sentence fragment
 * naming the problem to why (e.g. "tag \"a\" appears twice"); tl is then
 * empty.  Returns 0 on success.
 */
int tag_list_parse(tag_list *tl, const char *text, size_t len, char *why,
    size_t whylen);
/* The value of a tag, or NULL when absent. */
const char *tag_list_get(const tag_list *tl, const char *name);
void tag_list_free(tag_list *tl);

/* True for SP, HTAB, CR and LF: what FWS is made of. */
static inline int
tag_is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#endif
