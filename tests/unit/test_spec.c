/*
 * The data-plane spec: a file's every data-plane setting arrives in it
 * (sl_spec_from_config), and it owns its arrays (sl_spec_copy and
 * sl_spec_free, run under ASan and LeakSanitizer by the unit suite).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "packet/packet.h"
#include "spec/spec.h"
#include "spec_fixture.h"

/* ---- field-by-field equality: padding is never compared ---- */

static void ck_addr_eq(const union sl_addr *a, const union sl_addr *b)
{
	ck_assert(sl_addr_eq(a, b));
}

static void ck_port_eq(const struct sl_spec_port *a, const struct sl_spec_port *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_uint_eq(a->mtu, b->mtu);
	ck_assert_uint_eq(a->vlan, b->vlan);
	ck_assert_uint_eq(a->nb_addrs, b->nb_addrs);
	for (uint32_t i = 0; i < a->nb_addrs; i++)
		ck_assert(sl_prefix_eq(&a->addrs[i], &b->addrs[i]));
	ck_addr_eq(&a->gateway4, &b->gateway4);
	ck_addr_eq(&a->gateway6, &b->gateway6);
	ck_assert_uint_eq(a->nb_neigh, b->nb_neigh);
	for (uint32_t i = 0; i < a->nb_neigh; i++) {
		ck_addr_eq(&a->neigh[i].addr, &b->neigh[i].addr);
		ck_assert_uint_eq(a->neigh[i].family, b->neigh[i].family);
		ck_assert_mem_eq(a->neigh[i].mac, b->neigh[i].mac, 6);
	}
}

static void ck_service_eq(const struct sl_spec_service *a, const struct sl_spec_service *b)
{
	ck_assert_uint_eq(a->kind, b->kind);
	ck_assert_uint_eq(a->family, b->family);
	ck_assert_uint_eq(a->proto, b->proto);
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_addr_eq(&a->addr, &b->addr);
	ck_assert_uint_eq(a->nb_backends, b->nb_backends);
	for (uint32_t i = 0; i < a->nb_backends; i++) {
		ck_addr_eq(&a->backends[i].addr, &b->backends[i].addr);
		ck_addr_eq(&a->backends[i].host, &b->backends[i].host);
		ck_assert_uint_eq(a->backends[i].port, b->backends[i].port);
		ck_assert_uint_eq(a->backends[i].weight, b->backends[i].weight);
	}
}

static void ck_tunables_eq(const struct sl_spec *a, const struct sl_spec *b)
{
	ck_assert_uint_eq(a->mux.maglev_size, b->mux.maglev_size);
	ck_assert_uint_eq(a->mux.hash_seed, b->mux.hash_seed);
	ck_assert_uint_eq(a->mux.flow_capacity, b->mux.flow_capacity);
	ck_assert_uint_eq(a->mux.flow_idle_ms, b->mux.flow_idle_ms);
	ck_addr_eq(&a->mux.tunnel_src4, &b->mux.tunnel_src4);
	ck_addr_eq(&a->mux.tunnel_src6, &b->mux.tunnel_src6);
	ck_addr_eq(&a->host.addr4, &b->host.addr4);
	ck_addr_eq(&a->host.addr6, &b->host.addr6);
	ck_assert_int_eq(a->host.uplink_port, b->host.uplink_port);
	ck_assert_int_eq(a->host.backend_port, b->host.backend_port);
	ck_assert_uint_eq(a->host.conn_capacity, b->host.conn_capacity);
	ck_assert_uint_eq(a->host.conn_idle_ms, b->host.conn_idle_ms);
	ck_assert_uint_eq(a->host.nb_tunnel_sources, b->host.nb_tunnel_sources);
	for (uint32_t i = 0; i < a->host.nb_tunnel_sources; i++)
		ck_assert(sl_prefix_eq(&a->host.tunnel_sources[i], &b->host.tunnel_sources[i]));
	ck_assert_uint_eq(a->workers.burst, b->workers.burst);
	ck_assert_uint_eq(a->workers.idle_sleep_us, b->workers.idle_sleep_us);
}

