/*
 * BIRD's control socket, as a client: one command, its whole reply. The
 * only part of lib/bgp with system calls (sluicectl bgp, and sluice's
 * start-up check that BIRD runs its configuration).
 */
#ifndef SLUICE_BGP_CLIENT_H
#define SLUICE_BGP_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* A connected AF_UNIX socket of type (SOCK_STREAM, SOCK_SEQPACKET), or -1 with errno. */
int sl_unix_connect(const char *path, int type);
/* recv() after waiting at most timeout_ms (-1 with ETIMEDOUT past it). */
ssize_t sl_recv_within(int fd, char *buf, size_t len, int timeout_ms);

/* Connect to path, take the greeting, send cmd, read until the reply's
 * last line (each wait at most timeout_ms). The reply's lines with their
 * codes (free it), or NULL with the reason in err. */
char *sl_birdc_query(const char *path, const char *cmd, int timeout_ms, char *err, size_t errlen);

#endif
