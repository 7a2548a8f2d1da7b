/*
 * The "vips" section of the manager state: VIPs, their DIPs, DIP admin
 * state and health, and the commands that change them.
 *
 * Rules are those of lib/config (docs/configuration.md) so that any state
 * maps to a configuration the data plane accepts: addresses of one family
 * per VIP (4in4, 6in6), ports and weights 1..65535, (address, port) unique
 * among a VIP's DIPs, at most SL_MAX_VIPS VIPs and SL_MAX_DIPS_PER_VIP DIPs
 * per VIP, and one VIP per (protocol, DIP address, port) on any one host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/section.h"
#include "packet/packet.h"

static const char *const proto_names[] = {"tcp", "udp", NULL};
static const uint8_t proto_numbers[] = {SL_PROTO_TCP, SL_PROTO_UDP};

static const char *const vip_key_members[] = {"address", "protocol", "port", NULL};
static const char *const vip_members[] = {"address", "protocol", "port", "dips", NULL};
static const char *const dip_key_members[] = {"address", "port", NULL};
static const char *const dip_spec_members[] = {"address", "port", "host", "weight", "admin", NULL};
static const char *const dip_full_members[] = {"address", "port",  "host",
					       "weight",  "admin", "health", NULL};

static const char *proto_name(uint8_t proto)
{
	return proto == SL_PROTO_TCP ? "tcp" : "udp";
}

const char *sl_mgr_vip_name(const struct sl_mgr_vip *v, char buf[SL_MGR_NAME_LEN])
{
	char a[64];
	sl_addr_format(v->family, &v->addr, a, sizeof(a));
	snprintf(buf, SL_MGR_NAME_LEN, v->family == SL_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a, v->port,
		 proto_name(v->proto));
	return buf;
}

static const char *dip_name(int family, const struct sl_mgr_dip *d, char buf[SL_MGR_NAME_LEN])
{
	char a[64];
	sl_addr_format(family, &d->addr, a, sizeof(a));
	snprintf(buf, SL_MGR_NAME_LEN, family == SL_AF_INET6 ? "[%s]:%u" : "%s:%u", a, d->port);
	return buf;
}

/* ------------------------------------------------------------ ordering */

static int cmp_u(unsigned a, unsigned b)
{
	return (a > b) - (a < b);
}

static int vip_cmp(const void *pa, const void *pb)
{
	const struct sl_mgr_vip *a = pa, *b = pb;
	int d = cmp_u(a->family, b->family);
	if (d == 0)
		d = cmp_u(a->proto, b->proto);
	if (d == 0)
		d = memcmp(&a->addr, &b->addr, sizeof(a->addr)); /* network order: numeric */
	return d != 0 ? d : cmp_u(a->port, b->port);
}

static int dip_cmp(const void *pa, const void *pb)
{
	const struct sl_mgr_dip *a = pa, *b = pb;
	int d = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	return d != 0 ? d : cmp_u(a->port, b->port);
}

