/*
 * The API server: h2o 2.2 (libuv back-end, so it shares the control
 * thread's loop with Raft), HTTPS with OpenSSL on TCP and plain HTTP on a
 * Unix socket. This file owns transport, authentication, body limits and
 * the life of a pending write; what a request means is routes.c's job.
 *
 * HTTP/1.1 only: no ALPN is offered, so TLS clients fall back from h2.
 * The API is low-rate and HTTP/2 in h2o 2.2 would only add code paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <h2o.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/route.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 4096
#define DIGEST_LEN 32
#define LISTEN_BACKLOG 64
/* h2o reads request bodies up to this (or max_body when larger) before the
 * handler applies max_body: a body a little over the limit is then read
 * and answered with a clean 413 on a connection that stays usable, where
 * h2o's own refusal closes the socket on unread data and the peer's TCP
 * reset can destroy the answer before the client reads it. */
#define HARD_BODY_CAP (1024 * 1024)

struct sl_api {
	uv_loop_t *loop;
	struct sl_api_backend backend;
	size_t max_body;
	unsigned write_timeout_ms;
	bool has_token;
	/* The token is kept as its SHA-256 only: comparing two digests of equal
	 * length with CRYPTO_memcmp leaks neither the token's bytes nor its
	 * length through timing. */
	unsigned char token_digest[DIGEST_LEN];
	SSL_CTX *ssl;
	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_tls, accept_unix;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
	bool has_conf, has_ctx, has_tcp, has_pipe;
	char *socket_path; /* set once the socket file is ours to remove */
	unsigned open;     /* listeners and connections not yet closed */
	bool stopping;
};

struct handler {
	h2o_handler_t super;
	struct sl_api *api;
};

struct error_filter {
	h2o_filter_t super;
	struct sl_api *api;
};

/* One accepted connection; the handle comes first so the close callback's
 * handle pointer is the struct's. */
struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} u;
	struct sl_api *api;
};

static int failf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void digest(const void *data, size_t len, unsigned char out[DIGEST_LEN])
{
	unsigned int n = DIGEST_LEN;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* ------------------------------------------------------------ replies */

static void send_text(h2o_req_t *req, int status, const char *text)
{
	static h2o_generator_t generator = {NULL, NULL};
	h2o_iovec_t buf = h2o_iovec_init(NULL, 0);
	req->res.status = status;
	req->res.reason = sl_api_reason(status);
	if (text != NULL) {
		size_t n = strlen(text);
		buf.base = h2o_mem_alloc_pool(&req->pool, n + 1);
		memcpy(buf.base, text, n);
		buf.base[n] = '\n'; /* for people reading curl output */
		buf.len = n + 1;
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
			       H2O_STRLIT("application/json"));
	}
	req->res.content_length = buf.len;
	h2o_start_response(req, &generator);
	/* A HEAD answer announces the length but carries no body. */
	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
		buf.len = 0;
	h2o_send(req, &buf, buf.len ? 1 : 0, H2O_SEND_STATE_FINAL);
}

/* Answer with status and body (consumed; no body for 204). */
static void reply(h2o_req_t *req, int status, json_t *body)
{
	char *text = status != 204 && body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (status != 204 && text == NULL) {
		send_text(req, 500, "{\"error\":\"cannot encode the reply\"}");
		return;
	}
	send_text(req, status, text);
	free(text);
}

static void add_header(h2o_req_t *req, const h2o_token_t *name, const char *value, size_t len)
{
	h2o_add_header(&req->pool, &req->res.headers, name, NULL, value, len);
}

/*
 * Errors h2o produces itself (413 for a body over the limit, 408...) come
 * as text/plain; this filter gives them the API's {"error": ...} shape so
 * every 4xx a client sees is JSON.
 */
struct json_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
};

