/*
 * fuzz_exim_spool.c - the Exim spool "-D" reader (api/exim/exim_spool.c):
 * the message id Exim names and the data file's bytes, in every layout
 * (named queue, split_spool_directory).  Cross-checks: a file is taken
 * only when its first line names it ("ID-D"), and then the descriptor is
 * at the first byte after that line; anything else is refused with a
 * sentence.
 *
 * Input: a layout byte, then (when its bit 2 is set) a message id ended
 * by a NUL, then the data file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exim_spool.h"
#include "fuzz_common.h"

#define GOOD_ID "1xVPM6-0007uS-1R"

static char spool[64];
static const char *queue = "";

static uschar *
expand(uschar *s)
{
	if (strcmp((char *)s, "$spool_directory") == 0)
		return (uschar *)spool;
	if (strcmp((char *)s, "$queue_name") == 0)
		return (uschar *)queue;
	return NULL;
}

static void
mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exim_api ex;
	char id[80], dir[256], path[512], err[1024];
	const uint8_t *body = data + 1;
	size_t blen, idlen;
	FILE *f;
	int fd;

	if (size < 1)
		return 0;
	if (data[0] & 4) {
		const uint8_t *nul = memchr(body, '\0', size - 1);

		idlen = nul != NULL ? (size_t)(nul - body) : size - 1;
		if (idlen >= sizeof(id))
			return 0;
		memcpy(id, body, idlen);
		id[idlen] = '\0';
		body += nul != NULL ? idlen + 1 : idlen;
	} else {
		snprintf(id, sizeof(id), "%s", GOOD_ID);
	}
	blen = (size_t)(data + size - body);
	queue = (data[0] & 2) ? "bulk" : "";
	memset(&ex, 0, sizeof(ex));
	ex.expand_string = expand;

	/* Where Exim would have put it (only for an id that names a file
	 * in the folder: the reader refuses the others itself). */
	path[0] = '\0';
	if (strlen(id) >= 6 && strchr(id, '/') == NULL && strcmp(id, ".") &&
	    strcmp(id, "..")) {
		snprintf(dir, sizeof(dir), "%s%s%s/input", spool,
		    queue[0] ? "/" : "", queue);
		if (data[0] & 1) {
			size_t n = strlen(dir);

			snprintf(dir + n, sizeof(dir) - n, "/%c", id[5]);
		}
		mkdirs(dir);
		snprintf(path, sizeof(path), "%s/%s-D", dir, id);
		f = fopen(path, "wb");
		FUZZ_CHECK(f != NULL, "%s: %s", path, strerror(errno));
		FUZZ_CHECK(fwrite(body, 1, blen, f) == blen, "short write");
		fclose(f);
	}

	err[0] = '\0';
	fd = exim_spool_open_data(&ex, id, err, sizeof(err));
	if (fd >= 0) {
		char want[100], rest[64];
		size_t wlen = (size_t)snprintf(want, sizeof(want), "%s-D\n", id);
		ssize_t n;

		FUZZ_CHECK(path[0] != '\0', "id \"%s\" opened a file", id);
		FUZZ_CHECK(blen >= wlen && memcmp(body, want, wlen) == 0,
		    "a data file taken for %s without its name line", id);
		n = read(fd, rest, sizeof(rest));
		FUZZ_CHECK(n >= 0 && (size_t)n == (blen - wlen < sizeof(rest) ?
		    blen - wlen : sizeof(rest)) &&
		    memcmp(rest, body + wlen, (size_t)n) == 0,
		    "the body does not start after the name line");
		close(fd);
	} else {
		FUZZ_CHECK(strncmp(err, "vdkim: ", 7) == 0 && err[7] != '\0',
		    "refused without a sentence: \"%s\"", err);
	}
	if (path[0] != '\0')
		unlink(path);
	return 0;
}

static void
remove_spool(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", spool);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(spool, sizeof(spool), "/tmp/vdkim-fuzz-spool-XXXXXX");
	if (mkdtemp(spool) == NULL) {
		perror("fuzz set-up: mkdtemp");
		abort();
	}
	atexit(remove_spool);
	return 0;
}
