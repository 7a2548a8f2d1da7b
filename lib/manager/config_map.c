/*
 * Between the manager state and the rest: the data-plane spec an instance
 * runs (state + its file's local part -> spec; the same in the file's form
 * for tests and tools), and the bootstrap of a new cluster from the static
 * file (config -> state).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/section.h"

/* sl_maglev_build() needs more slots than backends; the rules of the state
 * cannot know this instance's table size. "auto" (0) always has more
 * (sl_maglev_size_for()). */
static int check_fits(const struct sl_mgr_vip *v, const struct sl_config *base,
		      struct sl_mgr_err *err)
{
	uint32_t n = sl_mgr_vip_nb_dips(v);
	char name[SL_MGR_NAME_LEN];
	if ((base->roles & SL_ROLE_MUX) && base->maglev_size != 0 && n >= base->maglev_size)
		return sl_mgr_fail(err, SL_MGR_ELIMIT,
				   "VIP %s has %u DIPs; this instance's mux.maglev_size (%u) must "
				   "be larger",
				   sl_mgr_vip_name(v, name), n, base->maglev_size);
	return 0;
}

/* v as a service whose backends go at b (room for all of v's DIPs). */
static void vip_to_service(const struct sl_mgr_vip *v, struct sl_spec_backend *b,
			   struct sl_spec_service *svc)
{
	uint32_t n = sl_mgr_vip_nb_dips(v);
	/* An array never changes once the state holds it, nor does its VIP's
	 * key: its rev stands for everything the service says. */
	*svc = (struct sl_spec_service){.kind = SL_SERVICE_VIP, .family = v->family,
					.proto = v->proto, .port = v->port, .addr = v->addr,
					.backends = n ? b : NULL, .nb_backends = n,
					.rev = v->dips != NULL ? v->dips->rev : 0};
	for (uint32_t j = 0; j < n; j++) {
		const struct sl_mgr_dip *d = &v->dips->dip[j];
		/* Weight 0 keeps the DIP known to the data plane (its established
		 * flows go on) but gives it no Maglev slot: no new flows. */
		b[j] = (struct sl_spec_backend){.addr = d->addr, .host = d->host, .port = d->port,
						.weight = sl_mgr_dip_weight(d)};
	}
}

/* The DIP arrays are the pass's only scattered reads (one heap object per
 * VIP): ask for them ahead, the header of VIP i + 16 and then, its length
 * known by now, the whole array of VIP i + 8. */
static void prefetch_ahead(const struct sl_mgr_state *s, uint32_t i)
{
	if (i + 16 < s->nb_vips)
		__builtin_prefetch(s->vips[i + 16].dips);
	const struct sl_mgr_dips *d = i + 8 < s->nb_vips ? s->vips[i + 8].dips : NULL;
	if (d == NULL)
		return;
	const char *end = (const char *)&d->dip[d->n];
	for (const char *p = (const char *)d + 64; p < end; p += 64)
		__builtin_prefetch(p);
}

/* The VIPs as services, their backends in one block: two allocations for
 * the whole state, one sequential pass over the VIPs. */
static int vips_to_services(const struct sl_mgr_state *s, const struct sl_config *base,
			    struct sl_spec *out, struct sl_mgr_err *err)
{
	if (sl_spec_alloc_services(out, s->nb_vips) != 0 ||
	    sl_spec_alloc_backend_block(out, s->nb_dips) != 0)
		return sl_mgr_fail_oom(err);
	uint64_t used = 0;
	for (uint32_t i = 0; i < s->nb_vips; i++) {
		const struct sl_mgr_vip *v = &s->vips[i];
		prefetch_ahead(s, i);
		if (check_fits(v, base, err) < 0)
			return -1;
		if (used + sl_mgr_vip_nb_dips(v) > s->nb_dips) /* nb_dips is kept wrong: a bug */
			return sl_mgr_fail(err, SL_MGR_ENOMEM, "the state counts %u DIPs but has more",
					   s->nb_dips);
		vip_to_service(v, out->backend_block + used, &out->services[i]);
		used += sl_mgr_vip_nb_dips(v);
	}
	return 0;
}

