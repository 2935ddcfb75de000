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

/* What scan() found in a config text. */
struct text_scan {
	int open_comment;   /* the line where a C comment that never closes
	                       opens, or 0 */
	size_t sections;    /* "{" that open a section (not a list "= {") */
	int sections_line;  /* the line of the first section past the limit */
	int value_line;     /* the line of the first value past the limit */
	size_t value_len;   /* the current quoted or unquoted value's bytes */
	char last;          /* the last byte of code that is not a blank */
};

/* The bytes of code an unquoted value is made of. */
static int
is_word_byte(char c)
{
	return strchr(" \t\r\n{}[](),;=+\"'", c) == NULL;
}

/* One more byte of a value (quoted or not) on line. */
static void
value_byte(struct text_scan *sc, int line)
{
	if (++sc->value_len > CONF_VALUE_MAX && sc->value_line == 0)
		sc->value_line = line;
}

/* One byte of code (outside quotes and comments) on line. */
static void
code_byte(struct text_scan *sc, char c, int line)
{
	if (is_word_byte(c)) {
		value_byte(sc, line);
	} else {
		sc->value_len = 0;
		if (c == '{' && sc->last != '=' &&
		    ++sc->sections > CONF_SECTIONS_MAX && sc->sections_line == 0)
			sc->sections_line = line;
	}
	if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
		sc->last = c;
}

/*
 * Removes #, // and C comments from t in place, outside quotes: each
 * becomes one blank (so that two words a comment parted stay two) and the
 * newlines it held, so line numbers stay exact.  Removed, not blanked:
 * libconfuse's scanner is quadratic in a long run of blanks, and a 2 MB
 * comment must cost what reading it does.  Counts sections and measures
 * values on the way (the limits of conf_text.h), so the text is walked
 * once.  Returns the new length.
 */
static size_t
scan(char *t, struct text_scan *sc)
{
	enum { CODE, DQUOTE, SQUOTE, LINE, BLOCK } st = CODE;
	char *start = t, *w = t; /* w: where the next kept byte goes (never
	                            past t) */
	int line = 1;

	memset(sc, 0, sizeof(*sc));
	for (; *t != '\0'; t++) {
		if (*t == '\n')
			line++;
		switch (st) {
		case CODE:
			if (*t == '"' || *t == '\'') {
				st = *t == '"' ? DQUOTE : SQUOTE;
				sc->value_len = 0;
				sc->last = *t;
			} else if (*t == '#' || (t[0] == '/' && t[1] == '/')) {
				st = LINE;
				*w++ = ' ';
				sc->value_len = 0;
				continue;
			} else if (t[0] == '/' && t[1] == '*') {
				st = BLOCK;
				sc->open_comment = line;
				*w++ = ' ';
				t++;
				sc->value_len = 0;
				continue;
			} else {
				code_byte(sc, *t, line);
			}
			break;
		case DQUOTE:
			if (*t == '\\' && t[1] != '\0') {
				value_byte(sc, line);
				*w++ = *t++;
				if (*t == '\n')
					line++;
			} else if (*t == '"') {
				st = CODE;
				sc->value_len = 0;
				break;
			}
			value_byte(sc, line);
			break;
		case SQUOTE:
			if (*t == '\'') {
				st = CODE;
				sc->value_len = 0;
			} else {
				value_byte(sc, line);
			}
			break;
		case LINE:
			if (*t != '\n')
				continue;
			st = CODE;
			break;
		case BLOCK:
			if (t[0] == '*' && t[1] == '/') {
				t++;
				st = CODE;
				sc->open_comment = 0;
			}
			if (*t != '\n')
				continue;
			break;
		}
		*w++ = *t;
	}
	*w = '\0';
	if (st != BLOCK)
		sc->open_comment = 0;
	return (size_t)(w - start);
}

vdkim_rc
conf_text_load(const char *path, char **text, vdkim_error *err)
{
	struct text_scan sc;
	vdkim_file f;
	vdkim_rc rc;

	rc = vdkim_file_read(AT_FDCWD, path, "config file", CONF_FILE_MAX,
	    VDKIM_FILE_TEXT, VDKIM_EIO, &f, err);
	if (rc != VDKIM_OK)
		return rc;
	scan(f.data, &sc);
	if (sc.open_comment != 0)
		rc = vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: this comment "
		    "is never closed (a \"*/\" is missing)", path,
		    sc.open_comment);
	else if (sc.value_line != 0)
		rc = vdkim_fail(err, VDKIM_ELIMIT, "%s:%d: a value longer "
		    "than %d bytes (the limit for one directive's value)",
		    path, sc.value_line, CONF_VALUE_MAX);
	else if (sc.sections_line != 0)
		rc = vdkim_fail(err, VDKIM_ELIMIT, "%s:%d: more than %d "
		    "sections (\"NAME { }\" blocks; the limit for one config)",
		    path, sc.sections_line, CONF_SECTIONS_MAX);
	if (rc != VDKIM_OK) {
		vdkim_file_free(&f);
		return rc;
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
 * Removes every byte but newlines of the top-level keyword blocks of text
 * (in_blocks 1) or of everything else (in_blocks 0), in place: each run
 * removed becomes one blank and its newlines (a long run of blanks is
 * quadratic in libconfuse's scanner).  Without memory for the map of
 * which byte is where, text is left as it is.
 */
static void
blank_side(char *text, const char *keyword, unsigned char in_blocks)
{
	unsigned char *keep = calloc(strlen(text) + 1, 1);
	size_t w = 0;
	int in_run = 0;

	if (keep == NULL)
		return;
	find_blocks(text, keyword, keep);
	for (size_t i = 0; text[i] != '\0'; i++) {
		if (keep[i] != in_blocks) {
			text[w++] = text[i];
			in_run = 0;
		} else if (text[i] == '\n') {
			text[w++] = '\n';
		} else if (!in_run) {
			text[w++] = ' ';
			in_run = 1;
		}
	}
	text[w] = '\0';
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
