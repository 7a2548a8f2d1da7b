/*
 * Unit tests for lib/api and tools/sluicectl. A real server (h2o on a libuv
 * loop in a thread) runs with an in-memory fake manager behind it; requests
 * are real HTTPS (throwaway CA and certificates made here with OpenSSL) and
 * Unix-socket exchanges through libcurl, and sluicectl runs as a child
 * process against the same server. Every rejected request must also leave
 * the fake's command log empty: bad input changes nothing.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "api/route.h"

extern char **environ;

/* h2o keeps freed buffers in per-thread free lists (h2o_mem_alloc_recycle);
 * the server thread here ends with each test, which strands them. The
 * control thread of the appliance never ends. Anything else h2o or the API
 * leaked (connections, requests) is still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:h2o_mem_alloc_recycle\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

#define TOKEN "test-token-0123456789abcdef"
#define AUTH "Authorization: Bearer " TOKEN
#define VIP_PATH "/v1/vips/tcp/203.0.113.10/80"
#define DIP_PATH VIP_PATH "/dips/198.18.1.2/8080"

/* Files made once in main() and shared by every (forked) test. */
static char dir[64];
static char ca_pem[128], cert_pem[128], key_pem[128], client_pem[128], client_key_pem[128];
static char token_file[128], sock_path[128];

static void path_in_dir(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", dir, name);
}

/* ------------------------------------------------------ certificates */

/* For set-up in main(), where Check's assertions cannot report. */
#define NEED(c)                                                                    \
	do {                                                                       \
		if (!(c)) {                                                        \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #c); \
			abort();                                                   \
		}                                                                  \
	} while (0)

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	NEED(e != NULL);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, issuer ? "CA:FALSE" : "critical,CA:TRUE");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (issuer == NULL)
		add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (san != NULL)
		add_ext(x, &ctx, NID_subject_alt_name, san);
	NEED(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	NEED(f != NULL);
	if (cert)
		PEM_write_X509(f, cert);
	if (key)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static void make_pki(void)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256"),
		 *cli_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ca_key, "sluice test CA", NULL, NULL, NULL);
	X509 *srv = make_cert(srv_key, "localhost", ca, ca_key, "IP:127.0.0.1,DNS:localhost");
	X509 *cli = make_cert(cli_key, "operator", ca, ca_key, NULL);
	write_pem(ca_pem, ca, NULL);
	write_pem(cert_pem, srv, NULL);
	write_pem(key_pem, NULL, srv_key);
	write_pem(client_pem, cli, NULL);
	write_pem(client_key_pem, NULL, cli_key);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	NEED(fd >= 0);
	NEED(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* ------------------------------------------------------ fake manager */

enum mode {
	OK_NOW,        /* apply and answer inside submit */
	OK_LATER,      /* apply and answer from a timer */
	HOLD,          /* answer only when released */
	NOT_LEADER,    /* 307 to f->leader */
	REDIRECT_ONCE, /* 307 to f->leader, then OK_NOW */
	NO_LEADER,     /* 503, leader unknown */
	NOT_READY,     /* 503 with a retry hint: a leader catching up */
	NOT_READY_ONCE, /* NOT_READY, then OK_NOW */
	REFUSE,        /* submit returns -1 */
};

struct held {
	sl_api_done_cb done;
	void *req;
	struct sl_api_call call;
	json_t *args;
};

struct fake {
	pthread_mutex_t lock;
	enum mode mode;
	char leader[128];
	json_t *log;  /* every call submitted, as call_json() writes it */
	struct sl_api_call last; /* the last call submitted */
	json_t *vips; /* key text -> VIP */
	json_t *prefixes; /* the tunnel sources as set_tunnel_sources gave them; null: not set */
	json_t *file_prefixes; /* this instance's file's, shown while not set */
	json_t *keys; /* keys the API passed to get */
	struct held held[16];
	int nheld;
	uv_timer_t later;
	uv_async_t release;
};

static void vip_text(const json_t *vip, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%" JSON_INTEGER_FORMAT,
		 json_string_value(json_object_get(vip, "protocol")),
		 json_string_value(json_object_get(vip, "address")),
		 json_integer_value(json_object_get(vip, "port")));
}

static json_t *live_dip(const json_t *d)
{
	json_t *o = json_deep_copy(d);
	json_object_set_new(o, "admin", json_string("active"));
	json_object_set_new(o, "health", json_string("healthy"));
	json_object_set_new(o, "effective_weight", json_copy(json_object_get(o, "weight")));
	return o;
}

/* A call as the tests compare it: its arguments with the action's name as
 * "op" (for a command, the log entry the manager would write). */
static json_t *call_json(const struct sl_api_call *call, const json_t *args)
{
	json_t *o = args != NULL ? json_deep_copy(args) : json_object();
	json_object_set_new(o, "op", json_string(sl_mgr_action_name(call->action)));
	return o;
}

/* The fake's key for the call's VIP, made from the parsed key (not from
 * its text), so that reads prove the parse right. */
static void call_vip_text(const struct sl_api_call *call, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "-";
	if (!call->has_vip) {
		snprintf(buf, len, "-");
		return;
	}
	inet_ntop(call->vip.family == 4 ? AF_INET : AF_INET6, call->vip.addr, a, sizeof(a));
	snprintf(buf, len, "%s/%s/%u", call->vip.proto == IPPROTO_TCP ? "tcp" : "udp", a,
		 call->vip.port);
}

static json_t *fake_get(void *ctx, const struct sl_api_call *call);

/* A linearizable read, as the manager answers one once confirmed. */
static int read_confirmed(struct fake *f, const struct sl_api_call *call, json_t **reply)
{
	*reply = fake_get(f, call);
	if (*reply == NULL) {
		*reply = json_pack("{s:s}", "error", "no VIP");
		return 404;
	}
	json_object_set_new(*reply, "consistency", json_string("linearizable"));
	return 200;
}

/* A toy state machine: enough semantics for 201/404/409 and for reads;
 * success answers with the status the route declared, as the manager does
 * (204 for a delete: the API's answer without a body). */
static int apply(struct fake *f, const struct sl_api_call *call, const json_t *cmd, json_t **reply)
{
	const enum sl_mgr_action op = call->action;
	char key[128] = "";
	json_t *vip;
	if (sl_mgr_action_kind(op) == SL_MGR_KIND_READ)
		return read_confirmed(f, call, reply);
	if (json_object_get(cmd, "vip"))
		vip_text(json_object_get(cmd, "vip"), key, sizeof(key));
	vip = json_object_get(f->vips, key);
	*reply = NULL;
	if (op == SL_MGR_VIP_CREATE) {
		json_t *v, *d;
		size_t i;
		if (vip != NULL) {
			*reply = sl_api_error("VIP %s already exists", key);
			return 409;
		}
		v = json_deep_copy(json_object_get(cmd, "vip"));
		json_object_set_new(v, "dips", json_array());
		json_array_foreach(json_object_get(cmd, "dips"), i, d)
			json_array_append_new(json_object_get(v, "dips"), live_dip(d));
		json_object_set_new(f->vips, key, v);
		*reply = json_pack("{s:O}", "vip", v);
		return call->ok_status;
	}
	if (key[0] != '\0' && vip == NULL) {
		*reply = sl_api_error("no VIP %s", key);
		return 404;
	}
	if (op == SL_MGR_VIP_DELETE) {
		json_object_del(f->vips, key);
		return 204;
	}
	if (op == SL_MGR_DIP_ADD)
		json_array_append_new(json_object_get(vip, "dips"), live_dip(json_object_get(cmd, "dip")));
	if (op == SL_MGR_SET_TUNNEL_SOURCES) {
		json_decref(f->prefixes);
		f->prefixes = json_deep_copy(json_object_get(cmd, "prefixes"));
	}
	*reply = json_pack("{s:s}", "applied", sl_mgr_action_name(op));
	return call->ok_status;
}

static void complete(struct fake *f, struct held *h)
{
	json_t *reply;
	int status = apply(f, &h->call, h->args, &reply);
	json_decref(h->args);
	h->done(h->req, status, reply);
}

static void complete_all(struct fake *f)
{
	for (int i = 0; i < f->nheld; i++)
		complete(f, &f->held[i]);
	f->nheld = 0;
}

static void on_later(uv_timer_t *t)
{
	complete_all(t->data);
}

static void on_release(uv_async_t *a)
{
	complete_all(a->data);
}

static int fake_submit(void *ctx, const struct sl_api_call *call, json_t *cmd, sl_api_done_cb done,
		       void *req)
{
	struct fake *f = ctx;
	struct held h = {done, req, *call, cmd};
	enum mode mode;
	pthread_mutex_lock(&f->lock);
	json_array_append_new(f->log, call_json(call, cmd));
	f->last = *call;
	mode = f->mode;
	if (mode == REDIRECT_ONCE || mode == NOT_READY_ONCE)
		f->mode = OK_NOW;
	pthread_mutex_unlock(&f->lock);
	switch (mode) {
	case REFUSE: json_decref(cmd); return -1;
	case NOT_LEADER:
	case REDIRECT_ONCE:
		json_decref(cmd);
		done(req, 307, json_pack("{s:s}", "leader", f->leader));
		return 0;
	case NO_LEADER:
		json_decref(cmd);
		done(req, 503, json_pack("{s:s,s:n}", "error", "no leader elected", "leader"));
		return 0;
	case NOT_READY:
	case NOT_READY_ONCE:
		json_decref(cmd);
		done(req, 503, json_pack("{s:s,s:i}", "error", "catching up", "retry_after_ms", 10));
		return 0;
	case OK_NOW: complete(f, &h); return 0;
	case OK_LATER:
	case HOLD:
		ck_assert_int_lt(f->nheld, 16);
		f->held[f->nheld++] = h;
		if (mode == OK_LATER)
			uv_timer_start(&f->later, on_later, 5, 0);
		return 0;
	}
	return -1;
}

static json_t *fake_get(void *ctx, const struct sl_api_call *call)
{
	struct fake *f = ctx;
	char key[128];
	json_t *v, *list;
	const char *k;
	call_vip_text(call, key, sizeof(key));
	v = json_object_get(f->vips, key);
	pthread_mutex_lock(&f->lock);
	json_array_append_new(f->keys, json_string(key));
	pthread_mutex_unlock(&f->lock);
	if (call->action == SL_MGR_READ_VIP)
		return json_deep_copy(v);
	if (call->action == SL_MGR_READ_DIPS)
		return v ? json_pack("{s:O}", "dips", json_object_get(v, "dips")) : NULL;
	/* the manager's shapes (sl_mgr_tunnel_sources_json(), test_manager.c) */
	if (call->action == SL_MGR_READ_TUNNEL_SOURCES && json_is_null(f->prefixes))
		return json_pack("{s:n, s:b, s:O}", "prefixes", "replicated", 0, "file_prefixes",
				 f->file_prefixes);
	if (call->action == SL_MGR_READ_TUNNEL_SOURCES)
		return json_pack("{s:O, s:b}", "prefixes", f->prefixes, "replicated", 1);
	if (call->action == SL_MGR_READ_POPS) /* sl_mgr_pops_json()'s shape */
		return json_loads("{\"pops\":[{\"name\":\"a\",\"unicast\":[\"203.0.113.0/25\"],"
				  "\"anycast\":[\"203.0.113.0/24\",\"2001:db8::/32\"],\"state\":\"draining\"},"
				  "{\"name\":\"b\",\"unicast\":[],\"anycast\":[],\"state\":\"active\"}]}",
				  0, NULL);
	if (call->action == SL_MGR_READ_VIPS) {
		list = json_array();
		json_object_foreach(f->vips, k, v)
			json_array_append(list, v);
		return json_pack("{s:o}", "vips", list);
	}
	return json_loads("{\"id\":1,\"leader\":{\"id\":1,\"address\":\"192.0.2.1:7000\","
			  "\"api\":\"https://192.0.2.1:8443\"},\"term\":3,\"commit_index\":42,"
			  "\"applied_index\":41,\"members\":[{\"id\":1,\"address\":\"192.0.2.1:7000\","
			  "\"role\":\"voter\",\"match_index\":42,\"lag\":0},{\"id\":2,\"address\":"
			  "\"192.0.2.2:7000\",\"role\":\"standby\",\"match_index\":39,\"lag\":3}]}",
			  0, NULL);
}

