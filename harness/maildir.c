/*
 * maildir.c - Maildir delivery.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsio.h"
#include "maildir.h"

struct maildir {
	char *dir;
	char host[128];   /* '/' and ':' cannot be in a Maildir name */
	int tmp_fd;
	int new_fd;
};

int
maildir_open(const char *dir, const char *hostname, maildir **out,
    char *err, size_t errlen)
{
	maildir *m;
	int dir_fd, cur_fd;
	size_t i;

	*out = NULL;
	dir_fd = fsio_open_dir(AT_FDCWD, dir, NULL, "the Maildir", err,
	    errlen);
	if (dir_fd < 0)
		return -1;
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->dir = strdup(dir)) == NULL) {
		free(m);
		close(dir_fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->tmp_fd = m->new_fd = -1;
	for (i = 0; hostname[i] != '\0' && i < sizeof(m->host) - 1; i++)
		m->host[i] = hostname[i] == '/' || hostname[i] == ':' ? '_' :
		    hostname[i];
	m->host[i] = '\0';
	m->tmp_fd = fsio_open_dir(dir_fd, "tmp", dir, NULL, err, errlen);
	m->new_fd = m->tmp_fd < 0 ? -1 :
	    fsio_open_dir(dir_fd, "new", dir, NULL, err, errlen);
	cur_fd = m->new_fd < 0 ? -1 :
	    fsio_open_dir(dir_fd, "cur", dir, NULL, err, errlen);
	close(dir_fd);
	if (cur_fd < 0) {
		maildir_close(m);
		return -1;
	}
	close(cur_fd);
	*out = m;
	return 0;
}

void
maildir_close(maildir *m)
{
	if (m == NULL)
		return;
	if (m->tmp_fd >= 0)
		close(m->tmp_fd);
	if (m->new_fd >= 0)
		close(m->new_fd);
	free(m->dir);
	free(m);
}

int
maildir_deliver(maildir *m, const char *queue_id, time_t queued,
    const seglist *msg, char *name, size_t namelen, char *err,
    size_t errlen)
{
	char file[256];

	snprintf(file, sizeof(file), "%lld.%s.%s", (long long)queued,
	    queue_id, m->host);
	if (name != NULL)
		snprintf(name, namelen, "%s", file);
	if (fsio_put_file(m->tmp_fd, m->new_fd, file, msg->v, msg->n, m->dir,
	    err, errlen) != 0)
		return -1;
	if (fsync(m->new_fd) != 0) {
		snprintf(err, errlen, "%s/new: fsync: %s", m->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}
