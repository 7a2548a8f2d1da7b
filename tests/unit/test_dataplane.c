/*
 * The worker's burst logic on real mbufs, without ports: frames built
 * here go in, and the frames queued for transmit, the exception ring and
 * the counters are checked.
 */
#include <arpa/inet.h>
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/retire.h"
#include "dataplane/snapshot.h"
#include "dataplane/worker.h"
#include "mux/mux.h"
#include "packet/packet.h"
#include "spec_fixture.h"

static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsbr;

static const uint8_t MAC_FABRIC[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t MAC_BACKEND[6] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t MAC_H1[6] = { 0x02, 0, 0, 0, 0, 0x21 };
static const uint8_t MAC_H2[6] = { 0x02, 0, 0, 0, 0, 0x22 };
static const uint8_t MAC_GW[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_DIP[6] = { 0x02, 0, 0, 0, 1, 0x02 };

enum { FABRIC = 0, BACKEND = 1 };

/* A DIP of the first VIP (port 8080). */
struct dip {
	const char *addr, *host;
	uint32_t weight;
};

static const struct dip DIP1 = { "198.18.1.2", "192.0.2.21", 100 };
static const struct dip DIP2 = { "198.18.2.2", "192.0.2.22", 100 };

/* Which instance the tables are for: a mux (its fabric port's VLAN
 * optional), a host agent (192.0.2.21), or both in one (DIP1's host is
 * this instance); the first VIP's DIPs vary, the other VIPs do not. */
struct preset {
	unsigned roles;
	const struct dip *dips[3]; /* NULL-terminated */
	uint16_t vlan;
};

#define MUX_SPEC_VLAN(vlan_id, ...) \
	(&(const struct preset){ SL_ROLE_MUX, { __VA_ARGS__, NULL }, vlan_id })
#define MUX_SPEC(...) MUX_SPEC_VLAN(0, __VA_ARGS__)
#define HOST_SPEC (&(const struct preset){ SL_ROLE_HOST, { &DIP1, &DIP2, NULL }, 0 })
#define BOTH_SPEC (&(const struct preset){ SL_ROLE_MUX | SL_ROLE_HOST, { &DIP1, NULL }, 0 })

static void add_vips(struct sl_spec *s, const struct dip *const *dips)
{
	struct sl_spec_service *v = fx_vip(s, "203.0.113.10", SL_PROTO_TCP, 80);
	for (; *dips != NULL; dips++)
		fx_backend(v, (*dips)->addr, 8080, (*dips)->host, (*dips)->weight);
	v = fx_vip(s, "2001:db8:100::10", SL_PROTO_TCP, 80);
	fx_backend(v, "2001:db8:11::2", 8080, "2001:db8:2::21", 100);
	fx_vip(s, "203.0.113.20", SL_PROTO_UDP, 53);
	v = fx_vip(s, "203.0.113.30", SL_PROTO_TCP, 80);
	fx_backend(v, "198.18.3.2", 80, "192.0.2.23", 100);
}

static void add_mux_port(struct sl_spec *s, uint16_t vlan)
{
	static const char *const addrs[] = { "192.0.2.10/24", "2001:db8:2::10/64", NULL };
	struct sl_spec_port *p = fx_port(s, "fabric", addrs);
	p->vlan = vlan;
	fx_gateways(p, "192.0.2.1", "2001:db8:2::1");
	fx_neigh(p, "192.0.2.21", "02:00:00:00:00:21");
	fx_neigh(p, "192.0.2.22", "02:00:00:00:00:22");
	fx_neigh(p, "2001:db8:2::21", "02:00:00:00:00:21");
	fx_neigh(p, "192.0.2.1", "02:00:00:00:00:01");
	fx_neigh(p, "2001:db8:2::1", "02:00:00:00:00:01");
}

/* The host agent's fabric and backend ports; v6_neighbours: the static
 * IPv6 gateway and DIP too (the combined instance resolves them). */
static void add_host_ports(struct sl_spec *s, bool v6_neighbours)
{
	static const char *const fabric[] = { "192.0.2.21/24", "2001:db8:2::21/64", NULL };
	static const char *const backend[] = { "198.18.1.1/24", "2001:db8:11::1/64", NULL };
	struct sl_spec_port *p = fx_port(s, "fabric", fabric);
	fx_gateways(p, "192.0.2.1", "2001:db8:2::1");
	fx_neigh(p, "192.0.2.1", "02:00:00:00:00:01");
	if (v6_neighbours)
		fx_neigh(p, "2001:db8:2::1", "02:00:00:00:00:01");
	p = fx_port(s, "backend", backend);
	fx_neigh(p, "198.18.1.2", "02:00:00:00:01:02");
	if (v6_neighbours)
		fx_neigh(p, "2001:db8:11::2", "02:00:00:00:01:02");
	fx_host(s, "192.0.2.21", "2001:db8:2::21", FABRIC, BACKEND);
	fx_tunnel_source(s, "192.0.2.10");
	fx_tunnel_source(s, "2001:db8:2::10");
}

static void spec_of(const struct preset *p, struct sl_spec *s)
{
	fx_init(s, p->roles);
	if (p->roles == SL_ROLE_MUX)
		add_mux_port(s, p->vlan);
	else
		add_host_ports(s, p->roles == SL_ROLE_HOST);
	add_vips(s, p->dips);
}

struct fixture {
	struct sl_tables *tables;
	struct sl_neigh_cache *cache;
	struct sl_neigh_table *neigh;
	struct sl_snapshot snap;
	struct sl_worker *w;
};

static const struct sl_port_hw test_hw[2] = { { .mac = { 0x02, 0, 0, 0, 0, 0x10 } },
					      { .mac = { 0x02, 0, 0, 0, 0, 0x11 } } };

/* Tables for a spec (taken over), built over prev (NULL: from scratch). */
static struct sl_tables *tables_of(struct sl_spec *spec, const struct sl_tables *prev)
{
	char err[512];
	struct sl_tables *t = sl_tables_build(spec, test_hw, prev, prev ? prev->generation + 1 : 1, err,
					      sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	return t;
}

/* Tables for a preset, built over prev (NULL: from scratch). */
static struct sl_tables *tables_over(const struct preset *p, const struct sl_tables *prev)
{
	struct sl_spec spec;
	spec_of(p, &spec);
	return tables_of(&spec, prev);
}

static struct sl_tables *tables_from(const struct preset *p)
{
	return tables_over(p, NULL);
}

START_TEST(device_mtu_caps_configured_mtu)
{
	/* A device that refused the configured MTU keeps its own; the data path
	 * must enforce that one, and a larger device MTU changes nothing. */
	const struct sl_port_hw hw[2] = { { .mac = { 2, 0, 0, 0, 0, 0x10 }, .mtu = 1400 },
					  { .mac = { 2, 0, 0, 0, 0, 0x11 }, .mtu = 9000 } };
	struct sl_spec spec;
	char err[512];
	spec_of(HOST_SPEC, &spec);
	struct sl_tables *t = sl_tables_build(&spec, hw, NULL, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->mtu[0], 1400);
	ck_assert_uint_eq(t->mtu[1], 1500);
	sl_tables_free(t);
}
END_TEST

static struct sl_flow_table *flow_table(const char *name)
{
	struct sl_flow_params p = { .name = name, .capacity = 1024, .nb_shards = 1, .qsbr = qsbr };
	struct sl_flow_table *t = sl_flow_create(&p);
	ck_assert_ptr_nonnull(t);
	return t;
}

static void fixture_init(struct fixture *f, const struct preset *spec)
{
	static unsigned seq;
	char name[32];
	memset(f, 0, sizeof(*f));
	f->tables = tables_from(spec);
	f->cache = sl_neigh_cache_create(&f->tables->local);
	f->neigh = sl_neigh_table_build(f->cache);
	f->snap = (struct sl_snapshot){ .tables = f->tables, .neigh = f->neigh };
	f->w = rte_zmalloc("w", sizeof(*f->w), 64);
	ck_assert_ptr_nonnull(f->w);
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		if (!f->tables->built[s] || sl_stages[s]->flows.name == NULL)
			continue;
		snprintf(name, sizeof(name), "%.20s%u", sl_stages[s]->flows.name, seq);
		f->w->flows[s] = flow_table(name);
	}
	snprintf(name, sizeof(name), "exc%u", seq);
	f->w->to_control = rte_ring_create(name, 64, 0, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "want%u", seq++);
	f->w->wants = rte_ring_create_elem(name, sizeof(struct sl_neigh_want), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	f->w->now_ms = 1000;
}

static void fixture_free(struct fixture *f)
{
	for (unsigned p = 0; p < SL_MAX_PORTS; p++)
		rte_pktmbuf_free_bulk(f->w->tx[p], f->w->nb_tx[p]);
	struct rte_mbuf *m;
	while (rte_ring_dequeue(f->w->to_control, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(f->w->to_control);
	rte_ring_free(f->w->wants);
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		sl_flow_free(f->w->flows[s]);
	rte_free(f->w);
	sl_neigh_table_free(f->neigh);
	sl_neigh_cache_free(f->cache);
	sl_tables_free(f->tables);
}

/* ---- frame building ---- */

struct flow {
	int family;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
};

static uint16_t l4_checksum(const uint8_t *ip, int family, uint8_t proto, const uint8_t *l4, uint16_t l4_len)
{
	uint32_t sum = 0;
	if (family == SL_AF_INET)
		sum = sl_csum_partial(ip + 12, 8, 0);
	else
		sum = sl_csum_partial(ip + 8, 32, 0);
	uint8_t tail[4] = { 0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
	sum = sl_csum_partial(tail, 4, sum);
	sum = sl_csum_partial(l4, l4_len, sum);
	uint16_t c = sl_csum_fold(sum);
	return c == 0 && proto == SL_PROTO_UDP ? 0xffff : c;
}

/* IP packet with a TCP/UDP header and `payload` bytes; returns its length. */
static uint16_t build_ip(uint8_t *ip, const struct flow *fl, uint16_t payload)
{
	union sl_addr s, d;
	ck_assert_int_eq(sl_addr_parse(fl->src, &s), fl->family);
	ck_assert_int_eq(sl_addr_parse(fl->dst, &d), fl->family);
	uint16_t l4_len = (uint16_t)((fl->proto == SL_PROTO_TCP ? 20 : 8) + payload);
	uint16_t hlen = fl->family == SL_AF_INET ? 20 : 40;
	uint8_t *l4 = ip + hlen;
	memset(ip, 0, hlen + l4_len);
	if (fl->family == SL_AF_INET) {
		uint16_t tot = htons((uint16_t)(hlen + l4_len));
		ip[0] = 0x45; memcpy(ip + 2, &tot, 2); ip[8] = 64; ip[9] = fl->proto;
		memcpy(ip + 12, &s.v4, 4); memcpy(ip + 16, &d.v4, 4);
		uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
		memcpy(ip + 10, &c, 2);
	} else {
		uint16_t pl = htons(l4_len);
		ip[0] = 0x60; memcpy(ip + 4, &pl, 2); ip[6] = fl->proto; ip[7] = 64;
		memcpy(ip + 8, s.v6, 16); memcpy(ip + 24, d.v6, 16);
	}
	uint16_t sp = htons(fl->sport), dp = htons(fl->dport);
	memcpy(l4, &sp, 2); memcpy(l4 + 2, &dp, 2);
	if (fl->proto == SL_PROTO_TCP) {
		l4[12] = 0x50; l4[13] = 0x02; l4[14] = 0xff;
	} else {
		uint16_t ul = htons(l4_len);
		memcpy(l4 + 4, &ul, 2);
	}
	for (uint16_t i = 0; i < payload; i++)
		l4[(fl->proto == SL_PROTO_TCP ? 20 : 8) + i] = (uint8_t)i;
	uint16_t c = l4_checksum(ip, fl->family, fl->proto, l4, l4_len);
	memcpy(l4 + (fl->proto == SL_PROTO_TCP ? 16 : 6), &c, 2);
	return (uint16_t)(hlen + l4_len);
}

static struct rte_mbuf *mbuf_of(const uint8_t *frame, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	ck_assert_ptr_nonnull(m);
	memcpy(rte_pktmbuf_append(m, len), frame, len);
	return m;
}

static struct rte_mbuf *frame_of(const uint8_t dmac[6], const struct flow *fl, uint16_t payload,
				 uint8_t *ip_copy, uint16_t *ip_len)
{
	uint8_t buf[2048];
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0xee };
	sl_pkt_write_eth(buf, dmac, src_mac, fl->family == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	uint16_t n = build_ip(buf + SL_ETH_HLEN, fl, payload);
	if (ip_copy)
		memcpy(ip_copy, buf + SL_ETH_HLEN, n);
	if (ip_len)
		*ip_len = n;
	return mbuf_of(buf, (uint16_t)(n + SL_ETH_HLEN));
}

static void run(struct fixture *f, uint16_t port, struct rte_mbuf *m)
{
	sl_worker_burst(f->w, &f->snap, port, &m, 1);
}

/* Non-zero counters and drops, for failure messages. */
static const char *counters_moved(const struct sl_worker *w)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = 0;
	for (unsigned c = 0; c < SL_C_MAX; c++)
		if (w->stats.c[c] && n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s=%lu ", sl_counter_name(c),
					      (unsigned long)w->stats.c[c]);
	for (unsigned d = 1; d < SL_DROP_MAX; d++)
		if (w->stats.drop[d] && n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "drop_%s=%lu ", sl_drop_name(d),
					      (unsigned long)w->stats.drop[d]);
	return buf;
}

static const uint8_t *only_tx(struct fixture *f, uint16_t port, struct sl_pkt_info *pi, uint32_t *len)
{
	ck_assert_msg(f->w->nb_tx[port] == 1, "expected one frame on port %u, have %u; counters: %s", port,
		      f->w->nb_tx[port], counters_moved(f->w));
	struct rte_mbuf *m = f->w->tx[port][0];
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	*len = rte_pktmbuf_data_len(m);
	ck_assert_int_eq(sl_pkt_parse(frame, *len, pi), SL_DROP_NONE);
	return frame;
}

static void clear_tx(struct fixture *f)
{
	for (unsigned p = 0; p < SL_MAX_PORTS; p++) {
		rte_pktmbuf_free_bulk(f->w->tx[p], f->w->nb_tx[p]);
		f->w->nb_tx[p] = 0;
	}
}

static const struct flow CLIENT4 = { SL_AF_INET, "198.51.100.2", "203.0.113.10", 40000, 80, SL_PROTO_TCP };
static const struct flow CLIENT6 = { SL_AF_INET6, "2001:db8:1::2", "2001:db8:100::10", 40000, 80, SL_PROTO_TCP };

/* ---- mux ---- */

static void check_encap(const uint8_t *frame, const struct sl_pkt_info *pi, const uint8_t *inner,
			uint16_t inner_len, const uint8_t dmac[6])
{
	ck_assert_mem_eq(frame, dmac, 6);
	ck_assert_mem_eq(frame + 6, MAC_FABRIC, 6);
	ck_assert_uint_eq(pi->proto, pi->family == SL_AF_INET ? SL_PROTO_IPIP : SL_PROTO_IPV6);
	ck_assert_uint_eq(pi->l3_len, inner_len + (pi->family == SL_AF_INET ? 20 : 40));
	ck_assert_mem_eq(frame + pi->l4_off, inner, inner_len);
}

START_TEST(mux_encapsulates_v4_to_the_dip_host)
{
	struct fixture f;
	uint8_t inner[2048];
	uint16_t inner_len;
	fixture_init(&f, MUX_SPEC(&DIP1, &DIP2));
	run(&f, FABRIC, frame_of(MAC_FABRIC, &CLIENT4, 100, inner, &inner_len));
	struct sl_pkt_info pi;
	uint32_t len;
	const uint8_t *frame = only_tx(&f, FABRIC, &pi, &len);
	char buf[64];
	sl_addr_format(SL_AF_INET, &pi.dst, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, "192.0.2.21") == 0 || strcmp(buf, "192.0.2.22") == 0, "outer dst %s", buf);
	check_encap(frame, &pi, inner, inner_len, strcmp(buf, "192.0.2.21") == 0 ? MAC_H1 : MAC_H2);
	sl_addr_format(SL_AF_INET, &pi.src, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.10");
	ck_assert_uint_eq(pi.ttl, 64);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_ENCAP], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_FLOW_NEW], 1);
	fixture_free(&f);
}
END_TEST

START_TEST(mux_encapsulates_v6_in_v6)
{
	struct fixture f;
	uint8_t inner[2048];
	uint16_t inner_len;
	fixture_init(&f, MUX_SPEC(&DIP1));
	run(&f, FABRIC, frame_of(MAC_FABRIC, &CLIENT6, 10, inner, &inner_len));
	struct sl_pkt_info pi;
	uint32_t len;
	const uint8_t *frame = only_tx(&f, FABRIC, &pi, &len);
	char buf[64];
	ck_assert_uint_eq(pi.family, SL_AF_INET6);
	ck_assert_str_eq(sl_addr_format(SL_AF_INET6, &pi.dst, buf, sizeof(buf)), "2001:db8:2::21");
	ck_assert_str_eq(sl_addr_format(SL_AF_INET6, &pi.src, buf, sizeof(buf)), "2001:db8:2::10");
	check_encap(frame, &pi, inner, inner_len, MAC_H1);
	fixture_free(&f);
}
END_TEST

/* Which host a client port goes to, through a fresh burst. */
static int host_of(struct fixture *f, uint16_t sport)
{
	struct flow fl = CLIENT4;
	fl.sport = sport;
	run(f, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL));
	struct sl_pkt_info pi;
	uint32_t len;
	only_tx(f, FABRIC, &pi, &len);
	clear_tx(f);
	return ((const uint8_t *)&pi.dst.v4)[3];
}

START_TEST(mux_spreads_flows_and_keeps_them_across_dip_removal)
{
	struct fixture f;
	int seen[256] = { 0 }, before[200];
	fixture_init(&f, MUX_SPEC(&DIP1, &DIP2));
	for (int i = 0; i < 200; i++) {
		before[i] = host_of(&f, (uint16_t)(10000 + i));
		seen[before[i]]++;
	}
	ck_assert_int_gt(seen[21], 40);
	ck_assert_int_gt(seen[22], 40);
	ck_assert_int_eq(seen[21] + seen[22], 200);
	/* Same flows again: the flow table answers, same hosts. */
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(host_of(&f, (uint16_t)(10000 + i)), before[i]);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_FLOW_HIT], 200);

	/* Remove DIP2: established flows keep their host, new ones all go to host 21. */
	struct sl_tables *old = f.tables;
	f.tables = tables_from(MUX_SPEC(&DIP1));
	f.snap.tables = f.tables;
	sl_tables_free(old);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(host_of(&f, (uint16_t)(10000 + i)), before[i]);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(host_of(&f, (uint16_t)(30000 + i)), 21);
	fixture_free(&f);
}
END_TEST

