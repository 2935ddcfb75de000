/*
 * conf_text.h - reading a config file into text libconfuse can parse with
 * exact line numbers.
 *
 * libconfuse 3.3 (Debian 12) counts a line comment as three lines and
 * fails on comments inside lists.  vdkim therefore blanks comments out
 * itself (keeping every newline, so line numbers stay exact) and hands
 * libconfuse a text without any.
 */
#ifndef VDKIM_CONF_TEXT_H
#define VDKIM_CONF_TEXT_H

#include "vdkim/dkim.h"

#define CONF_FILE_MAX (4 * 1024 * 1024)

/* Reads path (at most CONF_FILE_MAX bytes) with comments blanked out;
 * *text is malloc'd and NUL-terminated. */
vdkim_rc conf_text_load(const char *path, char **text, vdkim_error *err);
/* Blanks #, // and C comments out of text in place, outside quotes.
 * Returns 0, or the line where a C comment opens that never closes. */
int conf_text_strip_comments(char *text);

/*
 * Host sections: a top-level "KEYWORD { ... }" block belongs to the host
 * (the harness keeps its listeners and spool in "harness { }"), not to the
 * module.  blank_blocks() blanks those blocks out (the module's view);
 * keep_blocks() blanks everything else (the host's view).  Both keep every
 * newline, so line numbers stay exact, and expect comment-free text.
 */
void conf_text_blank_blocks(char *text, const char *keyword);
void conf_text_keep_blocks(char *text, const char *keyword);

#endif