int sl_mgr_state_to_spec(const struct sl_mgr_state *s, const struct sl_config *base,
			 struct sl_spec *out, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	if (err == NULL)
		err = &dummy;
	sl_spec_local_from_config(base, out);
	/* A list the cluster has set wins, even an empty one; until then
	 * base's (in the local part) is what this instance's host agent uses. */
	if (s->tunnel_sources_set) {
		memcpy(out->host.tunnel_sources, s->tunnel_sources,
		       s->nb_tunnel_sources * sizeof(s->tunnel_sources[0]));
		out->host.nb_tunnel_sources = s->nb_tunnel_sources;
	}
	if (vips_to_services(s, base, out, err) < 0) {
		sl_spec_free(out);
		return -1;
	}
	return 0;
}

/* A service of the spec back in the file's form (no rule of its own: the
 * weights are the spec's). */
static int service_to_vip(const struct sl_spec_service *svc, struct sl_vip_cfg *out)
{
	uint32_t n = svc->nb_backends;
	*out = (struct sl_vip_cfg){.addr = svc->addr, .family = svc->family, .proto = svc->proto,
				   .port = svc->port, .dips = n ? calloc(n, sizeof(*out->dips)) : NULL};
	if (n > 0 && out->dips == NULL)
		return -1;
	for (uint32_t j = 0; j < n; j++) {
		const struct sl_spec_backend *b = &svc->backends[j];
		out->dips[j] = (struct sl_dip_cfg){.addr = b->addr, .port = b->port, .host = b->host,
						   .weight = b->weight};
	}
	out->nb_dips = n;
	return 0;
}

/* spec's VIPs and tunnel sources into out (base's copy); -1 on ENOMEM. */
static int spec_into_config(const struct sl_spec *spec, struct sl_config *out)
{
	memcpy(out->tunnel_sources, spec->host.tunnel_sources,
	       spec->host.nb_tunnel_sources * sizeof(spec->host.tunnel_sources[0]));
	out->nb_tunnel_sources = spec->host.nb_tunnel_sources;
	if (spec->nb_services == 0)
		return 0;
	out->vips = calloc(spec->nb_services, sizeof(*out->vips));
	if (out->vips == NULL)
		return -1;
	for (uint32_t i = 0; i < spec->nb_services; i++) {
		out->nb_vips = i + 1; /* so that sl_config_free() sees a half-built VIP */
		if (service_to_vip(&spec->services[i], &out->vips[i]) < 0)
			return -1;
	}
	return 0;
}

int sl_mgr_state_to_config(const struct sl_mgr_state *s, const struct sl_config *base,
			   struct sl_config *out, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	struct sl_spec spec;
	if (err == NULL)
		err = &dummy;
	memset(out, 0, sizeof(*out));
	if (sl_mgr_state_to_spec(s, base, &spec, err) < 0)
		return -1;
	*out = *base;
	out->vips = NULL;
	out->nb_vips = 0;
	int rc = spec_into_config(&spec, out);
	sl_spec_free(&spec);
	if (rc < 0) {
		sl_config_free(out);
		return sl_mgr_fail_oom(err);
	}
	return 0;
}

