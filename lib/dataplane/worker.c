#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane/classify.h"
#include "dataplane/worker.h"
#include "stage/ops.h"

void sl_worker_burst(struct sl_worker *w, const struct sl_snapshot *s, uint16_t in_port,
		     struct rte_mbuf **pkts, uint16_t n)
{
	struct sl_pkt_state st[SL_BURST_MAX];
	struct sl_burst b = { .w = w, .s = s, .in_port = in_port, .pkts = pkts, .st = st };

	w->burst++; /* what sl_stage_route found in the last burst may be stale now */
	w->stats.c[SL_C_RX_PACKETS] += n;
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		enum sl_stage_id stage = sl_classify(s->tables, in_port, pkts[i], &st[i]);
		if (stage == SL_STAGE_NONE)
			sl_stage_drop(w, pkts[i], st[i].drop);
		else
			b.idx[stage][b.nb[stage]++] = i;
	}
	/* In registration order, so a stage sees what an earlier one handed on. */
	for (unsigned k = 0; k < SL_STAGE_COUNT; k++)
		if (b.nb[k] > 0)
			sl_stages[k]->burst(&b, b.idx[k], b.nb[k]);
	if (w->nb_free > 0) {
		rte_pktmbuf_free_bulk(w->to_free, w->nb_free);
		w->nb_free = 0;
	}
}
