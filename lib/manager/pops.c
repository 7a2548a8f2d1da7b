/*
 * The "pops" section: points of presence (docs/manager.md, "PoPs").
 *
 *   {"op": "pop_set", "pop": {"name": "a", "unicast": ["198.18.0.0/24"],
 *                             "anycast": ["198.18.0.0/23"], "state": "active"}}
 *   {"op": "pop_delete", "name": "a"}
 *   {"op": "pop_drain", "name": "a"}      state draining: unicast withdrawn
 *   {"op": "pop_undrain", "name": "a"}    state active again
 *
 * pop_set creates a PoP or replaces it whole; without "state" a new PoP
 * is active and a replaced one keeps its state. The muxes of a PoP
 * (bgp.pop in their files) announce its unicast prefixes while it is
 * active and its anycast prefixes (the supernet all PoPs share) unless it
 * is down (lib/bgp, "PoPs"). Rules: a name by bgp/pop_rules.h; at most
 * SL_MAX_POP_PREFIXES prefixes of each kind, networks by the file's rules
 * (config/prefix_rules.h), no repeats, none overlapping another of the
 * same list, none both unicast and anycast; no unicast prefix of one PoP
 * overlapping a unicast prefix of another (a drain would not move the
 * other's traffic); at most SL_MAX_POPS PoPs. Kept sorted by name, each
 * list by (family, address, length), so the encoding is canonical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/pop_rules.h"
#include "config/prefix_rules.h"
#include "manager/section.h"

static const char *const state_names[] = {"active", "draining", "down", NULL};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == SL_POP_NB_STATES + 1,
	       "a name for every PoP state");
static const char *const pop_fields[] = {"name", "unicast", "anycast", "state", NULL};

static const char *ptext(const struct sl_prefix *p, char buf[SL_PREFIX_TEXT_LEN])
{
	return sl_prefix_rules_format(p->family, p->addr.v6, p->len, buf);
}

static bool overlap(const struct sl_prefix *a, const struct sl_prefix *b)
{
	return sl_prefix_covers(a, b) || sl_prefix_covers(b, a);
}

/* Index of the PoP called name, or where it would go. */
static uint32_t find(const struct sl_mgr_state *s, const char *name, bool *found)
{
	uint32_t i = 0;
	while (i < s->nb_pops && strcmp(s->pops[i].name, name) < 0)
		i++;
	*found = i < s->nb_pops && strcmp(s->pops[i].name, name) == 0;
	return i;
}

const struct sl_pop *sl_mgr_pop_find(const struct sl_mgr_state *s, const char *name)
{
	bool found;
	uint32_t i = find(s, name, &found);
	return found ? &s->pops[i] : NULL;
}

static int get_name(const json_t *obj, char out[SL_POP_NAME_LEN], struct sl_mgr_err *err)
{
	const json_t *v = json_object_get(obj, "name");
	const char *why;
	if (v == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "name: required string member is missing");
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "name: must be a string");
	if ((why = sl_pop_name_refusal(json_string_value(v))) != NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "name: '%.40s' %s", json_string_value(v), why);
	snprintf(out, SL_POP_NAME_LEN, "%s", json_string_value(v));
	return 0;
}

