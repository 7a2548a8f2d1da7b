/*
 * Loading and validation of the libconfig file (see config.h and
 * docs/configuration.md).
 *
 * Every group is first checked against its list of allowed names, so a
 * misspelt setting is an error instead of a silently applied default; then
 * a few generic getters read each value with its type, range and default.
 * Messages carry file, line and the full setting path
 * ("sluice.vips.[1].port") because operators fix a config from the message
 * alone.
 */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "bgp/pop_rules.h"
#include "config/prefix_rules.h"
#include "packet/packet.h" /* SL_PROTO_TCP, SL_PROTO_UDP */

#define MAX_FILE_SIZE (64u << 20) /* a sanity bound: a large real config is a few MiB */
#define ADDR_STRLEN 46            /* INET6_ADDRSTRLEN, what sl_addr_format needs */
#define PATH_STRLEN 256
#define DEFAULT_SOCKET_MODE 0600 /* the API's Unix socket: owner only */

struct loader {
	const char *name;        /* file name used in messages */
	const char *include_dir; /* where @include looks; NULL: the cwd */
	char *err;
	size_t errlen;
	struct sl_config *c;
};

/* ---------------------------------------------------------------- errors */

/* libconfig's own path syntax ("sluice.ports.[0].name"), so the path in a
 * message is also what config_lookup() accepts. */
static void path_append(char *buf, size_t len, const config_setting_t *s)
{
	if (s == NULL || config_setting_is_root(s))
		return;
	path_append(buf, len, config_setting_parent(s));
	size_t used = strlen(buf);
	const char *sep = used > 0 ? "." : "";
	if (config_setting_name(s) != NULL)
		snprintf(buf + used, len - used, "%s%s", sep, config_setting_name(s));
	else
		snprintf(buf + used, len - used, "%s[%d]", sep, config_setting_index(s));
}

__attribute__((format(printf, 5, 0))) static int report(const struct loader *ld, const char *file,
							 unsigned line, const char *path,
							 const char *fmt, va_list ap)
{
	if (ld->err == NULL || ld->errlen == 0)
		return -1;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Root-level problems have no line of their own; editors count from 1. */
	snprintf(ld->err, ld->errlen, "%s:%u: %s%s%s", file, line > 0 ? line : 1, path,
		 path[0] != '\0' ? ": " : "", msg);
	return -1;
}

/* file is NULL for the main text, else an @include name as written; show
 * it the way libconfig opened it (relative to include_dir). */
static const char *display_file(const struct loader *ld, const char *file, char *buf, size_t len)
{
	if (file == NULL)
		return ld->name;
	if (file[0] == '/' || ld->include_dir == NULL)
		return file;
	size_t dlen = strlen(ld->include_dir);
	bool slash = dlen > 0 && ld->include_dir[dlen - 1] == '/';
	snprintf(buf, len, "%s%s%s", ld->include_dir, slash ? "" : "/", file);
	return buf;
}

/* "FILE:LINE: PATH: message" about setting s; always returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(const struct loader *ld,
						       const config_setting_t *s, const char *fmt,
						       ...)
{
	char path[PATH_STRLEN] = "", file[4096];
	path_append(path, sizeof(path), s);
	va_list ap;
	va_start(ap, fmt);
	report(ld, display_file(ld, config_setting_source_file(s), file, sizeof(file)),
	       config_setting_source_line(s), path, fmt, ap);
	va_end(ap);
	return -1;
}

/* About a setting that is not there: the line is its group's. */
__attribute__((format(printf, 4, 5))) static int fail_in(const struct loader *ld,
							  const config_setting_t *group,
							  const char *name, const char *fmt, ...)
{
	char path[PATH_STRLEN] = "", file[4096];
	path_append(path, sizeof(path), group);
	size_t used = strlen(path);
	snprintf(path + used, sizeof(path) - used, "%s%s", used > 0 ? "." : "", name);
	va_list ap;
	va_start(ap, fmt);
	report(ld, display_file(ld, config_setting_source_file(group), file, sizeof(file)),
	       config_setting_source_line(group), path, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_missing(const struct loader *ld, const config_setting_t *group, const char *name)
{
	return fail_in(ld, group, name, "required setting is missing");
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT: return "an integer";
	case CONFIG_TYPE_INT64: return "a 64-bit integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "of unknown type";
	}
}

static int fail_type(const struct loader *ld, const config_setting_t *s, const char *wanted)
{
	return fail(ld, s, "must be %s, not %s", wanted, type_name(s));
}

static const char *family_name(int family)
{
	return family == SL_AF_INET6 ? "IPv6" : "IPv4";
}

/* ------------------------------------------------ integer literal check */

static bool digits_exceed(const char *digits, size_t n, const char *max)
{
	while (n > 1 && *digits == '0') {
		digits++;
		n--;
	}
	size_t max_len = strlen(max);
	return n > max_len || (n == max_len && strncmp(digits, max, n) > 0);
}

/* True when the numeric token [tok, end) is an integer libconfig 1.5
 * would truncate: more than 32 bits without an L suffix, or more than 64. */
static bool int_literal_truncated(const char *tok, const char *end)
{
	bool hex = tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
	const char *digits = hex ? tok + 2 : tok;
	size_t n = hex ? strspn(digits, "0123456789abcdefABCDEF") : strspn(digits, "0123456789");
	if (digits + n > end)
		n = (size_t)(end - digits);
	bool wide = digits + n < end && digits[n] == 'L';
	if (!hex && digits + n < end && !wide)
		return false; /* a float such as 1.5 or 1e9: libconfig's business */
	if (hex)
		return digits_exceed(digits, n, wide ? "ffffffffffffffff" : "ffffffff");
	return digits_exceed(digits, n, wide ? "9223372036854775807" : "2147483647");
}

static const char *number_end(const char *p)
{
	const char *start = p;
	while (isalnum((unsigned char)*p) || *p == '.' ||
	       ((*p == '+' || *p == '-') && p > start && (p[-1] == 'e' || p[-1] == 'E')))
		p++;
	return p;
}

/*
 * libconfig 1.5 (Debian 12) silently truncates integer literals that do not
 * fit in 32 bits unless they carry an L suffix: "hash_seed =
 * 0x5eed5eedcafef00d;" loads as 0xcafef00d and "flow_capacity =
 * 4294967360;" as 64, which then passes the range check. Scan the text for
 * such literals first so that what is validated is what was written.
 * Strings and comments are skipped; names (which may hold digits, as in
 * "address6") are skipped whole. @include'd files are not scanned.
 */
static int check_int_literals(const struct loader *ld, const char *text)
{
	unsigned line = 1;
	const char *p = text;
	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p += *p != '\0' ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				line += *p == '\n';
			}
			p += *p != '\0';
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '*')
				p++;
		} else if (isdigit((unsigned char)*p)) {
			const char *end = number_end(p);
			if (int_literal_truncated(p, end)) {
				int n = (int)(end - p);
				if (ld->err != NULL && ld->errlen > 0)
					snprintf(ld->err, ld->errlen,
						 "%s:%u: %.*s does not fit in a 32-bit integer; write "
						 "%.*sL for a 64-bit one (largest: 9223372036854775807 "
						 "or 0xffffffffffffffffL)",
						 ld->name, line, n, p, n, p);
				return -1;
			}
			p = end;
		} else {
			p++;
		}
	}
	return 0;
}

/* ------------------------------------------------------- generic getters */

static bool name_allowed(const char *name, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(name, *allowed) == 0)
			return true;
	return false;
}

/* Rejects names not in `allowed` (NULL-terminated): catches typos. */
static int check_names(const struct loader *ld, const config_setting_t *group,
		       const char *const *allowed)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		if (name_allowed(config_setting_name(s), allowed))
			continue;
		char list[256] = "";
		for (const char *const *a = allowed; *a != NULL; a++) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof(list) - used, "%s%s", a == allowed ? "" : ", ", *a);
		}
		return fail(ld, s, "unknown setting (allowed here: %s)", list);
	}
	return 0;
}

static int check_group(const struct loader *ld, const config_setting_t *s,
		       const char *const *allowed)
{
	if (!config_setting_is_group(s))
		return fail_type(ld, s, "a group { ... }");
	return check_names(ld, s, allowed);
}

/* Optional group: *out is NULL when absent. */
static int get_group(const struct loader *ld, const config_setting_t *parent, const char *name,
		     const char *const *allowed, const config_setting_t **out)
{
	*out = config_setting_get_member(parent, name);
	return *out == NULL ? 0 : check_group(ld, *out, allowed);
}

/* A list or array with min..max entries; *out is NULL when absent and optional. */
static int get_list(const struct loader *ld, const config_setting_t *group, const char *name,
		    bool required, unsigned min, unsigned max, const config_setting_t **out)
{
	*out = NULL;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (s == NULL)
		return required ? fail_missing(ld, group, name) : 0;
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail_type(ld, s, "a list");
	unsigned n = (unsigned)config_setting_length(s);
	if (n < min || n > max)
		return fail(ld, s, "has %u entries; %u..%u allowed", n, min, max);
	*out = s;
	return 0;
}

struct int_spec {
	const char *name;
	int64_t min, max;
	int64_t def; /* when absent; may lie outside min..max ("0: automatic") */
	bool required;
};

/* libconfig 1.5 keeps a 32-bit hex literal in a signed int, so 0xcafef00d
 * reads back negative; a hex literal is a bit pattern, take it unsigned. */
static bool int_value(const config_setting_t *s, int64_t *v)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		int i = config_setting_get_int(s);
		*v = config_setting_get_format(s) == CONFIG_FORMAT_HEX ? (int64_t)(uint32_t)i : i;
		return true;
	}
	if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		*v = config_setting_get_int64(s);
		return true;
	}
	return false;
}

static int get_int(const struct loader *ld, const config_setting_t *group,
		   const struct int_spec *spec, int64_t *out)
{
	const config_setting_t *s = config_setting_get_member(group, spec->name);
	if (s == NULL) {
		if (spec->required)
			return fail_missing(ld, group, spec->name);
		*out = spec->def;
		return 0;
	}
	if (!int_value(s, out))
		return fail_type(ld, s, "an integer");
	if (*out < spec->min || *out > spec->max)
		return fail(ld, s, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", *out,
			    spec->min, spec->max);
	return 0;
}

/* Timeouts are written in seconds and kept in milliseconds. */
static int get_timeout_ms(const struct loader *ld, const config_setting_t *group,
			  const char *name, uint32_t *out_ms)
{
	const struct int_spec spec = {name, 1, 86400, 300, false};
	int64_t seconds;
	if (get_int(ld, group, &spec, &seconds) < 0)
		return -1;
	*out_ms = (uint32_t)seconds * 1000u;
	return 0;
}

static int setting_string(const struct loader *ld, const config_setting_t *s, const char **out)
{
	*out = NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_type(ld, s, "a string");
	*out = config_setting_get_string(s);
	return 0;
}

