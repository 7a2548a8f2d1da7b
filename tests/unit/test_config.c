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

#if !defined(SL_EXAMPLE_CFG) || !defined(SL_EXAMPLE_CLUSTER_CFG)
#error "tests/unit/meson.build passes -DSL_EXAMPLE_CFG=<source>/config/example.cfg (and _CLUSTER_)"
#endif

/* host.tunnel_sources of BASE (on line 15): a host prefix and a network. */
#define TS_LIST "tunnel_sources = [\"192.0.2.10\", \"2001:db8:2::/64\"];"

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
	"          uplink = \"up\"; backend = \"down\"; conn_capacity = 2048; conn_idle_timeout = 60;"
	" " TS_LIST " };\n" /* 15 */
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
	"= 60; " TS_LIST " };\n"
#define V6_VIP_LINES                                                         \
	"    { address = \"2001:db8:100::10\"; protocol = \"udp\"; port = 53;\n" \
	"      dips = ( { address = \"2001:db8:11::2\"; host = \"2001:db8:2::10\"; } ); }\n"

/* A manager group, inserted after the VIPs (it starts on line 25) by
 * with_manager(); every setting away from its default. */
#define MANAGER_LINES                                                                            \
	"  manager: { id = 3; data_dir = \"/var/lib/sluice/3\"; join = true; heartbeat_ms = 20; "   \
	"election_timeout_ms = 2000;\n"                                                    /* 25 */ \
	"    members = (\n"                                                                /* 26 */ \
	"      { id = 1; address = \"192.0.2.10:7001\"; api = \"https://192.0.2.10:8441\"; " \
	"role = \"voter\"; },\n"                                                           /* 27 */ \
	"      { id = 3; address = \"[2001:db8:2::30]:7003\"; api = \"https://[2001:db8:2::30]:8443\"; },\n" /* 28 */ \
	"      { id = 65535; address = \"192.0.2.20:7002\"; api = \"\"; },\n"             /* 29 */ \
	"      { id = 4; address = \"192.0.2.40:7004\"; role = \"standby\"; }\n"           /* 30 */ \
	"    );\n"                                                                         /* 31 */ \
	API_LINES                                                                          /* 32-34 */ \
	"  };\n"                                                                           /* 35 */
#define API_LINES                                                                               \
	"    api: { listen = \"0.0.0.0:8443\"; cert = \"/etc/sluice/api.pem\"; key = \"/etc/sluice/api.key\";\n" \
	"           token_file = \"/etc/sluice/token\"; client_ca = \"/etc/sluice/ca.pem\";\n"   \
	"           socket = \"/run/sluice/api.sock\"; socket_mode = 0660; max_connections = 100;" \
	" max_connections_per_source = 10; };\n"
#define MGR "sluice.manager"
#define MEMBER(i) MGR ".members.[" #i "]"
#define X10 "xxxxxxxxxx"

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

/* text (malloc'd, consumed) with up to two edits (NULL find: none). */
static char *edits(char *text, const char *find, const char *repl, const char *find2,
		   const char *repl2)
{
	const char *f[] = {find, find2}, *r[] = {repl, repl2};
	for (int i = 0; i < 2 && f[i] != NULL; i++) {
		char *next = edit(text, f[i], r[i]);
		free(text);
		text = next;
	}
	return text;
}

/* BASE with up to two edits. */
static char *base_with(const char *find, const char *repl, const char *find2, const char *repl2)
{
	return edits(strdup(BASE), find, repl, find2, repl2);
}

/* BASE plus MANAGER_LINES, with up to two edits. */
static char *with_manager(const char *find, const char *repl, const char *find2,
			  const char *repl2)
{
	return edits(edit(BASE, "  );\n};\n", "  );\n" MANAGER_LINES "};\n"), find, repl, find2,
		     repl2);
}

