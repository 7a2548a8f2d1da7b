/*
 * sluicectl: the operator's client for the Sluice API (docs/api.md).
 *
 * Each command becomes one HTTP request (libcurl) to the Unix socket or an
 * HTTPS URL; replies print as aligned tables, or verbatim with --json.
 * Values are checked by the API, not here, so there is one validator and
 * one set of messages: sluicectl only checks the shape of its arguments.
 *
 * Exit codes, for scripts: 0 done; 1 the API refused the request (4xx:
 * bad value, unknown VIP, bad credentials...); 2 usage error; 3 no answer
 * (cannot connect, TLS failure, timeout) or the cluster failed (5xx).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "local.h"

#define EXIT_API 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

#define DEFAULT_SOCKET "/run/sluice/api.sock"
#define MAX_REDIRECTS 3
#define MAX_REPLY (16 * 1024 * 1024)
#define PATH_LEN 1024

struct opts {
	const char *socket, *url, *token_file, *cacert, *cert, *key;
	bool json;
	bool linearizable;
	long timeout_s;
	char token[4096];
	struct local_opts local;
};

/* What a command asks of the API and how to print a successful reply. */
struct request {
	const char *method;
	char path[PATH_LEN];
	json_t *body;
	void (*print)(const json_t *reply);
};

static const char usage_text[] =
	"usage: sluicectl [--socket PATH | --url https://HOST:PORT [--token-file F] [--cacert F]\n"
	"                 [--cert F --key F]] [--json] [--linearizable] [--timeout SECONDS]\n"
	"                 COMMAND ...\n"
	"\n"
	"  vip list\n"
	"  vip show VIP\n"
	"  vip create VIP [DIPSPEC...]\n"
	"  vip update VIP [DIPSPEC...]      replace the VIP's DIPs as one change\n"
	"  vip delete VIP\n"
	"  dip add VIP DIPSPEC\n"
	"  dip list VIP\n"
	"  dip remove VIP DIP\n"
	"  dip weight VIP DIP WEIGHT\n"
	"  dip drain|enable|disable VIP DIP\n"
	"  cluster status\n"
	"  member add ID HOST:PORT [voter|spare|standby] [https://API-URL]\n"
	"  member remove ID\n"
	"  leader transfer [ID]\n"
	"  tunnel-sources [show]            prefixes host agents take tunnels from\n"
	"  tunnel-sources set PREFIX...     set them for the cluster (ADDRESS or ADDRESS/LENGTH)\n"
	"  tunnel-sources unset             each host agent uses its own file's again\n"
	"  pop list                         points of presence: prefixes and state\n"
	"  pop set NAME unicast=P[,P...] [anycast=P[,P...]] [state=active|draining|down]\n"
	"                                   create or replace a PoP (P: ADDRESS/LENGTH)\n"
	"  pop drain|undrain NAME           withdraw its unicast prefixes / announce them again\n"
	"  pop delete NAME\n"
	"\n"
	"  About the instance on this machine (its DPDK telemetry socket, not the API):\n"
	"  [--file-prefix P | --telemetry PATH] [--bird PATH] bgp\n"
	"                                   BGP sessions (from BIRD's control socket) and\n"
	"                                   what this mux announces and why\n"
	"  [--file-prefix P | --telemetry PATH] mux drain\n"
	"                                   withdraw, wait for VIP traffic to stop, exit 0\n"
	"\n"
	"  VIP      PROTO/ADDRESS/PORT     tcp/203.0.113.10/80, udp/2001:db8::10/53\n"
	"  DIP      ADDRESS:PORT           198.18.1.2:8080, [2001:db8::2]:8080\n"
	"  DIPSPEC  DIP,host=ADDRESS[,weight=N]\n"
	"\n"
	"Default transport: the Unix socket " DEFAULT_SOCKET ".\n"
	"Reads show the state of the member asked, which may lag the leader's;\n"
	"--linearizable reads through the leader once it has confirmed it leads.\n"
	"A 503 with a retry hint (a leader catching up, an election) is retried\n"
	"until --timeout.\n"
	"Exit status: 0 ok, 1 refused by the API, 2 usage, 3 unreachable or server error.\n";

static void usage_exit(void) __attribute__((noreturn));
static void usage_exit(void)
{
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sluicectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage_exit();
}

/* ------------------------------------------------------------- values */

/* Digits become a JSON integer (up to 2^63 - 1, the largest member id),
 * anything else stays a string, so the API (not sluicectl) says what is
 * wrong with a value. */
static json_t *value_of(const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && strspn(s, "0123456789") == n) {
		errno = 0;
		long long v = strtoll(s, NULL, 10);
		if (errno == 0)
			return json_integer(v);
	}
	return json_string(s);
}

