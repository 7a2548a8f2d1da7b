/*
 * Inside the API: one HTTP/1.1 connection on the control thread's libuv
 * loop, over TLS (OpenSSL with memory BIOs, so libuv does all the I/O) or
 * plain (the Unix socket). Requests are framed by Debian's http-parser,
 * which refuses ambiguous framing (Content-Length with Transfer-Encoding,
 * two Content-Lengths); this file adds the limits, timeouts and the one
 * rule that matters most: every way a connection ends — FIN, RST, a
 * timeout, a TLS or parse error, shutdown — goes through conn_close(),
 * which releases everything the connection holds.
 *
 * server.c decides what requests mean (through the hooks below); http.c
 * never looks at a path or a body.
 */
#ifndef SLUICE_API_HTTP_H
#define SLUICE_API_HTTP_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct api_conn;

struct api_limits {
	size_t max_header_bytes;     /* request line and headers together */
	unsigned max_headers;
	size_t max_body;
	unsigned request_timeout_ms; /* from a request's first byte (or the accept) to its last */
	unsigned idle_timeout_ms;    /* between requests on a kept-alive connection */
};

/* A request as server.c sees it: pointers valid until it is answered. */
struct api_request {
	const char *method;          /* "GET", "POST", ... */
	bool head;
	const char *path;            /* raw (not percent-decoded), without the query */
	size_t path_len;
	const char *query;           /* after '?', "" when none */
	size_t query_len;
	const char *authorization;   /* the header's value, NULL when absent */
	size_t authorization_len;
	const char *body;
	size_t body_len;
	bool tls;                    /* arrived over TLS (else the trusted Unix socket) */
};

struct api_header {
	const char *name;
	const char *value;
};

/* The answer; body is consumed (NULL: {} for errors, nothing for 204). */
struct api_response {
	int status;
	json_t *body;
	struct api_header headers[2]; /* extra headers, name NULL when unused */
	bool close;                   /* close the connection once sent */
};

struct api_conn_hooks {
	void *ctx;
	/* Headers read, body not yet: 0 to go on, or fill *res (the connection
	 * then closes after it, the body unread: an unauthenticated or
	 * oversized body is never buffered). */
	int (*on_headers)(void *ctx, struct api_conn *c, const struct api_request *r,
			  struct api_response *res);
	/* A whole request: answer it, now or later, with conn_respond(). */
	void (*on_request)(void *ctx, struct api_conn *c, const struct api_request *r);
	/* The connection is gone; c must not be used after this returns. */
	void (*on_closed)(void *ctx, struct api_conn *c);
	/* Its memory is freed (stats->open went down): what stats points to
	 * may go once open is 0. */
	void (*on_released)(void *ctx);
};

/* Counters, one list (printed by server.c as they are named here). */
#define API_CONN_COUNTERS(X)                                                                       \
	X(accepted)          /* connections taken */                                               \
	X(requests)          /* requests read whole */                                             \
	X(closed_by_peer)    /* FIN or reset from the client */                                    \
	X(timeouts)          /* cut by the request or idle timeout */                              \
	X(tls_errors)        /* handshake or record failures */                                    \
	X(bad_requests)      /* malformed or ambiguous requests, limits exceeded */                \
	X(write_errors)      /* the peer could not take an answer */

struct api_conn_stats {
#define X(name) unsigned long long name;
	API_CONN_COUNTERS(X)
#undef X
	unsigned open; /* connections not yet released */
};

/*
 * Accept a connection from listener (a TCP listener when ssl is set, else
 * the Unix socket's) and serve HTTP on it. NULL when it could not be
 * accepted (nothing is left open).
 */
struct api_conn *conn_accept(uv_stream_t *listener, SSL_CTX *ssl, const struct api_limits *limits,
			     const struct api_conn_hooks *hooks, struct api_conn_stats *stats);

/* One pointer of the server's per connection (its pending write). */
void conn_set_user(struct api_conn *c, void *user);
void *conn_user(const struct api_conn *c);

void conn_respond(struct api_conn *c, struct api_response *res);

/* End it now (shutdown): the on_closed hook runs, memory goes once libuv
 * has closed the handles. */
void conn_close(struct api_conn *c);

/* Is it between requests (nothing read of the next one)? */
bool conn_idle(const struct api_conn *c);

/* The peer's address, for per-source limits (zeroed for the Unix socket). */
const struct sockaddr_storage *conn_peer(const struct api_conn *c);

#endif
