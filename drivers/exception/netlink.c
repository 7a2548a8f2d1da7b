#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "exception/netlink.h"

struct sl_nl {
	struct mnl_socket *sock;
	uint32_t seq;
	char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE, which is not a constant: an acknowledgement needs far less */
};

struct sl_nl *sl_nl_open(void)
{
	struct sl_nl *nl = calloc(1, sizeof(*nl));
	if (nl == NULL)
		return NULL;
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (nl->sock == NULL || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		sl_nl_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

void sl_nl_close(struct sl_nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	free(nl);
}

static struct nlmsghdr *request(struct sl_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send the request in nl->buf and wait for its acknowledgement. */
static int transact(struct sl_nl *nl, const struct nlmsghdr *h)
{
	uint32_t seq = h->nlmsg_seq;
	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return -errno;
	ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(nl->buf, (size_t)n, seq, mnl_socket_get_portid(nl->sock), NULL, NULL) < 0)
		return -errno;
	return 0;
}

static uint8_t af_of(int family)
{
	return family == SL_AF_INET6 ? AF_INET6 : AF_INET;
}

static size_t addr_len(int family)
{
	return family == SL_AF_INET6 ? 16 : 4;
}

int sl_nl_no_link_local(struct sl_nl *nl, unsigned ifindex)
{
	struct nlmsghdr *h = request(nl, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	struct nlattr *spec = mnl_attr_nest_start(h, IFLA_AF_SPEC);
	struct nlattr *inet6 = mnl_attr_nest_start(h, AF_INET6);
	mnl_attr_put_u8(h, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(h, inet6);
	mnl_attr_nest_end(h, spec);
	return transact(nl, h);
}

int sl_nl_addr_add(struct sl_nl *nl, unsigned ifindex, const struct sl_prefix *p)
{
	struct nlmsghdr *h = request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = af_of(p->family);
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(h, IFA_LOCAL, addr_len(p->family), &p->addr);
	mnl_attr_put(h, IFA_ADDRESS, addr_len(p->family), &p->addr);
	mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
	return transact(nl, h);
}

/* The network of a prefix: the kernel refuses routes with host bits set. */
static union sl_addr network_of(const struct sl_prefix *p)
{
	union sl_addr net = p->addr;
	unsigned len = p->len, bytes = (unsigned)addr_len(p->family);
	for (unsigned i = 0; i < bytes; i++, len = len > 8 ? len - 8 : 0)
		net.v6[i] &= len >= 8 ? 0xff : (uint8_t)(0xff00u >> len);
	return net;
}

/* RTM_NEWROUTE (exclusive) or RTM_DELROUTE of the on-link or gatewayed route. */
static int route_msg(struct sl_nl *nl, bool add, uint32_t table, uint32_t metric, unsigned ifindex,
		     const struct sl_prefix *dst, const union sl_addr *gateway)
{
	struct nlmsghdr *h = request(nl, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = af_of(dst->family);
	rt->rtm_dst_len = dst->len;
	rt->rtm_table = RT_TABLE_UNSPEC; /* RTA_TABLE holds all 32 bits */
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = gateway != NULL ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(h, RTA_TABLE, table);
	mnl_attr_put_u32(h, RTA_OIF, ifindex);
	if (metric != 0)
		mnl_attr_put_u32(h, RTA_PRIORITY, metric);
	if (dst->len > 0) {
		union sl_addr net = network_of(dst);
		mnl_attr_put(h, RTA_DST, addr_len(dst->family), &net);
	}
	if (gateway != NULL)
		mnl_attr_put(h, RTA_GATEWAY, addr_len(dst->family), gateway);
	return transact(nl, h);
}

int sl_nl_route_add(struct sl_nl *nl, uint32_t table, uint32_t metric, unsigned ifindex,
		    const struct sl_prefix *dst, const union sl_addr *gateway)
{
	int rc = route_msg(nl, true, table, metric, ifindex, dst, gateway);
	return rc == -EEXIST ? 0 : rc;
}

int sl_nl_route_del(struct sl_nl *nl, uint32_t table, unsigned ifindex, const struct sl_prefix *dst)
{
	int rc = route_msg(nl, false, table, 0, ifindex, dst, NULL);
	return rc == -ESRCH ? 0 : rc;
}

int sl_nl_rule(struct sl_nl *nl, bool add, uint32_t table, uint32_t prio, int family, const union sl_addr *src)
{
	struct nlmsghdr *h = request(nl, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *fr = mnl_nlmsg_put_extra_header(h, sizeof(*fr));
	fr->family = af_of(family);
	fr->src_len = (uint8_t)(addr_len(family) * 8);
	fr->action = add ? FR_ACT_TO_TBL : FR_ACT_UNSPEC; /* unspecified matches any when deleting */
	mnl_attr_put(h, FRA_SRC, addr_len(family), src);
	mnl_attr_put_u32(h, FRA_PRIORITY, prio);
	if (add)
		mnl_attr_put_u32(h, FRA_TABLE, table);
	return transact(nl, h);
}