static void expect_drop(const struct preset *spec, uint16_t port, struct rte_mbuf *m, enum sl_drop why)
{
	struct fixture f;
	fixture_init(&f, spec);
	run(&f, port, m);
	for (unsigned p = 0; p < SL_MAX_PORTS; p++)
		ck_assert_uint_eq(f.w->nb_tx[p], 0);
	ck_assert_msg(f.w->stats.drop[why] == 1, "expected drop_%s; counters: %s", sl_drop_name(why),
		      counters_moved(f.w));
	fixture_free(&f);
}

START_TEST(mux_drops_by_reason)
{
	const struct preset *spec = MUX_SPEC(&DIP1);
	struct flow fl = CLIENT4;
	fl.dst = "203.0.113.99";
	expect_drop(spec, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL), SL_DROP_UNKNOWN_VIP);
	fl = CLIENT4;
	fl.dport = 81;
	expect_drop(spec, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL), SL_DROP_UNKNOWN_PORT);
	fl = CLIENT4;
	fl.dst = "203.0.113.20";
	fl.dport = 53;
	fl.proto = SL_PROTO_UDP;
	expect_drop(spec, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL), SL_DROP_NO_BACKEND);
	expect_drop(spec, FABRIC, frame_of(MAC_H1, &CLIENT4, 0, NULL, NULL), SL_DROP_OTHER_MAC);

	struct rte_mbuf *m = frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL);
	rte_pktmbuf_mtod(m, uint8_t *)[SL_ETH_HLEN + 9] = SL_PROTO_ICMP; /* checksum fixed below */
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + SL_ETH_HLEN;
	ip[10] = ip[11] = 0;
	uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	expect_drop(spec, FABRIC, m, SL_DROP_UNSUPPORTED_L4);

	m = frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL);
	rte_pktmbuf_mtod(m, uint8_t *)[SL_ETH_HLEN + 10] ^= 0xff;
	expect_drop(spec, FABRIC, m, SL_DROP_BAD_IP_CHECKSUM);

	m = frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL);
	rte_pktmbuf_trim(m, 30);
	expect_drop(spec, FABRIC, m, SL_DROP_TRUNCATED);

	m = frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL);
	rte_pktmbuf_mtod(m, uint8_t *)[12] = 0x88; /* ethertype 0x88cc (LLDP) */
	rte_pktmbuf_mtod(m, uint8_t *)[13] = 0xcc;
	expect_drop(spec, FABRIC, m, SL_DROP_NON_IP);
}
END_TEST