/* Append "/" and a percent-encoded segment to a path. */
static void add_seg(struct request *r, const char *seg)
{
	char *e = curl_easy_escape(NULL, seg, 0);
	size_t used = strlen(r->path);
	if (e == NULL || snprintf(r->path + used, PATH_LEN - used, "/%s", e) >= (int)(PATH_LEN - used))
		usage_error("argument too long: %s", seg);
	curl_free(e);
}

/* "tcp/203.0.113.10/80": protocol, address, port; the address may hold
 * colons (IPv6) but no slash. */
static void add_vip(struct request *r, const char *vip)
{
	const char *a = strchr(vip, '/'), *p = strrchr(vip, '/');
	char proto[16], addr[128];
	if (a == NULL || p == a || (size_t)(a - vip) >= sizeof(proto) ||
	    (size_t)(p - a - 1) >= sizeof(addr))
		usage_error("VIP \"%s\" is not PROTO/ADDRESS/PORT", vip);
	snprintf(proto, sizeof(proto), "%.*s", (int)(a - vip), vip);
	snprintf(addr, sizeof(addr), "%.*s", (int)(p - a - 1), a + 1);
	add_seg(r, "v1");
	add_seg(r, "vips");
	add_seg(r, proto);
	add_seg(r, addr);
	add_seg(r, p + 1);
}

/* "ADDRESS:PORT" or "[IPv6]:PORT" into addr and port (no ":PORT": port
 * NULL, allowed only when optional). */