/* Position of key in a sorted array, or where it would go; *found says which. */
static size_t lower_bound(const void *base, size_t n, size_t size, const void *key,
			  int (*cmp)(const void *, const void *), bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp((const char *)base + mid * size, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && cmp((const char *)base + lo * size, key) == 0;
	return lo;
}

static size_t vip_search(const struct sl_mgr_state *s, const struct sl_mgr_vip *key, bool *found)
{
	return lower_bound(s->vips, s->nb_vips, sizeof(*s->vips), key, vip_cmp, found);
}

static size_t dip_search(const struct sl_mgr_vip *v, const struct sl_mgr_dip *key, bool *found)
{
	if (v->dips == NULL) {
		*found = false;
		return 0;
	}
	return lower_bound(v->dips->dip, v->dips->n, sizeof(v->dips->dip[0]), key, dip_cmp, found);
}

/* ------------------------------------------------- copy-on-write DIP sets */

/*
 * The working copy borrows the state's DIP arrays. An op that changes one
 * first makes its own (dips_writable); the transaction lists the arrays it
 * made (freed if it aborts) and the state's arrays the copy stopped using
 * (freed when it commits). Nothing else is counted or visited, so a
 * transaction costs what it changes, whatever the size of the state.
 */

/* Make room for one more element of a list; -1 on ENOMEM. */
static int reserve_one(void **list, uint32_t n, uint32_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	uint32_t ncap = *cap ? 2 * *cap : 16;
	void *grown = realloc(*list, (size_t)ncap * size);
	if (grown == NULL)
		return -1;
	*list = grown;
	*cap = ncap;
	return 0;
}

static uint64_t next_rev(void)
{
	static uint64_t last;
	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

/* Did this transaction make d (so it may change it in place)? */
static bool txn_made(const struct sl_mgr_txn *t, const struct sl_mgr_dips *d)
{
	return d->slot < t->nb_created && t->created[d->slot] == d;
}

/* An empty array with room for cap, listed as made by t. */
static struct sl_mgr_dips *dips_new(struct sl_mgr_txn *t, uint32_t cap)
{
	if (reserve_one((void **)&t->created, t->nb_created, &t->cap_created, sizeof(*t->created)) < 0)
		return NULL;
	struct sl_mgr_dips *d = malloc(sizeof(*d) + (size_t)cap * sizeof(d->dip[0]));
	if (d == NULL)
		return NULL;
	*d = (struct sl_mgr_dips){.rev = next_rev(), .refs = 1, .slot = t->nb_created, .cap = cap};
	t->created[t->nb_created++] = d;
	return d;
}

/* v no longer uses its array: freed now if t made it, else by the commit
 * (the state before still holds it). */
static int drop_dips(struct sl_mgr_txn *t, const struct sl_mgr_vip *v, struct sl_mgr_err *err)
{
	struct sl_mgr_dips *d = v->dips;
	if (d == NULL)
		return 0;
	if (txn_made(t, d)) {
		t->created[d->slot] = NULL;
		free(d);
		return 0;
	}
	if (reserve_one((void **)&t->dropped, t->nb_dropped, &t->cap_dropped, sizeof(*t->dropped)) < 0)
		return sl_mgr_fail_oom(err);
	t->dropped[t->nb_dropped++] = *v;
	return 0;
}

/* v loses its DIPs (deleted, or given a new list). */
static int forget_dips(struct sl_mgr_txn *t, const struct sl_mgr_vip *v, struct sl_mgr_err *err)
{
	t->work->nb_dips -= sl_mgr_vip_nb_dips(v);
	return drop_dips(t, v, err);
}

/* Grow an array t made, in place of the old one in its list. */
static int dips_grow(struct sl_mgr_txn *t, struct sl_mgr_vip *v, uint32_t cap)
{
	struct sl_mgr_dips *d = realloc(v->dips, sizeof(*d) + (size_t)cap * sizeof(d->dip[0]));
	if (d == NULL)
		return -1;
	d->cap = cap;
	t->created[d->slot] = d;
	v->dips = d;
	return 0;
}

/* Make v's DIP array this transaction's own, with room for `extra` more:
 * the committed state keeps the array it holds. */
static int dips_writable(struct sl_mgr_txn *t, struct sl_mgr_vip *v, uint32_t extra,
			 struct sl_mgr_err *err)
{
	struct sl_mgr_dips *d = v->dips;
	uint32_t n = d != NULL ? d->n : 0;
	bool mine = d != NULL && txn_made(t, d);
	if (mine && d->cap >= n + extra)
		return 0;
	uint32_t cap = n + extra < 2 * n ? 2 * n : n + extra;
	if (cap < 4)
		cap = 4;
	if (mine)
		return dips_grow(t, v, cap) < 0 ? sl_mgr_fail_oom(err) : 0;
	struct sl_mgr_dips *nd = dips_new(t, cap);
	if (nd == NULL)
		return sl_mgr_fail_oom(err);
	nd->n = n;
	if (n > 0)
		memcpy(nd->dip, d->dip, (size_t)n * sizeof(nd->dip[0]));
	if (drop_dips(t, v, err) < 0)
		return -1; /* nd is listed: the abort frees it */
	v->dips = nd;
	return 0;
}

/* ------------------------------------------------------------ parsing */

static int parse_vip_fields(const json_t *o, struct sl_mgr_vip *v, struct sl_mgr_err *err)
{
	int family, proto;
	uint32_t port;
	if (sl_mgr_get_addr(o, "address", SL_AF_NONE, &v->addr, &family, err) < 0 ||
	    sl_mgr_get_enum(o, "protocol", true, proto_names, 0, &proto, err) < 0 ||
	    sl_mgr_get_uint(o, "port", true, 1, 65535, 0, &port, err) < 0)
		return -1;
	v->family = (uint8_t)family;
	v->proto = proto_numbers[proto];
	v->port = (uint16_t)port;
	return 0;
}

/* A VIP key object {"address", "protocol", "port"}. */
static int parse_vip_key(const json_t *o, struct sl_mgr_vip *v, struct sl_mgr_err *err)
{
	memset(v, 0, sizeof(*v));
	if (!json_is_object(o))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an object");
	return sl_mgr_check_members(o, vip_key_members, err) < 0 ? -1 : parse_vip_fields(o, v, err);
}

/* address and port of a DIP of v; port defaults to the VIP's, as in the file. */
static int parse_dip_key_fields(const json_t *o, const struct sl_mgr_vip *v, bool port_required,
				struct sl_mgr_dip *d, struct sl_mgr_err *err)
{
	int family;
	uint32_t port;
	if (sl_mgr_get_addr(o, "address", v->family, &d->addr, &family, err) < 0 ||
	    sl_mgr_get_uint(o, "port", port_required, 1, 65535, v->port, &port, err) < 0)
		return -1;
	d->port = (uint16_t)port;
	return 0;
}

/*
 * A DIP of v as written in commands (address, port, host, weight, admin;
 * health always starts unknown) or, full, as in snapshots (every member,
 * health included).
 */
static int parse_dip(const json_t *o, const struct sl_mgr_vip *v, bool full, struct sl_mgr_dip *d,
		     struct sl_mgr_err *err)
{
	int family, admin, health = SL_MGR_HEALTH_UNKNOWN;
	uint32_t weight;
	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an object");
	if (sl_mgr_check_members(o, full ? dip_full_members : dip_spec_members, err) < 0 ||
	    parse_dip_key_fields(o, v, full, d, err) < 0 ||
	    sl_mgr_get_addr(o, "host", v->family, &d->host, &family, err) < 0 ||
	    sl_mgr_get_uint(o, "weight", full, 1, 65535, 100, &weight, err) < 0 ||
	    sl_mgr_get_enum(o, "admin", full, sl_mgr_admin_names, SL_MGR_ACTIVE, &admin, err) < 0 ||
	    (full && sl_mgr_get_enum(o, "health", true, sl_mgr_health_names, 0, &health, err) < 0))
		return -1;
	d->weight = (uint16_t)weight;
	d->admin = (uint8_t)admin;
	d->health = (uint8_t)health;
	return 0;
}

/* ------------------------------------------------------------ mutations */

static struct sl_mgr_holding holding(const struct sl_mgr_vip *v, const struct sl_mgr_dip *d)
{
	return (struct sl_mgr_holding){
		.key = {.addr = d->addr, .host = d->host, .family = v->family, .proto = v->proto,
			.port = d->port},
		.vip_addr = v->addr,
		.vip_port = v->port};
}

/* List d for the host-agent rule (vips_check) and the key map. */
static int note_added(struct sl_mgr_txn *t, const struct sl_mgr_vip *v, const struct sl_mgr_dip *d,
		      struct sl_mgr_err *err)
{
	if (reserve_one((void **)&t->added, t->nb_added, &t->cap_added, sizeof(*t->added)) < 0)
		return sl_mgr_fail_oom(err);
	t->added[t->nb_added++] = holding(v, d);
	return 0;
}

static struct sl_mgr_vip *insert_vip_at(struct sl_mgr_state *s, size_t pos,
					 const struct sl_mgr_vip *v, struct sl_mgr_err *err)
{
	struct sl_mgr_vip *vips = realloc(s->vips, (s->nb_vips + 1) * sizeof(*vips));
	if (vips == NULL) {
		sl_mgr_fail_oom(err);
		return NULL;
	}
	memmove(&vips[pos + 1], &vips[pos], (s->nb_vips - pos) * sizeof(*vips));
	vips[pos] = *v;
	s->vips = vips;
	s->nb_vips++;
	return &vips[pos];
}

/* Insert VIP v (its DIPs come later) where it belongs. */
static struct sl_mgr_vip *add_vip(struct sl_mgr_txn *t, const struct sl_mgr_vip *v,
				   struct sl_mgr_err *err)
{
	char name[SL_MGR_NAME_LEN];
	bool found;
	size_t pos = vip_search(t->work, v, &found);
	if (found) {
		sl_mgr_fail(err, SL_MGR_EEXIST, "VIP %s already exists", sl_mgr_vip_name(v, name));
		return NULL;
	}
	if (t->work->nb_vips >= SL_MAX_VIPS) {
		sl_mgr_fail(err, SL_MGR_ELIMIT, "cannot add VIP %s: already %u VIPs, the most allowed",
			    sl_mgr_vip_name(v, name), SL_MAX_VIPS);
		return NULL;
	}
	t->flags |= SL_MGR_TXN_VIPS;
	/* A VIP moved to a new key (vip_update) brings its DIPs under new
	 * host-agent keys: they count as added. */
	for (uint32_t j = 0; j < sl_mgr_vip_nb_dips(v); j++)
		if (note_added(t, v, &v->dips->dip[j], err) < 0)
			return NULL;
	return insert_vip_at(t->work, pos, v, err);
}

static void remove_vip_at(struct sl_mgr_state *s, size_t pos)
{
	memmove(&s->vips[pos], &s->vips[pos + 1], (s->nb_vips - pos - 1) * sizeof(*s->vips));
	s->nb_vips--;
}

static int add_dip(struct sl_mgr_txn *t, struct sl_mgr_vip *v, const struct sl_mgr_dip *d,
		   struct sl_mgr_err *err)
{
	char dn[SL_MGR_NAME_LEN], vn[SL_MGR_NAME_LEN];
	bool found;
	size_t pos = dip_search(v, d, &found);
	if (found)
		return sl_mgr_fail(err, SL_MGR_EEXIST, "DIP %s already backs VIP %s",
				   dip_name(v->family, d, dn), sl_mgr_vip_name(v, vn));
	if (sl_mgr_vip_nb_dips(v) >= SL_MAX_DIPS_PER_VIP)
		return sl_mgr_fail(err, SL_MGR_ELIMIT,
				   "cannot add DIP %s: VIP %s already has %u DIPs, the most allowed",
				   dip_name(v->family, d, dn), sl_mgr_vip_name(v, vn), SL_MAX_DIPS_PER_VIP);
	if (dips_writable(t, v, 1, err) < 0)
		return -1;
	struct sl_mgr_dips *ds = v->dips;
	memmove(&ds->dip[pos + 1], &ds->dip[pos], (ds->n - pos) * sizeof(ds->dip[0]));
	ds->dip[pos] = *d;
	ds->n++;
	t->work->nb_dips++;
	t->flags |= SL_MGR_TXN_VIPS;
	return note_added(t, v, d, err);
}

/* Health a re-listed DIP keeps: that of the same (address, port, host) in old. */
static uint8_t carried_health(const struct sl_mgr_dips *old, const struct sl_mgr_dip *d)
{
	bool found;
	if (old == NULL)
		return SL_MGR_HEALTH_UNKNOWN;
	size_t pos = lower_bound(old->dip, old->n, sizeof(old->dip[0]), d, dip_cmp, &found);
	if (found && sl_addr_eq(&old->dip[pos].host, &d->host))
		return old->dip[pos].health;
	return SL_MGR_HEALTH_UNKNOWN;
}

/* Add the DIP objects of list to v (full: snapshot form); health of DIPs
 * that were in old carries over. Errors name "dips.[i]". */
static int add_dip_list(struct sl_mgr_txn *t, struct sl_mgr_vip *v, const json_t *list,
			bool full, const struct sl_mgr_dips *old, struct sl_mgr_err *err)
{
	size_t i;
	const json_t *o;
	json_array_foreach((json_t *)list, i, o) {
		struct sl_mgr_dip d;
		if (parse_dip(o, v, full, &d, err) == 0) {
			if (!full)
				d.health = carried_health(old, &d);
			if (add_dip(t, v, &d, err) == 0)
				continue;
		}
		sl_mgr_err_path(err, "dips.[%zu]", i);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ look-ups */

/* The VIP named by cmd.vip in the working copy; *pos is its index. */
static struct sl_mgr_vip *find_vip(struct sl_mgr_txn *t, const json_t *cmd, size_t *pos,
				   struct sl_mgr_err *err)
{
	const json_t *o;
	struct sl_mgr_vip key;
	char name[SL_MGR_NAME_LEN];
	bool found;
	if (sl_mgr_get_object(cmd, "vip", true, &o, err) < 0)
		return NULL;
	if (parse_vip_key(o, &key, err) < 0) {
		sl_mgr_err_path(err, "vip");
		return NULL;
	}
	*pos = vip_search(t->work, &key, &found);
	if (!found) {
		sl_mgr_fail(err, SL_MGR_ENOENT, "VIP %s does not exist", sl_mgr_vip_name(&key, name));
		return NULL;
	}
	return &t->work->vips[*pos];
}

/* The DIP named by cmd.dip among cmd.vip's, made writable. */
static struct sl_mgr_dip *find_dip(struct sl_mgr_txn *t, const json_t *cmd,
				   struct sl_mgr_vip **vp, size_t *pos, struct sl_mgr_err *err)
{
	const json_t *o;
	struct sl_mgr_dip key;
	char dn[SL_MGR_NAME_LEN], vn[SL_MGR_NAME_LEN];
	bool found;
	size_t vpos;
	struct sl_mgr_vip *v = find_vip(t, cmd, &vpos, err);
	if (v == NULL || sl_mgr_get_object(cmd, "dip", true, &o, err) < 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	if (sl_mgr_check_members(o, dip_key_members, err) < 0 ||
	    parse_dip_key_fields(o, v, false, &key, err) < 0) {
		sl_mgr_err_path(err, "dip");
		return NULL;
	}
	*pos = dip_search(v, &key, &found);
	if (!found) {
		sl_mgr_fail(err, SL_MGR_ENOENT, "DIP %s does not back VIP %s",
			    dip_name(v->family, &key, dn), sl_mgr_vip_name(v, vn));
		return NULL;
	}
	if (dips_writable(t, v, 0, err) < 0)
		return NULL;
	*vp = v;
	return &v->dips->dip[*pos];
}

/* ------------------------------------------------------------ commands */

/* The DIP list of a command that may carry it in two places (the API puts
 * it beside the VIP key, a snapshot-like command inside): at most one. */
static int dip_list(const json_t *cmd, const json_t *inner, const char *inner_name,
		    const json_t **list, bool *is_inner, struct sl_mgr_err *err)
{
	const json_t *outer, *in;
	if (sl_mgr_get_array(cmd, "dips", false, SL_MAX_DIPS_PER_VIP, &outer, err) < 0)
		return -1;
	if (inner != NULL && sl_mgr_get_array(inner, "dips", false, SL_MAX_DIPS_PER_VIP, &in, err) < 0) {
		sl_mgr_err_path(err, "%s", inner_name);
		return -1;
	}
	if (inner == NULL)
		in = NULL;
	if (outer != NULL && in != NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "dips: given twice (dips and %s.dips)",
				   inner_name);
	*is_inner = in != NULL;
	*list = in != NULL ? in : outer;
	return 0;
}

/* vip_create: {"vip": {address, protocol, port[, dips]}[, "dips"]} */
static int op_vip_create(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	const json_t *o, *list;
	struct sl_mgr_vip key = {0};
	struct sl_mgr_vip *v;
	bool inner;
	if (sl_mgr_get_object(cmd, "vip", true, &o, err) < 0)
		return -1;
	if (sl_mgr_check_members(o, vip_members, err) < 0 || parse_vip_fields(o, &key, err) < 0) {
		sl_mgr_err_path(err, "vip");
		return -1;
	}
	if (dip_list(cmd, o, "vip", &list, &inner, err) < 0 || (v = add_vip(t, &key, err)) == NULL)
		return -1;
	if (list != NULL && add_dip_list(t, v, list, false, NULL, err) < 0) {
		if (inner)
			sl_mgr_err_path(err, "vip");
		return -1;
	}
	return 0;
}

/* The members of "set" other than dips, applied to a copy of the VIP key. */
static int parse_vip_set(const json_t *set, struct sl_mgr_vip *nv, struct sl_mgr_err *err)
{
	int family, proto;
	uint32_t port;
	if (json_object_size(set) == 0)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "nothing to change");
	if (sl_mgr_check_members(set, vip_members, err) < 0)
		return -1;
	if (json_object_get(set, "address") != NULL) {
		if (sl_mgr_get_addr(set, "address", SL_AF_NONE, &nv->addr, &family, err) < 0)
			return -1;
		nv->family = (uint8_t)family;
	}
	if (sl_mgr_get_enum(set, "protocol", false, proto_names, nv->proto == SL_PROTO_UDP, &proto,
			    err) < 0 ||
	    sl_mgr_get_uint(set, "port", false, 1, 65535, nv->port, &port, err) < 0)
		return -1;
	nv->proto = proto_numbers[proto];
	nv->port = (uint16_t)port;
	return 0;
}

/*
 * vip_update: change the VIP's address, protocol or port ("set") and/or
 * replace its DIP set declaratively ("dips" or "set.dips"; DIPs listed
 * again keep their health). A new family needs a new DIP list: DIPs share
 * the VIP's family.
 */
static int op_vip_update(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	const json_t *set, *list;
	bool in_set;
	size_t pos;
	struct sl_mgr_vip *v = find_vip(t, cmd, &pos, err);
	if (v == NULL || sl_mgr_get_object(cmd, "set", false, &set, err) < 0 ||
	    dip_list(cmd, set, "set", &list, &in_set, err) < 0)
		return -1;
	if (set == NULL && list == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "nothing to change (give set or dips)");
	struct sl_mgr_vip nv = *v;
	if (set != NULL && parse_vip_set(set, &nv, err) < 0) {
		sl_mgr_err_path(err, "set");
		return -1;
	}
	if (nv.family != v->family && list == NULL && sl_mgr_vip_nb_dips(v) > 0)
		return sl_mgr_fail(err, SL_MGR_EINVAL,
				   "set.address: the VIP's DIPs are IPv%u; a VIP of another family "
				   "needs its new DIPs in dips",
				   v->family);
	if (list != NULL)
		nv.dips = NULL; /* built from list below */
	else if (vip_cmp(&nv, v) != 0 && v->dips != NULL) {
		/* The same DIPs under a new key: a new array (a new rev), as the
		 * data-plane spec's revs promise. */
		if (dips_writable(t, v, 0, err) < 0)
			return -1;
		nv.dips = v->dips;
	}
	struct sl_mgr_vip was = *v;
	remove_vip_at(t->work, pos);
	struct sl_mgr_vip *moved = add_vip(t, &nv, err);
	if (moved == NULL || list == NULL)
		return moved == NULL ? -1 : 0;
	int rc = add_dip_list(t, moved, list, false, was.dips, err);
	if (rc == 0)
		rc = forget_dips(t, &was, err);
	if (rc < 0 && in_set)
		sl_mgr_err_path(err, "set");
	return rc;
}

static int op_vip_delete(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	size_t pos;
	struct sl_mgr_vip *v = find_vip(t, cmd, &pos, err);
	if (v == NULL || forget_dips(t, v, err) < 0)
		return -1;
	remove_vip_at(t->work, pos);
	return 0;
}

static int op_dip_add(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	const json_t *o;
	struct sl_mgr_dip d;
	size_t pos;
	struct sl_mgr_vip *v = find_vip(t, cmd, &pos, err);
	if (v == NULL || sl_mgr_get_object(cmd, "dip", true, &o, err) < 0)
		return -1;
	if (parse_dip(o, v, false, &d, err) < 0) {
		sl_mgr_err_path(err, "dip");
		return -1;
	}
	return add_dip(t, v, &d, err);
}

static int op_dip_remove(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	struct sl_mgr_vip *v;
	size_t pos;
	if (find_dip(t, cmd, &v, &pos, err) == NULL)
		return -1;
	struct sl_mgr_dips *ds = v->dips;
	memmove(&ds->dip[pos], &ds->dip[pos + 1], (ds->n - pos - 1) * sizeof(ds->dip[0]));
	ds->n--;
	t->work->nb_dips--;
	return 0;
}

static int op_dip_set_weight(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	struct sl_mgr_vip *v;
	size_t pos;
	uint32_t weight;
	/* Parse first: find_dip() copies a shared DIP array, wasted on a bad weight. */
	if (sl_mgr_get_uint(cmd, "weight", true, 1, 65535, 0, &weight, err) < 0)
		return -1;
	struct sl_mgr_dip *d = find_dip(t, cmd, &v, &pos, err);
	if (d == NULL)
		return -1;
	d->weight = (uint16_t)weight;
	return 0;
}

/* drain, enable and disable differ only in the admin state they set;
 * setting the state a DIP already has succeeds (scripts may repeat). */
static int set_admin(struct sl_mgr_txn *t, const json_t *cmd, enum sl_mgr_admin admin,
		     struct sl_mgr_err *err)
{
	struct sl_mgr_vip *v;
	size_t pos;
	struct sl_mgr_dip *d = find_dip(t, cmd, &v, &pos, err);
	if (d == NULL)
		return -1;
	d->admin = (uint8_t)admin;
	return 0;
}

static int op_dip_drain(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	return set_admin(t, cmd, SL_MGR_DRAINING, err);
}

static int op_dip_enable(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	return set_admin(t, cmd, SL_MGR_ACTIVE, err);
}

static int op_dip_disable(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	return set_admin(t, cmd, SL_MGR_DISABLED, err);
}

/* A health report without "vip": the DIP (address, port[, host]) as probed
 * on its host, wherever it backs a VIP. */
struct health_target {
	struct sl_mgr_dip key;
	int family;
	bool any_host;
};

static int parse_health_target(const json_t *cmd, struct health_target *ht,
			       struct sl_mgr_err *err)
{
	static const char *const members[] = {"address", "port", "host", NULL};
	const json_t *o;
	uint32_t port;
	int family;
	memset(ht, 0, sizeof(*ht));
	if (sl_mgr_get_object(cmd, "dip", true, &o, err) < 0)
		return -1;
	if (sl_mgr_check_members(o, members, err) < 0 ||
	    sl_mgr_get_addr(o, "address", SL_AF_NONE, &ht->key.addr, &ht->family, err) < 0 ||
	    sl_mgr_get_uint(o, "port", true, 1, 65535, 0, &port, err) < 0) {
		sl_mgr_err_path(err, "dip");
		return -1;
	}
	ht->key.port = (uint16_t)port;
	ht->any_host = json_object_get(o, "host") == NULL;
	if (!ht->any_host &&
	    sl_mgr_get_addr(o, "host", ht->family, &ht->key.host, &family, err) < 0) {
		sl_mgr_err_path(err, "dip");
		return -1;
	}
	return 0;
}

#define NO_VIP UINT32_MAX
static uint32_t holder_index(const struct sl_mgr_state *s, const struct sl_mgr_holding *h);

/* h's DIP gets health, if h's VIP holds it in the working copy. */
static int set_health_held(struct sl_mgr_txn *t, const struct sl_mgr_holding *h, uint8_t health,
			   unsigned *hits, struct sl_mgr_err *err)
{
	uint32_t pos = holder_index(t->work, h);
	if (pos == NO_VIP)
		return 0;
	struct sl_mgr_vip *v = &t->work->vips[pos];
	struct sl_mgr_dip key = {.addr = h->key.addr, .port = h->key.port};
	bool found;
	if (dips_writable(t, v, 0, err) < 0)
		return -1;
	v->dips->dip[dip_search(v, &key, &found)].health = health;
	(*hits)++;
	return 0;
}

/* A DIP on a given host is a host-agent key under each protocol: its VIPs
 * are the key map's holders and those this transaction added it to (as
 * for the host-agent rule), found without a pass over every VIP. */
static int report_health_on_host(struct sl_mgr_txn *t, const struct health_target *ht,
				 uint8_t health, unsigned *hits, struct sl_mgr_err *err)
{
	static const uint8_t protos[] = {SL_PROTO_TCP, SL_PROTO_UDP};
	struct sl_mgr_agent_key k = {.addr = ht->key.addr, .host = ht->key.host,
				     .family = (uint8_t)ht->family, .port = ht->key.port};
	for (unsigned i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		k.proto = protos[i];
		const struct sl_mgr_holding *h = sl_mgr_agents_find(t->work->agents, &k);
		if (h != NULL && set_health_held(t, h, health, hits, err) < 0)
			return -1;
	}
	for (uint32_t i = 0; i < t->nb_added; i++) {
		const struct sl_mgr_agent_key *a = &t->added[i].key;
		if (a->family == k.family && a->port == k.port && sl_addr_eq(&a->addr, &k.addr) &&
		    sl_addr_eq(&a->host, &k.host) && set_health_held(t, &t->added[i], health, hits, err) < 0)
			return -1;
	}
	return 0;
}

static int report_health_everywhere(struct sl_mgr_txn *t, const json_t *cmd, uint8_t health,
				    struct sl_mgr_err *err)
{
	struct health_target ht;
	char dn[SL_MGR_NAME_LEN];
	unsigned hits = 0;
	if (parse_health_target(cmd, &ht, err) < 0)
		return -1;
	if (!ht.any_host && report_health_on_host(t, &ht, health, &hits, err) < 0)
		return -1;
	for (uint32_t i = 0; ht.any_host && i < t->work->nb_vips; i++) {
		struct sl_mgr_vip *v = &t->work->vips[i];
		bool found = false;
		size_t pos = v->family == ht.family ? dip_search(v, &ht.key, &found) : 0;
		if (v->family != ht.family || !found ||
		    (!ht.any_host && !sl_addr_eq(&v->dips->dip[pos].host, &ht.key.host)))
			continue;
		if (dips_writable(t, v, 0, err) < 0)
			return -1;
		v->dips->dip[pos].health = health;
		hits++;
	}
	if (hits == 0)
		return sl_mgr_fail(err, SL_MGR_ENOENT, "DIP %s backs no VIP%s",
				   dip_name(ht.family, &ht.key, dn), ht.any_host ? "" : " on that host");
	return 0;
}

static int op_dip_health(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	int health;
	struct sl_mgr_vip *v;
	size_t pos;
	if (sl_mgr_get_enum(cmd, "health", true, sl_mgr_health_names, 0, &health, err) < 0)
		return -1;
	if (json_object_get(cmd, "vip") == NULL)
		return report_health_everywhere(t, cmd, (uint8_t)health, err);
	struct sl_mgr_dip *d = find_dip(t, cmd, &v, &pos, err);
	if (d == NULL)
		return -1;
	d->health = (uint8_t)health;
	return 0;
}

/* ------------------------------------------------------------ invariants */

static int agent_key_cmp(const struct sl_mgr_agent_key *a, const struct sl_mgr_agent_key *b)
{
	int d = cmp_u(a->family, b->family);
	if (d == 0)
		d = cmp_u(a->proto, b->proto);
	if (d == 0)
		d = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	if (d == 0)
		d = cmp_u(a->port, b->port);
	return d != 0 ? d : memcmp(&a->host, &b->host, sizeof(a->host));
}

/* By key, then VIP: a key's holdings side by side, in the key order the
 * report has always used (the smallest shared key is the one named). */
static int holding_cmp(const void *pa, const void *pb)
{
	const struct sl_mgr_holding *a = pa, *b = pb;
	int d = agent_key_cmp(&a->key, &b->key);
	if (d == 0)
		d = memcmp(&a->vip_addr, &b->vip_addr, sizeof(a->vip_addr));
	return d != 0 ? d : cmp_u(a->vip_port, b->vip_port);
}

static bool same_vip(const struct sl_mgr_holding *a, const struct sl_mgr_holding *b)
{
	return a->vip_port == b->vip_port && sl_addr_eq(&a->vip_addr, &b->vip_addr);
}

/* Index in s of h's VIP if it holds h's key, else NO_VIP. */
static uint32_t holder_index(const struct sl_mgr_state *s, const struct sl_mgr_holding *h)
{
	struct sl_mgr_vip key = {.addr = h->vip_addr, .family = h->key.family,
				 .proto = h->key.proto, .port = h->vip_port};
	struct sl_mgr_dip dkey = {.addr = h->key.addr, .port = h->key.port};
	bool found;
	size_t pos = vip_search(s, &key, &found);
	if (!found)
		return NO_VIP;
	const struct sl_mgr_vip *v = &s->vips[pos];
	size_t dpos = dip_search(v, &dkey, &found);
	return found && sl_addr_eq(&v->dips->dip[dpos].host, &h->key.host) ? (uint32_t)pos : NO_VIP;
}

static int report_shared_dip(const struct sl_mgr_state *s, const struct sl_mgr_agent_key *k,
			     uint32_t vip1, uint32_t vip2, struct sl_mgr_err *err)
{
	char dn[SL_MGR_NAME_LEN], hn[64], v1[SL_MGR_NAME_LEN], v2[SL_MGR_NAME_LEN];
	struct sl_mgr_dip d = {.addr = k->addr, .port = k->port};
	return sl_mgr_fail(err, SL_MGR_EEXIST,
			   "DIP %s on host %s would back both VIP %s and VIP %s; its host agent "
			   "could not map replies back to one VIP",
			   dip_name(k->family, &d, dn), sl_addr_format(k->family, &k->host, hn, sizeof(hn)),
			   sl_mgr_vip_name(&s->vips[vip1], v1), sl_mgr_vip_name(&s->vips[vip2], v2));
}

/* The two lowest indices of VIPs in s holding a key. */
struct lowest_two {
	uint32_t first, second;
};

static void consider(struct lowest_two *l, uint32_t vip)
{
	if (vip == NO_VIP || vip == l->first || vip == l->second)
		return;
	if (vip < l->first) {
		l->second = l->first;
		l->first = vip;
	} else if (vip < l->second)
		l->second = vip;
}

/*
 * The VIPs that may hold a key the transaction added, group[0..n) (its
 * holdings, sorted): those it was added to, and the one holding it in the
 * state before (the key map). Another VIP holding it now would have held
 * it before too, and then been its holder. Fails on two holders, naming
 * the two lowest VIPs.
 */
static int check_key(const struct sl_mgr_txn *t, const struct sl_mgr_holding *group, uint32_t n,
		     struct sl_mgr_err *err)
{
	const struct sl_mgr_holding *before = sl_mgr_agents_find(t->work->agents, &group[0].key);
	uint32_t candidates = before != NULL;
	for (uint32_t i = 0; i < n; i++)
		if ((i == 0 || !same_vip(&group[i - 1], &group[i])) &&
		    (before == NULL || !same_vip(before, &group[i])))
			candidates++;
	if (candidates < 2)
		return 0; /* one VIP at most: nothing to look up */
	struct lowest_two l = {NO_VIP, NO_VIP};
	if (before != NULL)
		consider(&l, holder_index(t->work, before));
	for (uint32_t i = 0; i < n; i++)
		consider(&l, holder_index(t->work, &group[i]));
	return l.second == NO_VIP ? 0 : report_shared_dip(t->work, &group[0].key, l.first, l.second, err);
}

/*
 * lib/config's rule for local DIPs, for every host at once: the host agent
 * recognises a reply by its source (protocol, DIP address, port), so on one
 * host that must lead to one VIP. Checked once per transaction, so a batch
 * may move a DIP from one VIP to another in either order; only the keys it
 * added are looked at, against the key map (agents.h), so the cost is that
 * of the change. The verdict and message are those of comparing every DIP
 * with every other: the smallest shared key, with its two lowest VIPs.
 */
static int vips_check(struct sl_mgr_txn *t, struct sl_mgr_err *err)
{
	if (t->nb_added == 0)
		return 0;
	/* The commit adds these keys to the map and must not fail. */
	if (sl_mgr_agents_reserve(t->work->agents, t->nb_added) < 0)
		return sl_mgr_fail_oom(err);
	qsort(t->added, t->nb_added, sizeof(t->added[0]), holding_cmp);
	for (uint32_t i = 0, j; i < t->nb_added; i = j) {
		for (j = i + 1; j < t->nb_added && agent_key_cmp(&t->added[i].key, &t->added[j].key) == 0; j++)
			;
		if (check_key(t, &t->added[i], j - i, err) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ encoding */

static json_t *dip_to_json(int family, const struct sl_mgr_dip *d)
{
	char a[64], h[64];
	return json_pack("{s:s, s:i, s:s, s:i, s:s, s:s}", "address",
			 sl_addr_format(family, &d->addr, a, sizeof(a)), "port", (int)d->port, "host",
			 sl_addr_format(family, &d->host, h, sizeof(h)), "weight", (int)d->weight,
			 "admin", sl_mgr_admin_names[d->admin], "health",
			 sl_mgr_health_names[d->health]);
}

json_t *sl_mgr_vip_to_json(const struct sl_mgr_vip *v)
{
	char a[64];
	json_t *dips = json_array();
	for (uint32_t j = 0; dips != NULL && j < sl_mgr_vip_nb_dips(v); j++)
		if (json_array_append_new(dips, dip_to_json(v->family, &v->dips->dip[j])) < 0) {
			json_decref(dips);
			return NULL;
		}
	/* "o" takes dips' reference, also when packing fails. */
	return json_pack("{s:s, s:s, s:i, s:o}", "address",
			 sl_addr_format(v->family, &v->addr, a, sizeof(a)), "protocol",
			 proto_name(v->proto), "port", (int)v->port, "dips", dips);
}

json_t *sl_mgr_vip_status_json(const struct sl_mgr_vip *v)
{
	json_t *o = sl_mgr_vip_to_json(v);
	json_t *dips = json_object_get(o, "dips");
	for (uint32_t j = 0; dips != NULL && j < sl_mgr_vip_nb_dips(v); j++)
		if (json_object_set_new(json_array_get(dips, j), "effective_weight",
					json_integer(sl_mgr_dip_weight(&v->dips->dip[j]))) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

json_t *sl_mgr_state_status_json(const struct sl_mgr_state *s)
{
	json_t *list = json_array();
	for (uint32_t i = 0; list != NULL && i < s->nb_vips; i++)
		if (json_array_append_new(list, sl_mgr_vip_status_json(&s->vips[i])) < 0) {
			json_decref(list);
			list = NULL;
		}
	return json_pack("{s:I, s:o}", "generation", (json_int_t)s->generation, "vips", list);
}

static json_t *vips_encode(const struct sl_mgr_state *s)
{
	json_t *list = json_array();
	for (uint32_t i = 0; list != NULL && i < s->nb_vips; i++)
		if (json_array_append_new(list, sl_mgr_vip_to_json(&s->vips[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* One VIP in the snapshot form: every member, DIPs included. */
static int decode_vip(struct sl_mgr_txn *t, const json_t *o, struct sl_mgr_err *err)
{
	const json_t *list;
	struct sl_mgr_vip key = {0};
	struct sl_mgr_vip *v;
	if (!json_is_object(o))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an object");
	if (sl_mgr_check_members(o, vip_members, err) < 0 || parse_vip_fields(o, &key, err) < 0 ||
	    sl_mgr_get_array(o, "dips", true, SL_MAX_DIPS_PER_VIP, &list, err) < 0 ||
	    (v = add_vip(t, &key, err)) == NULL)
		return -1;
	return add_dip_list(t, v, list, true, NULL, err);
}

static int vips_decode(struct sl_mgr_txn *t, const json_t *list, struct sl_mgr_err *err)
{
	size_t i;
	const json_t *o;
	if (t->work->nb_vips > 0)
		return sl_mgr_fail(err, SL_MGR_ESTATE, "the state already has VIPs");
	if (!json_is_array(list))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an array");
	if (json_array_size(list) > SL_MAX_VIPS)
		return sl_mgr_fail(err, SL_MGR_ELIMIT, "%zu VIPs, at most %u allowed",
				   json_array_size(list), SL_MAX_VIPS);
	json_array_foreach((json_t *)list, i, o) {
		if (decode_vip(t, o, err) < 0) {
			sl_mgr_err_path(err, "[%zu]", i);
			return -1;
		}
	}
	return 0;
}

const struct sl_mgr_vip *sl_mgr_vip_lookup(const struct sl_mgr_state *s, const json_t *key,
					   struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	struct sl_mgr_vip k;
	char name[SL_MGR_NAME_LEN];
	if (err == NULL)
		err = &dummy;
	if (parse_vip_key(key, &k, err) < 0)
		return NULL;
	const struct sl_mgr_vip *v = sl_mgr_vip_find(s, &k);
	if (v == NULL)
		sl_mgr_fail(err, SL_MGR_ENOENT, "VIP %s does not exist", sl_mgr_vip_name(&k, name));
	return v;
}

const struct sl_mgr_vip *sl_mgr_vip_find(const struct sl_mgr_state *s, const struct sl_mgr_vip *key)
{
	bool found;
	size_t pos = vip_search(s, key, &found);
	return found ? &s->vips[pos] : NULL;
}

/* ------------------------------------------------------------ section */

/* The working copy: its own VIP array (one sequential copy), every DIP
 * array and the key map borrowed. */
static int vips_clone(struct sl_mgr_state *dst, const struct sl_mgr_state *src)
{
	dst->agents = src->agents;
	dst->nb_dips = src->nb_dips;
	if (src->nb_vips == 0)
		return 0;
	dst->vips = malloc(src->nb_vips * sizeof(*dst->vips));
	if (dst->vips == NULL)
		return -1;
	memcpy(dst->vips, src->vips, src->nb_vips * sizeof(*dst->vips));
	dst->nb_vips = src->nb_vips;
	return 0;
}

static void txn_lists_free(struct sl_mgr_txn *t)
{
	free(t->created);
	free(t->dropped);
	free(t->added);
	t->created = NULL;
	t->dropped = NULL;
	t->added = NULL;
	t->nb_created = t->nb_dropped = t->nb_added = 0;
	t->cap_created = t->cap_dropped = t->cap_added = 0;
}

/* The key map follows the committed change: the keys of dropped arrays
 * their VIP no longer holds leave it, the keys added and still held join. */
static void update_agents(const struct sl_mgr_txn *t)
{
	struct sl_mgr_agents *a = t->work->agents;
	for (uint32_t i = 0; i < t->nb_dropped; i++) {
		const struct sl_mgr_vip *v = &t->dropped[i];
		for (uint32_t j = 0; j < v->dips->n; j++) {
			struct sl_mgr_holding h = holding(v, &v->dips->dip[j]);
			const struct sl_mgr_holding *cur = sl_mgr_agents_find(a, &h.key);
			if (cur != NULL && same_vip(cur, &h) && holder_index(t->work, &h) == NO_VIP)
				sl_mgr_agents_remove(a, &h.key);
		}
	}
	for (uint32_t i = 0; i < t->nb_added; i++)
		if (holder_index(t->work, &t->added[i]) != NO_VIP)
			sl_mgr_agents_set(a, &t->added[i]);
}

static void vips_commit(struct sl_mgr_txn *t, struct sl_mgr_state *old)
{
	update_agents(t);
	for (uint32_t i = 0; i < t->nb_dropped; i++)
		free(t->dropped[i].dips);
	txn_lists_free(t);
	if (old == NULL)
		return;
	free(old->vips); /* its DIP arrays: now the new state's, or just freed */
	old->vips = NULL;
	old->nb_vips = old->nb_dips = 0;
	old->agents = NULL; /* the new state's */
}

static void vips_abort(struct sl_mgr_txn *t)
{
	for (uint32_t i = 0; i < t->nb_created; i++)
		free(t->created[i]);
	txn_lists_free(t);
	free(t->work->vips);
	t->work->vips = NULL;
	t->work->nb_vips = t->work->nb_dips = 0;
	t->work->agents = NULL; /* the state's */
}

static void vips_release(struct sl_mgr_state *s)
{
	for (uint32_t i = 0; i < s->nb_vips; i++)
		free(s->vips[i].dips);
	free(s->vips);
	sl_mgr_agents_free(s->agents);
	s->vips = NULL;
	s->nb_vips = s->nb_dips = 0;
	s->agents = NULL;
}

#define KEY "vip"
static const char *const m_vip[] = {"op", KEY, NULL};
static const char *const m_vip_dips[] = {"op", KEY, "dips", NULL};
static const char *const m_vip_set[] = {"op", KEY, "set", "dips", NULL};
static const char *const m_dip[] = {"op", KEY, "dip", NULL};
static const char *const m_dip_weight[] = {"op", KEY, "dip", "weight", NULL};
static const char *const m_dip_health[] = {"op", KEY, "dip", "health", NULL};
#undef KEY

static const struct sl_mgr_op vips_ops[] = {
	{"vip_create", m_vip_dips, op_vip_create},
	{"vip_update", m_vip_set, op_vip_update},
	{"vip_delete", m_vip, op_vip_delete},
	{"dip_add", m_dip, op_dip_add},
	{"dip_remove", m_dip, op_dip_remove},
	{"dip_set_weight", m_dip_weight, op_dip_set_weight},
	{"dip_drain", m_dip, op_dip_drain},
	{"dip_enable", m_dip, op_dip_enable},
	{"dip_disable", m_dip, op_dip_disable},
	{"dip_health", m_dip_health, op_dip_health},
	{NULL, NULL, NULL},
};

const struct sl_mgr_section sl_mgr_vips_section = {
	.name = "vips",
	.ops = vips_ops,
	.clone = vips_clone,
	.commit = vips_commit,
	.abort = vips_abort,
	.release = vips_release,
	.check_flags = SL_MGR_TXN_VIPS,
	.check = vips_check,
	.encode = vips_encode,
	.decode = vips_decode,
};
