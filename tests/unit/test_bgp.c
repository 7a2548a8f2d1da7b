/* lib/bgp and the bgp group of the configuration: the BIRD configuration,
 * what is announced and when, BIRD's replies, and FILE:LINE errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bgp.h"
#include "config/config.h"

#define ERRLEN 1024

/* A mux with a bgp group; line numbers on the right. */
static const char BASE[] =
	"sluice: {\n"                                                                 /* 1 */
	"  roles = [\"mux\"]; mux: { };\n"                                             /* 2 */
	"  ports = ( { name = \"fabric\"; device = \"net_tap0\";\n"                   /* 3 */
	"      addresses = [\"192.0.2.10/24\", \"2001:db8:2::10/64\"]; } );\n"        /* 4 */
	"  vips = ( { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;\n"   /* 5 */
	"      dips = ( { address = \"198.18.1.2\"; host = \"192.0.2.21\"; } ); } );\n" /* 6 */
	"  bgp: {\n"                                                                  /* 7 */
	"    local_as = 65001;\n"                                                     /* 8 */
	"    peers = (\n"                                                             /* 9 */
	"      { address = \"192.0.2.1\"; as = 65000; name = \"tor\"; },\n"           /* 10 */
	"      { address = \"2001:db8:2::1\"; as = 65000; bfd = false; }\n"           /* 11 */
	"    );\n"                                                                    /* 12 */
	"    hold_time = 9; keepalive_time = 3;\n"                                    /* 13 */
	"  };\n"                                                                      /* 14 */
	"};\n";                                                                       /* 15 */

static char *with(const char *find, const char *repl)
{
	const char *at = strstr(BASE, find);
	ck_assert_msg(at != NULL, "'%s' not in BASE", find);
	size_t n = strlen(BASE) - strlen(find) + strlen(repl) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%.*s%s%s", (int)(at - BASE), BASE, repl, at + strlen(find));
	return s;
}

