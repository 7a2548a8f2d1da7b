/*
 * The HTTP/JSON API: REST requests in, manager commands out.
 *
 * The server runs on the control thread's libuv loop. It authenticates,
 * parses and validates every request (syntax: JSON, types, addresses,
 * ranges) and turns it into a call for the manager: the action its route
 * declares (what to do, and the status success answers with), the VIP its
 * path names, parsed, and for writes the arguments with canonical values.
 * The manager decides the semantics (unknown or duplicate VIP, leadership)
 * through a small backend interface, so this layer knows nothing of Raft.
 * See docs/api.md for the endpoints, the arguments and the JSON shapes the
 * backend's reads must return.
 *
 * Transports: HTTPS on TCP (OpenSSL; bearer token and/or client
 * certificates) and plain HTTP on a Unix socket (trusted: the socket file is
 * root's with mode 0600, so whoever can connect is already root).
 */
#ifndef SLUICE_API_API_H
#define SLUICE_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/*
 * What a route asks the manager to do. This is the one list of actions
 * (X-macro: the enum, each action's kind and its name come from it). The
 * name of a command is the "op" of the replicated log entry the manager
 * writes for it: that is the log's format, which lib/manager's state
 * machine reads and older members read too, so a command's name never
 * changes. Other names only say in messages and tests what was asked. The
 * list lives here, not in lib/manager, because the API links no manager
 * library; the manager's own command, member_api, is in it so that every
 * op the manager writes is named in one place.
 */
#define SL_MGR_ACTIONS(X)                                                    \
	X(SL_MGR_READ_VIPS, SL_MGR_KIND_READ, "vips")                         \
	X(SL_MGR_READ_VIP, SL_MGR_KIND_READ, "vip")                           \
	X(SL_MGR_READ_DIPS, SL_MGR_KIND_READ, "dips")                         \
	X(SL_MGR_READ_CLUSTER, SL_MGR_KIND_READ, "cluster")                   \
	X(SL_MGR_READ_TUNNEL_SOURCES, SL_MGR_KIND_READ, "tunnel_sources")     \
	X(SL_MGR_READ_POPS, SL_MGR_KIND_READ, "pops")                         \
	X(SL_MGR_VIP_CREATE, SL_MGR_KIND_COMMAND, "vip_create")               \
	X(SL_MGR_VIP_UPDATE, SL_MGR_KIND_COMMAND, "vip_update")               \
	X(SL_MGR_VIP_DELETE, SL_MGR_KIND_COMMAND, "vip_delete")               \
	X(SL_MGR_DIP_ADD, SL_MGR_KIND_COMMAND, "dip_add")                     \
	X(SL_MGR_DIP_REMOVE, SL_MGR_KIND_COMMAND, "dip_remove")               \
	X(SL_MGR_DIP_SET_WEIGHT, SL_MGR_KIND_COMMAND, "dip_set_weight")       \
	X(SL_MGR_DIP_DRAIN, SL_MGR_KIND_COMMAND, "dip_drain")                 \
	X(SL_MGR_DIP_ENABLE, SL_MGR_KIND_COMMAND, "dip_enable")               \
	X(SL_MGR_DIP_DISABLE, SL_MGR_KIND_COMMAND, "dip_disable")             \
	X(SL_MGR_SET_TUNNEL_SOURCES, SL_MGR_KIND_COMMAND, "set_tunnel_sources") \
	X(SL_MGR_POP_SET, SL_MGR_KIND_COMMAND, "pop_set")                     \
	X(SL_MGR_POP_DELETE, SL_MGR_KIND_COMMAND, "pop_delete")               \
	X(SL_MGR_POP_DRAIN, SL_MGR_KIND_COMMAND, "pop_drain")                 \
	X(SL_MGR_POP_UNDRAIN, SL_MGR_KIND_COMMAND, "pop_undrain")             \
	X(SL_MGR_MEMBER_API, SL_MGR_KIND_COMMAND, "member_api")               \
	X(SL_MGR_MEMBER_ADD, SL_MGR_KIND_MEMBERSHIP, "member_add")            \
	X(SL_MGR_MEMBER_REMOVE, SL_MGR_KIND_MEMBERSHIP, "member_remove")      \
	X(SL_MGR_TRANSFER, SL_MGR_KIND_MEMBERSHIP, "transfer")

#define SL_MGR_ACTION_ENUM_(id, kind, name) id,
enum sl_mgr_action { SL_MGR_ACTIONS(SL_MGR_ACTION_ENUM_) SL_MGR_NB_ACTIONS };
#undef SL_MGR_ACTION_ENUM_

enum sl_mgr_kind {
	SL_MGR_KIND_READ,       /* the replica's state: get, or submit when linearizable */
	SL_MGR_KIND_COMMAND,    /* a replicated log entry {"op": name, ...args} */
	SL_MGR_KIND_MEMBERSHIP, /* a Raft membership change or leadership transfer */
};

/* The name (see SL_MGR_ACTIONS) and the kind of an action of the list. */
const char *sl_mgr_action_name(enum sl_mgr_action a);
enum sl_mgr_kind sl_mgr_action_kind(enum sl_mgr_action a);

/* "PROTO/ADDRESS/PORT": 4 + INET6_ADDRSTRLEN - 1 + 6 and the NUL fit. */
#define SL_API_VIP_TEXT_LEN 64

/* A VIP as the route parsed it from the path: the manager finds it by
 * value instead of parsing text again. */
struct sl_api_vip_key {
	uint8_t family;   /* 4 or 6 */
	uint8_t proto;    /* IANA protocol number: 6 (TCP) or 17 (UDP) */
	uint16_t port;    /* host order */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
	char text[SL_API_VIP_TEXT_LEN]; /* canonical "tcp/203.0.113.10/80", for messages */
};

/* One request as the manager sees it, from the route that took it. */
struct sl_api_call {
	enum sl_mgr_action action;
	int ok_status;   /* the answer when it succeeds: 201 for creates, else 200 */
	bool has_vip;    /* the path names a VIP ... */
	struct sl_api_vip_key vip; /* ... this one */
};

struct sl_api_backend {
	void *ctx;
	/*
	 * Carry out a write, or a read that must be linearizable. call is
	 * only borrowed for the call. args holds the action's arguments, an
	 * object already syntactically valid with canonical values (shapes in
	 * docs/api.md; a command's log entry is args with "op" set to the
	 * action's name), or NULL for reads; the backend takes ownership.
	 * Returns 0 when it will call done (with call->ok_status on success),
	 * or -1 when it cannot accept the call at all (the API answers 503 and
	 * done must not be called).
	 */
	int (*submit)(void *ctx, const struct sl_api_call *call, json_t *args, sl_api_done_cb done,
		      void *req);
	/*
	 * Read the replica's current state (may lag the leader):
	 *   SL_MGR_READ_VIPS            -> {"vips": [VIP, ...]}
	 *   SL_MGR_READ_VIP             -> VIP (call->vip)
	 *   SL_MGR_READ_DIPS            -> {"dips": [DIP, ...]} (call->vip's)
	 *   SL_MGR_READ_CLUSTER         -> cluster status
	 *   SL_MGR_READ_TUNNEL_SOURCES  -> {"prefixes": ["192.0.2.10/32", ...],
	 *                                  "replicated": true}, or when the
	 *                                  cluster has not set them {"prefixes":
	 *                                  null, "replicated": false,
	 *                                  "file_prefixes": [this instance's
	 *                                  file's]}
	 *   SL_MGR_READ_POPS            -> {"pops": [{"name", "unicast": [...],
	 *                                  "anycast": [...], "state"}, ...]}
	 * Returns a new reference, or NULL when the VIP does not exist (404;
	 * for the reads without a VIP NULL answers 503).
	 */
	json_t *(*get)(void *ctx, const struct sl_api_call *call);
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
