/*
 * The exception path's wiring (docs/architecture.md, "Exception path"):
 * the kernel interfaces are made at start-up (drivers/exception), the
 * workers queue what the kernel should get (lib/dataplane/worker.c, with
 * lib/exception's decisions), and the control thread, every poll, writes
 * that to the kernel and passes what the kernel sent to worker 0, which
 * transmits it on the port. The control thread is the only one touching
 * the kernel interfaces: writing to a TAP is a system call per frame,
 * which the workers never make.
 */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "exception/exception.h"
#include "sluice.h"

#define TO_KERNEL_RING 1024  /* frames queued by all workers for the kernel */
#define TO_KERNEL_BUDGET 256 /* per poll (1 ms): well above the workers' limits */
#define FROM_KERNEL_BUDGET 64 /* per interface and poll */
/* A frame from the kernel fits one default mbuf, so the checks see it whole. */
#define KIF_MAX_MTU (RTE_MBUF_DEFAULT_DATAROOM - RTE_ETHER_HDR_LEN - RTE_VLAN_HLEN)

_Static_assert(SL_IFNAME_LEN == IF_NAMESIZE, "config and driver agree on interface names");
_Static_assert(SL_MAX_PORTS <= 32, "the workers' gate has one bit per port");
_Static_assert(SL_KERNEL_MAX_BURST <= SL_RATE_MAX_BURST, "the file's bursts fit a token bucket");

static void count(struct sl_app *app, enum sl_counter c)
{
	app->control_stats.c[c]++;
}

static void drop(struct sl_app *app, struct rte_mbuf *m, enum sl_drop why)
{
	app->control_stats.drop[why]++;
	rte_pktmbuf_free(m);
}

unsigned sl_exception_mbufs(const struct sl_config *cfg)
{
	unsigned n = 0;
	for (unsigned p = 0; p < cfg->nb_ports; p++)
		n += cfg->ports[p].kernel_if[0] != '\0';
	return n * SL_KIF_MBUFS + (n > 0 ? TO_KERNEL_RING : 0);
}

static void kif_cfg_of(const struct sl_port_cfg *pc, const struct sl_port *port, struct sl_kif_cfg *kc)
{
	memset(kc, 0, sizeof(*kc));
	snprintf(kc->ifname, sizeof(kc->ifname), "%s", pc->kernel_if);
	memcpy(kc->mac, port->mac, 6);
	kc->mtu = RTE_MIN(port->mtu, KIF_MAX_MTU);
	kc->nb_addrs = pc->nb_addrs;
	memcpy(kc->addrs, pc->addrs, pc->nb_addrs * sizeof(pc->addrs[0]));
	kc->gateway4 = pc->gateway4;
	kc->gateway6 = pc->gateway6;
}

static void log_kif(const struct sl_app *app, unsigned p)
{
	const struct sl_kif *d = &app->kifs.kif[p];
	const struct sl_kif_cfg *c = &app->kifs.cfg[p];
	char list[SL_MAX_PORT_ADDRS * 52] = "", text[64];
	size_t used = 0;
	for (unsigned i = 0; i < c->nb_addrs && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, " %s/%u",
					 sl_addr_format(c->addrs[i].family, &c->addrs[i].addr, text, sizeof(text)),
					 c->addrs[i].len);
	sl_log("port '%s': kernel interface %s (ifindex %u, MTU %u):%s; routes from these in table %u",
	       app->ports[p].name, d->ifname, d->ifindex, d->mtu, c->nb_addrs ? list : " no addresses",
	       app->kifs.table);
}