static char *case_text(bool manager, const char *find, const char *repl, const char *find2,
		       const char *repl2)
{
	return (manager ? with_manager : base_with)(find, repl, find2, repl2);
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

/* A struct sl_prefix that is text/len (the family follows the text). */
#define ck_assert_prefix(actual, text, plen)                                          \
	do {                                                                          \
		ck_assert_addr((actual).addr, text);                                  \
		ck_assert_uint_eq((actual).len, plen);                                \
		ck_assert_uint_eq((actual).family, strchr(text, ':') ? SL_AF_INET6 : SL_AF_INET); \
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
	ck_assert_str_eq(f->kernel_if, "sl-fabric");

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
	ck_assert_str_eq(b->kernel_if, "sl-backend"); /* the default */
	ck_assert_uint_eq(c.exception.to_kernel_rate, 10000);
	ck_assert_uint_eq(c.exception.from_kernel_burst, 1000);

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
	ck_assert_uint_eq(c.nb_tunnel_sources, 2);
	ck_assert_prefix(c.tunnel_sources[0], "192.0.2.10", 32);
	ck_assert_prefix(c.tunnel_sources[1], "2001:db8:2::", 64);

	ck_assert_uint_eq(c.nb_vips, 2);
	const struct sl_vip_cfg *v4 = &c.vips[0], *v6 = &c.vips[1];
	ck_assert_addr(v4->addr, "203.0.113.10");
	ck_assert_uint_eq(v4->family, SL_AF_INET);
	ck_assert_uint_eq(v4->proto, SL_PROTO_TCP);
	ck_assert_uint_eq(v4->port, 80);
	ck_assert_uint_eq(v4->line, 61);
	ck_assert_uint_eq(v4->nb_dips, 2);
	ck_assert_addr(v4->dips[0].addr, "198.18.1.2");
	ck_assert_uint_eq(v4->dips[0].port, 8080);
	ck_assert_addr(v4->dips[0].host, "192.0.2.10");
	ck_assert_uint_eq(v4->dips[0].weight, 100);
	ck_assert_uint_eq(v4->dips[0].line, 66);
	ck_assert_addr(v4->dips[1].addr, "198.18.2.2");
	ck_assert_uint_eq(v4->dips[1].port, 8080);
	ck_assert_addr(v4->dips[1].host, "192.0.2.22");
	ck_assert_uint_eq(v4->dips[1].weight, 50);
	ck_assert_uint_eq(v4->dips[1].line, 67);

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
	ck_assert(all_zero(&c.manager, sizeof(c.manager)));
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
	ck_assert_str_eq(c.ports[0].kernel_if, "sl-up"); /* by default "sl-" + the port's name */
	ck_assert_str_eq(c.ports[1].kernel_if, "sl-down");
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
	ck_assert_uint_eq(c.nb_tunnel_sources, 2); /* in file order */
	ck_assert_prefix(c.tunnel_sources[0], "192.0.2.10", 32);
	ck_assert_prefix(c.tunnel_sources[1], "2001:db8:2::", 64);
	ck_assert_uint_eq(c.vips[0].dips[0].weight, 7);
	ck_assert_uint_eq(c.vips[0].dips[1].port, 80); /* default: the VIP's port */
	ck_assert_uint_eq(c.vips[0].dips[1].weight, 100);
	ck_assert_uint_eq(c.vips[1].proto, SL_PROTO_UDP);
	ck_assert_uint_eq(c.vips[1].dips[0].port, 53);
	ck_assert_uint_eq(c.vips[1].line, 22);
	ck_assert_uint_eq(c.vips[0].dips[1].line, 20);
	ck_assert(all_zero(&c.manager, sizeof(c.manager)));
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
				   "  host: { address = \"192.0.2.1\"; uplink = \"p\"; backend = \"p\";\n"
				   "          tunnel_sources = [\"192.0.2.9\"]; };\n"
				   "};\n";
	struct sl_config c;
	load_ok(text, &c);
	ck_assert_uint_eq(c.burst, 32);
	ck_assert_uint_eq(c.idle_sleep_us, 0);
	ck_assert_uint_eq(c.ports[0].queues, 0);
	ck_assert_uint_eq(c.ports[0].mtu, 1500);
	ck_assert_uint_eq(c.ports[0].vlan, 0); /* none: every tagged frame is dropped */
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
	ck_assert_uint_eq(c.nb_tunnel_sources, 1); /* a bare address is a host prefix */
	ck_assert_prefix(c.tunnel_sources[0], "192.0.2.9", 32);
	ck_assert(sl_addr_is_zero(&c.host_addr6));
	ck_assert_uint_eq(c.nb_vips, 0);
	ck_assert_ptr_null(c.vips);
	ck_assert(all_zero(&c.manager, sizeof(c.manager))); /* no group: no manager */
	ck_assert_str_eq(c.ports[0].kernel_if, "sl-p");
	ck_assert_uint_eq(c.exception.to_kernel_rate, 10000);
	ck_assert_uint_eq(c.exception.to_kernel_burst, 1000);
	ck_assert_uint_eq(c.exception.from_kernel_rate, 10000);
	ck_assert_uint_eq(c.exception.from_kernel_burst, 1000);
	sl_config_free(&c);
}
END_TEST

/* ----------------------------------------------------------------- manager */

START_TEST(test_manager_values)
{
	struct sl_config c;
	char *text = with_manager(NULL, NULL, NULL, NULL);
	load_ok(text, &c);
	const struct sl_manager_cfg *m = &c.manager;
	ck_assert(m->enabled);
	ck_assert_uint_eq(m->id, 3);
	ck_assert_str_eq(m->data_dir, "/var/lib/sluice/3");
	ck_assert(m->join);
	ck_assert_uint_eq(m->heartbeat_ms, 20);
	ck_assert_uint_eq(m->election_timeout_ms, 2000);
	ck_assert_uint_eq(m->nb_members, 4);
	static const struct sl_member_cfg want[] = {
		{1, "192.0.2.10:7001", "https://192.0.2.10:8441", true},
		{3, "[2001:db8:2::30]:7003", "https://[2001:db8:2::30]:8443", true},
		{65535, "192.0.2.20:7002", "", true},
		{4, "192.0.2.40:7004", "", false},
	};
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(m->members[i].id, want[i].id);
		ck_assert_str_eq(m->members[i].address, want[i].address);
		ck_assert_str_eq(m->members[i].api, want[i].api);
		ck_assert_int_eq(m->members[i].voter, want[i].voter);
	}
	for (unsigned i = 4; i < SL_MAX_MEMBERS; i++)
		ck_assert(all_zero(&m->members[i], sizeof(m->members[i])));
	ck_assert_str_eq(m->api_listen, "0.0.0.0:8443");
	ck_assert_str_eq(m->api_cert, "/etc/sluice/api.pem");
	ck_assert_str_eq(m->api_key, "/etc/sluice/api.key");
	ck_assert_str_eq(m->api_token_file, "/etc/sluice/token");
	ck_assert_str_eq(m->api_client_ca, "/etc/sluice/ca.pem");
	ck_assert_str_eq(m->api_socket, "/run/sluice/api.sock");
	ck_assert_uint_eq(m->api_socket_mode, 0660);
	ck_assert_uint_eq(m->api_max_connections, 100);
	ck_assert_uint_eq(m->api_max_connections_per_source, 10);
	ck_assert_uint_eq(c.nb_vips, 2); /* the file's VIPs still load: they bootstrap a cluster */
	sl_config_free(&c);
	free(text);
}
END_TEST

START_TEST(test_manager_defaults)
{
	struct sl_config c;
	/* No api group, no role, no member api: a single voter. */
	char *text = with_manager(
		"    members = (\n", "    members = ( { id = 3; address = \"127.0.0.1:7001\"; } );\n/*\n",
		API_LINES, "*/\n");
	text = edits(text, " join = true; heartbeat_ms = 20; election_timeout_ms = 2000;", "", NULL,
		     NULL);
	load_ok(text, &c);
	const struct sl_manager_cfg *m = &c.manager;
	ck_assert(m->enabled);
	ck_assert(!m->join);
	ck_assert_uint_eq(m->heartbeat_ms, SL_DEFAULT_HEARTBEAT_MS);
	ck_assert_uint_eq(m->election_timeout_ms, SL_DEFAULT_ELECTION_TIMEOUT_MS);
	ck_assert_uint_eq(m->nb_members, 1);
	ck_assert(m->members[0].voter);
	ck_assert_str_eq(m->members[0].api, "");
	ck_assert_str_eq(m->api_listen, "");
	ck_assert_str_eq(m->api_cert, "");
	ck_assert_str_eq(m->api_key, "");
	ck_assert_str_eq(m->api_token_file, "");
	ck_assert_str_eq(m->api_client_ca, "");
	ck_assert_str_eq(m->api_socket, "");
	ck_assert_uint_eq(m->api_socket_mode, 0600);
	ck_assert_uint_eq(m->api_max_connections, 0); /* the API's defaults */
	ck_assert_uint_eq(m->api_max_connections_per_source, 0);
	sl_config_free(&c);
	free(text);

	/* The socket alone; its mode defaults to owner-only. */
	text = with_manager(API_LINES, "    api: { socket = \"/run/s.sock\"; };\n", NULL, NULL);
	load_ok(text, &c);
	ck_assert_str_eq(c.manager.api_socket, "/run/s.sock");
	ck_assert_str_eq(c.manager.api_listen, "");
	ck_assert_uint_eq(c.manager.api_socket_mode, 0600);
	sl_config_free(&c);
	free(text);
}
END_TEST

