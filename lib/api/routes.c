/*
 * REST routes: a table of (method, path pattern) -> the manager's action,
 * the status its success answers with, and a builder. Builders validate
 * syntax only (types, addresses, ranges, unknown fields) and turn the
 * request into the action's arguments with canonical values, so the state
 * machine compares addresses as strings and never sees a half-valid
 * command. Semantics (does the VIP exist?) belong to the manager, which
 * dispatches on the action, never on a name.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/route.h"
#include "bgp/pop_rules.h"       /* header-only too */
#include "config/prefix_rules.h" /* header-only, like packet/addr_rules.h */
#include "packet/addr_rules.h"

#define MAX_SEGS 12
#define MAX_PATH 512
#define MSG_LEN 320
#define QUOTE_LEN 72 /* echoed user text is cut to this */

/* ------------------------------------------------------------- actions */

#define ACTION_NAME_(id, kind, name) [id] = name,
#define ACTION_KIND_(id, kind, name) [id] = kind,
static const char *const action_names[] = {SL_MGR_ACTIONS(ACTION_NAME_)};
static const enum sl_mgr_kind action_kinds[] = {SL_MGR_ACTIONS(ACTION_KIND_)};
#undef ACTION_NAME_
#undef ACTION_KIND_

const char *sl_mgr_action_name(enum sl_mgr_action a)
{
	return action_names[a];
}

enum sl_mgr_kind sl_mgr_action_kind(enum sl_mgr_action a)
{
	return action_kinds[a];
}

/* ------------------------------------------------------------ messages */

json_t *sl_api_error(const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", msg);
}

/* User text echoed in a message: printable ASCII only (the reply must be
 * valid UTF-8 whatever was sent) and short (the reply must stay small). */
static const char *quote(const char *s, char buf[QUOTE_LEN])
{
	size_t i, n = 0;
	for (i = 0; s[i] != '\0' && n < QUOTE_LEN - 4; i++)
		buf[n++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i] != '\0')
		n += (size_t)snprintf(buf + n, QUOTE_LEN - n, "...");
	buf[n] = '\0';
	return buf;
}

/* "got ..." part of a message: what the client actually sent. */
static const char *describe(const json_t *v, char buf[QUOTE_LEN + 2])
{
	char q[QUOTE_LEN];
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, QUOTE_LEN + 2, "\"%s\"", quote(json_string_value(v), q));
		return buf;
	case JSON_INTEGER:
		snprintf(buf, QUOTE_LEN + 2, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL: return "a number with a fraction";
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{200, "OK"},           {201, "Created"},
	{202, "Accepted"},     {204, "No Content"},
	{307, "Temporary Redirect"},
	{400, "Bad Request"},  {401, "Unauthorized"},
	{403, "Forbidden"},    {404, "Not Found"},
	{405, "Method Not Allowed"},
	{408, "Request Timeout"},
	{409, "Conflict"},     {411, "Length Required"},
	{413, "Payload Too Large"},
	{414, "URI Too Long"}, {422, "Unprocessable Entity"},
	{500, "Internal Server Error"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
};

const char *sl_api_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
}

/* ----------------------------------------------------- one request */

struct route;

struct call {
	const struct sl_api_backend *backend;
	const struct route *route;
	char path[MAX_PATH];
	char *seg[MAX_SEGS];
	int nseg;
	int vip_at, dip_at, id_at, pop_at; /* first segment of each {capture}, -1 if absent */
	json_t *body;              /* NULL when the route takes none */
	bool linearizable;         /* a read asked for ?consistency=linearizable */
	struct sl_api_outcome *out;
};

/* Record an error reply; returns NULL so builders can `return fail(...)`. */
static json_t *fail(struct call *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static json_t *fail(struct call *c, int status, const char *fmt, ...)
{
	char msg[MSG_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(c->out->json);
	c->out->next = SL_API_REPLY;
	c->out->status = status;
	c->out->json = sl_api_error("%s", msg);
	return NULL;
}

/* ------------------------------------------------------ value checks */

/* Each kind of value has one checker that returns the canonical value (a
 * new reference) or NULL; the caller words the message from `expect`
 * unless the checker wrote a reason of its own. */
struct kind {
	const char *expect;
	/* why: a reason more precise than `expect`, when there is one */
	json_t *(*check)(const struct kind *k, const json_t *v, char *why, size_t whylen);
	json_int_t lo, hi;
	const char *const *choices;
};

static json_t *check_int(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	if (!json_is_integer(v) || json_integer_value(v) < k->lo || json_integer_value(v) > k->hi)
		return NULL;
	return json_integer(json_integer_value(v));
}

static json_t *check_choice(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	if (!json_is_string(v))
		return NULL;
	for (const char *const *c = k->choices; *c != NULL; c++)
		if (strcmp(json_string_value(v), *c) == 0)
			return json_string(*c);
	return NULL;
}

/* Canonical text (inet_ntop) of an address fit for its use, and its family
 * (4, 6), or 0 with the reason in why when there is one. service: a VIP,
 * DIP or host (packet/addr_rules.h has the table; it is header-only, so
 * the API still links no other Sluice library). */
static int canon_addr(const char *text, bool service, char *out, size_t outlen, char *why,
		      size_t whylen)
{
	unsigned char a[16] = {0};
	char q[QUOTE_LEN];
	int family = inet_pton(AF_INET, text, a) == 1 ? 4 : inet_pton(AF_INET6, text, a) == 1 ? 6 : 0;
	const char *refusal = family ? sl_addr_rules_refusal(family, a, service) : NULL;
	if (refusal != NULL) {
		snprintf(why, whylen, "%s %s", quote(text, q), refusal);
		return 0;
	}
	if (family == 0 || !inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)outlen))
		return 0;
	return family;
}