static void split_dip(const char *dip, char *addr, size_t len, const char **port, bool optional)
{
	const char *end = dip, *colon;
	if (dip[0] == '[') {
		end = strchr(dip, ']');
		if (end == NULL)
			usage_error("DIP \"%s\": missing ']'", dip);
		snprintf(addr, len, "%.*s", (int)(end - dip - 1), dip + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			usage_error("DIP \"%s\" is not [ADDRESS]:PORT", dip);
	} else {
		colon = strchr(dip, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			usage_error("DIP \"%s\": write IPv6 addresses as [ADDRESS]:PORT", dip);
		snprintf(addr, len, "%.*s", (int)(colon ? colon - dip : (long)strlen(dip)), dip);
	}
	*port = colon ? colon + 1 : NULL;
	if (*port == NULL && !optional)
		usage_error("DIP \"%s\" needs a port (ADDRESS:PORT)", dip);
}

static void add_dip(struct request *r, const char *dip)
{
	char addr[128];
	const char *port;
	split_dip(dip, addr, sizeof(addr), &port, false);
	add_seg(r, "dips");
	add_seg(r, addr);
	add_seg(r, port);
}

/* "198.18.1.2:8080,host=192.0.2.10,weight=50" -> a DIP object. */
static json_t *dip_spec(const char *spec)
{
	char buf[512], addr[128], *save = NULL, *item;
	const char *port;
	json_t *d = json_object();
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		usage_error("DIP spec too long: %s", spec);
	item = strtok_r(buf, ",", &save);
	if (item == NULL)
		usage_error("empty DIP spec");
	split_dip(item, addr, sizeof(addr), &port, true);
	json_object_set_new(d, "address", json_string(addr));
	if (port != NULL)
		json_object_set_new(d, "port", value_of(port));
	while ((item = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(item, '=');
		if (eq == NULL)
			usage_error("DIP spec item \"%s\" is not KEY=VALUE", item);
		*eq = '\0';
		if (strcmp(item, "host") != 0 && strcmp(item, "weight") != 0)
			usage_error("DIP spec key \"%s\" is not host or weight", item);
		json_object_set_new(d, item, value_of(eq + 1));
	}
	return d;
}

static json_t *dip_list(char **specs, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, dip_spec(specs[i]));
	return a;
}

/* ------------------------------------------------------------- tables */

struct column {
	const char *title; /* NULL: no header line */
	const char *key;
};

static void cell(const json_t *v, char *buf, size_t len)
{
	if (v == NULL) { /* absent field, e.g. match_index on a follower */
		snprintf(buf, len, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING: snprintf(buf, len, "%s", json_string_value(v)); break;
	case JSON_INTEGER: snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: snprintf(buf, len, "%g", json_real_value(v)); break;
	case JSON_TRUE: snprintf(buf, len, "yes"); break;
	case JSON_FALSE: snprintf(buf, len, "no"); break;
	default: snprintf(buf, len, "-");
	}
}

/* Rows are objects; each column shows one key, padded to the widest. */
static void print_table(const json_t *rows, const struct column *cols, size_t ncols)
{
	size_t width[16] = {0}, i, c;
	const json_t *row;
	char buf[256];

	for (c = 0; c < ncols; c++)
		width[c] = cols[c].title ? strlen(cols[c].title) : 0;
	json_array_foreach((json_t *)rows, i, row)
		for (c = 0; c < ncols; c++) {
			cell(json_object_get(row, cols[c].key), buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	for (c = 0; cols[0].title && c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].title,
		       c + 1 < ncols ? "  " : "\n");
	json_array_foreach((json_t *)rows, i, row)
		for (c = 0; c < ncols; c++) {
			cell(json_object_get(row, cols[c].key), buf, sizeof(buf));
			printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, buf,
			       c + 1 < ncols ? "  " : "\n");
		}
}

static json_t *vip_name(const json_t *v)
{
	char buf[256];
	cell(json_object_get(v, "protocol"), buf, 64);
	size_t n = strlen(buf);
	buf[n++] = '/';
	cell(json_object_get(v, "address"), buf + n, 128);
	n = strlen(buf);
	buf[n++] = '/';
	cell(json_object_get(v, "port"), buf + n, 16);
	return json_string(buf);
}

static size_t count(const json_t *dips, const char *key, const char *value)
{
	size_t i, n = 0;
	const json_t *d;
	json_array_foreach((json_t *)dips, i, d)
		n += json_is_string(json_object_get(d, key)) &&
		     strcmp(json_string_value(json_object_get(d, key)), value) == 0;
	return n;
}

/* DIPs that take new flows: a weight left after admin state and health. */
static size_t count_serving(const json_t *dips)
{
	size_t n = 0, i;
	const json_t *d;
	json_array_foreach(dips, i, d)
		n += json_integer_value(json_object_get(d, "effective_weight")) > 0;
	return n;
}

/* Said only when it matters: this instance's data plane is behind. */
static void print_lag(const json_t *reply)
{
	json_int_t want = json_integer_value(json_object_get(reply, "generation"));
	json_int_t have = json_integer_value(json_object_get(reply, "dataplane_generation"));
	if (have < want)
		printf("\nthis instance's data plane is at generation %" JSON_INTEGER_FORMAT
		       " of %" JSON_INTEGER_FORMAT " (catching up, or see its log)\n",
		       have, want);
}

/* A listing's rows (taken: freed here), or `none` when it has none, then
 * the reply's replication lag. */
static void print_listing(json_t *rows, const struct column *cols, size_t ncols, const char *none,
			  const json_t *reply)
{
	if (json_array_size(rows) == 0)
		printf("%s\n", none);
	else
		print_table(rows, cols, ncols);
	json_decref(rows);
	print_lag(reply);
}

static void print_vips(const json_t *reply)
{
	static const struct column cols[] = {
		{"VIP", "vip"},           {"DIPS", "dips"},         {"ACTIVE", "active"},
		{"DRAINING", "draining"}, {"DISABLED", "disabled"}, {"UNHEALTHY", "unhealthy"},
		{"SERVING", "serving"},
	};
	json_t *rows = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(reply, "vips"), i, v) {
		json_t *dips = json_object_get(v, "dips");
		json_array_append_new(rows, json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I}", "vip", vip_name(v),
						      "dips", (json_int_t)json_array_size(dips),
						      "active", (json_int_t)count(dips, "admin", "active"),
						      "draining", (json_int_t)count(dips, "admin", "draining"),
						      "disabled", (json_int_t)count(dips, "admin", "disabled"),
						      "unhealthy", (json_int_t)count(dips, "health", "unhealthy"),
						      "serving", (json_int_t)count_serving(dips)));
	}
	print_listing(rows, cols, sizeof(cols) / sizeof(cols[0]), "no VIPs", reply);
}

static void print_dips(const json_t *dips)
{
	static const struct column cols[] = {
		{"ADDRESS", "address"}, {"PORT", "port"},     {"HOST", "host"},
		{"WEIGHT", "weight"},   {"ADMIN", "admin"}, {"HEALTH", "health"},
		{"EFFECTIVE", "effective_weight"},
	};
	if (json_array_size(dips) == 0)
		printf("no DIPs\n");
	else
		print_table(dips, cols, sizeof(cols) / sizeof(cols[0]));
}

static void print_vip(const json_t *reply)
{
	json_t *name = vip_name(reply);
	printf("VIP %s\n\n", json_string_value(name));
	json_decref(name);
	print_dips(json_object_get(reply, "dips"));
	print_lag(reply);
}

static void print_dip_list(const json_t *reply)
{
	print_dips(json_object_get(reply, "dips"));
	print_lag(reply);
}

