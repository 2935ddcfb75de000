/*
 * milter_config.h - vdkim-milter's settings: the "milter { }" block of the
 * same libconfuse file that holds the module's policy (milter/README.md
 * lists the directives).
 */
#ifndef MILTER_CONFIG_H
#define MILTER_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "net_addr.h"

/* One "MACROVALUE=VMTA" of vmta-map. */
typedef struct vmta_route {
	char *value;
	char *vmta;
} vmta_route;

typedef struct milter_config {
	char *path;               /* the config file (also the module's) */
	char *module;             /* path of vdkim.so */
	char *listen;             /* libmilter's "inet:PORT@HOST" / "unix:PATH" */
	char *socket_owner;       /* unix: sockets only; NULL: unchanged */
	char *socket_group;
	long socket_mode;         /* -1: unchanged */
	char *log_file;           /* NULL: journald or syslog (log.h) */
	int log_level;            /* enum hlog_level */
	int log_facility;         /* syslog's, LOG_MAIL by default */
	char *log_socket;         /* NULL: /dev/log */
	char *vmta_macro;         /* e.g. "{daemon_name}" */
	char *default_vmta;       /* NULL: the module's "default" */
	vmta_route *routes;
	size_t nroutes;
	char **x_vmta_sources;    /* macro values whose X-Virtual-MTA counts */
	size_t nx_vmta_sources;
	size_t max_header_size;   /* bytes of header kept until its end */
	int timeout;              /* seconds libmilter waits on the MTA */
	int stop_grace;           /* seconds open messages get at a stop */
	unsigned refs;            /* sessions using it (session.c) */
	char *metrics_text;       /* metrics-address; NULL: no GET /metrics */
	net_addr metrics;         /* its loopback address */
} milter_config;

/*
 * Reads path, keeps only its "milter { }" block (module/util/conf_text.c,
 * line numbers intact) and parses that.  0, or -1 with err holding
 * "FILE:LINE: what was expected" (or "FILE: ..." for the whole file).
 */
int milter_config_load(const char *path, milter_config **out, char *err,
    size_t errlen);
void milter_config_free(milter_config *c);

/* The VMTA for a message whose macro says value (NULL: the macro was not
 * sent) and whose X-Virtual-MTA says x_vmta (NULL: none): the header when
 * value is one of x-virtual-mta-sources, else the map, else default-vmta.
 * *how says which ("x-virtual-mta", "vmta-map", "default").  The result
 * is borrowed from c or x_vmta; NULL means the module's "default". */
const char *milter_config_vmta(const milter_config *c, const char *value,
    const char *x_vmta, const char **how);

#endif