/* --------------------------------------------------- server in a thread */

static struct {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct sl_api *api;
	struct fake fake;
	int port;
} S;

static void set_mode(enum mode m)
{
	pthread_mutex_lock(&S.fake.lock);
	S.fake.mode = m;
	pthread_mutex_unlock(&S.fake.lock);
}

static size_t log_size(void)
{
	pthread_mutex_lock(&S.fake.lock);
	size_t n = json_array_size(S.fake.log);
	pthread_mutex_unlock(&S.fake.lock);
	return n;
}

static json_t *last_command(void)
{
	pthread_mutex_lock(&S.fake.lock);
	json_t *c = json_incref(json_array_get(S.fake.log, json_array_size(S.fake.log) - 1));
	pthread_mutex_unlock(&S.fake.lock);
	return c;
}

static struct sl_api_call last_call(void)
{
	pthread_mutex_lock(&S.fake.lock);
	struct sl_api_call c = S.fake.last;
	pthread_mutex_unlock(&S.fake.lock);
	return c;
}

/* Pending writes get an answer even at shutdown (done exactly once). */
static void on_stop(uv_async_t *a)
{
	sl_api_stop(S.api);
	complete_all(&S.fake);
	uv_close((uv_handle_t *)a, NULL);
	uv_close((uv_handle_t *)&S.fake.release, NULL);
	uv_close((uv_handle_t *)&S.fake.later, NULL);
}

static void *run_loop(void *arg)
{
	(void)arg;
	uv_run(&S.loop, UV_RUN_DEFAULT);
	return NULL;
}

static void base_config(struct sl_api_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = "127.0.0.1:0";
	c->cert_file = cert_pem;
	c->key_file = key_pem;
	c->token_file = token_file;
	c->socket_path = sock_path;
	c->socket_mode = SL_API_DEFAULT_SOCKET_MODE;
}

static json_t *fake_freshness(void *ctx)
{
	(void)ctx;
	return json_pack("{s:s, s:i}", "consistency", "local", "applied_index", 41);
}

static const struct sl_api_backend fake_backend = {&S.fake, fake_submit, fake_get, fake_freshness};

static void start_with(const struct sl_api_config *cfg)
{
	char err[256];
	ck_assert_int_eq(uv_loop_init(&S.loop), 0);
	pthread_mutex_init(&S.fake.lock, NULL);
	S.fake.mode = OK_NOW;
	S.fake.log = json_array();
	S.fake.vips = json_object();
	S.fake.prefixes = json_null();
	S.fake.file_prefixes = json_loads("[\"192.0.2.10/32\",\"2001:db8:2::/64\"]", 0, NULL);
	S.fake.keys = json_array();
	uv_timer_init(&S.loop, &S.fake.later);
	S.fake.later.data = &S.fake;
	uv_async_init(&S.loop, &S.fake.release, on_release);
	S.fake.release.data = &S.fake;
	S.api = sl_api_start(&S.loop, cfg, &fake_backend, err, sizeof(err));
	ck_assert_msg(S.api != NULL, "sl_api_start: %s", err);
	S.port = sl_api_tcp_port(S.api);
	snprintf(S.fake.leader, sizeof(S.fake.leader), "https://127.0.0.1:%d", S.port);
	uv_async_init(&S.loop, &S.stop, on_stop);
	ck_assert_int_eq(pthread_create(&S.thread, NULL, run_loop, NULL), 0);
}

static void start_default(void)
{
	struct sl_api_config c;
	base_config(&c);
	start_with(&c);
}

/* The loop must end by itself: every handle closed, the API released. */
static void stop_server(void)
{
	uv_async_send(&S.stop);
	pthread_join(S.thread, NULL);
	ck_assert_int_eq(uv_loop_close(&S.loop), 0);
	json_decref(S.fake.log);
	json_decref(S.fake.vips);
	json_decref(S.fake.prefixes);
	json_decref(S.fake.file_prefixes);
	json_decref(S.fake.keys);
	pthread_mutex_destroy(&S.fake.lock);
}

/* ------------------------------------------------------------ client */

enum via { UNIX, TLS };

struct resp {
	long status;
	json_t *json;
	char raw[4096];
	size_t len;
	char location[512], allow[128], type[128], retry_after[32];
	char curl_error[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n, room = sizeof(r->raw) - 1 - r->len;
	memcpy(r->raw + r->len, data, len < room ? len : room);
	r->len += len < room ? len : room;
	r->raw[r->len] = '\0';
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	if (len > n && strncasecmp(line, name, n) == 0)
		snprintf(out, outlen, "%.*s", (int)strcspn(line + n, "\r\n"), line + n);
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	header_value(line, size * n, "location: ", r->location, sizeof(r->location));
	header_value(line, size * n, "allow: ", r->allow, sizeof(r->allow));
	header_value(line, size * n, "content-type: ", r->type, sizeof(r->type));
	header_value(line, size * n, "retry-after: ", r->retry_after, sizeof(r->retry_after));
	return size * n;
}

struct call_opts {
	const char *client_cert, *client_key;
	long timeout_ms;
};

static struct resp call_ex(enum via via, const char *auth, const char *method, const char *path,
			   const char *body, size_t body_len, const struct call_opts *o)
{
	struct resp r;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char url[600];
	memset(&r, 0, sizeof(r));
	if (via == UNIX) {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	} else {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", S.port, path);
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_pem);
	}
	if (o && o->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, o->client_key);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	}
	if (auth != NULL)
		hdr = curl_slist_append(hdr, auth);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o && o->timeout_ms ? o->timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r.curl_error);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (r.len > 0)
		r.json = json_loads(r.raw, 0, NULL);
	return r;
}

static struct resp call(enum via via, const char *auth, const char *method, const char *path,
			const char *body)
{
	return call_ex(via, auth, method, path, body, body ? strlen(body) : 0, NULL);
}

static void expect_error(struct resp *r, long status, const char *text)
{
	const char *e = json_string_value(json_object_get(r->json, "error"));
	ck_assert_msg(r->status == status, "status %ld, want %ld (%s) %s", r->status, status, r->raw,
		      r->curl_error);
	ck_assert_msg(e != NULL, "no {\"error\"} in \"%s\"", r->raw);
	ck_assert_msg(strstr(e, text) != NULL, "error \"%s\" lacks \"%s\"", e, text);
	ck_assert_str_eq(r->type, "application/json");
	json_decref(r->json);
}

/* --------------------------------------------------------- bad input */

struct bad_case {
	const char *auth, *method, *path, *body;
	int status;
	const char *error;
};

#define VIP4 "\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":80"
#define DIP4 "{\"address\":\"198.18.1.2\",\"host\":\"192.0.2.10\"}"