static void load_ok(const char *text, struct sl_config *c)
{
	char err[ERRLEN];
	ck_assert_msg(sl_config_load_string(text, "t.cfg", c, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(test_defaults)
{
	struct sl_config c;
	load_ok(BASE, &c);
	const struct sl_bgp_cfg *b = &c.bgp;
	ck_assert(b->enabled);
	ck_assert_uint_eq(b->local_as, 65001);
	ck_assert_int_eq(b->port, 0);
	ck_assert_str_eq(b->ifname, "sl-fabric");
	ck_assert_uint_eq(b->router_id.v4, c.ports[0].addrs[0].addr.v4); /* the port's first IPv4 */
	ck_assert(b->bfd);
	ck_assert_uint_eq(b->bfd_interval_ms, 100);
	ck_assert_uint_eq(b->bfd_multiplier, 3);
	ck_assert_uint_eq(b->hold_s, 9);
	ck_assert_uint_eq(b->keepalive_s, 3);
	ck_assert(!b->graceful_restart);
	ck_assert_uint_eq(b->watchdog_ms, 250);
	ck_assert(b->drain_on_sigterm);
	ck_assert_uint_eq(b->table, SL_BGP_DEFAULT_TABLE);
	ck_assert_str_eq(b->bird_socket, SL_BGP_DEFAULT_SOCKET);
	ck_assert(b->require_bird);
	ck_assert_uint_eq(b->nb_peers, 2);
	ck_assert_str_eq(b->peers[0].name, "peer_tor");
	ck_assert_str_eq(b->peers[1].name, "peer_2");
	ck_assert(b->peers[0].bfd && !b->peers[1].bfd);
	ck_assert_int_eq(b->peers[1].family, SL_AF_INET6);
	sl_config_free(&c);

	/* no group: nothing announced */
	char *t = with("  bgp: {\n    local_as = 65001;\n", "  nobgp: {\n    local_as = 65001;\n");
	struct sl_config d;
	char err[ERRLEN];
	ck_assert_int_eq(sl_config_load_string(t, "t.cfg", &d, err, sizeof(err)), -1); /* unknown name */
	free(t);
}
END_TEST

struct bad_case {
	const char *find, *repl;
	int line;
	const char *what;
};

static const struct bad_case bad_cases[] = {
	{"local_as = 65001;", "local_as = 0;", 8, "sluice.bgp.local_as: 0 is out of range"},
	{"local_as = 65001;", "local_as = 23456;", 8, "reserved AS number"},
	{"local_as = 65001;", "", 7, "sluice.bgp.local_as: required setting is missing"},
	{"local_as = 65001;", "local_as = 65001; hold = 3;", 8, "sluice.bgp.hold: unknown setting"},
	{"as = 65000; name", "as = 4294967295L; name", 10, "sluice.bgp.peers.[0].as: 4294967295 is out of range"},
	{"\"192.0.2.1\"; as", "\"198.51.100.1\"; as", 10, "not on port 'fabric' (peers must be directly connected"},
	{"\"192.0.2.1\"; as", "\"192.0.2.10\"; as", 10, "is an address of port 'fabric' itself"},
	{"\"192.0.2.1\"; as", "\"192.0.2.300\"; as", 10, "is not an IPv4 or IPv6 address"},
	{"\"2001:db8:2::1\"", "\"192.0.2.1\"", 11, "peers.[1].address: 192.0.2.1 is already the address of peers.[0] (line 10)"},
	{"name = \"tor\"", "name = \"t-r\"", 10, "peers.[0].name: 't-r' is not a peer name"},
	{"bfd = false", "bfd = 1", 11, "peers.[1].bfd: must be true or false"},
	{"keepalive_time = 3", "keepalive_time = 4", 13, "keepalive_time 4 is more than a third of hold_time 9"},
	{"hold_time = 9", "hold_time = 2", 13, "hold_time: 2 is out of range (3..65535)"},
	{"hold_time = 9;", "hold_time = 9; table = 254;", 13, "one of the kernel's own tables"},
	{"hold_time = 9;", "hold_time = 9; bfd_interval_ms = 5;", 13, "bfd_interval_ms: 5 is out of range (10..10000)"},
	{"hold_time = 9;", "hold_time = 9; watchdog_ms = 0;", 13, "watchdog_ms: 0 is out of range"},
	{"hold_time = 9;", "hold_time = 9; drain_quiet_ms = 40000;", 13, "drain_quiet_ms 40000 is not less than drain_timeout_ms 30000"},
	{"hold_time = 9;", "hold_time = 9; port = \"nope\";", 13, "sluice.bgp.port: 'nope' is not a port"},
	{"hold_time = 9;", "hold_time = 9; router_id = \"2001:db8::1\";", 13, "is not an IPv4 address"},
	{"hold_time = 9;", "hold_time = 9; require_bird = \"yes\";", 13, "require_bird: must be true or false"},
	{"hold_time = 9;", "hold_time = 9; pop = \"A\";", 13, "pop: 'A' must be lower-case letters"},
	{"hold_time = 9;", "hold_time = 9; pop = \"\";", 13, "pop: '' must not be empty"},
	{"hold_time = 9;", "hold_time = 9; pop = 7;", 13, "pop: must be a string"},
	{"hold_time = 9;", "hold_time = 9; pop = \"a\";", 13, "in the replicated state: needs a manager group"},
	{"peers = (\n", "peerz = (\n", 9, "unknown setting"},
	{"device = \"net_tap0\";", "device = \"net_tap0\"; kernel_interface = false;", 7,
	 "no port has a kernel interface for BIRD to peer over"},
};

START_TEST(test_bad)
{
	const struct bad_case *bc = &bad_cases[_i];
	char *text = with(bc->find, bc->repl);
	struct sl_config c;
	char err[ERRLEN], prefix[32];
	ck_assert_msg(sl_config_load_string(text, "t.cfg", &c, err, sizeof(err)) == -1,
		      "case %d loaded: %s", _i, bc->what);
	snprintf(prefix, sizeof(prefix), "t.cfg:%d: ", bc->line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "case %d: '%s' does not start '%s'", _i, err,
		      prefix);
	ck_assert_msg(strstr(err, bc->what) != NULL, "case %d: '%s' lacks '%s'", _i, err, bc->what);
	free(text);
}
END_TEST

START_TEST(test_reload_refuses_bgp_changes)
{
	struct sl_config a, b;
	char err[ERRLEN];
	char *t = with("hold_time = 9; keepalive_time = 3;", "hold_time = 30; keepalive_time = 10;");
	load_ok(BASE, &a);
	load_ok(t, &b);
	ck_assert(!sl_config_reloadable(&a, &b, err, sizeof(err)));
	ck_assert_msg(strstr(err, "bgp changed") != NULL, "%s", err);
	sl_config_free(&a);
	sl_config_free(&b);
	free(t);
}
END_TEST

/* ------------------------------------------------------------- BIRD */

static char *bird_text(const struct sl_bgp_cfg *b)
{
	int n = sl_bgp_bird_config(b, "t.cfg", NULL, 0);
	ck_assert_int_gt(n, 0);
	char *s = malloc((size_t)n + 1);
	ck_assert_int_eq(sl_bgp_bird_config(b, "t.cfg", s, (size_t)n + 1), n);
	ck_assert_uint_eq(strlen(s), (size_t)n);
	return s;
}

START_TEST(test_bird_config)
{
	struct sl_config c;
	load_ok(BASE, &c);
	char *s = bird_text(&c.bgp);
	static const char *const want[] = {
		"router id 192.0.2.10;",
		"protocol kernel sluice_vips4 {\n\tkernel table 4242;\n\tlearn;",
		"protocol kernel sluice_vips6 {",
		"interface \"sl-fabric\" {\n\t\tmin rx interval 100 ms;\n\t\tmin tx interval 100 ms;",
		"multiplier 3;",
		"protocol bgp peer_tor {",
		"local 192.0.2.10 as 65001;\n\tneighbor 192.0.2.1 as 65000;",
		"\tbfd on;\n\thold time 9;\n\tkeepalive time 3;\n\tgraceful restart off;",
		"export where proto = \"sluice_vips4\";",
		"protocol bgp peer_2 {",
		"local 2001:db8:2::10 as 65001;\n\tneighbor 2001:db8:2::1 as 65000;",
		"\tbfd off;",
		"\tipv6 {\n\t\timport none;\n\t\texport where proto = \"sluice_vips6\";",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(s, want[i]) != NULL, "no '%s' in:\n%s", want[i], s);
	ck_assert(strstr(s, "password") == NULL);
	/* A buffer too small: cut, still terminated, the full length returned. */
	char small[64];
	ck_assert_int_eq(sl_bgp_bird_config(&c.bgp, "t.cfg", small, sizeof(small)), (int)strlen(s));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	free(s);
	/* IPv4 peers only: no IPv6 learning; no BFD anywhere: no bfd protocol */
	c.bgp.nb_peers = 1;
	c.bgp.peers[0].bfd = false;
	snprintf(c.bgp.peers[0].password, sizeof(c.bgp.peers[0].password), "s3cret");
	s = bird_text(&c.bgp);
	ck_assert(strstr(s, "sluice_vips6") == NULL);
	ck_assert(strstr(s, "protocol bfd") == NULL);
	ck_assert(strstr(s, "\tpassword \"s3cret\";") != NULL);
	free(s);
	sl_config_free(&c);
}
END_TEST

/* ---------------------------------------------------------- announce */

START_TEST(test_decide)
{
	enum sl_bgp_reason why;
	struct sl_bgp_inputs in = {.tables_loaded = true, .mux = true};
	ck_assert(sl_bgp_decide(&in, &why));
	ck_assert_int_eq(why, SL_BGP_SERVING);
	in.tables_loaded = false;
	ck_assert(!sl_bgp_decide(&in, &why));
	ck_assert_int_eq(why, SL_BGP_STARTING);
	in.stalled = true;
	ck_assert(!sl_bgp_decide(&in, &why));
	ck_assert_int_eq(why, SL_BGP_WATCHDOG);
	in.draining = true; /* a drain outlasts a stall */
	ck_assert(!sl_bgp_decide(&in, &why));
	ck_assert_int_eq(why, SL_BGP_DRAINING);
	in = (struct sl_bgp_inputs){.tables_loaded = true, .mux = false};
	ck_assert(!sl_bgp_decide(&in, &why));
	ck_assert_int_eq(why, SL_BGP_NOT_MUX);
	ck_assert_str_eq(sl_bgp_reason_name(SL_BGP_WATCHDOG), "watchdog");
}
END_TEST

START_TEST(test_stalled)
{
	uint32_t worst;
	uint32_t polls[3] = {1000, 990, 900};
	ck_assert(!sl_bgp_stalled(polls, 3, 1000, 250, &worst));
	ck_assert_uint_eq(worst, 100);
	ck_assert(!sl_bgp_stalled(polls, 3, 1150, 250, &worst)); /* exactly the bound */
	ck_assert(sl_bgp_stalled(polls, 3, 1151, 250, &worst));
	ck_assert_uint_eq(worst, 251);
	/* across the 32-bit wrap */
	uint32_t wrap[2] = {UINT32_MAX - 10, 5};
	ck_assert(!sl_bgp_stalled(wrap, 2, 20, 250, &worst));
	ck_assert_uint_eq(worst, 31);
	/* a worker that polled after now was read is not silent */
	uint32_t ahead[1] = {2000};
	ck_assert(!sl_bgp_stalled(ahead, 1, 1999, 250, &worst));
	ck_assert_uint_eq(worst, 0);
	ck_assert(!sl_bgp_stalled(NULL, 0, 5, 250, NULL));
}
END_TEST

static struct sl_prefix pfx(const char *text)
{
	struct sl_prefix p;
	memset(&p, 0, sizeof(p));
	p.family = (uint8_t)sl_prefix_parse(text, &p.addr, &p.len);
	ck_assert_int_ne(p.family, SL_AF_NONE);
	return p;
}

START_TEST(test_prefixes)
{
	struct sl_spec spec;
	memset(&spec, 0, sizeof(spec));
	ck_assert_int_eq(sl_spec_alloc_services(&spec, 5), 0);
	static const struct {
		const char *addr;
		uint32_t weight; /* of its one backend; 0: drained */
		bool none;       /* no backend at all */
	} svc[] = {
		{"2001:db8:100::10", 1, false}, {"203.0.113.10", 1, false}, {"203.0.113.10", 5, false},
		{"203.0.113.20", 0, false},     {"203.0.113.30", 0, true},
	};
	for (unsigned i = 0; i < 5; i++) {
		struct sl_spec_service *s = &spec.services[i];
		s->kind = SL_SERVICE_VIP;
		s->family = (uint8_t)sl_addr_parse(svc[i].addr, &s->addr);
		s->port = (uint16_t)(80 + i);
		if (!svc[i].none) {
			ck_assert_int_eq(sl_spec_alloc_backends(s, 1), 0);
			s->backends[0].weight = svc[i].weight;
		}
	}
	struct sl_prefix out[4];
	ck_assert_uint_eq(sl_bgp_prefixes(&spec, out, 4), 2);
	struct sl_prefix v4 = pfx("203.0.113.10/32"), v6 = pfx("2001:db8:100::10/128");
	ck_assert(sl_prefix_eq(&out[0], &v4)); /* IPv4 first, once for two ports */
	ck_assert(sl_prefix_eq(&out[1], &v6));
	ck_assert_uint_eq(sl_bgp_prefixes(&spec, out, 1), 2); /* the count, whatever fits */
	sl_spec_free(&spec);
	ck_assert_uint_eq(sl_bgp_prefixes(&spec, out, 4), 0);
}
END_TEST

/* bgp.pop with a manager: kept; without it: no PoP. */
START_TEST(test_pop_setting)
{
	struct sl_config c;
	load_ok(BASE, &c);
	ck_assert_str_eq(c.bgp.pop, "");
	sl_config_free(&c);
	char *text = with("  bgp: {\n",
			  "  manager: { id = 1; data_dir = \"/tmp/sluice-test-bgp\";\n"
			  "    members = ( { id = 1; address = \"192.0.2.10:7000\"; } );\n"
			  "    api: { socket = \"/tmp/sluice-test-bgp.sock\"; }; };\n"
			  "  bgp: { pop = \"fra-1_b\";\n");
	load_ok(text, &c);
	ck_assert_str_eq(c.bgp.pop, "fra-1_b");
	sl_config_free(&c);
	free(text);
}
END_TEST

static struct sl_pop pop_of(const char *name, enum sl_pop_state state, const char *unicast,
			    const char *anycast)
{
	struct sl_pop p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	p.state = (uint8_t)state;
	if (unicast != NULL)
		p.unicast[p.nb_unicast++] = pfx(unicast);
	if (anycast != NULL)
		p.anycast[p.nb_anycast++] = pfx(anycast);
	return p;
}

static void one_vip(struct sl_spec *spec, unsigned i, const char *addr)
{
	struct sl_spec_service *s = &spec->services[i];
	s->kind = SL_SERVICE_VIP;
	s->family = (uint8_t)sl_addr_parse(addr, &s->addr);
	s->port = 80;
	ck_assert_int_eq(sl_spec_alloc_backends(s, 1), 0);
	s->backends[0].weight = 1;
}

/* Expect want[0..n) (texts) from sl_bgp_wanted. */
static void expect_wanted(const struct sl_spec *spec, const struct sl_pop *pops, unsigned np,
			  const char *mine, const char *const *want, unsigned n)
{
	struct sl_prefix out[8];
	char a[64];
	unsigned got = sl_bgp_wanted(spec, pops, np, mine, out, 8);
	ck_assert_uint_eq(got, n);
	for (unsigned i = 0; i < n; i++) {
		struct sl_prefix w = pfx(want[i]);
		ck_assert_msg(sl_prefix_eq(&out[i], &w), "[%u] is %s/%u, not %s", i,
			      sl_addr_format(out[i].family, &out[i].addr, a, sizeof(a)), out[i].len, want[i]);
	}
}

/* A PoP's muxes: unicast while active, anycast unless down; VIP host
 * routes only outside every PoP's prefixes; another PoP's prefixes never. */
START_TEST(test_pop_wanted)
{
	struct sl_spec spec;
	memset(&spec, 0, sizeof(spec));
	ck_assert_int_eq(sl_spec_alloc_services(&spec, 3), 0);
	one_vip(&spec, 0, "203.0.113.10");  /* in a's unicast */
	one_vip(&spec, 1, "203.0.113.200"); /* in b's unicast */
	one_vip(&spec, 2, "192.0.2.50");    /* in no PoP */
	struct sl_pop pops[2] = {
		pop_of("a", SL_POP_ACTIVE, "203.0.113.0/25", "203.0.113.0/24"),
		pop_of("b", SL_POP_ACTIVE, "203.0.113.128/25", "203.0.113.0/24"),
	};
	static const char *const none_pop[] = {"192.0.2.50/32", "203.0.113.10/32", "203.0.113.200/32"};
	expect_wanted(&spec, NULL, 0, NULL, none_pop, 3); /* no PoPs: as sl_bgp_prefixes */
	static const char *const active[] = {"192.0.2.50/32", "203.0.113.0/24", "203.0.113.0/25"};
	expect_wanted(&spec, pops, 2, "a", active, 3);
	static const char *const no_pop[] = {"192.0.2.50/32"};
	expect_wanted(&spec, pops, 2, NULL, no_pop, 1);     /* a mux of no PoP */
	expect_wanted(&spec, pops, 2, "nowhere", no_pop, 1); /* of a PoP not in the state */
	pops[0].state = SL_POP_DRAINING;
	static const char *const draining[] = {"192.0.2.50/32", "203.0.113.0/24"};
	expect_wanted(&spec, pops, 2, "a", draining, 2);
	static const char *const b[] = {"192.0.2.50/32", "203.0.113.0/24", "203.0.113.128/25"};
	expect_wanted(&spec, pops, 2, "b", b, 3); /* b does not take a's */
	pops[0].state = SL_POP_DOWN;
	expect_wanted(&spec, pops, 2, "a", no_pop, 1);
	/* what each prefix is, for sluicectl bgp */
	struct sl_prefix u = pfx("203.0.113.0/25"), any = pfx("203.0.113.0/24"), v = pfx("192.0.2.50/32");
	ck_assert_int_eq(sl_bgp_kind_of(&pops[0], &u), SL_BGP_KIND_UNICAST);
	ck_assert_int_eq(sl_bgp_kind_of(&pops[0], &any), SL_BGP_KIND_ANYCAST);
	ck_assert_int_eq(sl_bgp_kind_of(&pops[0], &v), SL_BGP_KIND_VIP);
	ck_assert_int_eq(sl_bgp_kind_of(NULL, &u), SL_BGP_KIND_VIP);
	ck_assert_str_eq(sl_bgp_kind_name(SL_BGP_KIND_ANYCAST), "anycast");
	ck_assert_str_eq(sl_pop_state_name(SL_POP_DRAINING), "draining");
	ck_assert_ptr_null(sl_pop_state_name(SL_POP_NB_STATES));
	sl_spec_free(&spec);
}
END_TEST

/* Containment: same family, not shorter, the network's bits equal. */
START_TEST(test_prefix_covers)
{
	struct sl_prefix n24 = pfx("203.0.113.0/24"), n25 = pfx("203.0.113.128/25"),
			 h = pfx("203.0.113.200/32"), l = pfx("203.0.113.10/32"), v6 = pfx("2001:db8::/32"),
			 h6 = pfx("2001:db8:ffff::1/128"), o6 = pfx("2001:db9::1/128"), z = pfx("0.0.0.0/0");
	ck_assert(sl_prefix_covers(&n24, &n25));
	ck_assert(!sl_prefix_covers(&n25, &n24));
	ck_assert(sl_prefix_covers(&n25, &h));
	ck_assert(!sl_prefix_covers(&n25, &l));
	ck_assert(sl_prefix_covers(&n24, &n24));
	ck_assert(sl_prefix_covers(&v6, &h6));
	ck_assert(!sl_prefix_covers(&v6, &o6));
	ck_assert(!sl_prefix_covers(&v6, &h));
	ck_assert(sl_prefix_covers(&z, &h));
}
END_TEST

START_TEST(test_diff)
{
	struct sl_prefix cur[] = {pfx("192.0.2.1/32"), pfx("192.0.2.3/32"), pfx("2001:db8::1/128")};
	struct sl_prefix want[] = {pfx("192.0.2.2/32"), pfx("192.0.2.3/32"), pfx("2001:db8::2/128")};
	struct sl_prefix add[3], del[3];
	unsigned na, nd;
	sl_bgp_diff(cur, 3, want, 3, add, &na, del, &nd);
	ck_assert_uint_eq(na, 2);
	ck_assert_uint_eq(nd, 2);
	ck_assert(sl_prefix_eq(&add[0], &want[0]) && sl_prefix_eq(&add[1], &want[2]));
	ck_assert(sl_prefix_eq(&del[0], &cur[0]) && sl_prefix_eq(&del[1], &cur[2]));
	sl_bgp_diff(cur, 3, NULL, 0, add, &na, del, &nd); /* withdraw all */
	ck_assert_uint_eq(na, 0);
	ck_assert_uint_eq(nd, 3);
	sl_bgp_diff(NULL, 0, want, 3, add, &na, del, &nd);
	ck_assert_uint_eq(na, 3);
	ck_assert_uint_eq(nd, 0);
}
END_TEST

/* ------------------------------------------------------------ birdc */

START_TEST(test_birdc_lines)
{
	struct sl_birdc_line l;
	ck_assert(sl_birdc_parse_line("0001 BIRD 2.0.12 ready.", 23, &l));
	ck_assert_int_eq(l.code, 1);
	ck_assert(l.last);
	ck_assert(sl_birdc_parse_line("1002-device1 Device", 19, &l));
	ck_assert_int_eq(l.code, 1002);
	ck_assert(!l.last);
	ck_assert_uint_eq(l.len, 14);
	ck_assert(sl_birdc_parse_line(" State: UP", 10, &l));
	ck_assert_int_eq(l.code, -1);
	ck_assert(!sl_birdc_parse_line("12a4 x", 6, &l));
	ck_assert(!sl_birdc_parse_line("1234", 4, &l));
	ck_assert(!sl_birdc_parse_line("", 0, &l));
}
END_TEST

/* What BIRD 2.0.12 answered to "show protocols all" (trimmed). */
static const char PROTOCOLS[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     19:33:54.819  \n"
	"1006-\n"
	"1002-sluice_vips4 Kernel   master4    up     19:33:54.819  \n"
	"1006-  Channel ipv4\n"
	"     Routes:         2 imported, 0 exported, 2 preferred\n"
	"1002-peer_router BGP        ---        up     19:41:25.977  Established   \n"
	"1006-  BGP state:          Established\n"
	"     Neighbor address: 192.0.2.1%sl-fabric\n"
	"     Neighbor AS:      65000\n"
	"   Channel ipv4\n"
	"     State:          UP\n"
	"     Routes:         0 imported, 1 exported, 0 preferred\n"
	" \n"
	"1002-peer_2     BGP        ---        start  19:33:54.819  Active        Socket: Connection refused\n"
	"1006-  BGP state:          Active\n"
	"     Neighbor address: 2001:db8:2::1\n"
	"     Last error:       Socket: Connection refused\n"
	" \n"
	"0000 \n";

/* "show protocols" (not all): the code once, then continuation lines. */
static const char PROTOCOLS_SHORT[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     19:58:01.137  \n"
	" sluice_vips4 Kernel     master4    up     19:58:01.137  \n"
	" bfd1       BFD        ---        up     19:58:01.137  \n"
	" peer_router BGP        ---        up     19:58:02.530  Established   \n"
	"0000 \n";

START_TEST(test_birdc_protocols)
{
	struct sl_bgp_session s[4];
	ck_assert_uint_eq(sl_birdc_parse_protocols(PROTOCOLS, s, 4), 2);
	ck_assert_str_eq(s[0].name, "peer_router");
	ck_assert_str_eq(s[0].state, "up");
	ck_assert_str_eq(s[0].info, "Established");
	ck_assert_str_eq(s[0].since, "19:41:25.977");
	ck_assert_str_eq(s[0].neighbor, "192.0.2.1");
	ck_assert_uint_eq(s[0].exported, 1);
	ck_assert_uint_eq(s[0].imported, 0);
	ck_assert_str_eq(s[1].name, "peer_2");
	ck_assert_str_eq(s[1].state, "start");
	ck_assert_str_eq(s[1].info, "Active        Socket: Connection refused");
	ck_assert_str_eq(s[1].neighbor, "2001:db8:2::1");
	ck_assert_str_eq(s[1].last_error, "Socket: Connection refused");
	ck_assert_uint_eq(sl_birdc_parse_protocols(PROTOCOLS, s, 1), 1); /* bounded */
	ck_assert_uint_eq(sl_birdc_parse_protocols("", s, 4), 0);
	ck_assert_uint_eq(sl_birdc_parse_protocols("garbage\n1002-\n", s, 4), 0);
	ck_assert(sl_birdc_has_protocol(PROTOCOLS, SL_BGP_LEARN4));
	ck_assert(sl_birdc_has_protocol(PROTOCOLS, "peer_2"));
	ck_assert(!sl_birdc_has_protocol(PROTOCOLS, SL_BGP_LEARN6));
	ck_assert(!sl_birdc_has_protocol(PROTOCOLS, "peer")); /* whole names only */
	ck_assert(!sl_birdc_has_protocol("", SL_BGP_LEARN4));
	ck_assert(sl_birdc_has_protocol(PROTOCOLS_SHORT, SL_BGP_LEARN4));
	ck_assert(sl_birdc_has_protocol(PROTOCOLS_SHORT, "peer_router"));
	ck_assert(!sl_birdc_has_protocol(PROTOCOLS_SHORT, "Name"));
	ck_assert_uint_eq(sl_birdc_parse_protocols(PROTOCOLS_SHORT, s, 4), 1);
	ck_assert_str_eq(s[0].name, "peer_router");
	ck_assert_str_eq(s[0].info, "Established");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bgp");
	TCase *tc = tcase_create("bgp");
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_reload_refuses_bgp_changes);
	tcase_add_test(tc, test_bird_config);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_stalled);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_pop_setting);
	tcase_add_test(tc, test_pop_wanted);
	tcase_add_test(tc, test_prefix_covers);
	tcase_add_test(tc, test_birdc_lines);
	tcase_add_test(tc, test_birdc_protocols);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
