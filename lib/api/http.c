/* One HTTP/1.1 connection, TLS or plain: see http.h. */
#include "api/http.h"

#include <http_parser.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/route.h"

#define READ_CHUNK (16 * 1024)
#define MAX_AUTH 4200             /* "Bearer " and a token of up to 4096 */
#define NAME_KEEP 32              /* header names we look at are shorter */
#define LINGER_MS 1000            /* after a final answer, how long the peer has to read it */
#define LINGER_MAX_BYTES (256 * 1024)

enum phase {
	PH_HANDSHAKE,  /* TLS not yet established */
	PH_IDLE,       /* between requests */
	PH_READING,    /* part of a request read */
	PH_BUSY,       /* a whole request is with server.c; reading paused */
	PH_LINGER,     /* final answer sent, FIN sent: discarding until the peer closes */
	PH_CLOSED,
};

/* Bytes that grow up to a bound. */
struct buf {
	char *p;
	size_t len, cap;
};

struct api_conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} u;
	uv_timer_t timer;
	uv_shutdown_t shutdown;
	unsigned handles;          /* libuv handles not yet closed */
	const struct api_limits *limits;
	struct api_conn_hooks hooks;
	struct api_conn_stats *stats;
	struct sockaddr_storage peer;
	void *user;

	SSL *ssl;
	BIO *rbio, *wbio;          /* network side of the TLS engine */

	enum phase phase;
	unsigned writes;           /* uv_write requests in flight */
	bool close_after;          /* close once the answer is out */
	size_t lingered;

	http_parser parser;
	struct buf in;             /* plaintext received, not yet parsed */
	size_t in_off;
	struct buf url, body, auth;
	char name[NAME_KEEP + 1];  /* current header's name (cut) */
	size_t name_len;
	enum { H_NONE, H_FIELD, H_VALUE } hstate;
	enum { K_OTHER, K_AUTH, K_EXPECT } hkind;
	bool has_auth, expect_continue;
	size_t header_bytes;
	unsigned nheaders;
	/* set by a parser callback that stopped the parse: the answer to give */
	int fail_status;
	char fail_msg[160];
	struct api_response early;
	bool has_early;
	struct api_request req;
};


/* ------------------------------------------------------------ buffers */

static bool buf_add(struct buf *b, const char *data, size_t n, size_t max)
{
	if (n > max || b->len > max - n)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){0};
}

/* ------------------------------------------------------------ closing */

static void on_handle_closed(uv_handle_t *h)
{
	struct api_conn *c = h->data;
	if (--c->handles > 0)
		return;
	buf_free(&c->in);
	buf_free(&c->url);
	buf_free(&c->body);
	if (c->auth.p != NULL)
		OPENSSL_cleanse(c->auth.p, c->auth.cap);
	buf_free(&c->auth);
	json_decref(c->early.body);
	SSL_free(c->ssl); /* frees both BIOs */
	c->stats->open--;
	struct api_conn_hooks hooks = c->hooks;
	free(c);
	hooks.on_released(hooks.ctx);
}

void conn_close(struct api_conn *c)
{
	if (c->phase == PH_CLOSED)
		return;
	c->phase = PH_CLOSED;
	c->hooks.on_closed(c->hooks.ctx, c);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close(&c->u.handle, on_handle_closed);
}

static void arm(struct api_conn *c, unsigned ms);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

/* ------------------------------------------------------------ writing */

struct write_req {
	uv_write_t req;
	struct api_conn *c;
	char data[];
};

static void start_linger(struct api_conn *c);

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct api_conn *c = wr->c;
	free(wr);
	c->writes--;
	if (c->phase == PH_CLOSED)
		return;
	if (status < 0) {
		c->stats->write_errors++;
		conn_close(c);
	} else if (c->writes == 0 && c->close_after) {
		start_linger(c);
	}
}

static void send_raw(struct api_conn *c, const char *data, size_t n)
{
	struct write_req *wr = malloc(sizeof(*wr) + n);
	if (wr == NULL) {
		conn_close(c);
		return;
	}
	memcpy(wr->data, data, n);
	wr->c = c;
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)n);
	c->writes++;
	if (uv_write(&wr->req, &c->u.stream, &b, 1, on_written) != 0) {
		c->writes--;
		free(wr);
		c->stats->write_errors++;
		conn_close(c);
	}
}