static const struct bad_case bad_cases[] = {
	/* malformed or mistyped JSON */
	{AUTH, "POST", "/v1/vips", "{\"address\": ", 400, "malformed JSON at line 1"},
	{AUTH, "POST", "/v1/vips", "{" VIP4 "} trailing", 400, "malformed JSON"},
	{AUTH, "POST", "/v1/vips", "[1, 2]", 400, "must be a JSON object, got an array"},
	{AUTH, "POST", "/v1/vips", "", 400, "it is empty"},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"port\":81}", 400, "duplicate"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"port\":80}", 400,
	 "missing field \"protocol\""},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"prot\":1}", 400, "unknown field \"prot\""},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":\"80\"}",
	 400, "port: must be an integer from 1 to 65535, got \"80\""},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":80.5}",
	 400, "got a number with a fraction"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"\xff\xfe\",\"protocol\":\"tcp\",\"port\":80}", 400,
	 "malformed JSON"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"a\\u0000b\",\"protocol\":\"tcp\",\"port\":80}", 400,
	 "malformed JSON"},
	/* out of range */
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":0}", 400,
	 "port: must be an integer from 1 to 65535, got 0"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":65536}",
	 400, "got 65536"},
	{AUTH, "PUT", DIP_PATH "/weight", "{\"weight\":70000}", 400,
	 "weight: must be an integer from 1 to 65535, got 70000"},
	{AUTH, "PUT", DIP_PATH "/weight", "{\"weight\":true}", 400, "got a boolean"},
	{AUTH, "PUT", VIP_PATH, "{\"dips\":[{\"address\":\"198.18.1.2\",\"host\":\"192.0.2.10\",\"weight\":0}]}",
	 400, "dips[0] weight: must be an integer from 1 to 65535, got 0"},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":0,\"address\":\"192.0.2.4:7000\"}", 400,
	 "id: must be an integer from 1"},
	{AUTH, "POST", "/v1/cluster/transfer", "{\"id\":-1}", 400, "got -1"},
	/* invalid addresses, protocols, roles */
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.999\",\"protocol\":\"tcp\",\"port\":80}",
	 400, "address: must be a unicast IPv4 or IPv6 address, got \"203.0.113.999\""},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"224.0.0.1\",\"protocol\":\"tcp\",\"port\":80}", 400,
	 "address: 224.0.0.1 is a multicast address"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"::\",\"protocol\":\"udp\",\"port\":53}", 400,
	 "address: :: is the unspecified address"},
	{AUTH, "POST", "/v1/vips", "{\"address\":\"203.0.113.10\",\"protocol\":\"sctp\",\"port\":80}", 400,
	 "protocol: must be \"tcp\" or \"udp\", got \"sctp\""},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"dips\":{}}", 400, "dips: must be an array"},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"dips\":[{\"address\":\"2001:db8::2\",\"host\":\"192.0.2.10\"}]}",
	 400, "dips[0] address: 2001:db8::2 is IPv6 but the VIP is IPv4"},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"dips\":[{\"address\":\"198.18.1.2\"}]}", 400,
	 "dips[0] missing field \"host\""},
	{AUTH, "POST", "/v1/vips", "{" VIP4 ",\"dips\":[" DIP4 "," DIP4 "]}", 400,
	 "dips[1]: same address and port as dips[0]"},
	{AUTH, "POST", VIP_PATH "/dips", "{\"address\":\"198.18.1.2\",\"host\":\"192.0.2.10\",\"wieght\":5}",
	 400, "unknown field \"wieght\""},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"192.0.2.4:0\"}", 400,
	 "address: must be \"ADDRESS:PORT\""},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"2001:db8::4:7000\"}", 400,
	 "got \"2001:db8::4:7000\""},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"bad_name:7000\"}", 400,
	 "got \"bad_name:7000\""},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"192.0.2.4:7000\",\"role\":\"king\"}",
	 400, "role: must be \"voter\", \"spare\" or \"standby\", got \"king\""},
	{AUTH, "POST", "/v1/cluster/members",
	 "{\"id\":4,\"address\":\"192.0.2.4:7000\",\"api\":\"http://192.0.2.4:8443\"}", 400,
	 "api: must be an https:// URL of at most 127 characters"},
	{AUTH, "POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"192.0.2.4:7000\",\"api\":\"https://\"}",
	 400, "api: must be an https:// URL"},
	/* bad values in the path */
	{AUTH, "GET", "/v1/vips/tcp/not-an-ip/80", NULL, 400,
	 "path VIP address: must be a unicast IPv4 or IPv6 address, got \"not-an-ip\""},
	{AUTH, "DELETE", "/v1/vips/tcp/203.0.113.10/99999", NULL, 400, "path VIP port: must be an integer from 1 to 65535, got 99999"},
	{AUTH, "DELETE", "/v1/vips/icmp/203.0.113.10/80", NULL, 400, "path VIP protocol"},
	{AUTH, "POST", VIP_PATH "/dips/2001:db8::2/80/drain", NULL, 400,
	 "path DIP address: 2001:db8::2 is IPv6 but the VIP is IPv4"},
	{AUTH, "POST", VIP_PATH "/dips/198.18.1.2/http/drain", NULL, 400, "path DIP port"},
	{AUTH, "DELETE", "/v1/cluster/members/abc", NULL, 400, "path member id: must be an integer"},
	{AUTH, "DELETE", "/v1/cluster/members/123456789012345678901234", NULL, 400, "path member id"},
	/* tunnel sources: the file's rules (config/prefix_rules.h), the whole list or nothing */
	{AUTH, "PUT", "/v1/tunnel-sources", "{}", 400, "missing field \"prefixes\""},
	{AUTH, "PUT", "/v1/tunnel-sources", "", 400, "it is empty"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[],\"prefix\":[]}", 400,
	 "unknown field \"prefix\""},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":\"192.0.2.10\"}", 400,
	 "prefixes: must be an array of at most 64 prefixes, or null, got \"192.0.2.10\""},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":false}", 400,
	 "prefixes: must be an array of at most 64 prefixes, or null, got a boolean"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"192.0.2.10\",7]}", 400,
	 "prefixes[1]: must be a string, got 7"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"192.0.2.10/24\"]}", 400,
	 "prefixes[0]: 192.0.2.10/24 has host bits set (did you mean 192.0.2.0/24?)"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"2001:db8:2::/64\",\"192.0.2.10/33\"]}",
	 400, "prefixes[1]: '192.0.2.10/33': prefix length 33 is out of range (1..32 for IPv4)"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"mux-1\"]}", 400,
	 "prefixes[0]: 'mux-1' is not an address or ADDRESS/LENGTH"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"\xc3\xa9\"]}", 400,
	 "prefixes[0]: this value is not an address"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"192.0.2.10\",\"192.0.2.10/32\"]}", 400,
	 "prefixes[1]: same prefix as prefixes[0]"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"::1\"]}", 400,
	 "prefixes[0]: ::1/128: ::1 is a loopback address, which never leaves its host"},
	{AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"::ffff:192.0.2.10\"]}", 400,
	 "is an IPv4-mapped IPv6 address"},
	{AUTH, "PUT", "/v1/tunnel-sources?consistency=local", "{\"prefixes\":[]}", 400,
	 "writes take no query parameters"},
	{AUTH, "GET", "/v1/tunnel-sources?consistency=strong", NULL, 400,
	 "reads take consistency=local"},
	{AUTH, "DELETE", "/v1/tunnel-sources", NULL, 405, "(allowed: GET, PUT)"},
	{AUTH, "GET", "/v1/tunnel-sources/192.0.2.10", NULL, 404, "no such endpoint"},
	{NULL, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[]}", 401, "missing credentials"},
	/* PoPs */
	{AUTH, "PUT", "/v1/pops/a", "{}", 400, "missing field \"unicast\""},
	{AUTH, "PUT", "/v1/pops/A", "{\"unicast\":[]}", 400,
	 "path PoP name: must be lower-case letters, digits, '-' and '_', starting with a letter or a digit"},
	{AUTH, "PUT", "/v1/pops/-a", "{\"unicast\":[]}", 400, "path PoP name: must be lower-case"},
	{AUTH, "PUT", "/v1/pops/a23456789012345678901234567890123", "{\"unicast\":[]}", 400,
	 "path PoP name: is longer than 31 characters"},
	{AUTH, "PUT", "/v1/pops/a", "{\"unicast\":[\"198.18.0.1/24\"]}", 400,
	 "unicast[0]: 198.18.0.1/24 has host bits set (did you mean 198.18.0.0/24?)"},
	{AUTH, "PUT", "/v1/pops/a", "{\"unicast\":[\"198.18.0.0/24\",\"198.18.0.0/24\"]}", 400,
	 "unicast[1]: same prefix as unicast[0]"},
	{AUTH, "PUT", "/v1/pops/a", "{\"unicast\":[],\"anycast\":\"203.0.113.0/24\"}", 400,
	 "anycast: must be an array of at most 8 prefixes"},
	{AUTH, "PUT", "/v1/pops/a", "{\"unicast\":[],\"state\":\"gone\"}", 400,
	 "state: must be \"active\", \"draining\" or \"down\""},
	{AUTH, "PUT", "/v1/pops/a", "{\"unicast\":[],\"weight\":1}", 400, "unknown field \"weight\""},
	{AUTH, "POST", "/v1/pops/a/drop", NULL, 404, "no such endpoint"},
	{AUTH, "GET", "/v1/pops/a", NULL, 405, "(allowed: PUT, DELETE)"},
	{AUTH, "POST", "/v1/pops", NULL, 405, "(allowed: GET)"},
	{NULL, "POST", "/v1/pops/a/drain", NULL, 401, "missing credentials"},
	/* unknown routes and methods */
	{AUTH, "GET", "/v1/nope", NULL, 404, "no such endpoint: /v1/nope"},
	{AUTH, "GET", "/v1/vips/", NULL, 404, "no such endpoint"},
	{AUTH, "GET", "/", NULL, 404, "no such endpoint"},
	{AUTH, "PATCH", "/v1/vips", NULL, 405, "method PATCH is not allowed on /v1/vips (allowed: GET, POST)"},
	{AUTH, "DELETE", "/v1/cluster", NULL, 405, "(allowed: GET)"},
	{AUTH, "GET", DIP_PATH "/drain", NULL, 405, "(allowed: POST)"},
	/* credentials (TCP only) */
	{NULL, "GET", "/v1/vips", NULL, 401, "missing credentials"},
	{"Authorization: Bearer wrong-token-0123456789", "GET", "/v1/vips", NULL, 401,
	 "invalid bearer token"},
	{"Authorization: Bearer " TOKEN "x", "POST", "/v1/vips", "{" VIP4 "}", 401, "invalid bearer token"},
	{"Authorization: Basic dXNlcjpwYXNz", "GET", "/v1/vips", NULL, 401, "must be \"Bearer TOKEN\""},
	{NULL, "GET", "/v1/nope", NULL, 401, "missing credentials"},
};

START_TEST(test_bad_input)
{
	const struct bad_case *b = &bad_cases[_i];
	struct resp r = call(TLS, b->auth, b->method, b->path, b->body);
	ck_assert_msg(r.status == b->status, "case %d: %s %s: status %ld, want %d: %s %s", _i,
		      b->method, b->path, r.status, b->status, r.raw, r.curl_error);
	expect_error(&r, b->status, b->error);
	ck_assert_msg(log_size() == 0, "case %d: the backend saw a command", _i);
}
END_TEST

START_TEST(test_allow_header)
{
	struct resp r = call(UNIX, NULL, "PUT", "/v1/vips", "{}");
	ck_assert_str_eq(r.allow, "GET, POST");
	expect_error(&r, 405, "method PUT");
	r = call(UNIX, NULL, "HEAD", VIP_PATH, NULL);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, PUT, DELETE");
	ck_assert_int_eq(r.len, 0);
	ck_assert_int_eq(log_size(), 0);
}
END_TEST

/* A body over the limit gets 413 in the API's JSON shape; at the limit it
 * is parsed. Far over, the server answers at the headers, without reading
 * the body, and closes (curl may see the close before the answer). */
START_TEST(test_oversized)
{
	size_t huge = 2 * 1024 * 1024;
	char *big = malloc(huge);
	struct resp r;
	memset(big, ' ', huge);
	r = call_ex(TLS, AUTH, "POST", "/v1/vips", big, SL_API_DEFAULT_MAX_BODY + 1, NULL);
	expect_error(&r, 413, "the request body is larger than 65536 bytes");
	r = call_ex(UNIX, NULL, "POST", "/v1/vips", big, SL_API_DEFAULT_MAX_BODY + 1, NULL);
	expect_error(&r, 413, "larger than 65536 bytes");
	r = call_ex(UNIX, NULL, "POST", "/v1/vips", big, SL_API_DEFAULT_MAX_BODY, NULL);
	expect_error(&r, 400, "malformed JSON"); /* blanks only: parsed, not refused for size */
	r = call_ex(UNIX, NULL, "POST", "/v1/vips", big, huge, NULL);
	if (r.status != 0)
		expect_error(&r, 413, "larger than 65536 bytes");
	free(big);
	ck_assert_int_eq(log_size(), 0);
}
END_TEST

/* Bytes sent as they are on the Unix socket; what came back before the
 * server closed (or 2 s passed), and whether it closed. */