static json_t *check_addr(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	char buf[INET6_ADDRSTRLEN];
	(void)k;
	if (!json_is_string(v) ||
	    canon_addr(json_string_value(v), true, buf, sizeof(buf), why, whylen) == 0)
		return NULL;
	return json_string(buf);
}

/* "1".."65535" with digits only (no sign, space or hex). */
static long parse_port(const char *s)
{
	long v = 0;
	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens, at most 63 characters each and 253 in all. */
static bool valid_hostname(const char *h, size_t len)
{
	size_t label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)h[i]) || (h[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && h[len - 1] != '-';
}

/* A Raft member's "HOST:PORT": an address ("[v6]:port" for IPv6) or a DNS
 * name, canonicalised when it is an address. */
static json_t *check_hostport(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	char host[256], canon[INET6_ADDRSTRLEN], out[300];
	const char *s, *colon;
	size_t hlen;
	(void)k;
	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return NULL;
		colon = end + 1;
		s++;
		hlen = (size_t)(end - s);
	} else {
		colon = strchr(s, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return NULL;
		hlen = (size_t)(colon - s);
	}
	if (hlen >= sizeof(host) || parse_port(colon + 1) < 0)
		return NULL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	switch (canon_addr(host, false, canon, sizeof(canon), why, whylen)) {
	case 4: snprintf(out, sizeof(out), "%s:%ld", canon, parse_port(colon + 1)); break;
	case 6: snprintf(out, sizeof(out), "[%s]:%ld", canon, parse_port(colon + 1)); break;
	default:
		/* "[name]" and bare IPv6 are not host names. */
		if (why[0] != '\0' || s != json_string_value(v) || !valid_hostname(host, hlen) ||
		    isdigit((unsigned char)host[hlen - 1]))
			return NULL;
		snprintf(out, sizeof(out), "%s:%ld", host, parse_port(colon + 1));
	}
	return json_string(out);
}

static json_t *check_array(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	(void)why, (void)whylen;
	if (!json_is_array(v) || json_array_size(v) > (size_t)k->hi)
		return NULL;
	return json_deep_copy(v);
}

/* An array as above, or null (the tunnel sources: not set). */
static json_t *check_array_or_null(const struct kind *k, const json_t *v, char *why,
				   size_t whylen)
{
	return json_is_null(v) ? json_null() : check_array(k, v, why, whylen);
}

/* A PoP's name (bgp/pop_rules.h: the manager's and the file's rule). */
static json_t *check_pop_name(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	const char *refusal;
	(void)k;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	if ((refusal = sl_pop_name_refusal(json_string_value(v))) != NULL) {
		snprintf(why, whylen, "%s", refusal);
		return NULL;
	}
	return json_copy((json_t *)v);
}

/* A member's API base URL, as the manager keeps it (SL_MGR_API_LEN - 1). */
#define URL_MAX 127

static json_t *check_url(const struct kind *k, const json_t *v, char *why, size_t whylen)
{
	(void)k, (void)why, (void)whylen;
	if (!json_is_string(v) || json_string_length(v) > URL_MAX ||
	    strncmp(json_string_value(v), "https://", 8) != 0 || json_string_length(v) <= 8 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_copy((json_t *)v);
}

enum kind_id {
	K_ADDR, K_PROTO, K_PORT, K_WEIGHT, K_ID, K_ROLE, K_HOSTPORT, K_DIPS, K_URL, K_PREFIXES,
	K_POP_NAME, K_POP_PREFIXES, K_POP_STATE
};

static const char *const protocols[] = {"tcp", "udp", NULL};
static const char *const roles[] = {"voter", "spare", "standby", NULL};
static const char *const pop_states[] = {"active", "draining", "down", NULL};

/* A limit as text (spec/limits.h), so a message cannot disagree with its check. */
#define LIMIT_TEXT_(n) #n
#define LIMIT_TEXT(n) LIMIT_TEXT_(n)

static const struct kind kinds[] = {
	[K_ADDR] = {"a unicast IPv4 or IPv6 address", check_addr, 0, 0, NULL},
	[K_PROTO] = {"\"tcp\" or \"udp\"", check_choice, 0, 0, protocols},
	[K_PORT] = {"an integer from 1 to 65535", check_int, 1, 65535, NULL},
	[K_WEIGHT] = {"an integer from 1 to 65535", check_int, 1, 65535, NULL},
	[K_ID] = {"an integer from 1 to 9223372036854775807", check_int, 1, INT64_MAX, NULL},
	[K_ROLE] = {"\"voter\", \"spare\" or \"standby\"", check_choice, 0, 0, roles},
	[K_HOSTPORT] = {"\"ADDRESS:PORT\", \"[IPv6]:PORT\" or \"HOSTNAME:PORT\"", check_hostport, 0,
			0, NULL},
	[K_DIPS] = {"an array of at most " LIMIT_TEXT(SL_API_MAX_DIPS) " DIPs", check_array, 0,
		    SL_API_MAX_DIPS, NULL},
	[K_URL] = {"an https:// URL of at most 127 characters", check_url, 0, 0, NULL},
	[K_PREFIXES] = {"an array of at most " LIMIT_TEXT(SL_API_MAX_TUNNEL_SOURCES) " prefixes, or null",
			check_array_or_null, 0, SL_API_MAX_TUNNEL_SOURCES, NULL},
	[K_POP_NAME] = {"a PoP name", check_pop_name, 0, 0, NULL},
	[K_POP_PREFIXES] = {"an array of at most " LIMIT_TEXT(SL_MAX_POP_PREFIXES) " prefixes",
			    check_array, 0, SL_MAX_POP_PREFIXES, NULL},
	[K_POP_STATE] = {"\"active\", \"draining\" or \"down\"", check_choice, 0, 0, pop_states},
};

/* --------------------------------------------------- object schemas */

struct field {
	const char *name;
	enum kind_id kind;
	bool required;
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct field vip_fields[] = {
	{"address", K_ADDR, true}, {"protocol", K_PROTO, true}, {"port", K_PORT, true},
	{"dips", K_DIPS, false},
};
static const struct field vip_update_fields[] = {{"dips", K_DIPS, true}};
static const struct field dip_fields[] = {
	{"address", K_ADDR, true}, {"port", K_PORT, false},
	{"host", K_ADDR, true},    {"weight", K_WEIGHT, false},
};
static const struct field dip_ref_fields[] = {{"address", K_ADDR, true}, {"port", K_PORT, true}};
static const struct field weight_fields[] = {{"weight", K_WEIGHT, true}};
static const struct field member_fields[] = {{"id", K_ID, true},
					     {"address", K_HOSTPORT, true},
					     {"role", K_ROLE, false},
					     {"api", K_URL, false}};
static const struct field id_fields[] = {{"id", K_ID, true}};
static const struct field transfer_fields[] = {{"id", K_ID, false}};
static const struct field tunnel_source_fields[] = {{"prefixes", K_PREFIXES, true}};
static const struct field pop_name_fields[] = {{"name", K_POP_NAME, true}};
static const struct field pop_fields[] = {{"unicast", K_POP_PREFIXES, true},
					  {"anycast", K_POP_PREFIXES, false},
					  {"state", K_POP_STATE, false}};

static const struct field *find_field(const struct field *fs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fs[i].name, name) == 0)
			return &fs[i];
	return NULL;
}

/*
 * Check obj against a schema; returns a new object holding the canonical
 * value of each field present. `where` names obj in messages ("dips[2]",
 * "path VIP"); NULL for the request body. Unknown fields are refused so a
 * misspelt optional field ("wieght") is not silently ignored.
 */
static json_t *take(struct call *c, const json_t *obj, const char *where, const struct field *fs,
		    size_t n)
{
	char q[QUOTE_LEN], got[QUOTE_LEN + 2], pre[48], why[MSG_LEN / 2];
	const char *key;
	json_t *v, *out;

	snprintf(pre, sizeof(pre), "%s%s", where ? where : "", where ? " " : "");
	if (!json_is_object(obj))
		return fail(c, 400, "%s must be a JSON object, got %s",
			    where ? where : "the request body", describe(obj, got));
	json_object_foreach((json_t *)obj, key, v)
		if (find_field(fs, n, key) == NULL)
			return fail(c, 400, "%sunknown field \"%s\"", pre, quote(key, q));
	out = json_object();
	for (size_t i = 0; i < n; i++) {
		const struct kind *k = &kinds[fs[i].kind];
		json_t *canon;
		v = json_object_get(obj, fs[i].name);
		if (v == NULL) {
			if (fs[i].required) {
				json_decref(out);
				return fail(c, 400, "%smissing field \"%s\"", pre, fs[i].name);
			}
			continue;
		}
		why[0] = '\0';
		canon = k->check(k, v, why, sizeof(why));
		if (canon == NULL) {
			json_decref(out);
			if (why[0] != '\0')
				return fail(c, 400, "%s%s: %s", pre, fs[i].name, why);
			return fail(c, 400, "%s%s: must be %s, got %s", pre, fs[i].name, k->expect,
				    describe(v, got));
		}
		json_object_set_new(out, fs[i].name, canon);
	}
	return out;
}

/* An all-digit segment as a number, or -1 when it is not one or does not
 * fit (left to the schema to refuse, with the text as sent). */
static json_int_t path_number(const char *s)
{
	json_int_t v = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Path segments as an object, so they go through the same schemas as
 * bodies: numbers become integers (ids go up to 2^63 - 1). */
static json_t *path_object(const struct call *c, int at, const char *const *names, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *s = c->seg[at + (int)i];
		json_int_t v = path_number(s);
		json_object_set_new(o, names[i], v >= 0 ? json_integer(v) : json_string(s));
	}
	return o;
}

static json_t *take_path(struct call *c, int at, const char *where, const struct field *fs,
			 size_t n)
{
	const char *names[4];
	for (size_t i = 0; i < n; i++)
		names[i] = fs[i].name;
	json_t *o = path_object(c, at, names, n);
	json_t *r = take(c, o, where, fs, n);
	json_decref(o);
	return r;
}

/* ------------------------------------------------------------- VIPs */

/* A VIP of a request, checked: as the command names it, and parsed. */
struct vip_key {
	json_t *json;   /* {"address", "protocol", "port"} */
	struct sl_api_vip_key parsed;
};

static int family_of(const json_t *addr)
{
	return strchr(json_string_value(addr), ':') ? 6 : 4;
}

/* Fill k from a checked object (canonical address, "tcp" or "udp", a
 * port); takes a reference to address/protocol/port. */
static void vip_key_from(struct vip_key *k, const json_t *o)
{
	const json_t *addr = json_object_get(o, "address"), *proto = json_object_get(o, "protocol");
	struct sl_api_vip_key *p = &k->parsed;
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family_of(addr);
	p->proto = strcmp(json_string_value(proto), "tcp") == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	p->port = (uint16_t)json_integer_value(json_object_get(o, "port"));
	inet_pton(p->family == 4 ? AF_INET : AF_INET6, json_string_value(addr), p->addr);
	snprintf(p->text, sizeof(p->text), "%s/%s/%u", json_string_value(proto),
		 json_string_value(addr), p->port);
	k->json = json_pack("{s:O,s:O,s:i}", "address", addr, "protocol", proto, "port", p->port);
}

/* The path's VIP, which the call carries parsed too. */
static bool vip_from_path(struct call *c, struct vip_key *k)
{
	static const struct field path_vip[] = {
		{"protocol", K_PROTO, true}, {"address", K_ADDR, true}, {"port", K_PORT, true}};
	json_t *o = take_path(c, c->vip_at, "path VIP", path_vip, NFIELDS(path_vip));
	if (o == NULL)
		return false;
	vip_key_from(k, o);
	json_decref(o);
	c->out->call.has_vip = true;
	c->out->call.vip = k->parsed;
	return true;
}

/* DIPs and their hosts share the VIP's family: the mux tunnels IPv4 in
 * IPv4 and IPv6 in IPv6. */
static bool same_family(struct call *c, const struct vip_key *k, const json_t *o,
			const char *field, const char *where)
{
	const json_t *a = json_object_get(o, field);
	if (a == NULL || family_of(a) == k->parsed.family)
		return true;
	fail(c, 400, "%s%s%s: %s is IPv%d but the VIP is IPv%d (DIPs and their hosts must be of the VIP's family)",
	     where ? where : "", where ? " " : "", field, json_string_value(a), family_of(a),
	     k->parsed.family);
	return false;
}

/* One DIP of a body, with defaults filled (port: the VIP's; weight 100). */
static json_t *take_dip(struct call *c, const json_t *in, const struct vip_key *k, const char *where)
{
	json_t *d = take(c, in, where, dip_fields, NFIELDS(dip_fields));
	if (d == NULL)
		return NULL;
	if (!same_family(c, k, d, "address", where) || !same_family(c, k, d, "host", where)) {
		json_decref(d);
		return NULL;
	}
	if (json_object_get(d, "port") == NULL)
		json_object_set_new(d, "port", json_integer(k->parsed.port));
	if (json_object_get(d, "weight") == NULL)
		json_object_set_new(d, "weight", json_integer(SL_API_DEFAULT_WEIGHT));
	return d;
}

#define KEY_LEN 80
_Static_assert(KEY_LEN >= SL_PREFIX_TEXT_LEN, "a prefix's text is its key");

/* One element of a list, checked and canonical, and in key what two
 * elements must not share; NULL when refused (the reply is set). */
typedef json_t *(*take_elem_fn)(struct call *c, const json_t *v, const char *where,
				const void *arg, char key[KEY_LEN]);

/*
 * A whole list that replaces what the manager holds (a VIP's DIPs, the
 * tunnel sources): every element valid and no key twice, or nothing,
 * since the manager applies it as one change. `name` is the list's field
 * ("dips"); a repeat is "dips[1]: same `what` as dips[0]".
 */
static json_t *take_list(struct call *c, const json_t *list, const char *name, const char *what,
			 take_elem_fn take_elem, const void *arg)
{
	json_t *out = json_array(), *seen = json_object(), *v, *e, *first;
	size_t i;
	json_array_foreach((json_t *)list, i, v) {
		char where[32], key[KEY_LEN];
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if ((e = take_elem(c, v, where, arg, key)) == NULL)
			goto fail;
		if ((first = json_object_get(seen, key)) != NULL) {
			json_decref(e);
			fail(c, 400, "%s: same %s as %s[%" JSON_INTEGER_FORMAT "]", where, what, name,
			     json_integer_value(first));
			goto fail;
		}
		json_object_set_new(seen, key, json_integer((json_int_t)i));
		json_array_append_new(out, e);
	}
	json_decref(seen);
	return out;
fail:
	json_decref(seen);
	json_decref(out);
	return NULL;
}

/* A DIP of a set, keyed by (address, port). */
static json_t *take_set_dip(struct call *c, const json_t *v, const char *where, const void *k,
			    char key[KEY_LEN])
{
	json_t *dip = take_dip(c, v, k, where);
	if (dip != NULL)
		snprintf(key, KEY_LEN, "%s/%" JSON_INTEGER_FORMAT,
			 json_string_value(json_object_get(dip, "address")),
			 json_integer_value(json_object_get(dip, "port")));
	return dip;
}

static json_t *take_dips(struct call *c, const json_t *list, const struct vip_key *k)
{
	return take_list(c, list, "dips", "address and port", take_set_dip, k);
}

/* One tunnel source prefix, canonical ("192.0.2.10" -> "192.0.2.10/32"),
 * by the file's and the manager's rules (config/prefix_rules.h); keyed by
 * that text, so "192.0.2.10" and "192.0.2.10/32" are one prefix. */
static json_t *take_prefix(struct call *c, const json_t *v, const char *where, const void *arg,
			   char key[KEY_LEN])
{
	char why[MSG_LEN / 2], got[QUOTE_LEN + 2];
	uint8_t b[16], len = 0; /* parse sets it only when it succeeds */
	int family;
	(void)arg;
	if (!json_is_string(v))
		return fail(c, 400, "%s: must be a string, got %s", where, describe(v, got));
	family = sl_prefix_rules_parse(json_string_value(v), b, &len, why, sizeof(why));
	if (family == 0)
		return fail(c, 400, "%s: %s", where, why);
	return json_string(sl_prefix_rules_format(family, b, len, key));
}

/* ---------------------------------------------------------- builders */

enum body { BODY_NONE, BODY_REQUIRED, BODY_OPTIONAL };

typedef json_t *(*build_fn)(struct call *c);

/* A route declares what the manager does for it and what its success
 * answers, so neither side infers either from a name. */
struct route {
	const char *method;
	const char *pattern; /* segments; {vip} = 3 (proto/address/port), {dip} = 2, {id} = 1 */
	enum sl_mgr_action action; /* a read's result is the reply; anything else is submitted */
	int ok_status;       /* 201 for creates, else 200 */
	enum body body;
	build_fn build;      /* a read's reply, or the arguments to submit */
};

static bool is_read(const struct route *r)
{
	return sl_mgr_action_kind(r->action) == SL_MGR_KIND_READ;
}

/* The backend's freshness fields merged into a reply body. */
static void add_freshness(const struct call *c, json_t *o)
{
	json_t *f = c->backend->freshness != NULL ? c->backend->freshness(c->backend->ctx) : NULL;
	if (f != NULL && json_is_object(o))
		json_object_update(o, f);
	json_decref(f);
}

/* Reads: the backend's view of the call's action, for the path's VIP
 * when there is one. A linearizable read is submitted instead, without
 * arguments: the backend answers it once it has confirmed that its view
 * is current. */
static json_t *read_state(struct call *c)
{
	struct vip_key k = {0};
	json_t *r;
	if (c->vip_at >= 0 && !vip_from_path(c, &k))
		return NULL;
	json_decref(k.json); /* reads take the parsed key */
	if (c->linearizable) {
		c->out->next = SL_API_SUBMIT;
		return NULL;
	}
	r = c->backend->get(c->backend->ctx, &c->out->call);
	if (r == NULL && c->vip_at >= 0) {
		fail(c, 404, "no VIP %s", k.parsed.text);
		add_freshness(c, c->out->json);
		return NULL;
	}
	if (r == NULL)
		return fail(c, 503, "%s state is not available", sl_mgr_action_name(c->route->action));
	add_freshness(c, r);
	return r;
}

/* {"vip": key} from the path; *k keeps the key for further checks. The
 * arguments never hold "op": the manager names a command from the action. */
static json_t *vip_command(struct call *c, struct vip_key *k)
{
	json_t *cmd;
	if (!vip_from_path(c, k))
		return NULL;
	cmd = json_object();
	json_object_set_new(cmd, "vip", k->json);
	return cmd;
}

/* Merge a checked sub-result into cmd, or drop cmd when it failed. */
static json_t *with(json_t *cmd, const char *name, json_t *value)
{
	if (value == NULL) {
		json_decref(cmd);
		return NULL;
	}
	json_object_set_new(cmd, name, value);
	return cmd;
}

static json_t *build_vip_create(struct call *c)
{
	struct vip_key k;
	json_t *v = take(c, c->body, NULL, vip_fields, NFIELDS(vip_fields)), *cmd, *dips;
	if (v == NULL)
		return NULL;
	vip_key_from(&k, v);
	dips = json_object_get(v, "dips");
	cmd = json_object();
	json_object_set_new(cmd, "vip", k.json);
	cmd = with(cmd, "dips", dips ? take_dips(c, dips, &k) : json_array());
	json_decref(v);
	return cmd;
}

static json_t *build_vip(struct call *c)
{
	struct vip_key k;
	return vip_command(c, &k);
}

static json_t *build_vip_update(struct call *c)
{
	struct vip_key k;
	json_t *cmd = vip_command(c, &k), *v;
	if (cmd == NULL)
		return NULL;
	v = take(c, c->body, NULL, vip_update_fields, NFIELDS(vip_update_fields));
	cmd = with(cmd, "dips", v ? take_dips(c, json_object_get(v, "dips"), &k) : NULL);
	json_decref(v);
	return cmd;
}

static json_t *build_dip_add(struct call *c)
{
	struct vip_key k;
	json_t *cmd = vip_command(c, &k);
	return cmd ? with(cmd, "dip", take_dip(c, c->body, &k, NULL)) : NULL;
}

/* {"vip", "dip": {address, port}} with both from the path. */
static json_t *build_dip(struct call *c)
{
	struct vip_key k;
	json_t *cmd = vip_command(c, &k), *d;
	if (cmd == NULL)
		return NULL;
	d = take_path(c, c->dip_at, "path DIP", dip_ref_fields, NFIELDS(dip_ref_fields));
	if (d != NULL && !same_family(c, &k, d, "address", "path DIP")) {
		json_decref(d);
		d = NULL;
	}
	return with(cmd, "dip", d);
}

static json_t *build_dip_weight(struct call *c)
{
	json_t *cmd = build_dip(c), *w;
	if (cmd == NULL)
		return NULL;
	w = take(c, c->body, NULL, weight_fields, NFIELDS(weight_fields));
	cmd = with(cmd, "weight", w ? json_incref(json_object_get(w, "weight")) : NULL);
	json_decref(w);
	return cmd;
}

static json_t *build_member_add(struct call *c)
{
	json_t *cmd = take(c, c->body, NULL, member_fields, NFIELDS(member_fields));
	if (cmd != NULL && json_object_get(cmd, "role") == NULL)
		json_object_set_new(cmd, "role", json_string("voter"));
	return cmd;
}

static json_t *build_member_remove(struct call *c)
{
	return take_path(c, c->id_at, "path member", id_fields, NFIELDS(id_fields));
}

/* No body or no "id": id 0, meaning "let Raft pick the best voter". */
static json_t *build_transfer(struct call *c)
{
	json_t *cmd = c->body ? take(c, c->body, NULL, transfer_fields, NFIELDS(transfer_fields))
			      : json_object();
	if (cmd != NULL && json_object_get(cmd, "id") == NULL)
		json_object_set_new(cmd, "id", json_integer(0));
	return cmd;
}

/* {"prefixes": [...]} sets the cluster's list; {"prefixes": null} unsets it. */
static json_t *build_tunnel_sources(struct call *c)
{
	json_t *v = take(c, c->body, NULL, tunnel_source_fields, NFIELDS(tunnel_source_fields));
	const json_t *list = v ? json_object_get(v, "prefixes") : NULL;
	json_t *cmd = v ? with(json_object(), "prefixes",
			       json_is_null(list) ? json_null()
						  : take_list(c, list, "prefixes", "prefix",
							      take_prefix, NULL))
			: NULL;
	json_decref(v);
	return cmd;
}

/* {"name"} from the path. */
static json_t *build_pop(struct call *c)
{
	return take_path(c, c->pop_at, "path PoP", pop_name_fields, NFIELDS(pop_name_fields));
}

/* {"pop": {"name" (the path's), "unicast", "anycast" ([] when absent),
 * "state" (when given)}}: the PoP whole, as it replaces what was there. */
static json_t *build_pop_set(struct call *c)
{
	json_t *pop = build_pop(c), *v;
	if (pop == NULL)
		return NULL;
	v = take(c, c->body, NULL, pop_fields, NFIELDS(pop_fields));
	if (v == NULL) {
		json_decref(pop);
		return NULL;
	}
	const json_t *any = json_object_get(v, "anycast"), *state = json_object_get(v, "state");
	pop = with(pop, "unicast", take_list(c, json_object_get(v, "unicast"), "unicast", "prefix",
					     take_prefix, NULL));
	if (pop != NULL)
		pop = with(pop, "anycast", any != NULL ? take_list(c, any, "anycast", "prefix",
								   take_prefix, NULL)
						       : json_array());
	if (pop != NULL && state != NULL)
		json_object_set_new(pop, "state", json_copy((json_t *)state));
	json_decref(v);
	return pop != NULL ? with(json_object(), "pop", pop) : NULL;
}

#define VIP "v1/vips/{vip}"
#define DIP VIP "/dips/{dip}"

static const struct route routes[] = {
	{"GET", "v1/vips", SL_MGR_READ_VIPS, 200, BODY_NONE, read_state},
	{"POST", "v1/vips", SL_MGR_VIP_CREATE, 201, BODY_REQUIRED, build_vip_create},
	{"GET", VIP, SL_MGR_READ_VIP, 200, BODY_NONE, read_state},
	{"PUT", VIP, SL_MGR_VIP_UPDATE, 200, BODY_REQUIRED, build_vip_update},
	{"DELETE", VIP, SL_MGR_VIP_DELETE, 200, BODY_NONE, build_vip},
	{"GET", VIP "/dips", SL_MGR_READ_DIPS, 200, BODY_NONE, read_state},
	{"POST", VIP "/dips", SL_MGR_DIP_ADD, 201, BODY_REQUIRED, build_dip_add},
	{"DELETE", DIP, SL_MGR_DIP_REMOVE, 200, BODY_NONE, build_dip},
	{"PUT", DIP "/weight", SL_MGR_DIP_SET_WEIGHT, 200, BODY_REQUIRED, build_dip_weight},
	{"POST", DIP "/drain", SL_MGR_DIP_DRAIN, 200, BODY_NONE, build_dip},
	{"POST", DIP "/enable", SL_MGR_DIP_ENABLE, 200, BODY_NONE, build_dip},
	{"POST", DIP "/disable", SL_MGR_DIP_DISABLE, 200, BODY_NONE, build_dip},
	{"GET", "v1/cluster", SL_MGR_READ_CLUSTER, 200, BODY_NONE, read_state},
	{"POST", "v1/cluster/members", SL_MGR_MEMBER_ADD, 200, BODY_REQUIRED, build_member_add},
	{"DELETE", "v1/cluster/members/{id}", SL_MGR_MEMBER_REMOVE, 200, BODY_NONE, build_member_remove},
	{"POST", "v1/cluster/transfer", SL_MGR_TRANSFER, 200, BODY_OPTIONAL, build_transfer},
	{"GET", "v1/tunnel-sources", SL_MGR_READ_TUNNEL_SOURCES, 200, BODY_NONE, read_state},
	{"PUT", "v1/tunnel-sources", SL_MGR_SET_TUNNEL_SOURCES, 200, BODY_REQUIRED, build_tunnel_sources},
	{"GET", "v1/pops", SL_MGR_READ_POPS, 200, BODY_NONE, read_state},
	{"PUT", "v1/pops/{pop}", SL_MGR_POP_SET, 200, BODY_REQUIRED, build_pop_set},
	{"DELETE", "v1/pops/{pop}", SL_MGR_POP_DELETE, 200, BODY_NONE, build_pop},
	{"POST", "v1/pops/{pop}/drain", SL_MGR_POP_DRAIN, 200, BODY_NONE, build_pop},
	{"POST", "v1/pops/{pop}/undrain", SL_MGR_POP_UNDRAIN, 200, BODY_NONE, build_pop},
};

/* ----------------------------------------------------------- routing */

/* The raw path (RFC 3986: "%2F" is data, not a separator) split on '/'. */
static bool split_path(struct call *c, const char *path, size_t len)
{
	char *p;
	if (len == 0 || len >= MAX_PATH || path[0] != '/')
		return false;
	memcpy(c->path, path + 1, len - 1);
	c->path[len - 1] = '\0';
	for (p = c->path, c->nseg = 0; c->nseg < MAX_SEGS; c->nseg++) {
		c->seg[c->nseg] = p;
		if ((p = strchr(p, '/')) == NULL)
			return ++c->nseg, true;
		*p++ = '\0';
	}
	return false;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20; /* lower case */
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode one segment in place, after the split: a decoded '/'
 * stays inside its segment and makes it fit no pattern. NULL, or why not. */
static const char *decode_segment(char *s)
{
	char *w = s;
	for (const char *r = s; *r != '\0'; r++, w++) {
		int hi, lo;
		if (*r != '%') {
			*w = *r;
			continue;
		}
		/* hi < 0 when r[1] ends the string: r[2] is not read */
		if ((hi = hex_digit(r[1])) < 0 || (lo = hex_digit(r[2])) < 0)
			return "malformed percent-encoding (\"%\" must start \"%XX\", XX hexadecimal)";
		if ((*w = (char)(hi << 4 | lo)) == '\0')
			return "an encoded NUL byte (%00)";
		r += 2;
	}
	*w = '\0';
	return NULL;
}

static bool decode_path(struct call *c)
{
	for (int i = 0; i < c->nseg; i++) {
		char q[QUOTE_LEN];
		const char *why;
		quote(c->seg[i], q);
		if ((why = decode_segment(c->seg[i])) != NULL) {
			fail(c, 400, "path segment %s: %s", q, why);
			return false;
		}
	}
	return true;
}

/* Does the path fit the pattern? Records where each {capture} starts. */
static bool match(struct call *c, const char *pattern)
{
	static const struct {
		const char *name;
		int width;
		size_t at; /* offset of the int in struct call */
	} captures[] = {
		{"{vip}", 3, offsetof(struct call, vip_at)},
		{"{dip}", 2, offsetof(struct call, dip_at)},
		{"{id}", 1, offsetof(struct call, id_at)},
		{"{pop}", 1, offsetof(struct call, pop_at)},
	};
	int i = 0;
	c->vip_at = c->dip_at = c->id_at = c->pop_at = -1;
	for (const char *p = pattern; *p != '\0'; p += (*p == '/')) {
		size_t n = strcspn(p, "/"), k;
		for (k = 0; k < sizeof(captures) / sizeof(captures[0]); k++)
			if (strlen(captures[k].name) == n && memcmp(p, captures[k].name, n) == 0)
				break;
		if (k < sizeof(captures) / sizeof(captures[0])) {
			*(int *)((char *)c + captures[k].at) = i;
			i += captures[k].width;
		} else if (i >= c->nseg || strlen(c->seg[i]) != n || memcmp(c->seg[i], p, n) != 0) {
			return false;
		} else {
			i++;
		}
		if (i > c->nseg)
			return false;
		p += n;
	}
	return i == c->nseg;
}

static bool parse_body(struct call *c, const char *body, size_t len, enum body kind)
{
	char q[QUOTE_LEN];
	json_error_t e;
	if (kind == BODY_NONE || (len == 0 && kind == BODY_OPTIONAL))
		return true;
	if (len == 0) {
		fail(c, 400, "the request body must be a JSON object, and it is empty");
		return false;
	}
	/* Duplicate keys would make "which value counts" a guess. */
	c->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (c->body == NULL) {
		fail(c, 400, "malformed JSON at line %d, column %d: %s", e.line, e.column,
		     quote(e.text, q));
		return false;
	}
	return true;
}

/* The one query parameter: reads take "consistency=local" (the default:
 * this member's state, which may lag the leader's) or
 * "consistency=linearizable"; anything else is refused rather than
 * ignored, so a typo never silently gives a weaker read. */
static bool parse_query(struct call *c, const char *query, size_t len)
{
	static const char key[] = "consistency=";
	const size_t klen = sizeof(key) - 1;
	char q[QUOTE_LEN], text[QUOTE_LEN];
	if (len == 0)
		return true;
	snprintf(text, sizeof(text), "%.*s", (int)(len < QUOTE_LEN - 1 ? len : QUOTE_LEN - 1), query);
	if (!is_read(c->route)) {
		fail(c, 400, "writes take no query parameters (got %s)", quote(text, q));
		return false;
	}
	if (len > klen && memcmp(query, key, klen) == 0) {
		const char *v = query + klen;
		size_t vlen = len - klen;
		if (vlen == 5 && memcmp(v, "local", 5) == 0)
			return true;
		if (vlen == 12 && memcmp(v, "linearizable", 12) == 0) {
			c->linearizable = true;
			return true;
		}
	}
	fail(c, 400, "unknown query %s: reads take consistency=local (the default) or "
		     "consistency=linearizable", quote(text, q));
	return false;
}

/* Find the route, or NULL with allow listing the methods the path does
 * take ("" when no pattern fits it). */
static const struct route *find_route(struct call *c, const char *method, size_t method_len,
				      char *allow, size_t allow_len)
{
	size_t used = 0;
	allow[0] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(c, routes[i].pattern))
			continue;
		if (strlen(routes[i].method) == method_len &&
		    memcmp(routes[i].method, method, method_len) == 0)
			return &routes[i];
		used += (size_t)snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
					 routes[i].method);
	}
	return NULL;
}

