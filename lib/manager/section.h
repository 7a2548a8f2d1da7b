/*
 * Private to lib/manager: how a section of the state plugs into the core
 * (state.c), and the JSON field helpers every section uses.
 *
 * A transaction works on a copy of the state. Copies are cheap because a
 * section's clone() lends its large parts to the copy (a VIP's DIP array
 * is copied only when a command in the transaction changes it, and the
 * transaction remembers what it made and what it replaced). Commit swaps
 * the copy in and frees what it replaced; abort frees what it made. So an
 * op may change its working copy step by step and simply return -1 on the
 * first error: nothing it did is visible. Neither end touches what the
 * transaction did not change.
 */
#ifndef SLUICE_MANAGER_SECTION_H
#define SLUICE_MANAGER_SECTION_H

#include <stdarg.h>

#include "manager/agents.h"
#include "manager/state.h"

/* Transaction flags: which whole-state checks the commit must run. */
#define SL_MGR_TXN_VIPS 0x1 /* DIP sets or VIP keys changed */

struct sl_mgr_txn {
	struct sl_mgr_state *work;
	unsigned flags;
	/* vips.c's bookkeeping, each list grown as needed: */
	struct sl_mgr_dips **created;    /* arrays made here (NULL once freed): abort frees them */
	uint32_t nb_created, cap_created;
	struct sl_mgr_vip *dropped;      /* the state's arrays the copy stopped using, each under
					  * the VIP key it had: commit frees them */
	uint32_t nb_dropped, cap_dropped;
	struct sl_mgr_holding *added;    /* host-agent keys added, with their VIP: only those
					  * can break the host-agent rule, the state before
					  * having kept it */
	uint32_t nb_added, cap_added;
};

struct sl_mgr_op {
	const char *name;             /* value of "op" */
	const char *const *members;   /* members allowed besides "op", NULL-terminated */
	int (*run)(struct sl_mgr_txn *t, const json_t *cmd, struct sl_mgr_err *err);
};

struct sl_mgr_section {
	const char *name;             /* member in snapshots and in "bootstrap" */
	const struct sl_mgr_op *ops;  /* terminated by an entry with name NULL */
	/* dst starts zeroed; lend it what can be shared. -1 on ENOMEM (then
	 * abort() runs). */
	int (*clone)(struct sl_mgr_state *dst, const struct sl_mgr_state *src);
	/* t->work replaces old (NULL: it replaces nothing, a decoded state):
	 * free what only old holds. NULL: release(old). */
	void (*commit)(struct sl_mgr_txn *t, struct sl_mgr_state *old);
	/* t->work is dropped: free what only it holds. NULL: release(t->work). */
	void (*abort)(struct sl_mgr_txn *t);
	/* Free everything s owns (a committed state). */
	void (*release)(struct sl_mgr_state *s);
	/* Whole-state invariants, run once per transaction whose flags ask. */
	unsigned check_flags;
	int (*check)(struct sl_mgr_txn *t, struct sl_mgr_err *err);
	json_t *(*encode)(const struct sl_mgr_state *s); /* NULL on ENOMEM */
	/* Fill an empty section from its encoding; full validation. */
	int (*decode)(struct sl_mgr_txn *t, const json_t *v, struct sl_mgr_err *err);
};

extern const struct sl_mgr_section sl_mgr_vips_section;
extern const struct sl_mgr_section sl_mgr_members_section;
extern const struct sl_mgr_section sl_mgr_tunnel_sources_section;
extern const struct sl_mgr_section sl_mgr_pops_section;

/* Prefixes as a JSON array of their canonical texts ("192.0.2.10/32"):
 * the section's encoding, and the bootstrap's from the file. NULL on ENOMEM. */
json_t *sl_mgr_prefixes_json(const struct sl_prefix *p, unsigned n);

/* A JSON array of at most max prefixes into out, sorted by (family,
 * address, length), by the file's rules (config/prefix_rules.h), no
 * repeats; all valid or an error ("must be EXPECT" when not an array). */
int sl_mgr_parse_prefixes(const json_t *list, struct sl_prefix *out, uint32_t max, uint32_t *n,
			  const char *expect, struct sl_mgr_err *err);

/* A section's small array copied whole for a working copy: n elements of
 * size bytes into a new array with room for cap; NULL on ENOMEM. */
void *sl_mgr_copy_array(const void *src, size_t n, size_t cap, size_t size);

/* ------------------------------------------------------------ errors */

/* Set err and return -1. */
__attribute__((format(printf, 3, 4))) int sl_mgr_fail(struct sl_mgr_err *err, enum sl_mgr_code code,
						       const char *fmt, ...);
/* Prepend "PREFIX: " to err's message (context: which member, which command). */
__attribute__((format(printf, 2, 3))) void sl_mgr_err_prefix(struct sl_mgr_err *err,
							     const char *fmt, ...);
int sl_mgr_fail_oom(struct sl_mgr_err *err);

/* ------------------------------------------------------------ fields */

/*
 * Messages about a member start "name: ". Errors found inside an object are
 * given its path on the way out: sl_mgr_err_path(err, "dip") turns
 * "weight: ..." into "dip.weight: ..." and "must be an object" into
 * "dip: must be an object".
 */
__attribute__((format(printf, 2, 3))) void sl_mgr_err_path(struct sl_mgr_err *err,
							   const char *fmt, ...);

/* Fail on members of obj not in allowed (NULL-terminated). */
int sl_mgr_check_members(const json_t *obj, const char *const allowed[], struct sl_mgr_err *err);

/* obj.key as an object: required, or *out NULL when absent. */
int sl_mgr_get_object(const json_t *obj, const char *key, bool required, const json_t **out,
		      struct sl_mgr_err *err);
/* obj.key as an array of at most max elements; *out NULL when absent and optional. */
int sl_mgr_get_array(const json_t *obj, const char *key, bool required, size_t max,
		     const json_t **out, struct sl_mgr_err *err);
/* obj.key as an integer lo..hi; *out = dflt when absent and not required. */
int sl_mgr_get_uint(const json_t *obj, const char *key, bool required, uint32_t lo, uint32_t hi,
		    uint32_t dflt, uint32_t *out, struct sl_mgr_err *err);
/* obj.key as one of names[] (NULL-terminated); *out = its index, dflt when absent. */
int sl_mgr_get_enum(const json_t *obj, const char *key, bool required, const char *const names[],
		    int dflt, int *out, struct sl_mgr_err *err);
/* obj.key as an IPv4/IPv6 address, not the unspecified one; *family set.
 * want = SL_AF_NONE accepts either family, otherwise the address must be of it. */
int sl_mgr_get_addr(const json_t *obj, const char *key, int want, union sl_addr *out, int *family,
		    struct sl_mgr_err *err);

#define SL_MGR_NAME_LEN 80
/* "203.0.113.10:80/tcp", "[2001:db8::10]:53/udp": how messages name a VIP. */
const char *sl_mgr_vip_name(const struct sl_mgr_vip *v, char buf[SL_MGR_NAME_LEN]);
/* Add a string (new reference) as member key; -1 on ENOMEM. */
int sl_mgr_set_new(json_t *obj, const char *key, json_t *value);

extern const char *const sl_mgr_admin_names[];  /* by enum sl_mgr_admin */
extern const char *const sl_mgr_health_names[]; /* by enum sl_mgr_health */

#endif
