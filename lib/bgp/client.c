/* BIRD's control socket, as a client (client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
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
	int rc;
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 && errno == EINTR)
		; /* interrupted: again (a local connect that went on meanwhile says EISCONN) */
	if (rc != 0 && errno == EISCONN)
		rc = 0;
	if (rc != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A signal delivered to this thread (sluice's start-up has them: DPDK's
 * interrupt thread, child processes) is no failure: the wait goes on to
 * the same deadline. Seen in CI as "Interrupted system call" at start. */
ssize_t sl_recv_within(int fd, char *buf, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		int rc = poll(&p, 1, left > 0 ? (int)left : 0);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			errno = rc == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		ssize_t n = recv(fd, buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* send() of all of buf, through signals. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
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
			if (send_all(fd, cmd, strlen(cmd)) < 0 || send_all(fd, "\n", 1) < 0) {
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

