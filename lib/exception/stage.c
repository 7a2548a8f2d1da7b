/*
 * The exception path as a data-path stage: what is addressed to us and no
 * other stage claims. ARP, ND and echo requests go to the control thread,
 * which answers them; the rest to the kernel interface of the port it
 * came in on (drivers/exception), within the worker's rate limit.
 */
#include <rte_mbuf.h>

#include "exception/exception.h"
#include "stage/ops.h"

#define ECHO_PER_S 1000 /* echo requests answered per worker */
#define ECHO_BURST 100

/* ICMP echo request or ICMPv6 echo request (what the control thread answers besides ARP and ND). */
static bool is_echo_request(const struct rte_mbuf *m, const struct sl_pkt_info *pi)
{
	if (pi->l4_off >= rte_pktmbuf_data_len(m))
		return false;
	uint8_t type = rte_pktmbuf_mtod(m, const uint8_t *)[pi->l4_off];
	return (pi->proto == SL_PROTO_ICMP && type == 8) || (pi->proto == SL_PROTO_ICMPV6 && type == 128);
}

/* To the control thread; a ping flood is cut here so that ARP and ND,
 * which share its ring, never wait behind it. */
static void to_control(struct sl_worker *w, struct rte_mbuf *m, uint16_t in_port, const struct sl_pkt_info *pi)
{
	if (pi->family != SL_AF_NONE && is_echo_request(m, pi) &&
	    !sl_rate_take(&w->echo, ECHO_PER_S, ECHO_BURST, w->now_ms)) {
		sl_stage_drop(w, m, SL_DROP_ECHO_RATE_LIMITED);
		return;
	}
	sl_stage_pass_up(w, w->to_control, m, in_port, SL_DROP_EXCEPTION_FULL, SL_C_EXCEPTION);
}

/* Towards the in-port's kernel interface, within the worker's rate
 * limit, so a flood to our addresses costs a token check. */
static void to_kernel(struct sl_worker *w, struct rte_mbuf *m, uint16_t in_port)
{
	enum sl_drop why = sl_exc_gate_pass(&w->kernel_gate, in_port, w->now_ms);
	if (why != SL_DROP_NONE) {
		sl_stage_drop(w, m, why);
		return;
	}
	sl_stage_pass_up(w, w->to_kernel, m, in_port, SL_DROP_KERNEL_RING_FULL, SL_C_TO_KERNEL);
}

static void take(struct sl_burst *b, uint16_t i)
{
	struct rte_mbuf *m = b->pkts[i];
	struct sl_pkt_state *st = &b->st[i];
	enum sl_drop why = SL_DROP_NONE;
	if (st->pi.family == SL_AF_NONE) { /* ARP: the parser lets nothing else through */
		to_control(b->w, m, b->in_port, &st->pi);
		return;
	}
	switch (sl_exc_classify(rte_pktmbuf_mtod(m, const uint8_t *), &st->pi, st->own, st->l2_group, &why)) {
	case SL_EXC_CONTROL:
		to_control(b->w, m, b->in_port, &st->pi);
		break;
	case SL_EXC_KERNEL:
		to_kernel(b->w, m, b->in_port);
		break;
	default:
		sl_stage_drop(b->w, m, why);
		break;
	}
}

static void exception_burst(struct sl_burst *b, const uint16_t *idx, uint16_t n)
{
	for (uint16_t j = 0; j < n; j++)
		take(b, idx[j]);
}

const struct sl_stage sl_exception_stage = {
	.name = "exception",
	.claim = { .own = true },
	.burst = exception_burst,
};
