/*
 * pathbench: the worker's data path on one lcore, without a device.
 *
 * Builds the tables tools/bench mux or host uses from a spec written in
 * code (mux: 16 VIPs x 8 DIPs on 4 hosts, one fabric port; host: the same
 * VIPs on 8 local DIPs, tunnels from one mux), makes one frame per flow
 * (60-byte TCP to a VIP; for the host, that packet in IPv4-in-IPv4), and
 * replays them in bursts of 32 as a poll-mode driver would: allocate
 * mbufs, copy the frames in, run sl_worker_burst, free what it queued for
 * transmission. The baseline does the same allocation, copy
 * and free around testpmd's 5tswap (swap MACs, addresses and ports), so
 * the ratio compares the data path against the same I/O as tools/bench
 * does, minus net_pcap. Thread CPU time, best of three.
 *
 * It is a developer's loop for the data path's instruction cost (seconds
 * per try, no noise from a pcap device); tools/bench is the measurement
 * of record (docs/benchmarks.md).
 *
 * Usage: pathbench [mux|host [flows [packets]]]
 *        (default mux, 65536 flows, 8388608 packets per try)
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/snapshot.h"
#include "dataplane/worker.h"
#include "spec_fixture.h"
#include "stage/ops.h"

#define BURST 32
#define VIPS 16
#define DIPS_PER_VIP 8
#define FRAME_MAX 74
/* Where each frame sits: as net_pcap's infinite_rx keeps the pcap, one
 * mbuf's size apart (header, headroom, data), so the copy streams through
 * as much memory as the bench's receive does (150 MB at 65,536 frames). */
#define SOURCE_STRIDE (RTE_CACHE_LINE_SIZE * 2 + RTE_MBUF_DEFAULT_BUF_SIZE)
#define SOURCE_DATA (RTE_CACHE_LINE_SIZE * 2 + RTE_PKTMBUF_HEADROOM)
#define REPEATS 3

static uint32_t packets = 8u << 20; /* per measurement */

static const char *const HOSTS[] = { "192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24" };
static const struct sl_port_hw HW[1] = { { .mac = { 0x02, 0x70, 0x63, 0x61, 0x70, 0x00 } } };

static void die(const char *what)
{
	fprintf(stderr, "pathbench: %s\n", what);
	exit(1);
}

static void ip4_text(uint32_t a, char *out, size_t len)
{
	struct in_addr in = { .s_addr = htonl(a) };
	if (inet_ntop(AF_INET, &in, out, (socklen_t)len) == NULL)
		die("inet_ntop");
}

static void mux_spec(struct sl_spec *s)
{
	static const char *const addrs[] = { "192.0.2.10/24", NULL };
	char vip[32], dip[32];
	fx_init(s, SL_ROLE_MUX);
	s->mux.flow_capacity = 262144;
	fx_addr("192.0.2.10", &s->mux.tunnel_src4);
	struct sl_spec_port *p = fx_port(s, "fabric", addrs);
	for (unsigned h = 0; h < 4; h++) {
		char mac[32];
		snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", 0x21 + h);
		fx_neigh(p, HOSTS[h], mac);
	}
	for (unsigned v = 0; v < VIPS; v++) {
		ip4_text(0xcb007101u + v, vip, sizeof(vip)); /* 203.0.113.1 + v */
		struct sl_spec_service *svc = fx_vip(s, vip, SL_PROTO_TCP, 80);
		for (unsigned j = 0; j < DIPS_PER_VIP; j++) {
			ip4_text(0xc6336401u + v * DIPS_PER_VIP + j, dip, sizeof(dip)); /* 198.51.100.1 + */
			fx_backend(svc, dip, 8080, HOSTS[j % 4], 100);
		}
	}
}

static void host_spec(struct sl_spec *s)
{
	static const char *const addrs[] = { "192.0.2.21/24", "198.51.100.254/24", NULL };
	char vip[32], dip[32], mac[32];
	fx_init(s, SL_ROLE_HOST);
	s->host.conn_capacity = 262144;
	struct sl_spec_port *p = fx_port(s, "fabric", addrs);
	fx_gateways(p, "192.0.2.1", NULL);
	fx_neigh(p, "192.0.2.1", "02:00:00:00:00:01");
	fx_neigh(p, "192.0.2.10", "02:00:00:00:00:10");
	for (unsigned j = 0; j < DIPS_PER_VIP; j++) {
		ip4_text(0xc6336401u + j, dip, sizeof(dip)); /* 198.51.100.1 + j */
		snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", j + 1);
		fx_neigh(p, dip, mac);
	}
	fx_host(s, "192.0.2.21", NULL, 0, 0);
	fx_tunnel_source(s, "192.0.2.10");
	for (unsigned v = 0; v < VIPS; v++) {
		ip4_text(0xcb007101u + v, vip, sizeof(vip));
		struct sl_spec_service *svc = fx_vip(s, vip, SL_PROTO_TCP, 80);
		for (unsigned j = 0; j < DIPS_PER_VIP; j++) {
			ip4_text(0xc6336401u + j, dip, sizeof(dip));
			fx_backend(svc, dip, (uint16_t)(8080 + v), "192.0.2.21", 100);
		}
	}
}