static void print_cluster(const json_t *reply)
{
	static const struct column kv[] = {{NULL, "k"}, {NULL, "v"}};
	static const struct column cols[] = {
		{"ID", "id"},           {"ADDRESS", "address"}, {"ROLE", "role"},
		{"LEADER", "leader"},   {"MATCH", "match_index"}, {"LAG", "lag"},
	};
	const json_t *leader = json_object_get(reply, "leader"), *m;
	json_t *summary, *members = json_array();
	char lead[256] = "unknown";
	size_t i;

	if (json_is_object(leader)) {
		char id[32], addr[200];
		cell(json_object_get(leader, "id"), id, sizeof(id));
		cell(json_object_get(leader, "address"), addr, sizeof(addr));
		snprintf(lead, sizeof(lead), "%s (%s)", id, addr);
	}
	summary = json_pack("[{s:s,s:O*},{s:s,s:s},{s:s,s:O*},{s:s,s:O*},{s:s,s:O*}]", "k",
			    "this instance", "v", json_object_get(reply, "id"), "k", "leader", "v",
			    lead, "k", "term", "v", json_object_get(reply, "term"), "k",
			    "commit index", "v", json_object_get(reply, "commit_index"), "k",
			    "applied index", "v", json_object_get(reply, "applied_index"));
	print_table(summary, kv, 2);
	json_decref(summary);
	json_array_foreach(json_object_get(reply, "members"), i, m) {
		json_t *row = json_deep_copy(m);
		bool is_leader = json_is_object(leader) &&
				 json_equal(json_object_get(m, "id"), json_object_get(leader, "id"));
		json_object_set_new(row, "leader", json_string(is_leader ? "*" : ""));
		json_array_append_new(members, row);
	}
	printf("\n");
	print_table(members, cols, sizeof(cols) / sizeof(cols[0]));
	json_decref(members);
}

/* Not set in the cluster: the answering instance's own list, which its
 * data plane uses (empty: it has no host role). */
static void print_file_tunnel_sources(const json_t *file)
{
	const json_t *p;
	size_t i;
	printf("not set in the cluster: each host agent uses its own host.tunnel_sources");
	if (json_is_array(file) && json_array_size(file) == 0)
		printf(" (this instance: none, it has no host role)");
	json_array_foreach(file, i, p)
		printf("%s%s", i == 0 ? " (this instance: " : ", ", json_string_value(p));
	printf("%s\n", json_array_size(file) > 0 ? ")" : "");
}

static void print_tunnel_sources(const json_t *reply)
{
	static const struct column cols[] = {{"PREFIX", "prefix"}};
	const json_t *list = json_object_get(reply, "prefixes");
	json_t *rows = json_array(), *p;
	size_t i;
	json_array_foreach(list, i, p)
		json_array_append_new(rows, json_pack("{s:O}", "prefix", p));
	if (!json_is_array(list)) {
		print_file_tunnel_sources(json_object_get(reply, "file_prefixes"));
	} else if (json_array_size(rows) == 0) {
		printf("set in the cluster to none: every host agent drops every tunnel\n");
	} else {
		printf("set in the cluster: every host agent takes tunnels from these only\n\n");
		print_table(rows, cols, 1);
	}
	json_decref(rows);
	print_lag(reply);
}

/* A list of prefixes as one cell: "198.18.0.0/24,198.18.4.0/24" or "-". */
static json_t *joined(const json_t *list)
{
	char buf[512] = "";
	size_t used = 0, i;
	const json_t *p;
	json_array_foreach(list, i, p)
		used += (size_t)snprintf(buf + used, used < sizeof(buf) ? sizeof(buf) - used : 0, "%s%s",
					 i > 0 ? "," : "", json_string_value(p));
	return json_string(buf[0] != '\0' ? buf : "-");
}

static void print_pops(const json_t *reply)
{
	static const struct column cols[] = {
		{"NAME", "name"}, {"STATE", "state"}, {"UNICAST", "unicast"}, {"ANYCAST", "anycast"}};
	json_t *rows = json_array(), *p;
	size_t i;
	json_array_foreach(json_object_get(reply, "pops"), i, p)
		json_array_append_new(rows, json_pack("{s:O,s:O,s:o,s:o}", "name", json_object_get(p, "name"),
						      "state", json_object_get(p, "state"), "unicast",
						      joined(json_object_get(p, "unicast")), "anycast",
						      joined(json_object_get(p, "anycast"))));
	print_listing(rows, cols, sizeof(cols) / sizeof(cols[0]), "no PoPs", reply);
}

static void print_ok(const json_t *reply)
{
	(void)reply;
	printf("ok\n");
}

/* ----------------------------------------------------------- commands */

struct command {
	const char *noun, *verb; /* verb NULL: the noun alone */
	int min_args, max_args; /* after noun and verb; -1: any number */
	void (*build)(struct request *r, char **args, int nargs, const char *verb);
};

static void build_vip_list(struct request *r, char **a, int n, const char *verb)
{
	(void)a, (void)n, (void)verb;
	r->method = "GET";
	snprintf(r->path, PATH_LEN, "/v1/vips");
	r->print = print_vips;
}

static void build_vip_show(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "GET";
	add_vip(r, a[0]);
	r->print = print_vip;
}

