/* BIRD's control socket, as a client (client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bgp/bgp.h"
#include "bgp/client.h"

#define BIRD_MAX (1 << 20)

int sl_unix_connect(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

ssize_t sl_recv_within(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc = poll(&p, 1, timeout_ms);
	if (rc <= 0) {
		errno = rc == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	return recv(fd, buf, len, 0);
}

/* Has buf[0..) a line "CODE text", the last of a reply? */
static bool complete(const char *buf)
{
	for (const char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		struct sl_birdc_line l;
		if (sl_birdc_parse_line(line, (size_t)(nl - line), &l) && l.last)
			return true;
	}
	return false;
}

char *sl_birdc_query(const char *path, const char *cmd, int timeout_ms, char *err, size_t errlen)
{
	int fd = sl_unix_connect(path, SOCK_STREAM);
	char *buf = malloc(BIRD_MAX);
	size_t used = 0;
	bool greeted = false;
	if (fd < 0 || buf == NULL) {
		snprintf(err, errlen, "BIRD control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t n = sl_recv_within(fd, buf + used, BIRD_MAX - 1 - used, timeout_ms);
		if (n <= 0) {
			snprintf(err, errlen, "BIRD control socket %s: %s", path, n == 0 ? "closed" : strerror(errno));
			goto fail;
		}
		used += (size_t)n;
		buf[used] = '\0';
		/* Complete at a line "CODE text": the greeting, then the reply. */
		if (!complete(buf) && used < BIRD_MAX - 1)
			continue;
		if (!greeted) {
			greeted = true;
			used = 0;
			if (send(fd, cmd, strlen(cmd), 0) < 0 || send(fd, "\n", 1, 0) < 0) {
				snprintf(err, errlen, "BIRD control socket %s: %s", path, strerror(errno));
				goto fail;
			}
			continue;
		}
		close(fd);
		return buf;
	}
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