static void ck_spec_eq(const struct sl_spec *a, const struct sl_spec *b)
{
	ck_assert_uint_eq(a->roles, b->roles);
	ck_assert_uint_eq(a->nb_ports, b->nb_ports);
	for (uint32_t p = 0; p < a->nb_ports; p++)
		ck_port_eq(&a->ports[p], &b->ports[p]);
	ck_assert_uint_eq(a->nb_services, b->nb_services);
	for (uint32_t v = 0; v < a->nb_services; v++)
		ck_service_eq(&a->services[v], &b->services[v]);
	ck_tunables_eq(a, b);
}

/* ---- the file's spec ---- */

/* Every data-plane setting, none at its default, and a manager group the
 * spec must not carry (nothing in the spec could hold it). */
static const char EVERYTHING[] =
	"sluice: { roles = [ \"mux\", \"host\" ];\n"
	" workers: { burst = 16; idle_sleep_us = 250; };\n"
	" ports = ( { name = \"fabric\"; device = \"net_null0\"; queues = 2; mtu = 1600; vlan = 7;\n"
	"   addresses = [ \"192.0.2.10/24\", \"2001:db8:2::10/64\" ];\n"
	"   gateway = \"192.0.2.1\"; gateway6 = \"2001:db8:2::1\";\n"
	"   neighbours = ( { address = \"192.0.2.99\"; mac = \"02:00:00:00:00:99\"; },\n"
	"                  { address = \"2001:db8:2::99\"; mac = \"02:00:00:00:00:98\"; } ); },\n"
	"  { name = \"backend\"; device = \"net_null1\"; mtu = 9000; addresses = [ \"198.18.1.1/24\" ]; } );\n"
	" mux: { maglev_size = 251; hash_seed = 0x0123456789abcdefL; flow_capacity = 4096;\n"
	"   flow_idle_timeout = 60; tunnel_source = \"192.0.2.10\"; tunnel_source6 = \"2001:db8:2::10\"; };\n"
	" host: { address = \"192.0.2.10\"; address6 = \"2001:db8:2::10\"; uplink = \"fabric\";\n"
	"   backend = \"backend\"; conn_capacity = 2048; conn_idle_timeout = 120;\n"
	"   tunnel_sources = [ \"192.0.2.10\", \"2001:db8:2::/64\" ]; };\n"
	" vips = ( { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80; dips = (\n"
	"     { address = \"198.18.1.2\"; port = 8080; host = \"192.0.2.10\"; weight = 7; },\n"
	"     { address = \"198.18.2.2\"; port = 8081; host = \"192.0.2.22\"; weight = 50; } ); },\n"
	"   { address = \"2001:db8:100::10\"; protocol = \"udp\"; port = 53; dips = (\n"
	"     { address = \"2001:db8:11::2\"; port = 5353; host = \"2001:db8:2::10\"; } ); },\n"
	"   { address = \"203.0.113.20\"; protocol = \"udp\"; port = 5353; dips = (); } );\n"
	" manager: { id = 1; data_dir = \"/tmp/sluice-test-spec\";\n"
	"   members = ( { id = 1; address = \"192.0.2.10:7000\"; api = \"https://192.0.2.10:8443\"; } );\n"
	"   api: { socket = \"/tmp/sluice-test-spec.sock\"; }; };\n"
	"};\n";

