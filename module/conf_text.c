/*
 * conf_text.c - config text without comments, newlines kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_text.h"
#include "error.h"

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
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return vdkim_fail(err, VDKIM_EIO, "%s: cannot open the config "
		    "file: %s", path, strerror(errno));
	buf = malloc(CONF_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f) || n > CONF_FILE_MAX) {
		int e = errno;
		fclose(f);
		free(buf);
		return n > CONF_FILE_MAX ?
		    vdkim_fail(err, VDKIM_ELIMIT, "%s: larger than %d bytes",
			path, CONF_FILE_MAX) :
		    vdkim_fail(err, VDKIM_EIO, "%s: cannot read: %s", path,
			strerror(e));
	}
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		free(buf);
		return vdkim_fail(err, VDKIM_ESYNTAX, "%s: the file holds a NUL "
		    "byte; it is not a text config", path);
	}
	n = (size_t)conf_text_strip_comments(buf);
	if (n != 0) {
		free(buf);
		return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%zu: this comment "
		    "is never closed (a \"*/\" is missing)", path, n);
	}
	*text = buf;
	return VDKIM_OK;
}