static void json_ostream_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs,
			      size_t bufcnt, h2o_send_state_t state)
{
	struct json_ostream *o = (struct json_ostream *)self;
	(void)bufs;
	(void)bufcnt;
	if (h2o_send_state_is_in_progress(state))
		h2o_ostream_send_next(self, req, NULL, 0, state);
	else
		h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void too_large(const struct sl_api *api, char *msg, size_t len)
{
	snprintf(msg, len, "the request body is larger than %zu bytes", api->max_body);
}

static bool is_json(const h2o_headers_t *headers)
{
	ssize_t i = h2o_find_header(headers, H2O_TOKEN_CONTENT_TYPE, -1);
	return i >= 0 && h2o_memis(headers->entries[i].value.base, headers->entries[i].value.len,
				   H2O_STRLIT("application/json"));
}

/* {"error": ...} for an error h2o produced, in the request's pool. */
static h2o_iovec_t error_body(const struct sl_api *api, h2o_req_t *req)
{
	char msg[128], *text;
	json_t *body;
	h2o_iovec_t v;
	if (req->res.status == 413)
		too_large(api, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "%s", req->res.reason);
	body = sl_api_error("%s", msg);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	v = h2o_strdup(&req->pool, text ? text : "{}", SIZE_MAX);
	free(text);
	return v;
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	struct sl_api *api = ((struct error_filter *)self)->api;
	if (req->res.status >= 400 && !is_json(&req->res.headers)) {
		struct json_ostream *o = (struct json_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
		ssize_t i;
		o->body = error_body(api, req);
		o->super.do_send = json_ostream_send;
		req->res.content_length = o->body.len;
		while ((i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) >= 0)
			h2o_delete_header(&req->res.headers, i);
		add_header(req, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json"));
		slot = &o->super.next;
	}
	h2o_setup_next_ostream(req, slot);
}

static void add_error_filter(struct sl_api *api, h2o_pathconf_t *pathconf)
{
	struct error_filter *f = (struct error_filter *)h2o_create_filter(pathconf, sizeof(*f));
	f->super.on_setup_ostream = on_setup_ostream;
	f->api = api;
}

/* ------------------------------------------------------ pending writes */

/*
 * A write waits for the manager's done callback, which may come after the
 * client has gone (h2o then frees the request) or never within the write
 * timeout (the client gets 504). The hook, allocated in the request's
 * pool, tells the pending write when the request is freed; the pending
 * write is freed once done has come and its timer has closed.
 */
struct pending;

struct req_hook {
	struct pending *p;
};

struct pending {
	h2o_req_t *req;        /* NULL once answered or gone */
	struct req_hook *hook; /* NULL with req */
	uv_timer_t timer;
	unsigned timeout_ms;
};

static void on_req_disposed(void *obj)
{
	struct req_hook *h = obj;
	if (h->p != NULL) {
		h->p->req = NULL;
		h->p->hook = NULL;
	}
}

/* Leader URL from the backend's 307, or NULL when unusable. */
static const char *leader_url(const json_t *r)
{
	const char *url = json_string_value(json_object_get(r, "leader"));
	return url != NULL && strncmp(url, "https://", 8) == 0 && strlen(url) > 8 ? url : NULL;
}

static void redirect(h2o_req_t *req, json_t *r)
{
	const char *url = leader_url(r);
	if (url == NULL) {
		reply(req, 503, json_pack("{s:s,s:n}", "error",
					  "this instance is not the leader and the leader is unknown",
					  "leader"));
	} else {
		size_t n = strlen(url) - (url[strlen(url) - 1] == '/');
		h2o_iovec_t loc = h2o_concat(&req->pool, h2o_iovec_init(url, n), req->path);
		add_header(req, H2O_TOKEN_LOCATION, loc.base, loc.len);
		reply(req, 307, json_pack("{s:s,s:s%}", "error", "this instance is not the leader",
					  "leader", url, n));
	}
	json_decref(r);
}

/* A 503 that says when to try again: Retry-After in whole seconds (the
 * header's unit, rounded up), the body's retry_after_ms for clients that
 * can wait less. */
static void add_retry_after(h2o_req_t *req, const json_t *ms)
{
	if (!json_is_integer(ms) || json_integer_value(ms) < 0)
		return;
	json_int_t s = (json_integer_value(ms) + 999) / 1000;
	char *v = h2o_mem_alloc_pool(&req->pool, 24);
	int n = snprintf(v, 24, "%lld", (long long)(s < 1 ? 1 : s));
	add_header(req, H2O_TOKEN_RETRY_AFTER, v, (size_t)n);
}

/* The backend's result, made into a well-formed answer. */
static void answer_result(h2o_req_t *req, int status, json_t *r)
{
	if (status == 307) {
		redirect(req, r);
		return;
	}
	if (status < 200 || status > 599 || (status >= 300 && status < 400)) {
		json_decref(r);
		reply(req, 500, sl_api_error("the manager answered with status %d", status));
		return;
	}
	if (status >= 300 && !json_is_string(json_object_get(r, "error"))) {
		if (!json_is_object(r)) {
			json_decref(r);
			r = json_object();
		}
		json_object_set_new(r, "error", json_string(sl_api_reason(status)));
	}
	if (status == 503)
		add_retry_after(req, json_object_get(r, "retry_after_ms"));
	reply(req, status, r != NULL ? r : json_object());
}

static void answer(struct pending *p, int status, json_t *r)
{
	h2o_req_t *req = p->req;
	if (req == NULL) {
		json_decref(r);
		return;
	}
	/* Detach first: sending may free the request and run the hook. */
	p->hook->p = NULL;
	p->req = NULL;
	p->hook = NULL;
	answer_result(req, status, r);
}

static void free_pending(uv_handle_t *h)
{
	free(h->data);
}

static void on_done(void *req, int status, json_t *r)
{
	struct pending *p = req;
	answer(p, status, r);
	uv_close((uv_handle_t *)&p->timer, free_pending);
}

static void on_write_timeout(uv_timer_t *t)
{
	struct pending *p = t->data;
	answer(p, 504,
	       sl_api_error("the cluster did not commit the change within %u ms; it may still "
			    "take effect",
			    p->timeout_ms));
}

static void submit(struct sl_api *api, h2o_req_t *req, json_t *cmd)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		json_decref(cmd);
		reply(req, 503, sl_api_error("out of memory"));
		return;
	}
	p->req = req;
	p->timeout_ms = api->write_timeout_ms;
	p->hook = h2o_mem_alloc_shared(&req->pool, sizeof(*p->hook), on_req_disposed);
	p->hook->p = p;
	uv_timer_init(api->loop, &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, on_write_timeout, api->write_timeout_ms, 0);
	/* done may run inside submit: p is complete before the call. */
	if (api->backend.submit(api->backend.ctx, cmd, on_done, p) != 0)
		on_done(p, 503, sl_api_error("the manager cannot accept writes now"));
}

/* ------------------------------------------------------------ requests */

/* NULL when the request may proceed, else why not (for the 401). */
static const char *unauthorized(const struct sl_api *api, h2o_req_t *req)
{
	h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
	unsigned char d[DIGEST_LEN];
	h2o_iovec_t v;
	ssize_t i;

	/* Only the Unix listener accepts connections without TLS, and its file
	 * mode is its access control. */
	if (sock != NULL && sock->ssl == NULL)
		return NULL;
	/* Without a token, TLS required a client certificate in the handshake. */
	if (!api->has_token)
		return NULL;
	if ((i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) < 0)
		return "missing credentials: send \"Authorization: Bearer TOKEN\"";
	v = req->headers.entries[i].value;
	if (v.len < 7 || strncasecmp(v.base, "Bearer ", 7) != 0)
		return "the Authorization header must be \"Bearer TOKEN\"";
	digest(v.base + 7, v.len - 7, d);
	if (CRYPTO_memcmp(d, api->token_digest, DIGEST_LEN) != 0)
		return "invalid bearer token";
	return NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct sl_api *api = ((struct handler *)self)->api;
	struct sl_api_outcome o;
	const char *why;

	if (api->stopping) {
		req->http1_is_persistent = 0;
		reply(req, 503, sl_api_error("the API server is shutting down"));
		return 0;
	}
	if ((why = unauthorized(api, req)) != NULL) {
		add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, H2O_STRLIT("Bearer realm=\"sluice\""));
		reply(req, 401, sl_api_error("%s", why));
		return 0;
	}
	if (req->entity.len > api->max_body) {
		char msg[128];
		too_large(api, msg, sizeof(msg));
		reply(req, 413, sl_api_error("%s", msg));
		return 0;
	}
	bool has_query = req->query_at != SIZE_MAX && req->query_at < req->path.len;
	const char *query = has_query ? req->path.base + req->query_at + 1 : "";
	size_t query_len = has_query ? req->path.len - req->query_at - 1 : 0;
	sl_api_route(&api->backend, req->method.base, req->method.len, req->path_normalized.base,
		     req->path_normalized.len, query, query_len, req->entity.base, req->entity.len, &o);
	if (o.action == SL_API_SUBMIT) {
		submit(api, req, o.json);
		return 0;
	}
	if (o.allow[0] != '\0')
		add_header(req, H2O_TOKEN_ALLOW, o.allow, strlen(o.allow));
	reply(req, o.status, o.json);
	return 0;
}