/* EVERYTHING, written as a spec. */
static void everything_spec(struct sl_spec *s)
{
	static const char *const fabric[] = { "192.0.2.10/24", "2001:db8:2::10/64", NULL };
	static const char *const backend[] = { "198.18.1.1/24", NULL };
	fx_init(s, SL_ROLE_MUX | SL_ROLE_HOST);
	s->workers = (struct sl_spec_workers){ .burst = 16, .idle_sleep_us = 250 };
	struct sl_spec_port *p = fx_port(s, "fabric", fabric);
	p->mtu = 1600;
	p->vlan = 7;
	fx_gateways(p, "192.0.2.1", "2001:db8:2::1");
	fx_neigh(p, "192.0.2.99", "02:00:00:00:00:99");
	fx_neigh(p, "2001:db8:2::99", "02:00:00:00:00:98");
	fx_port(s, "backend", backend)->mtu = 9000;
	s->mux = (struct sl_spec_mux){ .maglev_size = 251, .hash_seed = 0x0123456789abcdefull,
				       .flow_capacity = 4096, .flow_idle_ms = 60000 };
	fx_addr("192.0.2.10", &s->mux.tunnel_src4);
	fx_addr("2001:db8:2::10", &s->mux.tunnel_src6);
	fx_host(s, "192.0.2.10", "2001:db8:2::10", 0, 1);
	s->host.conn_capacity = 2048;
	s->host.conn_idle_ms = 120000;
	fx_tunnel_source(s, "192.0.2.10");
	fx_tunnel_source(s, "2001:db8:2::/64");
	struct sl_spec_service *v = fx_vip(s, "203.0.113.10", SL_PROTO_TCP, 80);
	fx_backend(v, "198.18.1.2", 8080, "192.0.2.10", 7);
	fx_backend(v, "198.18.2.2", 8081, "192.0.2.22", 50);
	v = fx_vip(s, "2001:db8:100::10", SL_PROTO_UDP, 53);
	fx_backend(v, "2001:db8:11::2", 5353, "2001:db8:2::10", 100);
	fx_vip(s, "203.0.113.20", SL_PROTO_UDP, 5353);
}

