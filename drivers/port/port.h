/*
 * Port back-end: bring up one configured port (NIC or vdev) with one
 * receive queue per polling worker, one transmit queue per worker, RSS
 * when there are several receive queues, and the configured MTU.
 */
#ifndef SLUICE_DRIVERS_PORT_H
#define SLUICE_DRIVERS_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct rte_mempool;

struct sl_port {
	char name[SL_NAME_LEN]; /* the configured name, for telemetry */
	uint16_t port_id;   /* DPDK port id */
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint8_t mac[6];
	uint16_t mtu;       /* what the device carries (may be below the configured MTU) */
	char driver[64];
};

/*
 * Find pc->device among the probed DPDK ports, configure and start it.
 * nb_workers transmit queues are required (each worker owns one);
 * receive queues default to one per worker. Returns 0, or -1 with a
 * message naming the port in err. A device that refuses an MTU above its
 * own limit (net_tap carries at most 1500) is not fatal: the port keeps
 * the device's MTU, out->mtu says which, err holds a warning and *warned
 * is set; the data path then drops larger packets as too big.
 */
int sl_port_open(const struct sl_port_cfg *pc, unsigned nb_workers, struct rte_mempool *mp,
		 struct sl_port *out, char *err, size_t errlen, bool *warned);

void sl_port_close(const struct sl_port *p);

#endif