/* What the TLS engine has for the network. */
static void flush_tls(struct api_conn *c)
{
	char chunk[READ_CHUNK];
	int n;
	while (c->phase != PH_CLOSED && (n = BIO_read(c->wbio, chunk, sizeof(chunk))) > 0)
		send_raw(c, chunk, (size_t)n);
}

static void send_bytes(struct api_conn *c, const char *data, size_t n)
{
	if (c->ssl == NULL) {
		send_raw(c, data, n);
		return;
	}
	/* A memory BIO takes everything: SSL_write never wants to wait. */
	if (n > 0 && SSL_write(c->ssl, data, (int)n) <= 0) {
		c->stats->tls_errors++;
		ERR_clear_error();
		conn_close(c);
		return;
	}
	flush_tls(c);
}

/* ------------------------------------------------------------ answers */

static const char *json_text(int status, json_t *body, char **owned)
{
	*owned = NULL;
	if (status == 204)
		return "";
	if (body == NULL)
		body = status >= 400 ? sl_api_error("%s", sl_api_reason(status)) : json_object();
	else
		json_incref(body);
	*owned = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return *owned != NULL ? *owned : "{\"error\":\"cannot encode the reply\"}";
}

static bool add_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s), SIZE_MAX / 2);
}

static void write_response(struct api_conn *c, const struct api_response *res, bool head)
{
	char *owned, line[128];
	const char *text = json_text(res->status, res->body, &owned);
	size_t body_len = res->status == 204 ? 0 : strlen(text) + 1; /* + "\n", for people using curl */
	struct buf out = {0};
	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nServer: sluice\r\n", res->status,
		 sl_api_reason(res->status));
	bool ok = add_str(&out, line);
	if (res->status != 204) {
		snprintf(line, sizeof(line), "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			 body_len);
		ok = ok && add_str(&out, line);
	}
	for (size_t i = 0; i < 2 && res->headers[i].name != NULL; i++)
		ok = ok && add_str(&out, res->headers[i].name) && add_str(&out, ": ") &&
		     add_str(&out, res->headers[i].value) && add_str(&out, "\r\n");
	ok = ok && add_str(&out, res->close ? "Connection: close\r\n\r\n" : "\r\n");
	if (!head && body_len > 0)
		ok = ok && add_str(&out, text) && add_str(&out, "\n");
	free(owned);
	if (ok)
		send_bytes(c, out.p, out.len);
	else
		conn_close(c);
	buf_free(&out);
}

static void reset_request(struct api_conn *c)
{
	c->url.len = c->body.len = 0;
	if (c->auth.p != NULL)
		OPENSSL_cleanse(c->auth.p, c->auth.cap);
	c->auth.len = 0;
	c->name_len = 0;
	c->hstate = H_NONE;
	c->has_auth = c->expect_continue = false;
	c->header_bytes = 0;
	c->nheaders = 0;
	c->fail_status = 0;
	memset(&c->req, 0, sizeof(c->req));
}

static void process(struct api_conn *c);

void conn_respond(struct api_conn *c, struct api_response *res)
{
	if (c->phase == PH_CLOSED) {
		json_decref(res->body);
		return;
	}
	bool keep = !res->close && http_should_keep_alive(&c->parser);
	res->close = !keep;
	write_response(c, res, c->req.head);
	json_decref(res->body);
	res->body = NULL;
	if (c->phase == PH_CLOSED)
		return;
	if (!keep) {
		c->close_after = true;
		uv_read_stop(&c->u.stream);
		uv_timer_stop(&c->timer);
		if (c->writes == 0)
			start_linger(c);
		return;
	}
	reset_request(c);
	c->phase = PH_IDLE;
	http_parser_pause(&c->parser, 0);
	arm(c, c->limits->idle_timeout_ms);
	process(c); /* a pipelined request already read */
	if (c->phase == PH_IDLE || c->phase == PH_READING)
		uv_read_start(&c->u.stream, on_alloc, on_read);
}