/* A packet that cannot be encapsulated within the MTU: dropped, and the
 * client hears from the VIP how much fits (PMTU discovery). */
static void check_too_big(const struct flow *fl, uint16_t payload, uint16_t want_mtu)
{
	struct fixture f;
	uint8_t orig[2048];
	uint16_t orig_len;
	struct sl_pkt_info pi, ipi;
	uint32_t len;
	char buf[64];
	fixture_init(&f, MUX_SPEC(&DIP1));
	run(&f, FABRIC, frame_of(MAC_FABRIC, fl, payload, orig, &orig_len));
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_TOO_BIG], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_TOO_BIG_SENT], 1);
	const uint8_t *frame = only_tx(&f, FABRIC, &pi, &len);
	ck_assert_mem_eq(frame, MAC_GW, 6);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.src, buf, sizeof(buf)), fl->dst);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, buf, sizeof(buf)), fl->src);
	const uint8_t *ip = frame + SL_ETH_HLEN;
	const uint8_t *icmp = frame + pi.l4_off;
	uint32_t icmp_len = pi.l3_len - (uint32_t)(pi.l4_off - pi.l3_off);
	uint32_t sum = sl_csum_partial(icmp, icmp_len, 0);
	if (pi.family == SL_AF_INET) {
		ck_assert_uint_eq(pi.proto, SL_PROTO_ICMP);
		ck_assert_uint_eq(icmp[0], 3);
		ck_assert_uint_eq(icmp[1], 4);
		ck_assert_uint_eq((unsigned)(icmp[6] << 8 | icmp[7]), want_mtu);
		ck_assert_uint_eq(icmp_len, 8 + 28); /* header + 8 bytes quoted */
	} else {
		ck_assert_uint_eq(pi.proto, SL_PROTO_ICMPV6);
		ck_assert_uint_eq(icmp[0], 2);
		ck_assert_uint_eq((unsigned)(icmp[6] << 8 | icmp[7]), want_mtu);
		ck_assert_uint_eq(icmp_len, 1280 - 40);
		uint8_t tail[8] = { 0, 0, (uint8_t)(icmp_len >> 8), (uint8_t)icmp_len, 0, 0, 0, SL_PROTO_ICMPV6 };
		sum = sl_csum_partial(ip + 8, 32, sl_csum_partial(tail, 8, sum));
	}
	ck_assert_uint_eq(sl_csum_fold(sum), 0); /* valid checksum sums to all ones */
	ck_assert_mem_eq(icmp + 8, orig, icmp_len - 8 < orig_len ? icmp_len - 8 : orig_len);
	ck_assert_int_eq(sl_pkt_parse_ip(icmp + 8, icmp_len - 8, fl->family, &ipi) == SL_DROP_NONE ||
			 icmp_len - 8 < orig_len, 1);
	/* The rate limit: a flood of too-big packets gets at most the burst. */
	clear_tx(&f);
	for (int i = 0; i < 300; i++) {
		run(&f, FABRIC, frame_of(MAC_FABRIC, fl, payload, NULL, NULL));
		clear_tx(&f); /* the lcore loop transmits after every burst */
	}
	ck_assert_uint_le(f.w->stats.c[SL_C_MUX_TOO_BIG_SENT], 100);
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_TOO_BIG], 301);
	fixture_free(&f);
}

START_TEST(mux_answers_too_big_with_icmp)
{
	check_too_big(&CLIENT4, 1500 - 40, 1480);
	check_too_big(&CLIENT6, 1500 - 60, 1460);
}
END_TEST

START_TEST(mux_asks_for_unresolved_next_hop)
{
	struct fixture f;
	struct flow fl = CLIENT4;
	fl.dst = "203.0.113.30";
	fixture_init(&f, MUX_SPEC(&DIP1));
	run(&f, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL));
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_NO_NEIGHBOUR], 1);
	struct sl_neigh_want want;
	ck_assert_int_eq(rte_ring_dequeue_elem(f.w->wants, &want, sizeof(want)), 0);
	char buf[64];
	ck_assert_str_eq(sl_addr_format((int)want.family, &want.addr, buf, sizeof(buf)), "192.0.2.23");
	fixture_free(&f);
}
END_TEST

/* Outer destination and destination MAC of every frame queued on port. */
static void check_each_frame_goes_to_its_host(struct fixture *f, uint16_t port, unsigned want)
{
	ck_assert_uint_eq(f->w->nb_tx[port], want);
	for (unsigned k = 0; k < f->w->nb_tx[port]; k++) {
		const uint8_t *frame = rte_pktmbuf_mtod(f->w->tx[port][k], const uint8_t *);
		struct sl_pkt_info pi;
		ck_assert_int_eq(sl_pkt_parse(frame, rte_pktmbuf_data_len(f->w->tx[port][k]), &pi), SL_DROP_NONE);
		uint8_t last = ((const uint8_t *)&pi.dst.v4)[3];
		ck_assert_msg(last == 21 || last == 22, "outer destination .%u", last);
		ck_assert_mem_eq(frame, last == 21 ? MAC_H1 : MAC_H2, 6);
	}
}

START_TEST(mux_routes_each_packet_of_a_burst_to_its_host)
{
	/* Next hops are remembered within a burst (sl_stage_route): each of
	 * a burst's packets must still leave for its own host. */
	struct fixture f;
	struct rte_mbuf *m[SL_BURST_MAX];
	fixture_init(&f, MUX_SPEC(&DIP1, &DIP2));
	for (unsigned k = 0; k < SL_BURST_MAX; k++) {
		struct flow fl = CLIENT4;
		fl.sport = (uint16_t)(20000 + k);
		m[k] = frame_of(MAC_FABRIC, &fl, 0, NULL, NULL);
	}
	sl_worker_burst(f.w, &f.snap, FABRIC, m, SL_BURST_MAX);
	check_each_frame_goes_to_its_host(&f, FABRIC, SL_BURST_MAX);
	fixture_free(&f);
}
END_TEST

/* An ARP reply from addr at mac to the mux (192.0.2.10 on MAC_FABRIC). */
static void learn(struct fixture *f, const char *addr, const uint8_t mac[6])
{
	uint8_t frame[42], out[SL_FRAME_MAX];
	union sl_addr a, mux;
	ck_assert_int_eq(sl_addr_parse(addr, &a), SL_AF_INET);
	ck_assert_int_eq(sl_addr_parse("192.0.2.10", &mux), SL_AF_INET);
	static const uint8_t arp_reply[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };
	sl_pkt_write_eth(frame, MAC_FABRIC, mac, SL_ETHERTYPE_ARP);
	memcpy(frame + 14, arp_reply, 8);
	memcpy(frame + 22, mac, 6);
	memcpy(frame + 28, &a.v4, 4);
	memcpy(frame + 32, MAC_FABRIC, 6);
	memcpy(frame + 38, &mux.v4, 4);
	bool changed = false;
	sl_neigh_input(f->cache, FABRIC, frame, sizeof(frame), out, &changed, 1000);
	ck_assert(changed);
	sl_neigh_table_free(f->neigh);
	f->neigh = sl_neigh_table_build(f->cache);
	f->snap.neigh = f->neigh;
}

START_TEST(mux_forgets_next_hops_between_bursts)
{
	/* A next hop remembered in one burst is not used in the next, when
	 * the snapshot may hold another table (here: the host's new MAC). */
	static const uint8_t first[6] = { 0x02, 0, 0, 0, 0, 0x31 }, second[6] = { 0x02, 0, 0, 0, 0, 0x32 };
	struct fixture f;
	struct flow fl = CLIENT4;
	fl.dst = "203.0.113.30"; /* its DIP's host, 192.0.2.23, is no static neighbour */
	fixture_init(&f, MUX_SPEC(&DIP1));
	const uint8_t *const macs[2] = { first, second };
	for (unsigned i = 0; i < 2; i++) {
		learn(&f, "192.0.2.23", macs[i]);
		run(&f, FABRIC, frame_of(MAC_FABRIC, &fl, 0, NULL, NULL));
		struct sl_pkt_info pi;
		uint32_t len;
		const uint8_t *frame = only_tx(&f, FABRIC, &pi, &len);
		ck_assert_mem_eq(frame, macs[i], 6);
		clear_tx(&f);
	}
	fixture_free(&f);
}
END_TEST

