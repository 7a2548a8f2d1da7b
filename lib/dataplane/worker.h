/*
 * One worker's data path for one received burst: parse and classify each
 * frame into a stage (classify.c), then run each stage once over its
 * packets (stage/stage.h), leaving the frames to transmit in per-port
 * buffers for the caller. The worker's state (struct sl_worker) is in
 * stage/tables.h, since stages use it.
 *
 * No ethdev calls here: the lcore loop (app/lcore.c) receives and
 * transmits; unit tests feed mbufs built from bytes. No locks, no
 * allocation, no system calls.
 */
#ifndef SLUICE_DATAPLANE_WORKER_H
#define SLUICE_DATAPLANE_WORKER_H

#include <stdint.h>

#include "dataplane/snapshot.h"

struct rte_mbuf;

/* Process n (<= SL_BURST_MAX) frames received on config port in_port.
 * Afterwards every frame is in w->tx, passed to control or the kernel path, or freed. */
void sl_worker_burst(struct sl_worker *w, const struct sl_snapshot *s, uint16_t in_port,
		     struct rte_mbuf **pkts, uint16_t n);

#endif