/* ------------------------------------------------------------ lingering */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct api_conn *c = req->data;
	if (status < 0 && c->phase != PH_CLOSED)
		conn_close(c);
}

/* The answer is out: send FIN, then read and drop whatever the peer still
 * sends until it closes or LINGER_MS pass. Closing with unread data would
 * send a reset that can destroy the answer before the client reads it. */
static void start_linger(struct api_conn *c)
{
	if (c->phase == PH_CLOSED || c->phase == PH_LINGER)
		return;
	if (c->ssl != NULL && SSL_is_init_finished(c->ssl)) {
		SSL_shutdown(c->ssl); /* close_notify */
		flush_tls(c);
		if (c->phase == PH_CLOSED)
			return;
	}
	c->phase = PH_LINGER;
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, &c->u.stream, on_shutdown) != 0) {
		conn_close(c);
		return;
	}
	arm(c, LINGER_MS);
	uv_read_start(&c->u.stream, on_alloc, on_read);
}

/* ------------------------------------------------------------ timers */

static void on_timer(uv_timer_t *t)
{
	struct api_conn *c = t->data;
	if (c->phase == PH_READING) {
		c->stats->timeouts++;
		struct api_response res = {.status = 408, .close = true,
					   .body = sl_api_error("the request was not received within %u ms",
								c->limits->request_timeout_ms)};
		conn_respond(c, &res);
		return;
	}
	if (c->phase != PH_LINGER)
		c->stats->timeouts++;
	conn_close(c);
}

static void arm(struct api_conn *c, unsigned ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ------------------------------------------------------------ parsing */

static int fail(struct api_conn *c, int status, const char *msg)
{
	c->fail_status = status;
	snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", msg);
	return -1;
}

static int count_header_bytes(struct api_conn *c, size_t n)
{
	c->header_bytes += n;
	if (c->header_bytes > c->limits->max_header_bytes) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the request line and headers are longer than %zu bytes",
			 c->limits->max_header_bytes);
		return fail(c, 431, msg);
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct api_conn *c = p->data;
	if (c->phase == PH_IDLE) {
		c->phase = PH_READING;
		arm(c, c->limits->request_timeout_ms);
	}
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = p->data;
	if (count_header_bytes(c, n) != 0)
		return -1;
	return buf_add(&c->url, at, n, c->limits->max_header_bytes) ? 0 : fail(c, 414, "the URL is too long");
}

/* RFC 9110 token characters: anything else in a name (a space before the
 * colon, say) is a malformed request, not a name to guess at. */
static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = p->data;
	if (count_header_bytes(c, n) != 0)
		return -1;
	if (c->hstate != H_FIELD) {
		if (++c->nheaders > c->limits->max_headers) {
			char msg[96];
			snprintf(msg, sizeof(msg), "more than %u header fields", c->limits->max_headers);
			return fail(c, 431, msg);
		}
		c->name_len = 0;
		c->hstate = H_FIELD;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)at[i]))
			return fail(c, 400, "malformed header field name");
	size_t keep = n < NAME_KEEP - c->name_len ? n : NAME_KEEP - c->name_len;
	memcpy(c->name + c->name_len, at, keep);
	c->name_len += keep;
	c->name[c->name_len] = '\0';
	return 0;
}