/* Mode digits are octal with or without the leading 0 (libconfig 1.5 reads
 * "0600" as the decimal 600). */
START_TEST(test_socket_mode_forms)
{
	static const struct {
		const char *literal;
		uint32_t mode;
	} forms[] = {
		{"0600", 0600}, {"600", 0600}, {"0", 0}, {"0777", 0777}, {"0640", 0640}, {"0640L", 0640},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char repl[64];
		snprintf(repl, sizeof(repl), "socket_mode = %s", forms[i].literal);
		char *text = with_manager("socket_mode = 0660", repl, NULL, NULL);
		struct sl_config c;
		load_ok(text, &c);
		ck_assert_msg(c.manager.api_socket_mode == forms[i].mode, "%s loaded as %#o",
			      forms[i].literal, c.manager.api_socket_mode);
		sl_config_free(&c);
		free(text);
	}
}
END_TEST

/* config/example-cluster.cfg: one member of a three-voter cluster. */
START_TEST(test_example_cluster_file)
{
	struct sl_config c;
	char err[ERRLEN];
	ck_assert_msg(sl_config_load(SL_EXAMPLE_CLUSTER_CFG, &c, err, sizeof(err)) == 0, "%s", err);
	const struct sl_manager_cfg *m = &c.manager;
	ck_assert(m->enabled);
	ck_assert_uint_eq(m->id, 1);
	ck_assert_str_eq(m->data_dir, "/var/lib/sluice/1");
	ck_assert_uint_eq(m->nb_members, 4);
	ck_assert_uint_eq(m->members[2].id, 3);
	ck_assert_str_eq(m->members[2].address, "192.0.2.12:7001");
	ck_assert_str_eq(m->members[2].api, "https://192.0.2.12:8443");
	ck_assert(m->members[2].voter);
	ck_assert(!m->members[3].voter);
	ck_assert_str_eq(m->api_listen, "192.0.2.10:8443");
	ck_assert_str_eq(m->api_token_file, "/etc/sluice/api.token");
	ck_assert_str_eq(m->api_client_ca, "");
	ck_assert_str_eq(m->api_socket, "/run/sluice/api.sock");
	ck_assert_uint_eq(m->api_socket_mode, 0660);
	ck_assert_uint_eq(c.nb_vips, 1);
	sl_config_free(&c);
}
END_TEST

/* ------------------------------------------------------- accepted variants */

struct good_case {
	const char *find, *repl, *find2, *repl2;
	bool manager; /* edits of BASE with MANAGER_LINES */
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
	{"mtu = 9000", "mtu = 9000; vlan = 1"},
	{"mtu = 9000", "mtu = 9000; vlan = 4094"},
	{"weight = 7", "weight = 65535", "port = 8080", "port = 65535"},
	/* An IPv4-only port may have the smallest MTU. */
	{"device = \"net_tap1\";", "device = \"net_tap1\"; mtu = 576;"},
	/* 64-bit integer where an int is expected. */
	{"flow_capacity = 1024", "flow_capacity = 1024L"},
	/* tunnel sources: any mix of families and lengths, spelt any way inet_pton takes */
	{TS_LIST, "tunnel_sources = (\"2001:DB8:2:0::/64\", \"198.18.0.0/15\", \"10.0.0.0/8\","
		  " \"192.0.2.128/25\", \"2001:db8:2::10/128\", \"128.0.0.0/1\", \"8000::/1\");"},
	/* manager: a listener on every IPv6 address; bounds */
	{"\"0.0.0.0:8443\"", "\"[::]:8443\"", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20:65535\"", "data_dir = \"/var/lib/sluice/3\"",
	 "data_dir = \"/\"", .manager = true},
	/* one address, another port: another member */
	{"\"192.0.2.20:7002\"", "\"192.0.2.10:7002\"", .manager = true},
	/* five voters; one voter and three standbys */
	{"role = \"standby\"; }\n", "},\n      { id = 5; address = \"192.0.2.50:7005\"; }\n",
	 .manager = true},
	{"8443\"; },", "8443\"; role = \"standby\"; },", "api = \"\";", "role = \"standby\";",
	 .manager = true},
	/* client certificates or a token alone; no socket */
	{" token_file = \"/etc/sluice/token\";", "", .manager = true},
	{" client_ca = \"/etc/sluice/ca.pem\";", "", .manager = true},
	{"socket = \"/run/sluice/api.sock\"; socket_mode = 0660;", "", .manager = true},
};

START_TEST(test_kernel_interface_forms)
{
	static const struct {
		const char *setting, *name;
	} forms[] = {
		{"kernel_interface = \"bgp0\";", "bgp0"},
		{"kernel_interface = \"Sl.Up_1-x\";", "Sl.Up_1-x"},
		{"kernel_interface = \"fifteen-chars-x\";", "fifteen-chars-x"},
		{"kernel_interface = true;", "sl-up"},
		{"kernel_interface = false;", ""},
	};
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char repl[128];
		snprintf(repl, sizeof(repl), "mtu = 9000; %s", forms[i].setting);
		char *text = case_text(false, "mtu = 9000;", repl, NULL, NULL);
		struct sl_config c;
		load_ok(text, &c);
		ck_assert_str_eq(c.ports[0].kernel_if, forms[i].name);
		ck_assert_str_eq(c.ports[1].kernel_if, "sl-down");
		sl_config_free(&c);
		free(text);
	}
	char *text = case_text(false, "  );\n};\n", "  );\n  exception: { to_kernel_rate = 500; to_kernel_burst = 50;"
			       " from_kernel_rate = 7; from_kernel_burst = 1000000; };\n};\n", NULL, NULL);
	struct sl_config c;
	load_ok(text, &c);
	ck_assert_uint_eq(c.exception.to_kernel_rate, 500);
	ck_assert_uint_eq(c.exception.to_kernel_burst, 50);
	ck_assert_uint_eq(c.exception.from_kernel_rate, 7);
	ck_assert_uint_eq(c.exception.from_kernel_burst, 1000000);
	sl_config_free(&c);
	free(text);
}
END_TEST

START_TEST(test_good_variants)
{
	const struct good_case *gc = &good_cases[_i];
	char *text = case_text(gc->manager, gc->find, gc->repl, gc->find2, gc->repl2);
	struct sl_config c;
	load_ok(text, &c);
	sl_config_free(&c);
	free(text);
}
END_TEST

/* "auto" sizes Maglev by DIP count (0 here and in the spec); a word other
 * than "auto" is refused by name; a prime stays fixed. */