/* *out is NULL when absent and optional. */
static int get_string(const struct loader *ld, const config_setting_t *group, const char *name,
		      bool required, const char **out)
{
	*out = NULL;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (s == NULL)
		return required ? fail_missing(ld, group, name) : 0;
	return setting_string(ld, s, out);
}

/* The string setting s as an address of family `want` (SL_AF_NONE: either)
 * fit for `use` (sl_addr_refusal: the API and the manager apply the same
 * rules). The unspecified address is refused: zero means "absent" in
 * sl_config. */
static int setting_addr(const struct loader *ld, const config_setting_t *s, int want,
			enum sl_addr_use use, union sl_addr *out, int *family)
{
	const char *text;
	if (setting_string(ld, s, &text) < 0)
		return -1;
	union sl_addr a;
	int fam = sl_addr_parse(text, &a);
	if (fam == SL_AF_NONE)
		return fail(ld, s, "'%s' is not an IP%s address", text,
			    want == SL_AF_NONE ? "v4 or IPv6" : want == SL_AF_INET ? "v4" : "v6");
	if (want != SL_AF_NONE && fam != want)
		return fail(ld, s, "'%s' is not an %s address", text, family_name(want));
	if (sl_addr_is_zero(&a))
		return fail(ld, s, "'%s' is the unspecified address, which cannot be used here",
			    text);
	const char *why = sl_addr_refusal(fam, &a, use);
	if (why != NULL)
		return fail(ld, s, "%s %s", text, why);
	*out = a;
	if (family != NULL)
		*family = fam;
	return 0;
}

/* Absent and optional: *out stays zero and *family is SL_AF_NONE. */
static int get_addr(const struct loader *ld, const config_setting_t *group, const char *name,
		    int want, enum sl_addr_use use, bool required, union sl_addr *out, int *family)
{
	if (family != NULL)
		*family = SL_AF_NONE;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (s == NULL)
		return required ? fail_missing(ld, group, name) : 0;
	return setting_addr(ld, s, want, use, out, family);
}

static int copy_string(const struct loader *ld, const config_setting_t *group, const char *name,
		       const char *text, char *dst, size_t dstlen)
{
	size_t len = strlen(text);
	/* A path of 5000 characters is shown in part, so the reason still fits. */
	if (len == 0 || len >= dstlen)
		return fail(ld, config_setting_get_member(group, name),
			    "'%.64s%s' must be 1..%zu characters long", text, len > 64 ? "..." : "",
			    dstlen - 1);
	memcpy(dst, text, len + 1);
	return 0;
}

/* ------------------------------------------------------------ addresses */

static bool port_has_addr(const struct sl_port_cfg *p, int family, const union sl_addr *a)
{
	for (unsigned i = 0; i < p->nb_addrs; i++)
		if (p->addrs[i].family == family && sl_addr_eq(&p->addrs[i].addr, a))
			return true;
	return false;
}

static int port_owning(const struct sl_config *c, int family, const union sl_addr *a)
{
	for (unsigned i = 0; i < c->nb_ports; i++)
		if (port_has_addr(&c->ports[i], family, a))
			return (int)i;
	return -1;
}

static bool port_has_family(const struct sl_port_cfg *p, int family)
{
	for (unsigned i = 0; i < p->nb_addrs; i++)
		if (p->addrs[i].family == family)
			return true;
	return false;
}

static bool port_prefix_contains(const struct sl_port_cfg *p, int family, const union sl_addr *a)
{
	for (unsigned i = 0; i < p->nb_addrs; i++)
		if (p->addrs[i].family == family &&
		    sl_prefix_contains(family, &p->addrs[i].addr, p->addrs[i].len, a))
			return true;
	return false;
}

/* ------------------------------------------------------------ sections */

static int parse_roles(const struct loader *ld, const config_setting_t *sluice)
{
	const config_setting_t *list;
	if (get_list(ld, sluice, "roles", true, 1, 2, &list) < 0)
		return -1;
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		const char *role;
		if (setting_string(ld, s, &role) < 0)
			return -1;
		unsigned bit = strcmp(role, "mux") == 0 ? SL_ROLE_MUX
			       : strcmp(role, "host") == 0 ? SL_ROLE_HOST
							   : 0;
		if (bit == 0)
			return fail(ld, s, "'%s' is not a role (allowed: \"mux\", \"host\")", role);
		if (ld->c->roles & bit)
			return fail(ld, s, "role '%s' is listed twice", role);
		ld->c->roles |= bit;
	}
	return 0;
}

