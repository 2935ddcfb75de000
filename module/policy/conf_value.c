/*
 * conf_value.c - the pieces the policy's schema files share: checked
 * values that remember their line, section lines, key splitting.
 */
#include <stdlib.h>
#include <string.h>

#include "conf_value.h"
#include "domain_idn.h"

int
conf_value_store(cfg_t *cfg, const char *problem, const char *value,
    conf_val **out)
{
	conf_val *cv;

	if (problem != NULL) {
		cfg_error(cfg, "%s, not \"%s\"", problem, value);
		return -1;
	}
	cv = malloc(sizeof(*cv) + strlen(value) + 1);
	if (cv == NULL) {
		cfg_error(cfg, "out of memory");
		return -1;
	}
	cv->line = cfg->line;
	strcpy(cv->s, value);
	*out = cv;
	return 0;
}

void
conf_value_free(void *p)
{
	free(p);
}

void
conf_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/*
 * libconfuse only knows where sections end, so the comment-free text is
 * searched for where one opens; titles are unique per keyword within a
 * block.
 */
int
conf_section_line(const char *text, int from, int depth, const char *keyword,
    const char *title)
{
	size_t kl = strlen(keyword), tl = strlen(title);
	int line = 1, d = 0, inside = from <= 1 && depth == 0;
	char quote = 0;

	for (const char *p = text; *p != '\0'; p++) {
		const char *q;

		if (*p == '\n')
			line++;
		if (quote) {
			if (*p == quote)
				quote = 0;
			continue;
		}
		if (*p == '"' || *p == '\'') {
			quote = *p;
			continue;
		}
		if (*p == '{') {
			d++;
			if (!inside && line >= from && d == depth)
				inside = 1;
			continue;
		}
		if (*p == '}') {
			if (--d < depth && inside)
				return 0; /* left the parent block */
			continue;
		}
		if (!inside || d != depth ||
		    (p != text && !strchr(" \t\n;", p[-1])) ||
		    strncmp(p, keyword, kl) != 0 || !strchr(" \t", p[kl]))
			continue;
		q = p + kl;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '"' || *q == '\'')
			q++;
		if (strncmp(q, title, tl) == 0 &&
		    strchr("\"' \t\n{", q[tl]))
			return line;
	}
	return 0;
}

int
conf_split_key(const char *v, char **selector, char **domain, char **path)
{
	const char *c1 = strchr(v, ','), *c2 = strchr(c1 + 1, ',');
	char ace[254];

	*selector = strndup(v, (size_t)(c1 - v));
	*domain = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	*path = strdup(c2 + 1);
	if (*selector == NULL || *domain == NULL || *path == NULL)
		return -1;
	conf_lower(*domain);
	/* U-labels become A-labels (check_domain_key let them through). */
	if (domain_has_8bit(*domain) && domain_to_alabels(*domain, ace,
	    sizeof(ace)) == 0) {
		free(*domain);
		if ((*domain = strdup(ace)) == NULL)
			return -1;
	}
	return 0;
}
