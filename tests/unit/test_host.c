/*
 * Unit tests for lib/host's tables: which outer sources a host agent takes
 * tunnels from (sl_host_tunnel_source_ok), built from host.tunnel_sources.
 * Tables come from a data-plane spec written here (spec_fixture.h); no
 * EAL is needed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "spec_fixture.h"

/* Prefixes ("198.18.0.0/15", or an address for its host prefix). */
#define SOURCES(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A host agent whose tunnel sources are `sources` (NULL-terminated). */
static struct sl_host_tables *tables_with(const char *const sources[])
{
	static const char *const addrs[] = { "192.0.2.21/24", "2001:db8:2::21/64", NULL };
	char err[512];
	struct sl_spec spec;
	fx_init(&spec, SL_ROLE_HOST);
	fx_port(&spec, "fabric", addrs);
	fx_host(&spec, "192.0.2.21", "2001:db8:2::21", 0, 0);
	for (; *sources != NULL; sources++)
		fx_tunnel_source(&spec, *sources);
	struct sl_host_tables *t = sl_host_tables_build(&spec, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	sl_spec_free(&spec);
	return t;
}

static bool ok(const struct sl_host_tables *t, const char *src)
{
	union sl_addr a;
	int family = sl_addr_parse(src, &a);
	ck_assert_msg(family != SL_AF_NONE, "bad address in test: %s", src);
	return sl_host_tunnel_source_ok(t, family, &a);
}

#define ck_accepts(t, src) ck_assert_msg(ok(t, src), "%s refused", src)
#define ck_refuses(t, src) ck_assert_msg(!ok(t, src), "%s accepted", src)

/* Host prefixes: that address, nothing next to it, in either family. */
START_TEST(test_host_prefixes)
{
	struct sl_host_tables *t = tables_with(SOURCES("192.0.2.10", "2001:db8:2::10"));
	ck_accepts(t, "192.0.2.10");
	ck_accepts(t, "2001:db8:2::10");
	ck_refuses(t, "192.0.2.11");
	ck_refuses(t, "192.0.2.9");
	ck_refuses(t, "192.0.3.10");
	ck_refuses(t, "64.0.2.10"); /* differs in the top bit only */
	ck_refuses(t, "2001:db8:2::11");
	ck_refuses(t, "2001:db8:3::10");
	ck_refuses(t, "2001:db8:2::10:0");
	sl_host_tables_free(t);
}
END_TEST

/* Networks, including lengths that end inside a byte. */
START_TEST(test_networks)
{
	struct sl_host_tables *t = tables_with(SOURCES("198.18.0.0/15", "192.0.2.8/29", "2001:db8:2::/64",
						       "2001:db8:ff80::/41"));
	ck_accepts(t, "198.18.0.0");
	ck_accepts(t, "198.19.255.255");
	ck_refuses(t, "198.17.255.255");
	ck_refuses(t, "198.20.0.0");
	ck_accepts(t, "192.0.2.8");
	ck_accepts(t, "192.0.2.15");
	ck_refuses(t, "192.0.2.7");
	ck_refuses(t, "192.0.2.16");
	ck_accepts(t, "2001:db8:2::");
	ck_accepts(t, "2001:db8:2:0:ffff:ffff:ffff:ffff");
	ck_refuses(t, "2001:db8:2:1::");
	ck_refuses(t, "2001:db8:1:ffff:ffff:ffff:ffff:ffff");
	ck_accepts(t, "2001:db8:ff80::1");
	ck_accepts(t, "2001:db8:ffff:ffff::1");
	ck_refuses(t, "2001:db8:ff7f:ffff::1");
	sl_host_tables_free(t);
}
END_TEST

/* The shortest lengths: half of each family's space. */
START_TEST(test_shortest)
{
	struct sl_host_tables *t = tables_with(SOURCES("128.0.0.0/1", "8000::/1"));
	ck_accepts(t, "203.0.113.1");
	ck_accepts(t, "255.255.255.254");
	ck_refuses(t, "127.255.255.255");
	ck_refuses(t, "10.0.0.1");
	ck_accepts(t, "fd00::1");
	ck_refuses(t, "7fff:ffff::1");
	ck_refuses(t, "2001:db8::1");
	sl_host_tables_free(t);
}
END_TEST

/* An IPv4 prefix never admits an IPv6 source that starts with its bytes,
 * nor the other way round; IPv4 compares its 4 bytes only. */
START_TEST(test_families_apart)
{
	struct sl_host_tables *t = tables_with(SOURCES("192.0.2.10"));
	union sl_addr a;
	ck_assert_int_eq(sl_addr_parse("c000:20a::", &a), SL_AF_INET6); /* 192.0.2.10's bytes */
	ck_assert(!sl_host_tunnel_source_ok(t, SL_AF_INET6, &a));
	ck_assert(sl_host_tunnel_source_ok(t, SL_AF_INET, &a)); /* as IPv4: the first 4 bytes */
	a.u64[1] = ~0ull; /* past the IPv4 address: not looked at */
	ck_assert(sl_host_tunnel_source_ok(t, SL_AF_INET, &a));
	sl_host_tables_free(t);
	t = tables_with(SOURCES("c000:20a::/32"));
	ck_refuses(t, "192.0.2.10");
	ck_accepts(t, "c000:20a::1");
	sl_host_tables_free(t);
}
END_TEST

/* No list (a manager state without tunnel sources): nothing is taken. */
START_TEST(test_empty_refuses_all)
{
	struct sl_host_tables *t = tables_with(SOURCES("192.0.2.10"));
	ck_accepts(t, "192.0.2.10");
	sl_host_tables_free(t);
	struct sl_host_tables empty;
	memset(&empty, 0, sizeof(empty));
	union sl_addr zero;
	memset(&zero, 0, sizeof(zero));
	ck_assert(!ok(&empty, "192.0.2.10"));
	ck_assert(!ok(&empty, "2001:db8:2::10"));
	ck_assert(!sl_host_tunnel_source_ok(&empty, SL_AF_INET, &zero));
	ck_assert(!sl_host_tunnel_source_ok(&empty, SL_AF_INET6, &zero));
}
END_TEST

/* All 64 entries are scanned: the last one admits as the first does. */
START_TEST(test_full_list)
{
	char text[SL_MAX_TUNNEL_SOURCES][16];
	const char *list[SL_MAX_TUNNEL_SOURCES + 1] = { NULL };
	for (unsigned i = 0; i < SL_MAX_TUNNEL_SOURCES; i++) {
		snprintf(text[i], sizeof(text[i]), "198.51.100.%u", i + 1);
		list[i] = text[i];
	}
	struct sl_host_tables *t = tables_with(list);
	ck_assert_uint_eq(t->src4.n, SL_MAX_TUNNEL_SOURCES);
	ck_assert_uint_eq(t->src6.n, 0);
	ck_accepts(t, "198.51.100.1");
	ck_accepts(t, "198.51.100.64");
	ck_refuses(t, "198.51.100.65");
	ck_refuses(t, "198.51.100.0");
	sl_host_tables_free(t);
}
END_TEST

/* Against sl_prefix_contains, the control path's matcher: random sources
 * near random prefixes of every length agree. */
START_TEST(test_agrees_with_prefix_contains)
{
	srandom(7);
	for (int round = 0; round < 200; round++) {
		struct sl_spec spec;
		fx_init(&spec, SL_ROLE_HOST);
		struct sl_prefix *sources = spec.host.tunnel_sources;
		for (unsigned i = 0; i < 4; i++) {
			struct sl_prefix *p = &sources[i];
			p->family = (uint8_t)(random() & 1 ? SL_AF_INET : SL_AF_INET6);
			p->len = (uint8_t)(1 + random() % (p->family == SL_AF_INET ? 32 : 128));
			for (unsigned b = 0; b < (p->family == SL_AF_INET ? 4u : 16u); b++)
				p->addr.v6[b] = (uint8_t)random();
		}
		spec.host.nb_tunnel_sources = 4;
		char err[256];
		struct sl_host_tables *t = sl_host_tables_build(&spec, err, sizeof(err));
		ck_assert_msg(t != NULL, "%s", err);
		for (int k = 0; k < 200; k++) {
			const struct sl_prefix *near = &sources[random() % 4];
			union sl_addr src = near->addr;
			int family = near->family, bits = family == SL_AF_INET ? 32 : 128;
			src.v6[(unsigned)(random() % bits) / 8] ^= (uint8_t)(1u << (random() % 8));
			bool want = false;
			for (unsigned i = 0; i < 4; i++)
				want |= sources[i].family == family &&
					sl_prefix_contains(family, &sources[i].addr, sources[i].len, &src);
			ck_assert_msg(sl_host_tunnel_source_ok(t, family, &src) == want,
				      "round %d probe %d: want %d", round, k, want);
		}
		sl_host_tables_free(t);
	}
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("tunnel_sources");
	tcase_add_test(tc, test_host_prefixes);
	tcase_add_test(tc, test_networks);
	tcase_add_test(tc, test_shortest);
	tcase_add_test(tc, test_families_apart);
	tcase_add_test(tc, test_empty_refuses_all);
	tcase_add_test(tc, test_full_list);
	tcase_add_test(tc, test_agrees_with_prefix_contains);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(host_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
