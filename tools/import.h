/*
 * import.h - what "vdkimctl import pmta" and "vdkimctl import opendkim"
 * share: reading the source files, writing the vdkim.conf with its
 * comments (translated differently, no equivalent, skipped), the loud
 * warnings, and the check at the end: the config is loaded as the module
 * loads it, and for each VMTA and domain the module's own decision
 * (policy_message, as explain runs it) says which key signs, compared
 * with what the original would have done where the importer knows it.
 */
#ifndef VDKIMCTL_IMPORT_H
#define VDKIMCTL_IMPORT_H

#include <stddef.h>

#include "file_read.h"
#include "strbuf.h"

/* sysexits(3) */
#define IMP_EX_OK 0
#define IMP_EX_USAGE 64
#define IMP_EX_DATAERR 65
#define IMP_EX_NOINPUT 66
#define IMP_EX_SOFTWARE 70
#define IMP_EX_CONFIG 78

/* Source files: larger ones are refused (a config is far smaller). */
#define IMP_MAX_FILE (32u << 20)
/* include depth (PowerMTA include, OpenDKIM Include). */
#define IMP_MAX_DEPTH 8

/* One question for the imported config: a message From: from through
 * vmta (NULL: the default); want_d/want_s what the original signs with
 * ("" want_d: the original leaves it unsigned; NULL: not known). */
typedef struct imp_probe {
	char *vmta;
	char *from;
	char *want_d, *want_s;
	char *label;             /* what the line is about ("SigningTable
	                            FILE:LINE *@*.example.com") */
} imp_probe;

typedef struct imp {
	const char *cmd;         /* "import pmta" */
	const char *source;      /* the file named on the command line */
	strbuf warnings;         /* "# WARNING: ..." lines for the header */
	strbuf skipped;          /* "#   FILE:LINE: text" lines */
	size_t nwarn, nskipped;
	imp_probe *probes;
	size_t nprobes, capprobes;
	int oom;
} imp;

void imp_init(imp *im, const char *cmd, const char *source);
void imp_free(imp *im);

/*
 * A loud warning: a "# WARNING: FILE:LINE: text" line into sb (where the
 * translation stands, indented by depth levels; sb may be NULL), the same
 * in the header's list, and on stderr.
 */
void imp_warn(imp *im, strbuf *sb, int depth, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A "# text" comment line into sb, indented by depth levels. */
void imp_note(strbuf *sb, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A source line not about signing: listed at the end of the output. */
void imp_skip(imp *im, const char *file, int line, const char *text);
/* Prints "vdkimctl CMD: FILE:LINE: sentence" (no FILE when NULL); returns
 * code. */
int imp_error(const imp *im, int code, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends what in holds (nothing when it is empty). */
void imp_append(strbuf *out, const strbuf *in);
/* Appends s as a libconfuse string: "s", with " and \ escaped. */
void imp_quoted(strbuf *sb, const char *s);
/* Appends {"a", "b"} from a list separated by commas, colons or blanks;
 * 0, or -1 when the list is empty. */
int imp_name_list(strbuf *sb, const char *list);
/* yes/no/true/false/on/off/1/0: 1 or 0; -1 for anything else. */
int imp_bool(const char *v);

/*
 * Reads path (a regular file, at most IMP_MAX_FILE, no NUL byte).  0, or
 * prints why (naming from:line, the line that named it, when from is not
 * NULL) and returns IMP_EX_NOINPUT.
 */
int imp_read(const imp *im, const char *path, const char *from, int line,
    vdkim_file *out);
/* path as the file at base names it: absolute as it is, else relative to
 * base's folder (malloc'd; NULL when out of memory). */
char *imp_relative(const char *base, const char *path);
/* The next line of *cur (cut in place, "\r\n" or "\n"), NULL at the end;
 * *lineno counts. */
char *imp_next_line(char **cur, int *lineno);
/* s without leading and trailing white space (in place). */
char *imp_trim(char *s);

/* A question for the end (see imp_probe); strings are copied. */
void imp_probe_add(imp *im, const char *vmta, const char *from,
    const char *want_d, const char *want_s, const char *label);

/*
 * The end of an import: conf (the body, without header) becomes the
 * vdkim.conf, loaded as the module loads it (a refusal: the error, with
 * the source FILE:LINE the refused line names, exit 65), then every probe
 * is decided by the module and printed on stderr ("which key signs"), a
 * difference from the original counting as a loud warning; with explain,
 * also as comments at the end of the config.  The config goes to stdout.
 * Returns the exit status.
 */
int imp_finish(imp *im, const char *header, const strbuf *conf, int explain);

/* The two importers (tools/cmd_import_pmta.c, cmd_import_opendkim.c);
 * argv[0] is "pmta" or "opendkim". */
int import_pmta(int argc, char **argv);
int import_opendkim(int argc, char **argv);

#endif
