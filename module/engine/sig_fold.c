/*
 * sig_fold.c - header folding.
 */
#include <string.h>

#include "sig_fold.h"

void
fold_start(folder *f, strbuf *sb, const char *name)
{
	f->sb = sb;
	sb_adds(sb, name);
	sb_adds(sb, ":");
	f->col = strlen(name) + 1;
}

void
fold_break(folder *f)
{
	sb_adds(f->sb, "\r\n\t");
	f->col = FOLD_TAB_COLUMNS;
}

void
fold_atom(folder *f, const char *text)
{
	size_t n = strlen(text);

	if (f->col + 1 + n > FOLD_WIDTH && f->col > FOLD_TAB_COLUMNS) {
		fold_break(f);
	} else {
		sb_adds(f->sb, " ");
		f->col++;
	}
	sb_add(f->sb, text, n);
	f->col += n;
}

void
fold_glued(folder *f, const char *text)
{
	size_t n = strlen(text);

	if (f->col + n > FOLD_WIDTH && f->col > FOLD_TAB_COLUMNS)
		fold_break(f);
	sb_add(f->sb, text, n);
	f->col += n;
}

void
fold_stream(folder *f, const char *text)
{
	size_t n = strlen(text);

	while (n > 0) {
		size_t room, take;

		if (f->col >= FOLD_WIDTH)
			fold_break(f);
		room = FOLD_WIDTH - f->col;
		take = n < room ? n : room;
		sb_add(f->sb, text, take);
		f->col += take;
		text += take;
		n -= take;
	}
}