/* ------------------------------------------------- connections, shutdown */

static void release(struct sl_api *api)
{
	if (api->has_ctx)
		h2o_context_dispose(&api->ctx);
	if (api->has_conf)
		h2o_config_dispose(&api->conf);
	SSL_CTX_free(api->ssl);
	free(api->socket_path);
	OPENSSL_cleanse(api->token_digest, sizeof(api->token_digest));
	free(api);
}

static void on_closed(struct sl_api *api)
{
	if (--api->open == 0 && api->stopping)
		release(api);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct conn *c = (struct conn *)h;
	struct sl_api *api = c->api;
	free(c);
	on_closed(api);
}

static void on_listener_closed(uv_handle_t *h)
{
	on_closed(h->data);
}

static void accept_conn(uv_stream_t *listener, bool tls)
{
	struct sl_api *api = listener->data;
	struct conn *c;
	int r;

	if ((c = malloc(sizeof(*c))) == NULL)
		return;
	c->api = api;
	r = tls ? uv_tcp_init(api->loop, &c->u.tcp) : uv_pipe_init(api->loop, &c->u.pipe, 0);
	if (r != 0) {
		free(c);
		return;
	}
	api->open++;
	if (uv_accept(listener, &c->u.stream) != 0) {
		uv_close(&c->u.handle, on_conn_closed);
		return;
	}
	h2o_accept(tls ? &api->accept_tls : &api->accept_unix,
		   h2o_uv_socket_create(&c->u.stream, on_conn_closed));
}

