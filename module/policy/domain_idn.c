/*
 * domain_idn.c - U-labels to A-labels with libidn2.
 *
 * libidn2 is thread-safe and keeps no state between calls; its result is
 * its own allocation, freed here before returning.
 */
#include <string.h>

#include <idn2.h>

#include "domain_idn.h"
#include "domain_name.h"

int
domain_has_8bit(const char *d)
{
	for (; *d != '\0'; d++)
		if ((unsigned char)*d >= 0x80)
			return 1;
	return 0;
}

int
domain_to_alabels(const char *domain, char *out, size_t outlen)
{
	char *ace = NULL;
	size_t n;
	int rc = -1;

	if (!domain_has_8bit(domain)) {
		n = strlen(domain);
		if (n >= outlen || !domain_is_valid(domain))
			return -1;
		for (size_t i = 0; i <= n; i++)
			out[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ?
			    domain[i] + 32 : domain[i]);
		return 0;
	}
	if (idn2_to_ascii_8z(domain, &ace, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL) != IDN2_OK)
		return -1;
	n = strlen(ace);
	if (n < outlen && domain_is_valid(ace)) {
		/* libidn2 writes A-labels in lower case already. */
		memcpy(out, ace, n + 1);
		rc = 0;
	}
	idn2_free(ace);
	return rc;
}