START_TEST(arp_goes_to_the_control_thread)
{
	struct fixture f;
	uint8_t arp[60] = { 0 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	sl_pkt_write_eth(arp, bcast, MAC_GW, SL_ETHERTYPE_ARP);
	static const uint8_t body[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(arp + 14, body, 8);
	fixture_init(&f, MUX_SPEC(&DIP1));
	run(&f, FABRIC, mbuf_of(arp, sizeof(arp)));
	ck_assert_uint_eq(rte_ring_count(f.w->to_control), 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_EXCEPTION], 1);
	fixture_free(&f);
}
END_TEST

static struct rte_mbuf *eth_of(const uint8_t dmac[6], int family, const uint8_t *ip, uint16_t n);

/* A ping flood to our address is cut in the worker (ARP and ND share the
 * control ring): a burst of 100, then 1000/s. Echo replies are not limited. */
START_TEST(echo_requests_to_us_are_rate_limited)
{
	struct fixture f;
	uint8_t ip[64] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, SL_PROTO_ICMP, 0, 0,
			   198, 51, 100, 2, 192, 0, 2, 10, 8, 0, 0, 0, 0, 1, 0, 1 };
	uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	c = sl_csum_fold(sl_csum_partial(ip + 20, 8, 0));
	memcpy(ip + 22, &c, 2);
	fixture_init(&f, MUX_SPEC(&DIP1));
	for (int i = 0; i < 150; i++) {
		struct rte_mbuf *m;
		run(&f, FABRIC, eth_of(MAC_FABRIC, SL_AF_INET, ip, 28));
		while (rte_ring_dequeue(f.w->to_control, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	ck_assert_msg(f.w->stats.c[SL_C_EXCEPTION] == 100, "%s", counters_moved(f.w));
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_ECHO_RATE_LIMITED], 50);
	f.w->now_ms += 10;
	run(&f, FABRIC, eth_of(MAC_FABRIC, SL_AF_INET, ip, 28));
	ck_assert_uint_eq(f.w->stats.c[SL_C_EXCEPTION], 101);
	fixture_free(&f);
}
END_TEST

/* ---- exception path (lib/exception): our own addresses ---- */

/* A mux whose fabric port has a kernel interface, its ring of `size`. */
static void kernel_fixture(struct fixture *f, unsigned size)
{
	static unsigned seq;
	char name[32];
	fixture_init(f, MUX_SPEC(&DIP1));
	snprintf(name, sizeof(name), "kernel%u", seq++);
	f->w->to_kernel = rte_ring_create(name, size, 0, RING_F_SC_DEQ);
	ck_assert_ptr_nonnull(f->w->to_kernel);
	f->w->kernel_gate = (struct sl_exc_gate){ .ports = 1u << FABRIC, .rate = 10000, .burst = 1000 };
}

static void kernel_fixture_free(struct fixture *f)
{
	struct rte_mbuf *m;
	while (rte_ring_dequeue(f->w->to_kernel, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(f->w->to_kernel);
	fixture_free(f);
}

static const struct flow TO_MUX4 = { SL_AF_INET, "198.51.100.2", "192.0.2.10", 40000, 179, SL_PROTO_TCP };
static const struct flow TO_MUX6 = { SL_AF_INET6, "2001:db8:1::2", "2001:db8:2::10", 40000, 53, SL_PROTO_UDP };

START_TEST(own_address_traffic_goes_to_the_kernel_ring)
{
	struct fixture f;
	kernel_fixture(&f, 64);
	run(&f, FABRIC, frame_of(MAC_FABRIC, &TO_MUX4, 10, NULL, NULL));
	run(&f, FABRIC, frame_of(MAC_FABRIC, &TO_MUX6, 10, NULL, NULL));
	ck_assert_msg(f.w->stats.c[SL_C_TO_KERNEL] == 2, "counters: %s", counters_moved(f.w));
	ck_assert_uint_eq(rte_ring_count(f.w->to_kernel), 2);
	ck_assert_uint_eq(rte_ring_count(f.w->to_control), 0);
	struct rte_mbuf *m;
	ck_assert_int_eq(rte_ring_dequeue(f.w->to_kernel, (void **)&m), 0);
	ck_assert_uint_eq(m->port, FABRIC);
	rte_pktmbuf_free(m);
	kernel_fixture_free(&f);
}
END_TEST

START_TEST(own_address_traffic_without_kernel_interface_is_dropped)
{
	expect_drop(MUX_SPEC(&DIP1), FABRIC, frame_of(MAC_FABRIC, &TO_MUX4, 0, NULL, NULL), SL_DROP_KERNEL_OFF);
}
END_TEST

START_TEST(own_address_flood_is_rate_limited_and_vip_traffic_flows)
{
	struct fixture f;
	struct rte_mbuf *burst[32];
	kernel_fixture(&f, 2048);
	for (unsigned b = 0; b < 47; b++) { /* 1504 frames within one millisecond */
		for (unsigned i = 0; i < 32; i++)
			burst[i] = frame_of(MAC_FABRIC, &TO_MUX4, 0, NULL, NULL);
		sl_worker_burst(f.w, &f.snap, FABRIC, burst, 32);
	}
	ck_assert_uint_eq(f.w->stats.c[SL_C_TO_KERNEL], 1000); /* the burst */
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_KERNEL_RATE_LIMITED], 1504 - 1000);
	f.w->now_ms++;
	for (unsigned i = 0; i < 32; i++)
		burst[i] = frame_of(MAC_FABRIC, &TO_MUX4, 0, NULL, NULL);
	burst[31] = frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL);
	sl_worker_burst(f.w, &f.snap, FABRIC, burst, 32);
	ck_assert_uint_eq(f.w->stats.c[SL_C_TO_KERNEL], 1000 + 10); /* and 10,000/s for 1 ms */
	ck_assert_msg(f.w->stats.c[SL_C_MUX_ENCAP] == 1, "VIP frame not forwarded; counters: %s",
		      counters_moved(f.w));
	kernel_fixture_free(&f);
}
END_TEST

/* ---- what no router forwards (issue 9) ---- */

/* Give a frame an 802.1Q tag with VLAN ID vid after its MAC addresses. */
static struct rte_mbuf *tagged(struct rte_mbuf *m, uint16_t vid)
{
	uint8_t *eth = (uint8_t *)rte_pktmbuf_prepend(m, SL_VLAN_HLEN);
	ck_assert_ptr_nonnull(eth);
	memmove(eth, eth + SL_VLAN_HLEN, 12);
	uint8_t tag[4] = { 0x81, 0x00, (uint8_t)(vid >> 8), (uint8_t)vid };
	memcpy(eth + 12, tag, 4);
	return m;
}

static struct rte_mbuf *client_from(const uint8_t dmac[6], const struct flow *base, const char *src)
{
	struct flow fl = *base;
	fl.src = src;
	return frame_of(dmac, &fl, 0, NULL, NULL);
}

/* The frame is forwarded (encapsulated once) by a mux built from spec. */
static void expect_encap(const struct preset *spec, struct rte_mbuf *m)
{
	struct fixture f;
	fixture_init(&f, spec);
	run(&f, FABRIC, m);
	ck_assert_msg(f.w->stats.c[SL_C_MUX_ENCAP] == 1, "not forwarded; counters: %s", counters_moved(f.w));
	fixture_free(&f);
}

START_TEST(mux_refuses_l2_group_frames)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast4[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t mcast6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
	const struct preset *spec = MUX_SPEC(&DIP1);
	expect_drop(spec, FABRIC, frame_of(bcast, &CLIENT4, 0, NULL, NULL), SL_DROP_L2_MULTICAST);
	expect_drop(spec, FABRIC, frame_of(mcast4, &CLIENT4, 0, NULL, NULL), SL_DROP_L2_MULTICAST);
	expect_drop(spec, FABRIC, frame_of(mcast6, &CLIENT6, 0, NULL, NULL), SL_DROP_L2_MULTICAST);
}
END_TEST

START_TEST(mux_refuses_martian_sources)
{
	static const char *const v4[] = { "0.0.0.0", "0.9.9.9", "127.0.0.1", "255.255.255.255", "224.0.0.1" };
	static const char *const v6[] = { "::", "::1", "::ffff:198.51.100.2", "ff02::1" };
	const struct preset *spec = MUX_SPEC(&DIP1);
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		expect_drop(spec, FABRIC, client_from(MAC_FABRIC, &CLIENT4, v4[i]), SL_DROP_MARTIAN_SRC);
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
		expect_drop(spec, FABRIC, client_from(MAC_FABRIC, &CLIENT6, v6[i]), SL_DROP_MARTIAN_SRC);
	/* From the VIP itself: the backend's answer would loop back to us. */
	expect_drop(spec, FABRIC, client_from(MAC_FABRIC, &CLIENT4, CLIENT4.dst), SL_DROP_SRC_IS_DST);
	expect_drop(spec, FABRIC, client_from(MAC_FABRIC, &CLIENT6, CLIENT6.dst), SL_DROP_SRC_IS_DST);
	expect_encap(spec, client_from(MAC_FABRIC, &CLIENT4, "240.0.0.1")); /* class E: allowed */
}
END_TEST

START_TEST(mux_takes_only_its_vlan)
{
	const struct preset *none = MUX_SPEC(&DIP1);
	const struct preset *seven = MUX_SPEC_VLAN(7, &DIP1);
	expect_drop(none, FABRIC, tagged(frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL), 7), SL_DROP_WRONG_VLAN);
	expect_drop(seven, FABRIC, tagged(frame_of(MAC_FABRIC, &CLIENT6, 0, NULL, NULL), 8), SL_DROP_WRONG_VLAN);
	expect_encap(seven, tagged(frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL), 7));
	expect_encap(seven, frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL));
	expect_encap(none, tagged(frame_of(MAC_FABRIC, &CLIENT4, 0, NULL, NULL), 0)); /* priority tag */
}
END_TEST

/* ---- host agent ---- */

/* The IP packet inner (n bytes) in an outer header of family fam, mux to host1. */
static struct rte_mbuf *tunnel_bytes(int fam, const uint8_t *inner, uint16_t n)
{
	uint8_t buf[2048];
	union sl_addr mux, host;
	uint8_t proto = (inner[0] >> 4) == 4 ? SL_PROTO_IPIP : SL_PROTO_IPV6;
	sl_addr_parse(fam == SL_AF_INET ? "192.0.2.10" : "2001:db8:2::10", &mux);
	sl_addr_parse(fam == SL_AF_INET ? "192.0.2.21" : "2001:db8:2::21", &host);
	uint16_t olen = fam == SL_AF_INET ? 20 : 40;
	memcpy(buf + SL_ETH_HLEN + olen, inner, n);
	sl_pkt_write_eth(buf, MAC_FABRIC, MAC_GW, fam == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	if (fam == SL_AF_INET)
		sl_pkt_write_outer_ipv4(buf + SL_ETH_HLEN, mux.v4, host.v4, n, 0, 64, proto);
	else
		sl_pkt_write_outer_ipv6(buf + SL_ETH_HLEN, mux.v6, host.v6, n, 0, 1, 64, proto);
	return mbuf_of(buf, (uint16_t)(SL_ETH_HLEN + olen + n));
}

/* inner_fl's packet in an outer header of family fam, mux to host1. */
static struct rte_mbuf *tunnel_in(int fam, const struct flow *inner_fl, uint16_t payload, bool corrupt_l4)
{
	uint8_t ip[2048];
	uint16_t n = build_ip(ip, inner_fl, payload);
	if (corrupt_l4)
		ip[n - 1] ^= 0x5a;
	return tunnel_bytes(fam, ip, n);
}

static struct rte_mbuf *tunnel_of(const struct flow *inner_fl, uint16_t payload, bool corrupt_l4)
{
	return tunnel_in(inner_fl->family, inner_fl, payload, corrupt_l4);
}

static void host_round_trip(const struct flow *client, const char *dip, const char *vip)
{
	struct fixture f;
	struct sl_pkt_info pi;
	uint32_t len;
	char buf[64];
	fixture_init(&f, HOST_SPEC);

	run(&f, FABRIC, tunnel_of(client, 33, false));
	const uint8_t *frame = only_tx(&f, BACKEND, &pi, &len);
	ck_assert_mem_eq(frame, MAC_DIP, 6);
	ck_assert_mem_eq(frame + 6, MAC_BACKEND, 6);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, buf, sizeof(buf)), dip);
	ck_assert_uint_eq(pi.dport, 8080);
	ck_assert_uint_eq(pi.sport, client->sport);
	ck_assert_uint_eq(pi.ttl, 63);
	struct sl_pkt_info ipi;
	ck_assert_int_eq(sl_pkt_parse_ip(frame + SL_ETH_HLEN, len - SL_ETH_HLEN, pi.family, &ipi), SL_DROP_NONE);
	ck_assert(sl_pkt_l4_checksum_ok(frame + SL_ETH_HLEN, &ipi));
	clear_tx(&f);

	/* The DIP answers; the reply leaves as the VIP towards the gateway. */
	struct flow reply = { client->family, dip, client->src, 8080, client->sport, client->proto };
	run(&f, BACKEND, frame_of(MAC_BACKEND, &reply, 5, NULL, NULL));
	frame = only_tx(&f, FABRIC, &pi, &len);
	ck_assert_mem_eq(frame, MAC_GW, 6);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.src, buf, sizeof(buf)), vip);
	ck_assert_uint_eq(pi.sport, 80);
	ck_assert_int_eq(sl_pkt_parse_ip(frame + SL_ETH_HLEN, len - SL_ETH_HLEN, pi.family, &ipi), SL_DROP_NONE);
	ck_assert(sl_pkt_l4_checksum_ok(frame + SL_ETH_HLEN, &ipi));
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_DECAP], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_TO_DIP], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_REPLY], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_CONN_NEW], 1);
	fixture_free(&f);
}

