/*
 * conf_parse.h - vdkim.conf into the policy model (no keys loaded yet).
 */
#ifndef VDKIM_CONF_PARSE_H
#define VDKIM_CONF_PARSE_H

#include <confuse.h>

#include "vdkim/policy.h"

/* A checked value and the line it stands on (PTR_CB options). */
typedef struct conf_val {
	int line;
	char s[];
} conf_val;

/* Fills p from the file, skipping the top-level blocks named in
 * host_blocks (NULL-terminated; NULL: none), which belong to hosts; on
 * failure err says "FILE:LINE: ..." and p may hold a partial model (free
 * it with policy_free). */
vdkim_rc conf_parse_file(const char *path, const char *const *host_blocks,
    vdkim_policy *p, vdkim_error *err);

/* For schemas in other files (conf_device.c): the checked-value
 * callback and its free, and the line where a section opens. */
int conf_value_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result);
void conf_value_free(void *p);
int conf_section_line(const char *text, int from, int depth,
    const char *keyword, const char *title);

/* Splits an already checked "SELECTOR,DOMAIN,PATH" (domain-key,
 * domain-key-fallback) into copies, the domain lower-cased.  0, or -1 when
 * out of memory (what was copied is in the outputs, for the caller to
 * free). */
int conf_split_key(const char *v, char **selector, char **domain,
    char **path);

#endif