START_TEST(test_maglev_size_auto)
{
	struct sl_config c;
	struct sl_spec spec;
	char err[ERRLEN];
	char *text = base_with("maglev_size = 251", "maglev_size = \"auto\"", NULL, NULL);
	load_ok(text, &c);
	ck_assert_uint_eq(c.maglev_size, 0);
	ck_assert_int_eq(sl_spec_from_config(&c, &spec), 0);
	ck_assert_uint_eq(spec.mux.maglev_size, 0);
	sl_spec_free(&spec);
	sl_config_free(&c);
	free(text);
	text = base_with("maglev_size = 251", "maglev_size = \"big\"", NULL, NULL);
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "t.cfg:12: sluice.mux.maglev_size: \"big\" is neither \"auto\" "
				  "nor a prime") == err, "%s", err);
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
	bool manager;     /* edits of BASE with MANAGER_LINES */
};

#define PORT0 "sluice.ports.[0]"
#define TS "sluice.host.tunnel_sources"
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
	{"mtu = 9000", "mtu = 9000; vlan = 0", .line = 5, .path = PORT0 ".vlan",
	 .what = "0 is out of range (1..4094)"},
	{"mtu = 9000", "mtu = 9000; vlan = 4095", .line = 5, .path = PORT0 ".vlan",
	 .what = "4095 is out of range (1..4094)"},
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
	{"mtu = 9000", "mtu = 9000; kernel_interface = \"sixteen-chars-xx\"", .line = 5,
	 .path = PORT0 ".kernel_interface", .what = "'sixteen-chars-xx' is not an interface name (1..15"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = \"a/b\"", .line = 5, .path = PORT0 ".kernel_interface",
	 .what = "'a/b' is not an interface name"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = \"..\"", .line = 5, .path = PORT0 ".kernel_interface",
	 .what = "'..' is not an interface name"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = \"\"", .line = 5, .path = PORT0 ".kernel_interface",
	 .what = "'' is not an interface name"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = 1", .line = 5, .path = PORT0 ".kernel_interface",
	 .what = "must be an interface name, true or false, not an integer"},
	{"name = \"up\"", "name = \"uplink-to-spine\"", "uplink = \"up\"", "uplink = \"uplink-to-spine\"",
	 .line = 5, .path = PORT0 ".kernel_interface",
	 .what = "the default name 'sl-uplink-to-spine' is longer than 15 characters: set a shorter one, or false"},
	{"device = \"net_tap1\";", "device = \"net_tap1\"; kernel_interface = \"sl-up\";", .line = 9,
	 .path = "sluice.ports.[1].kernel_interface", .what = "'sl-up' is already the kernel interface of port 'up'"},
	{"  );\n};\n", "  );\n  exception: { to_kernel_rate = 0; };\n};\n", .line = 25,
	 .path = "sluice.exception.to_kernel_rate", .what = "0 is out of range (1..1000000)"},
	{"  );\n};\n", "  );\n  exception: { from_kernel_burst = 1000001; };\n};\n", .line = 25,
	 .path = "sluice.exception.from_kernel_burst", .what = "1000001 is out of range (1..1000000)"},
	{"  );\n};\n", "  );\n  exception: { to_kernel_pps = 5; };\n};\n", .line = 25,
	 .path = "sluice.exception.to_kernel_pps",
	 .what = "unknown setting (allowed here: to_kernel_rate, to_kernel_burst, from_kernel_rate, from_kernel_burst)"},
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
	/* host.tunnel_sources: required, and each entry a network a mux can send from */
	{" " TS_LIST, "", .line = 14, .path = TS,
	 .what = "required with the \"host\" role: the prefixes the muxes send tunnels from, e.g. "
		 "[ \"192.0.2.10\", \"2001:db8:2::/64\" ]"},
	{TS_LIST, "tunnel_sources = [];", .line = 15, .path = TS,
	 .what = "is empty, so every tunnel would be dropped"},
	{TS_LIST, "tunnel_sources = \"192.0.2.10\";", .line = 15, .path = TS,
	 .what = "must be a list, not a string"},
	{TS_LIST, "tunnel_sources = (\"192.0.2.10\", 7);", .line = 15, .path = TS ".[1]",
	 .what = "must be a string, not an integer"},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/64\", \"192.0.2.300\"", .line = 15, .path = TS ".[2]",
	 .what = "'192.0.2.300' is not an address or ADDRESS/LENGTH (e.g. \"192.0.2.10\", "
		 "\"2001:db8:2::/64\")"},
	{"\"2001:db8:2::/64\"", "\"192.0.2.0/\"", .line = 15, .path = TS ".[1]",
	 .what = "'192.0.2.0/' is not an address or ADDRESS/LENGTH"},
	{"\"2001:db8:2::/64\"", "\"192.0.2.0/024\"", .line = 15, .path = TS ".[1]",
	 .what = "'192.0.2.0/024' is not an address"},
	{"\"2001:db8:2::/64\"", "\"192.0.2.10/33\"", .line = 15, .path = TS ".[1]",
	 .what = "'192.0.2.10/33': prefix length 33 is out of range (1..32 for IPv4)"},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/129\"", .line = 15, .path = TS ".[1]",
	 .what = "prefix length 129 is out of range (1..128 for IPv6)"},
	{"\"2001:db8:2::/64\"", "\"0.0.0.0/0\"", .line = 15, .path = TS ".[1]",
	 .what = "prefix length 0 is out of range (1..32 for IPv4; /0 would accept tunnels from "
		 "anywhere)"},
	{"\"192.0.2.10\", ", "\"192.0.2.10/24\", ", .line = 15, .path = TS ".[0]",
	 .what = "192.0.2.10/24 has host bits set (did you mean 192.0.2.0/24?)"},
	{"\"2001:db8:2::/64\"", "\"2001:DB8:2::1/64\"", .line = 15, .path = TS ".[1]",
	 .what = "2001:db8:2::1/64 has host bits set (did you mean 2001:db8:2::/64?)"},
	{"\"2001:db8:2::/64\"", "\"192.0.2.8/29\", \"192.0.2.9/29\"", .line = 15, .path = TS ".[2]",
	 .what = "192.0.2.9/29 has host bits set (did you mean 192.0.2.8/29?)"},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/64\",\n \"192.0.2.10/32\"", .line = 16,
	 .path = TS ".[2]", .what = "'192.0.2.10/32' is the same prefix as tunnel_sources.[0] (line 15)"},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/64\", \"2001:db8:2:0::/64\"", .line = 15,
	 .path = TS ".[2]", .what = "is the same prefix as tunnel_sources.[1]"},
	{"\"2001:db8:2::/64\"", "\"127.0.0.0/8\"", .line = 15, .path = TS ".[1]",
	 .what = "127.0.0.0/8: 127.0.0.0 is a loopback address, which never leaves its host"},
	{"\"2001:db8:2::/64\"", "\"::1\"", .line = 15, .path = TS ".[1]",
	 .what = "::1/128: ::1 is a loopback address"},
	{"\"2001:db8:2::/64\"", "\"169.254.0.0/16\"", .line = 15, .path = TS ".[1]",
	 .what = "is a link-local address"},
	{"\"2001:db8:2::/64\"", "\"ff02::/16\"", .line = 15, .path = TS ".[1]",
	 .what = "ff02::/16: ff02:: is a multicast address"},
	{"\"2001:db8:2::/64\"", "\"::ffff:192.0.2.10\"", .line = 15, .path = TS ".[1]",
	 .what = "::ffff:192.0.2.10/128: ::ffff:192.0.2.10 is an IPv4-mapped IPv6 address"},
	{"\"2001:db8:2::/64\"", "\"0.0.0.0/8\"", .line = 15, .path = TS ".[1]",
	 .what = "0.0.0.0/8: 0.0.0.0 is the unspecified address"},
	{"\"2001:db8:2::/64\"", "\"::/8\"", .line = 15, .path = TS ".[1]",
	 .what = "::/8: :: is the unspecified address"},
	{"\"2001:db8:2::/64\"", "\"255.255.255.255\"", .line = 15, .path = TS ".[1]",
	 .what = "is the broadcast address"},
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
	/* Special ranges (docs/api.md, "Addresses"): the API's and the manager's table. */
	{"address = \"203.0.113.10\"", "address = \"::ffff:203.0.113.10\"", .line = 17,
	 .path = "sluice.vips.[0].address",
	 .what = "::ffff:203.0.113.10 is an IPv4-mapped IPv6 address, which is not allowed; use the "
		 "IPv4 address"},
	{"address = \"203.0.113.10\"", "address = \"224.0.0.1\"", .line = 17,
	 .path = "sluice.vips.[0].address", .what = "224.0.0.1 is a multicast address"},
	{"address = \"203.0.113.10\"", "address = \"255.255.255.255\"", .line = 17,
	 .path = "sluice.vips.[0].address", .what = "is the broadcast address"},
	{"{ address = \"198.18.1.2\"", "{ address = \"127.0.0.2\"", .line = 19,
	 .path = DIP00 ".address", .what = "127.0.0.2 is a loopback address"},
	{"host = \"192.0.2.10\"; weight", "host = \"169.254.0.10\"; weight", .line = 19,
	 .path = DIP00 ".host", .what = "169.254.0.10 is a link-local address"},
	{"{ address = \"2001:db8:11::2\";", "{ address = \"::198.18.1.2\";", .line = 23,
	 .path = "sluice.vips.[1].dips.[0].address", .what = "is an IPv4-compatible IPv6 address"},
	{"gateway6 = \"2001:db8:2::1\"", "gateway6 = \"::ffff:192.0.2.1\"", .line = 7,
	 .path = PORT0 ".gateway6", .what = "is an IPv4-mapped IPv6 address"},
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
	/* manager */
	{"  );\n};\n", "  );\n  manager = ();\n};\n", .line = 25, .path = MGR,
	 .what = "must be a group"},
	{"data_dir =", "datadir =", .line = 25, .path = MGR ".datadir",
	 .what = "unknown setting (allowed here: id, data_dir, members, api, join, heartbeat_ms, "
		 "election_timeout_ms)", .manager = true},
	{"join = true", "join = 1", .line = 25, .path = MGR ".join",
	 .what = "must be true or false, not an integer", .manager = true},
	{"heartbeat_ms = 20", "heartbeat_ms = 0", .line = 25, .path = MGR ".heartbeat_ms",
	 .what = "0 is out of range (1..10000)", .manager = true},
	{"election_timeout_ms = 2000", "election_timeout_ms = 49", .line = 25,
	 .path = MGR ".election_timeout_ms", .what = "49 is out of range (50..60000)", .manager = true},
	{"election_timeout_ms = 2000", "election_timeout_ms = 99", .line = 25,
	 .path = MGR ".election_timeout_ms",
	 .what = "election_timeout_ms 99 is less than 5 x heartbeat_ms 20", .manager = true},
	{" election_timeout_ms = 2000;", "", "heartbeat_ms = 20", "heartbeat_ms = 81", .line = 25,
	 .path = MGR ".heartbeat_ms",
	 .what = "election_timeout_ms 400 is less than 5 x heartbeat_ms 81", .manager = true},
	{"{ id = 3; data_dir", "{ data_dir", .line = 25, .path = MGR ".id",
	 .what = "required setting is missing", .manager = true},
	{"{ id = 3; data_dir", "{ id = 0; data_dir", .line = 25, .path = MGR ".id",
	 .what = "0 is out of range (1..65535)", .manager = true},
	{"{ id = 3; data_dir", "{ id = \"3\"; data_dir", .line = 25, .path = MGR ".id",
	 .what = "must be an integer, not a string", .manager = true},
	{"{ id = 3; data_dir", "{ id = 2; data_dir", .line = 25, .path = MGR ".id",
	 .what = "2 is not the id of any entry in members", .manager = true},
	{" data_dir = \"/var/lib/sluice/3\";", "", .line = 25, .path = MGR ".data_dir",
	 .what = "required setting is missing", .manager = true},
	{"\"/var/lib/sluice/3\"", "\"\"", .line = 25, .path = MGR ".data_dir",
	 .what = "must be 1..4095 characters long", .manager = true},
	{"\"/var/lib/sluice/3\"", "\"var/lib/sluice/3\"", .line = 25, .path = MGR ".data_dir",
	 .what = "'var/lib/sluice/3' is not an absolute path", .manager = true},
	{"    members = (\n", "/*\n", "    );\n    api:", "*/\n    api:", .line = 25,
	 .path = MGR ".members", .what = "required setting is missing", .manager = true},
	{"    members = (\n", "    members = ();\n/*\n", "    );\n    api:", "*/\n    api:",
	 .line = 26, .path = MGR ".members", .what = "has 0 entries; 1..16 allowed", .manager = true},
	{"role = \"voter\"", "rol = \"voter\"", .line = 27, .path = MEMBER(0) ".rol",
	 .what = "unknown setting (allowed here: id, address, api, role)", .manager = true},
	{"{ id = 65535;", "{ id = 1;", .line = 29, .path = MEMBER(2) ".id",
	 .what = "1 is already the id of members.[0] (line 27)", .manager = true},
	{"{ id = 65535;", "{ id = 65536;", .line = 29, .path = MEMBER(2) ".id",
	 .what = "65536 is out of range (1..65535)", .manager = true},
	{"{ id = 4; address = \"192.0.2.40:7004\";", "{ address = \"192.0.2.40:7004\";",
	 .line = 30, .path = MEMBER(3) ".id", .what = "required setting is missing", .manager = true},
	{" address = \"192.0.2.40:7004\";", "", .line = 30, .path = MEMBER(3) ".address",
	 .what = "required setting is missing", .manager = true},
	{"\"192.0.2.20:7002\"", "\"localhost:7002\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "'localhost:7002' is not ADDRESS:PORT", .manager = true},
	{"\"[2001:db8:2::30]:7003\"", "\"2001:db8:2::30:7003\"", .line = 28,
	 .path = MEMBER(1) ".address", .what = "is not ADDRESS:PORT", .manager = true},
	{"\"[2001:db8:2::30]:7003\"", "\"[2001:db8:2::30]7003\"", .line = 28,
	 .path = MEMBER(1) ".address", .what = "is not ADDRESS:PORT", .manager = true},
	{"\"192.0.2.20:7002\"", "\"[192.0.2.20]:7002\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "is not ADDRESS:PORT", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "'192.0.2.20' is not ADDRESS:PORT", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20:0\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "port 1..65535", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20:65536\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "port 1..65535", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20:+702\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "is not ADDRESS:PORT", .manager = true},
	{"\"[2001:db8:2::30]:7003\"", "\"[::ffff:192.0.2.30]:7003\"", .line = 28,
	 .path = MEMBER(1) ".address", .what = "is an IPv4-mapped IPv6 address", .manager = true},
	{"\"192.0.2.20:7002\"", "\"224.0.0.20:7002\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "224.0.0.20 is a multicast address", .manager = true},
	{"\"192.0.2.20:7002\"", "\"0.0.0.0:7002\"", .line = 29, .path = MEMBER(2) ".address",
	 .what = "has the unspecified address", .manager = true},
	{"\"192.0.2.20:7002\"", "7002", .line = 29, .path = MEMBER(2) ".address",
	 .what = "must be a string, not an integer", .manager = true},
	{"\"[2001:db8:2::30]:7003\"", "\"[2001:db8:2:0::30]:7001\"", "\"192.0.2.10:7001\"",
	 "\"[2001:db8:2::30]:7001\"", .line = 28, .path = MEMBER(1) ".address",
	 .what = "'[2001:db8:2:0::30]:7001' is already the address of members.[0] (line 27)",
	 .manager = true},
	{"\"https://192.0.2.10:8441\"", "\"http://192.0.2.10:8441\"", .line = 27,
	 .path = MEMBER(0) ".api", .what = "'http://192.0.2.10:8441' is not an https:// URL",
	 .manager = true},
	{"\"https://192.0.2.10:8441\"", "\"https://\"", .line = 27, .path = MEMBER(0) ".api",
	 .what = "is not an https:// URL", .manager = true},
	{"\"https://192.0.2.10:8441\"", "\"https://" X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 "\"",
	 .line = 27, .path = MEMBER(0) ".api", .what = "must be 1..127 characters long",
	 .manager = true},
	{"role = \"standby\"", "role = \"leader\"", .line = 30, .path = MEMBER(3) ".role",
	 .what = "'leader' is not a member role (allowed: \"voter\", \"standby\")", .manager = true},
	{"role = \"standby\"", "role = \"voter\"", .line = 26, .path = MGR ".members",
	 .what = "has 4 voters; 1, 3 or 5 allowed (an even count tolerates no more failures than "
		 "one voter fewer",
	 .manager = true},
	{"api = \"\";", "role = \"standby\";", .line = 26, .path = MGR ".members",
	 .what = "has 2 voters; 1, 3 or 5 allowed", .manager = true},
	{"    members = (\n",
	 "    members = ( { id = 3; address = \"127.0.0.1:7001\"; role = \"standby\"; } );\n/*\n",
	 "    );\n    api:", "*/\n    api:", .line = 26, .path = MGR ".members",
	 .what = "has 0 voters; 1, 3 or 5 allowed (someone must vote)", .manager = true},
	/* manager.api */
	{"socket_mode = 0660", "socket_mod = 0660", .line = 34, .path = MGR ".api.socket_mod",
	 .what = "allowed here: listen, cert, key, token_file, client_ca, socket, socket_mode",
	 .manager = true},
	{" cert = \"/etc/sluice/api.pem\";", "", .line = 32, .path = MGR ".api.cert",
	 .what = "required with listen", .manager = true},
	{" key = \"/etc/sluice/api.key\";", "", .line = 32, .path = MGR ".api.key",
	 .what = "required with listen", .manager = true},
	{"token_file = \"/etc/sluice/token\"; client_ca = \"/etc/sluice/ca.pem\";", "", .line = 32,
	 .path = MGR ".api.listen", .what = "needs token_file or client_ca", .manager = true},
	{"\"0.0.0.0:8443\"", "\"8443\"", .line = 32, .path = MGR ".api.listen",
	 .what = "'8443' is not ADDRESS:PORT", .manager = true},
	{"listen = \"0.0.0.0:8443\"; ", "", .line = 32, .path = MGR ".api.cert",
	 .what = "set, but listen is not", .manager = true},
	{API_LINES, "    api: {};\n\n\n", .line = 32, .path = MGR ".api",
	 .what = "needs listen or socket", .manager = true},
	{"socket = \"/run/sluice/api.sock\"; ", "", .line = 34, .path = MGR ".api.socket_mode",
	 .what = "set, but socket is not", .manager = true},
	{"\"/etc/sluice/token\"", "\"\"", .line = 33, .path = MGR ".api.token_file",
	 .what = "must be 1..4095 characters long", .manager = true},
	{"socket_mode = 0660", "socket_mode = 0680", .line = 34, .path = MGR ".api.socket_mode",
	 .what = "680 is not a file mode (octal digits, 0..0777, e.g. 0600)", .manager = true},
	{"socket_mode = 0660", "socket_mode = 01000", .line = 34, .path = MGR ".api.socket_mode",
	 .what = "1000 is not a file mode", .manager = true},
	{"socket_mode = 0660", "socket_mode = -1", .line = 34, .path = MGR ".api.socket_mode",
	 .what = "-1 is not a file mode", .manager = true},
	{"socket_mode = 0660", "socket_mode = 0x1b0", .line = 34, .path = MGR ".api.socket_mode",
	 .what = "0x1b0 is not a file mode", .manager = true},
	{"socket_mode = 0660", "socket_mode = \"0660\"", .line = 34,
	 .path = MGR ".api.socket_mode", .what = "must be an integer, not a string", .manager = true},
	{"max_connections = 100", "max_connections = 0", .line = 34, .path = MGR ".api.max_connections",
	 .what = "0 is out of range (1..65536)", .manager = true},
	{"per_source = 10", "per_source = 70000", .line = 34,
	 .path = MGR ".api.max_connections_per_source", .what = "70000 is out of range (1..65536)",
	 .manager = true},
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
	char *text = bc->text != NULL
			     ? strdup(bc->text)
			     : case_text(bc->manager, bc->find, bc->repl, bc->find2, bc->repl2);
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
	char want[96];
	snprintf(want, sizeof(want), "t.cfg:5: sluice.vips: has %d entries; 0..%d allowed",
		 SL_MAX_VIPS + 1, SL_MAX_VIPS);
	ck_assert_msg(strstr(err, want) == err, "%s", err);

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

/* BASE with n tunnel sources 198.18.0.1/32, 198.18.0.2/32, ... (malloc'd). */
static char *with_tunnel_sources(unsigned n)
{
	char list[4096] = "tunnel_sources = [";
	for (unsigned i = 1; i <= n; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s\"198.18.0.%u\"", i > 1 ? ", " : "", i);
	}
	strcat(list, "];");
	return base_with(TS_LIST, list, NULL, NULL);
}

START_TEST(test_tunnel_sources_limit)
{
	struct sl_config c;
	char *text = with_tunnel_sources(SL_MAX_TUNNEL_SOURCES);
	load_ok(text, &c);
	ck_assert_uint_eq(c.nb_tunnel_sources, SL_MAX_TUNNEL_SOURCES);
	ck_assert_prefix(c.tunnel_sources[SL_MAX_TUNNEL_SOURCES - 1], "198.18.0.64", 32);
	sl_config_free(&c);
	free(text);
	char err[ERRLEN];
	text = with_tunnel_sources(SL_MAX_TUNNEL_SOURCES + 1);
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t.cfg:15: sluice.host.tunnel_sources: has 65 entries; 1..64 allowed");
	free(text);
}
END_TEST

/* "/xxx..." of len characters, quoted, in a static buffer. */
static const char *long_path(size_t len)
{
	static char buf[SL_PATH_LEN + 8];
	ck_assert_uint_lt(len + 2, sizeof(buf));
	buf[0] = '"';
	buf[1] = '/';
	memset(buf + 2, 'x', len - 1);
	snprintf(buf + 1 + len, sizeof(buf) - 1 - len, "\"");
	return buf;
}

/* Expect text to fail with err starting with want; frees text. */
static void load_fails(char *text, const char *want)
{
	struct sl_config c;
	char err[ERRLEN];
	ck_assert_int_eq(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "'%s' does not start '%s'", err, want);
	free(text);
}

static void loads(char *text)
{
	struct sl_config c;
	load_ok(text, &c);
	sl_config_free(&c);
	free(text);
}

START_TEST(test_manager_limits)
{
	/* Paths up to the struct's buffer; the socket up to what bind() takes. */
	loads(with_manager("\"/var/lib/sluice/3\"", long_path(SL_PATH_LEN - 1), NULL, NULL));
	load_fails(with_manager("\"/var/lib/sluice/3\"", long_path(SL_PATH_LEN), NULL, NULL),
		   "t.cfg:25: sluice.manager.data_dir: '/xxx");
	load_fails(with_manager("\"/etc/sluice/api.pem\"", long_path(SL_PATH_LEN), NULL, NULL),
		   "t.cfg:32: sluice.manager.api.cert: '/xxx");
	loads(with_manager("\"/run/sluice/api.sock\"", long_path(107), NULL, NULL));
	char want[256];
	snprintf(want, sizeof(want), "t.cfg:34: sluice.manager.api.socket: '/%.63s...' must be "
		 "1..107 characters long", long_path(108) + 2);
	load_fails(with_manager("\"/run/sluice/api.sock\"", long_path(108), NULL, NULL), want);

	/* SL_MAX_MEMBERS: this instance (3) votes, the others stand by. */
	for (unsigned n = SL_MAX_MEMBERS; n <= SL_MAX_MEMBERS + 1; n++) {
		char list[4096] = "    members = (\n";
		for (unsigned id = 1; id <= n; id++) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof(list) - used,
				 "%s{ id = %u; address = \"192.0.2.1:%u\";%s }\n", id > 1 ? "," : "",
				 id, 7000 + id, id == 3 ? "" : " role = \"standby\";");
		}
		strcat(list, ");\n/*\n");
		char *text = with_manager("    members = (\n", list, "    );\n    api:", "*/\n    api:");
		if (n > SL_MAX_MEMBERS) {
			load_fails(text, "t.cfg:26: sluice.manager.members: has 17 entries; 1..16 allowed");
			continue;
		}
		struct sl_config c;
		load_ok(text, &c);
		ck_assert_uint_eq(c.manager.nb_members, SL_MAX_MEMBERS);
		ck_assert_str_eq(c.manager.members[SL_MAX_MEMBERS - 1].address, "192.0.2.1:7016");
		sl_config_free(&c);
		free(text);
	}
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
	bool manager;       /* both files have MANAGER_LINES */
};