static uint16_t csum16(const uint8_t *p, unsigned len, uint32_t sum)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void ipv4_header(uint8_t *ip, uint16_t total, uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(ip, 0, 20);
	ip[0] = 0x45, ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total, ip[8] = ttl, ip[9] = proto;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	uint16_t c = htons(csum16(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
}

/* IPv4/TCP(ACK) from a client in 198.18.0.0/15 to VIP i % VIPS at ip (40 bytes). */
static void client_packet(uint8_t *ip, uint32_t i, uint8_t ttl)
{
	uint32_t client = 0xc6120001u + (i * 2654435761u) % 131070u;
	uint16_t sport = (uint16_t)(1024 + (i * 40503u) % 64000u);
	ipv4_header(ip, 40, ttl, SL_PROTO_TCP, client, 0xcb007101u + i % VIPS);
	uint8_t *tcp = ip + 20;
	memset(tcp, 0, 20);
	uint16_t sp = htons(sport), dp = htons(80);
	memcpy(tcp, &sp, 2);
	memcpy(tcp + 2, &dp, 2);
	tcp[12] = 0x50, tcp[13] = 0x10, tcp[14] = 0x20;
	/* the host agent checks the TCP checksum of a connection's first packet */
	uint8_t pseudo[12] = { 0 };
	memcpy(pseudo, ip + 12, 8);
	pseudo[9] = SL_PROTO_TCP, pseudo[11] = 20;
	uint32_t sum = 0;
	for (unsigned k = 0; k < 12; k += 2)
		sum += (uint32_t)(pseudo[k] << 8 | pseudo[k + 1]);
	uint16_t c = htons(csum16(tcp, 20, sum));
	memcpy(tcp + 16, &c, 2);
}

/* The frame of flow i: the client's packet (mux, zero-padded to 60 bytes),
 * or that packet tunnelled from the mux 192.0.2.10 to 192.0.2.21 (host). */
static uint16_t make_frame(uint8_t *f, uint32_t i, bool host)
{
	memset(f, 0, FRAME_MAX);
	memcpy(f, HW[0].mac, 6);
	f[6] = 0x02, f[11] = 0x01, f[12] = 0x08;
	if (!host) {
		client_packet(f + 14, i, 64);
		return 60;
	}
	ipv4_header(f + 14, 60, 64, SL_PROTO_IPIP, 0xc000020au, 0xc0000215u);
	client_packet(f + 34, i, 63);
	return 74;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct run {
	struct rte_mempool *pool;
	const uint8_t *frames; /* SOURCE_STRIDE bytes apart, from SOURCE_DATA */
	uint16_t frame_len;
	uint32_t flows;
	struct sl_worker *w;
	struct sl_snapshot snap;
};

static void receive(struct run *r, struct rte_mbuf **m, uint32_t first)
{
	if (rte_pktmbuf_alloc_bulk(r->pool, m, BURST) != 0)
		die("out of mbufs");
	for (unsigned k = 0; k < BURST; k++) {
		const uint8_t *src = r->frames + (size_t)((first + k) % r->flows) * SOURCE_STRIDE;
		/* the driver reads the source mbuf's header (here: its first byte,
		 * zero, as the port), then its data */
		m[k]->port = src[0];
		memcpy(rte_pktmbuf_mtod(m[k], uint8_t *), src + SOURCE_DATA, r->frame_len);
		m[k]->data_len = m[k]->pkt_len = r->frame_len;
	}
}

/* testpmd's 5tswap, untagged IPv4 only (all the frames are; of a tunnel it swaps the outer header). */
static void five_tuple_swap(struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *), t[6];
	memcpy(t, f, 6), memcpy(f, f + 6, 6), memcpy(f + 6, t, 6);
	uint32_t a;
	memcpy(&a, f + 26, 4), memcpy(f + 26, f + 30, 4), memcpy(f + 30, &a, 4);
	uint16_t p;
	memcpy(&p, f + 34, 2), memcpy(f + 34, f + 36, 2), memcpy(f + 36, &p, 2);
}

/* Every frame should be forwarded; say why one was not. */
static void not_forwarded(const struct sl_worker *w)
{
	for (unsigned d = 0; d < SL_DROP_MAX; d++)
		if (w->stats.drop[d] > 0)
			fprintf(stderr, "pathbench: dropped %" PRIu64 " as %s\n", w->stats.drop[d], sl_drop_name((enum sl_drop)d));
	die("a frame was not forwarded (see the stage's spec)");
}

static double measure(struct run *r, bool baseline)
{
	struct rte_mbuf *m[BURST];
	double t0 = cpu_now();
	for (uint32_t n = 0; n < packets; n += BURST) {
		receive(r, m, n);
		if (baseline) {
			for (unsigned k = 0; k < BURST; k++)
				five_tuple_swap(m[k]);
			rte_pktmbuf_free_bulk(m, BURST);
			continue;
		}
		r->w->now_ms = 1000 + n / (1u << 16);
		sl_worker_burst(r->w, &r->snap, 0, m, BURST);
		if (r->w->nb_tx[0] != BURST)
			not_forwarded(r->w);
		rte_pktmbuf_free_bulk(r->w->tx[0], r->w->nb_tx[0]);
		r->w->nb_tx[0] = 0;
	}
	return (cpu_now() - t0) * 1e9 / packets;
}

static double best_of(struct run *r, bool baseline)
{
	double best = 1e30;
	for (int i = 0; i < REPEATS; i++) {
		double ns = measure(r, baseline);
		best = ns < best ? ns : best;
	}
	return best;
}

static void setup(struct run *r, bool host, uint32_t flows, struct rte_rcu_qsbr *qsbr)
{
	struct sl_spec spec;
	char err[512];
	if (host)
		host_spec(&spec);
	else
		mux_spec(&spec);
	struct sl_tables *t = sl_tables_build(&spec, HW, NULL, 1, err, sizeof(err));
	if (t == NULL)
		die(err);
	struct sl_neigh_cache *cache = sl_neigh_cache_create(&t->local);
	r->snap = (struct sl_snapshot){ .tables = t, .neigh = sl_neigh_table_build(cache) };
	r->w = rte_zmalloc("w", sizeof(*r->w), 64);
	struct sl_flow_params fp = { .name = "pathbench", .capacity = 262144, .nb_shards = 1, .qsbr = qsbr };
	enum sl_stage_id stage = host ? SL_STAGE_HOST : SL_STAGE_MUX;
	if (r->w == NULL || cache == NULL || r->snap.neigh == NULL || (r->w->flows[stage] = sl_flow_create(&fp)) == NULL)
		die("cannot set up the worker");
	uint8_t *frames = calloc(flows, SOURCE_STRIDE);
	if (frames == NULL)
		die("out of memory");
	for (uint32_t i = 0; i < flows; i++)
		r->frame_len = make_frame(frames + (size_t)i * SOURCE_STRIDE + SOURCE_DATA, i, host);
	r->frames = frames;
	r->flows = flows;
	r->pool = rte_pktmbuf_pool_create("pathbench", 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (r->pool == NULL)
		die("cannot create the mbuf pool");
}

int main(int argc, char **argv)
{
	char *eal[] = { "pathbench", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--file-prefix", "pathbench", "-l", "0", "--log-level", "error" };
	bool host = argc > 1 && strcmp(argv[1], "host") == 0;
	if (argc > 1 && !host && strcmp(argv[1], "mux") != 0)
		die("usage: pathbench [mux|host [flows [packets]]]");
	uint32_t flows = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 65536;
	if (flows == 0 || flows > 131072)
		die("flows: 1..131072");
	if (argc > 3 && (packets = (uint32_t)strtoul(argv[3], NULL, 10) / BURST * BURST) == 0)
		die("packets: at least one burst");
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		die("EAL init failed");
	struct rte_rcu_qsbr *qsbr = rte_zmalloc("qsbr", rte_rcu_qsbr_get_memsize(1), 64);
	if (qsbr == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0)
		die("qsbr");
	struct run r;
	setup(&r, host, flows, qsbr);
	measure(&r, false); /* warm: every flow in the table */
	double base = best_of(&r, true), ns = best_of(&r, false);
	printf("{\"pathbench\": \"%s\", \"flows\": %u, \"ns_per_packet\": %.1f, \"baseline_ns\": %.1f, "
	       "\"ratio\": %.3f, \"forwarded\": %" PRIu64 "}\n",
	       host ? "host" : "mux", flows, ns, base, base / ns,
	       r.w->stats.c[host ? SL_C_HOST_TO_DIP : SL_C_MUX_ENCAP]);
	return 0;
}
