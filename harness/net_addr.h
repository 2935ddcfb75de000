/*
 * net_addr.h - "host:port" addresses for listeners and the smarthost.
 *
 * Only numeric addresses are taken ("127.0.0.1:2525", "[::1]:2525"): the
 * harness never resolves names, so starting it never waits on DNS.
 */
#ifndef HARNESS_NET_ADDR_H
#define HARNESS_NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define NET_ADDR_TEXT 64

typedef struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[NET_ADDR_TEXT];   /* as written, for log lines */
} net_addr;

/* Parses "IPv4:PORT" or "[IPv6]:PORT".  0, or -1 with err filled. */
int net_addr_parse(const char *s, net_addr *out, char *err, size_t errlen);
/* Writes "IP:PORT" (or "[IPv6]:PORT") of sa into out. */
void net_addr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen);

#endif