static bool raw_unix(const char *req, char *out, size_t outlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {2, 0};
	size_t len = 0;
	bool closed = false;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_uint_lt(strlen(sock_path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		ssize_t n = read(fd, out + len, outlen - 1 - len);
		if (n <= 0) {
			closed = n == 0;
			break;
		}
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	return closed;
}

/* HTTP/1.1 only, also on the trusted socket: an HTTP/2 preface is a bad
 * request, an h2c upgrade is ignored; ambiguous framing closes. */
START_TEST(test_http1_only)
{
	static const struct {
		const char *req, *status;
		bool closed;
	} cases[] = {
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 400 ", true},
		{"GET /v1/vips HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
		 "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", "HTTP/1.1 200 ", false},
		{"POST /v1/vips HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		 "HTTP/1.1 400 ", true},
		{"GET /v1/vips HTTP/2.0\r\n\r\n", "HTTP/1.1 505 ", true},
	};
	char out[8192];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool closed = raw_unix(cases[i].req, out, sizeof(out));
		ck_assert_msg(strncmp(out, cases[i].status, strlen(cases[i].status)) == 0,
			      "case %zu: %s", i, out);
		ck_assert_msg(strstr(out, "Content-Type: application/json") != NULL, "case %zu: %s", i, out);
		ck_assert_msg(closed == cases[i].closed, "case %zu: closed %d", i, closed);
	}
	ck_assert_int_eq(log_size(), 0);
}
END_TEST

/* ---------------------------------------------------- good requests */

struct good_case {
	const char *method, *path, *body;
	const char *command; /* what the manager must receive */
};

static const struct good_case good_cases[] = {
	{"POST", "/v1/vips", "{" VIP4 "}",
	 "{\"op\":\"vip_create\",\"vip\":{" VIP4 "},\"dips\":[]}"},
	/* canonical addresses, defaults for DIP port and weight */
	{"POST", "/v1/vips",
	 "{\"address\":\"2001:DB8:0:0::10\",\"protocol\":\"udp\",\"port\":53,\"dips\":[{\"address\":"
	 "\"2001:db8:11:0::2\",\"host\":\"2001:DB8:2::10\"},{\"address\":\"2001:db8:11::3\","
	 "\"port\":5353,\"host\":\"2001:db8:2::11\",\"weight\":7}]}",
	 "{\"op\":\"vip_create\",\"vip\":{\"address\":\"2001:db8::10\",\"protocol\":\"udp\",\"port\":53},"
	 "\"dips\":[{\"address\":\"2001:db8:11::2\",\"port\":53,\"host\":\"2001:db8:2::10\",\"weight\":100},"
	 "{\"address\":\"2001:db8:11::3\",\"port\":5353,\"host\":\"2001:db8:2::11\",\"weight\":7}]}"},
	{"PUT", VIP_PATH, "{\"dips\":[" DIP4 "]}",
	 "{\"op\":\"vip_update\",\"vip\":{" VIP4 "},\"dips\":[{\"address\":\"198.18.1.2\",\"port\":80,"
	 "\"host\":\"192.0.2.10\",\"weight\":100}]}"},
	{"PUT", VIP_PATH, "{\"dips\":[]}", "{\"op\":\"vip_update\",\"vip\":{" VIP4 "},\"dips\":[]}"},
	{"DELETE", "/v1/vips/udp/2001%3Adb8%3A%3A10/53", NULL,
	 "{\"op\":\"vip_delete\",\"vip\":{\"address\":\"2001:db8::10\",\"protocol\":\"udp\",\"port\":53}}"},
	{"POST", VIP_PATH "/dips", "{\"address\":\"198.18.1.2\",\"port\":8080,\"host\":\"192.0.2.10\",\"weight\":50}",
	 "{\"op\":\"dip_add\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080,"
	 "\"host\":\"192.0.2.10\",\"weight\":50}}"},
	{"DELETE", DIP_PATH, NULL,
	 "{\"op\":\"dip_remove\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080}}"},
	{"PUT", DIP_PATH "/weight", "{\"weight\":65535}",
	 "{\"op\":\"dip_set_weight\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080},"
	 "\"weight\":65535}"},
	{"POST", DIP_PATH "/drain", NULL,
	 "{\"op\":\"dip_drain\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080}}"},
	{"POST", DIP_PATH "/enable", NULL,
	 "{\"op\":\"dip_enable\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080}}"},
	{"POST", DIP_PATH "/disable", "ignored",
	 "{\"op\":\"dip_disable\",\"vip\":{" VIP4 "},\"dip\":{\"address\":\"198.18.1.2\",\"port\":8080}}"},
	{"POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"192.0.2.4:7000\"}",
	 "{\"op\":\"member_add\",\"id\":4,\"address\":\"192.0.2.4:7000\",\"role\":\"voter\"}"},
	{"POST", "/v1/cluster/members", "{\"id\":5,\"address\":\"[2001:DB8::5]:7000\",\"role\":\"spare\"}",
	 "{\"op\":\"member_add\",\"id\":5,\"address\":\"[2001:db8::5]:7000\",\"role\":\"spare\"}"},
	{"POST", "/v1/cluster/members", "{\"id\":6,\"address\":\"node-6.lab.example:7000\",\"role\":\"standby\"}",
	 "{\"op\":\"member_add\",\"id\":6,\"address\":\"node-6.lab.example:7000\",\"role\":\"standby\"}"},
	{"POST", "/v1/cluster/members",
	 "{\"id\":7,\"address\":\"192.0.2.7:7000\",\"api\":\"https://192.0.2.7:8443\"}",
	 "{\"op\":\"member_add\",\"id\":7,\"address\":\"192.0.2.7:7000\",\"role\":\"voter\","
	 "\"api\":\"https://192.0.2.7:8443\"}"},
	{"DELETE", "/v1/cluster/members/4", NULL, "{\"op\":\"member_remove\",\"id\":4}"},
	{"POST", "/v1/cluster/transfer", NULL, "{\"op\":\"transfer\",\"id\":0}"},
	{"POST", "/v1/cluster/transfer", "{\"id\":2}", "{\"op\":\"transfer\",\"id\":2}"},
	/* canonical prefixes, a bare address as a host prefix, in the order given */
	{"PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"2001:DB8:2:0::/64\",\"192.0.2.10\",\"198.18.0.0/15\"]}",
	 "{\"op\":\"set_tunnel_sources\",\"prefixes\":[\"2001:db8:2::/64\",\"192.0.2.10/32\","
	 "\"198.18.0.0/15\"]}"},
	{"PUT", "/v1/tunnel-sources", "{\"prefixes\":[]}",
	 "{\"op\":\"set_tunnel_sources\",\"prefixes\":[]}"},
	/* null: not set, each host agent back on its own file's list */
	{"PUT", "/v1/tunnel-sources", "{\"prefixes\":null}",
	 "{\"op\":\"set_tunnel_sources\",\"prefixes\":null}"},
	/* PoPs: the name from the path, canonical prefixes, anycast [] when absent */
	{"PUT", "/v1/pops/fra-1", "{\"unicast\":[\"203.0.113.0/25\",\"2001:DB8:A::/48\"],"
				  "\"anycast\":[\"203.0.113.0/24\"],\"state\":\"draining\"}",
	 "{\"op\":\"pop_set\",\"pop\":{\"name\":\"fra-1\",\"unicast\":[\"203.0.113.0/25\","
	 "\"2001:db8:a::/48\"],\"anycast\":[\"203.0.113.0/24\"],\"state\":\"draining\"}}"},
	{"PUT", "/v1/pops/b", "{\"unicast\":[\"198.18.4.0/24\"]}",
	 "{\"op\":\"pop_set\",\"pop\":{\"name\":\"b\",\"unicast\":[\"198.18.4.0/24\"],\"anycast\":[]}}"},
	{"DELETE", "/v1/pops/b", NULL, "{\"op\":\"pop_delete\",\"name\":\"b\"}"},
	{"POST", "/v1/pops/a/drain", NULL, "{\"op\":\"pop_drain\",\"name\":\"a\"}"},
	{"POST", "/v1/pops/a/undrain", NULL, "{\"op\":\"pop_undrain\",\"name\":\"a\"}"},
};

START_TEST(test_commands)
{
	const struct good_case *g = &good_cases[_i];
	json_t *want = json_loads(g->command, 0, NULL), *got;
	/* Odd cases go over HTTPS, even ones over the Unix socket. */
	struct resp r = call(_i % 2 ? TLS : UNIX, _i % 2 ? AUTH : NULL, g->method, g->path, g->body);
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(log_size(), 1);
	got = last_command();
	ck_assert_msg(json_equal(got, want), "case %d: got %s", _i, json_dumps(got, JSON_SORT_KEYS));
	/* The fake knows no VIP, so VIP commands other than create get 404. */
	ck_assert_msg(r.status == 200 || r.status == 201 || r.status == 404, "status %ld: %s", r.status,
		      r.raw);
	json_decref(want);
	json_decref(got);
	json_decref(r.json);
}
END_TEST

/* --------------------------------------------- results, reads, leaders */

START_TEST(test_create_show_delete)
{
	struct resp r = call(UNIX, NULL, "POST", "/v1/vips", "{" VIP4 ",\"dips\":[" DIP4 "]}");
	ck_assert_int_eq(r.status, 201);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r.json, "vip"), "port")), 80);
	json_decref(r.json);

	r = call(TLS, AUTH, "POST", "/v1/vips", "{" VIP4 "}");
	expect_error(&r, 409, "VIP tcp/203.0.113.10/80 already exists");

	r = call(TLS, AUTH, "GET", "/v1/vips", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "vips")), 1);
	json_decref(r.json);

	r = call(UNIX, NULL, "GET", VIP_PATH "/dips", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(r.json, "dips"), 0), "admin")),
			 "active");
	json_decref(r.json);

	r = call(UNIX, NULL, "DELETE", VIP_PATH, NULL);
	ck_assert_int_eq(r.status, 204);
	ck_assert_int_eq(r.len, 0);

	r = call(UNIX, NULL, "GET", VIP_PATH, NULL);
	expect_error(&r, 404, "no VIP tcp/203.0.113.10/80");
	r = call(UNIX, NULL, "GET", VIP_PATH "/dips", NULL);
	expect_error(&r, 404, "no VIP");
}
END_TEST

START_TEST(test_read_key_is_canonical)
{
	struct resp r = call(UNIX, NULL, "GET", "/v1/vips/udp/2001%3ADB8%3A0%3A%3A0010/0053", NULL);
	expect_error(&r, 404, "no VIP udp/2001:db8::10/53");
	pthread_mutex_lock(&S.fake.lock);
	ck_assert_str_eq(json_string_value(json_array_get(S.fake.keys, 0)), "udp/2001:db8::10/53");
	pthread_mutex_unlock(&S.fake.lock);
	r = call(UNIX, NULL, "GET", "/v1/cluster", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "term")), 3);
	json_decref(r.json);
}
END_TEST

START_TEST(test_not_leader)
{
	char want[128];
	struct resp r;
	set_mode(NOT_LEADER);
	snprintf(S.fake.leader, sizeof(S.fake.leader), "https://192.0.2.2:8443/");
	r = call(TLS, AUTH, "POST", VIP_PATH "/dips/198.18.1.2/8080/drain", NULL);
	snprintf(want, sizeof(want), "https://192.0.2.2:8443%s", VIP_PATH "/dips/198.18.1.2/8080/drain");
	ck_assert_str_eq(r.location, want);
	json_decref(r.json);
	/* A linearizable read goes to the leader too, its query kept. */
	r = call(TLS, AUTH, "GET", VIP_PATH "/dips?consistency=linearizable", NULL);
	snprintf(want, sizeof(want), "https://192.0.2.2:8443%s", VIP_PATH "/dips?consistency=linearizable");
	ck_assert_str_eq(r.location, want);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "leader")), "https://192.0.2.2:8443");
	expect_error(&r, 307, "not the leader");

	set_mode(NO_LEADER);
	r = call(UNIX, NULL, "POST", DIP_PATH "/drain", NULL);
	ck_assert(json_is_null(json_object_get(r.json, "leader")));
	expect_error(&r, 503, "no leader elected");

	/* A backend 307 without a usable URL is "leader unknown". */
	set_mode(NOT_LEADER);
	snprintf(S.fake.leader, sizeof(S.fake.leader), "192.0.2.2:8443");
	r = call(UNIX, NULL, "POST", DIP_PATH "/drain", NULL);
	expect_error(&r, 503, "the leader is unknown");
}
END_TEST

/* Local reads say how fresh they are; linearizable ones are the
 * backend's to confirm; a query is never silently ignored. */
START_TEST(test_read_consistency)
{
	struct resp r = call(UNIX, NULL, "GET", "/v1/vips", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "consistency")), "local");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "applied_index")), 41);
	json_decref(r.json);
	r = call(UNIX, NULL, "GET", VIP_PATH, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "applied_index")), 41);
	expect_error(&r, 404, "no VIP tcp/203.0.113.10/80");

	size_t before = log_size();
	r = call(UNIX, NULL, "GET", "/v1/vips?consistency=linearizable", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "consistency")), "linearizable");
	ck_assert(json_is_array(json_object_get(r.json, "vips")));
	json_decref(r.json);
	ck_assert_uint_eq(log_size(), before + 1);
	struct sl_api_call rd = last_call();
	ck_assert_int_eq(rd.action, SL_MGR_READ_VIPS);
	ck_assert(!rd.has_vip);
	r = call(UNIX, NULL, "GET", VIP_PATH "/dips?consistency=linearizable", NULL);
	rd = last_call();
	ck_assert_int_eq(rd.action, SL_MGR_READ_DIPS);
	ck_assert(rd.has_vip);
	ck_assert_str_eq(rd.vip.text, "tcp/203.0.113.10/80");
	expect_error(&r, 404, "no VIP");
	r = call(UNIX, NULL, "GET", "/v1/vips?consistency=local", NULL);
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);

	static const char *const bad[] = {"/v1/vips?consistency=linearisable", "/v1/vips?x=1",
					  "/v1/vips?consistency=local&x=1", "/v1/vips?"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call(UNIX, NULL, "GET", bad[i], NULL);
		if (i == 3) { /* an empty query is no query */
			ck_assert_int_eq(r.status, 200);
			json_decref(r.json);
			continue;
		}
		expect_error(&r, 400, "reads take consistency=local");
	}
	r = call(UNIX, NULL, "POST", DIP_PATH "/drain?consistency=linearizable", NULL);
	expect_error(&r, 400, "writes take no query parameters");
	ck_assert_uint_eq(log_size(), before + 2);
}
END_TEST