static void on_tcp_accept(uv_stream_t *listener, int status)
{
	if (status == 0)
		accept_conn(listener, true);
}

static void on_unix_accept(uv_stream_t *listener, int status)
{
	if (status == 0)
		accept_conn(listener, false);
}

void sl_api_stop(struct sl_api *api)
{
	if (api == NULL || api->stopping)
		return;
	api->stopping = true;
	api->open++; /* hold: release only after this function */
	if (api->has_tcp)
		uv_close((uv_handle_t *)&api->tcp, on_listener_closed);
	if (api->has_pipe)
		uv_close((uv_handle_t *)&api->pipe, on_listener_closed);
	if (api->socket_path != NULL)
		unlink(api->socket_path);
	/* No h2o_context_request_shutdown: it exists for HTTP/2's GOAWAY and
	 * arms a one-second timer that h2o_context_dispose would find linked.
	 * Open HTTP/1.1 connections get 503 and are not kept alive. */
	on_closed(api);
}

int sl_api_tcp_port(const struct sl_api *api)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (!api->has_tcp || uv_tcp_getsockname(&api->tcp, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* ---------------------------------------------------------------- setup */

static int load_token(struct sl_api *api, const char *path, char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return failf(err, errlen, "cannot open token file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		return failf(err, errlen,
			     "token file %s is accessible by group or others (chmod 600 it)", path);
	}
	n = read(fd, buf, TOKEN_MAX);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	len = strcspn(buf, "\r\n");
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len < TOKEN_MIN)
		return failf(err, errlen, "token file %s: the token (first line) must have at least %d characters",
			     path, TOKEN_MIN);
	digest(buf, len, api->token_digest);
	OPENSSL_cleanse(buf, sizeof(buf));
	api->has_token = true;
	return 0;
}

static int ssl_fail(char *err, size_t errlen, const char *what, const char *file)
{
	char e[256];
	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	ERR_clear_error();
	return failf(err, errlen, "%s %s: %s", what, file, e);
}

static int setup_tls(struct sl_api *api, const struct sl_api_config *cfg, char *err,
		     size_t errlen)
{
	SSL_CTX *s = api->ssl = SSL_CTX_new(TLS_server_method());
	if (s == NULL)
		return ssl_fail(err, errlen, "cannot create the TLS context", "");
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(s, cfg->cert_file) != 1)
		return ssl_fail(err, errlen, "cannot load the certificate", cfg->cert_file);
	if (SSL_CTX_use_PrivateKey_file(s, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s) != 1)
		return ssl_fail(err, errlen, "cannot load the private key", cfg->key_file);
	if (cfg->client_ca_file != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
		if (names == NULL || SSL_CTX_load_verify_locations(s, cfg->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return ssl_fail(err, errlen, "cannot load the client CA", cfg->client_ca_file);
		}
		SSL_CTX_set_client_CA_list(s, names);
		SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return 0;
}

static void setup_h2o(struct sl_api *api)
{
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	struct handler *h;

	h2o_config_init(&api->conf);
	api->has_conf = true;
	api->conf.server_name = h2o_iovec_init(H2O_STRLIT("sluice"));
	api->conf.max_request_entity_size = api->max_body > HARD_BODY_CAP ? api->max_body
									  : HARD_BODY_CAP;
	host = h2o_config_register_host(&api->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	h = (struct handler *)h2o_create_handler(path, sizeof(*h));
	h->super.on_req = on_req;
	h->api = api;
	add_error_filter(api, path);
	add_error_filter(api, &host->fallback_path);
	h2o_context_init(&api->ctx, api->loop, &api->conf);
	api->has_ctx = true;
	api->accept_unix.ctx = &api->ctx;
	api->accept_unix.hosts = api->conf.hosts;
	api->accept_tls = api->accept_unix;
	api->accept_tls.ssl_ctx = api->ssl;
}

/* "192.0.2.1:8443" or "[2001:db8::1]:8443" (port 0: any free port). */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = strrchr(s, ':');
	size_t hlen;
	long port;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	port = strtol(colon + 1, &end, 10);
	hlen = (size_t)(colon - s);
	if (*end != '\0' || port < 0 || port > 65535 || hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss);
	}
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}

