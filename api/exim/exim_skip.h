/*
 * exim_skip.h - the header fields Exim will remove after vdkim has signed.
 *
 * Exim applies a DATA ACL's remove_header when the ACL has finished, and
 * a router's or transport's headers_remove while it writes the message:
 * both after the ${dlfunc} has run, so a field removed there is still in
 * Exim's header list when the shim reads it.  Signed, it would be named in
 * h= and gone at the receiver: the signature fails.  The configuration
 * therefore tells the shim which fields it removes ({skip=NAME:NAME}), and
 * those are not given to the signer at all.
 *
 * The list is Exim's own syntax for headers_remove, so one macro can feed
 * both: field names separated by colons, blanks around them ignored, case
 * ignored, a trailing "*" matching every name with that prefix.
 * X-DKIM-Options is never skipped: the module reads it, and never signs
 * it anyway.
 */
#ifndef VDKIM_API_EXIM_SKIP_H
#define VDKIM_API_EXIM_SKIP_H

#include <stddef.h>

/*
 * Checks a skip list; 0, or -1 with a sentence in err naming the bad
 * item.  An empty list (or only blanks) is valid and skips nothing.
 */
int exim_skip_check(const char *list, char *err, size_t errlen);

/*
 * 1 when the header field (its raw text, "Name: value...") is named by
 * list, which exim_skip_check has accepted; 0 otherwise, and always 0 for
 * list NULL.
 */
int exim_skip_match(const char *list, const char *field, size_t len);

#endif
