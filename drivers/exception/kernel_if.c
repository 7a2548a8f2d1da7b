#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h> /* RT_TABLE_MAIN */
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include "exception/kernel_if.h"
#include "exception/netlink.h"

#define KIF_DESC 256
#define MAX_STALE_RULES 64 /* bounds the clean-up of rules a crashed run left */

static int fail(char *err, size_t errlen, const char *ifname, const char *what, int rc)
{
	snprintf(err, errlen, "kernel interface '%s': %s: %s", ifname, what, strerror(rc < 0 ? -rc : rc));
	return -1;
}

static int setup_queues(struct sl_kif *d, struct rte_mempool *mp, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	int rc = rte_eth_dev_configure(d->port_id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_set_mtu(d->port_id, d->mtu); /* net_tap sets the kernel side's */
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(d->port_id, 0, KIF_DESC, rte_eth_dev_socket_id(d->port_id), NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(d->port_id, 0, KIF_DESC, rte_eth_dev_socket_id(d->port_id), NULL);
	return rc == 0 ? 0 : fail(err, errlen, d->ifname, "device set-up", rc);
}

/* The TAP: net_tap gives its kernel side the MAC we pass, the port's. */
static int create_tap(struct sl_kif *d, unsigned idx, const struct sl_kif_cfg *c, char *err, size_t errlen)
{
	char args[96];
	if (if_nametoindex(c->ifname) != 0)
		return fail(err, errlen, c->ifname, "an interface of that name exists already (another sluice "
			    "in this network namespace?)", EEXIST);
	snprintf(d->ifname, sizeof(d->ifname), "%s", c->ifname);
	snprintf(d->vdev, sizeof(d->vdev), "net_tap_sl_kernel%u", idx);
	snprintf(args, sizeof(args), "iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", c->ifname, c->mac[0],
		 c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
	int rc = rte_vdev_init(d->vdev, args);
	if (rc != 0)
		return fail(err, errlen, c->ifname, "cannot create the net_tap device", rc);
	d->open = true;
	d->mtu = c->mtu;
	d->ifindex = if_nametoindex(c->ifname);
	rc = rte_eth_dev_get_port_by_name(d->vdev, &d->port_id);
	if (rc != 0 || d->ifindex == 0)
		return fail(err, errlen, c->ifname, "net_tap device without its interface", rc ? rc : ENODEV);
	return 0;
}

static int add_addresses(struct sl_nl *nl, const struct sl_kif *d, const struct sl_kif_cfg *c, char *err,
			 size_t errlen)
{
	char what[96], text[64];
	for (unsigned i = 0; i < c->nb_addrs; i++) {
		int rc = sl_nl_addr_add(nl, d->ifindex, &c->addrs[i]);
		if (rc == 0)
			continue;
		snprintf(what, sizeof(what), "cannot add %s/%u",
			 sl_addr_format(c->addrs[i].family, &c->addrs[i].addr, text, sizeof(text)), c->addrs[i].len);
		return fail(err, errlen, d->ifname, what, rc);
	}
	return 0;
}

static bool has_family(const struct sl_kif_cfg *c, int family)
{
	for (unsigned i = 0; i < c->nb_addrs; i++)
		if (c->addrs[i].family == family)
			return true;
	return false;
}

/* A namespace whose new interfaces start without IPv6 (its default
 * disable_ipv6) still gets IPv6 on this one when the port has IPv6
 * addresses: the interface carries what the port has. No netlink request
 * sets it; the sysctl is per namespace like the interface. */
static int enable_ipv6(const char *ifname)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

static int open_one(struct sl_kifs *k, unsigned p, struct rte_mempool *mp, char *err, size_t errlen)
{
	struct sl_kif *d = &k->kif[p];
	const struct sl_kif_cfg *c = &k->cfg[p];
	if (create_tap(d, p, c, err, errlen) < 0 || setup_queues(d, mp, err, errlen) < 0)
		return -1;
	/* Before the link comes up, or the kernel makes an fe80:: address. A
	 * namespace without IPv6 refuses it, and then has no link-local either. */
	(void)sl_nl_no_link_local(k->nl, d->ifindex);
	int rc = has_family(c, SL_AF_INET6) ? enable_ipv6(d->ifname) : 0;
	if (rc != 0)
		return fail(err, errlen, d->ifname, "cannot enable IPv6 on it (IPv6 off in this kernel?)", rc);
	rc = rte_eth_dev_start(d->port_id); /* net_tap brings the kernel side up */
	if (rc != 0)
		return fail(err, errlen, d->ifname, "start", rc);
	return add_addresses(k->nl, d, c, err, errlen);
}

/* Remove the rules for our addresses at SL_KIF_RULE_PRIORITY, whatever
 * table they name: ours, or those a crashed run of ours left. */
static void remove_rules(struct sl_kifs *k)
{
	for (unsigned p = 0; p < k->nb_ports; p++)
		for (unsigned i = 0; k->kif[p].open && i < k->cfg[p].nb_addrs; i++)
			for (unsigned n = 0; n < MAX_STALE_RULES; n++)
				if (sl_nl_rule(k->nl, false, 0, SL_KIF_RULE_PRIORITY, k->cfg[p].addrs[i].family,
					       &k->cfg[p].addrs[i].addr) != 0)
					break;
}

/* The first port with a gateway of family: where sluice sends what is off-link. */
static int gateway_port(const struct sl_kifs *k, int family)
{
	for (unsigned p = 0; p < k->nb_ports; p++)
		if (!sl_addr_is_zero(family == SL_AF_INET ? &k->cfg[p].gateway4 : &k->cfg[p].gateway6))
			return (int)p;
	return -1;
}

static int add_default(struct sl_kifs *k, int family, char *err, size_t errlen)
{
	int p = gateway_port(k, family);
	if (p < 0 || !k->kif[p].open) /* none, or its port has no kernel interface: on-link only */
		return 0;
	const struct sl_kif_cfg *c = &k->cfg[p];
	const union sl_addr *gw = family == SL_AF_INET ? &c->gateway4 : &c->gateway6;
	struct sl_prefix any = { .family = (uint8_t)family };
	int rc = sl_nl_route_add(k->nl, k->table, 0, k->kif[p].ifindex, &any, gw);
	if (rc == 0)
		rc = sl_nl_route_add(k->nl, RT_TABLE_MAIN, SL_KIF_MAIN_METRIC, k->kif[p].ifindex, &any, gw);
	return rc == 0 ? 0 : fail(err, errlen, k->kif[p].ifname, "cannot add the default route", rc);
}

static int add_port_routes(struct sl_kifs *k, unsigned p, char *err, size_t errlen)
{
	const struct sl_kif_cfg *c = &k->cfg[p];
	for (unsigned i = 0; i < c->nb_addrs; i++) {
		int rc = sl_nl_route_add(k->nl, k->table, 0, k->kif[p].ifindex, &c->addrs[i], NULL);
		if (rc == 0)
			rc = sl_nl_rule(k->nl, true, k->table, SL_KIF_RULE_PRIORITY, c->addrs[i].family,
					&c->addrs[i].addr);
		if (rc != 0)
			return fail(err, errlen, k->kif[p].ifname, "cannot add its routes and source rules", rc);
	}
	return 0;
}

static int route(struct sl_kifs *k, char *err, size_t errlen)
{
	remove_rules(k);
	for (unsigned p = 0; p < k->nb_ports; p++) {
		if (!k->kif[p].open)
			continue;
		if (k->table == 0)
			k->table = SL_KIF_TABLE_BASE + k->kif[p].ifindex;
		if (add_port_routes(k, p, err, errlen) < 0)
			return -1;
	}
	if (add_default(k, SL_AF_INET, err, errlen) < 0 || add_default(k, SL_AF_INET6, err, errlen) < 0)
		return -1;
	return 0;
}

int sl_kifs_open(struct sl_kifs *k, const struct sl_kif_cfg *cfg, unsigned nb_ports, struct rte_mempool *mp,
		 char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->nb_ports = nb_ports;
	memcpy(k->cfg, cfg, nb_ports * sizeof(*cfg));
	if (sl_kifs_count(k, NULL) == 0)
		return 0;
	k->nl = sl_nl_open();
	if (k->nl == NULL)
		return fail(err, errlen, cfg[0].ifname, "cannot open an rtnetlink socket", errno);
	for (unsigned p = 0; p < nb_ports; p++)
		if (cfg[p].ifname[0] != '\0' && open_one(k, p, mp, err, errlen) < 0)
			return -1;
	return route(k, err, errlen);
}

void sl_kifs_close(struct sl_kifs *k)
{
	if (k->nl != NULL)
		remove_rules(k);
	for (unsigned p = 0; p < k->nb_ports; p++) {
		struct sl_kif *d = &k->kif[p];
		if (!d->open)
			continue;
		rte_eth_dev_stop(d->port_id);
		rte_eth_dev_close(d->port_id);
		rte_vdev_uninit(d->vdev);
		d->open = false;
	}
	sl_nl_close(k->nl);
	k->nl = NULL;
}

unsigned sl_kifs_count(const struct sl_kifs *k, uint32_t *mask)
{
	unsigned n = 0;
	if (mask != NULL)
		*mask = 0;
	for (unsigned p = 0; p < k->nb_ports; p++) {
		if (k->cfg[p].ifname[0] == '\0')
			continue;
		n++;
		if (mask != NULL)
			*mask |= UINT32_C(1) << p;
	}
	return n;
}