START_TEST(host_translates_both_directions_v4)
{
	host_round_trip(&CLIENT4, "198.18.1.2", "203.0.113.10");
}
END_TEST

START_TEST(host_translates_both_directions_v6)
{
	host_round_trip(&CLIENT6, "2001:db8:11::2", "2001:db8:100::10");
}
END_TEST

START_TEST(host_drops_bad_l4_checksum_and_strays)
{
	expect_drop(HOST_SPEC, FABRIC, tunnel_of(&CLIENT4, 10, true), SL_DROP_BAD_L4_CHECKSUM);
	struct flow stray = { SL_AF_INET, "198.18.1.2", "198.51.100.2", 8080, 40000, SL_PROTO_TCP };
	expect_drop(HOST_SPEC, BACKEND, frame_of(MAC_BACKEND, &stray, 0, NULL, NULL), SL_DROP_NO_CONNECTION);
	struct flow other = CLIENT4;
	other.dst = "203.0.113.99";
	expect_drop(HOST_SPEC, FABRIC, tunnel_of(&other, 0, false), SL_DROP_UNKNOWN_VIP);
}
END_TEST

/* Martian or self-addressed inner packets, group frames and stray replies
 * to martian clients: the host agent forwards none of them either. */
START_TEST(host_refuses_what_no_router_forwards)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct flow fl = CLIENT4;
	fl.src = "127.0.0.1";
	expect_drop(HOST_SPEC, FABRIC, tunnel_of(&fl, 0, false), SL_DROP_MARTIAN_SRC);
	fl = CLIENT6;
	fl.src = CLIENT6.dst;
	expect_drop(HOST_SPEC, FABRIC, tunnel_of(&fl, 0, false), SL_DROP_SRC_IS_DST);
	struct rte_mbuf *m = tunnel_of(&CLIENT4, 0, false);
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), bcast, 6);
	expect_drop(HOST_SPEC, FABRIC, m, SL_DROP_L2_MULTICAST);
	expect_drop(HOST_SPEC, FABRIC, tagged(tunnel_of(&CLIENT4, 0, false), 3), SL_DROP_WRONG_VLAN);
	struct flow reply = { SL_AF_INET, "198.18.1.2", "255.255.255.255", 8080, 40000, SL_PROTO_TCP };
	expect_drop(HOST_SPEC, BACKEND, frame_of(MAC_BACKEND, &reply, 0, NULL, NULL), SL_DROP_MARTIAN_DST);
}
END_TEST

/* IPv6 in IPv4 and IPv4 in IPv6: well formed inside, never ours (issue 9). */
START_TEST(host_drops_cross_family_tunnels)
{
	expect_drop(HOST_SPEC, FABRIC, tunnel_in(SL_AF_INET, &CLIENT6, 10, false), SL_DROP_BAD_TUNNEL);
	expect_drop(HOST_SPEC, FABRIC, tunnel_in(SL_AF_INET6, &CLIENT4, 10, false), SL_DROP_BAD_TUNNEL);
}
END_TEST

/* Tunnels only from host.tunnel_sources (the muxes), issue 9. */
START_TEST(host_takes_tunnels_only_from_mux_sources)
{
	struct rte_mbuf *m = tunnel_of(&CLIENT4, 10, false);
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + SL_ETH_HLEN;
	ip[15] = 11; /* 192.0.2.11: on the fabric, not a mux */
	ip[10] = ip[11] = 0;
	uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	expect_drop(HOST_SPEC, FABRIC, m, SL_DROP_BAD_TUNNEL_SOURCE);
	m = tunnel_of(&CLIENT6, 10, false);
	rte_pktmbuf_mtod(m, uint8_t *)[SL_ETH_HLEN + 23] = 0x11; /* 2001:db8:2::11 */
	expect_drop(HOST_SPEC, FABRIC, m, SL_DROP_BAD_TUNNEL_SOURCE);
}
END_TEST

/* A burst's tunnels share the source check's memo: an allowed source
 * before or after a refused one changes nothing for either. */
START_TEST(host_checks_the_source_of_every_tunnel_of_a_burst)
{
	struct fixture f;
	fixture_init(&f, HOST_SPEC);
	struct rte_mbuf *burst[3] = { tunnel_of(&CLIENT4, 10, false), tunnel_of(&CLIENT4, 11, false),
				      tunnel_of(&CLIENT4, 12, false) };
	uint8_t *ip = rte_pktmbuf_mtod(burst[1], uint8_t *) + SL_ETH_HLEN;
	ip[15] = 11; /* 192.0.2.11: on the fabric, not a mux */
	ip[10] = ip[11] = 0;
	uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	sl_worker_burst(f.w, &f.snap, FABRIC, burst, 3);
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_BAD_TUNNEL_SOURCE], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_DECAP], 2);
	ck_assert_uint_eq(f.w->nb_tx[BACKEND], 2);
	fixture_free(&f);
}
END_TEST

START_TEST(mux_and_host_in_one_instance_skip_the_wire)
{
	struct fixture f;
	struct sl_pkt_info pi;
	uint32_t len;
	char buf[64];
	fixture_init(&f, BOTH_SPEC);
	run(&f, FABRIC, frame_of(MAC_FABRIC, &CLIENT4, 20, NULL, NULL));
	const uint8_t *frame = only_tx(&f, BACKEND, &pi, &len);
	ck_assert_mem_eq(frame, MAC_DIP, 6);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, buf, sizeof(buf)), "198.18.1.2");
	ck_assert_uint_eq(pi.dport, 8080);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_ENCAP], 0);
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_FLOW_NEW], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_TO_DIP], 1);
	fixture_free(&f);
}
END_TEST

/* ---- ICMP errors (issue 9) ---- */

/* An ICMP error from src to dst quoting the first quote_len bytes of
 * quoted's packet (v4 destination unreachable / fragmentation needed, v6
 * packet too big). Writes the IP packet at ip; returns its length. */
static uint16_t build_icmp_error(uint8_t *ip, int family, const char *src, const char *dst,
				 const struct flow *quoted, uint16_t quote_len)
{
	uint8_t orig[2048];
	uint16_t olen = build_ip(orig, quoted, 100);
	if (quote_len > olen)
		quote_len = olen;
	union sl_addr s, d;
	ck_assert_int_eq(sl_addr_parse(src, &s), family);
	ck_assert_int_eq(sl_addr_parse(dst, &d), family);
	uint16_t hlen = family == SL_AF_INET ? 20 : 40, icmp_len = (uint16_t)(8 + quote_len);
	uint8_t *icmp = ip + hlen;
	memset(ip, 0, (size_t)hlen + 8);
	if (family == SL_AF_INET) {
		uint16_t tot = htons((uint16_t)(hlen + icmp_len));
		ip[0] = 0x45; memcpy(ip + 2, &tot, 2); ip[8] = 64; ip[9] = SL_PROTO_ICMP;
		memcpy(ip + 12, &s.v4, 4); memcpy(ip + 16, &d.v4, 4);
		uint16_t c = sl_csum_fold(sl_csum_partial(ip, 20, 0));
		memcpy(ip + 10, &c, 2);
		icmp[0] = 3; icmp[1] = 4; icmp[6] = 1300 >> 8; icmp[7] = 1300 & 0xff;
	} else {
		uint16_t pl = htons(icmp_len);
		ip[0] = 0x60; memcpy(ip + 4, &pl, 2); ip[6] = SL_PROTO_ICMPV6; ip[7] = 64;
		memcpy(ip + 8, s.v6, 16); memcpy(ip + 24, d.v6, 16);
		icmp[0] = 2; icmp[6] = 1300 >> 8; icmp[7] = 1300 & 0xff;
	}
	memcpy(icmp + 8, orig, quote_len);
	uint16_t c = family == SL_AF_INET ? sl_csum_fold(sl_csum_partial(icmp, icmp_len, 0))
					  : l4_checksum(ip, family, SL_PROTO_ICMPV6, icmp, icmp_len);
	memcpy(icmp + 2, &c, 2);
	return (uint16_t)(hlen + icmp_len);
}

static struct rte_mbuf *eth_of(const uint8_t dmac[6], int family, const uint8_t *ip, uint16_t n)
{
	uint8_t buf[2048];
	sl_pkt_write_eth(buf, dmac, MAC_GW, family == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	memcpy(buf + SL_ETH_HLEN, ip, n);
	return mbuf_of(buf, (uint16_t)(SL_ETH_HLEN + n));
}

/* The router's error about the VIP's packet to the client of fl. */
static uint16_t error_to_vip(uint8_t *ip, const struct flow *fl, uint16_t quote_len)
{
	struct flow back = { fl->family, fl->dst, fl->src, fl->dport, fl->sport, fl->proto };
	return build_icmp_error(ip, fl->family, fl->family == SL_AF_INET ? "192.0.2.1" : "2001:db8:2::1",
				fl->dst, &back, quote_len);
}

static struct rte_mbuf *error_frame_to_vip(const struct flow *fl, uint16_t quote_len, uint8_t *ip, uint16_t *n)
{
	uint8_t tmp[2048];
	uint8_t *p = ip != NULL ? ip : tmp;
	uint16_t len = error_to_vip(p, fl, quote_len);
	if (n != NULL)
		*n = len;
	return eth_of(MAC_FABRIC, fl->family, p, len);
}

static const uint8_t *mac_of_host(const struct sl_pkt_info *pi)
{
	char a[64];
	sl_addr_format(pi->family, &pi->dst, a, sizeof(a));
	return strcmp(a, "192.0.2.21") == 0 || strcmp(a, "2001:db8:2::21") == 0 ? MAC_H1 : MAC_H2;
}

/* Relay one error about fl; returns the host it was tunnelled to. */
static union sl_addr relay_error(struct fixture *f, const struct flow *fl)
{
	struct sl_pkt_info pi;
	uint32_t len;
	uint8_t ip[2048];
	uint16_t n;
	uint64_t new_flows = f->w->stats.c[SL_C_MUX_FLOW_NEW];
	run(f, FABRIC, error_frame_to_vip(fl, 48, ip, &n));
	const uint8_t *frame = only_tx(f, FABRIC, &pi, &len);
	check_encap(frame, &pi, ip, n, mac_of_host(&pi));
	ck_assert_uint_eq(f->w->stats.c[SL_C_MUX_FLOW_NEW], new_flows); /* an error opens no flow */
	clear_tx(f);
	return pi.dst;
}

/* The host a packet of fl goes to (opening its flow). */
static union sl_addr flow_host(struct fixture *f, const struct flow *fl)
{
	struct sl_pkt_info pi;
	uint32_t len;
	run(f, FABRIC, frame_of(MAC_FABRIC, fl, 0, NULL, NULL));
	only_tx(f, FABRIC, &pi, &len);
	clear_tx(f);
	return pi.dst;
}

/* The mux tunnels an error about a flow, unchanged, to that flow's host:
 * Maglev's choice while it has no entry, the entry's host once it has
 * one, even when Maglev would now choose another. */
static void mux_relays_error(const struct flow *fl)
{
	struct fixture f;
	fixture_init(&f, MUX_SPEC(&DIP1, &DIP2));
	union sl_addr before_flow = relay_error(&f, fl);
	union sl_addr host = flow_host(&f, fl);
	ck_assert(sl_addr_eq(&before_flow, &host));
	/* Move every new flow elsewhere: the flow's errors follow the flow. */
	struct sl_tables *old = f.tables;
	bool on_21 = fl->family == SL_AF_INET && ((const uint8_t *)&host.v4)[3] == 21;
	const struct preset *other = on_21 ? MUX_SPEC(&DIP2) : MUX_SPEC(&DIP1);
	f.tables = tables_from(other);
	f.snap.tables = f.tables;
	sl_tables_free(old);
	union sl_addr after = relay_error(&f, fl);
	ck_assert(sl_addr_eq(&after, &host));
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_ICMP_RELAYED], 2);
	fixture_free(&f);
}

