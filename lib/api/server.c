/*
 * The API server: HTTPS on TCP (OpenSSL) and plain HTTP on a Unix socket,
 * on the control thread's libuv loop, so it shares that loop with Raft.
 * This file owns listeners, connection limits, authentication and the
 * life of a pending write; http.c owns each connection (TLS, HTTP/1.1
 * framing, limits, timeouts, closing); what a request means is routes.c's.
 *
 * HTTP/1.1 only, on purpose: the API is low-rate, and HTTP/2 would add an
 * unauthenticated attack surface for nothing. (Until issue 8 this was h2o
 * 2.2, which leaked a connection a client reset, buffered unauthenticated
 * bodies, spoke HTTP/2 and answered ambiguous framing.)
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

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "api/api.h"
#include "api/http.h"
#include "api/route.h"

#define TOKEN_MIN 16
#define TOKEN_MAX 4096
#define DIGEST_LEN 32
#define LISTEN_BACKLOG 64
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_HEADERS 64
#define REQUEST_TIMEOUT_MS 10000
#define IDLE_TIMEOUT_MS 10000

/* Counters of this file, beside http.c's. */
#define API_SERVER_COUNTERS(X)                                                                     \
	X(refused_connections)            /* over max_connections */                               \
	X(refused_connections_per_source) /* over max_connections_per_source */                    \
	X(unauthorized)                   /* answered 401 */                                       \
	X(write_timeouts)                 /* answered 504 */

