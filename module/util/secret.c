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
	ssize_t got;
	int fd;

	memset(out, 0, sizeof(*out));
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the
	 * open (it is refused below as not a regular file).  Symbolic links
	 * are followed: the checks are on the file they lead to. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return vdkim_fail(err, rc, "%s: cannot open the %s: %s", path,
		    what, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vdkim_fail(err, rc, "%s: the %s is not a regular file",
		    path, what);
	}
	out->mode = st.st_mode & 07777;
	if (out->mode & refuse) {
		close(fd);
		return vdkim_fail(err, rc, "%s: refused: the %s is %s (mode "
		    "%04o): chmod 0600 it%s", path, what,
		    exposure(out->mode & refuse), (unsigned)out->mode,
		    (refuse & S_IRGRP) ? ", owned by the user the MTA runs as" :
		    " (0640 to share it with the MTA's group)");
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return vdkim_fail(err, rc, "%s: %lld bytes is too large for a "
		    "%s (at most %zu)", path, (long long)st.st_size, what, max);
	}
	out->data = malloc(max + 1);
	if (out->data == NULL) {
		close(fd);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	while (out->len < max) {
		got = read(fd, out->data + out->len, max - out->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			close(fd);
			vdkim_secret_free(out);
			return vdkim_fail(err, rc, "%s: cannot read the %s: %s",
			    path, what, strerror(e));
		}
		if (got == 0)
			break;
		out->len += (size_t)got;
	}
	close(fd);
	out->data[out->len] = '\0';
	return VDKIM_OK;
}

void
vdkim_secret_free(vdkim_secret *s)
{
	if (s->data != NULL) {
		/* max + 1 bytes were allocated; len + 1 were ever written. */
		explicit_bzero(s->data, s->len + 1);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}