static int start_value(struct api_conn *c)
{
	c->hstate = H_VALUE;
	c->hkind = K_OTHER;
	if (strcasecmp(c->name, "authorization") == 0) {
		if (c->has_auth)
			return fail(c, 400, "more than one Authorization header");
		c->has_auth = true;
		c->hkind = K_AUTH;
	} else if (strcasecmp(c->name, "expect") == 0) {
		c->hkind = K_EXPECT;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = p->data;
	if (count_header_bytes(c, n) != 0 || (c->hstate != H_VALUE && start_value(c) != 0))
		return -1;
	if (c->hkind == K_AUTH && !buf_add(&c->auth, at, n, MAX_AUTH))
		return fail(c, 400, "the Authorization header is too long");
	if (c->hkind == K_EXPECT)
		c->expect_continue = n >= 12 && strncasecmp(at, "100-continue", 12) == 0;
	return 0;
}

static void fill_request(struct api_conn *c)
{
	struct api_request *r = &c->req;
	char *q = memchr(c->url.p, '?', c->url.len);
	r->method = http_method_str((enum http_method)c->parser.method);
	r->head = c->parser.method == HTTP_HEAD;
	r->path = c->url.p;
	r->path_len = q ? (size_t)(q - c->url.p) : c->url.len;
	r->query = q ? q + 1 : "";
	r->query_len = q ? c->url.len - r->path_len - 1 : 0;
	r->authorization = c->has_auth ? (c->auth.p ? c->auth.p : "") : NULL;
	r->authorization_len = c->auth.len;
	r->tls = c->ssl != NULL;
}

static int on_headers_complete(http_parser *p)
{
	struct api_conn *c = p->data;
	if (p->http_major != 1 || p->http_minor > 1)
		return fail(c, 505, "only HTTP/1.1 (and 1.0) are spoken here");
	if (c->url.len == 0 || c->url.p[0] != '/')
		return fail(c, 400, "the request target must be an absolute path");
	fill_request(c);
	/* Credentials first: nothing about the body is said to a stranger. */
	struct api_response res = {0};
	if (c->hooks.on_headers(c->hooks.ctx, c, &c->req, &res) != 0) {
		c->early = res;
		c->has_early = true;
		return -1;
	}
	bool chunked = (p->flags & F_CHUNKED) != 0;
	if (!chunked && p->content_length != ULLONG_MAX && p->content_length > c->limits->max_body) {
		char msg[96];
		snprintf(msg, sizeof(msg), "the request body is larger than %zu bytes", c->limits->max_body);
		return fail(c, 413, msg);
	}
	bool has_body = chunked || (p->content_length != ULLONG_MAX && p->content_length > 0);
	if (c->expect_continue && has_body)
		send_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct api_conn *c = p->data;
	if (!buf_add(&c->body, at, n, c->limits->max_body)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "the request body is larger than %zu bytes", c->limits->max_body);
		return fail(c, 413, msg);
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct api_conn *c = p->data;
	c->phase = PH_BUSY;
	http_parser_pause(p, 1); /* one request at a time; the rest waits in c->in */
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* A request that cannot be served: say why in JSON, then close. */
static void refuse(struct api_conn *c)
{
	struct api_response res;
	c->stats->bad_requests += !c->has_early; /* early answers are server.c's to count */
	if (c->has_early) {
		res = c->early;
		c->early.body = NULL;
		c->has_early = false;
	} else if (c->fail_status != 0) {
		res = (struct api_response){.status = c->fail_status, .body = sl_api_error("%s", c->fail_msg)};
	} else {
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		res = (struct api_response){.status = 400,
					    .body = sl_api_error("malformed request: %s", http_errno_description(e))};
	}
	res.close = true;
	c->phase = PH_BUSY;
	conn_respond(c, &res);
}

static void dispatch(struct api_conn *c)
{
	c->stats->requests++;
	uv_timer_stop(&c->timer);
	c->req.body = c->body.p ? c->body.p : "";
	c->req.body_len = c->body.len;
	c->hooks.on_request(c->hooks.ctx, c, &c->req);
}

static void process(struct api_conn *c)
{
	while ((c->phase == PH_IDLE || c->phase == PH_READING) && c->in_off < c->in.len) {
		size_t n = http_parser_execute(&c->parser, &parser_settings, c->in.p + c->in_off,
					       c->in.len - c->in_off);
		c->in_off += n;
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e == HPE_PAUSED && c->phase == PH_BUSY) {
			dispatch(c);
		} else if (e != HPE_OK) {
			refuse(c);
			return;
		}
	}
	if (c->in_off == c->in.len)
		c->in.len = c->in_off = 0;
	if (c->phase == PH_BUSY)
		uv_read_stop(&c->u.stream);
}

/* ------------------------------------------------------------ reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char chunk[READ_CHUNK]; /* single-threaded loop: consumed before the next read */
	(void)h;
	(void)suggested;
	*b = uv_buf_init(chunk, sizeof(chunk));
}

