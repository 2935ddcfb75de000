/*
 * conf_value.h - what the policy's schema files share (conf_parse.c for
 * the policy, conf_device.c for device blocks): a checked value that
 * remembers its line, the line where a section opens, the split of a
 * "SELECTOR,DOMAIN,PATH" key.  Below both, so neither needs the other's
 * callbacks.
 */
#ifndef VDKIM_CONF_VALUE_H
#define VDKIM_CONF_VALUE_H

#include <stddef.h>

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
 * Where sections open.  libconfuse only knows where a section ends, so
 * the comment-free text is indexed once, in one pass, before the model is
 * built: every "keyword TITLE {" with its line and the line of the
 * section it stands in.  A lookup is then a hash probe, so a file of
 * 10,000 virtual-mta blocks costs what reading it does.  The index points
 * into text, which must outlive it.  NULL when out of memory.
 */
typedef struct conf_sections conf_sections;
conf_sections *conf_sections_index(const char *text);
void conf_sections_free(conf_sections *s);

/* The line of the first section that repeats the title of an earlier one
 * of its keyword in its block, with "keyword "TITLE"" in what; 0 when
 * none does. */
int conf_sections_duplicate(const conf_sections *s, char *what,
    size_t len);

/*
 * libconfuse 3.3 looks for an earlier section of the same title by a
 * linear search, and grows a keyword's list of sections one entry at a
 * time (realloc: a copy of the list each time once the heap is busy): N
 * blocks of one keyword in one block cost N * N.  10,000 virtual-mta
 * blocks took seconds.  The top-level blocks whose keyword is in kinds
 * (NULL-terminated, at most CONF_TOP_KINDS_MAX) are therefore handed to
 * it untitled, with the title moved into the string option opt inside,
 * and dealt in turn to `shards` keywords (CONF_SHARD_FMT before the
 * keyword, with the block's number of its kind modulo shards):
 * "virtual-mta v1 {" becomes "_vdkim-1-virtual-mta    { opt = 'v1' ".
 * The schema declares those keywords without CFGF_TITLE; the n-th block
 * of a kind is number n / shards of keyword n % shards.  Every newline
 * stays where it was.  Duplicate titles are then found by the section
 * index (conf_sections_duplicate).  A malloc'd text, NULL when out of
 * memory.
 */
#define CONF_TOP_KINDS_MAX 16
#define CONF_SHARD_FMT "_vdkim-%u-"
char *conf_untitle_top(const char *text, const char *const *kinds,
    const char *opt, unsigned shards);

/*
 * The line where "keyword TITLE {" opens inside the section whose keyword
 * stands on line parent (0: at the top level); 0 when not found (s NULL,
 * say).  Titles are unique per keyword within a block; the first counts.
 */
int conf_section_line(const conf_sections *s, int parent,
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