struct sl_api {
	uv_loop_t *loop;
	struct sl_api_backend backend;
	struct api_limits limits;
	unsigned write_timeout_ms;
	unsigned max_conns, max_conns_per_source;
	bool has_token;
	/* The token is kept as its SHA-256 only: comparing two digests of equal
	 * length with CRYPTO_memcmp leaks neither the token's bytes nor its
	 * length through timing. */
	unsigned char token_digest[DIGEST_LEN];
	SSL_CTX *ssl;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
	bool has_tcp, has_pipe;
	unsigned listeners;      /* listener handles not yet closed */
	char *socket_path;       /* set once the socket file is ours to remove */
	struct api_conn **conns; /* live connections */
	unsigned nconns;
	struct api_conn_hooks hooks;
	struct api_conn_stats stats;
#define X(name) unsigned long long name;
	API_SERVER_COUNTERS(X)
#undef X
	bool stopping;
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

/* ------------------------------------------------------------ pending writes */

/*
 * A write waits for the manager's done callback, which may come after the
 * client has gone (the connection's on_closed hook then detaches it) or
 * never within the write timeout (the client gets 504). It is freed once
 * done has come and its timer has closed.
 */
struct pending {
	struct sl_api *api;
	struct api_conn *c;    /* NULL once answered or gone */
	uv_timer_t timer;
	char *target;          /* the request's path and query, for a 307's Location */
};

/* Leader URL from the backend's 307, or NULL when unusable. */
static const char *leader_url(const json_t *r)
{
	const char *url = json_string_value(json_object_get(r, "leader"));
	return url != NULL && strncmp(url, "https://", 8) == 0 && strlen(url) > 8 ? url : NULL;
}

static void respond(struct sl_api *api, struct api_conn *c, int status, json_t *body,
		    const char *hname, const char *hvalue)
{
	struct api_response res = {.status = status, .body = body, .close = api->stopping};
	res.headers[0] = (struct api_header){hname, hvalue};
	conn_respond(c, &res);
}

static void redirect(struct sl_api *api, struct api_conn *c, const char *target, json_t *r)
{
	const char *url = leader_url(r);
	if (url == NULL) {
		respond(api, c, 503, json_pack("{s:s,s:n}", "error",
					       "this instance is not the leader and the leader is unknown",
					       "leader"), NULL, NULL);
	} else {
		size_t n = strlen(url) - (url[strlen(url) - 1] == '/');
		char *loc = malloc(n + strlen(target) + 1);
		if (loc != NULL)
			sprintf(loc, "%.*s%s", (int)n, url, target);
		respond(api, c, 307, json_pack("{s:s,s:s%}", "error", "this instance is not the leader",
					       "leader", url, n), loc ? "Location" : NULL, loc);
		free(loc);
	}
	json_decref(r);
}

/* A 503 that says when to try again: Retry-After in whole seconds (the
 * header's unit, rounded up), the body's retry_after_ms for clients that
 * can wait less. */
static const char *retry_after(const json_t *ms, char *buf, size_t len)
{
	if (!json_is_integer(ms) || json_integer_value(ms) < 0)
		return NULL;
	json_int_t s = (json_integer_value(ms) + 999) / 1000;
	snprintf(buf, len, "%lld", (long long)(s < 1 ? 1 : s));
	return buf;
}

/* The backend's result, made into a well-formed answer. */
static void answer_result(struct sl_api *api, struct api_conn *c, const char *target, int status,
			  json_t *r)
{
	char ra[24];
	if (status == 307) {
		redirect(api, c, target, r);
		return;
	}
	if (status < 200 || status > 599 || (status >= 300 && status < 400)) {
		json_decref(r);
		respond(api, c, 500, sl_api_error("the manager answered with status %d", status), NULL, NULL);
		return;
	}
	if (status >= 300 && !json_is_string(json_object_get(r, "error"))) {
		if (!json_is_object(r)) {
			json_decref(r);
			r = json_object();
		}
		json_object_set_new(r, "error", json_string(sl_api_reason(status)));
	}
	const char *retry = status == 503 ? retry_after(json_object_get(r, "retry_after_ms"), ra, sizeof(ra))
					  : NULL;
	respond(api, c, status, r != NULL ? r : json_object(), retry ? "Retry-After" : NULL, retry);
}

static void answer(struct pending *p, int status, json_t *r)
{
	struct api_conn *c = p->c;
	if (c == NULL) {
		json_decref(r);
		return;
	}
	p->c = NULL;
	conn_set_user(c, NULL);
	answer_result(p->api, c, p->target, status, r);
}

static void free_pending(uv_handle_t *h)
{
	struct pending *p = h->data;
	free(p->target);
	free(p);
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
	if (p->c != NULL)
		p->api->write_timeouts++;
	answer(p, 504,
	       sl_api_error("the cluster did not commit the change within %u ms; it may still "
			    "take effect",
			    p->api->write_timeout_ms));
}

static char *request_target(const struct api_request *r)
{
	char *t = malloc(r->path_len + r->query_len + 2);
	if (t != NULL)
		sprintf(t, "%.*s%s%.*s", (int)r->path_len, r->path, r->query_len ? "?" : "",
			(int)r->query_len, r->query);
	return t;
}

static void submit(struct sl_api *api, struct api_conn *c, const struct api_request *r,
		   const struct sl_api_call *call, json_t *args)
{
	struct pending *p = calloc(1, sizeof(*p));
	char *target = request_target(r);
	if (p == NULL || target == NULL) {
		free(p);
		free(target);
		json_decref(args);
		respond(api, c, 503, sl_api_error("out of memory"), NULL, NULL);
		return;
	}
	p->api = api;
	p->c = c;
	p->target = target;
	conn_set_user(c, p);
	uv_timer_init(api->loop, &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, on_write_timeout, api->write_timeout_ms, 0);
	/* done may run inside submit: p is complete before the call. */
	if (api->backend.submit(api->backend.ctx, call, args, on_done, p) != 0)
		on_done(p, 503, sl_api_error("the manager cannot accept writes now"));
}

/* ------------------------------------------------------------ requests */

/* NULL when the request may proceed, else why not (for the 401). */
static const char *unauthorized(const struct sl_api *api, const struct api_request *r)
{
	unsigned char d[DIGEST_LEN];
	/* Only the Unix listener accepts connections without TLS, and its file
	 * mode is its access control. Without a token, TLS required a client
	 * certificate in the handshake. */
	if (!r->tls || !api->has_token)
		return NULL;
	if (r->authorization == NULL)
		return "missing credentials: send \"Authorization: Bearer TOKEN\"";
	if (r->authorization_len < 7 || strncasecmp(r->authorization, "Bearer ", 7) != 0)
		return "the Authorization header must be \"Bearer TOKEN\"";
	digest(r->authorization + 7, r->authorization_len - 7, d);
	if (CRYPTO_memcmp(d, api->token_digest, DIGEST_LEN) != 0)
		return "invalid bearer token";
	return NULL;
}

/* Before the body is read: refuse what no body could make acceptable, so
 * that nobody without credentials makes the server buffer anything. */
static int on_headers(void *ctx, struct api_conn *c, const struct api_request *r, struct api_response *res)
{
	struct sl_api *api = ctx;
	const char *why;
	(void)c;
	if (api->stopping) {
		*res = (struct api_response){.status = 503, .close = true,
					     .body = sl_api_error("the API server is shutting down")};
		return -1;
	}
	if ((why = unauthorized(api, r)) != NULL) {
		api->unauthorized++;
		*res = (struct api_response){.status = 401, .close = true, .body = sl_api_error("%s", why)};
		res->headers[0] = (struct api_header){"WWW-Authenticate", "Bearer realm=\"sluice\""};
		return -1;
	}
	return 0;
}

static void on_request(void *ctx, struct api_conn *c, const struct api_request *r)
{
	struct sl_api *api = ctx;
	struct sl_api_outcome o;
	sl_api_route(&api->backend, r->method, strlen(r->method), r->path, r->path_len, r->query,
		     r->query_len, r->body, r->body_len, &o);
	if (o.next == SL_API_SUBMIT) {
		submit(api, c, r, &o.call, o.json);
		return;
	}
	respond(api, c, o.status, o.json, o.allow[0] != '\0' ? "Allow" : NULL, o.allow);
}

/* ------------------------------------------------- connections, shutdown */

static void release(struct sl_api *api)
{
	SSL_CTX_free(api->ssl);
	free(api->socket_path);
	free(api->conns);
	OPENSSL_cleanse(api->token_digest, sizeof(api->token_digest));
	free(api);
}

static void maybe_release(struct sl_api *api)
{
	if (api->stopping && api->listeners == 0 && api->stats.open == 0)
		release(api);
}

static void on_released(void *ctx)
{
	maybe_release(ctx);
}

static void on_conn_closed(void *ctx, struct api_conn *c)
{
	struct sl_api *api = ctx;
	struct pending *p = conn_user(c);
	if (p != NULL)
		p->c = NULL; /* the manager's answer will find nobody to tell */
	for (unsigned i = 0; i < api->nconns; i++)
		if (api->conns[i] == c) {
			api->conns[i] = api->conns[--api->nconns];
			break;
		}
}

static void on_listener_closed(uv_handle_t *h)
{
	struct sl_api *api = h->data;
	api->listeners--;
	maybe_release(api);
}

static bool same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

/* Over a limit: the connection is closed at once, before any TLS work. */
static bool over_limit(struct sl_api *api, const struct api_conn *c)
{
	unsigned same = 0;
	if (api->nconns >= api->max_conns) {
		api->refused_connections++;
		return true;
	}
	for (unsigned i = 0; i < api->nconns; i++)
		same += same_source(conn_peer(api->conns[i]), conn_peer(c));
	if (conn_peer(c)->ss_family != 0 && same >= api->max_conns_per_source) {
		api->refused_connections_per_source++;
		return true;
	}
	return false;
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct sl_api *api = listener->data;
	if (status != 0 || api->stopping)
		return;
	struct api_conn *c = conn_accept(listener, listener == (uv_stream_t *)&api->tcp ? api->ssl : NULL,
					 &api->limits, &api->hooks, &api->stats);
	if (c == NULL)
		return;
	if (over_limit(api, c)) {
		conn_close(c);
		return;
	}
	api->conns[api->nconns++] = c;
}

void sl_api_stop(struct sl_api *api)
{
	if (api == NULL || api->stopping)
		return;
	api->stopping = true;
	api->listeners++; /* hold: release only after this function */
	if (api->has_tcp)
		uv_close((uv_handle_t *)&api->tcp, on_listener_closed);
	if (api->has_pipe)
		uv_close((uv_handle_t *)&api->pipe, on_listener_closed);
	if (api->socket_path != NULL)
		unlink(api->socket_path);
	/* Idle connections go now; one with a request in progress gets its
	 * answer (with Connection: close) first. */
	for (unsigned i = api->nconns; i-- > 0;)
		if (conn_idle(api->conns[i]))
			conn_close(api->conns[i]);
	api->listeners--;
	maybe_release(api);
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

json_t *sl_api_stats(const struct sl_api *api)
{
	json_t *o = json_pack("{s:I}", "connections_open", (json_int_t)api->nconns);
#define X(name) json_object_set_new(o, #name, json_integer((json_int_t)api->stats.name));
	API_CONN_COUNTERS(X)
#undef X
#define X(name) json_object_set_new(o, #name, json_integer((json_int_t)api->name));
	API_SERVER_COUNTERS(X)
#undef X
	return o;
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
	api->listeners++;
	if ((r = uv_tcp_bind(&api->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&api->tcp, LISTEN_BACKLOG, on_accept)) != 0)
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
	api->listeners++;
	if ((r = uv_pipe_bind(&api->pipe, tmp)) != 0)
		return failf(err, errlen, "cannot bind %s: %s", tmp, uv_strerror(r));
	if (chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
		r = errno;
		unlink(tmp);
		return failf(err, errlen, "cannot install socket %s: %s", path, strerror(r));
	}
	if ((api->socket_path = strdup(path)) == NULL)
		return failf(err, errlen, "out of memory");
	if ((r = uv_listen((uv_stream_t *)&api->pipe, LISTEN_BACKLOG, on_accept)) != 0)
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
	api->limits = (struct api_limits){
		.max_header_bytes = MAX_HEADER_BYTES,
		.max_headers = MAX_HEADERS,
		.max_body = cfg->max_body ? cfg->max_body : SL_API_DEFAULT_MAX_BODY,
		.request_timeout_ms = REQUEST_TIMEOUT_MS,
		.idle_timeout_ms = IDLE_TIMEOUT_MS,
	};
	api->write_timeout_ms = cfg->write_timeout_ms ? cfg->write_timeout_ms
						       : SL_API_DEFAULT_WRITE_TIMEOUT_MS;
	api->max_conns = cfg->max_connections ? cfg->max_connections : SL_API_DEFAULT_MAX_CONNECTIONS;
	api->max_conns_per_source = cfg->max_connections_per_source ? cfg->max_connections_per_source
								    : SL_API_DEFAULT_MAX_CONNECTIONS_PER_SOURCE;
	api->hooks = (struct api_conn_hooks){.ctx = api, .on_headers = on_headers, .on_request = on_request,
					     .on_closed = on_conn_closed, .on_released = on_released};
	api->conns = calloc(api->max_conns, sizeof(*api->conns));
	if (api->conns == NULL ||
	    (cfg->token_file != NULL && load_token(api, cfg->token_file, err, errlen) != 0) ||
	    (cfg->listen != NULL && setup_tls(api, cfg, err, errlen) != 0)) {
		if (api->conns == NULL)
			failf(err, errlen, "out of memory");
		release(api);
		return NULL;
	}
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
