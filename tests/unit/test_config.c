/*
 * Unit tests for lib/config: the example file, defaults, one bad config per
 * validation rule (each checked for file, line and setting path), syntax
 * errors, file handling and the reload decision.
 *
 * Bad configs are one- or two-place edits of BASE, so each table row shows
 * exactly what is wrong; an edit whose text is not found exactly once fails
 * the test, so the table cannot silently go stale.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "packet/packet.h"

#ifndef SL_EXAMPLE_CFG
#error "tests/unit/meson.build passes -DSL_EXAMPLE_CFG=<source>/config/example.cfg"
#endif

/* Every section and most settings, none at its default. Line numbers on the right. */
static const char BASE[] =
	"sluice: {\n"                                                                     /* 1 */
	"  roles = [\"mux\", \"host\"];\n"                                                /* 2 */
	"  workers: { burst = 16; idle_sleep_us = 50; };\n"                               /* 3 */
	"  ports = (\n"                                                                   /* 4 */
	"    { name = \"up\"; device = \"net_tap0\"; queues = 2; mtu = 9000;\n"           /* 5 */
	"      addresses = [\"192.0.2.10/24\", \"2001:db8:2::10/64\"];\n"                 /* 6 */
	"      gateway = \"192.0.2.1\"; gateway6 = \"2001:db8:2::1\";\n"                  /* 7 */
	"      neighbours = ({ address = \"192.0.2.99\"; mac = \"02:00:00:00:00:9A\"; }); },\n" /* 8 */
	"    { name = \"down\"; device = \"net_tap1\";\n"                                 /* 9 */
	"      addresses = [\"198.18.1.1/24\"]; }\n"                                      /* 10 */
	"  );\n"                                                                          /* 11 */
	"  mux: { maglev_size = 251; hash_seed = 42; flow_capacity = 1024;\n"             /* 12 */
	"         flow_idle_timeout = 30; tunnel_source = \"192.0.2.10\"; };\n"           /* 13 */
	"  host: { address = \"192.0.2.10\"; address6 = \"2001:db8:2::10\";\n"            /* 14 */
	"          uplink = \"up\"; backend = \"down\"; conn_capacity = 2048; conn_idle_timeout = 60; };\n" /* 15 */
	"  vips = (\n"                                                                    /* 16 */
	"    { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;\n"              /* 17 */
	"      dips = (\n"                                                                /* 18 */
	"        { address = \"198.18.1.2\"; port = 8080; host = \"192.0.2.10\"; weight = 7; },\n" /* 19 */
	"        { address = \"198.18.2.2\"; host = \"192.0.2.22\"; }\n"                  /* 20 */
	"      ); },\n"                                                                   /* 21 */
	"    { address = \"2001:db8:100::10\"; protocol = \"udp\"; port = 53;\n"          /* 22 */
	"      dips = ( { address = \"2001:db8:11::2\"; host = \"2001:db8:2::10\"; } ); }\n" /* 23 */
	"  );\n"                                                                          /* 24 */
	"};\n";                                                                           /* 25 */

/* The mux group (lines 12-13) and host group (14-15), for cases that remove them. */
#define MUX_LINES                                                            \
	"  mux: { maglev_size = 251; hash_seed = 42; flow_capacity = 1024;\n" \
	"         flow_idle_timeout = 30; tunnel_source = \"192.0.2.10\"; };\n"
#define HOST_LINES                                                                      \
	"  host: { address = \"192.0.2.10\"; address6 = \"2001:db8:2::10\";\n"            \
	"          uplink = \"up\"; backend = \"down\"; conn_capacity = 2048; conn_idle_timeout " \
	"= 60; };\n"
#define V6_VIP_LINES                                                         \
	"    { address = \"2001:db8:100::10\"; protocol = \"udp\"; port = 53;\n" \
	"      dips = ( { address = \"2001:db8:11::2\"; host = \"2001:db8:2::10\"; } ); }\n"

#define ERRLEN 1024

/* ----------------------------------------------------------------- helpers */

