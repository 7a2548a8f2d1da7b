/* The worker lcore loop: receive a burst per queue, run the data path,
 * transmit, send what the control thread queued, expire idle flows on a
 * TSC tick, and sleep briefly when idle if configured (several instances
 * sharing few cores in a lab). */
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "sluice.h"

#define EXPIRE_BUDGET 256 /* positions examined per shard per tick */

static void flush_port(struct sl_lcore *lc, uint16_t cfg_port)
{
	struct sl_worker *w = &lc->w;
	uint16_t n = w->nb_tx[cfg_port];
	uint16_t sent = rte_eth_tx_burst(sl_app.ports[cfg_port].port_id, (uint16_t)w->id,
					 w->tx[cfg_port], n);
	if (sent < n) {
		w->stats.c[SL_C_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(&w->tx[cfg_port][sent], n - sent);
	}
	w->stats.c[SL_C_TX_PACKETS] += sent;
	w->nb_tx[cfg_port] = 0;
}

static void flush_all(struct sl_lcore *lc)
{
	for (uint16_t p = 0; p < sl_app.nb_ports; p++)
		if (lc->w.nb_tx[p] > 0)
			flush_port(lc, p);
}

/* Frames from the control thread carry their config port index in m->port. */
static void send_from_control(struct sl_lcore *lc)
{
	struct rte_mbuf *m[SL_BURST_MAX];
	unsigned n = rte_ring_dequeue_burst(lc->from_control, (void **)m, SL_BURST_MAX, NULL);
	for (unsigned i = 0; i < n; i++) {
		uint16_t p = m[i]->port;
		if (p >= sl_app.nb_ports) {
			rte_pktmbuf_free(m[i]);
			continue;
		}
		lc->w.tx[p][lc->w.nb_tx[p]++] = m[i];
		lc->w.stats.c[SL_C_FROM_CONTROL]++;
		if (lc->w.nb_tx[p] == SL_BURST_MAX)
			flush_port(lc, p);
	}
	if (n > 0)
		flush_all(lc);
}

static void expire_flows(struct sl_lcore *lc, const struct sl_spec *spec)
{
	struct sl_worker *w = &lc->w;
	unsigned gone = 0;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		if (w->flows[s] != NULL)
			gone += sl_flow_expire(w->flows[s], w->id, w->now_ms, sl_stages[s]->flows.idle_ms(spec),
					       EXPIRE_BUDGET);
	w->stats.c[SL_C_FLOW_EXPIRED] += gone;
}

static unsigned poll_queues(struct sl_lcore *lc, const struct sl_snapshot *snap, uint16_t burst)
{
	struct rte_mbuf *pkts[SL_BURST_MAX];
	unsigned got = 0;
	for (uint16_t i = 0; i < lc->nb_rx; i++) {
		uint16_t cfg_port = lc->rx[i].cfg_port;
		uint16_t n = rte_eth_rx_burst(sl_app.ports[cfg_port].port_id, lc->rx[i].queue, pkts, burst);
		if (n == 0)
			continue;
		got += n;
		sl_worker_burst(&lc->w, snap, cfg_port, pkts, n);
		flush_all(lc);
	}
	return got;
}

static void idle_sleep(struct sl_lcore *lc, uint32_t us)
{
	/* Offline while asleep so the control thread's grace periods never wait on us. */
	rte_rcu_qsbr_thread_offline(sl_app.qsbr, lc->w.id);
	usleep(us);
	rte_rcu_qsbr_thread_online(sl_app.qsbr, lc->w.id);
}

int sl_lcore_main(void *arg)
{
	struct sl_lcore *lc = arg;
	const uint64_t tsc_ms = rte_get_tsc_hz() / 1000;
	uint64_t next_tick = 0;

	rte_rcu_qsbr_thread_register(sl_app.qsbr, lc->w.id);
	rte_rcu_qsbr_thread_online(sl_app.qsbr, lc->w.id);
	while (!sl_app.quit) {
		rte_rcu_qsbr_quiescent(sl_app.qsbr, lc->w.id);
		const struct sl_snapshot *snap = __atomic_load_n(&sl_app.snapshot, __ATOMIC_ACQUIRE);
		const struct sl_spec *spec = &snap->tables->spec;
		uint64_t now = rte_rdtsc();
		lc->w.now_ms = (uint32_t)(now / tsc_ms);
		unsigned got = poll_queues(lc, snap, spec->workers.burst);
		send_from_control(lc);
		if (now >= next_tick) {
			expire_flows(lc, spec);
			next_tick = now + tsc_ms;
		}
		if (got == 0) {
			lc->w.stats.c[SL_C_IDLE_POLLS]++;
			if (spec->workers.idle_sleep_us > 0)
				idle_sleep(lc, spec->workers.idle_sleep_us);
		}
	}
	rte_rcu_qsbr_thread_offline(sl_app.qsbr, lc->w.id);
	rte_rcu_qsbr_thread_unregister(sl_app.qsbr, lc->w.id);
	return 0;
}