static void build_vip_create(struct request *r, char **a, int n, const char *verb)
{
	char proto[16];
	struct request tmp = {0};
	(void)verb;
	add_vip(&tmp, a[0]); /* checks the shape */
	const char *addr = strchr(a[0], '/') + 1, *port = strrchr(a[0], '/') + 1;
	snprintf(proto, sizeof(proto), "%.*s", (int)(addr - a[0] - 1), a[0]);
	r->method = "POST";
	snprintf(r->path, PATH_LEN, "/v1/vips");
	r->body = json_pack("{s:s,s:s%,s:o,s:o}", "protocol", proto, "address", addr,
			    (size_t)(port - addr - 1), "port", value_of(port), "dips",
			    dip_list(a + 1, n - 1));
	r->print = print_ok;
}

static void build_vip_update(struct request *r, char **a, int n, const char *verb)
{
	(void)verb;
	r->method = "PUT";
	add_vip(r, a[0]);
	r->body = json_pack("{s:o}", "dips", dip_list(a + 1, n - 1));
	r->print = print_ok;
}

static void build_vip_delete(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "DELETE";
	add_vip(r, a[0]);
	r->print = print_ok;
}

static void build_dip_list(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "GET";
	add_vip(r, a[0]);
	add_seg(r, "dips");
	r->print = print_dip_list;
}

static void build_dip_add(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "POST";
	add_vip(r, a[0]);
	add_seg(r, "dips");
	r->body = dip_spec(a[1]);
	r->print = print_ok;
}

static void build_dip_remove(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "DELETE";
	add_vip(r, a[0]);
	add_dip(r, a[1]);
	r->print = print_ok;
}

static void build_dip_weight(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "PUT";
	add_vip(r, a[0]);
	add_dip(r, a[1]);
	add_seg(r, "weight");
	r->body = json_pack("{s:o}", "weight", value_of(a[2]));
	r->print = print_ok;
}

/* drain, enable, disable: the verb is the last path segment. */
static void build_dip_state(struct request *r, char **a, int n, const char *verb)
{
	(void)n;
	r->method = "POST";
	add_vip(r, a[0]);
	add_dip(r, a[1]);
	add_seg(r, verb);
	r->print = print_ok;
}

static void build_cluster_status(struct request *r, char **a, int n, const char *verb)
{
	(void)a, (void)n, (void)verb;
	r->method = "GET";
	snprintf(r->path, PATH_LEN, "/v1/cluster");
	r->print = print_cluster;
}

static void build_member_add(struct request *r, char **a, int n, const char *verb)
{
	(void)verb;
	r->method = "POST";
	snprintf(r->path, PATH_LEN, "/v1/cluster/members");
	r->body = json_pack("{s:o,s:s}", "id", value_of(a[0]), "address", a[1]);
	for (int i = 2; i < n; i++) /* role and API URL, in either order */
		json_object_set_new(r->body, strncmp(a[i], "https://", 8) == 0 ? "api" : "role",
				    json_string(a[i]));
	r->print = print_ok;
}

static void build_member_remove(struct request *r, char **a, int n, const char *verb)
{
	(void)n, (void)verb;
	r->method = "DELETE";
	snprintf(r->path, PATH_LEN, "/v1/cluster/members");
	add_seg(r, a[0]);
	r->print = print_ok;
}

static void build_transfer(struct request *r, char **a, int n, const char *verb)
{
	(void)verb;
	r->method = "POST";
	snprintf(r->path, PATH_LEN, "/v1/cluster/transfer");
	r->body = n > 0 ? json_pack("{s:o}", "id", value_of(a[0])) : json_object();
	r->print = print_ok;
}

static void build_tunnel_sources(struct request *r, char **a, int n, const char *verb)
{
	(void)a, (void)n, (void)verb;
	r->method = "GET";
	snprintf(r->path, PATH_LEN, "/v1/tunnel-sources");
	r->print = print_tunnel_sources;
}

/* Strings, whatever they look like: the API says what is wrong with one. */
static void build_tunnel_sources_set(struct request *r, char **a, int n, const char *verb)
{
	json_t *list = json_array();
	(void)verb;
	for (int i = 0; i < n; i++)
		json_array_append_new(list, json_string(a[i]));
	r->method = "PUT";
	snprintf(r->path, PATH_LEN, "/v1/tunnel-sources");
	r->body = json_pack("{s:o}", "prefixes", list);
	r->print = print_ok;
}

static void build_tunnel_sources_unset(struct request *r, char **a, int n, const char *verb)
{
	(void)a, (void)n, (void)verb;
	r->method = "PUT";
	snprintf(r->path, PATH_LEN, "/v1/tunnel-sources");
	r->body = json_pack("{s:n}", "prefixes");
	r->print = print_ok;
}

