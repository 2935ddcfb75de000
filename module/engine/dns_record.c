/*
 * dns_record.c - the zone-file line that publishes a DKIM key.
 *
 * A TXT record is made of character strings of at most 255 bytes each
 * (RFC 1035 3.3.14); a 2048-bit RSA key does not fit in one, so the value
 * is split into several quoted strings, which resolvers join again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_name.h"
#include "error.h"

#define TXT_STRING_MAX 255

vdkim_rc
vdkim_dns_zone_line(const char *selector, const char *domain,
    const char *value, char **line, vdkim_error *err)
{
	size_t vlen, cap, pos;
	char *out;

	if (selector == NULL || !domain_is_valid(selector))
		return vdkim_fail(err, VDKIM_EINVAL, "selector \"%s\" is not "
		    "a valid DNS name", selector ? selector : "");
	if (domain == NULL || !domain_is_valid(domain))
		return vdkim_fail(err, VDKIM_EINVAL, "domain \"%s\" is not a "
		    "valid DNS name", domain ? domain : "");
	vlen = strlen(value);
	if (strchr(value, '"') != NULL || strchr(value, '\\') != NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "the record value may "
		    "not contain quotes or backslashes");
	/* Name, the fixed parts, and per string: 2 quotes, a newline, a tab. */
	cap = strlen(selector) + strlen(domain) + 64 + vlen +
	    (vlen / TXT_STRING_MAX + 1) * 8;
	out = malloc(cap);
	if (out == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	pos = (size_t)snprintf(out, cap, "%s._domainkey.%s. IN TXT (",
	    selector, domain);
	for (size_t off = 0; off < vlen || off == 0; off += TXT_STRING_MAX) {
		size_t take = vlen - off < TXT_STRING_MAX ? vlen - off :
		    TXT_STRING_MAX;
		out[pos++] = vlen > TXT_STRING_MAX ? '\n' : ' ';
		if (vlen > TXT_STRING_MAX)
			out[pos++] = '\t';
		out[pos++] = '"';
		memcpy(out + pos, value + off, take);
		pos += take;
		out[pos++] = '"';
		if (vlen == 0)
			break;
	}
	memcpy(out + pos, " )", 3);
	*line = out;
	return VDKIM_OK;
}