static void load(const char *text, struct sl_config *c)
{
	char err[512];
	ck_assert_msg(sl_config_load_string(text, "t.cfg", c, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(every_data_plane_setting_arrives)
{
	struct sl_config c;
	struct sl_spec got, want;
	load(EVERYTHING, &c);
	ck_assert(c.manager.enabled);
	ck_assert_int_eq(sl_spec_from_config(&c, &got), 0);
	everything_spec(&want);
	ck_spec_eq(&got, &want);
	/* Not the builder's defaults by accident: the file's values. */
	ck_assert_uint_ne(got.mux.hash_seed, SL_DEFAULT_HASH_SEED);
	ck_assert_uint_eq(got.services[0].backends[0].weight, 7);
	sl_spec_free(&got);
	sl_spec_free(&want);
	sl_config_free(&c);
}
END_TEST

/* What the file leaves out arrives as the file's defaults say. */
START_TEST(defaults_arrive_too)
{
	struct sl_config c;
	struct sl_spec got;
	load("sluice: { roles = [ \"mux\" ];"
	     " ports = ( { name = \"fabric\"; device = \"net_null0\"; addresses = [ \"192.0.2.10/24\" ]; } );"
	     " mux: { }; };",
	     &c);
	ck_assert_int_eq(sl_spec_from_config(&c, &got), 0);
	ck_assert_uint_eq(got.roles, SL_ROLE_MUX);
	ck_assert_uint_eq(got.mux.hash_seed, SL_DEFAULT_HASH_SEED);
	ck_assert_uint_eq(got.mux.maglev_size, c.maglev_size);
	ck_assert_uint_eq(got.workers.burst, c.burst);
	ck_assert_uint_eq(got.ports[0].mtu, 1500);
	ck_assert_int_eq(got.host.uplink_port, -1);
	ck_assert_int_eq(got.host.backend_port, -1);
	ck_assert_uint_eq(got.nb_services, 0);
	ck_assert_ptr_null(got.services);
	sl_spec_free(&got);
	sl_config_free(&c);
}
END_TEST

/* ---- ownership ---- */

START_TEST(copy_is_deep)
{
	struct sl_spec a, b;
	everything_spec(&a);
	ck_assert_int_eq(sl_spec_copy(&b, &a), 0);
	ck_spec_eq(&a, &b);
	ck_assert_ptr_ne(a.services, b.services);
	ck_assert_ptr_ne(a.services[0].backends, b.services[0].backends);
	ck_assert_ptr_null(b.services[2].backends); /* no backends: nothing allocated */
	b.services[0].backends[0].weight = 1;
	ck_assert_uint_eq(a.services[0].backends[0].weight, 7);
	/* The copy outlives the original: ASan sees any shared array. */
	sl_spec_free(&a);
	ck_assert_uint_eq(b.services[1].backends[0].port, 5353);
	sl_spec_free(&b);
}
END_TEST

START_TEST(free_empties_and_is_idempotent)
{
	struct sl_spec s;
	everything_spec(&s);
	sl_spec_free(&s);
	ck_assert_ptr_null(s.services);
	ck_assert_uint_eq(s.nb_services, 0);
	ck_assert_uint_eq(s.nb_ports, 0);
	sl_spec_free(&s);
	sl_spec_free(NULL);
	struct sl_spec empty, copy;
	memset(&empty, 0, sizeof(empty));
	ck_assert_int_eq(sl_spec_copy(&copy, &empty), 0);
	ck_assert_ptr_null(copy.services);
	sl_spec_free(&copy);
}
END_TEST

/* Re-allocating replaces what was there, freeing it (LeakSanitizer). */
START_TEST(alloc_replaces)
{
	struct sl_spec s;
	everything_spec(&s);
	ck_assert_int_eq(sl_spec_alloc_services(&s, 2), 0);
	ck_assert_uint_eq(s.nb_services, 2);
	ck_assert_ptr_null(s.services[0].backends);
	ck_assert_int_eq(sl_spec_alloc_backends(&s.services[1], 3), 0);
	ck_assert_uint_eq(s.services[1].nb_backends, 3);
	ck_assert_uint_eq(s.services[1].backends[2].weight, 0);
	ck_assert_int_eq(sl_spec_alloc_backends(&s.services[1], 0), 0);
	ck_assert_ptr_null(s.services[1].backends);
	ck_assert_int_eq(sl_spec_alloc_backends(&s.services[0], 1), 0);
	ck_assert_int_eq(sl_spec_alloc_services(&s, 0), 0);
	ck_assert_ptr_null(s.services);
	sl_spec_free(&s);
}
END_TEST

/* All backends in one block: freed once with the services, and a copy
 * owns its own arrays (ASan and LeakSanitizer see any mistake). */
START_TEST(backend_block_is_owned_once)
{
	struct sl_spec s, copy;
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(sl_spec_alloc_services(&s, 3), 0);
	ck_assert_int_eq(sl_spec_alloc_backend_block(&s, 3), 0);
	for (uint32_t i = 0; i < 3; i++)
		s.backend_block[i] = (struct sl_spec_backend){.port = (uint16_t)(80 + i), .weight = 1};
	s.services[0].backends = s.backend_block;
	s.services[0].nb_backends = 1;
	s.services[2].backends = s.backend_block + 1;
	s.services[2].nb_backends = 2;
	ck_assert_int_eq(sl_spec_copy(&copy, &s), 0);
	ck_assert_ptr_null(copy.backend_block);
	ck_assert_ptr_ne(copy.services[2].backends, s.services[2].backends);
	sl_spec_free(&s);
	ck_assert_ptr_null(s.backend_block);
	ck_assert_uint_eq(copy.services[2].backends[1].port, 82);
	/* re-allocating the services frees the block too */
	ck_assert_int_eq(sl_spec_alloc_backend_block(&s, 2), 0);
	ck_assert_int_eq(sl_spec_alloc_services(&s, 1), 0);
	ck_assert_ptr_null(s.backend_block);
	sl_spec_free(&s);
	sl_spec_free(&copy);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *from = tcase_create("from_config");
	tcase_add_test(from, every_data_plane_setting_arrives);
	tcase_add_test(from, defaults_arrive_too);
	suite_add_tcase(s, from);
	TCase *own = tcase_create("ownership");
	tcase_add_test(own, copy_is_deep);
	tcase_add_test(own, free_empties_and_is_idempotent);
	tcase_add_test(own, alloc_replaces);
	tcase_add_test(own, backend_block_is_owned_once);
	suite_add_tcase(s, own);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