static void build_pop_list(struct request *r, char **a, int n, const char *verb)
{
	(void)a, (void)n, (void)verb;
	r->method = "GET";
	snprintf(r->path, PATH_LEN, "/v1/pops");
	r->print = print_pops;
}

/* "P1,P2" as a JSON array of strings ("": none): the API checks each. */
static json_t *prefix_list(const char *text)
{
	json_t *list = json_array();
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, ",");
		json_array_append_new(list, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return list;
}

static void build_pop_set(struct request *r, char **a, int n, const char *verb)
{
	(void)verb;
	r->method = "PUT";
	snprintf(r->path, PATH_LEN, "/v1/pops");
	add_seg(r, a[0]);
	r->body = json_object();
	for (int i = 1; i < n; i++) {
		const char *eq = strchr(a[i], '=');
		size_t k = eq != NULL ? (size_t)(eq - a[i]) : 0;
		if (k == 7 && strncmp(a[i], "unicast", 7) == 0)
			json_object_set_new(r->body, "unicast", prefix_list(eq + 1));
		else if (k == 7 && strncmp(a[i], "anycast", 7) == 0)
			json_object_set_new(r->body, "anycast", prefix_list(eq + 1));
		else if (k == 5 && strncmp(a[i], "state", 5) == 0)
			json_object_set_new(r->body, "state", json_string(eq + 1));
		else
			usage_error("\"%s\" is not unicast=..., anycast=... or state=...", a[i]);
	}
	r->print = print_ok;
}

/* drain, undrain: POST /v1/pops/NAME/VERB; delete: DELETE /v1/pops/NAME. */
static void build_pop_named(struct request *r, char **a, int n, const char *verb)
{
	(void)n;
	bool del = strcmp(verb, "delete") == 0;
	r->method = del ? "DELETE" : "POST";
	snprintf(r->path, PATH_LEN, "/v1/pops");
	add_seg(r, a[0]);
	if (!del)
		add_seg(r, verb);
	r->print = print_ok;
}

static const struct command commands[] = {
	{"vip", "list", 0, 0, build_vip_list},
	{"vip", "show", 1, 1, build_vip_show},
	{"vip", "create", 1, -1, build_vip_create},
	{"vip", "update", 1, -1, build_vip_update},
	{"vip", "delete", 1, 1, build_vip_delete},
	{"dip", "list", 1, 1, build_dip_list},
	{"dip", "add", 2, 2, build_dip_add},
	{"dip", "remove", 2, 2, build_dip_remove},
	{"dip", "weight", 3, 3, build_dip_weight},
	{"dip", "drain", 2, 2, build_dip_state},
	{"dip", "enable", 2, 2, build_dip_state},
	{"dip", "disable", 2, 2, build_dip_state},
	{"cluster", "status", 0, 0, build_cluster_status},
	{"member", "add", 2, 4, build_member_add},
	{"member", "remove", 1, 1, build_member_remove},
	{"leader", "transfer", 0, 1, build_transfer},
	{"tunnel-sources", NULL, 0, 0, build_tunnel_sources},
	{"tunnel-sources", "show", 0, 0, build_tunnel_sources},
	/* At least one: emptying the list (every tunnel dropped) takes the API. */
	{"tunnel-sources", "set", 1, -1, build_tunnel_sources_set},
	{"tunnel-sources", "unset", 0, 0, build_tunnel_sources_unset},
	{"pop", "list", 0, 0, build_pop_list},
	{"pop", "set", 2, 4, build_pop_set},
	{"pop", "drain", 1, 1, build_pop_named},
	{"pop", "undrain", 1, 1, build_pop_named},
	{"pop", "delete", 1, 1, build_pop_named},
};

/* The command for noun and verb (NULL: the noun alone), or NULL. */
static const struct command *find_command(const char *noun, const char *verb)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(c->noun, noun) == 0 &&
		    (c->verb == NULL ? verb == NULL : verb != NULL && strcmp(c->verb, verb) == 0))
			return c;
	}
	return NULL;
}

static void build_request(struct request *r, int argc, char **argv)
{
	if (argc == 0)
		usage_error("missing command");
	const struct command *c = find_command(argv[0], argc > 1 ? argv[1] : NULL);
	if (c == NULL && argc == 1)
		usage_error("missing subcommand for \"%s\"", argv[0]);
	if (c == NULL) {
		fprintf(stderr, "sluicectl: unknown command \"%s %s\"\n\n", argv[0], argv[1]);
		usage_exit();
	}
	int words = c->verb != NULL ? 2 : 1, n = argc - words;
	if (n < c->min_args || (c->max_args >= 0 && n > c->max_args))
		usage_error("wrong number of arguments for \"%s\"", argv[words - 1]);
	c->build(r, argv + words, n, c->verb);
}

/* --------------------------------------------------------------- HTTP */