int sl_exception_open(struct sl_app *app, const struct sl_config *cfg, char *err, size_t errlen)
{
	struct sl_kif_cfg kc[SL_MAX_PORTS];
	for (unsigned p = 0; p < cfg->nb_ports; p++)
		kif_cfg_of(&cfg->ports[p], &app->ports[p], &kc[p]);
	if (sl_kifs_open(&app->kifs, kc, cfg->nb_ports, app->pool, err, errlen) < 0)
		return -1;
	app->kernel_limits = cfg->exception;
	if (sl_kifs_count(&app->kifs, &app->kernel_ports) == 0)
		return 0;
	app->to_kernel = rte_ring_create("sl_to_kernel", TO_KERNEL_RING, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (app->to_kernel == NULL) {
		snprintf(err, errlen, "cannot allocate the exception path's ring (raise -m)");
		return -1;
	}
	for (unsigned p = 0; p < cfg->nb_ports; p++)
		if (app->kifs.kif[p].open)
			log_kif(app, p);
	return 0;
}

void sl_exception_close(struct sl_app *app)
{
	sl_kifs_close(&app->kifs);
}

/* Write one frame to port p's kernel interface, untagged. */
static void to_kernel(struct sl_app *app, struct rte_mbuf *m, uint16_t p)
{
	if (p >= app->nb_ports || !app->kifs.kif[p].open) {
		drop(app, m, SL_DROP_KERNEL_OFF);
		return;
	}
	uint32_t tag = sl_exc_untag(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m));
	if (tag > 0)
		rte_pktmbuf_adj(m, (uint16_t)tag);
	if (rte_eth_tx_burst(app->kifs.kif[p].port_id, 0, &m, 1) != 1) {
		drop(app, m, SL_DROP_KERNEL_WRITE_FAILED);
		return;
	}
	count(app, SL_C_KERNEL_WRITTEN);
}

bool sl_exception_neigh_copy(struct sl_app *app, struct rte_mbuf *m)
{
	uint16_t p = m->port;
	if (p >= app->nb_ports || !app->kifs.kif[p].open ||
	    !sl_exc_neigh_for_kernel(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m)))
		return false;
	count(app, SL_C_KERNEL_NEIGH_COPIES);
	to_kernel(app, m, p);
	return true;
}

static void drain_to_kernel(struct sl_app *app)
{
	struct rte_mbuf *m[TO_KERNEL_BUDGET];
	unsigned n = rte_ring_dequeue_burst(app->to_kernel, (void **)m, TO_KERNEL_BUDGET, NULL);
	for (unsigned i = 0; i < n; i++)
		to_kernel(app, m[i], m[i]->port);
}

/* What the kernel sent on port p's interface, checked and within the
 * rate limit, to worker 0, which owns a transmit queue on every port. */
static void from_kernel(struct sl_app *app, uint16_t p, uint32_t now)
{
	struct rte_mbuf *m[FROM_KERNEL_BUDGET];
	const struct sl_local *local = &app->snapshot->tables->local;
	uint16_t n = rte_eth_rx_burst(app->kifs.kif[p].port_id, 0, m, FROM_KERNEL_BUDGET);
	for (uint16_t i = 0; i < n; i++) {
		enum sl_drop why = !rte_pktmbuf_is_contiguous(m[i]) ? SL_DROP_FROM_KERNEL_REFUSED
				   : sl_exc_from_kernel(rte_pktmbuf_mtod(m[i], const uint8_t *),
							rte_pktmbuf_data_len(m[i]), local, p, app->kifs.kif[p].mtu);
		if (why == SL_DROP_NONE && !sl_rate_take(&app->from_kernel[p], app->kernel_limits.from_kernel_rate,
							  app->kernel_limits.from_kernel_burst, now))
			why = SL_DROP_FROM_KERNEL_RATE_LIMITED;
		m[i]->port = p;
		if (why == SL_DROP_NONE && rte_ring_enqueue(app->lcore[0]->from_control, m[i]) != 0)
			why = SL_DROP_FROM_KERNEL_RING_FULL;
		if (why != SL_DROP_NONE)
			drop(app, m[i], why);
		else
			count(app, SL_C_FROM_KERNEL);
	}
}

void sl_exception_poll(struct sl_app *app, uint32_t now)
{
	if (app->to_kernel == NULL)
		return;
	drain_to_kernel(app);
	for (uint16_t p = 0; p < app->nb_ports; p++)
		if (app->kifs.kif[p].open)
			from_kernel(app, p, now);
}