static size_t count_occurrences(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* text with the one occurrence of find replaced by repl (malloc'd). */
static char *edit(const char *text, const char *find, const char *repl)
{
	ck_assert_msg(count_occurrences(text, find) == 1, "edit target not unique in BASE: %s",
		      find);
	const char *at = strstr(text, find);
	size_t head = (size_t)(at - text), flen = strlen(find), rlen = strlen(repl);
	char *out = malloc(strlen(text) - flen + rlen + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, head);
	memcpy(out + head, repl, rlen);
	strcpy(out + head + rlen, at + flen);
	return out;
}

/* BASE with up to two edits (NULL find: none). */
static char *base_with(const char *find, const char *repl, const char *find2, const char *repl2)
{
	char *one = find != NULL ? edit(BASE, find, repl) : strdup(BASE);
	if (find2 == NULL)
		return one;
	char *two = edit(one, find2, repl2);
	free(one);
	return two;
}

static union sl_addr addr_of(const char *text)
{
	union sl_addr a;
	ck_assert_msg(sl_addr_parse(text, &a) != SL_AF_NONE, "bad address in test: %s", text);
	return a;
}

#define ck_assert_addr(actual, text)                                                  \
	do {                                                                          \
		union sl_addr want_ = addr_of(text);                                  \
		ck_assert_msg(sl_addr_eq(&(actual), &want_), "%s is not %s", #actual, text); \
	} while (0)

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void load_ok(const char *text, struct sl_config *c)
{
	char err[ERRLEN];
	int rc = sl_config_load_string(text, "t.cfg", c, err, sizeof(err));
	ck_assert_msg(rc == 0, "expected to load, got: %s", err);
}

/* ------------------------------------------------------------- example.cfg */

START_TEST(test_example_file)
{
	struct sl_config c;
	char err[ERRLEN];
	ck_assert_msg(sl_config_load(SL_EXAMPLE_CFG, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.path, SL_EXAMPLE_CFG);
	ck_assert_uint_eq(c.roles, SL_ROLE_MUX | SL_ROLE_HOST);
	ck_assert_uint_eq(c.burst, 32);
	ck_assert_uint_eq(c.idle_sleep_us, 0);

	ck_assert_uint_eq(c.nb_ports, 2);
	const struct sl_port_cfg *f = &c.ports[0], *b = &c.ports[1];
	ck_assert_str_eq(f->name, "fabric");
	ck_assert_str_eq(f->device, "net_tap0");
	ck_assert_uint_eq(f->queues, 1);
	ck_assert_uint_eq(f->mtu, 1500);
	ck_assert_uint_eq(f->nb_addrs, 2);
	ck_assert_uint_eq(f->addrs[0].family, SL_AF_INET);
	ck_assert_uint_eq(f->addrs[0].len, 24);
	ck_assert_addr(f->addrs[0].addr, "192.0.2.10");
	ck_assert_uint_eq(f->addrs[1].family, SL_AF_INET6);
	ck_assert_uint_eq(f->addrs[1].len, 64);
	ck_assert_addr(f->addrs[1].addr, "2001:db8:2::10");
	ck_assert_addr(f->gateway4, "192.0.2.1");
	ck_assert_addr(f->gateway6, "2001:db8:2::1");
	ck_assert_uint_eq(f->nb_neigh, 1);
	ck_assert_uint_eq(f->neigh[0].family, SL_AF_INET);
	ck_assert_addr(f->neigh[0].addr, "192.0.2.99");
	ck_assert_mem_eq(f->neigh[0].mac, ((uint8_t[]){0x02, 0, 0, 0, 0, 0x99}), 6);

	ck_assert_str_eq(b->name, "backend");
	ck_assert_str_eq(b->device, "net_tap1");
	ck_assert_uint_eq(b->queues, 0); /* default: one per worker */
	ck_assert_uint_eq(b->mtu, 1500);
	ck_assert_uint_eq(b->nb_addrs, 2);
	ck_assert_addr(b->addrs[0].addr, "198.18.1.1");
	ck_assert_uint_eq(b->addrs[0].len, 24);
	ck_assert_addr(b->addrs[1].addr, "2001:db8:11::1");
	ck_assert_uint_eq(b->addrs[1].len, 64);
	ck_assert(sl_addr_is_zero(&b->gateway4) && sl_addr_is_zero(&b->gateway6));
	ck_assert_uint_eq(b->nb_neigh, 0);

	ck_assert_uint_eq(c.maglev_size, 65537);
	ck_assert_uint_eq(c.hash_seed, 0x5eed5eedu);
	ck_assert_uint_eq(c.flow_capacity, 262144);
	ck_assert_uint_eq(c.flow_idle_ms, 300000);
	ck_assert_addr(c.tunnel_src4, "192.0.2.10");
	ck_assert_addr(c.tunnel_src6, "2001:db8:2::10");

	ck_assert_addr(c.host_addr4, "192.0.2.10");
	ck_assert_addr(c.host_addr6, "2001:db8:2::10");
	ck_assert_int_eq(c.uplink_port, 0);
	ck_assert_int_eq(c.backend_port, 1);
	ck_assert_uint_eq(c.conn_capacity, 262144);
	ck_assert_uint_eq(c.conn_idle_ms, 300000);

	ck_assert_uint_eq(c.nb_vips, 2);
	const struct sl_vip_cfg *v4 = &c.vips[0], *v6 = &c.vips[1];
	ck_assert_addr(v4->addr, "203.0.113.10");
	ck_assert_uint_eq(v4->family, SL_AF_INET);
	ck_assert_uint_eq(v4->proto, SL_PROTO_TCP);
	ck_assert_uint_eq(v4->port, 80);
	ck_assert_uint_eq(v4->line, 57);
	ck_assert_uint_eq(v4->nb_dips, 2);
	ck_assert_addr(v4->dips[0].addr, "198.18.1.2");
	ck_assert_uint_eq(v4->dips[0].port, 8080);
	ck_assert_addr(v4->dips[0].host, "192.0.2.10");
	ck_assert_uint_eq(v4->dips[0].weight, 100);
	ck_assert_uint_eq(v4->dips[0].line, 62);
	ck_assert_addr(v4->dips[1].addr, "198.18.2.2");
	ck_assert_uint_eq(v4->dips[1].port, 8080);
	ck_assert_addr(v4->dips[1].host, "192.0.2.22");
	ck_assert_uint_eq(v4->dips[1].weight, 50);
	ck_assert_uint_eq(v4->dips[1].line, 63);

	ck_assert_addr(v6->addr, "2001:db8:100::10");
	ck_assert_uint_eq(v6->family, SL_AF_INET6);
	ck_assert_uint_eq(v6->proto, SL_PROTO_TCP);
	ck_assert_uint_eq(v6->port, 80);
	ck_assert_uint_eq(v6->nb_dips, 1);
	ck_assert_addr(v6->dips[0].addr, "2001:db8:11::2");
	ck_assert_uint_eq(v6->dips[0].port, 8080);
	ck_assert_addr(v6->dips[0].host, "2001:db8:2::10");
	ck_assert_uint_eq(v6->dips[0].weight, 100);

	ck_assert_int_eq(sl_config_port_index(&c, "fabric"), 0);
	ck_assert_int_eq(sl_config_port_index(&c, "backend"), 1);
	ck_assert_int_eq(sl_config_port_index(&c, "nope"), -1);
	sl_config_free(&c);
	ck_assert(all_zero(&c, sizeof(c)));
	sl_config_free(&c); /* twice is harmless */
}
END_TEST

/* BASE sets every value away from its default; check they all arrive. */
START_TEST(test_base_values)
{
	struct sl_config c;
	load_ok(BASE, &c);
	ck_assert_str_eq(c.path, "t.cfg");
	ck_assert_uint_eq(c.burst, 16);
	ck_assert_uint_eq(c.idle_sleep_us, 50);
	ck_assert_uint_eq(c.ports[0].queues, 2);
	ck_assert_uint_eq(c.ports[0].mtu, 9000);
	ck_assert_mem_eq(c.ports[0].neigh[0].mac, ((uint8_t[]){2, 0, 0, 0, 0, 0x9a}), 6);
	ck_assert_uint_eq(c.maglev_size, 251);
	ck_assert_uint_eq(c.hash_seed, 42);
	ck_assert_uint_eq(c.flow_capacity, 1024);
	ck_assert_uint_eq(c.flow_idle_ms, 30000);
	ck_assert_addr(c.tunnel_src4, "192.0.2.10");
	ck_assert(sl_addr_is_zero(&c.tunnel_src6));
	ck_assert_uint_eq(c.conn_capacity, 2048);
	ck_assert_uint_eq(c.conn_idle_ms, 60000);
	ck_assert_int_eq(c.uplink_port, 0);
	ck_assert_int_eq(c.backend_port, 1);
	ck_assert_uint_eq(c.vips[0].dips[0].weight, 7);
	ck_assert_uint_eq(c.vips[0].dips[1].port, 80); /* default: the VIP's port */
	ck_assert_uint_eq(c.vips[0].dips[1].weight, 100);
	ck_assert_uint_eq(c.vips[1].proto, SL_PROTO_UDP);
	ck_assert_uint_eq(c.vips[1].dips[0].port, 53);
	ck_assert_uint_eq(c.vips[1].line, 22);
	ck_assert_uint_eq(c.vips[0].dips[1].line, 20);
	sl_config_free(&c);
}
END_TEST

START_TEST(test_defaults)
{
	static const char text[] = "sluice: {\n"
				   "  roles = [\"mux\", \"host\"];\n"
				   "  ports = ({ name = \"p\"; device = \"net_null0\";\n"
				   "             addresses = [\"192.0.2.1/24\"]; });\n"
				   "  mux: {};\n"
				   "  host: { address = \"192.0.2.1\"; uplink = \"p\"; backend = \"p\"; };\n"
				   "};\n";
	struct sl_config c;
	load_ok(text, &c);
	ck_assert_uint_eq(c.burst, 32);
	ck_assert_uint_eq(c.idle_sleep_us, 0);
	ck_assert_uint_eq(c.ports[0].queues, 0);
	ck_assert_uint_eq(c.ports[0].mtu, 1500);
	ck_assert_uint_eq(c.ports[0].nb_neigh, 0);
	ck_assert(sl_addr_is_zero(&c.ports[0].gateway4));
	ck_assert_uint_eq(c.maglev_size, 65537);
	ck_assert_uint_eq(c.hash_seed, UINT64_C(0x5eed5eedcafef00d));
	ck_assert_uint_eq(c.flow_capacity, 262144);
	ck_assert_uint_eq(c.flow_idle_ms, 300000);
	ck_assert(sl_addr_is_zero(&c.tunnel_src4) && sl_addr_is_zero(&c.tunnel_src6));
	ck_assert_uint_eq(c.conn_capacity, 262144);
	ck_assert_uint_eq(c.conn_idle_ms, 300000);
	ck_assert_int_eq(c.uplink_port, 0); /* uplink and backend may be one port */
	ck_assert_int_eq(c.backend_port, 0);
	ck_assert(sl_addr_is_zero(&c.host_addr6));
	ck_assert_uint_eq(c.nb_vips, 0);
	ck_assert_ptr_null(c.vips);
	sl_config_free(&c);
}
END_TEST

/* ------------------------------------------------------- accepted variants */

struct good_case {
	const char *find, *repl, *find2, *repl2;
};

static const struct good_case good_cases[] = {
	/* Same address and port with another protocol is another VIP. */
	{V6_VIP_LINES,
	 "    { address = \"203.0.113.10\"; protocol = \"udp\"; port = 80;\n"
	 "      dips = ( { address = \"198.18.1.3\"; host = \"192.0.2.10\"; } ); }\n"},
	/* One DIP behind two VIPs is fine when it is not on this host... */
	{V6_VIP_LINES,
	 "    { address = \"203.0.113.11\"; protocol = \"tcp\"; port = 80;\n"
	 "      dips = ( { address = \"198.18.2.2\"; host = \"192.0.2.22\"; } ); }\n"},
	/* ...or when this instance is no host agent. */
	{"roles = [\"mux\", \"host\"]", "roles = [\"mux\"]", HOST_LINES, "\n\n"},
	/* Host-only instance without a mux group. */
	{"roles = [\"mux\", \"host\"]", "roles = (\"host\")", MUX_LINES, "\n\n"},
	/* Empty VIP list, VIP without DIPs. */
	{"  vips = (\n", "  vips = ();\n/*\n", "  );\n};\n", "*/\n};\n"},
	{"      dips = ( { address = \"2001:db8:11::2\"; host = \"2001:db8:2::10\"; } ); }",
	 "      dips = (); }"},
	/* Bounds themselves are valid. */
	{"burst = 16", "burst = 64", "idle_sleep_us = 50", "idle_sleep_us = 100000"},
	{"maglev_size = 251", "maglev_size = 1000003", "flow_capacity = 1024",
	 "flow_capacity = 16777216"},
	{"maglev_size = 251", "maglev_size = 7", "flow_idle_timeout = 30",
	 "flow_idle_timeout = 86400"},
	{"queues = 2; mtu = 9000", "queues = 64; mtu = 1280"},
	{"weight = 7", "weight = 65535", "port = 8080", "port = 65535"},
	/* An IPv4-only port may have the smallest MTU. */
	{"device = \"net_tap1\";", "device = \"net_tap1\"; mtu = 576;"},
	/* 64-bit integer where an int is expected. */
	{"flow_capacity = 1024", "flow_capacity = 1024L"},
};

START_TEST(test_good_variants)
{
	const struct good_case *gc = &good_cases[_i];
	char *text = base_with(gc->find, gc->repl, gc->find2, gc->repl2);
	struct sl_config c;
	load_ok(text, &c);
	sl_config_free(&c);
	free(text);
}
END_TEST

START_TEST(test_hash_seed_forms)
{
	static const struct {
		const char *literal;
		uint64_t seed;
	} forms[] = {
		{"0", 0},
		{"0xcafef00d", 0xcafef00du}, /* 32-bit hex is a bit pattern, not negative */
		{"0x7fffffff", 0x7fffffffu},
		{"2147483647", 2147483647u},
		{"0xcafef00dcafef00dL", UINT64_C(0xcafef00dcafef00d)},
		{"0xffffffffffffffffL", UINT64_MAX},
		{"9223372036854775807L", UINT64_C(9223372036854775807)},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char repl[64];
		snprintf(repl, sizeof(repl), "hash_seed = %s", forms[i].literal);
		char *text = edit(BASE, "hash_seed = 42", repl);
		struct sl_config c;
		load_ok(text, &c);
		ck_assert_msg(c.hash_seed == forms[i].seed, "%s loaded as %#llx", forms[i].literal,
			      (unsigned long long)c.hash_seed);
		sl_config_free(&c);
		free(text);
	}
}
END_TEST

/* ---------------------------------------------------------- rejected input */

struct bad_case {
	const char *find, *repl, *find2, *repl2; /* edits of BASE */
	const char *text;                        /* or a whole file */
	int line;
	const char *path; /* setting named right after "t.cfg:LINE: "; NULL: none */
	const char *what; /* part of the explanation */
};

#define PORT0 "sluice.ports.[0]"
#define DIP00 "sluice.vips.[0].dips.[0]"

static const struct bad_case bad_cases[] = {
	/* structure and unknown names */
	{.text = "# nothing\n", .line = 1, .path = "sluice", .what = "required group is missing"},
	{"  );\n};\n", "  );\n};\nextra = 1;\n", .line = 26, .path = "extra",
	 .what = "unknown setting (allowed here: sluice)"},
	{"sluice: {", "sluice = 5; /*", "  );\n};\n", "  );\n*/\n", .line = 1, .path = "sluice", .what = "must be a group"},
	{"roles =", "role =", .line = 2, .path = "sluice.role", .what = "unknown setting"},
	{"idle_sleep_us = 50", "idle_sleep = 50", .line = 3, .path = "sluice.workers.idle_sleep",
	 .what = "allowed here: burst, idle_sleep_us"},
	{"mtu = 9000", "mut = 9000", .line = 5, .path = PORT0 ".mut", .what = "unknown setting"},
	{"mac =", "ma =", .line = 8, .path = PORT0 ".neighbours.[0].ma", .what = "unknown"},
	{"hash_seed", "hash_sed", .line = 12, .path = "sluice.mux.hash_sed", .what = "unknown"},
	{"conn_capacity", "conn_capacty", .line = 15, .path = "sluice.host.conn_capacty",
	 .what = "unknown"},
	{"protocol = \"udp\"", "proto = \"udp\"", .line = 22, .path = "sluice.vips.[1].proto",
	 .what = "unknown"},
	{"weight = 7", "wieght = 7", .line = 19, .path = DIP00 ".wieght", .what = "unknown"},
	/* roles */
	{"  roles = [\"mux\", \"host\"];\n", "\n", .line = 1, .path = "sluice.roles",
	 .what = "required setting is missing"},
	{"[\"mux\", \"host\"]", "[]", .line = 2, .path = "sluice.roles",
	 .what = "has 0 entries; 1..2 allowed"},
	{"[\"mux\", \"host\"]", "[\"mux\", \"hots\"]", .line = 2, .path = "sluice.roles.[1]",
	 .what = "'hots' is not a role"},
	{"[\"mux\", \"host\"]", "[\"mux\", \"mux\"]", .line = 2, .path = "sluice.roles.[1]",
	 .what = "listed twice"},
	{"[\"mux\", \"host\"]", "\"mux\"", .line = 2, .path = "sluice.roles",
	 .what = "must be a list, not a string"},
	/* workers */
	{"burst = 16", "burst = 65", .line = 3, .path = "sluice.workers.burst",
	 .what = "65 is out of range (1..64)"},
	{"burst = 16", "burst = 0", .line = 3, .path = "sluice.workers.burst",
	 .what = "0 is out of range (1..64)"},
	{"burst = 16", "burst = \"16\"", .line = 3, .path = "sluice.workers.burst",
	 .what = "must be an integer, not a string"},
	{"burst = 16", "burst = 16.0", .line = 3, .path = "sluice.workers.burst",
	 .what = "must be an integer, not a float"},
	{"idle_sleep_us = 50", "idle_sleep_us = 100001", .line = 3,
	 .path = "sluice.workers.idle_sleep_us", .what = "out of range (0..100000)"},
	{"workers: {", "workers: ({", "50; };", "50; });", .line = 3, .path = "sluice.workers",
	 .what = "must be a group"},
	/* ports */
	{.text = "sluice: { roles = [\"mux\"];\n mux: {}; };\n", .line = 1, .path = "sluice.ports",
	 .what = "required setting is missing"},
	{"ports = (\n", "ports = ();\n/*\n", "\n  );\n  mux:", "*/\n  mux:", .line = 4,
	 .path = "sluice.ports", .what = "has 0 entries; 1..8 allowed"},
	{"{ name = \"up\";", "5, { name = \"up\";", .line = 5, .path = PORT0,
	 .what = "must be a group { ... }, not an integer"},
	{"name = \"up\"", "name = \"Up\"", .line = 5, .path = PORT0 ".name",
	 .what = "'Up' is not a valid port name"},
	{"name = \"up\"", "name = \"up.1\"", .line = 5, .path = PORT0 ".name",
	 .what = "a-z, 0-9, '_', '-'"},
	{"name = \"up\"", "name = \"u234567890123456789012345678901x\"", .line = 5,
	 .path = PORT0 ".name", .what = "1..31 characters"},
	{"name = \"up\"", "name = \"\"", .line = 5, .path = PORT0 ".name",
	 .what = "is not a valid port name"},
	{"name = \"down\"", "name = \"up\"", .line = 9, .path = "sluice.ports.[1].name",
	 .what = "already used by sluice.ports.[0]"},
	{"name = \"down\"; device = \"net_tap1\";", "name = \"down\";", .line = 9,
	 .path = "sluice.ports.[1].device", .what = "required setting is missing"},
	{"device = \"net_tap1\"", "device = \"\"", .line = 9, .path = "sluice.ports.[1].device",
	 .what = "must be 1..127 characters long"},
	{"queues = 2", "queues = 0", .line = 5, .path = PORT0 ".queues",
	 .what = "0 is out of range (1..64)"},
	{"queues = 2", "queues = 65", .line = 5, .path = PORT0 ".queues",
	 .what = "65 is out of range (1..64)"},
	{"mtu = 9000", "mtu = 575", .line = 5, .path = PORT0 ".mtu",
	 .what = "575 is out of range (576..9000)"},
	{"mtu = 9000", "mtu = 9001", .line = 5, .path = PORT0 ".mtu",
	 .what = "9001 is out of range (576..9000)"},
	{"mtu = 9000", "mtu = 1279", .line = 5, .path = PORT0 ".mtu",
	 .what = "below 1280, the IPv6 minimum"},
	{"\"192.0.2.10/24\",", "\"192.0.2.10\",", .line = 6, .path = PORT0 ".addresses.[0]",
	 .what = "'192.0.2.10' is not an address with prefix length"},
	{"\"192.0.2.10/24\",", "\"192.0.2.10/33\",", .line = 6, .path = PORT0 ".addresses.[0]",
	 .what = "is not an address with prefix length"},
	{"\"2001:db8:2::10/64\"", "\"0.0.0.0/0\"", .line = 6, .path = PORT0 ".addresses.[1]",
	 .what = "unspecified"},
	{"\"2001:db8:2::10/64\"]",
	 "\"2001:db8:2::10/64\",\n \"10.0.0.1/8\", \"10.0.0.2/8\", \"10.0.0.3/8\", \"10.0.0.4/8\","
	 " \"10.0.0.5/8\", \"10.0.0.6/8\", \"10.0.0.7/8\"]",
	 .line = 6, .path = PORT0 ".addresses", .what = "has 9 entries; 0..8 allowed"},
	{"\"198.18.1.1/24\"", "\"192.0.2.10/25\"", .line = 10,
	 .path = "sluice.ports.[1].addresses.[0]", .what = "already an address of port 'up'"},
	{"\"2001:db8:2::10/64\"", "\"192.0.2.10/24\"", .line = 6, .path = PORT0 ".addresses.[1]",
	 .what = "already an address of port 'up'"},
	{"gateway = \"192.0.2.1\"", "gateway = \"192.0.3.1\"", .line = 7, .path = PORT0 ".gateway",
	 .what = "192.0.3.1 is not inside any IPv4 prefix of port 'up'"},
	{"gateway = \"192.0.2.1\"", "gateway = \"2001:db8:2::1\"", .line = 7,
	 .path = PORT0 ".gateway", .what = "'2001:db8:2::1' is not an IPv4 address"},
	{"gateway6 = \"2001:db8:2::1\"", "gateway6 = \"2001:db8:3::1\"", .line = 7,
	 .path = PORT0 ".gateway6", .what = "not inside any IPv6 prefix of port 'up'"},
	{"gateway6 = \"2001:db8:2::1\"", "gateway6 = \"192.0.2.1\"", .line = 7,
	 .path = PORT0 ".gateway6", .what = "is not an IPv6 address"},
	{"gateway = \"192.0.2.1\"", "gateway = \"192.0.2.256\"", .line = 7,
	 .path = PORT0 ".gateway", .what = "'192.0.2.256' is not an IPv4 address"},
	{"02:00:00:00:00:9A", "02:00:00:00:00:9", .line = 8, .path = PORT0 ".neighbours.[0].mac",
	 .what = "is not a MAC address"},
	{"02:00:00:00:00:9A", "02-00-00-00-00-9a", .line = 8, .path = PORT0 ".neighbours.[0].mac",
	 .what = "is not a MAC address"},
	{"02:00:00:00:00:9A", "02:00:00:00:00:9g", .line = 8, .path = PORT0 ".neighbours.[0].mac",
	 .what = "is not a MAC address"},
	{"{ address = \"192.0.2.99\"; mac", "{ mac", .line = 8, .path = PORT0 ".neighbours.[0].address",
	 .what = "required setting is missing"},
	{"mac = \"02:00:00:00:00:9A\"; }", "mac = \"02:00:00:00:00:9A\"; },\n"
	 "  { address = \"192.0.2.99\"; mac = \"02:00:00:00:00:01\"; }",
	 .line = 9, .path = PORT0 ".neighbours.[1].address", .what = "listed twice"},
	/* mux */
	{MUX_LINES, "\n\n", .line = 1, .path = "sluice.mux", .what = "required with the \"mux\" role"},
	{"[\"mux\", \"host\"]", "[\"host\"]", .line = 12, .path = "sluice.mux",
	 .what = "roles does not include \"mux\""},
	{"maglev_size = 251", "maglev_size = 250", .line = 12, .path = "sluice.mux.maglev_size",
	 .what = "250 is not prime"},
	{"maglev_size = 251", "maglev_size = 5", .line = 12, .path = "sluice.mux.maglev_size",
	 .what = "5 is out of range (7..1000003)"},
	{"maglev_size = 251", "maglev_size = 1000033", .line = 12, .path = "sluice.mux.maglev_size",
	 .what = "out of range (7..1000003)"},
	{"flow_capacity = 1024", "flow_capacity = 63", .line = 12,
	 .path = "sluice.mux.flow_capacity", .what = "63 is out of range (64..16777216)"},
	{"flow_capacity = 1024", "flow_capacity = 16777217", .line = 12,
	 .path = "sluice.mux.flow_capacity", .what = "out of range (64..16777216)"},
	{"flow_idle_timeout = 30", "flow_idle_timeout = 0", .line = 13,
	 .path = "sluice.mux.flow_idle_timeout", .what = "0 is out of range (1..86400)"},
	{"flow_idle_timeout = 30", "flow_idle_timeout = 86401", .line = 13,
	 .path = "sluice.mux.flow_idle_timeout", .what = "out of range (1..86400)"},
	{"hash_seed = 42", "hash_seed = -1", .line = 12, .path = "sluice.mux.hash_seed",
	 .what = "-1 is negative"},
	{"hash_seed = 42", "hash_seed = \"42\"", .line = 12, .path = "sluice.mux.hash_seed",
	 .what = "must be an integer"},
	{"tunnel_source = \"192.0.2.10\"", "tunnel_source = \"192.0.2.11\"", .line = 13,
	 .path = "sluice.mux.tunnel_source", .what = "192.0.2.11 is not an address of any port"},
	{"tunnel_source = \"192.0.2.10\"", "tunnel_source = \"2001:db8:2::10\"", .line = 13,
	 .path = "sluice.mux.tunnel_source", .what = "is not an IPv4 address"},
	{"tunnel_source = \"192.0.2.10\"", "tunnel_source6 = \"2001:db8:2::11\"", .line = 13,
	 .path = "sluice.mux.tunnel_source6", .what = "is not an address of any port"},
	/* integer literals libconfig 1.5 would truncate */
	{"hash_seed = 42", "hash_seed = 0x5eed5eedcafef00d", .line = 12, .path = NULL,
	 .what = "0x5eed5eedcafef00d does not fit in a 32-bit integer; write 0x5eed5eedcafef00dL"},
	{"flow_capacity = 1024", "flow_capacity =\n4294967360", .line = 13, .path = NULL,
	 .what = "4294967360 does not fit in a 32-bit integer"},
	{"hash_seed = 42", "hash_seed = 0x1ffffffffffffffffL", .line = 12, .path = NULL,
	 .what = "does not fit"},
	/* host */
	{HOST_LINES, "\n\n", .line = 1, .path = "sluice.host",
	 .what = "required with the \"host\" role"},
	{"[\"mux\", \"host\"]", "[\"mux\"]", .line = 14, .path = "sluice.host",
	 .what = "roles does not include \"host\""},
	{"uplink = \"up\"", "uplink = \"upp\"", .line = 15, .path = "sluice.host.uplink",
	 .what = "no port is named 'upp'"},
	{"backend = \"down\"; ", "", .line = 14, .path = "sluice.host.backend",
	 .what = "required setting is missing"},
	{"address = \"192.0.2.10\"; address6", "address = \"198.18.1.1\"; address6", .line = 14,
	 .path = "sluice.host.address",
	 .what = "198.18.1.1 is not an address of the uplink port 'up'"},
	{"address = \"192.0.2.10\"; address6", "address = \"192.0.2.11\"; address6", .line = 14,
	 .path = "sluice.host.address", .what = "not an address of the uplink port"},
	{"address6 = \"2001:db8:2::10\";\n", "address6 = \"192.0.2.10\";\n", .line = 14,
	 .path = "sluice.host.address6", .what = "is not an IPv6 address"},
	{"host: { address = \"192.0.2.10\"; address6 = \"2001:db8:2::10\";", "host: {", .line = 14,
	 .path = "sluice.host", .what = "needs address or address6"},
	{"conn_capacity = 2048", "conn_capacity = 16777217", .line = 15,
	 .path = "sluice.host.conn_capacity", .what = "out of range (64..16777216)"},
	{"conn_idle_timeout = 60", "conn_idle_timeout = 0", .line = 15,
	 .path = "sluice.host.conn_idle_timeout", .what = "out of range (1..86400)"},
	/* VIPs */
	{"  vips = (\n", "  vips = 5;\n/*\n", "  );\n};\n", "*/\n};\n", .line = 16, .path = "sluice.vips",
	 .what = "must be a list, not an integer"},
	{"port = 80;", "port = 70000;", .line = 17, .path = "sluice.vips.[0].port",
	 .what = "70000 is out of range (1..65535)"},
	{"port = 80;", "port = 0;", .line = 17, .path = "sluice.vips.[0].port",
	 .what = "0 is out of range (1..65535)"},
	{"protocol = \"tcp\"; port = 80;", "protocol = \"tcp\";", .line = 17,
	 .path = "sluice.vips.[0].port", .what = "required setting is missing"},
	{"protocol = \"tcp\"", "protocol = \"sctp\"", .line = 17, .path = "sluice.vips.[0].protocol",
	 .what = "'sctp' is not a protocol (allowed: \"tcp\", \"udp\")"},
	{"protocol = \"tcp\"", "protocol = \"TCP\"", .line = 17, .path = "sluice.vips.[0].protocol",
	 .what = "is not a protocol"},
	{"address = \"203.0.113.10\"", "address = \"203.0.113.300\"", .line = 17,
	 .path = "sluice.vips.[0].address", .what = "is not an IPv4 or IPv6 address"},
	{"address = \"203.0.113.10\"", "address = \"0.0.0.0\"", .line = 17,
	 .path = "sluice.vips.[0].address", .what = "unspecified address"},
	{"{ address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;",
	 "{ protocol = \"tcp\"; port = 80;", .line = 17, .path = "sluice.vips.[0].address",
	 .what = "required setting is missing"},
	{V6_VIP_LINES,
	 "    { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;\n"
	 "      dips = (); }\n",
	 .line = 22, .path = "sluice.vips.[1]",
	 .what = "same address, protocol and port as sluice.vips.[0] (line 17)"},
	{"(\n    { address = \"203.0.113.10\"", "(\n    5, { address = \"203.0.113.10\"", .line = 17,
	 .path = "sluice.vips.[0]", .what = "must be a group"},
	/* DIPs */
	{"{ address = \"198.18.1.2\"", "{ address = \"2001:db8::2\"", .line = 19,
	 .path = DIP00 ".address", .what = "2001:db8::2 is IPv6 but the VIP is IPv4"},
	{"host = \"192.0.2.10\"; weight", "host = \"2001:db8:2::10\"; weight", .line = 19,
	 .path = DIP00 ".host", .what = "is IPv6 but the VIP is IPv4"},
	{"{ address = \"2001:db8:11::2\";", "{ address = \"198.18.1.9\";", .line = 23,
	 .path = "sluice.vips.[1].dips.[0].address", .what = "is IPv4 but the VIP is IPv6"},
	{" host = \"192.0.2.10\"; weight = 7;", " weight = 7;", .line = 19, .path = DIP00 ".host",
	 .what = "required setting is missing"},
	{"weight = 7", "weight = 0", .line = 19, .path = DIP00 ".weight",
	 .what = "0 is out of range (1..65535)"},
	{"weight = 7", "weight = 65536", .line = 19, .path = DIP00 ".weight",
	 .what = "65536 is out of range (1..65535)"},
	{"port = 8080", "port = 65536", .line = 19, .path = DIP00 ".port",
	 .what = "65536 is out of range (1..65535)"},
	{"{ address = \"198.18.2.2\"; host", "{ address = \"198.18.1.2\"; port = 8080; host",
	 .line = 20, .path = "sluice.vips.[0].dips.[1]",
	 .what = "same DIP address and port as dips.[0] (line 19)"},
	{"dips = (\n", "dips = 1;\n/*\n", "      ); },\n", "*/ },\n", .line = 18,
	 .path = "sluice.vips.[0].dips", .what = "must be a list"},
	/* One (DIP, port, protocol) on this host behind two VIPs. */
	{V6_VIP_LINES,
	 "    { address = \"203.0.113.11\"; protocol = \"tcp\"; port = 80;\n"
	 "      dips = ( { address = \"198.18.1.2\"; port = 8080; host = \"192.0.2.10\"; } ); }\n",
	 .line = 23, .path = "sluice.vips.[1].dips.[0]",
	 .what = "already backs VIP 203.0.113.10 port 80 at sluice.vips.[0] (line 19)"},
	/* syntax errors come from libconfig, with our file name */
	{"burst = 16;", "burst = = 16;", .line = 3, .path = NULL, .what = "syntax error"},
	{"\"net_tap1\";", "\"net_tap1;", .line = 10, .path = NULL, .what = "syntax error"},
	{"  );\n};\n", "  );\n};\n};\n", .line = 26, .path = NULL, .what = "syntax error"},
	{"mtu = 9000;", "mtu = 9000; mtu = 1500;", .line = 5, .path = NULL,
	 .what = "duplicate setting name"},
	{"[\"mux\", \"host\"]", "[\"mux\", 1]", .line = 2, .path = NULL,
	 .what = "mismatched element type in array"},
};

START_TEST(test_bad_config)
{
	const struct bad_case *bc = &bad_cases[_i];
	char *text = bc->text != NULL ? strdup(bc->text)
				      : base_with(bc->find, bc->repl, bc->find2, bc->repl2);
	struct sl_config c;
	char err[ERRLEN], prefix[256];
	memset(&c, 0xa5, sizeof(c)); /* must come back zeroed */
	int rc = sl_config_load_string(text, "t.cfg", &c, err, sizeof(err));
	ck_assert_msg(rc == -1, "case %d loaded but should fail (%s)", _i, bc->what);
	snprintf(prefix, sizeof(prefix), "t.cfg:%d: %s%s", bc->line, bc->path ? bc->path : "",
		 bc->path ? ": " : "");
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "case %d: '%s' does not start '%s'",
		      _i, err, prefix);
	ck_assert_msg(strstr(err, bc->what) != NULL, "case %d: '%s' lacks '%s'", _i, err, bc->what);
	ck_assert_msg(all_zero(&c, sizeof(c)), "case %d: *out not zeroed on error", _i);
	sl_config_free(&c);
	free(text);
}
END_TEST

/* Limits that need many entries are built rather than written out. */
START_TEST(test_too_many)
{
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	char err[ERRLEN];
	struct sl_config c;
	ck_assert_ptr_nonnull(text);

	len += (size_t)snprintf(text + len, cap - len,
				"sluice: {\n roles = [\"mux\"];\n mux: {};\n ports = (\n");
	for (int i = 0; i < SL_MAX_PORTS + 1; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s{ name = \"p%d\"; device = \"d\"; }\n",
					i > 0 ? "," : "", i);
	snprintf(text + len, cap - len, ");\n};\n");
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "t.cfg:4: sluice.ports: has 9 entries; 1..8 allowed") == err, "%s",
		      err);

	len = (size_t)snprintf(text, cap,
			       "sluice: {\n roles = [\"mux\"];\n mux: {};\n"
			       " ports = ({ name = \"p\"; device = \"d\"; });\n vips = (\n");
	for (int i = 0; i < SL_MAX_VIPS + 1; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%s{ address = \"203.0.113.1\"; protocol = \"tcp\"; port = %d; }\n",
					i > 0 ? "," : "", i + 1);
	snprintf(text + len, cap - len, ");\n};\n");
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "t.cfg:5: sluice.vips: has 4097 entries; 0..4096 allowed") == err,
		      "%s", err);

	/* Exactly the maximum loads, and a late duplicate is still found. */
	len = (size_t)snprintf(text, cap,
			       "sluice: {\n roles = [\"mux\"];\n mux: {};\n"
			       " ports = ({ name = \"p\"; device = \"d\"; });\n vips = (\n");
	for (int i = 0; i < SL_MAX_VIPS; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%s{ address = \"203.0.113.1\"; protocol = \"tcp\"; port = %d; }\n",
					i > 0 ? "," : "", i + 1);
	snprintf(text + len, cap - len, ");\n};\n");
	load_ok(text, &c);
	ck_assert_uint_eq(c.nb_vips, SL_MAX_VIPS);
	ck_assert_uint_eq(c.vips[SL_MAX_VIPS - 1].line, 6 + SL_MAX_VIPS - 1);
	sl_config_free(&c);
	char *last = strstr(text, "port = 4096;");
	ck_assert_ptr_nonnull(last);
	memcpy(last, "port = 1;   ", 12);
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "t.cfg:4101: sluice.vips.[4095]: same address, protocol and port "
				  "as sluice.vips.[0] (line 6)") == err,
		      "%s", err);
	free(text);
}
END_TEST

