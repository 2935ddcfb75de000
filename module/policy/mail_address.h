/*
 * mail_address.h - the address in a From: or Sender: field (RFC 5322 3.4),
 * as far as choosing a signing identity needs it.
 */
#ifndef VDKIM_MAIL_ADDRESS_H
#define VDKIM_MAIL_ADDRESS_H

#include <stddef.h>

/*
 * Writes the first mailbox's addr-spec ("local@domain", domain lower-cased,
 * a UTF-8 domain in A-labels) of a field value to out.  Handles display
 * names, quoted strings, comments, folding and "<...>"; returns 0, or -1
 * when no address with a valid domain is there (or it does not fit).
 */
int mail_address_first(const char *value, size_t len, char *out,
    size_t outlen);

/* The domain part of an address or "@domain" (after the last '@'). */
const char *mail_address_domain(const char *addr);

#endif