/* 404 when no pattern fits, 405 with Allow (the only answer that has
 * one) when only the method is wrong. */
static void no_route(struct call *c, const char *method, size_t method_len, const char *path,
		     size_t path_len, const char *allow)
{
	char q[QUOTE_LEN], qm[QUOTE_LEN], m[16], p[MAX_PATH];
	snprintf(m, sizeof(m), "%.*s", (int)(method_len < 15 ? method_len : 15), method);
	snprintf(p, sizeof(p), "%.*s", (int)(path_len < MAX_PATH - 1 ? path_len : MAX_PATH - 1), path);
	if (allow[0] == '\0') {
		fail(c, 404, "no such endpoint: %s", quote(p, q));
		return;
	}
	fail(c, 405, "method %s is not allowed on %s (allowed: %s)", quote(m, qm), quote(p, q), allow);
	snprintf(c->out->allow, sizeof(c->out->allow), "%s", allow);
}

void sl_api_route(const struct sl_api_backend *backend, const char *method, size_t method_len,
		  const char *path, size_t path_len, const char *query, size_t query_len,
		  const char *body, size_t body_len, struct sl_api_outcome *out)
{
	struct call c = {.backend = backend, .out = out};
	char allow[sizeof(out->allow)] = "";
	json_t *result;

	memset(out, 0, sizeof(*out));
	if (memchr(path, '\0', path_len) != NULL) {
		fail(&c, 400, "the path contains a NUL byte");
		return;
	}
	if (!split_path(&c, path, path_len)) {
		no_route(&c, method, method_len, path, path_len, "");
		return;
	}
	if (!decode_path(&c))
		return;
	if ((c.route = find_route(&c, method, method_len, allow, sizeof(allow))) == NULL) {
		no_route(&c, method, method_len, path, path_len, allow);
		return;
	}
	if (!parse_query(&c, query, query_len) || !parse_body(&c, body, body_len, c.route->body))
		return;
	out->next = is_read(c.route) ? SL_API_REPLY : SL_API_SUBMIT;
	out->call.action = c.route->action;
	out->call.ok_status = c.route->ok_status;
	result = c.route->build(&c);
	json_decref(c.body);
	/* NULL is a refusal (fail() made the reply), or a linearizable read,
	 * which is submitted without arguments. */
	if (result == NULL && out->next == SL_API_REPLY)
		return;
	out->status = c.route->ok_status; /* a local read's answer */
	out->json = result;
}
