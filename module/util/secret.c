/*
 * secret.c - masking PINs in sentences; reading secret files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file_read.h"
#include "secret.h"

#define MASK "****"

/* Where a PIN starts at text + i, or 0: the length of what precedes it. */
static size_t
pin_lead(const char *text, size_t i)
{
	static const char attr[] = "pin-value=";

	if (strncasecmp(text + i, attr, sizeof(attr) - 1) == 0)
		return sizeof(attr) - 1;
	/* An engine control command: "PIN:value", a config value on its
	 * own or quoted inside a sentence. */
	if ((i == 0 || text[i - 1] == '"') &&
	    strncasecmp(text + i, "PIN:", 4) == 0)
		return 4;
	return 0;
}

char *
vdkim_mask_pin(const char *text, char *out, size_t outlen)
{
	size_t used = 0, i = 0, lead;

	if (outlen == 0)
		return out;
	while (text[i] != '\0' && used + 1 < outlen) {
		if ((lead = pin_lead(text, i)) == 0) {
			out[used++] = text[i++];
			continue;
		}
		/* The attribute's name stays: the reader sees what was there. */
		used += (size_t)snprintf(out + used, outlen - used, "%.*s"
		    MASK, (int)lead, text + i);
		if (used >= outlen)
			used = outlen - 1;
		/* The value ends where the next URI attribute, a quoted
		 * value or a word would.  Not at ':', ',', ')' or '\'': a PIN
		 * in a URI may hold them (RFC 7512 pk11-res-avail), and
		 * masking too much is the safe side. */
		i += lead;
		i += strcspn(text + i, ";&?\" \t\r\n");
	}
	out[used] = '\0';
	return out;
}

/* What the bits of mode in refuse allow others, in words. */
static const char *
exposure(mode_t bad)
{
	int others = (bad & S_IRWXO) != 0;

	if (bad & (S_IWGRP | S_IWOTH))
		return others ? "writable by every user" :
		    "writable by its group";
	if (bad & (S_IRGRP | S_IROTH))
		return others ? "readable by every user" :
		    "readable by its group";
	return others ? "open to every user" : "open to its group";
}

vdkim_rc
vdkim_secret_read(const char *path, const char *what, mode_t refuse,
    size_t max, vdkim_rc rc, vdkim_secret *out, vdkim_error *err)
{
	struct stat st;

	return vdkim_secret_read_stat(path, what, refuse, max, rc, out, &st,
	    err);
}

vdkim_rc
vdkim_secret_read_stat(const char *path, const char *what, mode_t refuse,
    size_t max, vdkim_rc rc, vdkim_secret *out, struct stat *stp,
    vdkim_error *err)
{
	struct stat st;
	mode_t mode;
	vdkim_rc r;
	int fd;

	memset(out, 0, sizeof(*out));
	r = vdkim_file_open(AT_FDCWD, path, what, 0, rc, &fd, &st, err);
	if (r != VDKIM_OK)
		return r;
	/* The mode is checked before a byte of the secret is read. */
	mode = st.st_mode & 07777;
	if (mode & refuse) {
		close(fd);
		return vdkim_fail(err, rc, "%s: refused: the %s is %s (mode "
		    "%04o): chmod 0600 it%s", path, what,
		    exposure(mode & refuse), (unsigned)mode,
		    (refuse & S_IRGRP) ? ", owned by the user the MTA runs as" :
		    " (0640 to share it with the MTA's group)");
	}
	r = vdkim_file_read_fd(fd, &st, path, what, max, 0, rc, out, err);
	close(fd);
	*stp = st;
	return r;
}

void
vdkim_secret_free(vdkim_secret *s)
{
	vdkim_file_free(s);
}
