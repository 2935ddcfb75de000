/*
 * conf_parse.h - vdkim.conf into the policy model (no keys loaded yet).
 */
#ifndef VDKIM_CONF_PARSE_H
#define VDKIM_CONF_PARSE_H

#include <confuse.h>

#include "vdkim/policy.h"

/* Fills p from the file, skipping the top-level blocks named in
 * host_blocks (NULL-terminated; NULL: none), which belong to hosts; on
 * failure err says "FILE:LINE: ..." and p may hold a partial model (free
 * it with policy_free). */
vdkim_rc conf_parse_file(const char *path, const char *const *host_blocks,
    vdkim_policy *p, vdkim_error *err);

#endif