static int parse_workers(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"burst", "idle_sleep_us", NULL};
	static const struct int_spec burst = {"burst", 1, SL_BURST_MAX, 32, false};
	static const struct int_spec idle = {"idle_sleep_us", 0, 100000, 0, false};
	const config_setting_t *g;
	int64_t v;
	ld->c->burst = 32;
	if (get_group(ld, sluice, "workers", names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (get_int(ld, g, &burst, &v) < 0)
		return -1;
	ld->c->burst = (uint16_t)v;
	if (get_int(ld, g, &idle, &v) < 0)
		return -1;
	ld->c->idle_sleep_us = (uint32_t)v;
	return 0;
}

static bool valid_port_name(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len < SL_NAME_LEN &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

static int parse_port_name(const struct loader *ld, const config_setting_t *ps, unsigned idx)
{
	struct sl_port_cfg *p = &ld->c->ports[idx];
	const char *name;
	if (get_string(ld, ps, "name", true, &name) < 0)
		return -1;
	const config_setting_t *s = config_setting_get_member(ps, "name");
	if (!valid_port_name(name))
		return fail(ld, s,
			    "'%s' is not a valid port name (1..%d characters of a-z, 0-9, '_', '-')",
			    name, SL_NAME_LEN - 1);
	int other = sl_config_port_index(ld->c, name);
	if (other >= 0)
		return fail(ld, s, "port name '%s' is already used by sluice.ports.[%d]", name,
			    other);
	memcpy(p->name, name, strlen(name) + 1);
	return 0;
}

/* Interface addresses "192.0.2.10/24": unique over all ports, since an
 * address on two ports would make "is this packet for me, and where do
 * replies go" ambiguous. */
static int parse_port_addrs(const struct loader *ld, const config_setting_t *ps,
			    struct sl_port_cfg *p)
{
	const config_setting_t *list;
	if (get_list(ld, ps, "addresses", false, 0, SL_MAX_PORT_ADDRS, &list) < 0)
		return -1;
	for (int i = 0; list != NULL && i < config_setting_length(list); i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		const char *text;
		if (setting_string(ld, s, &text) < 0)
			return -1;
		struct sl_prefix pfx = {0};
		pfx.family = (uint8_t)sl_prefix_parse(text, &pfx.addr, &pfx.len);
		if (pfx.family == SL_AF_NONE)
			return fail(ld, s,
				    "'%s' is not an address with prefix length, such as "
				    "\"192.0.2.10/24\" or \"2001:db8::10/64\"",
				    text);
		if (sl_addr_is_zero(&pfx.addr))
			return fail(ld, s, "'%s' is the unspecified address", text);
		int owner = port_owning(ld->c, pfx.family, &pfx.addr);
		if (owner >= 0 || port_has_addr(p, pfx.family, &pfx.addr))
			return fail(ld, s, "'%s' is already an address of port '%s'", text,
				    owner >= 0 ? ld->c->ports[owner].name : p->name);
		p->addrs[p->nb_addrs++] = pfx;
	}
	return 0;
}

static int parse_gateway(const struct loader *ld, const config_setting_t *ps,
			 struct sl_port_cfg *p, const char *name, int family, union sl_addr *gw)
{
	if (get_addr(ld, ps, name, family, SL_ADDR_ANY, false, gw, NULL) < 0)
		return -1;
	if (!sl_addr_is_zero(gw) && !port_prefix_contains(p, family, gw))
		return fail(ld, config_setting_get_member(ps, name),
			    "%s is not inside any %s prefix of port '%s' (see its addresses)",
			    config_setting_get_string(config_setting_get_member(ps, name)),
			    family_name(family), p->name);
	return 0;
}

static int hex_digit(char ch)
{
	static const char digits[] = "0123456789abcdef";
	const char *at = ch != '\0' ? strchr(digits, tolower((unsigned char)ch)) : NULL;
	return at != NULL ? (int)(at - digits) : -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx": other spellings are not worth guessing at. */
static bool parse_mac(const char *text, uint8_t mac[6])
{
	if (strlen(text) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		const char *h = text + 3 * i;
		int hi = hex_digit(h[0]), lo = hex_digit(h[1]);
		if (hi < 0 || lo < 0 || (i < 5 && h[2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_neighbours(const struct loader *ld, const config_setting_t *ps,
			    struct sl_port_cfg *p)
{
	static const char *const names[] = {"address", "mac", NULL};
	const config_setting_t *list;
	if (get_list(ld, ps, "neighbours", false, 0, SL_MAX_STATIC_NEIGH, &list) < 0)
		return -1;
	for (int i = 0; list != NULL && i < config_setting_length(list); i++) {
		const config_setting_t *ns = config_setting_get_elem(list, (unsigned)i);
		struct sl_static_neigh *n = &p->neigh[p->nb_neigh];
		int family;
		const char *mac;
		if (check_group(ld, ns, names) < 0 ||
		    get_addr(ld, ns, "address", SL_AF_NONE, SL_ADDR_ANY, true, &n->addr, &family) < 0 ||
		    get_string(ld, ns, "mac", true, &mac) < 0)
			return -1;
		n->family = (uint8_t)family;
		if (!parse_mac(mac, n->mac))
			return fail(ld, config_setting_get_member(ns, "mac"),
				    "'%s' is not a MAC address (write \"02:00:00:00:00:01\")", mac);
		for (unsigned j = 0; j < p->nb_neigh; j++)
			if (p->neigh[j].family == n->family && sl_addr_eq(&p->neigh[j].addr, &n->addr))
				return fail(ld, config_setting_get_member(ns, "address"),
					    "neighbour is listed twice on port '%s'", p->name);
		p->nb_neigh++;
	}
	return 0;
}

/* Linux takes almost any bytes in a name; these are the ones scripts quote safely. */
static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len < SL_IFNAME_LEN && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static int kernel_if_in_use(const struct sl_config *c, const char *name)
{
	for (unsigned i = 0; i < c->nb_ports; i++)
		if (strcmp(c->ports[i].kernel_if, name) == 0)
			return (int)i;
	return -1;
}

/* Take name as port p's kernel interface, unless another port has it. */
static int set_kernel_if(const struct loader *ld, const config_setting_t *ps, struct sl_port_cfg *p,
			 const char *name)
{
	int other = kernel_if_in_use(ld->c, name);
	if (other >= 0)
		return fail_in(ld, ps, "kernel_interface", "'%s' is already the kernel interface of port '%s'",
			       name, ld->c->ports[other].name);
	memcpy(p->kernel_if, name, strlen(name) + 1);
	return 0;
}

/* kernel_interface: a name, false (none), or absent / true ("sl-" + port name). */
static int parse_kernel_if(const struct loader *ld, const config_setting_t *ps, struct sl_port_cfg *p)
{
	const config_setting_t *s = config_setting_get_member(ps, "kernel_interface");
	int type = s != NULL ? config_setting_type(s) : CONFIG_TYPE_BOOL;
	if (type == CONFIG_TYPE_STRING) {
		const char *name = config_setting_get_string(s);
		if (!valid_ifname(name))
			return fail(ld, s, "'%s' is not an interface name (1..%d characters of a-z, A-Z, 0-9, "
				    "'_', '.', '-')", name, SL_IFNAME_LEN - 1);
		return set_kernel_if(ld, ps, p, name);
	}
	if (type != CONFIG_TYPE_BOOL)
		return fail_type(ld, s, "an interface name, true or false");
	if (s != NULL && !config_setting_get_bool(s))
		return 0; /* no kernel interface on this port */
	char name[SL_NAME_LEN + sizeof(SL_KERNEL_IF_PREFIX)];
	snprintf(name, sizeof(name), "%s%s", SL_KERNEL_IF_PREFIX, p->name);
	if (strlen(name) >= SL_IFNAME_LEN)
		return fail_in(ld, ps, "kernel_interface", "the default name '%s' is longer than %d characters: "
			       "set a shorter one, or false", name, SL_IFNAME_LEN - 1);
	return set_kernel_if(ld, ps, p, name);
}

static int parse_port(const struct loader *ld, const config_setting_t *ps, unsigned idx)
{
	static const char *const names[] = {"name",     "device",   "queues",
					    "mtu",      "addresses", "gateway",
					    "gateway6", "neighbours", "vlan", "kernel_interface", NULL};
	/* 0 is not writable: it means "one queue pair per worker lcore". */
	static const struct int_spec queues = {"queues", 1, 64, 0, false};
	static const struct int_spec mtu = {"mtu", 576, 9000, 1500, false};
	/* 0 and 4095 are reserved by 802.1Q; absent means no VLAN. */
	static const struct int_spec vlan = {"vlan", 1, 4094, 0, false};
	struct sl_port_cfg *p = &ld->c->ports[idx];
	const char *device;
	int64_t v;

	if (check_group(ld, ps, names) < 0 || parse_port_name(ld, ps, idx) < 0 ||
	    get_string(ld, ps, "device", true, &device) < 0 ||
	    copy_string(ld, ps, "device", device, p->device, sizeof(p->device)) < 0)
		return -1;
	if (get_int(ld, ps, &queues, &v) < 0)
		return -1;
	p->queues = (uint16_t)v;
	if (get_int(ld, ps, &mtu, &v) < 0)
		return -1;
	p->mtu = (uint16_t)v;
	if (get_int(ld, ps, &vlan, &v) < 0)
		return -1;
	p->vlan = (uint16_t)v;
	if (parse_port_addrs(ld, ps, p) < 0 ||
	    parse_gateway(ld, ps, p, "gateway", SL_AF_INET, &p->gateway4) < 0 ||
	    parse_gateway(ld, ps, p, "gateway6", SL_AF_INET6, &p->gateway6) < 0 ||
	    parse_neighbours(ld, ps, p) < 0 || parse_kernel_if(ld, ps, p) < 0)
		return -1;
	if (p->mtu < 1280 && port_has_family(p, SL_AF_INET6))
		return fail(ld, config_setting_get_member(ps, "mtu"),
			    "%u is below 1280, the IPv6 minimum, and port '%s' has IPv6 addresses",
			    p->mtu, p->name);
	return 0;
}

static int parse_ports(const struct loader *ld, const config_setting_t *sluice)
{
	const config_setting_t *list;
	if (get_list(ld, sluice, "ports", true, 1, SL_MAX_PORTS, &list) < 0)
		return -1;
	for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++) {
		if (parse_port(ld, config_setting_get_elem(list, i), i) < 0)
			return -1;
		ld->c->nb_ports = i + 1;
	}
	return 0;
}

/* Trial division up to sqrt(1000003): instant. Not sl_maglev_is_prime,
 * because sl_config does not link sl_maglev (see lib/config/meson.build). */
static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d <= n / d; d++)
		if (n % d == 0)
			return false;
	return true;
}

/* A 64-bit seed: hex literals are bit patterns (0xcafef00dcafef00dL reads
 * back negative from libconfig), negative decimals are mistakes. */
static int get_seed(const struct loader *ld, const config_setting_t *mux, uint64_t *out)
{
	const config_setting_t *s = config_setting_get_member(mux, "hash_seed");
	int64_t v;
	if (s == NULL) {
		*out = SL_DEFAULT_HASH_SEED;
		return 0;
	}
	if (!int_value(s, &v))
		return fail_type(ld, s, "an integer");
	if (v < 0 && config_setting_get_format(s) != CONFIG_FORMAT_HEX)
		return fail(ld, s,
			    "%" PRId64 " is negative (a seed is 64 bits: write it in hex, "
			    "e.g. 0x5eed5eedcafef00dL)",
			    v);
	*out = (uint64_t)v;
	return 0;
}

static int get_tunnel_source(const struct loader *ld, const config_setting_t *mux,
			     const char *name, int family, union sl_addr *out)
{
	if (get_addr(ld, mux, name, family, SL_ADDR_ANY, false, out, NULL) < 0)
		return -1;
	if (!sl_addr_is_zero(out) && port_owning(ld->c, family, out) < 0)
		return fail(ld, config_setting_get_member(mux, name),
			    "%s is not an address of any port (tunnels must leave from one of "
			    "ours)",
			    config_setting_get_string(config_setting_get_member(mux, name)));
	return 0;
}

/* Present exactly when the role is: a mux group on a host-only instance
 * usually means the roles line is wrong, not that the group is spare. */
static int get_role_group(const struct loader *ld, const config_setting_t *sluice,
			  const char *name, unsigned role, const char *const *allowed,
			  const config_setting_t **out)
{
	if (get_group(ld, sluice, name, allowed, out) < 0)
		return -1;
	if ((ld->c->roles & role) && *out == NULL)
		return fail_in(ld, sluice, name, "required with the \"%s\" role", name);
	if (!(ld->c->roles & role) && *out != NULL)
		return fail(ld, *out, "set, but roles does not include \"%s\"", name);
	return 0;
}

/*
 * "auto" (stored as 0) sizes each VIP's table by its DIP count on every
 * mux alike (sl_maglev_size_for); a prime fixes one size for every VIP.
 * Absent is 65537, the size every mux used before "auto": muxes of two
 * versions then keep building the same tables during an upgrade.
 */
static int get_maglev_size(const struct loader *ld, const config_setting_t *mux, uint32_t *out)
{
	static const struct int_spec size = {"maglev_size", 7, 1000003, 65537, false};
	const config_setting_t *s = config_setting_get_member(mux, "maglev_size");
	int64_t v;
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (strcmp(config_setting_get_string(s), "auto") != 0)
			return fail(ld, s, "\"%s\" is neither \"auto\" nor a prime",
				    config_setting_get_string(s));
		*out = 0;
		return 0;
	}
	if (get_int(ld, mux, &size, &v) < 0)
		return -1;
	if (!is_prime((uint32_t)v))
		return fail(ld, s,
			    "%" PRId64 " is not prime (Maglev needs a prime table size, e.g. "
			    "65537 or 1000003, or \"auto\")",
			    v);
	*out = (uint32_t)v;
	return 0;
}

static int parse_mux(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"maglev_size",       "hash_seed",     "flow_capacity",
					    "flow_idle_timeout", "tunnel_source", "tunnel_source6",
					    NULL};
	static const struct int_spec capacity = {"flow_capacity", 64, 16777216, 262144, false};
	struct sl_config *c = ld->c;
	const config_setting_t *g;
	int64_t v;
	if (get_role_group(ld, sluice, "mux", SL_ROLE_MUX, names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (get_maglev_size(ld, g, &c->maglev_size) < 0)
		return -1;
	if (get_int(ld, g, &capacity, &v) < 0)
		return -1;
	c->flow_capacity = (uint32_t)v;
	if (get_seed(ld, g, &c->hash_seed) < 0 ||
	    get_timeout_ms(ld, g, "flow_idle_timeout", &c->flow_idle_ms) < 0 ||
	    get_tunnel_source(ld, g, "tunnel_source", SL_AF_INET, &c->tunnel_src4) < 0 ||
	    get_tunnel_source(ld, g, "tunnel_source6", SL_AF_INET6, &c->tunnel_src6) < 0)
		return -1;
	return 0;
}

static int get_port_ref(const struct loader *ld, const config_setting_t *host, const char *name,
			int *out)
{
	const char *port;
	if (get_string(ld, host, name, true, &port) < 0)
		return -1;
	*out = sl_config_port_index(ld->c, port);
	if (*out < 0)
		return fail(ld, config_setting_get_member(host, name),
			    "no port is named '%s' (see sluice.ports)", port);
	return 0;
}

static int get_host_addr(const struct loader *ld, const config_setting_t *host, const char *name,
			 int family, union sl_addr *out)
{
	const struct sl_port_cfg *uplink = &ld->c->ports[ld->c->uplink_port];
	if (get_addr(ld, host, name, family, SL_ADDR_ANY, false, out, NULL) < 0)
		return -1;
	if (!sl_addr_is_zero(out) && !port_has_addr(uplink, family, out))
		return fail(ld, config_setting_get_member(host, name),
			    "%s is not an address of the uplink port '%s'",
			    config_setting_get_string(config_setting_get_member(host, name)),
			    uplink->name);
	return 0;
}

/* One entry of host.tunnel_sources, appended to the list unless repeated. */
static int parse_tunnel_source(const struct loader *ld, const config_setting_t *list, unsigned i)
{
	const config_setting_t *s = config_setting_get_elem(list, i);
	struct sl_config *c = ld->c;
	struct sl_prefix p = {0};
	const char *text;
	char why[256];
	if (setting_string(ld, s, &text) < 0)
		return -1;
	p.family = (uint8_t)sl_prefix_rules_parse(text, p.addr.v6, &p.len, why, sizeof(why));
	if (p.family == SL_AF_NONE)
		return fail(ld, s, "%s", why);
	int first = sl_prefix_index(c->tunnel_sources, c->nb_tunnel_sources, &p);
	if (first >= 0)
		return fail(ld, s, "'%s' is the same prefix as tunnel_sources.[%d] (line %d)", text,
			    first, config_setting_source_line(config_setting_get_elem(list, (unsigned)first)));
	c->tunnel_sources[c->nb_tunnel_sources++] = p;
	return 0;
}

/* Required: without it a host agent would decapsulate tunnels from anyone
 * on the fabric, straight past the muxes to the DIPs. */
static int parse_tunnel_sources(const struct loader *ld, const config_setting_t *host)
{
	const config_setting_t *list = config_setting_get_member(host, "tunnel_sources");
	if (list == NULL)
		return fail_in(ld, host, "tunnel_sources",
			       "required with the \"host\" role: the prefixes the muxes send tunnels "
			       "from, e.g. [ \"192.0.2.10\", \"2001:db8:2::/64\" ] (tunnels from "
			       "any other source are dropped)");
	if ((config_setting_is_list(list) || config_setting_is_array(list)) &&
	    config_setting_length(list) == 0)
		return fail(ld, list, "is empty, so every tunnel would be dropped; list the prefixes "
				      "the muxes send tunnels from");
	if (get_list(ld, host, "tunnel_sources", true, 1, SL_MAX_TUNNEL_SOURCES, &list) < 0)
		return -1;
	for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++)
		if (parse_tunnel_source(ld, list, i) < 0)
			return -1;
	return 0;
}

static int parse_host(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"address",       "address6",          "uplink",
					    "backend",       "conn_capacity",     "conn_idle_timeout",
					    "tunnel_sources", NULL};
	static const struct int_spec capacity = {"conn_capacity", 64, 16777216, 262144, false};
	struct sl_config *c = ld->c;
	const config_setting_t *g;
	int64_t v;
	c->uplink_port = c->backend_port = -1;
	if (get_role_group(ld, sluice, "host", SL_ROLE_HOST, names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (get_port_ref(ld, g, "uplink", &c->uplink_port) < 0 ||
	    get_port_ref(ld, g, "backend", &c->backend_port) < 0 ||
	    get_host_addr(ld, g, "address", SL_AF_INET, &c->host_addr4) < 0 ||
	    get_host_addr(ld, g, "address6", SL_AF_INET6, &c->host_addr6) < 0)
		return -1;
	if (sl_addr_is_zero(&c->host_addr4) && sl_addr_is_zero(&c->host_addr6))
		return fail(ld, g, "needs address or address6 (where muxes send tunnels)");
	if (parse_tunnel_sources(ld, g) < 0)
		return -1;
	if (get_int(ld, g, &capacity, &v) < 0)
		return -1;
	c->conn_capacity = (uint32_t)v;
	return get_timeout_ms(ld, g, "conn_idle_timeout", &c->conn_idle_ms);
}

/* ------------------------------------------------------ VIPs and DIPs */

/* Identity of a VIP or DIP for duplicate detection. Sorting finds
 * duplicates in O(n log n), which keeps 4096 x 4096 entries quick. */
struct ident {
	union sl_addr addr;
	uint8_t family, proto;
	uint16_t port;
	unsigned vip, dip; /* where it was written: ties sort in file order */
};

static int cmp_unsigned(unsigned a, unsigned b)
{
	return (a > b) - (a < b);
}

static int ident_key_cmp(const struct ident *a, const struct ident *b)
{
	int d = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	if (d == 0)
		d = cmp_unsigned(a->family, b->family);
	if (d == 0)
		d = cmp_unsigned(a->proto, b->proto);
	return d != 0 ? d : cmp_unsigned(a->port, b->port);
}

static int ident_cmp(const void *pa, const void *pb)
{
	const struct ident *a = pa, *b = pb;
	int d = ident_key_cmp(a, b);
	if (d == 0)
		d = cmp_unsigned(a->vip, b->vip);
	return d != 0 ? d : cmp_unsigned(a->dip, b->dip);
}

/* Sorts ids and returns the repeat written first in the file, with
 * *first the entry it repeats; NULL when all keys differ. */
static const struct ident *first_duplicate(struct ident *ids, size_t n, const struct ident **first)
{
	const struct ident *best = NULL;
	if (n < 2)
		return NULL;
	qsort(ids, n, sizeof(*ids), ident_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ident_key_cmp(&ids[i - 1], &ids[i]) != 0 ||
		    (i >= 2 && ident_key_cmp(&ids[i - 2], &ids[i - 1]) == 0))
			continue; /* not a repeat, or not the first repeat of its run */
		if (best == NULL || ids[i].vip < best->vip ||
		    (ids[i].vip == best->vip && ids[i].dip < best->dip)) {
			best = &ids[i];
			*first = &ids[i - 1];
		}
	}
	return best;
}

static struct ident ident_of(int family, const union sl_addr *a, uint8_t proto, uint16_t port,
			     unsigned vip, unsigned dip)
{
	struct ident id;
	memset(&id, 0, sizeof(id));
	id.addr = *a;
	id.family = (uint8_t)family;
	id.proto = proto;
	id.port = port;
	id.vip = vip;
	id.dip = dip;
	return id;
}

static const char *proto_name(uint8_t proto)
{
	return proto == SL_PROTO_TCP ? "tcp" : "udp";
}

static int fail_oom(const struct loader *ld, const config_setting_t *s)
{
	return fail(ld, s, "out of memory");
}

/* A required address that must share the VIP's family (IPv4 VIPs tunnel
 * IPv4 in IPv4, IPv6 in IPv6). */
static int get_vip_family_addr(const struct loader *ld, const config_setting_t *g,
			       const char *name, const struct sl_vip_cfg *v, union sl_addr *out)
{
	int family;
	if (get_addr(ld, g, name, SL_AF_NONE, SL_ADDR_SERVICE, true, out, &family) < 0)
		return -1;
	if (family != v->family)
		return fail(ld, config_setting_get_member(g, name),
			    "%s is %s but the VIP is %s (DIPs and their hosts must be of the "
			    "VIP's family)",
			    config_setting_get_string(config_setting_get_member(g, name)),
			    family_name(family), family_name(v->family));
	return 0;
}

static int parse_dip(const struct loader *ld, const config_setting_t *ds,
		     const struct sl_vip_cfg *v, struct sl_dip_cfg *d)
{
	static const char *const names[] = {"address", "port", "host", "weight", NULL};
	static const struct int_spec weight = {"weight", 1, 65535, 100, false};
	const struct int_spec port = {"port", 1, 65535, v->port, false};
	int64_t val;
	d->line = config_setting_source_line(ds);
	if (check_group(ld, ds, names) < 0 || get_vip_family_addr(ld, ds, "address", v, &d->addr) < 0 ||
	    get_vip_family_addr(ld, ds, "host", v, &d->host) < 0 || get_int(ld, ds, &port, &val) < 0)
		return -1;
	d->port = (uint16_t)val;
	if (get_int(ld, ds, &weight, &val) < 0)
		return -1;
	d->weight = (uint32_t)val;
	return 0;
}

/* (DIP address, port) is unique within a VIP: two equal entries would
 * just be one backend with a doubled weight, written confusingly. */
static int check_vip_dips(const struct loader *ld, const config_setting_t *list,
			  const struct sl_vip_cfg *v)
{
	struct ident *ids = calloc(v->nb_dips > 0 ? v->nb_dips : 1, sizeof(*ids));
	const struct ident *dup, *first = NULL;
	if (ids == NULL)
		return fail_oom(ld, list);
	for (unsigned j = 0; j < v->nb_dips; j++)
		ids[j] = ident_of(v->family, &v->dips[j].addr, 0, v->dips[j].port, 0, j);
	dup = first_duplicate(ids, v->nb_dips, &first);
	int rc = 0;
	if (dup != NULL)
		rc = fail(ld, config_setting_get_elem(list, dup->dip),
			  "same DIP address and port as dips.[%u] (line %u)", first->dip,
			  v->dips[first->dip].line);
	free(ids);
	return rc;
}

static int parse_vip(const struct loader *ld, const config_setting_t *vs, struct sl_vip_cfg *v)
{
	static const char *const names[] = {"address", "protocol", "port", "dips", NULL};
	static const struct int_spec port = {"port", 1, 65535, 0, true};
	const config_setting_t *list;
	const char *proto;
	int family;
	int64_t val;
	v->line = config_setting_source_line(vs);
	if (check_group(ld, vs, names) < 0 ||
	    get_addr(ld, vs, "address", SL_AF_NONE, SL_ADDR_SERVICE, true,
		     &v->addr, &family) < 0 ||
	    get_string(ld, vs, "protocol", true, &proto) < 0)
		return -1;
	v->family = (uint8_t)family;
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return fail(ld, config_setting_get_member(vs, "protocol"),
			    "'%s' is not a protocol (allowed: \"tcp\", \"udp\")", proto);
	v->proto = strcmp(proto, "tcp") == 0 ? SL_PROTO_TCP : SL_PROTO_UDP;
	if (get_int(ld, vs, &port, &val) < 0 ||
	    get_list(ld, vs, "dips", false, 0, SL_MAX_DIPS_PER_VIP, &list) < 0)
		return -1;
	v->port = (uint16_t)val;
	if (list == NULL || config_setting_length(list) == 0)
		return 0;
	v->dips = calloc((size_t)config_setting_length(list), sizeof(*v->dips));
	if (v->dips == NULL)
		return fail_oom(ld, list);
	for (unsigned j = 0; j < (unsigned)config_setting_length(list); j++) {
		if (parse_dip(ld, config_setting_get_elem(list, j), v, &v->dips[j]) < 0)
			return -1;
		v->nb_dips = j + 1;
	}
	return check_vip_dips(ld, list, v);
}

static int check_vips_unique(const struct loader *ld, const config_setting_t *list)
{
	const struct sl_config *c = ld->c;
	struct ident *ids = calloc(c->nb_vips > 0 ? c->nb_vips : 1, sizeof(*ids));
	const struct ident *dup, *first = NULL;
	if (ids == NULL)
		return fail_oom(ld, list);
	for (unsigned i = 0; i < c->nb_vips; i++)
		ids[i] = ident_of(c->vips[i].family, &c->vips[i].addr, c->vips[i].proto,
				  c->vips[i].port, i, 0);
	dup = first_duplicate(ids, c->nb_vips, &first);
	int rc = 0;
	if (dup != NULL)
		rc = fail(ld, config_setting_get_elem(list, dup->vip),
			  "same address, protocol and port as sluice.vips.[%u] (line %u)",
			  first->vip, c->vips[first->vip].line);
	free(ids);
	return rc;
}

static int parse_vips(const struct loader *ld, const config_setting_t *sluice)
{
	struct sl_config *c = ld->c;
	const config_setting_t *list;
	if (get_list(ld, sluice, "vips", false, 0, SL_MAX_VIPS, &list) < 0)
		return -1;
	if (list == NULL || config_setting_length(list) == 0)
		return 0;
	c->vips = calloc((size_t)config_setting_length(list), sizeof(*c->vips));
	if (c->vips == NULL)
		return fail_oom(ld, list);
	for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++) {
		/* Count first: sl_config_free must see the DIPs of a VIP that failed half-way. */
		c->nb_vips = i + 1;
		if (parse_vip(ld, config_setting_get_elem(list, i), &c->vips[i]) < 0)
			return -1;
	}
	return check_vips_unique(ld, list);
}

static bool dip_is_local(const struct sl_config *c, const struct sl_vip_cfg *v,
			 const struct sl_dip_cfg *d)
{
	const union sl_addr *me = v->family == SL_AF_INET ? &c->host_addr4 : &c->host_addr6;
	return sl_addr_eq(&d->host, me);
}

/*
 * The host agent recognises a reply by its source (DIP address, port,
 * protocol) and rewrites it to the VIP; if one such DIP backed two VIPs on
 * this host, the reply could not be mapped back.
 */
static int check_local_dips(const struct loader *ld, const config_setting_t *sluice)
{
	const struct sl_config *c = ld->c;
	size_t n = 0;
	if (!(c->roles & SL_ROLE_HOST))
		return 0;
	for (unsigned i = 0; i < c->nb_vips; i++)
		n += c->vips[i].nb_dips;
	const config_setting_t *list = config_setting_get_member(sluice, "vips");
	struct ident *ids = calloc(n > 0 ? n : 1, sizeof(*ids));
	if (ids == NULL)
		return fail_oom(ld, sluice);
	n = 0;
	for (unsigned i = 0; i < c->nb_vips; i++)
		for (unsigned j = 0; j < c->vips[i].nb_dips; j++) {
			const struct sl_dip_cfg *d = &c->vips[i].dips[j];
			if (dip_is_local(c, &c->vips[i], d))
				ids[n++] = ident_of(c->vips[i].family, &d->addr, c->vips[i].proto,
						    d->port, i, j);
		}
	const struct ident *first = NULL, *dup = first_duplicate(ids, n, &first);
	int rc = 0;
	if (dup != NULL) {
		char vip[ADDR_STRLEN];
		const struct sl_vip_cfg *v = &c->vips[first->vip];
		const config_setting_t *vs = config_setting_get_elem(list, dup->vip);
		rc = fail(ld, config_setting_get_elem(config_setting_get_member(vs, "dips"), dup->dip),
			  "this DIP (address, port, %s) already backs VIP %s port %u at "
			  "sluice.vips.[%u] (line %u) on this host; replies could not be mapped "
			  "back to one VIP",
			  proto_name(v->proto), sl_addr_format(v->family, &v->addr, vip, sizeof(vip)),
			  v->port, first->vip, v->dips[first->dip].line);
	}
	free(ids);
	return rc;
}

/* ------------------------------------------------------------- manager */

/* A Raft or API address "192.0.2.10:7001" or "[2001:db8::10]:7001". */
struct endpoint {
	union sl_addr addr;
	int family;
	uint16_t port;
};

/* Numeric only: a host name would be resolved at some later moment, by
 * whatever resolver is up then, and members must agree on who is who. */
static bool parse_endpoint(const char *text, struct endpoint *ep)
{
	char host[ADDR_STRLEN];
	bool bracket = text[0] == '[';
	const char *start = text + bracket;
	const char *end = bracket ? strchr(text, ']') : strrchr(text, ':'); /* of the address */
	const char *colon = end != NULL ? end + bracket : NULL;
	if (colon == NULL || *colon != ':')
		return false;
	size_t hlen = (size_t)(end - start);
	if (hlen == 0 || hlen >= sizeof(host) || (!bracket && memchr(start, ':', hlen) != NULL))
		return false; /* IPv6 without brackets: where would the port start? */
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	ep->family = sl_addr_parse(host, &ep->addr);
	const char *port = colon + 1;
	size_t plen = strlen(port);
	if (ep->family != (bracket ? SL_AF_INET6 : SL_AF_INET) || plen == 0 || plen > 5 ||
	    strspn(port, "0123456789") != plen)
		return false;
	long p = strtol(port, NULL, 10);
	ep->port = (uint16_t)p;
	return p >= 1 && p <= 65535;
}

/* any: the unspecified address is allowed (a listener on every address). */
static int get_endpoint(const struct loader *ld, const config_setting_t *group, const char *name,
			bool required, bool any, char *dst, size_t dstlen, struct endpoint *ep)
{
	const char *text;
	if (get_string(ld, group, name, required, &text) < 0)
		return -1;
	if (text == NULL)
		return 0;
	const config_setting_t *s = config_setting_get_member(group, name);
	if (!parse_endpoint(text, ep))
		return fail(ld, s,
			    "'%s' is not ADDRESS:PORT (\"192.0.2.10:7001\" or \"[2001:db8::10]:7001\"; "
			    "numeric addresses only, port 1..65535)",
			    text);
	if (!any && sl_addr_is_zero(&ep->addr))
		return fail(ld, s, "'%s' has the unspecified address; other members must reach it",
			    text);
	const char *why = sl_addr_is_zero(&ep->addr) ? NULL
						     : sl_addr_refusal(ep->family, &ep->addr, SL_ADDR_ANY);
	char host[ADDR_STRLEN];
	if (why != NULL)
		return fail(ld, s, "'%s': %s %s", text,
			    sl_addr_format(ep->family, &ep->addr, host, sizeof(host)), why);
	return copy_string(ld, group, name, text, dst, dstlen);
}

/* dst stays empty when absent (and not required). */
static int get_path(const struct loader *ld, const config_setting_t *group, const char *name,
		    bool required, char *dst, size_t dstlen)
{
	const char *text;
	if (get_string(ld, group, name, required, &text) < 0)
		return -1;
	return text == NULL ? 0 : copy_string(ld, group, name, text, dst, dstlen);
}

/* A file mode's digits are octal, as chmod takes them, with or without the
 * leading 0. libconfig 1.5 has no octal literals: it reads "0600" as the
 * decimal 600, which is why the digits are reinterpreted here. Absent: *out
 * is left as it is (the default). */
static int get_mode(const struct loader *ld, const config_setting_t *group, const char *name,
		    uint32_t *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	int64_t v;
	char digits[24];
	if (s == NULL)
		return 0;
	if (!int_value(s, &v))
		return fail_type(ld, s, "an integer");
	bool hex = config_setting_get_format(s) == CONFIG_FORMAT_HEX;
	snprintf(digits, sizeof(digits), hex ? "0x%" PRIx64 : "%" PRId64, v);
#ifdef CONFIG_FORMAT_OCT /* a libconfig that reads octal literals itself */
	if (config_setting_get_format(s) == CONFIG_FORMAT_OCT)
		snprintf(digits, sizeof(digits), "%" PRIo64, (uint64_t)v);
#endif
	if (hex || v < 0 || strlen(digits) > 3 || strspn(digits, "01234567") != strlen(digits))
		return fail(ld, s, "%s is not a file mode (octal digits, 0..0777, e.g. 0600)",
			    digits);
	*out = (uint32_t)strtoul(digits, NULL, 8);
	return 0;
}

static int parse_member(const struct loader *ld, const config_setting_t *ms,
			struct sl_member_cfg *mb, struct endpoint *ep)
{
	static const char *const names[] = {"id", "address", "api", "role", NULL};
	static const struct int_spec id = {"id", 1, 65535, 0, true};
	static const char https[] = "https://";
	const char *api, *role;
	int64_t v;
	if (check_group(ld, ms, names) < 0 || get_int(ld, ms, &id, &v) < 0 ||
	    get_endpoint(ld, ms, "address", true, false, mb->address, sizeof(mb->address), ep) < 0 ||
	    get_string(ld, ms, "api", false, &api) < 0 || get_string(ld, ms, "role", false, &role) < 0)
		return -1;
	mb->id = (uint32_t)v;
	/* Empty: this member's API is not advertised (no redirects to it). */
	if (api != NULL && api[0] != '\0') {
		if (strncmp(api, https, sizeof(https) - 1) != 0 || strlen(api) == sizeof(https) - 1)
			return fail(ld, config_setting_get_member(ms, "api"),
				    "'%s' is not an https:// URL, e.g. \"https://192.0.2.10:8441\"", api);
		if (copy_string(ld, ms, "api", api, mb->api, sizeof(mb->api)) < 0)
			return -1;
	}
	mb->voter = role == NULL || strcmp(role, "voter") == 0;
	if (!mb->voter && strcmp(role, "standby") != 0)
		return fail(ld, config_setting_get_member(ms, "role"),
			    "'%s' is not a member role (allowed: \"voter\", \"standby\")", role);
	return 0;
}

/* Raft's majority of n voters survives (n - 1) / 2 failures: 4 survive one,
 * like 3, and need a bigger quorum for every commit. */
static int check_voters(const struct loader *ld, const config_setting_t *list,
			const struct sl_manager_cfg *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->nb_members; i++)
		n += m->members[i].voter;
	if (n == 1 || n == 3 || n == 5)
		return 0;
	return fail(ld, list, "has %u voters; 1, 3 or 5 allowed (%s)", n,
		    n == 0    ? "someone must vote"
		    : n < 5   ? "an even count tolerates no more failures than one voter fewer; "
				"make the extra member a standby"
			      : "more voters only slow every commit; add standbys instead");
}

static int parse_members(const struct loader *ld, const config_setting_t *g,
			 struct sl_manager_cfg *m)
{
	struct endpoint eps[SL_MAX_MEMBERS];
	const config_setting_t *list;
	if (get_list(ld, g, "members", true, 1, SL_MAX_MEMBERS, &list) < 0)
		return -1;
	for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++) {
		const config_setting_t *ms = config_setting_get_elem(list, i);
		struct sl_member_cfg *mb = &m->members[i];
		if (parse_member(ld, ms, mb, &eps[i]) < 0)
			return -1;
		for (unsigned j = 0; j < i; j++) {
			int line = config_setting_source_line(config_setting_get_elem(list, j));
			if (m->members[j].id == mb->id)
				return fail(ld, config_setting_get_member(ms, "id"),
					    "%u is already the id of members.[%u] (line %d)", mb->id,
					    j, line);
			if (eps[j].family == eps[i].family && eps[j].port == eps[i].port &&
			    sl_addr_eq(&eps[j].addr, &eps[i].addr))
				return fail(ld, config_setting_get_member(ms, "address"),
					    "'%s' is already the address of members.[%u] (line %d)",
					    mb->address, j, line);
		}
		m->nb_members = i + 1;
	}
	return check_voters(ld, list, m);
}

/* The HTTPS settings mean nothing without listen: an operator who sets
 * token_file for the Unix socket alone would believe it protected. */
static int parse_api(const struct loader *ld, const config_setting_t *mg,
		     struct sl_manager_cfg *m)
{
	static const char *const names[] = {"listen",    "cert",   "key",         "token_file",
					    "client_ca", "socket", "socket_mode", "max_connections",
					    "max_connections_per_source", NULL};
	/* 0 (absent): the API's own defaults, lib/api/api.h */
	static const struct int_spec max_conns = {"max_connections", 1, 65536, 0, false};
	static const struct int_spec per_source = {"max_connections_per_source", 1, 65536, 0, false};
	int64_t conns, source;
	static const char *const https_only[] = {"cert", "key", "token_file", "client_ca", NULL};
	const config_setting_t *g, *s;
	struct endpoint ep;
	if (get_group(ld, mg, "api", names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (get_endpoint(ld, g, "listen", false, true, m->api_listen, sizeof(m->api_listen), &ep) <
		    0 ||
	    get_path(ld, g, "cert", false, m->api_cert, sizeof(m->api_cert)) < 0 ||
	    get_path(ld, g, "key", false, m->api_key, sizeof(m->api_key)) < 0 ||
	    get_path(ld, g, "token_file", false, m->api_token_file, sizeof(m->api_token_file)) < 0 ||
	    get_path(ld, g, "client_ca", false, m->api_client_ca, sizeof(m->api_client_ca)) < 0 ||
	    /* bind() takes no longer Unix socket path than sun_path holds */
	    get_path(ld, g, "socket", false, m->api_socket,
		     sizeof(((struct sockaddr_un *)0)->sun_path)) < 0 ||
	    get_mode(ld, g, "socket_mode", &m->api_socket_mode) < 0 ||
	    get_int(ld, g, &max_conns, &conns) < 0 || get_int(ld, g, &per_source, &source) < 0)
		return -1;
	m->api_max_connections = (uint32_t)conns;
	m->api_max_connections_per_source = (uint32_t)source;
	if (m->api_listen[0] == '\0') {
		for (const char *const *n = https_only; *n != NULL; n++)
			if ((s = config_setting_get_member(g, *n)) != NULL)
				return fail(ld, s, "set, but listen is not (it is for the HTTPS "
						   "listener only)");
		if (m->api_socket[0] == '\0')
			return fail(ld, g, "needs listen or socket (or leave the api group out)");
	} else {
		if (m->api_cert[0] == '\0')
			return fail_in(ld, g, "cert", "required with listen");
		if (m->api_key[0] == '\0')
			return fail_in(ld, g, "key", "required with listen");
		if (m->api_token_file[0] == '\0' && m->api_client_ca[0] == '\0')
			return fail(ld, config_setting_get_member(g, "listen"),
				    "needs token_file or client_ca (HTTPS clients must "
				    "authenticate)");
	}
	if (m->api_socket[0] == '\0' && (s = config_setting_get_member(g, "socket_mode")) != NULL)
		return fail(ld, s, "set, but socket is not");
	return 0;
}

/* An optional boolean; *out keeps its default when absent. */
static int get_bool(const struct loader *ld, const config_setting_t *group, const char *name,
		    bool *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail_type(ld, s, "true or false");
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* Raft timers. A follower must hear from the leader several times per
 * election timeout, or a slow tick or one lost message deposes a healthy
 * leader. */
static int parse_raft_timers(const struct loader *ld, const config_setting_t *g,
			     struct sl_manager_cfg *m)
{
	static const struct int_spec heartbeat = {"heartbeat_ms", 1, 10000, SL_DEFAULT_HEARTBEAT_MS,
						  false};
	static const struct int_spec election = {"election_timeout_ms", 50, 60000,
						 SL_DEFAULT_ELECTION_TIMEOUT_MS, false};
	int64_t h, e;
	if (get_int(ld, g, &heartbeat, &h) < 0 || get_int(ld, g, &election, &e) < 0)
		return -1;
	if (e < 5 * h) {
		const config_setting_t *s = config_setting_get_member(g, "election_timeout_ms");
		return fail(ld, s != NULL ? s : config_setting_get_member(g, "heartbeat_ms"),
			    "election_timeout_ms %" PRId64 " is less than 5 x heartbeat_ms %" PRId64, e,
			    h);
	}
	m->heartbeat_ms = (uint32_t)h;
	m->election_timeout_ms = (uint32_t)e;
	return 0;
}

/* Absent: no manager, and every manager field stays zero. */
static int parse_manager(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"id",          "data_dir",  "members",
					    "api",         "join",      "heartbeat_ms",
					    "election_timeout_ms",      NULL};
	static const struct int_spec id = {"id", 1, 65535, 0, true};
	struct sl_manager_cfg *m = &ld->c->manager;
	const config_setting_t *g;
	int64_t v;
	if (get_group(ld, sluice, "manager", names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	m->enabled = true;
	m->api_socket_mode = DEFAULT_SOCKET_MODE;
	if (get_int(ld, g, &id, &v) < 0 ||
	    get_path(ld, g, "data_dir", true, m->data_dir, sizeof(m->data_dir)) < 0 ||
	    get_bool(ld, g, "join", &m->join) < 0 || parse_raft_timers(ld, g, m) < 0)
		return -1;
	m->id = (uint32_t)v;
	if (m->data_dir[0] != '/')
		return fail(ld, config_setting_get_member(g, "data_dir"),
			    "'%s' is not an absolute path", m->data_dir);
	if (parse_members(ld, g, m) < 0 || parse_api(ld, g, m) < 0)
		return -1;
	for (unsigned i = 0; i < m->nb_members; i++)
		if (m->members[i].id == m->id)
			return 0;
	return fail(ld, config_setting_get_member(g, "id"),
		    "%u is not the id of any entry in members (this instance must be one)", m->id);
}

/* ------------------------------------------------------------------ bgp */

/* BIRD calls the session "peer_" + name (so no name is one of its keywords). */
static bool valid_bird_name(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len < SL_BGP_NAME_LEN - sizeof(SL_BGP_PEER_PREFIX) + 1 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len;
}

/* An AS number: 0, AS_TRANS (23456) and the last of each range are reserved (RFC 7607, 6793, 7300). */
static int get_as(const struct loader *ld, const config_setting_t *g, const char *name, uint32_t *out)
{
	const struct int_spec spec = {name, 1, 4294967294, 0, true};
	int64_t v;
	if (get_int(ld, g, &spec, &v) < 0)
		return -1;
	if (v == 23456 || v == 65535)
		return fail(ld, config_setting_get_member(g, name),
			    "%" PRId64 " is a reserved AS number (23456: AS_TRANS, 65535)", v);
	*out = (uint32_t)v;
	return 0;
}

static int parse_bgp_peer(const struct loader *ld, const config_setting_t *ps, unsigned idx,
			  const struct sl_port_cfg *port)
{
	static const char *const names[] = {"address", "as", "name", "bfd", "password", NULL};
	struct sl_bgp_cfg *b = &ld->c->bgp;
	struct sl_bgp_peer_cfg *p = &b->peers[idx];
	const char *name, *password;
	int family;
	if (check_group(ld, ps, names) < 0 ||
	    get_addr(ld, ps, "address", SL_AF_NONE, SL_ADDR_ANY, true, &p->addr, &family) < 0 ||
	    get_as(ld, ps, "as", &p->as) < 0 || get_string(ld, ps, "name", false, &name) < 0 ||
	    get_string(ld, ps, "password", false, &password) < 0)
		return -1;
	p->family = (uint8_t)family;
	p->bfd = b->bfd;
	if (get_bool(ld, ps, "bfd", &p->bfd) < 0)
		return -1;
	const config_setting_t *as = config_setting_get_member(ps, "address");
	char text[ADDR_STRLEN];
	sl_addr_format(family, &p->addr, text, sizeof(text));
	/* A direct session: single-hop BFD, and BIRD's packets leave through
	 * the port's kernel interface, nowhere else. */
	if (!port_prefix_contains(port, family, &p->addr))
		return fail(ld, as, "%s is not on port '%s' (peers must be directly connected: "
			    "in one of its prefixes)", text, port->name);
	if (port_has_addr(port, family, &p->addr))
		return fail(ld, as, "%s is an address of port '%s' itself", text, port->name);
	if (name != NULL) {
		if (!valid_bird_name(name))
			return fail(ld, config_setting_get_member(ps, "name"),
				    "'%s' is not a peer name (1..%zu of a-z, A-Z, 0-9, '_')", name,
				    SL_BGP_NAME_LEN - sizeof(SL_BGP_PEER_PREFIX));
		snprintf(p->name, sizeof(p->name), SL_BGP_PEER_PREFIX "%s", name);
	} else {
		snprintf(p->name, sizeof(p->name), SL_BGP_PEER_PREFIX "%u", idx + 1);
	}
	if (password != NULL) {
		size_t n = strlen(password);
		if (n == 0 || n >= sizeof(p->password) || strpbrk(password, "\"\\") != NULL)
			return fail(ld, config_setting_get_member(ps, "password"),
				    "must be 1..%zu characters without '\"' or '\\'", sizeof(p->password) - 1);
		memcpy(p->password, password, n + 1);
	}
	for (unsigned j = 0; j < idx; j++) {
		int line = config_setting_source_line(config_setting_get_elem(config_setting_parent(ps), j));
		if (b->peers[j].family == p->family && sl_addr_eq(&b->peers[j].addr, &p->addr))
			return fail(ld, as, "%s is already the address of peers.[%u] (line %d)", text, j, line);
		if (strcmp(b->peers[j].name, p->name) == 0)
			return fail(ld, config_setting_get_member(ps, "name") ? config_setting_get_member(ps, "name") : ps,
				    "'%s' is already the name of peers.[%u] (line %d)", p->name, j, line);
	}
	return 0;
}

static const union sl_addr *first_addr(const struct sl_port_cfg *p, int family)
{
	for (unsigned i = 0; i < p->nb_addrs; i++)
		if (p->addrs[i].family == family)
			return &p->addrs[i].addr;
	return NULL;
}

/* The port BIRD peers over: named, or the first with a kernel interface. */
static int get_bgp_port(const struct loader *ld, const config_setting_t *g, struct sl_bgp_cfg *b)
{
	const char *name;
	if (get_string(ld, g, "port", false, &name) < 0)
		return -1;
	b->port = -1;
	for (unsigned i = 0; i < ld->c->nb_ports && b->port < 0; i++)
		if (name != NULL ? strcmp(ld->c->ports[i].name, name) == 0 : ld->c->ports[i].kernel_if[0] != '\0')
			b->port = (int)i;
	if (b->port < 0)
		return name != NULL ? fail(ld, config_setting_get_member(g, "port"), "'%s' is not a port", name)
				    : fail(ld, g, "no port has a kernel interface for BIRD to peer over");
	const struct sl_port_cfg *p = &ld->c->ports[b->port];
	if (p->kernel_if[0] == '\0')
		return fail(ld, config_setting_get_member(g, "port"),
			    "port '%s' has no kernel interface (kernel_interface = false), which BIRD peers over",
			    p->name);
	memcpy(b->ifname, p->kernel_if, sizeof(b->ifname));
	const union sl_addr *a4 = first_addr(p, SL_AF_INET), *a6 = first_addr(p, SL_AF_INET6);
	if (a4 != NULL)
		b->source4 = *a4;
	if (a6 != NULL)
		b->source6 = *a6;
	return 0;
}

static int parse_bgp_timers(const struct loader *ld, const config_setting_t *g, struct sl_bgp_cfg *b)
{
	static const struct int_spec specs[] = {
		{"bfd_interval_ms", 10, 10000, SL_BGP_DEFAULT_BFD_MS, false},
		{"bfd_multiplier", 1, 255, SL_BGP_DEFAULT_BFD_MULT, false},
		{"hold_time", 3, 65535, SL_BGP_DEFAULT_HOLD_S, false},
		{"keepalive_time", 1, 21845, SL_BGP_DEFAULT_KEEPALIVE_S, false},
		{"watchdog_ms", 10, 60000, SL_BGP_DEFAULT_WATCHDOG_MS, false},
		{"drain_timeout_ms", 100, 3600000, SL_BGP_DEFAULT_DRAIN_TIMEOUT_MS, false},
		{"drain_quiet_ms", 10, 600000, SL_BGP_DEFAULT_DRAIN_QUIET_MS, false},
		{"table", 1, 4294967295, SL_BGP_DEFAULT_TABLE, false},
	};
	uint32_t *out[] = {&b->bfd_interval_ms, &b->bfd_multiplier, &b->hold_s, &b->keepalive_s,
			   &b->watchdog_ms, &b->drain_timeout_ms, &b->drain_quiet_ms, &b->table};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int64_t v;
		if (get_int(ld, g, &specs[i], &v) < 0)
			return -1;
		*out[i] = (uint32_t)v;
	}
	const config_setting_t *s;
	if (b->keepalive_s * 3 > b->hold_s)
		return fail(ld, (s = config_setting_get_member(g, "keepalive_time")) ? s : config_setting_get_member(g, "hold_time"),
			    "keepalive_time %u is more than a third of hold_time %u (one lost keepalive "
			    "would drop the session)", b->keepalive_s, b->hold_s);
	if (b->drain_quiet_ms >= b->drain_timeout_ms)
		return fail(ld, (s = config_setting_get_member(g, "drain_quiet_ms")) ? s : config_setting_get_member(g, "drain_timeout_ms"),
			    "drain_quiet_ms %u is not less than drain_timeout_ms %u", b->drain_quiet_ms,
			    b->drain_timeout_ms);
	if (b->table >= 253 && b->table <= 255)
		return fail(ld, config_setting_get_member(g, "table"),
			    "%u is one of the kernel's own tables (253 default, 254 main, 255 local)", b->table);
	return 0;
}

/* bgp.pop: this instance's PoP, a name the replicated state holds (or
 * will): its prefixes come from there, so it needs the manager. */
static int get_bgp_pop(const struct loader *ld, const config_setting_t *g, struct sl_bgp_cfg *b)
{
	const char *name, *why;
	if (get_string(ld, g, "pop", false, &name) < 0)
		return -1;
	if (name == NULL)
		return 0;
	const config_setting_t *s = config_setting_get_member(g, "pop");
	if ((why = sl_pop_name_refusal(name)) != NULL)
		return fail(ld, s, "'%s' %s", name, why);
	if (!ld->c->manager.enabled)
		return fail(ld, s, "a PoP's prefixes are in the replicated state: needs a manager group");
	snprintf(b->pop, sizeof(b->pop), "%s", name);
	return 0;
}

/* Absent: no announcements (bgp.enabled false). */
static int parse_bgp(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"local_as", "router_id", "port", "peers", "bfd",
					    "bfd_interval_ms", "bfd_multiplier", "hold_time",
					    "keepalive_time", "graceful_restart", "watchdog_ms",
					    "drain_timeout_ms", "drain_quiet_ms", "drain_on_sigterm",
					    "table", "bird_socket", "require_bird", "pop", NULL};
	struct sl_bgp_cfg *b = &ld->c->bgp;
	const config_setting_t *g, *list;
	if (get_group(ld, sluice, "bgp", names, &g) < 0)
		return -1;
	if (g == NULL)
		return 0;
	if (!(ld->c->roles & SL_ROLE_MUX))
		return fail(ld, g, "announces the VIPs a mux serves: needs the \"mux\" role");
	b->enabled = true;
	b->bfd = true;
	b->drain_on_sigterm = true;
	b->require_bird = true;
	memcpy(b->bird_socket, SL_BGP_DEFAULT_SOCKET, sizeof(SL_BGP_DEFAULT_SOCKET));
	if (get_as(ld, g, "local_as", &b->local_as) < 0 || get_bgp_port(ld, g, b) < 0 ||
	    get_bool(ld, g, "bfd", &b->bfd) < 0 || get_bool(ld, g, "graceful_restart", &b->graceful_restart) < 0 ||
	    get_bool(ld, g, "drain_on_sigterm", &b->drain_on_sigterm) < 0 ||
	    get_bool(ld, g, "require_bird", &b->require_bird) < 0 || parse_bgp_timers(ld, g, b) < 0 ||
	    get_addr(ld, g, "router_id", SL_AF_INET, SL_ADDR_ANY, false, &b->router_id, NULL) < 0 ||
	    (config_setting_get_member(g, "bird_socket") != NULL &&
	     get_path(ld, g, "bird_socket", false, b->bird_socket,
		      sizeof(((struct sockaddr_un *)0)->sun_path)) < 0))
		return -1;
	if (get_bgp_pop(ld, g, b) < 0)
		return -1;
	const struct sl_port_cfg *port = &ld->c->ports[b->port];
	if (sl_addr_is_zero(&b->router_id)) {
		if (sl_addr_is_zero(&b->source4))
			return fail_in(ld, g, "router_id", "required: port '%s' has no IPv4 address to take it from",
				       port->name);
		b->router_id = b->source4;
	}
	if (get_list(ld, g, "peers", true, 1, SL_BGP_MAX_PEERS, &list) < 0)
		return -1;
	for (unsigned i = 0; i < (unsigned)config_setting_length(list); i++) {
		if (parse_bgp_peer(ld, config_setting_get_elem(list, i), i, port) < 0)
			return -1;
		b->nb_peers = i + 1;
	}
	return 0;
}

/* ----------------------------------------------------------------- load */

/* The exception path's rate limits (docs/configuration.md). */
static int parse_exception(const struct loader *ld, const config_setting_t *sluice)
{
	static const char *const names[] = {"to_kernel_rate", "to_kernel_burst", "from_kernel_rate",
					    "from_kernel_burst", NULL};
	static const struct int_spec specs[] = {
		{"to_kernel_rate", 1, SL_KERNEL_MAX_RATE, SL_DEFAULT_KERNEL_RATE, false},
		{"to_kernel_burst", 1, SL_KERNEL_MAX_BURST, SL_DEFAULT_KERNEL_BURST, false},
		{"from_kernel_rate", 1, SL_KERNEL_MAX_RATE, SL_DEFAULT_KERNEL_RATE, false},
		{"from_kernel_burst", 1, SL_KERNEL_MAX_BURST, SL_DEFAULT_KERNEL_BURST, false},
	};
	uint32_t *out[] = {&ld->c->exception.to_kernel_rate, &ld->c->exception.to_kernel_burst,
			   &ld->c->exception.from_kernel_rate, &ld->c->exception.from_kernel_burst};
	const config_setting_t *g;
	if (get_group(ld, sluice, "exception", names, &g) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int64_t v = specs[i].def;
		if (g != NULL && get_int(ld, g, &specs[i], &v) < 0)
			return -1;
		*out[i] = (uint32_t)v;
	}
	return 0;
}

static int parse_root(const struct loader *ld, const config_setting_t *root)
{
	static const char *const root_names[] = {"sluice", NULL};
	static const char *const names[] = {"roles", "workers", "ports",   "mux",
					    "host",  "vips",    "manager", "exception",
					    "bgp",   NULL};
	/* In dependency order: host and mux refer to ports, VIP checks to host. */
	static int (*const sections[])(const struct loader *, const config_setting_t *) = {
		parse_roles, parse_workers, parse_ports,      parse_mux,
		parse_host,  parse_vips,    check_local_dips, parse_manager,
		parse_exception, parse_bgp,
	};
	const config_setting_t *sluice;
	if (check_names(ld, root, root_names) < 0 || get_group(ld, root, "sluice", names, &sluice) < 0)
		return -1;
	if (sluice == NULL)
		return fail_in(ld, root, "sluice", "required group is missing");
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (sections[i](ld, sluice) < 0)
			return -1;
	return 0;
}

static int load_text(const char *text, const char *name, const char *include_dir,
		     struct sl_config *out, char *err, size_t errlen)
{
	struct loader ld = {name != NULL ? name : "<string>", include_dir, err, errlen, out};
	config_t cfg;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (strlen(ld.name) >= sizeof(out->path)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%.64s...: file name too long", ld.name);
		return -1;
	}
	if (check_int_literals(&ld, text) < 0)
		return -1;
	config_init(&cfg);
	if (include_dir != NULL)
		config_set_include_dir(&cfg, include_dir);
	if (!config_read_string(&cfg, text)) {
		char file[4096];
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s:%d: %s",
				 display_file(&ld, config_error_file(&cfg), file, sizeof(file)),
				 config_error_line(&cfg), config_error_text(&cfg));
		rc = -1;
	} else {
		rc = parse_root(&ld, config_root_setting(&cfg));
	}
	config_destroy(&cfg);
	if (rc < 0) {
		sl_config_free(out);
		return -1;
	}
	memcpy(out->path, ld.name, strlen(ld.name) + 1);
	return 0;
}

int sl_config_load_string(const char *text, const char *name, struct sl_config *out, char *err,
			  size_t errlen)
{
	return load_text(text != NULL ? text : "", name, NULL, out, err, errlen);
}

/* The whole file as a string: the literal check needs the text anyway. */
static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 0, len = 0;
	char *buf = NULL;
	const char *problem = NULL;
	for (;;) {
		if (len + 1 >= cap) {
			size_t bigger = cap > 0 ? cap * 2 : 4096;
			char *grown = bigger <= MAX_FILE_SIZE ? realloc(buf, bigger) : NULL;
			if (grown == NULL) {
				problem = bigger > MAX_FILE_SIZE ? "larger than 64 MiB" : "out of memory";
				break;
			}
			buf = grown;
			cap = bigger;
		}
		size_t got = fread(buf + len, 1, cap - 1 - len, f);
		len += got;
		if (got == 0)
			break; /* end of file or error, told apart below */
	}
	if (problem == NULL && ferror(f))
		problem = strerror(errno);
	fclose(f);
	if (problem != NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, problem);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int sl_config_load(const char *path, struct sl_config *out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	memset(out, 0, sizeof(*out));
	char *text = read_file(path, err, errlen);
	if (text == NULL)
		return -1;
	/* @include "x.cfg" is relative to the including file, not the cwd. */
	char *dir = strdup(path);
	char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
	if (slash != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	int rc = load_text(text, path, slash != NULL ? dir : NULL, out, err, errlen);
	free(dir);
	free(text);
	return rc;
}

void sl_config_free(struct sl_config *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nb_vips; i++)
		free(c->vips[i].dips);
	free(c->vips);
	memset(c, 0, sizeof(*c));
}

int sl_prefix_index(const struct sl_prefix *list, unsigned n, const struct sl_prefix *p)
{
	for (unsigned i = 0; i < n; i++)
		if (sl_prefix_eq(&list[i], p))
			return (int)i;
	return -1;
}

int sl_config_port_index(const struct sl_config *c, const char *name)
{
	for (unsigned i = 0; name != NULL && i < c->nb_ports; i++)
		if (strcmp(c->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* --------------------------------------------------------------- reload */

static bool prefixes_equal(const struct sl_port_cfg *a, const struct sl_port_cfg *b)
{
	if (a->nb_addrs != b->nb_addrs)
		return false;
	/* Order matters: the first address of a family is the default tunnel source. */
	for (unsigned i = 0; i < a->nb_addrs; i++)
		if (a->addrs[i].family != b->addrs[i].family || a->addrs[i].len != b->addrs[i].len ||
		    !sl_addr_eq(&a->addrs[i].addr, &b->addrs[i].addr))
			return false;
	return true;
}

static bool neighbours_equal(const struct sl_port_cfg *a, const struct sl_port_cfg *b)
{
	if (a->nb_neigh != b->nb_neigh)
		return false;
	for (unsigned i = 0; i < a->nb_neigh; i++)
		if (a->neigh[i].family != b->neigh[i].family ||
		    !sl_addr_eq(&a->neigh[i].addr, &b->neigh[i].addr) ||
		    memcmp(a->neigh[i].mac, b->neigh[i].mac, sizeof(a->neigh[i].mac)) != 0)
			return false;
	return true;
}

/* Name of the first thing that differs between two ports, or NULL. */
static const char *port_change(const struct sl_port_cfg *a, const struct sl_port_cfg *b)
{
	if (strcmp(a->name, b->name) != 0)
		return "name";
	if (strcmp(a->device, b->device) != 0)
		return "device";
	if (a->queues != b->queues)
		return "queues";
	if (a->mtu != b->mtu)
		return "mtu";
	if (a->vlan != b->vlan)
		return "vlan";
	if (!prefixes_equal(a, b))
		return "addresses";
	if (!sl_addr_eq(&a->gateway4, &b->gateway4))
		return "gateway";
	if (!sl_addr_eq(&a->gateway6, &b->gateway6))
		return "gateway6";
	if (!neighbours_equal(a, b))
		return "neighbours";
	if (strcmp(a->kernel_if, b->kernel_if) != 0)
		return "kernel_interface";
	return NULL;
}

/* Settings fixed at start-up (ports are compared apart). VIPs, DIPs,
 * weights, timeouts and idle_sleep_us are deliberately absent. */
struct fixed_field {
	const char *name;
	size_t offset, size;
};

#define FIXED(name, member) \
	{name, offsetof(struct sl_config, member), sizeof(((struct sl_config *)0)->member)}

static const struct fixed_field fixed_fields[] = {
	FIXED("mux.maglev_size", maglev_size),
	FIXED("mux.hash_seed", hash_seed),
	FIXED("mux.flow_capacity", flow_capacity),
	FIXED("mux.tunnel_source", tunnel_src4),
	FIXED("mux.tunnel_source6", tunnel_src6),
	FIXED("host.address", host_addr4),
	FIXED("host.address6", host_addr6),
	FIXED("host.uplink", uplink_port),
	FIXED("host.backend", backend_port),
	FIXED("host.conn_capacity", conn_capacity),
	FIXED("exception.to_kernel_rate", exception.to_kernel_rate),
	FIXED("exception.to_kernel_burst", exception.to_kernel_burst),
	FIXED("exception.from_kernel_rate", exception.from_kernel_rate),
	FIXED("exception.from_kernel_burst", exception.from_kernel_burst),
	FIXED("bgp", bgp),
};

/* Changes the manager does not allow from the file (see manager_change). */
static bool members_equal(const struct sl_manager_cfg *a, const struct sl_manager_cfg *b)
{
	if (a->nb_members != b->nb_members)
		return false;
	for (unsigned i = 0; i < a->nb_members; i++) {
		const struct sl_member_cfg *x = &a->members[i], *y = &b->members[i];
		if (x->id != y->id || x->voter != y->voter || strcmp(x->address, y->address) != 0 ||
		    strcmp(x->api, y->api) != 0)
			return false;
	}
	return true;
}

#define MANAGER_STRING(name, member) {name, offsetof(struct sl_manager_cfg, member)}

static const struct {
	const char *name;
	size_t offset;
} manager_strings[] = {
	MANAGER_STRING("data_dir", data_dir),
	MANAGER_STRING("api.listen", api_listen),
	MANAGER_STRING("api.cert", api_cert),
	MANAGER_STRING("api.key", api_key),
	MANAGER_STRING("api.client_ca", api_client_ca),
	MANAGER_STRING("api.token_file", api_token_file),
	MANAGER_STRING("api.socket", api_socket),
};

/* Name of the first manager setting that differs, or NULL. Membership
 * changes at run time go through the API, never through the file. */
static const char *manager_change(const struct sl_manager_cfg *a, const struct sl_manager_cfg *b)
{
	if (a->enabled != b->enabled)
		return a->enabled ? "group removed" : "group added";
	if (a->id != b->id)
		return "id";
	if (a->join != b->join)
		return "join";
	if (a->heartbeat_ms != b->heartbeat_ms)
		return "heartbeat_ms";
	if (a->election_timeout_ms != b->election_timeout_ms)
		return "election_timeout_ms";
	for (size_t i = 0; i < sizeof(manager_strings) / sizeof(manager_strings[0]); i++)
		if (strcmp((const char *)a + manager_strings[i].offset,
			   (const char *)b + manager_strings[i].offset) != 0)
			return manager_strings[i].name;
	if (!members_equal(a, b))
		return "members";
	if (a->api_socket_mode != b->api_socket_mode)
		return "api.socket_mode";
	if (a->api_max_connections != b->api_max_connections)
		return "api.max_connections";
	if (a->api_max_connections_per_source != b->api_max_connections_per_source)
		return "api.max_connections_per_source";
	return NULL;
}

/* Line numbers are left out: moving a VIP down the file changes nothing. */
static bool vips_equal(const struct sl_vip_cfg *a, const struct sl_vip_cfg *b)
{
	if (!sl_addr_eq(&a->addr, &b->addr) || a->family != b->family || a->proto != b->proto ||
	    a->port != b->port || a->nb_dips != b->nb_dips)
		return false;
	for (unsigned j = 0; j < a->nb_dips; j++) {
		const struct sl_dip_cfg *x = &a->dips[j], *y = &b->dips[j];
		if (!sl_addr_eq(&x->addr, &y->addr) || x->port != y->port ||
		    !sl_addr_eq(&x->host, &y->host) || x->weight != y->weight)
			return false;
	}
	return true;
}

__attribute__((format(printf, 4, 0))) static bool vrefuse(char *err, size_t errlen,
							   const char *suffix, const char *fmt,
							   va_list ap)
{
	if (err == NULL || errlen == 0)
		return false;
	int n = vsnprintf(err, errlen, fmt, ap);
	if (n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, "%s", suffix);
	return false;
}

__attribute__((format(printf, 3, 4))) static bool restart_required(char *err, size_t errlen,
								    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vrefuse(err, errlen, "; restart required", fmt, ap);
	va_end(ap);
	return false;
}

/* With the manager the file's VIPs only bootstrap a new cluster: a
 * restart would not apply a change either, so no "restart required"
 * here. */
__attribute__((format(printf, 3, 4))) static bool owned_by_log(char *err, size_t errlen,
								const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vrefuse(err, errlen, "", fmt, ap);
	va_end(ap);
	return false;
}

/* The same set: the order of the lines does not matter (there are no repeats). */
bool sl_config_tunnel_sources_equal(const struct sl_config *a, const struct sl_config *b)
{
	if (a->nb_tunnel_sources != b->nb_tunnel_sources)
		return false;
	for (unsigned i = 0; i < a->nb_tunnel_sources; i++)
		if (sl_prefix_index(b->tunnel_sources, b->nb_tunnel_sources, &a->tunnel_sources[i]) < 0)
			return false;
	return true;
}

/* What the replicated log owns must not differ between the two files. */
static bool log_owned_unchanged(const struct sl_config *cur, const struct sl_config *next,
				char *err, size_t errlen)
{
	static const char owned[] =
		"with the manager enabled, VIPs change through the API (sluicectl), not the file";
	for (unsigned i = 0; i < cur->nb_vips && i < next->nb_vips; i++)
		if (!vips_equal(&cur->vips[i], &next->vips[i]))
			return owned_by_log(err, errlen, "%s (sluice.vips.[%u] differs)", owned, i);
	if (cur->nb_vips != next->nb_vips)
		return owned_by_log(err, errlen, "%s (%u VIPs -> %u)", owned, cur->nb_vips,
				    next->nb_vips);
	/* host.tunnel_sources: the replicated state decides whether the log
	 * owns them (sl_mgr_reloadable()), which this library cannot see. */
	return true;
}

bool sl_config_reloadable(const struct sl_config *cur, const struct sl_config *next, char *err,
			  size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cur->roles != next->roles)
		return restart_required(err, errlen, "roles changed");
	if (cur->burst != next->burst)
		return restart_required(err, errlen, "workers.burst changed (%u -> %u)", cur->burst,
					next->burst);
	if (cur->nb_ports != next->nb_ports)
		return restart_required(err, errlen, "ports changed (%u ports -> %u)",
					cur->nb_ports, next->nb_ports);
	for (unsigned i = 0; i < cur->nb_ports; i++) {
		const char *what = port_change(&cur->ports[i], &next->ports[i]);
		if (what != NULL)
			return restart_required(err, errlen, "ports changed (port '%s' %s)",
						cur->ports[i].name, what);
	}
	for (size_t i = 0; i < sizeof(fixed_fields) / sizeof(fixed_fields[0]); i++) {
		const struct fixed_field *f = &fixed_fields[i];
		if (memcmp((const char *)cur + f->offset, (const char *)next + f->offset, f->size) != 0)
			return restart_required(err, errlen, "%s changed", f->name);
	}
	const char *what = manager_change(&cur->manager, &next->manager);
	if (what != NULL)
		return restart_required(err, errlen, "manager settings changed (%s)", what);
	return !cur->manager.enabled || log_owned_unchanged(cur, next, err, errlen);
}
