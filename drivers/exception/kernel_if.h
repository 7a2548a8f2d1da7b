/*
 * The kernel interfaces of the exception path: one DPDK net_tap device per
 * data port that wants one, created at run time (rte_vdev_init), named
 * after the port, with the port's MAC, MTU and addresses, and routes that
 * make the kernel send what it answers from those addresses out through
 * the same ports, the way sluice routes (docs/architecture.md, "Exception
 * path").
 *
 * A net_tap interface lives exactly as long as the file descriptors of
 * the process that made it: it goes away when sluice exits, crashes or is
 * SIGKILLed, and its addresses and routes with it. Only the source rules
 * (ip rule) outlive a crash; the next start removes them before adding
 * its own.
 *
 * Only the control thread touches these devices (one queue each way).
 */
#ifndef SLUICE_DRIVERS_EXCEPTION_KERNEL_IF_H
#define SLUICE_DRIVERS_EXCEPTION_KERNEL_IF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h" /* struct sl_prefix, SL_MAX_PORTS, SL_MAX_PORT_ADDRS */

struct rte_mempool;
struct sl_nl;

/* Source rules for our addresses point to table SL_KIF_TABLE_BASE + the
 * ifindex of the first kernel interface: one table per process, never
 * shared by two instances in a namespace. */
#define SL_KIF_TABLE_BASE 20000
#define SL_KIF_RULE_PRIORITY 1000 /* before the main table (32766) */
/* The default routes go into the main table too, for sockets that have not
 * chosen a source (a UDP server bound to the wildcard address), behind any
 * default route of the namespace's own (a management interface's). */
#define SL_KIF_MAIN_METRIC 4096
#define SL_KIF_MBUFS 512         /* receive descriptors plus frames in flight, per interface */

/* What one data port's kernel interface carries. */
struct sl_kif_cfg {
	char ifname[IF_NAMESIZE];    /* "": the port has none */
	uint8_t mac[6];              /* the port's */
	uint16_t mtu;                /* the port's */
	struct sl_prefix addrs[SL_MAX_PORT_ADDRS];
	unsigned nb_addrs;
	union sl_addr gateway4, gateway6; /* zero: none on this port */
};

struct sl_kif {
	bool open;
	char ifname[IF_NAMESIZE];
	char vdev[32];      /* the DPDK device's name */
	uint16_t port_id;   /* its DPDK port */
	unsigned ifindex;
	uint16_t mtu;
};

/* Every kernel interface of the instance, by config port index. */
struct sl_kifs {
	unsigned nb_ports;
	struct sl_kif kif[SL_MAX_PORTS];
	uint32_t table;     /* 0 until routes are set */
	struct sl_nl *nl;
	struct sl_kif_cfg cfg[SL_MAX_PORTS];
};

/*
 * Create, address and start the kernel interface of every port in cfg
 * that has one, then route: each port's prefixes in the instance's table,
 * a default route per family through the first port with a gateway of
 * that family (as sluice itself routes) there and, with metric
 * SL_KIF_MAIN_METRIC, in the main table, and a rule sending what the
 * kernel sends from any of our addresses to the instance's table. Returns 0, or -1
 * with a message naming the interface in err (what was made is undone by
 * sl_kifs_close). Needs CAP_NET_ADMIN.
 */
int sl_kifs_open(struct sl_kifs *k, const struct sl_kif_cfg *cfg, unsigned nb_ports, struct rte_mempool *mp,
		 char *err, size_t errlen);

/* Remove the rules, stop and remove the devices. Safe on a partial open. */
void sl_kifs_close(struct sl_kifs *k);

/* How many ports have a kernel interface; bit p of *mask (if not NULL) for port p. */
unsigned sl_kifs_count(const struct sl_kifs *k, uint32_t *mask);

#endif