struct response {
	long status;
	char *body;
	size_t len;
	char location[2048];
	char error[CURL_ERROR_SIZE];
};

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
	struct response *res = userdata;
	size_t len = size * n;
	char *p;
	if (res->len + len > MAX_REPLY || (p = realloc(res->body, res->len + len + 1)) == NULL)
		return 0;
	memcpy(p + res->len, data, len);
	res->body = p;
	res->len += len;
	p[res->len] = '\0';
	return len;
}

/* One exchange; url NULL means the Unix socket. Returns false when there
 * was no HTTP answer at all (res->error says why). */
static bool exchange(const struct opts *o, const char *url, const struct request *r,
		     const char *body, struct response *res)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	char target[PATH_LEN + 2048], auth[4200];
	const char *loc = NULL;
	CURLcode rc;

	if (h == NULL) {
		snprintf(res->error, sizeof(res->error), "cannot initialise libcurl");
		return false;
	}
	snprintf(target, sizeof(target), "%s", url ? url : "http://localhost");
	if (o->socket != NULL && url == NULL)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, o->socket);
	if (url == NULL)
		snprintf(target, sizeof(target), "http://localhost%s", r->path);
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	}
	if (url != NULL && o->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (o->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	if (o->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
	if (o->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->timeout_s < 5 ? o->timeout_s : 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->error);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
		if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != NULL)
			snprintf(res->location, sizeof(res->location), "%s", loc);
	} else if (res->error[0] == '\0' || url == NULL) {
		/* For the socket, curl's detail names "localhost port 80": misleading. */
		snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return rc == CURLE_OK;
}

static int send_once(const struct opts *o, const struct request *r, struct response *res);

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Milliseconds to wait before asking again, or -1: a 503 is repeated only
 * when the API says it is worth it (retry_after_ms) and the outcome of the
 * request is not in doubt (a write that may have committed is reported, so
 * that the operator reads it back instead). */
static long retry_hint(const struct response *res)
{
	json_t *reply = res->status == 503 && res->len ? json_loadb(res->body, res->len, 0, NULL) : NULL;
	const json_t *ms = json_object_get(reply, "retry_after_ms");
	const char *outcome = json_string_value(json_object_get(reply, "outcome"));
	long hint = json_is_integer(ms) && (outcome == NULL || strcmp(outcome, "unknown") != 0)
			    ? (long)json_integer_value(ms) : -1;
	json_decref(reply);
	return hint < 0 ? -1 : hint < 10 ? 10 : hint > 1000 ? 1000 : hint;
}

/* One request through to its final answer: 307s followed, hinted 503s
 * repeated from the start (leadership may have moved) until --timeout. */
static int send_request(const struct opts *o, const struct request *r, struct response *res)
{
	double deadline = now_s() + (double)o->timeout_s;
	for (;;) {
		int rc = send_once(o, r, res);
		long wait_ms = rc == 0 ? retry_hint(res) : -1;
		if (wait_ms < 0 || now_s() + (double)wait_ms / 1e3 >= deadline)
			return rc;
		free(res->body);
		res->body = NULL;
		nanosleep(&(struct timespec){wait_ms / 1000, (wait_ms % 1000) * 1000000L}, NULL);
	}
}

/* Send r, following the API's 307 to the leader (same method and body:
 * a 307 promises the request may be repeated as it was). */
static int send_once(const struct opts *o, const struct request *r, struct response *res)
{
	char *body = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
	char url[PATH_LEN + 2048];
	const char *where = o->url ? url : NULL;
	int hops;

	if (o->url)
		snprintf(url, sizeof(url), "%.*s%s", (int)(strlen(o->url) - (o->url[strlen(o->url) - 1] == '/')),
			 o->url, r->path);
	for (hops = 0;; hops++) {
		memset(res, 0, sizeof(*res));
		if (!exchange(o, where, r, body, res)) {
			fprintf(stderr, "sluicectl: cannot reach the API at %s: %s\n",
				where ? where : o->socket, res->error);
			free(body);
			return EXIT_UNREACHABLE;
		}
		if ((res->status != 307 && res->status != 308) || res->location[0] == '\0')
			break;
		if (hops == MAX_REDIRECTS || (o->token[0] == '\0' && o->cert == NULL)) {
			fprintf(stderr, "sluicectl: this instance is not the leader; the leader's API is %s%s\n",
				res->location, hops == MAX_REDIRECTS ? " (too many redirects)"
				: " (give --token-file and --cacert to follow)");
			free(body);
			free(res->body);
			res->body = NULL;
			return EXIT_UNREACHABLE;
		}
		snprintf(url, sizeof(url), "%s", res->location);
		where = url;
		free(res->body);
	}
	free(body);
	return 0;
}

/* ------------------------------------------------------------- output */

static int report(const struct opts *o, const struct request *r, const struct response *res)
{
	json_error_t e;
	json_t *reply = res->len ? json_loadb(res->body, res->len, 0, &e) : json_object();
	int rc = res->status < 300 ? 0 : res->status < 500 ? EXIT_API : EXIT_UNREACHABLE;

	if (reply == NULL) {
		fprintf(stderr, "sluicectl: the API answered %ld with a body that is not JSON\n",
			res->status);
		return EXIT_UNREACHABLE;
	}
	if (o->json) {
		char *text = json_dumps(reply, JSON_INDENT(2));
		printf("%s\n", text ? text : "{}");
		free(text);
	}
	if (rc != 0) {
		const char *msg = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "sluicectl: %s (HTTP %ld)\n", msg ? msg : "request failed", res->status);
	} else if (!o->json) {
		r->print(reply);
	}
	json_decref(reply);
	return rc;
}