#define LOG_OWNS "with the manager enabled, "
#define OWNED LOG_OWNS "VIPs change through the API (sluicectl), not the file"

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
	{"mtu = 9000", "mtu = 9000; vlan = 7", .change = "ports changed (port 'up' vlan)"},
	{"192.0.2.10/24", "192.0.2.10/25", .change = "ports changed (port 'up' addresses)"},
	{"[\"198.18.1.1/24\"]", "[\"198.18.1.1/24\", \"198.18.9.1/24\"]",
	 .change = "ports changed (port 'down' addresses)"},
	{"gateway = \"192.0.2.1\"", "gateway = \"192.0.2.2\"",
	 .change = "ports changed (port 'up' gateway)"},
	{"gateway6 = \"2001:db8:2::1\";", "", .change = "ports changed (port 'up' gateway6)"},
	{"02:00:00:00:00:9A", "02:00:00:00:00:9B", .change = "ports changed (port 'up' neighbours)"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = false",
	 .change = "ports changed (port 'up' kernel_interface)"},
	{"mtu = 9000", "mtu = 9000; kernel_interface = \"sl-up\"", .change = NULL}, /* the default, spelt out */
	{"  );\n};\n", "  );\n  exception: { to_kernel_rate = 500; };\n};\n",
	 .change = "exception.to_kernel_rate changed"},
	{"  );\n};\n", "  );\n  exception: { from_kernel_burst = 5; };\n};\n",
	 .change = "exception.from_kernel_burst changed"},
	{"maglev_size = 251", "maglev_size = 257", .change = "mux.maglev_size changed"},
	{"hash_seed = 42", "hash_seed = 43", .change = "mux.hash_seed changed"},
	{"flow_capacity = 1024", "flow_capacity = 2048", .change = "mux.flow_capacity changed"},
	{"tunnel_source = \"192.0.2.10\"", "tunnel_source6 = \"2001:db8:2::10\"",
	 .change = "mux.tunnel_source changed"},
	{"address = \"192.0.2.10\"; address6", "address6", .change = "host.address changed"},
	{"address6 = \"2001:db8:2::10\";\n", "\n", .change = "host.address6 changed"},
	{"backend = \"down\"", "backend = \"up\"", .change = "host.backend changed"},
	{"conn_capacity = 2048", "conn_capacity = 4096", .change = "host.conn_capacity changed"},
	/* tunnel sources apply on reload; their order is no difference */
	{"\"2001:db8:2::/64\"", "\"2001:db8:3::/64\"", .change = NULL},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/64\", \"192.0.2.11\"", .change = NULL},
	{TS_LIST, "tunnel_sources = [\"2001:db8:2::/64\", \"192.0.2.10/32\"];", .change = NULL},
	/* manager: any change needs a restart (membership changes go through the API) */
	{"  );\n};\n", "  );\n" MANAGER_LINES "};\n", .change = "manager settings changed (group added)"},
	{NULL, NULL, .change = NULL, .manager = true},
	{"{ id = 3; data_dir = \"/var/lib/sluice/3\"", "{ id = 1; data_dir = \"/var/lib/sluice/3\"",
	 .change = "manager settings changed (id)", .manager = true},
	{"\"/var/lib/sluice/3\"", "\"/var/lib/sluice/x\"",
	 .change = "manager settings changed (data_dir)", .manager = true},
	{"\"192.0.2.20:7002\"", "\"192.0.2.20:7009\"", .change = "manager settings changed (members)",
	 .manager = true},
	{"role = \"standby\"; }\n", "},\n      { id = 5; address = \"192.0.2.50:7005\"; }\n",
	 .change = "manager settings changed (members)", .manager = true},
	{"\"https://192.0.2.10:8441\"", "\"https://192.0.2.10:9441\"",
	 .change = "manager settings changed (members)", .manager = true},
	{"\"0.0.0.0:8443\"", "\"[::]:8443\"", .change = "manager settings changed (api.listen)",
	 .manager = true},
	{"\"/etc/sluice/token\"", "\"/etc/sluice/token2\"",
	 .change = "manager settings changed (api.token_file)", .manager = true},
	{"socket_mode = 0660", "socket_mode = 0600",
	 .change = "manager settings changed (api.socket_mode)", .manager = true},
	{"max_connections = 100", "max_connections = 99",
	 .change = "manager settings changed (api.max_connections)", .manager = true},
	{"join = true", "join = false", .change = "manager settings changed (join)", .manager = true},
	{"heartbeat_ms = 20", "heartbeat_ms = 10", .change = "manager settings changed (heartbeat_ms)",
	 .manager = true},
	{"election_timeout_ms = 2000", "election_timeout_ms = 3000",
	 .change = "manager settings changed (election_timeout_ms)", .manager = true},
	/* with the manager, the log owns the VIPs; the rest reloads as before */
	{"flow_idle_timeout = 30", "flow_idle_timeout = 31", "idle_sleep_us = 50",
	 "idle_sleep_us = 0", .change = NULL, .manager = true},
	{"  vips = (\n", "\n\n  vips = (\n", .change = NULL, .manager = true}, /* lines only */
	{"weight = 7", "weight = 9", .change = OWNED " (sluice.vips.[0] differs)", .manager = true},
	{"port = 8080;", "port = 8081;", .change = OWNED " (sluice.vips.[0] differs)",
	 .manager = true},
	{"protocol = \"udp\"", "protocol = \"tcp\"", .change = OWNED " (sluice.vips.[1] differs)",
	 .manager = true},
	{"      ); },\n" V6_VIP_LINES, "      ); }\n\n\n", .change = OWNED " (2 VIPs -> 1)",
	 .manager = true},
	{"burst = 16", "burst = 32", .change = "workers.burst changed (16 -> 32)", .manager = true},
	/* ...but whether the tunnel sources may change is the replicated state's
	 * call (sl_mgr_reloadable(), test_manager.c), which lib/config leaves open */
	{"\"2001:db8:2::/64\"", "\"2001:db8:3::/64\"", .change = NULL, .manager = true},
	{"\"2001:db8:2::/64\"", "\"2001:db8:2::/64\", \"192.0.2.11\"", .change = NULL,
	 .manager = true},
	{TS_LIST, "tunnel_sources = [\"2001:db8:2::/64\", \"192.0.2.10/32\"];", .change = NULL,
	 .manager = true},
};