START_TEST(mux_relays_icmp_errors_by_the_quoted_flow_v4)
{
	mux_relays_error(&CLIENT4);
}
END_TEST

START_TEST(mux_relays_icmp_errors_by_the_quoted_flow_v6)
{
	mux_relays_error(&CLIENT6);
}
END_TEST

START_TEST(mux_drops_icmp_errors_by_reason)
{
	const struct preset *spec = MUX_SPEC(&DIP1);
	uint8_t ip[2048];
	struct flow fl = CLIENT4;
	expect_drop(spec, FABRIC, error_frame_to_vip(&fl, 20 + 7, NULL, NULL), SL_DROP_ICMP_BAD_QUOTE);
	fl.dport = 81; /* the quote's source port is no VIP port */
	expect_drop(spec, FABRIC, error_frame_to_vip(&fl, 48, NULL, NULL), SL_DROP_ICMP_NO_FLOW);
	fl = CLIENT4;
	fl.dst = "203.0.113.20"; fl.dport = 53; fl.proto = SL_PROTO_UDP; /* VIP without DIPs */
	expect_drop(spec, FABRIC, error_frame_to_vip(&fl, 48, NULL, NULL), SL_DROP_ICMP_NO_FLOW);
	/* about another address's packet, sent to the VIP */
	struct flow other = { SL_AF_INET, "203.0.113.30", "198.51.100.2", 80, 40000, SL_PROTO_TCP };
	uint16_t n = build_icmp_error(ip, SL_AF_INET, "192.0.2.1", "203.0.113.10", &other, 48);
	expect_drop(spec, FABRIC, eth_of(MAC_FABRIC, SL_AF_INET, ip, n), SL_DROP_ICMP_BAD_QUOTE);
	fl = CLIENT6; /* 3 bytes of TCP quoted */
	expect_drop(spec, FABRIC, error_frame_to_vip(&fl, 40 + 3, NULL, NULL), SL_DROP_ICMP_BAD_QUOTE);
	/* a corrupted error is not worth the fabric's bandwidth */
	struct rte_mbuf *m = error_frame_to_vip(&CLIENT4, 48, NULL, NULL);
	rte_pktmbuf_mtod(m, uint8_t *)[rte_pktmbuf_data_len(m) - 1] ^= 0x20;
	expect_drop(spec, FABRIC, m, SL_DROP_BAD_L4_CHECKSUM);
}
END_TEST

/* Relayed errors are limited like the mux's own: a burst of 100, then 1/ms. */
START_TEST(mux_rate_limits_relayed_errors)
{
	struct fixture f;
	fixture_init(&f, MUX_SPEC(&DIP1));
	for (int i = 0; i < 150; i++) {
		run(&f, FABRIC, error_frame_to_vip(&CLIENT4, 48, NULL, NULL));
		clear_tx(&f);
	}
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_ICMP_RELAYED], 100);
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_ICMP_RATE_LIMITED], 50);
	f.w->now_ms += 5;
	for (int i = 0; i < 10; i++) {
		run(&f, FABRIC, error_frame_to_vip(&CLIENT4, 48, NULL, NULL));
		clear_tx(&f);
	}
	ck_assert_uint_eq(f.w->stats.c[SL_C_MUX_ICMP_RELAYED], 105);
	fixture_free(&f);
}
END_TEST

/* The IP packet of the only frame sent on port, parsed, with its quote. */
static const uint8_t *sent_error(struct fixture *f, uint16_t port, struct sl_pkt_info *pi, struct sl_icmp_quote *q)
{
	uint32_t len;
	const uint8_t *frame = only_tx(f, port, pi, &len);
	const uint8_t *ip = frame + SL_ETH_HLEN;
	ck_assert_int_eq(sl_pkt_parse_ip(ip, len - SL_ETH_HLEN, pi->family, pi), SL_DROP_NONE);
	ck_assert_int_eq(sl_pkt_parse_icmp_error(ip, pi, q), SL_DROP_NONE);
	ck_assert(sl_pkt_icmp_checksum_ok(ip, pi));
	return ip;
}

/* Errors about a connection, both ways: the router's (relayed by the mux)
 * reaches the DIP as if about the DIP's own packet, and the DIP's reaches
 * the client as if from the VIP. */
static void host_translates_errors(const struct flow *client, const char *dip, const char *vip)
{
	struct fixture f;
	struct sl_pkt_info pi;
	struct sl_icmp_quote q;
	uint8_t ip[2048];
	char a[64];
	fixture_init(&f, HOST_SPEC);
	uint16_t n = error_to_vip(ip, client, 48);
	run(&f, FABRIC, tunnel_bytes(client->family, ip, n)); /* before the connection: nothing to match */
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_ICMP_NO_FLOW], 1);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_CONN_NEW], 0);

	run(&f, FABRIC, tunnel_of(client, 10, false)); /* the connection */
	clear_tx(&f);
	run(&f, FABRIC, tunnel_bytes(client->family, ip, n));
	sent_error(&f, BACKEND, &pi, &q);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, a, sizeof(a)), dip);
	ck_assert_str_eq(sl_addr_format(pi.family, &q.src, a, sizeof(a)), dip);
	ck_assert_uint_eq(q.sport, 8080);
	ck_assert_str_eq(sl_addr_format(pi.family, &q.dst, a, sizeof(a)), client->src);
	ck_assert_uint_eq(pi.ttl, 63);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_ICMP_TO_DIP], 1);
	clear_tx(&f);

	/* The DIP's own error about the client's packet (client -> DIP:8080). */
	struct flow seen = { client->family, client->src, dip, client->sport, 8080, client->proto };
	n = build_icmp_error(ip, client->family, dip, client->src, &seen, 60);
	run(&f, BACKEND, eth_of(MAC_BACKEND, client->family, ip, n));
	sent_error(&f, FABRIC, &pi, &q);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.src, a, sizeof(a)), vip);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, a, sizeof(a)), client->src);
	ck_assert_str_eq(sl_addr_format(pi.family, &q.dst, a, sizeof(a)), vip);
	ck_assert_uint_eq(q.dport, 80);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_ICMP_TO_CLIENT], 1);
	clear_tx(&f);

	/* Corrupted, it reaches nobody. */
	ip[n - 1] ^= 1;
	run(&f, BACKEND, eth_of(MAC_BACKEND, client->family, ip, n));
	ck_assert_uint_eq(f.w->nb_tx[FABRIC], 0);
	ck_assert_uint_eq(f.w->stats.drop[SL_DROP_BAD_L4_CHECKSUM], 1);
	fixture_free(&f);
}

START_TEST(host_translates_icmp_errors_v4)
{
	host_translates_errors(&CLIENT4, "198.18.1.2", "203.0.113.10");
}
END_TEST

START_TEST(host_translates_icmp_errors_v6)
{
	host_translates_errors(&CLIENT6, "2001:db8:11::2", "2001:db8:100::10");
}
END_TEST

START_TEST(host_drops_stray_icmp_from_dips)
{
	uint8_t ip[2048];
	/* about a connection that does not exist */
	struct flow seen = { SL_AF_INET, "198.51.100.2", "198.18.1.2", 40000, 8080, SL_PROTO_TCP };
	uint16_t n = build_icmp_error(ip, SL_AF_INET, "198.18.1.2", "198.51.100.2", &seen, 48);
	expect_drop(HOST_SPEC, BACKEND, eth_of(MAC_BACKEND, SL_AF_INET, ip, n), SL_DROP_ICMP_NO_FLOW);
	/* quoting a packet that was not sent to the DIP */
	seen.dst = "198.18.1.9";
	n = build_icmp_error(ip, SL_AF_INET, "198.18.1.2", "198.51.100.2", &seen, 48);
	expect_drop(HOST_SPEC, BACKEND, eth_of(MAC_BACKEND, SL_AF_INET, ip, n), SL_DROP_ICMP_BAD_QUOTE);
}
END_TEST

/* Mux and host in one instance: the error goes straight to the local DIP. */
START_TEST(mux_and_host_in_one_instance_translate_errors)
{
	struct fixture f;
	struct sl_pkt_info pi;
	struct sl_icmp_quote q;
	char a[64];
	fixture_init(&f, BOTH_SPEC);
	run(&f, FABRIC, frame_of(MAC_FABRIC, &CLIENT4, 20, NULL, NULL));
	clear_tx(&f);
	run(&f, FABRIC, error_frame_to_vip(&CLIENT4, 200, NULL, NULL));
	sent_error(&f, BACKEND, &pi, &q);
	ck_assert_str_eq(sl_addr_format(pi.family, &pi.dst, a, sizeof(a)), "198.18.1.2");
	ck_assert_uint_eq(q.sport, 8080);
	ck_assert_uint_eq(f.w->stats.c[SL_C_HOST_ICMP_TO_DIP], 1);
	fixture_free(&f);
}
END_TEST

/* ---- rebuilds and retirement ---- */

static bool same_maglev(const struct sl_maglev *a, const struct sl_maglev *b)
{
	return a->size == b->size && a->nb_backends == b->nb_backends &&
	       memcmp(a->slot, b->slot, a->size * sizeof(a->slot[0])) == 0;
}

