/*
 * harness_config.h - the harness's settings: the "harness { }" block of the
 * same libconfuse file that holds the module's policy (harness/README.md
 * lists the directives).
 */
#ifndef HARNESS_CONFIG_H
#define HARNESS_CONFIG_H

#include <stddef.h>

#include "net_addr.h"

enum sign_at {
	SIGN_AT_PRE_DELIVERY = 0, /* the delivery worker calls the hook */
	SIGN_AT_PRE_QUEUE = 1     /* the hook runs before the 250 to DATA */
};

typedef struct hc_listener {
	char *name;
	net_addr addr;
	char *source;             /* the source name given to the module */
	int allow_x_virtual_mta;  /* honour X-Virtual-MTA: from this listener */
	char *default_vmta;       /* NULL: the global default-virtual-mta */
} hc_listener;

typedef struct harness_config {
	char *path;               /* the config file (also the module's) */
	char *module;             /* path of vdkim.so */
	char *hostname;           /* in the greeting, EHLO and Received: */
	char *spool_dir;
	char *default_vmta;       /* NULL: none (the module's "default") */
	int sign_at;              /* enum sign_at */
	hc_listener *listeners;
	size_t nlisteners;
	/* Exactly one of these two. */
	char *smarthost_text;
	net_addr smarthost;
	char *maildir;
	int delivery_workers;
	int intake_workers;
	int sign_batch;           /* pre-delivery signatures in flight per
	                             delivery worker (the module's batches);
	                             0: one message at a time */
	size_t max_message_size;  /* bytes of DATA, after dot-unstuffing */
	size_t max_recipients;
	size_t max_line_length;   /* bytes, CRLF included */
	size_t max_sessions;
	int session_timeout;      /* seconds of silence from the client */
	int max_session_time;     /* seconds a session may last at all */
	int retry_initial;        /* seconds before the first retry */
	int retry_max;            /* the longest interval between retries */
	int max_queue_time;       /* seconds before a message is given up */
	int relay_timeout;        /* seconds per SMTP step to the smarthost */
	char *log_file;           /* NULL: journald or syslog (log.h) */
	int log_level;            /* enum hlog_level */
	int log_facility;         /* syslog's, LOG_MAIL by default */
	char *log_socket;         /* NULL: /dev/log */
	char *accounting_file;    /* NULL: no accounting */
	int rotation_check;       /* run the module's key check (rotation
	                             schedules against DNS) periodically */
	int rotation_check_interval; /* seconds between checks */
	char *metrics_text;       /* metrics-address; NULL: no GET /metrics */
	net_addr metrics;         /* its loopback address */
} harness_config;

/*
 * Reads path, keeps only its "harness { }" block (module/conf_text.c, line
 * numbers intact) and parses that.  Returns 0, or -1 with err holding
 * "FILE:LINE: what was expected" (or "FILE: ..." for a whole-file problem).
 */
int harness_config_load(const char *path, harness_config **out, char *err,
    size_t errlen);
void harness_config_free(harness_config *c);

#endif
