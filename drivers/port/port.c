#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "port/port.h"

#define RX_DESC 1024
#define TX_DESC 1024

static int fail(char *err, size_t errlen, const struct sl_port_cfg *pc, const char *what, int rc)
{
	snprintf(err, errlen, "port '%s' (%s): %s: %s", pc->name, pc->device, what, rte_strerror(-rc));
	return -1;
}

static void rss_conf(const struct rte_eth_dev_info *info, uint16_t nb_rxq, struct rte_eth_conf *conf)
{
	uint64_t wanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
	if (nb_rxq < 2 || (info->flow_type_rss_offloads & wanted) == 0)
		return;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_hf = wanted & info->flow_type_rss_offloads;
}

static int setup_queues(const struct sl_port_cfg *pc, struct sl_port *p, struct rte_mempool *mp,
			char *err, size_t errlen)
{
	int socket = rte_eth_dev_socket_id(p->port_id);
	for (uint16_t q = 0; q < p->nb_rxq; q++) {
		int rc = rte_eth_rx_queue_setup(p->port_id, q, RX_DESC, socket, NULL, mp);
		if (rc < 0)
			return fail(err, errlen, pc, "receive queue set-up", rc);
	}
	for (uint16_t q = 0; q < p->nb_txq; q++) {
		int rc = rte_eth_tx_queue_setup(p->port_id, q, TX_DESC, socket, NULL);
		if (rc < 0)
			return fail(err, errlen, pc, "transmit queue set-up", rc);
	}
	return 0;
}

static int set_mtu(const struct sl_port_cfg *pc, struct sl_port *p, const struct rte_eth_dev_info *info,
		   char *err, size_t errlen, bool *warned)
{
	p->mtu = pc->mtu;
	int rc = rte_eth_dev_set_mtu(p->port_id, pc->mtu);
	if (rc == 0)
		return 0;
	uint16_t dev_mtu = 0;
	if (rte_eth_dev_get_mtu(p->port_id, &dev_mtu) == 0 && dev_mtu > 0 && dev_mtu < pc->mtu)
		p->mtu = dev_mtu;
	if (rc == -ENOTSUP)
		return 0;
	if (rc == -EINVAL && pc->mtu > dev_mtu) {
		snprintf(err, errlen, "port '%s' (%s): device refuses MTU %u (frames up to %u bytes); "
			 "using its MTU %u: larger packets are dropped as too big",
			 pc->name, pc->device, pc->mtu, info->max_rx_pktlen, p->mtu);
		*warned = true;
		return 0;
	}
	return fail(err, errlen, pc, "set MTU", rc);
}

int sl_port_open(const struct sl_port_cfg *pc, unsigned nb_workers, struct rte_mempool *mp,
		 struct sl_port *p, char *err, size_t errlen, bool *warned)
{
	*warned = false;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	memset(p, 0, sizeof(*p));
	memset(&conf, 0, sizeof(conf));
	snprintf(p->name, sizeof(p->name), "%s", pc->name);

	if (rte_eth_dev_get_port_by_name(pc->device, &p->port_id) != 0) {
		snprintf(err, errlen, "port '%s': no DPDK device named '%s' (give it with --vdev or bind the NIC; "
			 "%u ports probed)", pc->name, pc->device, rte_eth_dev_count_avail());
		return -1;
	}
	int rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		return fail(err, errlen, pc, "device info", rc);
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	p->nb_rxq = pc->queues ? pc->queues : (uint16_t)nb_workers;
	p->nb_txq = (uint16_t)nb_workers;
	if (p->nb_rxq > info.max_rx_queues || p->nb_txq > info.max_tx_queues) {
		snprintf(err, errlen, "port '%s' (%s): needs %u receive and %u transmit queues, device has %u and %u",
			 pc->name, pc->device, p->nb_rxq, p->nb_txq, info.max_rx_queues, info.max_tx_queues);
		return -1;
	}
	rss_conf(&info, p->nb_rxq, &conf);
	rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
	if (rc < 0)
		return fail(err, errlen, pc, "configure", rc);
	if (set_mtu(pc, p, &info, err, errlen, warned) < 0)
		return -1;
	if (setup_queues(pc, p, mp, err, errlen) < 0)
		return -1;
	struct rte_ether_addr mac;
	rc = rte_eth_macaddr_get(p->port_id, &mac);
	if (rc != 0)
		return fail(err, errlen, pc, "read MAC address", rc);
	memcpy(p->mac, mac.addr_bytes, 6);
	rc = rte_eth_dev_start(p->port_id);
	if (rc < 0)
		return fail(err, errlen, pc, "start", rc);
	return 0;
}

void sl_port_close(const struct sl_port *p)
{
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
}