/* A rebuild over the previous tables must give exactly the tables a build
 * from scratch gives, whether a VIP's DIPs changed or not. */
START_TEST(rebuild_over_previous_tables_equals_fresh_build)
{
	static const struct dip DIP1_W50 = { "198.18.1.2", "192.0.2.21", 50 };
	/* unchanged, one removed, one added, unchanged, a weight changed, ... */
	const struct preset *const next[] = { MUX_SPEC(&DIP1, &DIP2), MUX_SPEC(&DIP1),
					      MUX_SPEC(&DIP1, &DIP2), MUX_SPEC(&DIP1, &DIP2),
					      MUX_SPEC(&DIP1_W50, &DIP2), MUX_SPEC(&DIP2), MUX_SPEC(NULL) };
	struct sl_tables *prev = tables_from(MUX_SPEC(&DIP1, &DIP2));
	for (unsigned k = 0; k < sizeof(next) / sizeof(next[0]); k++) {
		struct sl_tables *fresh = tables_from(next[k]);
		struct sl_tables *again = tables_over(next[k], prev);
		ck_assert_uint_eq(fresh->spec.nb_services, again->spec.nb_services);
		for (uint32_t v = 0; v < fresh->spec.nb_services; v++) {
			const struct sl_mux_vip *f = sl_service_part(fresh, v, SL_STAGE_MUX);
			const struct sl_mux_vip *a = sl_service_part(again, v, SL_STAGE_MUX);
			ck_assert_uint_eq(f->nb_dips, a->nb_dips);
			ck_assert_msg(same_maglev(f->maglev, a->maglev),
				      "dips %u, VIP %u: table differs from a fresh build", k, v);
		}
		sl_tables_free(fresh);
		sl_tables_free(prev);
		prev = again;
	}
	sl_tables_free(prev);
}
END_TEST

/* A change rebuilds only the service it touches: the other services'
 * tables are the previous snapshot's, shared, and outlive it. */
START_TEST(rebuild_shares_tables_of_unchanged_services)
{
	struct sl_tables *prev = tables_from(MUX_SPEC(&DIP1, &DIP2));
	struct sl_tables *next = tables_over(MUX_SPEC(&DIP1), prev);
	ck_assert_uint_ge(next->spec.nb_services, 2);
	ck_assert_ptr_ne(next->service[0], prev->service[0]); /* its DIPs changed */
	for (uint32_t v = 1; v < next->spec.nb_services; v++)
		ck_assert_ptr_eq(next->service[v], prev->service[v]);
	const struct sl_mux_vip *kept = sl_service_part(next, 1, SL_STAGE_MUX);
	sl_tables_free(prev);
	ck_assert_uint_eq(kept->nb_dips, 1); /* still there: next holds a reference */
	struct sl_tables *both = tables_over(BOTH_SPEC, next); /* other roles: nothing shared */
	for (uint32_t v = 0; v < both->spec.nb_services; v++)
		ck_assert_ptr_ne(both->service[v], next->service[v]);
	sl_tables_free(next);
	sl_tables_free(both);
}
END_TEST

/* sl_tables_build takes the spec over: emptied when built, freed when
 * refused (here for a service kind no stage builds tables for). */