/* The tunnel sources read back as not set, set, and not set again (PUT
 * null), with the freshness fields of every local read; linearizable reads
 * are the backend's to confirm. */
START_TEST(test_tunnel_sources_read)
{
	struct resp r = call(UNIX, NULL, "GET", "/v1/tunnel-sources", NULL);
	json_t *file = json_loads("[\"192.0.2.10/32\",\"2001:db8:2::/64\"]", 0, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(json_is_null(json_object_get(r.json, "prefixes")), "%s", r.raw);
	ck_assert(json_is_false(json_object_get(r.json, "replicated")));
	ck_assert(json_equal(json_object_get(r.json, "file_prefixes"), file));
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "consistency")), "local");
	json_decref(r.json);
	r = call(TLS, AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[\"192.0.2.10\",\"2001:db8:2::/64\"]}");
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
	r = call(TLS, AUTH, "GET", "/v1/tunnel-sources", NULL);
	json_t *want = json_loads("[\"192.0.2.10/32\",\"2001:db8:2::/64\"]", 0, NULL);
	ck_assert_msg(json_equal(json_object_get(r.json, "prefixes"), want), "%s", r.raw);
	ck_assert(json_is_true(json_object_get(r.json, "replicated")));
	ck_assert_ptr_null(json_object_get(r.json, "file_prefixes"));
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "applied_index")), 41);
	json_decref(r.json);
	size_t before = log_size();
	r = call(UNIX, NULL, "GET", "/v1/tunnel-sources?consistency=linearizable", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "consistency")), "linearizable");
	ck_assert(json_equal(json_object_get(r.json, "prefixes"), want));
	json_decref(r.json);
	json_decref(want);
	ck_assert_uint_eq(log_size(), before + 1);
	struct sl_api_call rd = last_call();
	ck_assert_int_eq(rd.action, SL_MGR_READ_TUNNEL_SOURCES);
	ck_assert(!rd.has_vip);
	/* null unsets: the command carries null, and reads say not set again */
	r = call(TLS, AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":null}");
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
	json_t *cmd = last_command();
	ck_assert_msg(json_is_null(json_object_get(cmd, "prefixes")), "%s", json_dumps(cmd, 0));
	json_decref(cmd);
	r = call(UNIX, NULL, "GET", "/v1/tunnel-sources", NULL);
	ck_assert_msg(json_is_null(json_object_get(r.json, "prefixes")), "%s", r.raw);
	ck_assert(json_is_false(json_object_get(r.json, "replicated")));
	ck_assert(json_equal(json_object_get(r.json, "file_prefixes"), file));
	json_decref(r.json);
	json_decref(file);
	/* writes go to the leader like any other */
	set_mode(NOT_LEADER);
	snprintf(S.fake.leader, sizeof(S.fake.leader), "https://192.0.2.2:8443");
	r = call(TLS, AUTH, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[]}");
	ck_assert_str_eq(r.location, "https://192.0.2.2:8443/v1/tunnel-sources");
	expect_error(&r, 307, "not the leader");
	set_mode(NOT_READY);
	r = call(UNIX, NULL, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[]}");
	expect_error(&r, 503, "catching up");
}
END_TEST

/* A 503 with a retry hint carries Retry-After, in whole seconds. */
START_TEST(test_retry_after)
{
	set_mode(NOT_READY);
	struct resp r = call(UNIX, NULL, "POST", DIP_PATH "/drain", NULL);
	ck_assert_str_eq(r.retry_after, "1");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "retry_after_ms")), 10);
	expect_error(&r, 503, "catching up");
	set_mode(NO_LEADER);
	r = call(UNIX, NULL, "POST", DIP_PATH "/drain", NULL);
	ck_assert_str_eq(r.retry_after, "");
	expect_error(&r, 503, "no leader elected");
}
END_TEST

START_TEST(test_async_and_refused)
{
	struct resp r;
	set_mode(OK_LATER);
	r = call(UNIX, NULL, "POST", "/v1/vips", "{" VIP4 "}");
	ck_assert_int_eq(r.status, 201);
	json_decref(r.json);
	set_mode(REFUSE);
	r = call(UNIX, NULL, "POST", "/v1/cluster/transfer", NULL);
	expect_error(&r, 503, "cannot accept writes");
}
END_TEST

/* The manager never answers in time: 504; its late answer is absorbed. */
START_TEST(test_write_timeout)
{
	struct sl_api_config c;
	base_config(&c);
	c.write_timeout_ms = 100;
	start_with(&c);
	set_mode(HOLD);
	struct resp r = call(UNIX, NULL, "POST", "/v1/vips", "{" VIP4 "}");
	expect_error(&r, 504, "did not commit the change within 100 ms");
	uv_async_send(&S.fake.release);
	set_mode(OK_NOW);
	r = call(UNIX, NULL, "GET", VIP_PATH, NULL); /* the late commit applied */
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
	stop_server();
}
END_TEST

/* The client gives up before the commit; the late answer must be absorbed
 * (h2o 2.2 keeps an HTTP/1.1 request until it is answered and then finds
 * the socket closed) and the server must keep serving. */
START_TEST(test_client_gone)
{
	struct call_opts o = {.timeout_ms = 200};
	set_mode(HOLD);
	struct resp r = call_ex(TLS, AUTH, "POST", "/v1/vips", "{" VIP4 "}", strlen("{" VIP4 "}"), &o);
	ck_assert_int_eq(r.status, 0);
	usleep(100 * 1000);
	uv_async_send(&S.fake.release);
	set_mode(OK_NOW);
	r = call(TLS, AUTH, "GET", VIP_PATH, NULL);
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
}
END_TEST

/* --------------------------------------------------- transports, setup */

START_TEST(test_socket_mode)
{
	struct stat st;
	struct sl_api_config c;
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	stop_server();
	ck_assert_int_ne(access(sock_path, F_OK), 0); /* removed at stop */

	base_config(&c);
	c.socket_mode = 0660;
	start_with(&c);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	/* 0 is a mode like any other (root only), not "the default" */
	stop_server();
	c.socket_mode = 0;
	start_with(&c);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0);
}
END_TEST

START_TEST(test_client_cert)
{
	struct sl_api_config c;
	struct call_opts with = {client_pem, client_key_pem, 0};
	base_config(&c);
	c.token_file = NULL;
	c.client_ca_file = ca_pem;
	start_with(&c);
	struct resp r = call(TLS, NULL, "GET", "/v1/vips", NULL);
	ck_assert_msg(r.status == 0, "no client certificate, yet HTTP %ld", r.status);
	r = call_ex(TLS, NULL, "GET", "/v1/vips", NULL, 0, &with);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.curl_error);
	json_decref(r.json);
	stop_server();
}
END_TEST

struct start_case {
	const char *what; /* field to spoil */
	const char *error;
};

static const struct start_case start_cases[] = {
	{"no-transport", "needs a TCP listen address or a Unix socket path"},
	{"no-cert", "needs a certificate and a private key"},
	{"no-auth", "needs a token file, a client CA, or both"},
	{"bad-listen", "is not ADDRESS:PORT"},
	{"cert-missing", "cannot load the certificate"},
	{"key-is-cert", "cannot load the private key"},
	{"token-missing", "cannot open token file"},
	{"token-0644", "accessible by group or others"},
	{"token-short", "at least 16 characters"},
	{"socket-is-file", "exists and is not a socket"},
	{"listen-in-use", "cannot listen on"},
};

START_TEST(test_start_errors)
{
	const struct start_case *t = &start_cases[_i];
	struct sl_api_config c;
	char err[256] = "", file[128];
	uv_loop_t loop;
	uv_tcp_t busy;
	struct sockaddr_in sa;
	char listen[64];

	uv_loop_init(&loop);
	base_config(&c);
	path_in_dir(file, "spoiled");
	unlink(file);
	if (strcmp(t->what, "no-transport") == 0)
		c.listen = c.socket_path = NULL;
	else if (strcmp(t->what, "no-cert") == 0)
		c.cert_file = NULL;
	else if (strcmp(t->what, "no-auth") == 0)
		c.token_file = NULL;
	else if (strcmp(t->what, "bad-listen") == 0)
		c.listen = "localhost:http";
	else if (strcmp(t->what, "cert-missing") == 0)
		c.cert_file = file;
	else if (strcmp(t->what, "key-is-cert") == 0)
		c.key_file = ca_pem;
	else if (strcmp(t->what, "token-missing") == 0)
		c.token_file = file;
	else if (strcmp(t->what, "token-0644") == 0)
		write_file(file, TOKEN "\n", 0644), c.token_file = file;
	else if (strcmp(t->what, "token-short") == 0)
		write_file(file, "short\n", 0600), c.token_file = file;
	else if (strcmp(t->what, "socket-is-file") == 0)
		write_file(file, "", 0600), c.socket_path = file;
	else if (strcmp(t->what, "listen-in-use") == 0) {
		uv_tcp_init(&loop, &busy);
		uv_ip4_addr("127.0.0.1", 0, &sa);
		ck_assert_int_eq(uv_tcp_bind(&busy, (struct sockaddr *)&sa, 0), 0);
		ck_assert_int_eq(uv_listen((uv_stream_t *)&busy, 1, NULL), 0);
		int len = sizeof(sa);
		uv_tcp_getsockname(&busy, (struct sockaddr *)&sa, &len);
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(sa.sin_port));
		c.listen = listen;
		c.socket_path = NULL;
	}
	ck_assert_ptr_null(sl_api_start(&loop, &c, &fake_backend, err, sizeof(err)));
	ck_assert_msg(strstr(err, t->error) != NULL, "%s: \"%s\" lacks \"%s\"", t->what, err, t->error);
	if (strcmp(t->what, "listen-in-use") == 0)
		uv_close((uv_handle_t *)&busy, NULL);
	uv_run(&loop, UV_RUN_DEFAULT); /* failed starts release as the loop runs */
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	if (strcmp(t->what, "socket-is-file") == 0)
		ck_assert_int_eq(access(file, F_OK), 0); /* not ours: left alone */
	unlink(file);
}
END_TEST

