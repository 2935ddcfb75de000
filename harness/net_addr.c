/*
 * net_addr.c - numeric socket addresses.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_addr.h"

int
net_addr_parse(const char *s, net_addr *out, char *err, size_t errlen)
{
	char host[NET_ADDR_TEXT];
	const char *colon, *port;
	size_t hl;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (strlen(s) >= sizeof(out->text)) {
		snprintf(err, errlen, "\"%s\" is too long for an address", s);
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected \"[IPv6]:PORT\"",
			    s);
			return -1;
		}
		hl = (size_t)(close - s - 1);
		memcpy(host, s + 1, hl);
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon) {
			snprintf(err, errlen, "\"%s\": expected \"IP:PORT\" "
			    "(or \"[IPv6]:PORT\")", s);
			return -1;
		}
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
		port = colon + 1;
	}
	host[hl] = '\0';
	if (port[0] == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
	    atoi(port) > 65535) {
		snprintf(err, errlen, "\"%s\": the port must be a number "
		    "from 1 to 65535", s);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "\"%s\": not a numeric address and port "
		    "(%s)", s, gai_strerror(rc));
		return -1;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(out->text, sizeof(out->text), "%s", s);
	return 0;
}

void
net_addr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outlen, "unknown");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%s", host, serv);
	else
		snprintf(out, outlen, "%s:%s", host, serv);
}