START_TEST(test_reloadable)
{
	const struct reload_case *rc = &reload_cases[_i];
	struct sl_config cur, next;
	char err[ERRLEN], want[256];
	char *text = case_text(rc->manager, rc->find, rc->repl, rc->find2, rc->repl2);
	char *base = case_text(rc->manager, NULL, NULL, NULL, NULL);
	load_ok(base, &cur);
	load_ok(text, &next);
	bool ok = sl_config_reloadable(&cur, &next, err, sizeof(err));
	if (rc->change == NULL) {
		ck_assert_msg(ok, "case %d: expected reloadable, got '%s'", _i, err);
		ck_assert_str_eq(err, "");
	} else {
		ck_assert_msg(!ok, "case %d: expected '%s'", _i, rc->change);
		/* A restart would not apply a VIP change either: the log wins. */
		snprintf(want, sizeof(want), "%s%s", rc->change,
			 strncmp(rc->change, LOG_OWNS, strlen(LOG_OWNS)) == 0 ? "" : "; restart required");
		ck_assert_str_eq(err, want);
	}
	/* The decision is symmetric, and err may be absent. */
	ck_assert(sl_config_reloadable(&next, &cur, NULL, 0) == ok);
	sl_config_free(&cur);
	sl_config_free(&next);
	free(text);
	free(base);
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
	tcase_add_test(tc, test_maglev_size_auto);
	tcase_add_test(tc, test_kernel_interface_forms);
	tcase_add_test(tc, test_manager_values);
	tcase_add_test(tc, test_manager_defaults);
	tcase_add_test(tc, test_socket_mode_forms);
	tcase_add_test(tc, test_example_cluster_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_tunnel_sources_limit);
	tcase_add_test(tc, test_manager_limits);
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