static void read_token(struct opts *o)
{
	FILE *f = fopen(o->token_file, "r");
	if (f == NULL) {
		fprintf(stderr, "sluicectl: cannot open token file %s\n", o->token_file);
		exit(EXIT_USAGE);
	}
	if (fgets(o->token, sizeof(o->token), f) == NULL)
		o->token[0] = '\0';
	fclose(f);
	o->token[strcspn(o->token, "\r\n")] = '\0';
	for (size_t n = strlen(o->token); n > 0 && isspace((unsigned char)o->token[n - 1]); n--)
		o->token[n - 1] = '\0';
	if (o->token[0] == '\0') {
		fprintf(stderr, "sluicectl: token file %s is empty\n", o->token_file);
		exit(EXIT_USAGE);
	}
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'}, {"url", required_argument, NULL, 'u'},
		{"token-file", required_argument, NULL, 't'}, {"cacert", required_argument, NULL, 'c'},
		{"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'k'},
		{"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 'T'},
		{"linearizable", no_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
		{"file-prefix", required_argument, NULL, 'P'}, {"telemetry", required_argument, NULL, 'Y'},
		{"bird", required_argument, NULL, 'B'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	o->timeout_s = 30;
	/* "+": options end at the command, so "dip weight VIP DIP -1" is an argument. */
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'u': o->url = optarg; break;
		case 't': o->token_file = optarg; break;
		case 'c': o->cacert = optarg; break;
		case 'C': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'j': o->json = true; break;
		case 'L': o->linearizable = true; break;
		case 'T':
			o->timeout_s = strtol(optarg, &end, 10);
			if (*end != '\0' || o->timeout_s < 1)
				usage_error("--timeout needs a positive number of seconds, not \"%s\"", optarg);
			break;
		case 'P':
			snprintf(o->local.telemetry, sizeof(o->local.telemetry),
				 "/var/run/dpdk/%s/dpdk_telemetry.v2", optarg);
			break;
		case 'Y': snprintf(o->local.telemetry, sizeof(o->local.telemetry), "%s", optarg); break;
		case 'B': o->local.bird = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage_exit();
		}
	}
	if (o->socket && o->url)
		usage_error("give --socket or --url, not both");
	if (o->url && strncmp(o->url, "https://", 8) != 0)
		usage_error("--url must start with https:// (got \"%s\")", o->url);
	if (!o->socket && !o->url)
		o->socket = DEFAULT_SOCKET;
	if (o->token_file)
		read_token(o);
}

/* Reads of the replicated state, which --linearizable sends through the leader. */
static bool reads_replica(const struct request *r)
{
	return strcmp(r->method, "GET") == 0 &&
	       (strncmp(r->path, "/v1/vips", 8) == 0 || strcmp(r->path, "/v1/tunnel-sources") == 0);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct request r = {0};
	struct response res;
	int rc;

	parse_options(&o, argc, argv);
	if (is_local_command(argc - optind, argv + optind)) {
		if (o.local.telemetry[0] == '\0')
			snprintf(o.local.telemetry, sizeof(o.local.telemetry), "%s", DEFAULT_TELEMETRY);
		o.local.json = o.json;
		rc = local_command(&o.local, argc - optind, argv + optind);
		if (rc < 0)
			usage_error("unknown command \"%s%s%s\"", argv[optind], argc - optind > 1 ? " " : "",
				    argc - optind > 1 ? argv[optind + 1] : "");
		return rc;
	}
	build_request(&r, argc - optind, argv + optind);
	if (o.linearizable && reads_replica(&r))
		strncat(r.path, "?consistency=linearizable", sizeof(r.path) - strlen(r.path) - 1);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "sluicectl: cannot initialise libcurl\n");
		return EXIT_UNREACHABLE;
	}
	rc = send_request(&o, &r, &res);
	if (rc == 0)
		rc = report(&o, &r, &res);
	free(res.body);
	json_decref(r.body);
	curl_global_cleanup();
	return rc;
}
