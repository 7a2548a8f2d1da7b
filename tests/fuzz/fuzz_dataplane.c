/*
 * Fuzz the parser and the classifier together: arbitrary frames through a
 * worker's burst logic (sl_worker_burst) on an instance that is both mux and
 * host agent, on either port. Whatever comes in must end up transmitted,
 * passed to control, or dropped with a reason — never a crash, a leak, or
 * an out-of-bounds access.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/snapshot.h"
#include "dataplane/worker.h"
#include "packet/packet.h"
#include "tests/unit/spec_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The instance: mux and host agent (192.0.2.10) on a fabric and a backend
 * port; a VIP of each family, one DIP local and one behind another host. */
static void build_spec(struct sl_spec *s)
{
	static const char *const fabric[] = { "192.0.2.10/24", "2001:db8:2::10/64", NULL };
	static const char *const backend[] = { "198.18.1.1/24", "2001:db8:11::1/64", NULL };
	fx_init(s, SL_ROLE_MUX | SL_ROLE_HOST);
	s->mux.maglev_size = 251;
	struct sl_spec_port *p = fx_port(s, "fabric", fabric);
	fx_gateways(p, "192.0.2.1", "2001:db8:2::1");
	fx_neigh(p, "192.0.2.1", "02:00:00:00:00:01");
	fx_neigh(p, "2001:db8:2::1", "02:00:00:00:00:01");
	fx_neigh(p, "192.0.2.22", "02:00:00:00:00:22");
	p = fx_port(s, "backend", backend);
	fx_neigh(p, "198.18.1.2", "02:00:00:00:01:02");
	fx_neigh(p, "2001:db8:11::2", "02:00:00:00:01:02");
	fx_host(s, "192.0.2.10", "2001:db8:2::10", 0, 1);
	fx_tunnel_source(s, "192.0.2.0/24");
	fx_tunnel_source(s, "2001:db8:2::/64");
	struct sl_spec_service *v = fx_vip(s, "203.0.113.10", SL_PROTO_TCP, 80);
	fx_backend(v, "198.18.1.2", 8080, "192.0.2.10", 100);
	fx_backend(v, "198.18.2.2", 8080, "192.0.2.22", 100);
	v = fx_vip(s, "2001:db8:100::10", SL_PROTO_UDP, 53);
	fx_backend(v, "2001:db8:11::2", 5353, "2001:db8:2::10", 100);
}

static struct rte_mempool *pool;
static struct sl_worker *w;
static struct sl_snapshot snap;

static struct sl_flow_table *flow_table(const char *name, struct rte_rcu_qsbr *q)
{
	struct sl_flow_params p = { .name = name, .capacity = 256, .nb_shards = 1, .qsbr = q };
	return sl_flow_create(&p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char *eal[] = { "fuzz", "--no-huge", "-m", "128", "--no-pci", "--no-shconf", "--file-prefix", "fuzz_dp",
			"-l", "0", "--log-level", "error" };
	static const struct sl_port_hw hw[2] = { { .mac = { 2, 0, 0, 0, 0, 0x10 } }, { .mac = { 2, 0, 0, 0, 0, 0x11 } } };
	struct sl_spec spec;
	char err[512];
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fuzz_pool", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct rte_rcu_qsbr *q = rte_zmalloc("q", rte_rcu_qsbr_get_memsize(1), 64);
	if (pool == NULL || q == NULL || rte_rcu_qsbr_init(q, 1) != 0)
		abort();
	rte_rcu_qsbr_thread_register(q, 0);
	rte_rcu_qsbr_thread_online(q, 0);
	build_spec(&spec);
	struct sl_tables *t = sl_tables_build(&spec, hw, NULL, 1, err, sizeof(err));
	if (t == NULL) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	struct sl_neigh_cache *nc = sl_neigh_cache_create(&t->local);
	snap = (struct sl_snapshot){ .tables = t, .neigh = nc ? sl_neigh_table_build(nc) : NULL };
	sl_neigh_cache_free(nc); /* the table is a copy */
	w = rte_zmalloc("w", sizeof(*w), 64);
	if (snap.neigh == NULL || w == NULL)
		abort();
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		const char *name = sl_stages[s]->flows.name;
		if (t->built[s] && name != NULL && (w->flows[s] = flow_table(name, q)) == NULL)
			abort();
	}
	w->to_control = rte_ring_create("fz_exc", 64, 0, RING_F_SC_DEQ);
	w->wants = rte_ring_create_elem("fz_want", sizeof(struct sl_neigh_want), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	/* the exception path on port 0 only, so both its ways out are reached */
	w->to_kernel = rte_ring_create("fz_kernel", 64, 0, RING_F_SC_DEQ);
	w->kernel_gate = (struct sl_exc_gate){ .ports = 1, .rate = 1000, .burst = 10 };
	if (w->to_control == NULL || w->wants == NULL ||
	    w->to_kernel == NULL)
		abort();
	return 0;
}

static void drain(void)
{
	struct rte_mbuf *m;
	struct sl_neigh_want want;
	for (unsigned p = 0; p < SL_MAX_PORTS; p++) {
		rte_pktmbuf_free_bulk(w->tx[p], w->nb_tx[p]);
		w->nb_tx[p] = 0;
	}
	while (rte_ring_dequeue(w->to_control, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (rte_ring_dequeue(w->to_kernel, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (rte_ring_dequeue_elem(w->wants, &want, sizeof(want)) == 0)
		;
}

/* Input: one byte of port and time, then the frame. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 + RTE_MBUF_DEFAULT_DATAROOM)
		return 0;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		abort(); /* a leak in the data path would exhaust the pool */
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(size - 1));
	if (size > 1)
		memcpy(p, data + 1, size - 1);
	w->now_ms += data[0] >> 1;
	sl_worker_burst(w, &snap, data[0] & 1, &m, 1);
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		if (w->flows[s] != NULL)
			sl_flow_expire(w->flows[s], 0, w->now_ms, 1000, 16);
	drain();
	return 0;
}
