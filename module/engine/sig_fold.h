/*
 * sig_fold.h - writing a header field folded at 78 columns (RFC 5322 2.1.1).
 *
 * Text is added as unbreakable atoms separated by a space, as glued pieces
 * (h= names) that may be broken between them, or as a stream (base64) that
 * may be broken anywhere.  Folds are CRLF + TAB.
 */
#ifndef VDKIM_SIG_FOLD_H
#define VDKIM_SIG_FOLD_H

#include "strbuf.h"

#define FOLD_WIDTH 78
#define FOLD_TAB_COLUMNS 8

typedef struct folder {
	strbuf *sb;
	size_t col;
} folder;

void fold_start(folder *f, strbuf *sb, const char *name);
/* An atom preceded by a space, or by a fold when it does not fit. */
void fold_atom(folder *f, const char *text);
/* A piece joined to what precedes it, or put after a fold. */
void fold_glued(folder *f, const char *text);
/* Text that may be broken anywhere. */
void fold_stream(folder *f, const char *text);
/* Starts a new line. */
void fold_break(folder *f);

#endif
