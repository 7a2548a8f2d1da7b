/*
 * The "tunnel_sources" section: the prefixes muxes send tunnels from. Host
 * agents decapsulate only tunnels whose outer source lies in one of them.
 *
 *   {"op": "set_tunnel_sources", "prefixes": ["192.0.2.10", "2001:db8:2::/64"]}
 *   {"op": "set_tunnel_sources", "prefixes": null}
 *
 * The first sets the whole list for the cluster; the second unsets it, and
 * every host agent goes back to its own file's host.tunnel_sources. Not
 * set is also the state of a new cluster bootstrapped by an instance
 * without the host role and of snapshots older than the section (encoded
 * as null, decoded from null or absence). A set list follows the file's
 * rules (config/prefix_rules.h: networks without host bits, no martians,
 * no repeats, at most 64), except that it may be empty: every host agent
 * then drops every tunnel (docs/manager.md). Kept sorted by (family,
 * address, length), so the encoding is the same whatever order the
 * prefixes were given in.
 */
#include <stdlib.h>
#include <string.h>

#include "config/prefix_rules.h"
#include "manager/section.h"

static int prefix_cmp(const void *pa, const void *pb)
{
	const struct sl_prefix *a = pa, *b = pb;
	int d = (int)a->family - (int)b->family;
	if (d == 0)
		d = memcmp(a->addr.v6, b->addr.v6, sizeof(a->addr.v6));
	return d != 0 ? d : (int)a->len - (int)b->len;
}

/* One element of a list into p; repeats of what is in out[0..n) refused. */
static int parse_one(const json_t *v, const struct sl_prefix *out, uint32_t n,
		     struct sl_prefix *p, struct sl_mgr_err *err)
{
	char why[SL_MGR_ERR_LEN], text[SL_PREFIX_TEXT_LEN];
	memset(p, 0, sizeof(*p));
	if (!json_is_string(v))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be a string");
	p->family = (uint8_t)sl_prefix_rules_parse(json_string_value(v), p->addr.v6, &p->len, why,
						   sizeof(why));
	if (p->family == SL_AF_NONE)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s", why);
	int first = sl_prefix_index(out, n, p);
	if (first >= 0)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s is the same prefix as [%d]",
				   sl_prefix_rules_format(p->family, p->addr.v6, p->len, text), first);
	return 0;
}

int sl_mgr_parse_prefixes(const json_t *list, struct sl_prefix *out, uint32_t max, uint32_t *n,
			  const char *expect, struct sl_mgr_err *err)
{
	const json_t *v;
	size_t i;
	if (!json_is_array(list))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be %s", expect);
	if (json_array_size(list) > max)
		return sl_mgr_fail(err, SL_MGR_ELIMIT, "%zu elements, at most %u allowed",
				   json_array_size(list), max);
	json_array_foreach((json_t *)list, i, v) {
		if (parse_one(v, out, (uint32_t)i, &out[i], err) < 0) {
			/* not sl_mgr_err_path: "192.0.2.10/24 has ..." is no member name */
			sl_mgr_err_prefix(err, "[%zu]", i);
			return -1;
		}
	}
	*n = (uint32_t)i;
	qsort(out, *n, sizeof(out[0]), prefix_cmp);
	return 0;
}

/* Into the (empty or replaced) section of t->work: null unsets, a list
 * sets, through a scratch list so that a refused one leaves nothing behind
 * even in the working copy. */
static int set_list(struct sl_mgr_txn *t, const json_t *list, struct sl_mgr_err *err)
{
	struct sl_prefix p[SL_MAX_TUNNEL_SOURCES];
	uint32_t n = 0;
	bool set = !json_is_null(list);
	if (set && sl_mgr_parse_prefixes(list, p, SL_MAX_TUNNEL_SOURCES, &n, "an array or null", err) < 0)
		return -1;
	memcpy(t->work->tunnel_sources, p, n * sizeof(p[0]));
	t->work->nb_tunnel_sources = n;
	t->work->tunnel_sources_set = set;
	return 0;
}

static int op_set(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	const json_t *list = json_object_get(cmd, "prefixes");
	/* Unsetting is asked for with null, never by leaving the member out. */
	if (list == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "prefixes: required member is missing");
	if (set_list(t, list, err) < 0) {
		sl_mgr_err_path(err, "prefixes");
		return -1;
	}
	return 0;
}

json_t *sl_mgr_prefixes_json(const struct sl_prefix *p, unsigned n)
{
	char text[SL_PREFIX_TEXT_LEN];
	json_t *list = json_array();
	for (unsigned i = 0; list != NULL && i < n; i++)
		if (json_array_append_new(list, json_string(sl_prefix_rules_format(
							p[i].family, p[i].addr.v6, p[i].len, text))) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* The section's encoding: the list, or null when not set. */
static json_t *encode(const struct sl_mgr_state *s)
{
	return s->tunnel_sources_set ? sl_mgr_prefixes_json(s->tunnel_sources, s->nb_tunnel_sources)
				     : json_null();
}

json_t *sl_mgr_tunnel_sources_json(const struct sl_mgr_state *s, const struct sl_config *base)
{
	json_t *o = json_pack("{s:o, s:b}", "prefixes", encode(s), "replicated",
			      s->tunnel_sources_set);
	/* Not set: what this instance's data plane uses instead. */
	if (o != NULL && !s->tunnel_sources_set && base != NULL &&
	    sl_mgr_set_new(o, "file_prefixes",
			   sl_mgr_prefixes_json(base->tunnel_sources, base->nb_tunnel_sources)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Small and fixed-size: copied whole. */
static int clone(struct sl_mgr_state *dst, const struct sl_mgr_state *src)
{
	memcpy(dst->tunnel_sources, src->tunnel_sources,
	       src->nb_tunnel_sources * sizeof(src->tunnel_sources[0]));
	dst->nb_tunnel_sources = src->nb_tunnel_sources;
	dst->tunnel_sources_set = src->tunnel_sources_set;
	return 0;
}

static void release(struct sl_mgr_state *s)
{
	s->nb_tunnel_sources = 0;
	s->tunnel_sources_set = false;
}

static const char *const m_set[] = {"op", "prefixes", NULL};

static const struct sl_mgr_op ops[] = {
	{"set_tunnel_sources", m_set, op_set},
	{NULL, NULL, NULL},
};

const struct sl_mgr_section sl_mgr_tunnel_sources_section = {
	.name = "tunnel_sources",
	.ops = ops,
	.clone = clone,
	.release = release,
	.check_flags = 0,
	.check = NULL,
	.encode = encode,
	.decode = set_list,
};
