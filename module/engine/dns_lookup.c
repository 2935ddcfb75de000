/*
 * dns_lookup.c - TXT lookups through the system resolver.
 *
 * res_nquery with a resolver state on the stack is thread-safe, unlike
 * res_query and its process-wide _res.  The state is initialised per call
 * so a changed resolv.conf (or a forked child) is honoured.
 */
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "vdkim/dkim.h"

#define DNS_ANSWER_MAX 8192

/* Joins the character strings of one TXT rdata into buf. */
static int
join_txt(const unsigned char *rd, size_t rdlen, char *buf, size_t buflen)
{
	size_t used = 0, i = 0;

	while (i < rdlen) {
		size_t n = rd[i++];
		if (n > rdlen - i || used + n + 1 > buflen)
			return -1;
		memcpy(buf + used, rd + i, n);
		used += n;
		i += n;
	}
	buf[used] = '\0';
	return 0;
}

vdkim_lookup_rc
vdkim_dns_txt_lookup(void *ctx, const char *qname, char *buf, size_t buflen)
{
	struct __res_state rs;
	unsigned char answer[DNS_ANSWER_MAX];
	ns_msg msg;
	ns_rr rr;
	int len, count;
	vdkim_lookup_rc rc = VDKIM_LOOKUP_NOTFOUND;

	(void)ctx;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return VDKIM_LOOKUP_TEMPFAIL;
	len = res_nquery(&rs, qname, ns_c_in, ns_t_txt, answer,
	    sizeof(answer));
	if (len < 0) {
		rc = (rs.res_h_errno == HOST_NOT_FOUND ||
		    rs.res_h_errno == NO_DATA) ? VDKIM_LOOKUP_NOTFOUND :
		    VDKIM_LOOKUP_TEMPFAIL;
		res_nclose(&rs);
		return rc;
	}
	res_nclose(&rs);
	if (ns_initparse(answer, len, &msg) != 0)
		return VDKIM_LOOKUP_TEMPFAIL;
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
			return VDKIM_LOOKUP_TEMPFAIL;
		if (ns_rr_type(rr) != ns_t_txt)
			continue; /* a CNAME on the way */
		if (join_txt(ns_rr_rdata(rr), ns_rr_rdlen(rr), buf,
		    buflen) != 0)
			return VDKIM_LOOKUP_TEMPFAIL;
		return VDKIM_LOOKUP_FOUND;
	}
	return rc;
}