static int listen_tcp(struct sl_api *api, const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int r;

	if (parse_listen(listen, &ss) != 0)
		return failf(err, errlen, "listen address \"%s\" is not ADDRESS:PORT or [IPv6]:PORT",
			     listen);
	uv_tcp_init(api->loop, &api->tcp);
	api->tcp.data = api;
	api->has_tcp = true;
	api->open++;
	if ((r = uv_tcp_bind(&api->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&api->tcp, LISTEN_BACKLOG, on_tcp_accept)) != 0)
		return failf(err, errlen, "cannot listen on %s: %s", listen, uv_strerror(r));
	return 0;
}

/*
 * Bind under a temporary name, set the mode, then rename over the real
 * path: the socket is never reachable with the umask's looser mode, and a
 * stale socket from an earlier run is replaced atomically.
 */
static int listen_unix(struct sl_api *api, const char *path, unsigned mode, char *err,
		       size_t errlen)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return failf(err, errlen, "socket path %s is too long", path);
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return failf(err, errlen, "%s exists and is not a socket", path);
	unlink(tmp);
	uv_pipe_init(api->loop, &api->pipe, 0);
	api->pipe.data = api;
	api->has_pipe = true;
	api->open++;
	if ((r = uv_pipe_bind(&api->pipe, tmp)) != 0)
		return failf(err, errlen, "cannot bind %s: %s", tmp, uv_strerror(r));
	if (chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
		r = errno;
		unlink(tmp);
		return failf(err, errlen, "cannot install socket %s: %s", path, strerror(r));
	}
	if ((api->socket_path = strdup(path)) == NULL)
		return failf(err, errlen, "out of memory");
	if ((r = uv_listen((uv_stream_t *)&api->pipe, LISTEN_BACKLOG, on_unix_accept)) != 0)
		return failf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(r));
	return 0;
}

static int check_config(const struct sl_api_config *cfg, const struct sl_api_backend *b,
			char *err, size_t errlen)
{
	if (b == NULL || b->submit == NULL || b->get == NULL)
		return failf(err, errlen, "the API needs a backend with submit and get");
	if (cfg->listen == NULL && cfg->socket_path == NULL)
		return failf(err, errlen, "the API needs a TCP listen address or a Unix socket path");
	if (cfg->listen != NULL && (cfg->cert_file == NULL || cfg->key_file == NULL))
		return failf(err, errlen, "the TCP listener needs a certificate and a private key");
	if (cfg->listen != NULL && cfg->token_file == NULL && cfg->client_ca_file == NULL)
		return failf(err, errlen,
			     "the TCP listener needs a token file, a client CA, or both");
	return 0;
}

/* A client closing its socket mid-reply must not kill the appliance. */
static void ignore_sigpipe(void)
{
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

struct sl_api *sl_api_start(uv_loop_t *loop, const struct sl_api_config *cfg,
			    const struct sl_api_backend *b, char *err, size_t errlen)
{
	struct sl_api *api;

	if (check_config(cfg, b, err, errlen) != 0)
		return NULL;
	if ((api = calloc(1, sizeof(*api))) == NULL) {
		failf(err, errlen, "out of memory");
		return NULL;
	}
	api->loop = loop;
	api->backend = *b;
	api->max_body = cfg->max_body ? cfg->max_body : SL_API_DEFAULT_MAX_BODY;
	api->write_timeout_ms = cfg->write_timeout_ms ? cfg->write_timeout_ms
						       : SL_API_DEFAULT_WRITE_TIMEOUT_MS;
	if ((cfg->token_file != NULL && load_token(api, cfg->token_file, err, errlen) != 0) ||
	    (cfg->listen != NULL && setup_tls(api, cfg, err, errlen) != 0)) {
		release(api);
		return NULL;
	}
	setup_h2o(api);
	if ((cfg->listen != NULL && listen_tcp(api, cfg->listen, err, errlen) != 0) ||
	    (cfg->socket_path != NULL &&
	     listen_unix(api, cfg->socket_path, cfg->socket_mode, err, errlen) != 0)) {
		/* Handles are open: they close, and api is freed, as the loop runs. */
		sl_api_stop(api);
		return NULL;
	}
	ignore_sigpipe();
	return api;
}
