/*
 * conf_text.c - config text without comments, newlines kept.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_text.h"
#include "error.h"
#include "file_read.h"

int
conf_text_strip_comments(char *t)
{
	enum { CODE, DQUOTE, SQUOTE, LINE, BLOCK } st = CODE;
	int line = 1, block_line = 0;

	for (; *t != '\0'; t++) {
		if (*t == '\n')
			line++;
		switch (st) {
		case CODE:
			if (*t == '"')
				st = DQUOTE;
			else if (*t == '\'')
				st = SQUOTE;
			else if (*t == '#' || (t[0] == '/' && t[1] == '/')) {
				st = LINE;
				*t = ' ';
			} else if (t[0] == '/' && t[1] == '*') {
				st = BLOCK;
				block_line = line;
				t[0] = ' ';
				t[1] = ' ';
				t++;
			}
			break;
		case DQUOTE:
			if (*t == '\\' && t[1] != '\0')
				t++;
			else if (*t == '"')
				st = CODE;
			break;
		case SQUOTE:
			if (*t == '\'')
				st = CODE;
			break;
		case LINE:
			if (*t == '\n')
				st = CODE;
			else
				*t = ' ';
			break;
		case BLOCK:
			if (t[0] == '*' && t[1] == '/') {
				t[0] = ' ';
				t[1] = ' ';
				t++;
				st = CODE;
			} else if (*t != '\n') {
				*t = ' ';
			}
			break;
		}
	}
	return st == BLOCK ? block_line : 0;
}

vdkim_rc
conf_text_load(const char *path, char **text, vdkim_error *err)
{
	vdkim_file f;
	vdkim_rc rc;
	int line;

	rc = vdkim_file_read(AT_FDCWD, path, "config file", CONF_FILE_MAX,
	    VDKIM_FILE_TEXT, VDKIM_EIO, &f, err);
	if (rc != VDKIM_OK)
		return rc;
	line = conf_text_strip_comments(f.data);
	if (line != 0) {
		vdkim_file_free(&f);
		return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: this comment "
		    "is never closed (a \"*/\" is missing)", path, line);
	}
	*text = f.data;
	return VDKIM_OK;
}

/* 1 when t[i] begins a statement: only blanks since a newline, ";", "}"
 * or the start (so "virtual-mta harness {" or "x = harness" do not count). */
static int
at_statement_start(const char *t, size_t i)
{
	while (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t'))
		i--;
	return i == 0 || t[i - 1] == '\n' || t[i - 1] == ';' || t[i - 1] == '}';
}

/*
 * Marks, in keep[], the bytes of every top-level "keyword { ... }" block of
 * the comment-free text t (keyword included).  Quotes are respected.
 */
static void
find_blocks(const char *t, const char *keyword, unsigned char *keep)
{
	size_t kl = strlen(keyword), start = 0;
	int depth = 0, in_block = 0;
	char quote = 0;

	for (size_t i = 0; t[i] != '\0'; i++) {
		char c = t[i];

		if (quote) {
			if (c == '\\' && quote == '"' && t[i + 1] != '\0')
				i++;
			else if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
			continue;
		}
		if (depth == 0 && !in_block && strncmp(t + i, keyword, kl) == 0 &&
		    at_statement_start(t, i) && strchr(" \t\n{", t[i + kl])) {
			start = i;
			in_block = 1;
		}
		if (c == '{')
			depth++;
		else if (c == '}' && depth > 0 && --depth == 0 && in_block) {
			memset(keep + start, 1, i + 1 - start);
			in_block = 0;
		}
	}
}

/*
 * Blanks every byte but newlines of the top-level keyword blocks of text
 * (in_blocks 1) or of everything else (in_blocks 0).  Without memory for
 * the map of which byte is where, text is left as it is.
 */
static void
blank_side(char *text, const char *keyword, unsigned char in_blocks)
{
	unsigned char *keep = calloc(strlen(text) + 1, 1);

	if (keep == NULL)
		return;
	find_blocks(text, keyword, keep);
	for (size_t i = 0; text[i] != '\0'; i++)
		if (keep[i] == in_blocks && text[i] != '\n')
			text[i] = ' ';
	free(keep);
}

void
conf_text_blank_blocks(char *text, const char *keyword)
{
	blank_side(text, keyword, 1);
}

void
conf_text_keep_blocks(char *text, const char *keyword)
{
	blank_side(text, keyword, 0);
}
