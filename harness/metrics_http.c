/*
 * metrics_http.c - GET /metrics (metrics_http.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics_http.h"

struct metrics_http {
	int fd;
	atomic_int stop;
	pthread_t thread;
	metrics_body_fn body;
	metrics_release_fn release;
	void *ctx;
};

static int
is_loopback(const net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.
		    s_addr) >> 24) == 127;
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return 0;
}

int
metrics_addr_parse(const char *s, net_addr *out, char *err, size_t errlen)
{
	if (net_addr_parse(s, out, err, errlen) != 0)
		return -1;
	if (!is_loopback(out)) {
		snprintf(err, errlen, "\"%s\": metrics are served on a "
		    "loopback address only (127.0.0.1:PORT or [::1]:PORT); a "
		    "remote Prometheus scrapes through a proxy", s);
		return -1;
	}
	return 0;
}

int
metrics_addr_check(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	net_addr a;
	char why[256];

	if (s == NULL || metrics_addr_parse(s, &a, why, sizeof(why)) != 0) {
		cfg_error(cfg, "%s: %s", opt->name, s ? why : "missing value");
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- serving */

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client went, or timed out: drop it */
		p += w;
		n -= (size_t)w;
	}
}

static void
answer(int fd, const char *status, const char *type, const char *body,
    size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: "
	    "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    type, len);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

static void
answer_text(int fd, const char *status, const char *text)
{
	answer(fd, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Reads the request head (up to the empty line) within the deadline:
 * its length, or -1 (too long, timed out, closed). */
static ssize_t
read_head(int fd, char *buf, size_t cap)
{
	time_t deadline = time(NULL) + METRICS_HTTP_TIMEOUT;
	size_t used = 0;

	while (used < cap - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(&p, 1, left * 1000) <= 0)
			return -1;
		r = recv(fd, buf + used, cap - 1 - used, 0);
		if (r <= 0)
			return -1;
		used += (size_t)r;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") !=
		    NULL)
			return (ssize_t)used;
	}
	return -2; /* too long */
}

/* Before closing on a refused request: the client's unread bytes would
 * make close() reset the connection and lose the answer, so the write
 * side is closed and a bounded amount read away (half a second, 16 KB). */
static void
drain(int fd)
{
	char buf[4096];

	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 4; i++) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 125) <= 0 || recv(fd, buf, sizeof(buf),
		    MSG_DONTWAIT) <= 0)
			return;
	}
}

static void
serve(metrics_http *h, int fd)
{
	struct timeval tv = { METRICS_HTTP_TIMEOUT, 0 };
	char req[METRICS_HTTP_MAX_REQUEST + 1], why[256] = "";
	ssize_t n;
	char *body;
	size_t len = 0;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read_head(fd, req, sizeof(req));
	if (n == -2) {
		answer_text(fd, "431 Request Header Fields Too Large",
		    "request too large\n");
		drain(fd);
		return;
	}
	if (n < 0)
		return;
	if (strncmp(req, "GET ", 4) != 0) {
		answer_text(fd, "405 Method Not Allowed", "only GET\n");
		drain(fd);
		return;
	}
	if (strncmp(req + 4, "/metrics ", 9) != 0 &&
	    strncmp(req + 4, "/metrics?", 9) != 0) {
		answer_text(fd, "404 Not Found", "only /metrics\n");
		drain(fd);
		return;
	}
	body = h->body(h->ctx, &len, why, sizeof(why));
	if (body == NULL) {
		strncat(why, "\n", sizeof(why) - strlen(why) - 1);
		answer_text(fd, "503 Service Unavailable", why);
		return;
	}
	answer(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body,
	    len);
	h->release(h->ctx, body);
}

static void *
run(void *arg)
{
	metrics_http *h = arg;

	while (!atomic_load(&h->stop)) {
		struct pollfd p = { h->fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 500) <= 0)
			continue;
		c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(h, c);
		close(c);
	}
	return NULL;
}

int
metrics_http_start(const net_addr *addr, metrics_body_fn body,
    metrics_release_fn release, void *ctx, metrics_http **out, char *err,
    size_t errlen)
{
	metrics_http *h = calloc(1, sizeof(*h));
	int one = 1;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->body = body;
	h->release = release;
	h->ctx = ctx;
	h->fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(h->fd, (const struct sockaddr *)&addr->ss,
	    addr->len) != 0 || listen(h->fd, 16) != 0) {
		snprintf(err, errlen, "metrics-address %s: %s", addr->text,
		    strerror(errno));
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return -1;
	}
	atomic_init(&h->stop, 0);
	if (pthread_create(&h->thread, NULL, run, h) != 0) {
		snprintf(err, errlen, "metrics-address %s: cannot start its "
		    "thread", addr->text);
		close(h->fd);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void
metrics_http_stop(metrics_http *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	close(h->fd);
	free(h);
}