/* ------------------------------------------------------------ file access */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-cfg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *name, const char *text, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_missing_file)
{
	struct sl_config c;
	char err[ERRLEN];
	memset(&c, 0xa5, sizeof(c));
	ck_assert_int_eq(sl_config_load("/nonexistent/sluice.cfg", &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/sluice.cfg: cannot open: No such file or directory");
	ck_assert(all_zero(&c, sizeof(c)));
}
END_TEST

START_TEST(test_file_errors_name_the_file)
{
	char path[128], err[ERRLEN], want[256];
	struct sl_config c;
	make_tmpdir();

	write_file("syntax.cfg", "sluice: {\n  roles = [\"mux\"];\n  mux = = {};\n};\n", path,
		   sizeof(path));
	ck_assert_int_eq(sl_config_load(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: syntax error", path);
	ck_assert_str_eq(err, want);
	unlink(path);

	char *text = edit(BASE, "port = 80;", "port = 70000;");
	write_file("range.cfg", text, path, sizeof(path));
	free(text);
	ck_assert_int_eq(sl_config_load(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:17: sluice.vips.[0].port: 70000 is out of range (1..65535)",
		 path);
	ck_assert_str_eq(err, want);
	unlink(path);

	/* A directory opens but cannot be read. */
	ck_assert_int_eq(sl_config_load(tmpdir, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ": cannot read: Is a directory") != NULL, "%s", err);
	rmdir(tmpdir);
}
END_TEST

/* @include is relative to the including file; errors name the included file. */
START_TEST(test_include)
{
	char main_path[128], inc_path[128], err[ERRLEN], want[256];
	struct sl_config c;
	make_tmpdir();
	/* BASE with its VIP list commented out and taken from vips.inc instead. */
	char *text = base_with("  vips = (\n", "  @include \"vips.inc\"\n/*\n", "  );\n};\n",
			       "*/\n};\n");
	write_file("main.cfg", text, main_path, sizeof(main_path));
	free(text);

	write_file("vips.inc", "vips = ({ address = \"203.0.113.9\"; protocol = \"udp\"; port = 9; });\n",
		   inc_path, sizeof(inc_path));
	char *cwd = getcwd(NULL, 0);
	ck_assert_int_eq(chdir("/"), 0); /* prove it is not found through the cwd */
	ck_assert_msg(sl_config_load(main_path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.nb_vips, 1);
	ck_assert_uint_eq(c.vips[0].port, 9);
	sl_config_free(&c);

	write_file("vips.inc", "\nvips = ({ address = \"203.0.113.9\"; protocol = \"udp\"; port = 0; });\n",
		   inc_path, sizeof(inc_path));
	ck_assert_int_eq(sl_config_load(main_path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: sluice.vips.[0].port: 0 is out of range (1..65535)",
		 inc_path);
	ck_assert_str_eq(err, want);

	write_file("vips.inc", "\n\nvips = ({ address = \"203.0.113.9\" ; ; });\n", inc_path,
		   sizeof(inc_path));
	ck_assert_int_eq(sl_config_load(main_path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: syntax error", inc_path);
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(chdir(cwd), 0);
	free(cwd);
	unlink(inc_path);
	unlink(main_path);
	rmdir(tmpdir);
}
END_TEST

/* A short or absent error buffer truncates, never overflows or crashes. */
START_TEST(test_small_error_buffer)
{
	struct sl_config c;
	char err[12];
	memset(err, 'x', sizeof(err));
	char *text = edit(BASE, "port = 80;", "port = 70000;");
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, 8), -1);
	ck_assert_str_eq(err, "t.cfg:1");
	ck_assert_int_eq(err[9], 'x');
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, NULL, 0), -1);
	ck_assert_int_eq(sl_config_load("/nonexistent", &c, NULL, 0), -1);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------ reload */

struct reload_case {
	const char *find, *repl, *find2, *repl2;
	const char *change; /* NULL: reloadable; else the start of the message */
};

static const struct reload_case reload_cases[] = {
	{NULL, NULL, .change = NULL},
	{"weight = 7", "weight = 9", .change = NULL},
	{"port = 8080;", "port = 8081;", .change = NULL},
	{"flow_idle_timeout = 30", "flow_idle_timeout = 31", "conn_idle_timeout = 60",
	 "conn_idle_timeout = 61", .change = NULL},
	{"idle_sleep_us = 50", "idle_sleep_us = 0", .change = NULL},
	{"      ); },\n" V6_VIP_LINES, "      ); }\n\n\n", .change = NULL},
	{"weight = 7; },\n        { address = \"198.18.2.2\"; host = \"192.0.2.22\"; }\n",
	 "weight = 7; }\n\n", .change = NULL},
	{"[\"mux\", \"host\"]", "[\"host\"]", MUX_LINES, "\n\n", .change = "roles changed"},
	{"burst = 16", "burst = 32", .change = "workers.burst changed (16 -> 32)"},
	{"{ name = \"down\"; device = \"net_tap1\";\n      addresses = [\"198.18.1.1/24\"]; }\n",
	 "{ name = \"down\"; device = \"net_tap1\";\n      addresses = [\"198.18.1.1/24\"]; },\n"
	 "{ name = \"more\"; device = \"net_tap2\"; }\n",
	 .change = "ports changed (2 ports -> 3)"},
	{"name = \"down\"", "name = \"back\"", "backend = \"down\"", "backend = \"back\"",
	 .change = "ports changed (port 'down' name)"},
	{"device = \"net_tap0\"", "device = \"net_tap9\"",
	 .change = "ports changed (port 'up' device)"},
	{"queues = 2", "queues = 3", .change = "ports changed (port 'up' queues)"},
	{"mtu = 9000", "mtu = 1500", .change = "ports changed (port 'up' mtu)"},
	{"192.0.2.10/24", "192.0.2.10/25", .change = "ports changed (port 'up' addresses)"},
	{"[\"198.18.1.1/24\"]", "[\"198.18.1.1/24\", \"198.18.9.1/24\"]",
	 .change = "ports changed (port 'down' addresses)"},
	{"gateway = \"192.0.2.1\"", "gateway = \"192.0.2.2\"",
	 .change = "ports changed (port 'up' gateway)"},
	{"gateway6 = \"2001:db8:2::1\";", "", .change = "ports changed (port 'up' gateway6)"},
	{"02:00:00:00:00:9A", "02:00:00:00:00:9B", .change = "ports changed (port 'up' neighbours)"},
	{"maglev_size = 251", "maglev_size = 257", .change = "mux.maglev_size changed"},
	{"hash_seed = 42", "hash_seed = 43", .change = "mux.hash_seed changed"},
	{"flow_capacity = 1024", "flow_capacity = 2048", .change = "mux.flow_capacity changed"},
	{"tunnel_source = \"192.0.2.10\"", "tunnel_source6 = \"2001:db8:2::10\"",
	 .change = "mux.tunnel_source changed"},
	{"address = \"192.0.2.10\"; address6", "address6", .change = "host.address changed"},
	{"address6 = \"2001:db8:2::10\";\n", "\n", .change = "host.address6 changed"},
	{"backend = \"down\"", "backend = \"up\"", .change = "host.backend changed"},
	{"conn_capacity = 2048", "conn_capacity = 4096", .change = "host.conn_capacity changed"},
};

START_TEST(test_reloadable)
{
	const struct reload_case *rc = &reload_cases[_i];
	struct sl_config cur, next;
	char err[ERRLEN], want[256];
	char *text = base_with(rc->find, rc->repl, rc->find2, rc->repl2);
	load_ok(BASE, &cur);
	load_ok(text, &next);
	bool ok = sl_config_reloadable(&cur, &next, err, sizeof(err));
	if (rc->change == NULL) {
		ck_assert_msg(ok, "case %d: expected reloadable, got '%s'", _i, err);
		ck_assert_str_eq(err, "");
	} else {
		ck_assert_msg(!ok, "case %d: expected '%s'", _i, rc->change);
		snprintf(want, sizeof(want), "%s; restart required", rc->change);
		ck_assert_str_eq(err, want);
	}
	/* The decision is symmetric, and err may be absent. */
	ck_assert(sl_config_reloadable(&next, &cur, NULL, 0) == ok);
	sl_config_free(&cur);
	sl_config_free(&next);
	free(text);
}
END_TEST

/* ------------------------------------------------------------------- main */

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_base_values);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_good_variants, 0,
			    (int)(sizeof(good_cases) / sizeof(good_cases[0])));
	tcase_add_test(tc, test_hash_seed_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_too_many);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_file_errors_name_the_file);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_small_error_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_loop_test(tc, test_reloadable, 0,
			    (int)(sizeof(reload_cases) / sizeof(reload_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
