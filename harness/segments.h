/*
 * segments.h - a message as a list of byte ranges (iovecs) that are not
 * copied: the headers a hook adds, then the spooled message with some
 * header fields left out.  The module, the spool writer, the SMTP client
 * and the Maildir writer all consume this form.
 */
#ifndef HARNESS_SEGMENTS_H
#define HARNESS_SEGMENTS_H

#include <stddef.h>
#include <sys/uio.h>

typedef struct seglist {
	struct iovec *v;
	size_t n;
	size_t cap;
	size_t total;   /* bytes over all segments */
	int failed;     /* an allocation failed (sticky) */
} seglist;

void seglist_init(seglist *s);
/* Appends a range (empty ranges are skipped); -1 on allocation failure.
 * The bytes are referenced, not copied. */
int seglist_add(seglist *s, const void *data, size_t len);
void seglist_free(seglist *s);

#endif
