/*
 * conf_text.h - reading a config file into text libconfuse can parse with
 * exact line numbers.
 *
 * libconfuse 3.3 (Debian 12) counts a line comment as three lines and
 * fails on comments inside lists.  vdkim therefore removes comments
 * itself (keeping every newline, so line numbers stay exact) and hands
 * libconfuse a text without any.  Removed, not blanked out: libconfuse's
 * scanner takes time quadratic in a run of blanks.
 */
#ifndef VDKIM_CONF_TEXT_H
#define VDKIM_CONF_TEXT_H

#include "vdkim/dkim.h"

/*
 * The limits of one config file, checked before libconfuse sees it (a
 * file past them is refused with FILE:LINE and the limit, VDKIM_ELIMIT).
 * Far above what a large email service provider needs (100,000
 * domain-key lines, 10,000 virtual-mta blocks: about 15 MB, 50,000
 * sections), they bound what one file can make the parser allocate.
 * conf-examples/README.md documents them.
 */
#define CONF_FILE_MAX     (32 * 1024 * 1024) /* bytes in the file */
#define CONF_VALUE_MAX    (64 * 1024)        /* bytes in one value */
#define CONF_SECTIONS_MAX 1000000            /* "NAME { }" blocks */

/* Reads path (a regular file of at most CONF_FILE_MAX bytes, without a
 * NUL byte) with comments (#, // and C ones, outside quotes) removed,
 * each leaving one blank and every newline it held; checks the limits
 * above.  *text is malloc'd and NUL-terminated. */
vdkim_rc conf_text_load(const char *path, char **text, vdkim_error *err);

/*
 * Host sections: a top-level "KEYWORD { ... }" block belongs to the host
 * (the harness keeps its listeners and spool in "harness { }"), not to the
 * module.  blank_blocks() removes those blocks (the module's view);
 * keep_blocks() removes everything else (the host's view).  Each run
 * removed leaves one blank and every newline, so line numbers stay exact;
 * both expect comment-free text.
 */
void conf_text_blank_blocks(char *text, const char *keyword);
void conf_text_keep_blocks(char *text, const char *keyword);

#endif
