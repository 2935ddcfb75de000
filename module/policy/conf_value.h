/*
 * conf_value.h - what the policy's schema files share (conf_parse.c for
 * the policy, conf_device.c for device blocks): a checked value that
 * remembers its line, the line where a section opens, the split of a
 * "SELECTOR,DOMAIN,PATH" key.  Below both, so neither needs the other's
 * callbacks.
 */
#ifndef VDKIM_CONF_VALUE_H
#define VDKIM_CONF_VALUE_H

#include <confuse.h>

/* A checked value and the line it stands on (PTR_CB options). */
typedef struct conf_val {
	int line;
	char s[];
} conf_val;

/*
 * Stores value, with the line the parser of cfg stands on, in *out (freed
 * by conf_value_free, libconfuse's free callback).  problem is what the
 * caller's check said (NULL: the value is good): then, or when memory runs
 * out, the error goes through cfg_error (so it names the line) and the
 * answer is -1.  0 otherwise.
 */
int conf_value_store(cfg_t *cfg, const char *problem, const char *value,
    conf_val **out);
void conf_value_free(void *p);

/*
 * The line where "keyword TITLE {" opens a section at block depth `depth`
 * inside the block that opens on line `from` (1 and 0 for top-level
 * sections), in the comment-free text; 0 when not found.
 */
int conf_section_line(const char *text, int from, int depth,
    const char *keyword, const char *title);

/* Splits an already checked "SELECTOR,DOMAIN,PATH" (domain-key,
 * domain-key-fallback) into copies, the domain lower-cased and in
 * A-labels.  0, or -1 when out of memory (what was copied is in the
 * outputs, for the caller to free). */
int conf_split_key(const char *v, char **selector, char **domain,
    char **path);

/* ASCII lower-case in place (domain names, patterns). */
void conf_lower(char *s);

#endif