/* A VIP of the file as a (temporary) VIP of the state, for its JSON form. */
static json_t *cfg_vip_to_json(const struct sl_vip_cfg *vc)
{
	struct sl_mgr_vip v = {.addr = vc->addr, .family = vc->family, .proto = vc->proto,
			       .port = vc->port};
	struct sl_mgr_dips *ds = calloc(1, sizeof(*ds) + vc->nb_dips * sizeof(ds->dip[0]));
	if (ds == NULL)
		return NULL;
	for (unsigned j = 0; j < vc->nb_dips; j++)
		ds->dip[j] = (struct sl_mgr_dip){
			.addr = vc->dips[j].addr, .host = vc->dips[j].host, .port = vc->dips[j].port,
			/* lib/config allows 1..65535; clamp so a bad value fails decoding */
			.weight = (uint16_t)(vc->dips[j].weight > 65535 ? 0 : vc->dips[j].weight),
			.admin = SL_MGR_ACTIVE, .health = SL_MGR_HEALTH_UNKNOWN};
	ds->n = ds->cap = vc->nb_dips;
	ds->refs = 1;
	v.dips = ds;
	json_t *o = sl_mgr_vip_to_json(&v);
	free(ds);
	return o;
}

/* The file's members that advertise an API URL. */
static json_t *cfg_members_to_json(const struct sl_manager_cfg *m)
{
	json_t *list = json_array();
	for (unsigned i = 0; list != NULL && i < m->nb_members; i++)
		if (m->members[i].api[0] != '\0' &&
		    json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)m->members[i].id,
							  "api", m->members[i].api)) < 0) {
			json_decref(list);
			list = NULL;
		}
	return list;
}

json_t *sl_mgr_cmd_bootstrap_begin(const struct sl_config *cfg, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	/* Without the host role the file has no list to give the cluster: null
	 * (not set) leaves every host agent its own file's. */
	json_t *cmd = json_pack("{s:s, s:o, s:o, s:o}", "op", "bootstrap", "vips", json_array(),
				"members", cfg_members_to_json(&cfg->manager), "tunnel_sources",
				(cfg->roles & SL_ROLE_HOST)
					? sl_mgr_prefixes_json(cfg->tunnel_sources, cfg->nb_tunnel_sources)
					: json_null());
	if (cmd == NULL)
		sl_mgr_fail_oom(err != NULL ? err : &dummy);
	return cmd;
}

int sl_mgr_cmd_bootstrap_add(json_t *cmd, const struct sl_config *cfg, unsigned *next, unsigned max,
			     struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	json_t *vips = json_object_get(cmd, "vips");
	for (unsigned n = 0; *next < cfg->nb_vips && n < max; n++, (*next)++)
		if (json_array_append_new(vips, cfg_vip_to_json(&cfg->vips[*next])) < 0)
			return sl_mgr_fail_oom(err != NULL ? err : &dummy);
	return *next == cfg->nb_vips ? 1 : 0;
}

json_t *sl_mgr_cmd_bootstrap(const struct sl_config *cfg, struct sl_mgr_err *err)
{
	unsigned next = 0;
	json_t *cmd = sl_mgr_cmd_bootstrap_begin(cfg, err);
	if (cmd != NULL && sl_mgr_cmd_bootstrap_add(cmd, cfg, &next, UINT_MAX, err) < 0) {
		json_decref(cmd);
		cmd = NULL;
	}
	return cmd;
}

struct sl_mgr_state *sl_mgr_state_from_config(const struct sl_config *cfg, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	if (err == NULL)
		err = &dummy;
	json_t *cmd = sl_mgr_cmd_bootstrap(cfg, err);
	struct sl_mgr_state *s = cmd != NULL ? sl_mgr_state_new() : NULL;
	if (cmd != NULL && s == NULL)
		sl_mgr_fail_oom(err);
	if (s != NULL && sl_mgr_apply(s, cmd, err) < 0) {
		sl_mgr_state_free(s);
		s = NULL;
	}
	json_decref(cmd);
	return s;
}

bool sl_mgr_reloadable(const struct sl_mgr_state *s, const struct sl_config *cur,
		       const struct sl_config *next, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!s->tunnel_sources_set || sl_config_tunnel_sources_equal(cur, next))
		return true;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen,
			 "the cluster has set the tunnel sources, so they change through the API "
			 "(sluicectl tunnel-sources set, or unset to give each host agent its file's "
			 "again), not the file (sluice.host.tunnel_sources differs)");
	return false;
}
