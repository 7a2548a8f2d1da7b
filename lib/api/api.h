/*
 * The HTTP/JSON API: REST requests in, manager commands out.
 *
 * The server runs on the control thread's libuv loop. It authenticates,
 * parses and validates every request (syntax: JSON, types, addresses,
 * ranges) and turns each write into one manager command object; the
 * manager decides the semantics (unknown or duplicate VIP, leadership)
 * through a small backend interface, so this layer knows nothing of Raft.
 * See docs/api.md for the endpoints, the command objects and the JSON
 * shapes the backend's reads must return.
 *
 * Transports: HTTPS on TCP (OpenSSL; bearer token and/or client
 * certificates) and plain HTTP on a Unix socket (trusted: the socket file is
 * root's with mode 0600, so whoever can connect is already root).
 */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "spec/limits.h" /* header-only: the API still links no other Sluice library */

#define SL_API_DEFAULT_MAX_BODY (64 * 1024)
#define SL_API_DEFAULT_SOCKET_MODE 0600
#define SL_API_DEFAULT_WRITE_TIMEOUT_MS 10000
#define SL_API_DEFAULT_MAX_CONNECTIONS 256
#define SL_API_DEFAULT_MAX_CONNECTIONS_PER_SOURCE 32
#define SL_API_MAX_DIPS SL_MAX_DIPS_PER_VIP
#define SL_API_MAX_TUNNEL_SOURCES SL_MAX_TUNNEL_SOURCES
#define SL_API_DEFAULT_WEIGHT 100

struct sl_api_config {
	/* HTTPS listener "ADDRESS:PORT" ("[2001:db8::1]:8443" for IPv6); port 0
	 * picks a free port (see sl_api_tcp_port). NULL: no TCP listener. */
	const char *listen;
	const char *cert_file;      /* PEM certificate chain; required with listen */
	const char *key_file;       /* PEM private key; required with listen */
	/* Optional: TLS clients must present a certificate signed by this CA. */
	const char *client_ca_file;
	/* Optional: requests on TCP must carry "Authorization: Bearer <token>"
	 * with the file's first line (owner-only file). With listen, at least one
	 * of token_file and client_ca_file is required; with both, both apply. */
	const char *token_file;
	const char *socket_path;    /* Unix socket; NULL: none */
	unsigned socket_mode;       /* applied as given: 0 leaves the socket to root alone */
	size_t max_body;            /* bytes; 0: SL_API_DEFAULT_MAX_BODY; larger gets 413 */
	/* A write whose done callback has not come after this long is answered
	 * 504 (the command may still commit later); 0: the default. */
	unsigned write_timeout_ms;
	/* Connections open at once, in all and from one IP address (the Unix
	 * socket counts towards the first only); more are closed as soon as
	 * they are accepted, and counted. 0: the defaults. */
	unsigned max_connections;
	unsigned max_connections_per_source;
};

/*
 * Completion of one submitted write, on the loop thread.
 *   status: the HTTP status to answer with. 2xx: committed, reply is the
 *           body (NULL: {}; 204: no body). 4xx: rejected by the state
 *           machine, nothing changed (e.g. 404 unknown VIP, 409 duplicate);
 *           reply is {"error": "message"}. 5xx: failed (e.g. 503 lost
 *           leadership), reply {"error": ...}.
 *   Not the leader: status 307 and reply {"leader": "https://ADDR:PORT"}
 *           (the leader's API base URL); the API answers 307 with Location
 *           = that URL + the request's path. Leader unknown: status 503 and
 *           {"error": "...", "leader": null}.
 * The API takes ownership of reply (a new reference; may be NULL).
 * Must be called exactly once per accepted submit, possibly before submit
 * returns; req is opaque and stays valid until then, even if the client
 * has gone away or the server was stopped.
 */
typedef void (*sl_api_done_cb)(void *req, int status, json_t *reply);

struct sl_api_backend {
	void *ctx;
	/*
	 * Propose a write. cmd is a command object ({"op": ..., ...}, shapes in
	 * docs/api.md), already syntactically valid; the backend takes
	 * ownership of it. Returns 0 when it will call done, or -1 when it
	 * cannot accept the command at all (the API answers 503 and done must
	 * not be called).
	 */
	int (*submit)(void *ctx, json_t *cmd, sl_api_done_cb done, void *req);
	/*
	 * Read the replica's current state (may lag the leader). what/key:
	 *   "vips", NULL        -> {"vips": [VIP, ...]}
	 *   "vip", KEY          -> VIP
	 *   "dips", KEY         -> {"dips": [DIP, ...]}
	 *   "cluster", NULL     -> cluster status
	 *   "tunnel_sources", NULL -> {"prefixes": ["192.0.2.10/32", ...],
	 *                              "replicated": true}, or when the cluster
	 *                              has not set them {"prefixes": null,
	 *                              "replicated": false, "file_prefixes":
	 *                              [this instance's file's]}
	 * KEY is the canonical VIP key "PROTO/ADDRESS/PORT" (address as
	 * inet_ntop prints it), e.g. "tcp/203.0.113.10/80". Returns a new
	 * reference, or NULL when the VIP does not exist (404; for "vips",
	 * "cluster" and "tunnel_sources" NULL answers 503).
	 */
	json_t *(*get)(void *ctx, const char *what, const char *key);
	/*
	 * Optional: how fresh this replica's reads are, as fields merged into
	 * every local read's answer, 404s included (e.g. {"consistency":
	 * "local", "applied_index": 42, "generation": 7}). A new reference or
	 * NULL.
	 */
	json_t *(*freshness)(void *ctx);
};

struct sl_api;

/*
 * Listen on the configured transports and serve on loop. The backend is
 * copied; cfg's strings are only used during the call. Ignores SIGPIPE
 * process-wide (a client closing its socket must not kill the appliance).
 * Returns NULL with a message in err on failure (nothing left listening).
 */
struct sl_api *sl_api_start(uv_loop_t *loop, const struct sl_api_config *cfg,
			    const struct sl_api_backend *b, char *err, size_t errlen);

/* The bound TCP port (useful with port 0), or 0 without a TCP listener. */
int sl_api_tcp_port(const struct sl_api *api);

/*
 * Stop accepting, remove the socket file, close idle connections, and
 * release everything once the others have had their answers (with
 * Connection: close); the loop must keep running until then. Writes still
 * pending complete normally through done.
 */
void sl_api_stop(struct sl_api *api);

/* Connection counters (open, accepted, refused over a limit, closed by the
 * peer, timeouts, TLS errors, malformed requests, 401s, ...), a new object. */
json_t *sl_api_stats(const struct sl_api *api);

#endif