START_TEST(tables_take_the_spec_over)
{
	static const struct sl_port_hw hw[1];
	struct sl_spec spec;
	char err[256];
	spec_of(MUX_SPEC(&DIP1), &spec);
	struct sl_tables *t = sl_tables_build(&spec, hw, NULL, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(spec.services);
	ck_assert_uint_eq(t->spec.nb_services, 4);
	sl_tables_free(t);
	spec_of(MUX_SPEC(&DIP1), &spec);
	spec.services[2].kind = 99;
	ck_assert_ptr_null(sl_tables_build(&spec, hw, NULL, 1, err, sizeof(err)));
	ck_assert_str_eq(err, "service 2: unknown kind 99");
	ck_assert_ptr_null(spec.services);
}
END_TEST

/* A build in steps (sl_tables_job) with a deadline already past stops
 * after each entry it builds, shares what it may like sl_tables_build, and
 * ends with the same tables; cancelled midway it frees what it built
 * (ASan's leak check). */
START_TEST(build_in_steps_equals_one_build)
{
	const struct sl_port_hw *hw = test_hw;
	struct sl_spec spec;
	char err[512];
	struct sl_tables *prev = tables_from(MUX_SPEC(&DIP1, &DIP2));
	struct sl_tables *whole = tables_over(MUX_SPEC(&DIP1), prev);
	spec_of(MUX_SPEC(&DIP1), &spec);
	struct sl_tables_job *j = sl_tables_job_start(&spec, hw, prev, 7, err, sizeof(err));
	ck_assert_msg(j != NULL, "%s", err);
	ck_assert_ptr_null(spec.services); /* taken over */
	unsigned steps = 1;
	int rc;
	while ((rc = sl_tables_job_run(j, 1, err, sizeof(err))) == 0)
		steps++;
	ck_assert_int_eq(rc, 1);
	struct sl_tables *t = sl_tables_job_finish(j);
	ck_assert_uint_eq(steps, 2); /* service 0 built anew (a step), the others shared */
	ck_assert_uint_eq(t->generation, 7);
	ck_assert_uint_eq(t->spec.nb_services, whole->spec.nb_services);
	ck_assert_ptr_ne(t->service[0], prev->service[0]);
	for (uint32_t v = 0; v < t->spec.nb_services; v++) {
		if (v > 0)
			ck_assert_ptr_eq(t->service[v], prev->service[v]);
		const struct sl_mux_vip *a = sl_service_part(t, v, SL_STAGE_MUX);
		const struct sl_mux_vip *b = sl_service_part(whole, v, SL_STAGE_MUX);
		ck_assert_uint_eq(a->nb_dips, b->nb_dips);
		ck_assert(same_maglev(a->maglev, b->maglev));
	}
	/* from nothing: a step per service but the last */
	spec_of(MUX_SPEC(&DIP1, &DIP2), &spec);
	j = sl_tables_job_start(&spec, hw, NULL, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	for (steps = 1; (rc = sl_tables_job_run(j, 1, err, sizeof(err))) == 0; steps++)
		;
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(steps, prev->spec.nb_services);
	sl_tables_free(sl_tables_job_finish(j));
	/* cancelled after one step: what it built and shared is let go */
	spec_of(MUX_SPEC(&DIP2), &spec);
	j = sl_tables_job_start(&spec, hw, prev, 8, err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(sl_tables_job_run(j, 1, err, sizeof(err)), 0);
	sl_tables_job_cancel(j);
	/* (a refused spec: tables_take_the_spec_over, through the same start) */
	sl_tables_free(t);
	sl_tables_free(whole);
	sl_tables_free(prev);
}
END_TEST

/* A mux spec of numbered VIPs 203.0.113.(100 + k):80, each with DIP
 * 198.18.1.(k + 2) (weight w[k] when given, else 100) behind 192.0.2.21,
 * in the order of ks; rev k + 1 when revs, else 0. */
static void numbered_spec(struct sl_spec *s, const unsigned *ks, unsigned n, const uint32_t *w,
			  bool revs)
{
	char addr[32];
	fx_init(s, SL_ROLE_MUX);
	add_mux_port(s, 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%u", 100 + ks[i]);
		struct sl_spec_service *v = fx_vip(s, addr, SL_PROTO_TCP, 80);
		v->rev = revs ? ks[i] + 1 : 0;
		snprintf(addr, sizeof(addr), "198.18.1.%u", 2 + ks[i]);
		fx_backend(v, addr, 8080, "192.0.2.21", w != NULL ? w[ks[i]] : 100);
	}
}

static struct sl_tables *numbered_over(const unsigned *ks, unsigned n, const uint32_t *w, bool revs,
				       const struct sl_tables *prev)
{
	struct sl_spec spec;
	numbered_spec(&spec, ks, n, w, revs);
	return tables_of(&spec, prev);
}

/* prev's number of the service t numbers v (the same key), or SL_VIP_NONE. */
static uint32_t number_in(const struct sl_tables *prev, const struct sl_tables *t, uint32_t v)
{
	const struct sl_spec_service *svc = &t->spec.services[v];
	return sl_vip_find(prev->index, svc->family, svc->proto, &svc->addr, htons(svc->port));
}

/* Every service of t: found by the index under its own number, with a
 * part for its DIPs; shared with prev (NULL: none) exactly when it is not
 * among the anew ones, which t reports in order. */
static void expect_shared_but(const struct sl_tables *t, const struct sl_tables *prev,
			      const uint32_t *anew, uint32_t nb_anew)
{
	uint32_t n, k = 0;
	const uint32_t *built = sl_tables_built_anew(t, &n);
	ck_assert_uint_eq(n, nb_anew);
	for (uint32_t v = 0; v < t->spec.nb_services; v++) {
		const struct sl_spec_service *svc = &t->spec.services[v];
		ck_assert_uint_eq(sl_vip_find(t->index, svc->family, svc->proto, &svc->addr, htons(svc->port)), v);
		const struct sl_mux_vip *part = sl_service_part(t, v, SL_STAGE_MUX);
		ck_assert_uint_eq(part->nb_dips, svc->nb_backends);
		if (k < nb_anew && anew[k] == v) {
			ck_assert_uint_eq(built[k++], v);
			uint32_t p = prev != NULL ? number_in(prev, t, v) : SL_VIP_NONE;
			ck_assert(p == SL_VIP_NONE || t->service[v] != prev->service[p]);
			continue;
		}
		ck_assert_ptr_nonnull(prev);
		ck_assert_msg(t->service[v] == prev->service[number_in(prev, t, v)], "service %u not shared", v);
	}
}

/* Reordered, inserted into, deleted from: a service keeps its entry
 * wherever it moves, the merge walk falling back to the index where the
 * orders part; only a new key builds. A chain of tables freed out of
 * order frees each entry once, after its last holder (ASan). */
START_TEST(rebuild_shares_across_reorder_insert_and_delete)
{
	static const unsigned base[] = { 0, 1, 2, 3, 4, 5 };
	static const unsigned reversed[] = { 5, 4, 3, 2, 1, 0 };
	static const unsigned inserted[] = { 5, 4, 3, 9, 2, 1, 0 };
	static const unsigned deleted[] = { 5, 3, 9, 2, 1 };
	struct sl_tables *t0 = numbered_over(base, 6, NULL, false, NULL);
	expect_shared_but(t0, NULL, (const uint32_t[]){ 0, 1, 2, 3, 4, 5 }, 6);
	struct sl_tables *t1 = numbered_over(reversed, 6, NULL, false, t0);
	expect_shared_but(t1, t0, NULL, 0);
	struct sl_tables *t2 = numbered_over(inserted, 7, NULL, false, t1);
	expect_shared_but(t2, t1, (const uint32_t[]){ 3 }, 1);
	struct sl_tables *t3 = numbered_over(deleted, 5, NULL, false, t2);
	expect_shared_but(t3, t2, NULL, 0);
	sl_tables_free(t1);
	sl_tables_free(t0);
	struct sl_tables *t4 = numbered_over(base, 6, NULL, false, t3); /* 0 and 4 come back */
	expect_shared_but(t4, t3, (const uint32_t[]){ 0, 4 }, 2);
	sl_tables_free(t3);
	sl_tables_free(t2);
	const struct sl_mux_vip *kept = sl_service_part(t4, 5, SL_STAGE_MUX);
	ck_assert_uint_eq(kept->nb_dips, 1); /* t0's entry, held by t4 alone now */
	sl_tables_free(t4);
}
END_TEST

/* An equal nonzero rev is trusted, so the backends are not compared (a
 * producer breaking its word gets the old DIPs: that is the promise);
 * without it, or with different revs, backends decide. The fields, the
 * number of backends among them, are compared whatever the rev. */
START_TEST(rebuild_trusts_equal_revs_and_compares_the_rest)
{
	static const unsigned ks[] = { 0, 1, 2 };
	static const uint32_t changed[] = { 100, 50, 100 };
	struct sl_tables *t0 = numbered_over(ks, 3, NULL, true, NULL);
	struct sl_tables *t1 = numbered_over(ks, 3, changed, true, t0); /* same revs */
	expect_shared_but(t1, t0, NULL, 0);
	struct sl_spec spec;
	numbered_spec(&spec, ks, 3, NULL, true);
	spec.services[1].rev = 77; /* a different rev: compared with t1's spec (50), and changed */
	spec.services[2].rev = 78; /* compared, and the same */
	struct sl_tables *t2 = tables_of(&spec, t1);
	expect_shared_but(t2, t1, (const uint32_t[]){ 1 }, 1);
	numbered_spec(&spec, ks, 3, changed, false); /* no revs: compared */
	struct sl_tables *t3 = tables_of(&spec, t2);
	expect_shared_but(t3, t2, (const uint32_t[]){ 1 }, 1);
	numbered_spec(&spec, ks, 3, changed, true);
	fx_backend(&spec.services[0], "198.18.1.99", 8080, "192.0.2.22", 100); /* rev as t1's */
	struct sl_tables *t4 = tables_of(&spec, t1);
	expect_shared_but(t4, t1, (const uint32_t[]){ 0 }, 1);
	sl_tables_free(t0);
	sl_tables_free(t1);
	sl_tables_free(t2);
	sl_tables_free(t3);
	sl_tables_free(t4);
}
END_TEST

/* A build cancelled midway takes nothing from the tables it was built
 * over: a later build over them shares as if it had never been, and
 * their entries live until they and that build are freed (ASan). */
START_TEST(cancelled_build_leaves_the_running_tables_whole)
{
	static const unsigned base[] = { 0, 1, 2, 3 };
	static const unsigned more[] = { 0, 7, 1, 8, 2, 3 };
	char err[512];
	struct sl_spec spec;
	struct sl_tables *t0 = numbered_over(base, 4, NULL, true, NULL);
	numbered_spec(&spec, more, 6, NULL, true);
	struct sl_tables_job *j = sl_tables_job_start(&spec, test_hw, t0, 2, err, sizeof(err));
	ck_assert_msg(j != NULL, "%s", err);
	ck_assert_int_eq(sl_tables_job_run(j, 1, err, sizeof(err)), 0); /* 7 built, 8 not yet */
	sl_tables_job_cancel(j);
	struct sl_tables *t1 = numbered_over(more, 6, NULL, true, t0);
	expect_shared_but(t1, t0, (const uint32_t[]){ 1, 3 }, 2);
	sl_tables_free(t0);
	struct sl_tables *t2 = numbered_over(base, 4, NULL, true, t1);
	expect_shared_but(t2, t1, NULL, 0);
	sl_tables_free(t1);
	sl_tables_free(t2);
}
END_TEST

static void count_free(void *obj)
{
	(*(unsigned *)obj)++;
}

START_TEST(retired_objects_wait_for_every_online_worker)
{
	unsigned freed = 0;
	struct sl_retire *r = sl_retire_create(qsbr, 4);
	ck_assert_ptr_nonnull(r);
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	sl_retire_defer(r, count_free, &freed);
	sl_retire_defer(r, count_free, NULL); /* ignored */
	ck_assert_uint_eq(sl_retire_reclaim(r), 0);
	ck_assert_uint_eq(freed, 0);
	rte_rcu_qsbr_quiescent(qsbr, 0);
	ck_assert_uint_eq(sl_retire_reclaim(r), 1);
	ck_assert_uint_eq(freed, 1);
	/* An offline worker (asleep) holds nothing back. */
	rte_rcu_qsbr_thread_offline(qsbr, 0);
	sl_retire_defer(r, count_free, &freed);
	ck_assert_uint_eq(sl_retire_reclaim(r), 1);
	struct sl_retire_stats st;
	sl_retire_get_stats(r, &st);
	ck_assert_uint_eq(st.deferred, 2);
	ck_assert_uint_eq(st.freed, 2);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.waited, 0);
	rte_rcu_qsbr_thread_unregister(qsbr, 0);
	sl_retire_destroy(r);
}
END_TEST

static volatile bool worker_stop;

static void *quiescent_worker(void *arg)
{
	(void)arg;
	while (!worker_stop) {
		rte_rcu_qsbr_quiescent(qsbr, 0);
		usleep(1000);
	}
	return NULL;
}

/* A full queue makes the publisher wait for a grace period, never lose or
 * free early: here a worker reports only every millisecond. */
START_TEST(full_retire_queue_waits_then_frees_everything)
{
	unsigned freed = 0;
	struct sl_retire *r = sl_retire_create(qsbr, 4);
	rte_rcu_qsbr_thread_register(qsbr, 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
	for (unsigned i = 0; i < 4; i++)
		sl_retire_defer(r, count_free, &freed);
	ck_assert_uint_eq(freed, 0);
	pthread_t th;
	worker_stop = false;
	ck_assert_int_eq(pthread_create(&th, NULL, quiescent_worker, NULL), 0);
	sl_retire_defer(r, count_free, &freed); /* full: waits */
	struct sl_retire_stats st;
	sl_retire_get_stats(r, &st);
	ck_assert_uint_eq(freed + st.pending, 5);
	ck_assert_uint_ge(freed, 4);
	worker_stop = true;
	pthread_join(th, NULL);
	rte_rcu_qsbr_thread_offline(qsbr, 0);
	rte_rcu_qsbr_thread_unregister(qsbr, 0);
	sl_retire_destroy(r);
	ck_assert_uint_eq(freed, 5);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dataplane");
	TCase *mux = tcase_create("mux");
	tcase_add_test(mux, mux_encapsulates_v4_to_the_dip_host);
	tcase_add_test(mux, mux_encapsulates_v6_in_v6);
	tcase_add_test(mux, mux_spreads_flows_and_keeps_them_across_dip_removal);
	tcase_add_test(mux, mux_drops_by_reason);
	tcase_add_test(mux, mux_asks_for_unresolved_next_hop);
	tcase_add_test(mux, mux_routes_each_packet_of_a_burst_to_its_host);
	tcase_add_test(mux, mux_forgets_next_hops_between_bursts);
	tcase_add_test(mux, mux_answers_too_big_with_icmp);
	tcase_add_test(mux, arp_goes_to_the_control_thread);
	tcase_add_test(mux, echo_requests_to_us_are_rate_limited);
	tcase_add_test(mux, own_address_traffic_goes_to_the_kernel_ring);
	tcase_add_test(mux, own_address_traffic_without_kernel_interface_is_dropped);
	tcase_add_test(mux, own_address_flood_is_rate_limited_and_vip_traffic_flows);
	tcase_add_test(mux, mux_refuses_l2_group_frames);
	tcase_add_test(mux, mux_refuses_martian_sources);
	tcase_add_test(mux, mux_takes_only_its_vlan);
	tcase_add_test(mux, mux_relays_icmp_errors_by_the_quoted_flow_v4);
	tcase_add_test(mux, mux_relays_icmp_errors_by_the_quoted_flow_v6);
	tcase_add_test(mux, mux_drops_icmp_errors_by_reason);
	tcase_add_test(mux, mux_rate_limits_relayed_errors);
	suite_add_tcase(s, mux);
	TCase *host = tcase_create("host");
	tcase_add_test(host, host_translates_both_directions_v4);
	tcase_add_test(host, host_translates_both_directions_v6);
	tcase_add_test(host, host_drops_bad_l4_checksum_and_strays);
	tcase_add_test(host, host_drops_cross_family_tunnels);
	tcase_add_test(host, host_takes_tunnels_only_from_mux_sources);
	tcase_add_test(host, host_checks_the_source_of_every_tunnel_of_a_burst);
	tcase_add_test(host, host_refuses_what_no_router_forwards);
	tcase_add_test(host, device_mtu_caps_configured_mtu);
	tcase_add_test(host, mux_and_host_in_one_instance_skip_the_wire);
	tcase_add_test(host, host_translates_icmp_errors_v4);
	tcase_add_test(host, host_translates_icmp_errors_v6);
	tcase_add_test(host, host_drops_stray_icmp_from_dips);
	tcase_add_test(host, mux_and_host_in_one_instance_translate_errors);
	suite_add_tcase(s, host);
	TCase *publish = tcase_create("publish");
	tcase_add_test(publish, rebuild_over_previous_tables_equals_fresh_build);
	tcase_add_test(publish, rebuild_shares_tables_of_unchanged_services);
	tcase_add_test(publish, tables_take_the_spec_over);
	tcase_add_test(publish, build_in_steps_equals_one_build);
	tcase_add_test(publish, rebuild_shares_across_reorder_insert_and_delete);
	tcase_add_test(publish, rebuild_trusts_equal_revs_and_compares_the_rest);
	tcase_add_test(publish, cancelled_build_leaves_the_running_tables_whole);
	tcase_add_test(publish, retired_objects_wait_for_every_online_worker);
	tcase_add_test(publish, full_retire_queue_waits_then_frees_everything);
	suite_add_tcase(s, publish);
	return s;
}

int main(void)
{
	char *eal[] = { "test_dataplane", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			"--file-prefix", "test_dataplane", "-l", "0", "--log-level", "error" };
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		return 1;
	pool = rte_pktmbuf_pool_create("test_pool", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	qsbr = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(1), 64);
	if (pool == NULL || qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		return 1;
	SRunner *sr = srunner_create(suite());
	srunner_set_fork_status(sr, CK_NOFORK); /* EAL state does not survive fork */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rte_eal_cleanup();
	return failed == 0 ? 0 : 1;
}
