/*
 * domain_name.c - domain name syntax and containment.
 */
#include <string.h>
#include <strings.h>

#include "domain_name.h"

int
domain_is_valid(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (; *d != '\0'; d++) {
		unsigned char c = (unsigned char)*d;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_'))
			return 0;
		if (c == '.' && d[1] == '.')
			return 0;
	}
	return 1;
}

int
domain_within(const char *sub, const char *dom)
{
	size_t ls = strlen(sub), ld = strlen(dom);

	if (ls == ld)
		return strcasecmp(sub, dom) == 0;
	return ls > ld && sub[ls - ld - 1] == '.' &&
	    strcasecmp(sub + ls - ld, dom) == 0;
}