static bool take_plaintext(struct api_conn *c, const char *data, size_t n)
{
	/* What a request may hold, and one more read of pipelined bytes. */
	size_t cap = c->limits->max_header_bytes + c->limits->max_body + 2 * READ_CHUNK;
	if (c->in_off > 0 && c->in_off == c->in.len)
		c->in.len = c->in_off = 0;
	if (!buf_add(&c->in, data, n, cap)) {
		c->stats->bad_requests++;
		conn_close(c);
		return false;
	}
	return true;
}

static void tls_error(struct api_conn *c)
{
	c->stats->tls_errors++;
	ERR_clear_error();
	flush_tls(c); /* an alert, if the engine made one */
	conn_close(c);
}

static void tls_in(struct api_conn *c, const char *data, size_t n)
{
	char plain[READ_CHUNK];
	int r;
	if (BIO_write(c->rbio, data, (int)n) != (int)n) {
		tls_error(c);
		return;
	}
	if (c->phase == PH_HANDSHAKE) {
		r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
				flush_tls(c);
			else
				tls_error(c);
			return;
		}
		c->phase = PH_IDLE;
	}
	while ((r = SSL_read(c->ssl, plain, sizeof(plain))) > 0)
		if (!take_plaintext(c, plain, (size_t)r))
			return;
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the client is done */
		c->stats->closed_by_peer++;
		conn_close(c);
		return;
	}
	if (e != SSL_ERROR_WANT_READ) {
		tls_error(c);
		return;
	}
	flush_tls(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct api_conn *c = s->data;
	if (n == 0 || c->phase == PH_CLOSED)
		return;
	if (n < 0) { /* EOF or reset: nothing more will come, nothing is kept */
		if (c->phase != PH_LINGER)
			c->stats->closed_by_peer++;
		conn_close(c);
		return;
	}
	if (c->phase == PH_LINGER) {
		c->lingered += (size_t)n;
		if (c->lingered > LINGER_MAX_BYTES)
			conn_close(c);
		return;
	}
	if (c->ssl != NULL)
		tls_in(c, b->base, (size_t)n);
	else if (!take_plaintext(c, b->base, (size_t)n))
		return;
	if (c->phase != PH_CLOSED && c->phase != PH_HANDSHAKE)
		process(c);
}

/* ------------------------------------------------------------ accepting */

static bool setup_tls(struct api_conn *c, SSL_CTX *ctx)
{
	c->ssl = SSL_new(ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		c->ssl = NULL;
		return false;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	return true;
}

struct api_conn *conn_accept(uv_stream_t *listener, SSL_CTX *ssl, const struct api_limits *limits,
			     const struct api_conn_hooks *hooks, struct api_conn_stats *stats)
{
	struct api_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	int r = ssl ? uv_tcp_init(listener->loop, &c->u.tcp) : uv_pipe_init(listener->loop, &c->u.pipe, 0);
	if (r != 0) {
		free(c);
		return NULL;
	}
	uv_timer_init(listener->loop, &c->timer);
	c->handles = 2;
	c->u.handle.data = c->timer.data = c;
	c->limits = limits;
	c->hooks = *hooks;
	c->stats = stats;
	stats->open++;
	c->phase = ssl ? PH_HANDSHAKE : PH_IDLE;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (uv_accept(listener, &c->u.stream) != 0 || (ssl != NULL && !setup_tls(c, ssl))) {
		c->phase = PH_CLOSED;
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
		uv_close(&c->u.handle, on_handle_closed);
		return NULL;
	}
	if (ssl != NULL) {
		int len = sizeof(c->peer);
		uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)&c->peer, &len);
	}
	stats->accepted++;
	arm(c, limits->request_timeout_ms); /* the handshake and the first request */
	uv_read_start(&c->u.stream, on_alloc, on_read);
	return c;
}

void conn_set_user(struct api_conn *c, void *user)
{
	c->user = user;
}

void *conn_user(const struct api_conn *c)
{
	return c->user;
}

bool conn_idle(const struct api_conn *c)
{
	return c->phase == PH_IDLE || c->phase == PH_HANDSHAKE;
}

const struct sockaddr_storage *conn_peer(const struct api_conn *c)
{
	return &c->peer;
}
