/*
 * host_conf.h - a host's own block of vdkim.conf, parsed.
 *
 * The policy and every host that ships with vdkim (the harness, the
 * milter) share one file; each host reads only its own top-level block
 * (the module skips it).  This is the part of that reading the hosts have
 * in common: load the text (module/util/conf_text.c, exact line numbers),
 * keep only the block, parse it with libconfuse and report the first
 * error as "FILE:LINE: what".  Linked by the harness and the milter.
 */
#ifndef VDKIM_HOST_CONF_H
#define VDKIM_HOST_CONF_H

#include <stddef.h>

#include <confuse.h>

/*
 * Parses the top-level block `block` of the file at path with root_opts
 * (whose one section is that block); add_checks (may be NULL) installs the
 * host's validators.  0 with *out the parsed tree (the caller cfg_free()s
 * it); -1 with err set, e.g. `FILE:12: ...`, or `FILE: no "block { }"
 * block (what)` when the file has none.  Not thread-safe (libconfuse's
 * error callback takes no pointer of ours): hosts call it from their main
 * thread.
 */
int host_conf_parse(const char *path, const char *block, cfg_opt_t *root_opts,
    void (*add_checks)(cfg_t *), const char *what, cfg_t **out, char *err,
    size_t errlen);

/*
 * The value callback of a host's log-facility directive (CFG_INT_CB):
 * "mail", "daemon", "user", "local0".."local7" stored as the syslog
 * facility; anything else is an error naming the choices.
 */
int host_conf_facility(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result);

#endif
