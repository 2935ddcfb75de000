/*
 * metrics_http.h - GET /metrics for a monitoring system, in a thread of
 * its own on a loopback address (the hosts' metrics-address): shared by
 * the harness and the milter.
 *
 * Small on purpose: one connection at a time, a request of at most
 * METRICS_HTTP_MAX_REQUEST bytes read within METRICS_HTTP_TIMEOUT
 * seconds, only "GET /metrics" answered (200, text exposition format
 * 0.0.4); anything else gets 404, 405 or 400 and the connection closes.
 * It never touches the SMTP event loop: a slow or hostile client delays
 * only the next scrape.
 */
#ifndef HARNESS_METRICS_HTTP_H
#define HARNESS_METRICS_HTTP_H

#include <stddef.h>

#include <confuse.h>

#include "net_addr.h"

#define METRICS_HTTP_MAX_REQUEST 2048
#define METRICS_HTTP_TIMEOUT 3

typedef struct metrics_http metrics_http;

/* The body of one answer and its length, given back to release once
 * sent; or NULL with why filled (answered 503).  Called from the server's
 * thread. */
typedef char *(*metrics_body_fn)(void *ctx, size_t *len, char *why,
    size_t whylen);
typedef void (*metrics_release_fn)(void *ctx, char *body);

/* Parses "IP:PORT" that must be a loopback address (127.0.0.0/8, ::1):
 * 0, or -1 with err filled. */
int metrics_addr_parse(const char *s, net_addr *out, char *err,
    size_t errlen);
/* A libconfuse validator for a host's metrics-address option. */
int metrics_addr_check(cfg_t *cfg, cfg_opt_t *opt);

/* Listens on addr and serves from a thread: 0 with *out set, or -1 with
 * err filled (the address is taken, ...). */
int metrics_http_start(const net_addr *addr, metrics_body_fn body,
    metrics_release_fn release, void *ctx, metrics_http **out, char *err,
    size_t errlen);
/* Stops the thread (within a second) and closes; NULL is fine. */
void metrics_http_stop(metrics_http *h);

#endif
