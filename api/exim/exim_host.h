/*
 * exim_host.h - what the Exim shim needs from the Exim process it runs in.
 *
 * vdkim.so is loaded by many hosts (the harness, test programs, Exim), so
 * it cannot be linked against Exim's symbols: a library with an undefined
 * reference to Exim's header_list would not even load in the harness.
 * Instead the shim looks Exim's documented local_scan/dlfunc API up in the
 * running process (Exim is linked with --export-dynamic for exactly this)
 * the first time one of its functions is called.
 */
#ifndef VDKIM_API_EXIM_HOST_H
#define VDKIM_API_EXIM_HOST_H

#include <stddef.h>

#define DLFUNC_IMPL
#include <local_scan.h>

#include "vdkim/vdkim.h"

/* Exim marks a header it has removed with this type (htype_old in Exim's
 * macros.h); such a header is never sent. */
#define EXIM_HTYPE_OLD '*'
/* A Received: field (htype_received). */
#define EXIM_HTYPE_RECEIVED 'P'

/* The part of Exim's API the shim uses, found at run time. */
typedef struct exim_api {
	void (*log_write)(unsigned int, int, const char *, ...);
	uschar *(*expand_string)(uschar *);
	uschar *(*copyn)(const uschar *, int);
	void (*header_remove)(int, const uschar *);
	header_line **header_list;
	uschar **message_id;
	uschar **sender_address;
	recipient_item **recipients_list;
	int *recipients_count;
} exim_api;

/*
 * The Exim API of this process, or NULL when some symbol is missing (not
 * an Exim, or an Exim without --export-dynamic); why then says which.
 */
const exim_api *exim_api_get(char *why, size_t whylen);

/*
 * The vdkim instance for config_path in this Exim process, opened on first
 * use and kept for every later message of the process (and of the
 * processes it forks: an SMTP session's deliveries inherit it, and every
 * process inherits it from a daemon that loaded it).  NULL on failure with
 * err filled (the config does not load); the next call tries again, so a
 * fixed config takes effect without restarting Exim.
 *
 * max_age >= 0: when the instance was (re)loaded at least max_age seconds
 * ago, reload it first (config, keys, rotation state); a reload that fails
 * keeps the loaded policy, is logged to the main and panic logs, and is
 * tried again max_age later.  max_age < 0: never.
 */
vdkim_instance *exim_instance(const exim_api *ex, const char *config_path,
    long max_age, const vdkim_api **api, char *err, size_t errlen);

/* A copy of s in Exim's memory (what a dlfunc returns lives there). */
uschar *exim_copy(const exim_api *ex, const char *s, size_t len);

#endif