/* A socket file left by a crashed run is replaced. */
START_TEST(test_stale_socket)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ck_assert_uint_lt(strlen(sock_path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	unlink(sock_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	start_default();
	struct resp r = call(UNIX, NULL, "GET", "/v1/cluster", NULL);
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
	stop_server();
}
END_TEST

/* ----------------------------------------------- routing, no server */

static json_t *no_get(void *ctx, const struct sl_api_call *call)
{
	(void)ctx, (void)call;
	return NULL;
}

static const struct sl_api_backend no_backend = {NULL, fake_submit, no_get};

static void route(const char *method, const char *path, size_t path_len, const char *body,
		  struct sl_api_outcome *o)
{
	sl_api_route(&no_backend, method, strlen(method), path, path_len, "", 0, body,
		     body ? strlen(body) : 0, o);
}

START_TEST(test_route_limits)
{
	struct sl_api_outcome o;
	json_t *big = json_pack("{s:s,s:s,s:i,s:[]}", "address", "203.0.113.10", "protocol", "tcp",
				"port", 80, "dips");
	char *text, *e, path[2048];

	for (int i = 0; i < SL_API_MAX_DIPS + 1; i++)
		json_array_append_new(json_object_get(big, "dips"),
				      json_pack("{s:s,s:i,s:s}", "address", "198.18.1.2", "port",
						1 + i, "host", "192.0.2.10"));
	text = json_dumps(big, 0);
	route("POST", "/v1/vips", 8, text, &o);
	ck_assert_int_eq(o.status, 400);
	e = json_dumps(o.json, 0);
	ck_assert_msg(strstr(e, "at most 4096 DIPs") != NULL, "%s", e);
	free(e);
	json_decref(o.json);
	/* exactly 4096 is fine */
	json_array_remove(json_object_get(big, "dips"), 0);
	free(text);
	text = json_dumps(big, 0);
	route("POST", "/v1/vips", 8, text, &o);
	ck_assert_int_eq(o.next, SL_API_SUBMIT);
	json_decref(o.json);
	free(text);
	json_decref(big);

	route("GET", "/v1/vips\0/x", 11, NULL, &o);
	ck_assert_int_eq(o.status, 400);
	json_decref(o.json);
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	route("GET", path, sizeof(path), NULL, &o);
	ck_assert_int_eq(o.status, 404);
	json_decref(o.json);
	route("GET", "/v1/a/b/c/d/e/f/g/h/i/j/k/l/m/n", 31, NULL, &o);
	ck_assert_int_eq(o.status, 404);
	json_decref(o.json);
	route("GET", "/v1/cluster", 11, NULL, &o);
	ck_assert_int_eq(o.status, 503);
	json_decref(o.json);
	route("GET", "/v1/tunnel-sources", 18, NULL, &o);
	ck_assert_int_eq(o.status, 503);
	json_decref(o.json);

	/* at most 64 tunnel sources */
	json_t *list = json_array();
	for (int i = 1; i <= SL_API_MAX_TUNNEL_SOURCES + 1; i++)
		json_array_append_new(list, json_sprintf("198.18.%d.0/24", i));
	json_t *body = json_pack("{s:O}", "prefixes", list);
	text = json_dumps(body, 0);
	route("PUT", "/v1/tunnel-sources", 18, text, &o);
	ck_assert_int_eq(o.status, 400);
	e = json_dumps(o.json, 0);
	ck_assert_msg(strstr(e, "prefixes: must be an array of at most 64 prefixes, or null, got an array") != NULL,
		      "%s", e);
	free(e);
	free(text);
	json_decref(o.json);
	json_array_remove(list, 0);
	text = json_dumps(body, 0);
	route("PUT", "/v1/tunnel-sources", 18, text, &o);
	ck_assert_int_eq(o.next, SL_API_SUBMIT);
	ck_assert_uint_eq(json_array_size(json_object_get(o.json, "prefixes")), 64);
	json_decref(o.json);
	free(text);
	json_decref(body);
	json_decref(list);
}
END_TEST

/* Route a NUL-terminated path and body; the reply's text, or the call's
 * (call_json()), for messages. */
static char *route_text(const char *method, const char *path, const char *body,
			struct sl_api_outcome *o)
{
	route(method, path, strlen(path), body, o);
	if (o->next == SL_API_REPLY)
		return json_dumps(o->json, JSON_SORT_KEYS);
	json_t *c = call_json(&o->call, o->json);
	char *text = json_dumps(c, JSON_SORT_KEYS);
	json_decref(c);
	return text;
}

static void expect_route(const char *method, const char *path, const char *body, int status,
			 const char *text)
{
	struct sl_api_outcome o;
	char *e = route_text(method, path, body, &o);
	if (status == 0)
		ck_assert_msg(o.next == SL_API_SUBMIT, "%s %s %s: %s", method, path, body ? body : "", e);
	else
		ck_assert_msg(o.next == SL_API_REPLY && o.status == status, "%s %s %s: %d %s",
			      method, path, body ? body : "", o.status, e);
	ck_assert_msg(strstr(e, text) != NULL, "%s %s: %s lacks %s", method, path, e, text);
	free(e);
	json_decref(o.json);
}

/* Which addresses may be VIPs, DIPs, hosts and members (docs/api.md,
 * "Addresses"); the manager and the file loader test the same table. */
START_TEST(test_route_special_addresses)
{
	static const struct {
		const char *vip, *dip, *host; /* one of them is the address under test */
		const char *text;             /* NULL: accepted */
	} cases[] = {
		{"::ffff:224.0.0.1", NULL, NULL, "address: ::ffff:224.0.0.1 is an IPv4-mapped IPv6 "
						 "address, which is not allowed; use the IPv4 address"},
		{"::ffff:0.0.0.0", NULL, NULL, "IPv4-mapped"},
		{"::ffff:255.255.255.255", NULL, NULL, "IPv4-mapped"},
		{"::203.0.113.10", NULL, NULL, "is an IPv4-compatible IPv6 address"},
		{"2001:db8::10", "::ffff:198.18.1.2", "2001:db8:2::21", "dips[0] address: ::ffff:198.18.1.2 is an IPv4-mapped"},
		{"2001:db8::10", "2001:db8:1::2", "::ffff:192.0.2.21", "dips[0] host: ::ffff:192.0.2.21 is an IPv4-mapped"},
		{"127.0.0.1", NULL, NULL, "127.0.0.1 is a loopback address"},
		{"::1", NULL, NULL, "::1 is a loopback address"},
		{"203.0.113.10", "169.254.1.2", "192.0.2.21", "169.254.1.2 is a link-local address"},
		{"2001:db8::10", "2001:db8:1::2", "fe80::21", "fe80::21 is a link-local address"},
		{"0.1.2.3", NULL, NULL, "0.1.2.3 is in 0.0.0.0/8"},
		{"224.0.0.1", NULL, NULL, "224.0.0.1 is a multicast address"},
		{"ff02::1", NULL, NULL, "ff02::1 is a multicast address"},
		{"255.255.255.255", NULL, NULL, "is the broadcast address"},
		{"0.0.0.0", NULL, NULL, "is the unspecified address"},
		{"::", NULL, NULL, "is the unspecified address"},
		/* allowed: routable where a network chooses to route them */
		{"100.64.0.10", NULL, NULL, NULL},  /* shared (CGN) */
		{"240.0.0.10", NULL, NULL, NULL},   /* reserved */
		{"10.0.0.10", NULL, NULL, NULL},    /* private */
		{"198.18.0.10", NULL, NULL, NULL},  /* benchmark */
		{"fc00::10", NULL, NULL, NULL},     /* unique local */
		{"64:ff9b::cb00:710a", NULL, NULL, NULL}, /* NAT64: IPv6 packets reach it */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *b = json_pack("{s:s,s:s,s:i}", "address", cases[i].vip, "protocol", "tcp",
				      "port", 80);
		if (cases[i].dip != NULL)
			json_object_set_new(b, "dips", json_pack("[{s:s,s:s}]", "address", cases[i].dip,
								 "host", cases[i].host));
		char *text = json_dumps(b, 0);
		expect_route("POST", "/v1/vips", text, cases[i].text ? 400 : 0,
			     cases[i].text ? cases[i].text : "vip_create");
		free(text);
		json_decref(b);
	}
	expect_route("GET", "/v1/vips/tcp/%3A%3Affff%3A203.0.113.10/80", NULL, 400,
		     "path VIP address: ::ffff:203.0.113.10 is an IPv4-mapped");
	/* Members may be on loopback (a cluster on one machine), never mapped. */
	expect_route("POST", "/v1/cluster/members",
		     "{\"id\": 4, \"address\": \"[::ffff:192.0.2.40]:7004\"}", 400,
		     "address: ::ffff:192.0.2.40 is an IPv4-mapped");
	expect_route("POST", "/v1/cluster/members", "{\"id\": 4, \"address\": \"127.0.0.1:7004\"}",
		     0, "127.0.0.1:7004");
	expect_route("POST", "/v1/cluster/members", "{\"id\": 4, \"address\": \"[::1]:7004\"}", 0,
		     "[::1]:7004");
	expect_route("POST", "/v1/cluster/members", "{\"id\": 4, \"address\": \"[ff02::1]:7004\"}",
		     400, "address: ff02::1 is a multicast address");
}
END_TEST

/* The path arrives raw: it is split on '/' first, then each segment is
 * percent-decoded, so an encoded slash is data, never a separator. */
START_TEST(test_route_raw_path)
{
	expect_route("GET", "/v1/vips/udp/2001%3Adb8%3A%3A10/53", NULL, 404,
		     "no VIP udp/2001:db8::10/53");
	expect_route("GET", "/v1/vips/tcp%2F203.0.113.10%2F80", NULL, 404, "no such endpoint");
	expect_route("GET", "/v1%2Fvips", NULL, 404, "no such endpoint");
	expect_route("GET", "/v1/vips/tcp/203.0.113.10%2F80/80", NULL, 400,
		     "path VIP address: must be");
	expect_route("DELETE", "/v1/vips/tcp/203.0.113.10/80/dips/198.18.1.2%2F80", NULL, 404,
		     "no such endpoint");
	expect_route("GET", "/%76%31/vips", NULL, 503, "vips state is not available");
	expect_route("GET", "/v1/vips/tcp/203.0.113.10/%38%30", NULL, 404,
		     "no VIP tcp/203.0.113.10/80");
	/* Malformed escapes and an encoded NUL are refused, not guessed at. */
	expect_route("GET", "/v1/vips/tcp/203.0.113.10/8%", NULL, 400, "percent-encoding");
	expect_route("GET", "/v1/vips/tcp/203.0.113.10/8%3", NULL, 400, "percent-encoding");
	expect_route("GET", "/v1/vips/tcp/203.0.113.10/%zz", NULL, 400, "percent-encoding");
	expect_route("GET", "/v1/vips/tcp/203.0.113.10%00/80", NULL, 400, "NUL");
}
END_TEST

/* Allow is the header of a 405 only. */
START_TEST(test_route_allow_only_on_405)
{
	struct sl_api_outcome o;
	free(route_text("POST", "/v1/vips", "{}", &o));
	ck_assert_int_eq(o.status, 400);
	ck_assert_str_eq(o.allow, "");
	json_decref(o.json);
	free(route_text("POST", "/v1/vips", "{\"address\": \"203.0.113.10\", \"protocol\": \"tcp\", "
					    "\"port\": 80}", &o));
	ck_assert_int_eq(o.next, SL_API_SUBMIT);
	ck_assert_str_eq(o.allow, "");
	json_decref(o.json);
	free(route_text("PATCH", "/v1/vips", NULL, &o));
	ck_assert_int_eq(o.status, 405);
	ck_assert_str_eq(o.allow, "GET, POST");
	json_decref(o.json);
}
END_TEST

/* Each route declares its manager action and the status its success
 * answers with (201 for creates); a write's arguments name no "op", which
 * the manager writes from the action. */
START_TEST(test_route_actions)
{
	static const struct {
		const char *method, *path, *body;
		enum sl_mgr_action action;
		int ok_status;
	} cases[] = {
		{"POST", "/v1/vips", "{" VIP4 "}", SL_MGR_VIP_CREATE, 201},
		{"PUT", VIP_PATH, "{\"dips\":[]}", SL_MGR_VIP_UPDATE, 200},
		{"DELETE", VIP_PATH, NULL, SL_MGR_VIP_DELETE, 200},
		{"POST", VIP_PATH "/dips", DIP4, SL_MGR_DIP_ADD, 201},
		{"DELETE", DIP_PATH, NULL, SL_MGR_DIP_REMOVE, 200},
		{"PUT", DIP_PATH "/weight", "{\"weight\":7}", SL_MGR_DIP_SET_WEIGHT, 200},
		{"POST", DIP_PATH "/drain", NULL, SL_MGR_DIP_DRAIN, 200},
		{"POST", DIP_PATH "/enable", NULL, SL_MGR_DIP_ENABLE, 200},
		{"POST", DIP_PATH "/disable", NULL, SL_MGR_DIP_DISABLE, 200},
		{"POST", "/v1/cluster/members", "{\"id\":4,\"address\":\"192.0.2.4:7000\"}",
		 SL_MGR_MEMBER_ADD, 200},
		{"DELETE", "/v1/cluster/members/4", NULL, SL_MGR_MEMBER_REMOVE, 200},
		{"POST", "/v1/cluster/transfer", NULL, SL_MGR_TRANSFER, 200},
		{"PUT", "/v1/tunnel-sources", "{\"prefixes\":null}", SL_MGR_SET_TUNNEL_SOURCES, 200},
		{"PUT", "/v1/pops/a", "{\"unicast\":[]}", SL_MGR_POP_SET, 200},
		{"DELETE", "/v1/pops/a", NULL, SL_MGR_POP_DELETE, 200},
		{"POST", "/v1/pops/a/drain", NULL, SL_MGR_POP_DRAIN, 200},
		{"POST", "/v1/pops/a/undrain", NULL, SL_MGR_POP_UNDRAIN, 200},
	};
	struct sl_api_outcome o;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		route(cases[i].method, cases[i].path, strlen(cases[i].path), cases[i].body, &o);
		ck_assert_msg(o.next == SL_API_SUBMIT && o.call.action == cases[i].action &&
				      o.call.ok_status == cases[i].ok_status,
			      "%s %s: %d %s %d", cases[i].method, cases[i].path, o.next,
			      sl_mgr_action_name(o.call.action), o.call.ok_status);
		ck_assert(json_is_object(o.json) && json_object_get(o.json, "op") == NULL);
		json_decref(o.json);
	}
}
END_TEST

/* A linearizable read is its action without arguments, and the path's VIP
 * reaches the manager parsed: family, address bytes, protocol, port. */
START_TEST(test_route_read_keys)
{
	static const char path[] = "/v1/vips/udp/2001%3ADB8%3A0%3A%3A0010/0053/dips";
	static const char query[] = "consistency=linearizable";
	unsigned char want[16] = {0};
	struct sl_api_outcome o;
	sl_api_route(&no_backend, "GET", 3, path, strlen(path), query, strlen(query), NULL, 0, &o);
	ck_assert_int_eq(o.next, SL_API_SUBMIT);
	ck_assert_int_eq(o.call.action, SL_MGR_READ_DIPS);
	ck_assert_int_eq(o.call.ok_status, 200);
	ck_assert_ptr_null(o.json);
	ck_assert(o.call.has_vip);
	ck_assert_int_eq(o.call.vip.family, 6);
	ck_assert_int_eq(o.call.vip.proto, IPPROTO_UDP);
	ck_assert_int_eq(o.call.vip.port, 53);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::10", want), 1);
	ck_assert_mem_eq(o.call.vip.addr, want, 16);
	ck_assert_str_eq(o.call.vip.text, "udp/2001:db8::10/53");

	sl_api_route(&no_backend, "GET", 3, "/v1/vips/tcp/203.0.113.10/80", 28, query, strlen(query),
		     NULL, 0, &o);
	memset(want, 0, sizeof(want));
	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.10", want), 1);
	ck_assert_int_eq(o.call.action, SL_MGR_READ_VIP);
	ck_assert_int_eq(o.call.vip.family, 4);
	ck_assert_int_eq(o.call.vip.proto, IPPROTO_TCP);
	ck_assert_mem_eq(o.call.vip.addr, want, 16); /* IPv4 in front, the rest zero */

	sl_api_route(&no_backend, "GET", 3, "/v1/cluster", 11, query, strlen(query), NULL, 0, &o);
	ck_assert_int_eq(o.call.action, SL_MGR_READ_CLUSTER);
	ck_assert(!o.call.has_vip);
}
END_TEST

/* The status a client sees for a success is the route's: the backend
 * passes it on (201 for a DIP added, 200 for its weight). */
START_TEST(test_success_status_from_route)
{
	struct resp r = call(UNIX, NULL, "POST", "/v1/vips", "{" VIP4 "}");
	ck_assert_int_eq(r.status, 201);
	json_decref(r.json);
	r = call(UNIX, NULL, "POST", VIP_PATH "/dips", DIP4);
	ck_assert_int_eq(r.status, 201);
	json_decref(r.json);
	r = call(TLS, AUTH, "PUT", DIP_PATH "/weight", "{\"weight\":7}");
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
}
END_TEST

/* Member ids up to the documented maximum, 2^63 - 1, in paths and bodies. */
START_TEST(test_route_member_ids)
{
	struct sl_api_outcome o;
	free(route_text("DELETE", "/v1/cluster/members/9223372036854775807", NULL, &o));
	ck_assert_int_eq(o.next, SL_API_SUBMIT);
	ck_assert(json_integer_value(json_object_get(o.json, "id")) == INT64_MAX);
	json_decref(o.json);
	expect_route("DELETE", "/v1/cluster/members/0009", NULL, 0, "\"id\": 9");
	expect_route("POST", "/v1/cluster/members",
		     "{\"id\": 9223372036854775807, \"address\": \"192.0.2.40:7004\", \"role\": "
		     "\"spare\"}",
		     0, "\"id\": 9223372036854775807");
	expect_route("DELETE", "/v1/cluster/members/9223372036854775808", NULL, 400,
		     "id: must be an integer from 1 to 9223372036854775807, got \\\"9223372036854775808");
	expect_route("DELETE", "/v1/cluster/members/0", NULL, 400, "id: must be an integer");
	expect_route("DELETE", "/v1/cluster/members/-1", NULL, 400, "id: must be an integer");
	expect_route("DELETE", "/v1/cluster/members/%2B1", NULL, 400, "id: must be an integer");
}
END_TEST

/* ------------------------------------------------------------ sluicectl */

struct ctl {
	int rc;
	char out[8192], err[4096];
};

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* Run sluicectl with the given arguments (NULL-terminated). */
static struct ctl ctl(const char *arg, ...)
{
	struct ctl c;
	const char *argv[32] = {SL_SLUICECTL};
	char out[128], err[128];
	posix_spawn_file_actions_t fa;
	int n = 1, status;
	pid_t pid;
	va_list ap;

	va_start(ap, arg);
	for (; arg != NULL && n < 31; arg = va_arg(ap, const char *))
		argv[n++] = arg;
	va_end(ap);
	path_in_dir(out, "ctl.out");
	path_in_dir(err, "ctl.err");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(posix_spawn(&pid, SL_SLUICECTL, &fa, NULL, (char **)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	c.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	slurp(out, c.out, sizeof(c.out));
	slurp(err, c.err, sizeof(c.err));
	return c;
}

#define CTL(...) ctl("--socket", sock_path, __VA_ARGS__, NULL)

static void expect_ctl(const struct ctl *c, int rc, const char *out, const char *err)
{
	ck_assert_msg(c->rc == rc, "exit %d, want %d; out: %s err: %s", c->rc, rc, c->out, c->err);
	if (out != NULL)
		ck_assert_msg(strstr(c->out, out) != NULL, "stdout lacks \"%s\": %s", out, c->out);
	if (err != NULL)
		ck_assert_msg(strstr(c->err, err) != NULL, "stderr lacks \"%s\": %s", err, c->err);
}

START_TEST(test_sluicectl_tables)
{
	struct ctl c = CTL("vip", "create", "tcp/203.0.113.10/80", "198.18.1.2:8080,host=192.0.2.10",
			   "198.18.1.3:8080,host=192.0.2.11,weight=50");
	expect_ctl(&c, 0, "ok\n", NULL);
	c = CTL("vip", "list");
	expect_ctl(&c, 0, "VIP                  DIPS  ACTIVE  DRAINING  DISABLED  UNHEALTHY  SERVING\n"
			  "tcp/203.0.113.10/80  2     2       0         0         0          2\n", NULL);
	c = CTL("vip", "show", "tcp/203.0.113.10/80");
	expect_ctl(&c, 0, "VIP tcp/203.0.113.10/80\n\n"
			  "ADDRESS     PORT  HOST        WEIGHT  ADMIN   HEALTH   EFFECTIVE\n"
			  "198.18.1.2  8080  192.0.2.10  100     active  healthy  100\n"
			  "198.18.1.3  8080  192.0.2.11  50      active  healthy  50\n", NULL);
	c = CTL("cluster", "status");
	expect_ctl(&c, 0, "leader         1 (192.0.2.1:7000)\n", NULL);
	expect_ctl(&c, 0, "ID  ADDRESS         ROLE     LEADER  MATCH  LAG\n"
			  "1   192.0.2.1:7000  voter    *       42     0\n"
			  "2   192.0.2.2:7000  standby          39     3\n", NULL);
}
END_TEST

START_TEST(test_sluicectl_json_and_exit_codes)
{
	struct ctl c = CTL("vip", "create", "tcp/203.0.113.10/80");
	json_t *j;
	expect_ctl(&c, 0, NULL, NULL);
	c = ctl("--socket", sock_path, "--json", "vip", "show", "tcp/203.0.113.10/80", NULL);
	expect_ctl(&c, 0, NULL, NULL);
	j = json_loads(c.out, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", c.out);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "port")), 80);
	json_decref(j);
	/* refused by the API: 1, with its message */
	c = CTL("vip", "create", "tcp/203.0.113.10/80");
	expect_ctl(&c, 1, NULL, "VIP tcp/203.0.113.10/80 already exists (HTTP 409)");
	c = CTL("dip", "weight", "tcp/203.0.113.10/80", "198.18.1.2:8080", "70000");
	expect_ctl(&c, 1, NULL, "weight: must be an integer from 1 to 65535, got 70000");
	c = CTL("vip", "show", "tcp/203.0.113.99/80");
	expect_ctl(&c, 1, NULL, "no VIP");
	c = CTL("member", "add", "x", "192.0.2.4:7000");
	expect_ctl(&c, 1, NULL, "id: must be an integer");
	/* usage: 2 */
	c = ctl(NULL);
	expect_ctl(&c, 2, NULL, "missing command");
	c = CTL("vip", "show", "tcp/203.0.113.10");
	expect_ctl(&c, 2, NULL, "is not PROTO/ADDRESS/PORT");
	c = CTL("dip", "drain", "tcp/203.0.113.10/80", "2001:db8::1:80");
	expect_ctl(&c, 2, NULL, "[ADDRESS]:PORT");
	c = CTL("vip", "frobnicate");
	expect_ctl(&c, 2, NULL, "unknown command");
	c = ctl("--url", "http://127.0.0.1:1", "vip", "list", NULL);
	expect_ctl(&c, 2, NULL, "https://");
	/* unreachable or server failure: 3 */
	c = ctl("--socket", "/nonexistent/api.sock", "vip", "list", NULL);
	expect_ctl(&c, 3, NULL, "cannot reach the API");
	set_mode(NO_LEADER);
	c = CTL("vip", "delete", "tcp/203.0.113.10/80");
	expect_ctl(&c, 3, NULL, "no leader elected (HTTP 503)");
	/* a 503 with a retry hint is asked again, until --timeout */
	set_mode(NOT_READY_ONCE);
	size_t before = log_size();
	c = CTL("dip", "drain", "tcp/203.0.113.10/80", "198.18.1.2:8080");
	expect_ctl(&c, 0, NULL, NULL);
	ck_assert_uint_eq(log_size(), before + 2);
	set_mode(NOT_READY);
	c = ctl("--socket", sock_path, "--timeout", "1", "dip", "drain", "tcp/203.0.113.10/80",
		"198.18.1.2:8080", NULL);
	expect_ctl(&c, 3, NULL, "catching up (HTTP 503)");
	ck_assert_uint_gt(log_size(), before + 10); /* every 10 ms for a second */
	/* --linearizable reads ask the backend to confirm */
	set_mode(OK_NOW);
	c = ctl("--socket", sock_path, "--json", "--linearizable", "vip", "list", NULL);
	expect_ctl(&c, 0, "\"consistency\": \"linearizable\"", NULL);
}
END_TEST

/* pop list as a table (and verbatim with --json); set, drain, undrain,
 * delete as the API's commands; usage errors send nothing. */
START_TEST(test_sluicectl_pops)
{
	struct ctl c = CTL("pop", "list");
	expect_ctl(&c, 0, "NAME  STATE     UNICAST         ANYCAST\n"
			  "a     draining  203.0.113.0/25  203.0.113.0/24,2001:db8::/32\n"
			  "b     active    -               -\n", NULL);
	c = ctl("--socket", sock_path, "--json", "pop", "list", NULL);
	expect_ctl(&c, 0, "\"state\": \"draining\"", NULL);
	static const struct {
		const char *argv[6];
		const char *want;
	} cases[] = {
		{{"pop", "set", "a", "unicast=203.0.113.0/25,2001:db8:a::/48", "anycast=203.0.113.0/24", NULL},
		 "{\"op\":\"pop_set\",\"pop\":{\"name\":\"a\",\"unicast\":[\"203.0.113.0/25\","
		 "\"2001:db8:a::/48\"],\"anycast\":[\"203.0.113.0/24\"]}}"},
		{{"pop", "set", "b", "unicast=", "state=down", NULL},
		 "{\"op\":\"pop_set\",\"pop\":{\"name\":\"b\",\"unicast\":[],\"anycast\":[],\"state\":\"down\"}}"},
		{{"pop", "drain", "a", NULL}, "{\"op\":\"pop_drain\",\"name\":\"a\"}"},
		{{"pop", "undrain", "a", NULL}, "{\"op\":\"pop_undrain\",\"name\":\"a\"}"},
		{{"pop", "delete", "b", NULL}, "{\"op\":\"pop_delete\",\"name\":\"b\"}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = ctl("--socket", sock_path, cases[i].argv[0], cases[i].argv[1], cases[i].argv[2],
			cases[i].argv[3], cases[i].argv[4], cases[i].argv[5]);
		expect_ctl(&c, 0, "ok\n", NULL);
		json_t *cmd = last_command(), *want = json_loads(cases[i].want, 0, NULL);
		ck_assert_msg(json_equal(cmd, want), "case %zu: %s", i, json_dumps(cmd, JSON_SORT_KEYS));
		json_decref(want);
		json_decref(cmd);
	}
	size_t before = log_size();
	c = CTL("pop", "set", "a", "unicast=198.18.0.1/24");
	expect_ctl(&c, 1, NULL, "unicast[0]: 198.18.0.1/24 has host bits set");
	c = CTL("pop", "set", "a", "prefixes=198.18.0.0/24");
	expect_ctl(&c, 2, NULL, "\"prefixes=198.18.0.0/24\" is not unicast=..., anycast=... or state=...");
	c = CTL("pop", "drain");
	expect_ctl(&c, 2, NULL, "wrong number of arguments for \"drain\"");
	c = CTL("pop");
	expect_ctl(&c, 2, NULL, "missing subcommand for \"pop\"");
	ck_assert_uint_eq(log_size(), before);
}
END_TEST

START_TEST(test_sluicectl_tunnel_sources)
{
	static const char not_set[] = "not set in the cluster: each host agent uses its own "
				      "host.tunnel_sources";
	struct ctl c = CTL("tunnel-sources");
	expect_ctl(&c, 0, "not set in the cluster: each host agent uses its own host.tunnel_sources "
			  "(this instance: 192.0.2.10/32, 2001:db8:2::/64)\n", NULL);
	c = CTL("tunnel-sources", "set", "2001:DB8:2::/64", "192.0.2.10");
	expect_ctl(&c, 0, "ok\n", NULL);
	json_t *cmd = last_command();
	json_t *want = json_loads("{\"op\":\"set_tunnel_sources\",\"prefixes\":[\"2001:db8:2::/64\","
				  "\"192.0.2.10/32\"]}", 0, NULL);
	ck_assert_msg(json_equal(cmd, want), "%s", json_dumps(cmd, 0));
	json_decref(want);
	json_decref(cmd);
	static const char set[] = "set in the cluster: every host agent takes tunnels from these "
				  "only\n\nPREFIX\n2001:db8:2::/64\n192.0.2.10/32\n";
	c = CTL("tunnel-sources");
	expect_ctl(&c, 0, set, NULL);
	ck_assert_ptr_null(strstr(c.out, not_set));
	c = CTL("tunnel-sources", "show");
	expect_ctl(&c, 0, set, NULL);
	c = ctl("--socket", sock_path, "--json", "--linearizable", "tunnel-sources", NULL);
	expect_ctl(&c, 0, "\"consistency\": \"linearizable\"", NULL);
	/* set to none (the API only) is not "not set" */
	struct resp r = call(UNIX, NULL, "PUT", "/v1/tunnel-sources", "{\"prefixes\":[]}");
	ck_assert_int_eq(r.status, 200);
	json_decref(r.json);
	c = CTL("tunnel-sources");
	expect_ctl(&c, 0, "set in the cluster to none: every host agent drops every tunnel\n", NULL);
	/* unset: PUT null, and each host agent is back on its own list */
	c = CTL("tunnel-sources", "unset");
	expect_ctl(&c, 0, "ok\n", NULL);
	cmd = last_command();
	want = json_loads("{\"op\":\"set_tunnel_sources\",\"prefixes\":null}", 0, NULL);
	ck_assert_msg(json_equal(cmd, want), "%s", json_dumps(cmd, 0));
	json_decref(want);
	json_decref(cmd);
	c = CTL("tunnel-sources");
	expect_ctl(&c, 0, not_set, NULL);
	ck_assert_ptr_null(strstr(c.out, "PREFIX"));
	/* an instance without the host role has no list of its own */
	json_array_clear(S.fake.file_prefixes);
	c = CTL("tunnel-sources");
	expect_ctl(&c, 0, "not set in the cluster: each host agent uses its own host.tunnel_sources "
			  "(this instance: none, it has no host role)\n", NULL);
	/* the API's message and exit 1; usage errors exit 2 and send nothing */
	size_t before = log_size();
	c = CTL("tunnel-sources", "set", "192.0.2.10/24");
	expect_ctl(&c, 1, NULL, "prefixes[0]: 192.0.2.10/24 has host bits set (did you mean "
				"192.0.2.0/24?) (HTTP 400)");
	c = CTL("tunnel-sources", "set");
	expect_ctl(&c, 2, NULL, "wrong number of arguments for \"set\"");
	c = CTL("tunnel-sources", "show", "x");
	expect_ctl(&c, 2, NULL, "wrong number of arguments for \"show\"");
	c = CTL("tunnel-sources", "unset", "192.0.2.10");
	expect_ctl(&c, 2, NULL, "wrong number of arguments for \"unset\"");
	c = CTL("tunnel-sources", "192.0.2.10");
	expect_ctl(&c, 2, NULL, "unknown command \"tunnel-sources 192.0.2.10\"");
	c = CTL("vip");
	expect_ctl(&c, 2, NULL, "missing subcommand for \"vip\"");
	ck_assert_uint_eq(log_size(), before);
}
END_TEST

START_TEST(test_sluicectl_https_and_redirect)
{
	char url[64], bad_token[128];
	struct ctl c;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", S.port);
	c = ctl("--url", url, "--token-file", token_file, "--cacert", ca_pem, "vip", "list", NULL);
	expect_ctl(&c, 0, "no VIPs", NULL);
	path_in_dir(bad_token, "bad-token");
	write_file(bad_token, "not-the-token-0123456789\n", 0600);
	c = ctl("--url", url, "--token-file", bad_token, "--cacert", ca_pem, "vip", "list", NULL);
	expect_ctl(&c, 1, NULL, "invalid bearer token (HTTP 401)");
	c = ctl("--url", url, "--token-file", token_file, "vip", "list", NULL); /* untrusted cert */
	expect_ctl(&c, 3, NULL, "cannot reach the API");
	/* a follower (the socket) sends the write to the leader (HTTPS) */
	set_mode(REDIRECT_ONCE);
	c = ctl("--socket", sock_path, "--token-file", token_file, "--cacert", ca_pem, "vip",
		"create", "tcp/203.0.113.10/80", NULL);
	expect_ctl(&c, 0, "ok", NULL);
	ck_assert_int_eq(log_size(), 2);
	set_mode(NOT_LEADER);
	c = CTL("vip", "delete", "tcp/203.0.113.10/80");
	expect_ctl(&c, 3, NULL, "not the leader; the leader's API is https://127.0.0.1:");
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("server");
	tcase_add_checked_fixture(tc, start_default, stop_server);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bad_input, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_loop_test(tc, test_commands, 0, sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_test(tc, test_allow_header);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_http1_only);
	tcase_add_test(tc, test_create_show_delete);
	tcase_add_test(tc, test_success_status_from_route);
	tcase_add_test(tc, test_read_key_is_canonical);
	tcase_add_test(tc, test_not_leader);
	tcase_add_test(tc, test_read_consistency);
	tcase_add_test(tc, test_tunnel_sources_read);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_async_and_refused);
	tcase_add_test(tc, test_client_gone);
	tcase_add_test(tc, test_socket_mode);
	tcase_add_test(tc, test_sluicectl_tables);
	tcase_add_test(tc, test_sluicectl_json_and_exit_codes);
	tcase_add_test(tc, test_sluicectl_https_and_redirect);
	tcase_add_test(tc, test_sluicectl_tunnel_sources);
	tcase_add_test(tc, test_sluicectl_pops);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_timeout);
	tcase_add_test(tc, test_client_cert);
	tcase_add_loop_test(tc, test_start_errors, 0, sizeof(start_cases) / sizeof(start_cases[0]));
	tcase_add_test(tc, test_stale_socket);
	tcase_add_test(tc, test_route_limits);
	tcase_add_test(tc, test_route_special_addresses);
	tcase_add_test(tc, test_route_raw_path);
	tcase_add_test(tc, test_route_allow_only_on_405);
	tcase_add_test(tc, test_route_member_ids);
	tcase_add_test(tc, test_route_actions);
	tcase_add_test(tc, test_route_read_keys);
	suite_add_tcase(s, tc);
	return s;
}

static void remove_dir(void)
{
	static const char *const names[] = {"ca.pem", "cert.pem", "key.pem", "client.pem",
					    "client-key.pem", "token", "api.sock", "ctl.out",
					    "ctl.err", "bad-token", "spoiled"};
	char p[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in_dir(p, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	int failed;
	snprintf(dir, sizeof(dir), "/tmp/sluice-api-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	path_in_dir(ca_pem, "ca.pem");
	path_in_dir(cert_pem, "cert.pem");
	path_in_dir(key_pem, "key.pem");
	path_in_dir(client_pem, "client.pem");
	path_in_dir(client_key_pem, "client-key.pem");
	path_in_dir(token_file, "token");
	path_in_dir(sock_path, "api.sock");
	make_pki();
	write_file(token_file, TOKEN "\n", 0600);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	SRunner *sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	remove_dir();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