/* One list ("unicast" or "anycast"): valid, and no two of it overlapping. */
static int get_list(const json_t *obj, const char *key, struct sl_prefix *out, uint8_t *n,
		    struct sl_mgr_err *err)
{
	char a[SL_PREFIX_TEXT_LEN], b[SL_PREFIX_TEXT_LEN];
	const json_t *list = json_object_get(obj, key);
	uint32_t got = 0;
	if (list == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: required member is missing", key);
	if (sl_mgr_parse_prefixes(list, out, SL_MAX_POP_PREFIXES, &got, "an array of prefixes", err) < 0) {
		sl_mgr_err_path(err, "%s", key);
		return -1;
	}
	for (uint32_t i = 0; i + 1 < got; i++)
		for (uint32_t j = i + 1; j < got; j++)
			if (overlap(&out[i], &out[j]))
				return sl_mgr_fail(err, SL_MGR_EINVAL, "%s: %s and %s overlap", key,
						   ptext(&out[i], a), ptext(&out[j], b));
	*n = (uint8_t)got;
	return 0;
}

/* A PoP object, all of it valid on its own; *has_state says whether it
 * named its state (else p->state is active). */
static int pop_from(const json_t *obj, struct sl_pop *p, bool *has_state, struct sl_mgr_err *err)
{
	char a[SL_PREFIX_TEXT_LEN];
	int state;
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an object");
	if (sl_mgr_check_members(obj, pop_fields, err) < 0 || get_name(obj, p->name, err) < 0 ||
	    get_list(obj, "unicast", p->unicast, &p->nb_unicast, err) < 0 ||
	    get_list(obj, "anycast", p->anycast, &p->nb_anycast, err) < 0 ||
	    sl_mgr_get_enum(obj, "state", false, state_names, SL_POP_ACTIVE, &state, err) < 0)
		return -1;
	p->state = (uint8_t)state;
	*has_state = json_object_get(obj, "state") != NULL;
	for (unsigned i = 0; i < p->nb_unicast; i++)
		for (unsigned j = 0; j < p->nb_anycast; j++)
			if (sl_prefix_eq(&p->unicast[i], &p->anycast[j]))
				return sl_mgr_fail(err, SL_MGR_EINVAL,
						   "unicast: %s is also an anycast prefix (a drain would not withdraw it)",
						   ptext(&p->unicast[i], a));
	return 0;
}

/* No unicast prefix of p overlaps one of another PoP of s. */
static int check_unicast(const struct sl_mgr_state *s, const struct sl_pop *p, struct sl_mgr_err *err)
{
	char a[SL_PREFIX_TEXT_LEN], b[SL_PREFIX_TEXT_LEN];
	for (uint32_t k = 0; k < s->nb_pops; k++) {
		const struct sl_pop *o = &s->pops[k];
		if (strcmp(o->name, p->name) == 0)
			continue;
		for (unsigned i = 0; i < p->nb_unicast; i++)
			for (unsigned j = 0; j < o->nb_unicast; j++)
				if (overlap(&p->unicast[i], &o->unicast[j]))
					return sl_mgr_fail(err, SL_MGR_EEXIST,
							   "unicast: %s overlaps %s, a unicast prefix of PoP '%s'",
							   ptext(&p->unicast[i], a), ptext(&o->unicast[j], b),
							   o->name);
	}
	return 0;
}

/* Put p into s (replacing its namesake); keep_state: a replaced PoP keeps its state. */
static int put(struct sl_mgr_state *s, const struct sl_pop *p, bool keep_state, struct sl_mgr_err *err)
{
	bool found;
	uint32_t i = find(s, p->name, &found);
	if (check_unicast(s, p, err) < 0)
		return -1;
	if (!found) {
		if (s->nb_pops == SL_MAX_POPS)
			return sl_mgr_fail(err, SL_MGR_ELIMIT, "already %d PoPs", SL_MAX_POPS);
		if (s->pops == NULL && (s->pops = calloc(SL_MAX_POPS, sizeof(*s->pops))) == NULL)
			return sl_mgr_fail_oom(err);
		memmove(&s->pops[i + 1], &s->pops[i], (s->nb_pops - i) * sizeof(s->pops[0]));
		s->nb_pops++;
		keep_state = false;
	}
	uint8_t state = s->pops[i].state;
	s->pops[i] = *p;
	if (keep_state)
		s->pops[i].state = state;
	return 0;
}

static int op_set(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	struct sl_pop p;
	bool has_state;
	const json_t *obj = json_object_get(cmd, "pop");
	if (obj == NULL)
		return sl_mgr_fail(err, SL_MGR_EINVAL, "pop: required member is missing");
	if (pop_from(obj, &p, &has_state, err) < 0 || put(t->work, &p, !has_state, err) < 0) {
		sl_mgr_err_path(err, "pop");
		return -1;
	}
	return 0;
}

/* The named PoP of t->work, or ENOENT. */
static struct sl_pop *named(struct sl_mgr_txn *t, const json_t *cmd, uint32_t *at, struct sl_mgr_err *err)
{
	char name[SL_POP_NAME_LEN];
	bool found;
	if (get_name(cmd, name, err) < 0)
		return NULL;
	*at = find(t->work, name, &found);
	if (!found) {
		sl_mgr_fail(err, SL_MGR_ENOENT, "no PoP '%s'", name);
		return NULL;
	}
	return &t->work->pops[*at];
}

static int op_delete(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	uint32_t i;
	struct sl_mgr_state *s = t->work;
	if (named(t, cmd, &i, err) == NULL)
		return -1;
	memmove(&s->pops[i], &s->pops[i + 1], (s->nb_pops - i - 1) * sizeof(s->pops[0]));
	s->nb_pops--;
	return 0;
}

static int set_state(struct sl_mgr_txn *t, const json_t *cmd, enum sl_pop_state state,
		     struct sl_mgr_err *err)
{
	uint32_t i;
	struct sl_pop *p = named(t, cmd, &i, err);
	if (p == NULL)
		return -1;
	p->state = (uint8_t)state;
	return 0;
}

static int op_drain(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	return set_state(t, cmd, SL_POP_DRAINING, err);
}

static int op_undrain(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err)
{
	return set_state(t, cmd, SL_POP_ACTIVE, err);
}

json_t *sl_mgr_pop_to_json(const struct sl_pop *p)
{
	return json_pack("{s:s, s:o, s:o, s:s}", "name", p->name, "unicast",
			 sl_mgr_prefixes_json(p->unicast, p->nb_unicast), "anycast",
			 sl_mgr_prefixes_json(p->anycast, p->nb_anycast), "state",
			 sl_pop_state_name(p->state));
}

static json_t *encode(const struct sl_mgr_state *s)
{
	json_t *list = json_array();
	for (uint32_t i = 0; list != NULL && i < s->nb_pops; i++)
		if (json_array_append_new(list, sl_mgr_pop_to_json(&s->pops[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list;
}

json_t *sl_mgr_pops_json(const struct sl_mgr_state *s)
{
	return json_pack("{s:o}", "pops", encode(s));
}

static int decode(struct sl_mgr_txn *t, const json_t *list, struct sl_mgr_err *err)
{
	const json_t *v;
	size_t i;
	if (!json_is_array(list))
		return sl_mgr_fail(err, SL_MGR_EINVAL, "must be an array");
	if (json_array_size(list) > SL_MAX_POPS)
		return sl_mgr_fail(err, SL_MGR_ELIMIT, "more than %d PoPs", SL_MAX_POPS);
	json_array_foreach((json_t *)list, i, v) {
		struct sl_pop p;
		bool has_state;
		if (pop_from(v, &p, &has_state, err) < 0 ||
		    (sl_mgr_pop_find(t->work, p.name) != NULL &&
		     sl_mgr_fail(err, SL_MGR_EEXIST, "name: '%s' appears twice", p.name) < 0) ||
		    put(t->work, &p, false, err) < 0) {
			sl_mgr_err_path(err, "[%zu]", i);
			return -1;
		}
	}
	return 0;
}

/* Small: copied whole rather than shared. */
static int clone(struct sl_mgr_state *dst, const struct sl_mgr_state *src)
{
	if (src->nb_pops == 0)
		return 0; /* allocated by the first put */
	dst->pops = sl_mgr_copy_array(src->pops, src->nb_pops, SL_MAX_POPS, sizeof(*src->pops));
	if (dst->pops == NULL)
		return -1;
	dst->nb_pops = src->nb_pops;
	return 0;
}

static void release(struct sl_mgr_state *s)
{
	free(s->pops);
	s->pops = NULL;
	s->nb_pops = 0;
}

static const char *const m_set[] = {"op", "pop", NULL};
static const char *const m_name[] = {"op", "name", NULL};

static const struct sl_mgr_op ops[] = {
	{"pop_set", m_set, op_set},
	{"pop_delete", m_name, op_delete},
	{"pop_drain", m_name, op_drain},
	{"pop_undrain", m_name, op_undrain},
	{NULL, NULL, NULL},
};

const struct sl_mgr_section sl_mgr_pops_section = {
	.name = "pops",
	.ops = ops,
	.clone = clone,
	.release = release, /* no whole-state check: put() checks across PoPs */
	.encode = encode,
	.decode = decode,
};
