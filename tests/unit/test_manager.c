/*
 * Unit tests for lib/manager: the replicated state (every command, every
 * validation rule, all-or-nothing batches, determinism, the snapshot
 * encoding, the mapping to the data-plane configuration) and, on libraft's
 * in-memory fixture, the state machine under the standard Raft scenarios.
 *
 * JSON in this file is written with single quotes for readability; J()
 * turns them into double quotes before parsing.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft/fixture.h>
#include "api/api.h" /* the API's actions (SL_MGR_ACTIONS) only: nothing of lib/api is linked */

#include "maglev/maglev.h"
#include "config/prefix_rules.h"
#include "manager/fsm.h"
#include "manager/lead.h"
#include "manager/state.h"
#include "packet/packet.h"

/* ================================================================ helpers */

static json_t *J(const char *text)
{
	char *s = strdup(text);
	ck_assert_ptr_nonnull(s);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t je;
	json_t *o = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	ck_assert_msg(o != NULL, "test JSON does not parse: %s: %s", je.text, s);
	free(s);
	return o;
}

static int apply_text(struct sl_mgr_state *s, const char *cmd, struct sl_mgr_err *err)
{
	json_t *o = J(cmd);
	int rc = sl_mgr_apply(s, o, err);
	json_decref(o);
	return rc;
}

static void apply_ok(struct sl_mgr_state *s, const char *cmd)
{
	struct sl_mgr_err err;
	ck_assert_msg(apply_text(s, cmd, &err) == 0, "%s\n  refused: %s", cmd, err.msg);
	ck_assert_int_eq(err.code, SL_MGR_OK);
}

static char *encode(const struct sl_mgr_state *s)
{
	char *text;
	size_t len;
	ck_assert_int_eq(sl_mgr_state_encode(s, &text, &len, NULL), 0);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

static void assert_same_state(const struct sl_mgr_state *a, const struct sl_mgr_state *b)
{
	char *ta = encode(a), *tb = encode(b);
	ck_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
}

static const struct sl_mgr_vip *vip_of(const struct sl_mgr_state *s, const char *key)
{
	json_t *k = J(key);
	const struct sl_mgr_vip *v = sl_mgr_vip_lookup(s, k, NULL);
	json_decref(k);
	return v;
}

/* The VIP named by key must look exactly like expect (JSON, any member
 * order), or be absent when expect is NULL. */
static void assert_vip(const struct sl_mgr_state *s, const char *key, const char *expect)
{
	const struct sl_mgr_vip *v = vip_of(s, key);
	if (expect == NULL) {
		ck_assert_msg(v == NULL, "VIP %s should not exist", key);
		return;
	}
	ck_assert_msg(v != NULL, "VIP %s should exist", key);
	json_t *want = J(expect), *got = sl_mgr_vip_to_json(v);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(want, got), "VIP %s is %s", key, g);
	free(g);
	json_decref(want);
	json_decref(got);
}

/* ------------------------------------------------------------ fixtures */

#define VA "{'address':'203.0.113.10','protocol':'tcp','port':80}"
#define VB "{'address':'2001:db8::10','protocol':'udp','port':53}"
#define VC "{'address':'203.0.113.10','protocol':'udp','port':80}"
#define VD "{'address':'203.0.113.11','protocol':'tcp','port':443}"
#define D1 "{'address':'10.0.0.1','port':8080}"
#define D2 "{'address':'10.0.0.2','port':8080}"
#define D1_FULL(w, admin, health)                                                          \
	"{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':" #w ",'admin':'" admin \
	"','health':'" health "'}"
#define D2_FULL(w, admin, health)                                                          \
	"{'address':'10.0.0.2','port':8080,'host':'192.0.2.22','weight':" #w ",'admin':'" admin \
	"','health':'" health "'}"
#define D3_FULL                                                                            \
	"{'address':'10.0.0.3','port':8443,'host':'192.0.2.21','weight':100,'admin':'active'," \
	"'health':'unknown'}"
#define A_WITH(dips) "{'address':'203.0.113.10','protocol':'tcp','port':80,'dips':[" dips "]}"
#define A_BASE A_WITH(D1_FULL(100, "active", "unknown") "," D2_FULL(50, "active", "unknown"))

/* A: two IPv4 DIPs; B: IPv6; C: A's address on UDP, no DIPs; D: one DIP on A's first host. */
static const char BASE[] =
	"{'op':'batch','commands':["
	"{'op':'vip_create','vip':{'address':'203.0.113.10','protocol':'tcp','port':80,'dips':["
	"  {'address':'10.0.0.1','port':8080,'host':'192.0.2.21'},"
	"  {'address':'10.0.0.2','port':8080,'host':'192.0.2.22','weight':50}]}},"
	"{'op':'vip_create','vip':{'address':'2001:db8::10','protocol':'udp','port':53}},"
	"{'op':'dip_add','vip':" VB ",'dip':{'address':'2001:db8:1::1','host':'2001:db8:2::21'}},"
	"{'op':'vip_create','vip':" VC "},"
	"{'op':'vip_create','vip':" VD "},"
	"{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.3','port':8443,'host':'192.0.2.21'}}"
	"]}";

static struct sl_mgr_state *base_state(void)
{
	struct sl_mgr_state *s = sl_mgr_state_new();
	ck_assert_ptr_nonnull(s);
	apply_ok(s, BASE);
	ck_assert_uint_eq(s->generation, 1);
	return s;
}

/* ================================================================ state */

START_TEST(test_empty_state)
{
	struct sl_mgr_state *s = sl_mgr_state_new();
	char *text = encode(s);
	ck_assert_str_eq(text, "{\"format\":1,\"generation\":0,\"index\":0,\"members\":[],\"pops\":[],"
			       "\"tunnel_sources\":null,\"vips\":[]}");
	free(text);
	sl_mgr_state_free(s);
	sl_mgr_state_free(NULL);
}
END_TEST

/* The exact bytes of a small state: pins the canonical format (sorted
 * members, VIPs by family/protocol/address/port, DIPs by address/port). */
START_TEST(test_canonical_bytes)
{
	struct sl_mgr_state *s = base_state();
	char *text = encode(s);
	const char *want =
		"{\"format\":1,\"generation\":1,\"index\":0,\"members\":[],\"pops\":[],\"tunnel_sources\":null,"
		"\"vips\":["
		"{\"address\":\"203.0.113.10\",\"dips\":["
		"{\"address\":\"10.0.0.1\",\"admin\":\"active\",\"health\":\"unknown\",\"host\":"
		"\"192.0.2.21\",\"port\":8080,\"weight\":100},"
		"{\"address\":\"10.0.0.2\",\"admin\":\"active\",\"health\":\"unknown\",\"host\":"
		"\"192.0.2.22\",\"port\":8080,\"weight\":50}],\"port\":80,\"protocol\":\"tcp\"},"
		"{\"address\":\"203.0.113.11\",\"dips\":["
		"{\"address\":\"10.0.0.3\",\"admin\":\"active\",\"health\":\"unknown\",\"host\":"
		"\"192.0.2.21\",\"port\":8443,\"weight\":100}],\"port\":443,\"protocol\":\"tcp\"},"
		"{\"address\":\"203.0.113.10\",\"dips\":[],\"port\":80,\"protocol\":\"udp\"},"
		"{\"address\":\"2001:db8::10\",\"dips\":["
		"{\"address\":\"2001:db8:1::1\",\"admin\":\"active\",\"health\":\"unknown\",\"host\":"
		"\"2001:db8:2::21\",\"port\":53,\"weight\":100}],\"port\":53,\"protocol\":\"udp\"}]}";
	ck_assert_str_eq(text, want);
	free(text);
	sl_mgr_state_free(s);
}
END_TEST

/* The state decoded from its encoding, which must hold `part` and decode
 * to the same bytes. */
static struct sl_mgr_state *round_trip(const struct sl_mgr_state *s, const char *part)
{
	char *text = encode(s);
	struct sl_mgr_err err;
	ck_assert_msg(strstr(text, part) != NULL, "%s lacks %s", text, part);
	struct sl_mgr_state *back = sl_mgr_state_decode(text, strlen(text), &err);
	ck_assert_msg(back != NULL, "%s", err.msg);
	assert_same_state(s, back);
	free(text);
	return back;
}

/* member_api sets, replaces and forgets; snapshots carry the URLs and a
 * snapshot without the section (older than it) loads with none. */
START_TEST(test_member_api)
{
	struct sl_mgr_state *s = base_state();
	ck_assert_ptr_null(sl_mgr_member_api(s, 4));
	apply_ok(s, "{'op':'member_api','id':4,'api':'https://192.0.2.14:8443'}");
	apply_ok(s, "{'op':'member_api','id':2,'api':'https://192.0.2.12:8443'}");
	apply_ok(s, "{'op':'member_api','id':4,'api':'https://[2001:db8::14]:8443'}");
	ck_assert_str_eq(sl_mgr_member_api(s, 4), "https://[2001:db8::14]:8443");
	ck_assert_str_eq(sl_mgr_member_api(s, 2), "https://192.0.2.12:8443");
	struct sl_mgr_state *back = round_trip(s, "\"members\":[{\"api\":\"https://192.0.2.12:8443\","
					       "\"id\":2},{\"api\":\"https://[2001:db8::14]:8443\",\"id\":4}]");
	struct sl_mgr_err err;
	ck_assert_str_eq(sl_mgr_member_api(back, 4), "https://[2001:db8::14]:8443");
	apply_ok(s, "{'op':'member_api','id':4,'api':''}");
	ck_assert_ptr_null(sl_mgr_member_api(s, 4));
	ck_assert_str_eq(sl_mgr_member_api(s, 2), "https://192.0.2.12:8443");
	/* the copy taken before is unchanged (copy on write) */
	ck_assert_str_eq(sl_mgr_member_api(back, 4), "https://[2001:db8::14]:8443");
	static const char old[] = "{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[]}";
	struct sl_mgr_state *older = sl_mgr_state_decode(old, strlen(old), &err);
	ck_assert_msg(older != NULL, "%s", err.msg);
	ck_assert_uint_eq(older->nb_members, 0);
	static const char twice[] = "{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[],"
				    "\"members\":[{\"id\":2,\"api\":\"https://a\"},{\"id\":2,\"api\":\"https://b\"}]}";
	ck_assert_ptr_null(sl_mgr_state_decode(twice, strlen(twice), &err));
	ck_assert_str_eq(err.msg, "members.[1].id: 2 appears twice");
	sl_mgr_state_free(older);
	sl_mgr_state_free(back);
	sl_mgr_state_free(s);
}
END_TEST

/* The state's tunnel sources as the API reads them: `list` as canonical
 * texts, or "null" for not set (without a file to show). */
static void assert_sources(const struct sl_mgr_state *s, const char *list)
{
	json_t *prefixes = strcmp(list, "null") == 0 ? json_null() : J(list);
	json_t *want = json_pack("{s:O, s:b}", "prefixes", prefixes, "replicated",
				 json_is_array(prefixes));
	json_t *got = sl_mgr_tunnel_sources_json(s, NULL);
	char *g = json_dumps(got, JSON_COMPACT);
	ck_assert_msg(json_equal(want, got), "tunnel sources are %s", g);
	ck_assert(s->tunnel_sources_set == json_is_array(prefixes));
	free(g);
	json_decref(prefixes);
	json_decref(want);
	json_decref(got);
}

/* set_tunnel_sources sets the whole list, which is kept canonical and
 * sorted (family, address, length), and may be emptied; snapshots carry
 * it. */
START_TEST(test_tunnel_sources)
{
	struct sl_mgr_state *s = base_state();
	assert_sources(s, "null");
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':['2001:DB8:2::/64','192.0.2.10',"
		    "'198.18.0.0/15','192.0.2.0/24','2001:db8:2::10']}");
	ck_assert_uint_eq(s->generation, 2);
	ck_assert_uint_eq(s->nb_tunnel_sources, 5);
	assert_sources(s, "['192.0.2.0/24','192.0.2.10/32','198.18.0.0/15',"
			  "'2001:db8:2::/64','2001:db8:2::10/128']");
	ck_assert_uint_eq(s->tunnel_sources[0].family, SL_AF_INET);
	ck_assert_uint_eq(s->tunnel_sources[0].len, 24);
	ck_assert_uint_eq(s->tunnel_sources[1].addr.v4, htonl(0xc000020a));
	struct sl_mgr_state *back =
		round_trip(s, "\"tunnel_sources\":[\"192.0.2.0/24\",\"192.0.2.10/32\",\"198.18.0.0/15\","
			      "\"2001:db8:2::/64\",\"2001:db8:2::10/128\"]");
	/* another order, another spelling: the same state */
	struct sl_mgr_state *other = base_state();
	apply_ok(other, "{'op':'set_tunnel_sources','prefixes':['2001:db8:2::10/128','198.18.0.0/15',"
			"'192.0.2.10/32','2001:db8:2:0::/64','192.0.2.0/24']}");
	assert_same_state(s, other);
	/* replaced whole (and kept by other commands), then emptied: set to
	 * none, which is not "not set" */
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':['203.0.113.0/25']}");
	assert_sources(s, "['203.0.113.0/25']");
	apply_ok(s, "{'op':'dip_drain','vip':" VA ",'dip':" D1 "}");
	assert_sources(s, "['203.0.113.0/25']");
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':[]}");
	ck_assert_uint_eq(s->nb_tunnel_sources, 0);
	assert_sources(s, "[]");
	apply_ok(s, "{'op':'dip_enable','vip':" VA ",'dip':" D1 "}");
	assert_sources(s, "[]");
	struct sl_mgr_state *empty = round_trip(s, "\"tunnel_sources\":[]");
	assert_sources(empty, "[]");
	assert_sources(back, "['192.0.2.0/24','192.0.2.10/32','198.18.0.0/15',"
			     "'2001:db8:2::/64','2001:db8:2::10/128']"); /* copies stay apart */
	sl_mgr_state_free(empty);
	sl_mgr_state_free(other);
	sl_mgr_state_free(back);
	sl_mgr_state_free(s);
}
END_TEST

/* ------------------------------------------------------------------ PoPs */

#define POP_A "{'op':'pop_set','pop':{'name':'a','unicast':['203.0.113.0/25','2001:db8:a::/48']," \
	      "'anycast':['203.0.113.0/24','2001:db8::/32']}}"
#define POP_B "{'op':'pop_set','pop':{'name':'b','unicast':['203.0.113.128/25'],'anycast':['203.0.113.0/24']}}"

static void expect_refused(struct sl_mgr_state *s, const char *cmd, enum sl_mgr_code code,
			   const char *msg)
{
	struct sl_mgr_err err;
	char *before = encode(s);
	ck_assert_msg(apply_text(s, cmd, &err) == -1, "%s was accepted", cmd);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_int_eq(err.code, code);
	char *after = encode(s);
	ck_assert_str_eq(before, after); /* nothing half-applied */
	free(before);
	free(after);
}

/* pop_set creates and replaces (keeping the state unless it names one),
 * drain and undrain change the state, delete removes; PoPs are kept
 * sorted by name, their lists canonical, and snapshots carry them. */
START_TEST(test_pops)
{
	struct sl_mgr_state *s = base_state();
	ck_assert_ptr_null(sl_mgr_pop_find(s, "a"));
	apply_ok(s, POP_B);
	apply_ok(s, POP_A);
	ck_assert_uint_eq(s->nb_pops, 2);
	ck_assert_str_eq(s->pops[0].name, "a"); /* sorted by name */
	const struct sl_pop *a = sl_mgr_pop_find(s, "a");
	ck_assert_uint_eq(a->state, SL_POP_ACTIVE);
	ck_assert_uint_eq(a->nb_unicast, 2);
	ck_assert_uint_eq(a->unicast[0].family, SL_AF_INET); /* IPv4 first */
	ck_assert_uint_eq(a->unicast[0].len, 25);
	ck_assert_uint_eq(a->nb_anycast, 2);
	apply_ok(s, "{'op':'pop_drain','name':'a'}");
	ck_assert_uint_eq(sl_mgr_pop_find(s, "a")->state, SL_POP_DRAINING);
	/* replaced without a state: keeps draining; with one: takes it */
	apply_ok(s, "{'op':'pop_set','pop':{'name':'a','unicast':['203.0.113.0/26'],'anycast':[]}}");
	ck_assert_uint_eq(sl_mgr_pop_find(s, "a")->state, SL_POP_DRAINING);
	ck_assert_uint_eq(sl_mgr_pop_find(s, "a")->nb_anycast, 0);
	apply_ok(s, "{'op':'pop_undrain','name':'a'}");
	ck_assert_uint_eq(sl_mgr_pop_find(s, "a")->state, SL_POP_ACTIVE);
	apply_ok(s, "{'op':'pop_set','pop':{'name':'b','unicast':[],'anycast':['203.0.113.0/24'],"
		    "'state':'down'}}");
	ck_assert_uint_eq(sl_mgr_pop_find(s, "b")->state, SL_POP_DOWN);
	struct sl_mgr_state *back = round_trip(
		s, "\"pops\":[{\"anycast\":[],\"name\":\"a\",\"state\":\"active\",\"unicast\":"
		   "[\"203.0.113.0/26\"]},{\"anycast\":[\"203.0.113.0/24\"],\"name\":\"b\","
		   "\"state\":\"down\",\"unicast\":[]}]");
	apply_ok(s, "{'op':'pop_delete','name':'a'}");
	ck_assert_ptr_null(sl_mgr_pop_find(s, "a"));
	ck_assert_uint_eq(s->nb_pops, 1);
	ck_assert_ptr_nonnull(sl_mgr_pop_find(back, "a")); /* copies stay apart */
	json_t *list = sl_mgr_pops_json(back);
	ck_assert_uint_eq(json_array_size(json_object_get(list, "pops")), 2);
	json_decref(list);
	/* another spelling and order: the same state */
	struct sl_mgr_state *x = base_state(), *y = base_state();
	apply_ok(x, POP_A);
	apply_ok(y, "{'op':'pop_set','pop':{'name':'a','unicast':['2001:DB8:A::/48','203.0.113.0/25'],"
		    "'anycast':['2001:db8:0::/32','203.0.113.0/24']}}");
	assert_same_state(x, y);
	sl_mgr_state_free(x);
	sl_mgr_state_free(y);
	sl_mgr_state_free(back);
	sl_mgr_state_free(s);
}
END_TEST

/* Every refusal names what is wrong and changes nothing. */
START_TEST(test_pops_refused)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, POP_A);
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':['203.0.113.64/26'],'anycast':[]}}", SL_MGR_EEXIST,
		       "pop_set: pop.unicast: 203.0.113.64/26 overlaps 203.0.113.0/25, a unicast prefix "
		       "of PoP 'a'");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'C','unicast':[],'anycast':[]}}", SL_MGR_EINVAL,
		       "pop_set: pop.name: 'C' must be lower-case letters, digits, '-' and '_', starting "
		       "with a letter or a digit");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':['198.18.0.1/24'],'anycast':[]}}", SL_MGR_EINVAL,
		       "pop_set: pop.unicast.[0]: 198.18.0.1/24 has host bits set (did you mean "
		       "198.18.0.0/24?)");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':['198.18.0.0/24','198.18.0.0/16'],'anycast':[]}}",
		       SL_MGR_EINVAL, "pop_set: pop.unicast: 198.18.0.0/16 and 198.18.0.0/24 overlap");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':['198.18.0.0/24'],"
			  "'anycast':['198.18.0.0/24']}}", SL_MGR_EINVAL,
		       "pop_set: pop.unicast: 198.18.0.0/24 is also an anycast prefix (a drain would not "
		       "withdraw it)");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':[],'anycast':[],'state':'gone'}}", SL_MGR_EINVAL,
		       "pop_set: pop.state: 'gone' is not allowed (one of \"active\", \"draining\", \"down\")");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c','unicast':[],'anycast':[],'weight':1}}", SL_MGR_EINVAL,
		       "pop_set: pop.weight: unknown member");
	expect_refused(s, "{'op':'pop_set','pop':{'name':'c'}}", SL_MGR_EINVAL,
		       "pop_set: pop.unicast: required member is missing");
	expect_refused(s, "{'op':'pop_drain','name':'z'}", SL_MGR_ENOENT, "pop_drain: no PoP 'z'");
	expect_refused(s, "{'op':'pop_delete','name':'z'}", SL_MGR_ENOENT, "pop_delete: no PoP 'z'");
	/* a batch whose last command fails leaves the PoPs as they were */
	expect_refused(s, "{'op':'batch','commands':[{'op':'pop_drain','name':'a'},"
			  "{'op':'pop_undrain','name':'z'}]}", SL_MGR_ENOENT,
		       "batch: commands.[1]: pop_undrain: no PoP 'z'");
	ck_assert_uint_eq(sl_mgr_pop_find(s, "a")->state, SL_POP_ACTIVE);
	/* at most SL_MAX_POPS */
	char cmd[256];
	for (unsigned i = 1; i < SL_MAX_POPS; i++) {
		snprintf(cmd, sizeof(cmd), "{'op':'pop_set','pop':{'name':'p%u','unicast':['198.18.%u.0/24'],'anycast':[]}}",
			 i, i);
		apply_ok(s, cmd);
	}
	expect_refused(s, "{'op':'pop_set','pop':{'name':'zz','unicast':[],'anycast':[]}}", SL_MGR_ELIMIT,
		       "pop_set: pop: already 64 PoPs");
	/* snapshots are checked as fully */
	struct sl_mgr_err err;
	static const char twice[] = "{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[],\"pops\":["
				    "{\"name\":\"a\",\"unicast\":[],\"anycast\":[],\"state\":\"active\"},"
				    "{\"name\":\"a\",\"unicast\":[],\"anycast\":[],\"state\":\"down\"}]}";
	ck_assert_ptr_null(sl_mgr_state_decode(twice, strlen(twice), &err));
	ck_assert_str_eq(err.msg, "pops.[1].name: 'a' appears twice");
	static const char older[] = "{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[]}";
	struct sl_mgr_state *old = sl_mgr_state_decode(older, strlen(older), &err);
	ck_assert_msg(old != NULL, "%s", err.msg);
	ck_assert_uint_eq(old->nb_pops, 0); /* a snapshot older than the section: none */
	sl_mgr_state_free(old);
	sl_mgr_state_free(s);
}
END_TEST

/* A refused list, alone or late in a batch, leaves the list it replaces;
 * so does a refused batch that sets another list or unsets it (null). */
START_TEST(test_tunnel_sources_all_or_nothing)
{
	static const struct {
		const char *first, *after;
	} firsts[] = {
		{"{'op':'set_tunnel_sources','prefixes':['192.0.2.11']}", "['192.0.2.11/32']"},
		{"{'op':'set_tunnel_sources','prefixes':null}", "null"},
	};
	for (size_t k = 0; k < sizeof(firsts) / sizeof(firsts[0]); k++) {
		struct sl_mgr_state *s = base_state();
		struct sl_mgr_err err;
		char cmd[512];
		apply_ok(s, "{'op':'set_tunnel_sources','prefixes':['192.0.2.10']}");
		char *before = encode(s);
		ck_assert_int_eq(apply_text(s, "{'op':'set_tunnel_sources','prefixes':['192.0.2.11',"
					       "'198.51.100.0/24','192.0.2.13/31']}", &err), -1);
		ck_assert_str_eq(err.msg, "set_tunnel_sources: prefixes.[2]: 192.0.2.13/31 has host "
					  "bits set (did you mean 192.0.2.12/31?)");
		snprintf(cmd, sizeof(cmd), "{'op':'batch','commands':[%s,{'op':'dip_drain','vip':" VA
			 ",'dip':{'address':'10.9.9.9'}}]}", firsts[k].first);
		ck_assert_int_eq(apply_text(s, cmd, &err), -1);
		ck_assert_int_eq(err.code, SL_MGR_ENOENT);
		snprintf(cmd, sizeof(cmd), "{'op':'batch','commands':[%s,{'op':'set_tunnel_sources',"
			 "'prefixes':['127.0.0.1']}]}", firsts[k].first);
		ck_assert_int_eq(apply_text(s, cmd, &err), -1);
		ck_assert_int_eq(err.code, SL_MGR_EINVAL);
		char *after = encode(s);
		ck_assert_str_eq(before, after);
		assert_sources(s, "['192.0.2.10/32']");
		/* the same batch without its failing command applies completely */
		snprintf(cmd, sizeof(cmd), "{'op':'batch','commands':[%s,{'op':'dip_drain','vip':" VA
			 ",'dip':" D1 "}]}", firsts[k].first);
		apply_ok(s, cmd);
		assert_sources(s, firsts[k].after);
		free(before);
		free(after);
		sl_mgr_state_free(s);
	}
}
END_TEST

/* Reads show the weight the data plane gives each DIP: 0 when drained,
 * disabled or reported unhealthy (no new flows), else the configured one. */
START_TEST(test_effective_weight)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, "{'op':'dip_drain','vip':" VA ",'dip':" D1 "}");
	json_t *st = sl_mgr_state_status_json(s);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "generation")), 2);
	const json_t *dips = json_object_get(json_array_get(json_object_get(st, "vips"), 0), "dips");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(dips, 0), "effective_weight")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(dips, 1), "effective_weight")), 50);
	json_decref(st);
	apply_ok(s, "{'op':'dip_enable','vip':" VA ",'dip':" D1 "}");
	apply_ok(s, "{'op':'dip_health','dip':{'address':'10.0.0.2','port':8080,'host':'192.0.2.22'},"
		    "'health':'unhealthy'}");
	st = sl_mgr_state_status_json(s);
	dips = json_object_get(json_array_get(json_object_get(st, "vips"), 0), "dips");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(dips, 0), "effective_weight")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(dips, 1), "effective_weight")), 0);
	json_decref(st);
	sl_mgr_state_free(s);
}
END_TEST

struct good_case {
	const char *name;
	const char *cmd;
	const char *vip;    /* key of the VIP to check afterwards */
	const char *expect; /* its JSON, or NULL: it must not exist */
};

#define NEW_V4 "{'address':'198.51.100.1','protocol':'tcp','port':80}"

static const struct good_case good_cases[] = {
	{"vip_create", "{'op':'vip_create','vip':" NEW_V4 "}", NEW_V4,
	 "{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':[]}"},
	{"vip_create with DIPs: port defaults to the VIP's, weight to 100; sorted",
	 "{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'udp','port':5000,'dips':["
	 "{'address':'10.1.0.2','host':'192.0.2.30'},"
	 "{'address':'10.1.0.1','port':6000,'host':'192.0.2.30','weight':7,'admin':'draining'}]}}",
	 "{'address':'198.51.100.1','protocol':'udp','port':5000}",
	 "{'address':'198.51.100.1','protocol':'udp','port':5000,'dips':["
	 "{'address':'10.1.0.1','port':6000,'host':'192.0.2.30','weight':7,'admin':'draining',"
	 "'health':'unknown'},"
	 "{'address':'10.1.0.2','port':5000,'host':'192.0.2.30','weight':100,'admin':'active',"
	 "'health':'unknown'}]}"},
	{"vip_create: IPv6 addresses are stored in canonical form",
	 "{'op':'vip_create','vip':{'address':'2001:DB8:0::20','protocol':'tcp','port':443,'dips':["
	 "{'address':'2001:db8:1:0::7','host':'2001:DB8:2::21'}]}}",
	 "{'address':'2001:db8::20','protocol':'tcp','port':443}",
	 "{'address':'2001:db8::20','protocol':'tcp','port':443,'dips':[{'address':'2001:db8:1::7',"
	 "'port':443,'host':'2001:db8:2::21','weight':100,'admin':'active','health':'unknown'}]}"},
	{"vip_create: the extremes of ports and weights",
	 "{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':65535,'dips':["
	 "{'address':'10.1.0.1','port':1,'host':'192.0.2.30','weight':1},"
	 "{'address':'10.1.0.2','port':65535,'host':'192.0.2.30','weight':65535}]}}",
	 "{'address':'198.51.100.1','protocol':'tcp','port':65535}",
	 "{'address':'198.51.100.1','protocol':'tcp','port':65535,'dips':["
	 "{'address':'10.1.0.1','port':1,'host':'192.0.2.30','weight':1,'admin':'active',"
	 "'health':'unknown'},{'address':'10.1.0.2','port':65535,'host':'192.0.2.30',"
	 "'weight':65535,'admin':'active','health':'unknown'}]}"},
	{"vip_create with the DIPs beside the key (as the API sends them)",
	 "{'op':'vip_create','vip':" NEW_V4 ",'dips':[{'address':'10.1.0.1','port':80,'host':"
	 "'192.0.2.30','weight':100}]}",
	 NEW_V4,
	 "{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':[{'address':'10.1.0.1',"
	 "'port':80,'host':'192.0.2.30','weight':100,'admin':'active','health':'unknown'}]}"},
	{"vip_update with the DIPs beside the key",
	 "{'op':'vip_update','vip':" VA ",'dips':[{'address':'10.0.0.2','port':8080,'host':"
	 "'192.0.2.22','weight':5}]}",
	 VA, A_WITH(D2_FULL(5, "active", "unknown"))},
	{"vip_update: new port, DIPs stay",
	 "{'op':'vip_update','vip':" VA ",'set':{'port':8000}}",
	 "{'address':'203.0.113.10','protocol':'tcp','port':8000}",
	 "{'address':'203.0.113.10','protocol':'tcp','port':8000,'dips':[" D1_FULL(
		 100, "active", "unknown") "," D2_FULL(50, "active", "unknown") "]}"},
	{"vip_update: the old key is gone", "{'op':'vip_update','vip':" VA ",'set':{'port':8000}}",
	 VA, NULL},
	{"vip_update: new protocol", "{'op':'vip_update','vip':" VD ",'set':{'protocol':'udp'}}",
	 "{'address':'203.0.113.11','protocol':'udp','port':443}",
	 "{'address':'203.0.113.11','protocol':'udp','port':443,'dips':[" D3_FULL "]}"},
	{"vip_update: replace the DIP set",
	 "{'op':'vip_update','vip':" VA ",'set':{'dips':[{'address':'10.0.0.9','host':'192.0.2.23',"
	 "'weight':3},{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','admin':'disabled'}]}}",
	 VA,
	 A_WITH(D1_FULL(100, "disabled", "unknown") ",{'address':'10.0.0.9','port':80,'host':"
						    "'192.0.2.23','weight':3,'admin':'active',"
						    "'health':'unknown'}")},
	{"vip_update: another family needs, and gets, new DIPs",
	 "{'op':'vip_update','vip':" VA ",'set':{'address':'2001:db8::99','dips':[{'address':"
	 "'2001:db8:1::5','host':'2001:db8:2::21'}]}}",
	 "{'address':'2001:db8::99','protocol':'tcp','port':80}",
	 "{'address':'2001:db8::99','protocol':'tcp','port':80,'dips':[{'address':'2001:db8:1::5',"
	 "'port':80,'host':'2001:db8:2::21','weight':100,'admin':'active','health':'unknown'}]}"},
	{"vip_update: a VIP without DIPs changes family freely",
	 "{'op':'vip_update','vip':" VC ",'set':{'address':'2001:db8::77'}}",
	 "{'address':'2001:db8::77','protocol':'udp','port':80}",
	 "{'address':'2001:db8::77','protocol':'udp','port':80,'dips':[]}"},
	{"vip_update: empty DIP list", "{'op':'vip_update','vip':" VA ",'set':{'dips':[]}}", VA,
	 A_WITH("")},
	{"vip_delete", "{'op':'vip_delete','vip':" VA "}", VA, NULL},
	{"vip_delete leaves the others", "{'op':'vip_delete','vip':" VA "}", VD,
	 "{'address':'203.0.113.11','protocol':'tcp','port':443,'dips':[" D3_FULL "]}"},
	{"dip_add: A's DIP on another protocol is another reply key",
	 "{'op':'dip_add','vip':" VC ",'dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.21'}}",
	 VC,
	 "{'address':'203.0.113.10','protocol':'udp','port':80,'dips':[" D1_FULL(100, "active",
										  "unknown") "]}"},
	{"dip_add: A's DIP behind another host",
	 "{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.99'}}",
	 VD,
	 "{'address':'203.0.113.11','protocol':'tcp','port':443,'dips':[{'address':'10.0.0.1',"
	 "'port':8080,'host':'192.0.2.99','weight':100,'admin':'active','health':'unknown'}," D3_FULL
	 "]}"},
	{"dip_add with admin state",
	 "{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.0','port':8080,'host':'192.0.2.21',"
	 "'weight':9,'admin':'disabled'}}",
	 VA,
	 A_WITH("{'address':'10.0.0.0','port':8080,'host':'192.0.2.21','weight':9,'admin':"
		"'disabled','health':'unknown'}," D1_FULL(100, "active", "unknown") "," D2_FULL(
			50, "active", "unknown"))},
	{"dip_remove", "{'op':'dip_remove','vip':" VA ",'dip':" D1 "}", VA,
	 A_WITH(D2_FULL(50, "active", "unknown"))},
	{"dip_remove: port defaults to the VIP's",
	 "{'op':'dip_remove','vip':" VB ",'dip':{'address':'2001:db8:1::1'}}",
	 "{'address':'2001:db8::10','protocol':'udp','port':53}",
	 "{'address':'2001:db8::10','protocol':'udp','port':53,'dips':[]}"},
	{"dip_set_weight", "{'op':'dip_set_weight','vip':" VA ",'dip':" D2 ",'weight':65535}", VA,
	 A_WITH(D1_FULL(100, "active", "unknown") "," D2_FULL(65535, "active", "unknown"))},
	{"dip_drain", "{'op':'dip_drain','vip':" VA ",'dip':" D1 "}", VA,
	 A_WITH(D1_FULL(100, "draining", "unknown") "," D2_FULL(50, "active", "unknown"))},
	{"dip_disable", "{'op':'dip_disable','vip':" VA ",'dip':" D1 "}", VA,
	 A_WITH(D1_FULL(100, "disabled", "unknown") "," D2_FULL(50, "active", "unknown"))},
	{"dip_enable after drain",
	 "{'op':'batch','commands':[{'op':'dip_drain','vip':" VA ",'dip':" D1
	 "},{'op':'dip_enable','vip':" VA ",'dip':" D1 "}]}",
	 VA, A_BASE},
	{"dip_enable on an active DIP is a no-op that succeeds",
	 "{'op':'dip_enable','vip':" VA ",'dip':" D1 "}", VA, A_BASE},
	{"dip_health for one VIP",
	 "{'op':'dip_health','vip':" VA ",'dip':" D2 ",'health':'unhealthy'}", VA,
	 A_WITH(D1_FULL(100, "active", "unknown") "," D2_FULL(50, "active", "unhealthy"))},
	{"dip_health without a VIP: wherever the DIP backs one",
	 "{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080},'health':'healthy'}", VA,
	 A_WITH(D1_FULL(100, "active", "healthy") "," D2_FULL(50, "active", "unknown"))},
	{"dip_health without a VIP, with its host",
	 "{'op':'dip_health','dip':{'address':'10.0.0.2','port':8080,'host':'192.0.2.22'},"
	 "'health':'unhealthy'}",
	 VA, A_WITH(D1_FULL(100, "active", "unknown") "," D2_FULL(50, "active", "unhealthy"))},
	{"batch: create a VIP, then fill it",
	 "{'op':'batch','commands':[{'op':'vip_create','vip':" NEW_V4 "},{'op':'dip_add','vip':" NEW_V4
	 ",'dip':{'address':'10.9.0.1','host':'192.0.2.40'}},{'op':'dip_set_weight','vip':" NEW_V4
	 ",'dip':{'address':'10.9.0.1'},'weight':2}]}",
	 NEW_V4,
	 "{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':[{'address':'10.9.0.1',"
	 "'port':80,'host':'192.0.2.40','weight':2,'admin':'active','health':'unknown'}]}"},
	{"batch: move a DIP between VIPs of one host (add first, remove after)",
	 "{'op':'batch','commands':[{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':"
	 "8080,'host':'192.0.2.21'}},{'op':'dip_remove','vip':" VA ",'dip':" D1 "}]}",
	 VD,
	 "{'address':'203.0.113.11','protocol':'tcp','port':443,'dips':[" D1_FULL(
		 100, "active", "unknown") "," D3_FULL "]}"},
};

START_TEST(test_good_command)
{
	const struct good_case *c = &good_cases[_i];
	struct sl_mgr_state *s = base_state();
	struct sl_mgr_err err;
	json_t *cmd = J(c->cmd);
	ck_assert_msg(sl_mgr_validate(s, cmd, &err) == 0, "%s: validate: %s", c->name, err.msg);
	ck_assert_uint_eq(s->generation, 1); /* validate changes nothing */
	ck_assert_msg(sl_mgr_apply(s, cmd, &err) == 0, "%s: %s", c->name, err.msg);
	ck_assert_uint_eq(s->generation, 2); /* a batch counts once */
	json_decref(cmd);
	assert_vip(s, c->vip, c->expect);
	sl_mgr_state_free(s);
}
END_TEST

struct bad_case {
	const char *cmd;
	enum sl_mgr_code code;
	const char *msg; /* the whole message */
};

static const struct bad_case bad_cases[] = {
	/* member API URLs */
	{"{'op':'member_api','id':0,'api':'https://192.0.2.10:8443'}", SL_MGR_EINVAL,
	 "member_api: id: 0 is out of range (1..65535)"},
	{"{'op':'member_api','id':4}", SL_MGR_EINVAL,
	 "member_api: api: required string member is missing"},
	{"{'op':'member_api','id':4,'api':7}", SL_MGR_EINVAL, "member_api: api: must be a string"},
	{"{'op':'member_api','id':4,'api':'http://192.0.2.10'}", SL_MGR_EINVAL,
	 "member_api: api: 'http://192.0.2.10' is not an https:// URL"},
	{"{'op':'member_api','id':4,'api':'https://'}", SL_MGR_EINVAL,
	 "member_api: api: 'https://' is not an https:// URL"},
	{"{'op':'member_api','id':4,'api':'https://x','role':'voter'}", SL_MGR_EINVAL,
	 "member_api: role: unknown member"},
	/* tunnel sources: the file's rules (config/prefix_rules.h), all or nothing */
	{"{'op':'set_tunnel_sources'}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes: required member is missing"},
	{"{'op':'set_tunnel_sources','prefixes':'192.0.2.10'}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes: must be an array or null"},
	{"{'op':'set_tunnel_sources','prefixes':[],'prefix':[]}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefix: unknown member"},
	{"{'op':'set_tunnel_sources','prefixes':['192.0.2.10',10]}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[1]: must be a string"},
	{"{'op':'set_tunnel_sources','prefixes':['192.0.2.10/24']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: 192.0.2.10/24 has host bits set (did you mean "
	 "192.0.2.0/24?)"},
	{"{'op':'set_tunnel_sources','prefixes':['2001:db8:2::/129']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: '2001:db8:2::/129': prefix length 129 is out of range "
	 "(1..128 for IPv6)"},
	{"{'op':'set_tunnel_sources','prefixes':['::/0']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: '::/0': prefix length 0 is out of range (1..128 for "
	 "IPv6; /0 would accept tunnels from anywhere)"},
	{"{'op':'set_tunnel_sources','prefixes':['mux1']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: 'mux1' is not an address or ADDRESS/LENGTH (e.g. "
	 "\"192.0.2.10\", \"2001:db8:2::/64\")"},
	{"{'op':'set_tunnel_sources','prefixes':['192.0.2.10','2001:db8:2::/64','192.0.2.10/32']}",
	 SL_MGR_EINVAL, "set_tunnel_sources: prefixes.[2]: 192.0.2.10/32 is the same prefix as [0]"},
	{"{'op':'set_tunnel_sources','prefixes':['fe80::/10']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: fe80::/10: fe80:: is a link-local address, which routers "
	 "do not forward"},
	{"{'op':'set_tunnel_sources','prefixes':['224.0.0.0/4']}", SL_MGR_EINVAL,
	 "set_tunnel_sources: prefixes.[0]: 224.0.0.0/4: 224.0.0.0 is a multicast address; only "
	 "unicast addresses are allowed"},
	{"{'op':'batch','commands':[{'op':'set_tunnel_sources','prefixes':['192.0.2.10']},"
	 "{'op':'set_tunnel_sources','prefixes':['127.0.0.1']}]}", SL_MGR_EINVAL,
	 "batch: commands.[1]: set_tunnel_sources: prefixes.[0]: 127.0.0.1/32: 127.0.0.1 is a "
	 "loopback address, which never leaves its host"},
	/* shape of a command */
	{"[1]", SL_MGR_EINVAL, "a command must be a JSON object"},
	{"{}", SL_MGR_EINVAL, "op: required string member is missing"},
	{"{'op':7}", SL_MGR_EINVAL, "op: required string member is missing"},
	{"{'op':'vip_frobnicate'}", SL_MGR_EINVAL, "op: 'vip_frobnicate' is not a command"},
	{"{'op':'vip_delete','vip':" VA ",'force':true}", SL_MGR_EINVAL,
	 "vip_delete: force: unknown member"},
	{"{'op':'vip_delete'}", SL_MGR_EINVAL, "vip_delete: vip: required member is missing"},
	{"{'op':'vip_delete','vip':'203.0.113.10'}", SL_MGR_EINVAL,
	 "vip_delete: vip: must be an object"},
	/* VIP keys and values */
	{"{'op':'vip_create','vip':{'address':'203.0.113.300','protocol':'tcp','port':80}}",
	 SL_MGR_EINVAL, "vip_create: vip.address: '203.0.113.300' is not an IPv4 or IPv6 address"},
	{"{'op':'vip_create','vip':{'address':'203.0.113.1/32','protocol':'tcp','port':80}}",
	 SL_MGR_EINVAL, "vip_create: vip.address: '203.0.113.1/32' is not an IPv4 or IPv6 address"},
	{"{'op':'vip_create','vip':{'address':5,'protocol':'tcp','port':80}}", SL_MGR_EINVAL,
	 "vip_create: vip.address: must be a string"},
	{"{'op':'vip_create','vip':{'protocol':'tcp','port':80}}", SL_MGR_EINVAL,
	 "vip_create: vip.address: required member is missing"},
	{"{'op':'vip_create','vip':{'address':'0.0.0.0','protocol':'tcp','port':80}}", SL_MGR_EINVAL,
	 "vip_create: vip.address: the unspecified address 0.0.0.0 is not allowed"},
	{"{'op':'vip_create','vip':{'address':'::','protocol':'tcp','port':80}}", SL_MGR_EINVAL,
	 "vip_create: vip.address: the unspecified address :: is not allowed"},
	/* Special ranges (docs/api.md, "Addresses"); the same table as the API's and the file's. */
	{"{'op':'vip_create','vip':{'address':'::ffff:224.0.0.1','protocol':'tcp','port':80}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.address: ::ffff:224.0.0.1 is an IPv4-mapped IPv6 address, which is not "
	 "allowed; use the IPv4 address"},
	{"{'op':'vip_create','vip':{'address':'::203.0.113.12','protocol':'tcp','port':80}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.address: ::203.0.113.12 is an IPv4-compatible IPv6 address, which is not "
	 "allowed; use the IPv4 address"},
	{"{'op':'vip_create','vip':{'address':'224.0.0.1','protocol':'tcp','port':80}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.address: 224.0.0.1 is a multicast address; only unicast addresses are "
	 "allowed"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':["
	 "{'address':'127.0.0.1','host':'192.0.2.30'}]}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.dips.[0].address: 127.0.0.1 is a loopback address, which never leaves its "
	 "host"},
	{"{'op':'dip_add','vip':" VB ",'dip':{'address':'2001:db8:1::9','host':'::ffff:192.0.2.21'}}",
	 SL_MGR_EINVAL,
	 "dip_add: dip.host: ::ffff:192.0.2.21 is an IPv4-mapped IPv6 address, which is not "
	 "allowed; use the IPv4 address"},
	{"{'op':'dip_add','vip':" VB ",'dip':{'address':'fe80::1','host':'2001:db8:2::21'}}",
	 SL_MGR_EINVAL,
	 "dip_add: dip.address: fe80::1 is a link-local address, which routers do not forward"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'icmp','port':80}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.protocol: 'icmp' is not allowed (one of \"tcp\", \"udp\")"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'TCP','port':80}}",
	 SL_MGR_EINVAL, "vip_create: vip.protocol: 'TCP' is not allowed (one of \"tcp\", \"udp\")"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':0}}",
	 SL_MGR_EINVAL, "vip_create: vip.port: 0 is out of range (1..65535)"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':65536}}",
	 SL_MGR_EINVAL, "vip_create: vip.port: 65536 is out of range (1..65535)"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':'80'}}",
	 SL_MGR_EINVAL, "vip_create: vip.port: must be an integer (1..65535)"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80.0}}",
	 SL_MGR_EINVAL, "vip_create: vip.port: must be an integer (1..65535)"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp'}}", SL_MGR_EINVAL,
	 "vip_create: vip.port: required member is missing"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,"
	 "'weight':3}}",
	 SL_MGR_EINVAL, "vip_create: vip.weight: unknown member"},
	{"{'op':'vip_create','vip':" VA "}", SL_MGR_EEXIST,
	 "vip_create: VIP 203.0.113.10:80/tcp already exists"},
	{"{'op':'vip_create','vip':{'address':'2001:db8:0::10','protocol':'udp','port':53}}",
	 SL_MGR_EEXIST, "vip_create: VIP [2001:db8::10]:53/udp already exists"},
	{"{'op':'vip_delete','vip':{'address':'203.0.113.99','protocol':'tcp','port':80}}",
	 SL_MGR_ENOENT, "vip_delete: VIP 203.0.113.99:80/tcp does not exist"},
	{"{'op':'vip_delete','vip':{'address':'203.0.113.10','protocol':'tcp','port':80,'dips':[]}}",
	 SL_MGR_EINVAL, "vip_delete: vip.dips: unknown member"},
	/* DIPs of a new VIP */
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':{}}}",
	 SL_MGR_EINVAL, "vip_create: vip.dips: must be an array"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':["
	 "{'address':'10.1.0.1','host':'192.0.2.30'},{'address':'10.1.0.1','host':'192.0.2.31'}]}}",
	 SL_MGR_EEXIST,
	 "vip_create: vip.dips.[1]: DIP 10.1.0.1:80 already backs VIP 198.51.100.1:80/tcp"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':["
	 "{'address':'2001:db8::1','host':'192.0.2.30'}]}}",
	 SL_MGR_EINVAL,
	 "vip_create: vip.dips.[0].address: 2001:db8::1 is an IPv6 address; it must be IPv4 like the "
	 "VIP (4in4, 6in6)"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':["
	 "{'address':'10.1.0.1','host':'192.0.2.30','health':'healthy'}]}}",
	 SL_MGR_EINVAL, "vip_create: vip.dips.[0].health: unknown member"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':[]},"
	 "'dips':[]}",
	 SL_MGR_EINVAL, "vip_create: dips: given twice (dips and vip.dips)"},
	{"{'op':'vip_create','vip':" NEW_V4 ",'dips':[{'address':'10.1.0.1'}]}", SL_MGR_EINVAL,
	 "vip_create: dips.[0].host: required member is missing"},
	{"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,'dips':[7]}}",
	 SL_MGR_EINVAL, "vip_create: vip.dips.[0]: must be an object"},
	/* dip_add */
	{"{'op':'dip_add','vip':" VB ",'dip':{'address':'10.0.0.9','host':'2001:db8:2::21'}}",
	 SL_MGR_EINVAL,
	 "dip_add: dip.address: 10.0.0.9 is an IPv4 address; it must be IPv6 like the VIP (4in4, "
	 "6in6)"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9','host':'2001:db8:2::21'}}",
	 SL_MGR_EINVAL,
	 "dip_add: dip.host: 2001:db8:2::21 is an IPv6 address; it must be IPv4 like the VIP (4in4, "
	 "6in6)"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9'}}", SL_MGR_EINVAL,
	 "dip_add: dip.host: required member is missing"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9','host':'0.0.0.0'}}",
	 SL_MGR_EINVAL, "dip_add: dip.host: the unspecified address 0.0.0.0 is not allowed"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','weight':0}}",
	 SL_MGR_EINVAL, "dip_add: dip.weight: 0 is out of range (1..65535)"},
	{"{'op':'dip_add','vip':" VA
	 ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','weight':65536}}",
	 SL_MGR_EINVAL, "dip_add: dip.weight: 65536 is out of range (1..65535)"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','weight':-1}}",
	 SL_MGR_EINVAL, "dip_add: dip.weight: -1 is out of range (1..65535)"},
	{"{'op':'dip_add','vip':" VA
	 ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','weight':1e3}}",
	 SL_MGR_EINVAL, "dip_add: dip.weight: must be an integer (1..65535)"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','port':0}}",
	 SL_MGR_EINVAL, "dip_add: dip.port: 0 is out of range (1..65535)"},
	{"{'op':'dip_add','vip':" VA
	 ",'dip':{'address':'10.0.0.9','host':'192.0.2.21','admin':'paused'}}",
	 SL_MGR_EINVAL,
	 "dip_add: dip.admin: 'paused' is not allowed (one of \"active\", \"draining\", "
	 "\"disabled\")"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.21'}}",
	 SL_MGR_EEXIST, "dip_add: DIP 10.0.0.1:8080 already backs VIP 203.0.113.10:80/tcp"},
	{"{'op':'dip_add','vip':" VA ",'dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.29'}}",
	 SL_MGR_EEXIST, "dip_add: DIP 10.0.0.1:8080 already backs VIP 203.0.113.10:80/tcp"},
	{"{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.21'}}",
	 SL_MGR_EEXIST,
	 "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP 203.0.113.10:80/tcp and VIP "
	 "203.0.113.11:443/tcp; its host agent could not map replies back to one VIP"},
	{"{'op':'dip_add','vip':{'address':'203.0.113.99','protocol':'tcp','port':80},'dip':{"
	 "'address':'10.0.0.9','host':'192.0.2.21'}}",
	 SL_MGR_ENOENT, "dip_add: VIP 203.0.113.99:80/tcp does not exist"},
	{"{'op':'dip_add','vip':" VA "}", SL_MGR_EINVAL, "dip_add: dip: required member is missing"},
	/* DIP keys */
	{"{'op':'dip_remove','vip':" VA ",'dip':{'address':'10.0.0.9','port':8080}}", SL_MGR_ENOENT,
	 "dip_remove: DIP 10.0.0.9:8080 does not back VIP 203.0.113.10:80/tcp"},
	{"{'op':'dip_remove','vip':" VA ",'dip':{'address':'10.0.0.1'}}", SL_MGR_ENOENT,
	 "dip_remove: DIP 10.0.0.1:80 does not back VIP 203.0.113.10:80/tcp"},
	{"{'op':'dip_remove','vip':" VA ",'dip':{'address':'10.0.0.1','port':8080,'host':'x'}}",
	 SL_MGR_EINVAL, "dip_remove: dip.host: unknown member"},
	{"{'op':'dip_remove','vip':" VA ",'dip':{'port':8080}}", SL_MGR_EINVAL,
	 "dip_remove: dip.address: required member is missing"},
	{"{'op':'dip_drain','vip':" VB ",'dip':{'address':'10.0.0.1','port':53}}", SL_MGR_EINVAL,
	 "dip_drain: dip.address: 10.0.0.1 is an IPv4 address; it must be IPv6 like the VIP (4in4, "
	 "6in6)"},
	{"{'op':'dip_enable','vip':{'address':'203.0.113.99','protocol':'tcp','port':80},'dip':" D1
	 "}",
	 SL_MGR_ENOENT, "dip_enable: VIP 203.0.113.99:80/tcp does not exist"},
	{"{'op':'dip_disable','vip':" VA ",'dip':{'address':'10.0.0.7','port':8080}}", SL_MGR_ENOENT,
	 "dip_disable: DIP 10.0.0.7:8080 does not back VIP 203.0.113.10:80/tcp"},
	{"{'op':'dip_drain','vip':" VA ",'dip':" D1 ",'weight':5}", SL_MGR_EINVAL,
	 "dip_drain: weight: unknown member"},
	/* dip_set_weight */
	{"{'op':'dip_set_weight','vip':" VA ",'dip':" D1 "}", SL_MGR_EINVAL,
	 "dip_set_weight: weight: required member is missing"},
	{"{'op':'dip_set_weight','vip':" VA ",'dip':" D1 ",'weight':0}", SL_MGR_EINVAL,
	 "dip_set_weight: weight: 0 is out of range (1..65535)"},
	{"{'op':'dip_set_weight','vip':" VA ",'dip':" D1 ",'weight':70000}", SL_MGR_EINVAL,
	 "dip_set_weight: weight: 70000 is out of range (1..65535)"},
	{"{'op':'dip_set_weight','vip':" VA ",'dip':{'address':'10.0.0.5','port':8080},'weight':5}",
	 SL_MGR_ENOENT, "dip_set_weight: DIP 10.0.0.5:8080 does not back VIP 203.0.113.10:80/tcp"},
	/* dip_health */
	{"{'op':'dip_health','vip':" VA ",'dip':" D1 ",'health':'sick'}", SL_MGR_EINVAL,
	 "dip_health: health: 'sick' is not allowed (one of \"unknown\", \"healthy\", "
	 "\"unhealthy\")"},
	{"{'op':'dip_health','vip':" VA ",'dip':" D1 "}", SL_MGR_EINVAL,
	 "dip_health: health: required member is missing"},
	{"{'op':'dip_health','dip':{'address':'10.0.0.1'},'health':'healthy'}", SL_MGR_EINVAL,
	 "dip_health: dip.port: required member is missing"},
	{"{'op':'dip_health','dip':{'address':'10.0.0.1','port':9999},'health':'healthy'}",
	 SL_MGR_ENOENT, "dip_health: DIP 10.0.0.1:9999 backs no VIP"},
	{"{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.22'},"
	 "'health':'healthy'}",
	 SL_MGR_ENOENT, "dip_health: DIP 10.0.0.1:8080 backs no VIP on that host"},
	{"{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080,'host':'2001:db8::1'},"
	 "'health':'healthy'}",
	 SL_MGR_EINVAL,
	 "dip_health: dip.host: 2001:db8::1 is an IPv6 address; it must be IPv4 like the VIP (4in4, "
	 "6in6)"},
	/* vip_update */
	{"{'op':'vip_update','vip':" VA "}", SL_MGR_EINVAL,
	 "vip_update: nothing to change (give set or dips)"},
	{"{'op':'vip_update','vip':" VA ",'set':{'dips':[]},'dips':[]}", SL_MGR_EINVAL,
	 "vip_update: dips: given twice (dips and set.dips)"},
	{"{'op':'vip_update','vip':" VA ",'dips':[{'address':'10.0.0.5','host':'192.0.2.21'},"
	 "{'address':'10.0.0.5','host':'192.0.2.21','weight':2}]}",
	 SL_MGR_EEXIST,
	 "vip_update: dips.[1]: DIP 10.0.0.5:80 already backs VIP 203.0.113.10:80/tcp"},
	{"{'op':'vip_update','vip':" VA ",'set':{'dips':7}}", SL_MGR_EINVAL,
	 "vip_update: set.dips: must be an array"},
	{"{'op':'vip_update','vip':" VA ",'set':{}}", SL_MGR_EINVAL,
	 "vip_update: set: nothing to change"},
	{"{'op':'vip_update','vip':" VA ",'set':{'weight':1}}", SL_MGR_EINVAL,
	 "vip_update: set.weight: unknown member"},
	{"{'op':'vip_update','vip':" VA ",'set':{'port':0}}", SL_MGR_EINVAL,
	 "vip_update: set.port: 0 is out of range (1..65535)"},
	{"{'op':'vip_update','vip':" VA ",'set':{'protocol':'udp'}}", SL_MGR_EEXIST,
	 "vip_update: VIP 203.0.113.10:80/udp already exists"},
	{"{'op':'vip_update','vip':" VA ",'set':{'address':'2001:db8::99'}}", SL_MGR_EINVAL,
	 "vip_update: set.address: the VIP's DIPs are IPv4; a VIP of another family needs its new "
	 "DIPs in dips"},
	{"{'op':'vip_update','vip':" VA ",'set':{'dips':[{'address':'10.0.0.5','host':'192.0.2.21'},"
	 "{'address':'10.0.0.5','host':'192.0.2.21','weight':2}]}}",
	 SL_MGR_EEXIST,
	 "vip_update: set.dips.[1]: DIP 10.0.0.5:80 already backs VIP 203.0.113.10:80/tcp"},
	{"{'op':'vip_update','vip':" VD ",'set':{'dips':[{'address':'10.0.0.1','port':8080,"
	 "'host':'192.0.2.21'}]}}",
	 SL_MGR_EEXIST,
	 "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP 203.0.113.10:80/tcp and VIP "
	 "203.0.113.11:443/tcp; its host agent could not map replies back to one VIP"},
	/* batch */
	{"{'op':'batch','commands':[]}", SL_MGR_EINVAL, "batch: commands: empty batch"},
	{"{'op':'batch','commands':{}}", SL_MGR_EINVAL, "batch: commands: must be an array"},
	{"{'op':'batch'}", SL_MGR_EINVAL, "batch: commands: required member is missing"},
	{"{'op':'batch','commands':[{'op':'batch','commands':[]}]}", SL_MGR_EINVAL,
	 "batch: commands.[0]: batch: not allowed inside a batch"},
	{"{'op':'batch','commands':[{'op':'bootstrap','vips':[]}]}", SL_MGR_EINVAL,
	 "batch: commands.[0]: bootstrap: not allowed inside a batch"},
	{"{'op':'batch','commands':[{'op':'dip_drain','vip':" VA ",'dip':" D1 "},42]}", SL_MGR_EINVAL,
	 "batch: commands.[1]: a command must be a JSON object"},
	{"{'op':'batch','commands':[{'op':'vip_create','vip':" NEW_V4 "},{'op':'vip_create','vip':"
	 NEW_V4 "}]}",
	 SL_MGR_EEXIST, "batch: commands.[1]: vip_create: VIP 198.51.100.1:80/tcp already exists"},
	/* A batch whose commands are each fine but whose end state is not. */
	{"{'op':'batch','commands':[{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':"
	 "8080,'host':'192.0.2.21'}},{'op':'dip_drain','vip':" VA ",'dip':" D1 "}]}",
	 SL_MGR_EEXIST,
	 "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP 203.0.113.10:80/tcp and VIP "
	 "203.0.113.11:443/tcp; its host agent could not map replies back to one VIP"},
	/* bootstrap */
	{"{'op':'bootstrap','vips':[]}", SL_MGR_ESTATE,
	 "bootstrap: the cluster already has a state (generation 1); bootstrap only starts a new "
	 "one"},
};

/*
 * The host-agent rule looks only at the DIPs a transaction adds; a VIP
 * moved to a new key (here tcp) brings its DIPs under new keys, and a
 * transaction adding too many to list checks every DIP: the same verdicts.
 */
START_TEST(test_agent_rule_moved_and_many)
{
	struct sl_mgr_state *s = base_state();
	struct sl_mgr_err err;
	apply_ok(s, "{'op':'vip_create','vip':{'address':'203.0.113.50','protocol':'udp','port':80,"
		    "'dips':[{'address':'10.0.0.1','port':8080,'host':'192.0.2.21'}]}}");
	ck_assert_int_eq(apply_text(s, "{'op':'vip_update','vip':{'address':'203.0.113.50',"
				    "'protocol':'udp','port':80},'set':{'protocol':'tcp'}}", &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_EEXIST);
	ck_assert_str_eq(err.msg, "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP "
				  "203.0.113.10:80/tcp and VIP 203.0.113.50:80/tcp; its host agent "
				  "could not map replies back to one VIP");
	/* 100 new DIPs in one command, the last one shared: listed no more */
	json_t *dips = json_array();
	for (unsigned i = 0; i < 100; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.9.0.%u", i + 1);
		json_array_append_new(dips, json_pack("{s:s, s:i, s:s}", "address",
						      i == 99 ? "10.0.0.1" : addr, "port", 8080,
						      "host", "192.0.2.21"));
	}
	json_t *cmd = json_pack("{s:s, s:{s:s, s:s, s:i, s:o}}", "op", "vip_create", "vip",
				"address", "203.0.113.51", "protocol", "tcp", "port", 80, "dips",
				dips);
	ck_assert_int_eq(sl_mgr_apply(s, cmd, &err), -1);
	ck_assert_str_eq(err.msg, "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP "
				  "203.0.113.10:80/tcp and VIP 203.0.113.51:80/tcp; its host agent "
				  "could not map replies back to one VIP");
	json_decref(cmd);
	sl_mgr_state_free(s);
}
END_TEST

/* Refused with exactly this code and message, by validate and apply alike,
 * and the state is byte-for-byte what it was. */
START_TEST(test_bad_command)
{
	const struct bad_case *c = &bad_cases[_i];
	struct sl_mgr_state *s = base_state();
	struct sl_mgr_err err;
	char *before = encode(s);
	json_t *cmd = J(c->cmd);

	ck_assert_int_eq(sl_mgr_validate(s, cmd, &err), -1);
	ck_assert_msg(err.code == c->code, "%s: code %s, want %s (%s)", c->cmd,
		      sl_mgr_code_name(err.code), sl_mgr_code_name(c->code), err.msg);
	ck_assert_str_eq(err.msg, c->msg);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(sl_mgr_apply(s, cmd, &err), -1);
	ck_assert_int_eq(err.code, c->code);
	ck_assert_str_eq(err.msg, c->msg);

	char *after = encode(s);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	json_decref(cmd);
	sl_mgr_state_free(s);
}
END_TEST

/* A batch that changes several VIPs (sharing nothing any more with the
 * state) and then fails leaves no trace; the same batch without its last
 * command applies completely. */
START_TEST(test_batch_all_or_nothing)
{
	static const char *const parts[] = {
		"{'op':'vip_create','vip':" NEW_V4 "}",
		"{'op':'dip_add','vip':" NEW_V4 ",'dip':{'address':'10.9.0.1','host':'192.0.2.40'}}",
		"{'op':'dip_set_weight','vip':" VA ",'dip':" D1 ",'weight':1}",
		"{'op':'dip_remove','vip':" VA ",'dip':" D2 "}",
		"{'op':'vip_delete','vip':" VB "}",
		"{'op':'dip_health','dip':{'address':'10.0.0.3','port':8443},'health':'unhealthy'}",
		"{'op':'vip_update','vip':" VC ",'set':{'port':81}}",
	};
	const char *bad = "{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':8080,"
			  "'host':'192.0.2.21','weight':0}}";
	char cmd[8192];
	struct sl_mgr_state *s = base_state();
	struct sl_mgr_err err;
	char *before = encode(s);

	for (size_t n = 1; n <= sizeof(parts) / sizeof(parts[0]); n++) {
		/* parts[0..n) and then the bad command: refused, nothing changes */
		int len = snprintf(cmd, sizeof(cmd), "{'op':'batch','commands':[");
		for (size_t i = 0; i < n; i++)
			len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, "%s,", parts[i]);
		snprintf(cmd + len, sizeof(cmd) - (size_t)len, "%s]}", bad);
		ck_assert_int_eq(apply_text(s, cmd, &err), -1);
		ck_assert_int_eq(err.code, SL_MGR_EINVAL);
		char want[128];
		snprintf(want, sizeof(want), "batch: commands.[%zu]: dip_add: dip.weight: ", n);
		ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
		char *after = encode(s);
		ck_assert_str_eq(before, after);
		free(after);
	}
	/* the good part alone */
	int len = snprintf(cmd, sizeof(cmd), "{'op':'batch','commands':[");
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, "%s%s", i ? "," : "", parts[i]);
	snprintf(cmd + len, sizeof(cmd) - (size_t)len, "]}");
	apply_ok(s, cmd);
	ck_assert_uint_eq(s->generation, 2);
	assert_vip(s, VA, A_WITH(D1_FULL(1, "active", "unknown")));
	assert_vip(s, VB, NULL);
	assert_vip(s, VC, NULL);
	assert_vip(s, "{'address':'203.0.113.10','protocol':'udp','port':81}",
		   "{'address':'203.0.113.10','protocol':'udp','port':81,'dips':[]}");
	ck_assert_int_eq(vip_of(s, VD)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_uint_eq(sl_mgr_vip_nb_dips(vip_of(s, NEW_V4)), 1);
	free(before);
	sl_mgr_state_free(s);
}
END_TEST

/* A failed command must not disturb DIP arrays the state shares with the
 * working copy; a later good command must not either (copy-on-write). */
START_TEST(test_copy_on_write)
{
	struct sl_mgr_state *s = base_state();
	const struct sl_mgr_dips *a_dips = vip_of(s, VA)->dips;
	const struct sl_mgr_dips *d_dips = vip_of(s, VD)->dips;
	struct sl_mgr_err err;
	ck_assert_uint_eq(a_dips->refs, 1);
	ck_assert_int_eq(apply_text(s,
				    "{'op':'batch','commands':[{'op':'dip_set_weight','vip':" VA
				    ",'dip':" D1 ",'weight':1},{'op':'vip_delete','vip':{'address':"
				    "'192.0.2.1','protocol':'tcp','port':1}}]}",
				    &err),
			 -1);
	ck_assert_ptr_eq(vip_of(s, VA)->dips, a_dips);
	ck_assert_uint_eq(a_dips->refs, 1);
	ck_assert_uint_eq(a_dips->dip[0].weight, 100);
	apply_ok(s, "{'op':'dip_set_weight','vip':" VA ",'dip':" D1 ",'weight':1}");
	ck_assert_uint_eq(vip_of(s, VA)->dips->dip[0].weight, 1);
	/* untouched VIPs keep their arrays, now owned by the new state alone */
	ck_assert_ptr_eq(vip_of(s, VD)->dips, d_dips);
	ck_assert_uint_eq(d_dips->refs, 1);
	sl_mgr_state_free(s);
}
END_TEST

/* vip_update's DIP list keeps the health of DIPs listed again with the
 * same host; a DIP behind another host is another DIP. */
START_TEST(test_update_keeps_health)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, "{'op':'batch','commands':["
		    "{'op':'dip_health','vip':" VA ",'dip':" D1 ",'health':'unhealthy'},"
		    "{'op':'dip_health','vip':" VA ",'dip':" D2 ",'health':'healthy'}]}");
	apply_ok(s, "{'op':'vip_update','vip':" VA ",'set':{'dips':["
		    "{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':3},"
		    "{'address':'10.0.0.2','port':8080,'host':'192.0.2.23','weight':50}]}}");
	assert_vip(s, VA,
		   A_WITH(D1_FULL(3, "active", "unhealthy") ",{'address':'10.0.0.2','port':8080,"
							   "'host':'192.0.2.23','weight':50,"
							   "'admin':'active','health':'unknown'}"));
	sl_mgr_state_free(s);
}
END_TEST

/* dip_health without a VIP reaches every VIP the DIP backs, or those on
 * the given host. */
START_TEST(test_health_report_fans_out)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, "{'op':'batch','commands':["
		    "{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':8080,'host':"
		    "'192.0.2.99'}},"
		    "{'op':'dip_add','vip':" VC ",'dip':{'address':'10.0.0.1','port':8080,'host':"
		    "'192.0.2.21'}}]}");
	apply_ok(s, "{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080},'health':"
		    "'unhealthy'}");
	ck_assert_int_eq(vip_of(s, VA)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_int_eq(vip_of(s, VC)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_int_eq(vip_of(s, VD)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	apply_ok(s, "{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080,'host':"
		    "'192.0.2.99'},'health':'healthy'}");
	ck_assert_int_eq(vip_of(s, VA)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_int_eq(vip_of(s, VC)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_int_eq(vip_of(s, VD)->dips->dip[0].health, SL_MGR_HEALTHY);
	sl_mgr_state_free(s);
}
END_TEST

/* A report on a host reaches the DIPs the same batch added there (not yet
 * in the state's key map) and not those it moved away. */
START_TEST(test_health_report_in_batch)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, "{'op':'batch','commands':["
		    "{'op':'dip_add','vip':" VC ",'dip':{'address':'10.0.0.7','port':8080,'host':"
		    "'192.0.2.21'}},"
		    "{'op':'dip_remove','vip':" VA ",'dip':" D1 "},"
		    "{'op':'dip_add','vip':" VD ",'dip':{'address':'10.0.0.1','port':8080,'host':"
		    "'192.0.2.21'}},"
		    "{'op':'dip_health','dip':{'address':'10.0.0.7','port':8080,'host':'192.0.2.21'},"
		    "'health':'unhealthy'},"
		    "{'op':'dip_health','dip':{'address':'10.0.0.1','port':8080,'host':'192.0.2.21'},"
		    "'health':'healthy'}]}");
	ck_assert_int_eq(vip_of(s, VC)->dips->dip[0].health, SL_MGR_UNHEALTHY);
	ck_assert_int_eq(vip_of(s, VD)->dips->dip[0].health, SL_MGR_HEALTHY);
	ck_assert_uint_eq(sl_mgr_vip_nb_dips(vip_of(s, VA)), 1);
	ck_assert_int_eq(vip_of(s, VA)->dips->dip[0].health, SL_MGR_HEALTH_UNKNOWN);
	sl_mgr_state_free(s);
}
END_TEST

/* Limits: SL_MAX_VIPS VIPs, SL_MAX_DIPS_PER_VIP DIPs per VIP. */
static json_t *many_dips(unsigned n)
{
	json_t *dips = json_array();
	for (unsigned i = 0; i < n; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		json_array_append_new(dips, json_pack("{s:s, s:s}", "address", addr, "host",
						      "192.0.2.50"));
	}
	return dips;
}

START_TEST(test_limits)
{
	struct sl_mgr_state *s = sl_mgr_state_new();
	struct sl_mgr_err err;
	json_t *vips = json_array();
	for (unsigned i = 0; i < SL_MAX_VIPS; i++)
		json_array_append_new(vips, json_pack("{s:s, s:s, s:i, s:[]}", "address",
						      "198.51.100.7", "protocol", "tcp", "port",
						      (int)i + 1, "dips"));
	json_t *boot = json_pack("{s:s, s:o}", "op", "bootstrap", "vips", vips);
	ck_assert_int_eq(sl_mgr_apply(s, boot, &err), 0);
	ck_assert_uint_eq(s->nb_vips, SL_MAX_VIPS);
	ck_assert_int_eq(apply_text(s, "{'op':'vip_create','vip':" NEW_V4 "}", &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	char want[128];
	snprintf(want, sizeof(want),
		 "vip_create: cannot add VIP 198.51.100.1:80/tcp: already %d VIPs, the most allowed",
		 SL_MAX_VIPS);
	ck_assert_str_eq(err.msg, want);
	/* room again after a delete */
	apply_ok(s, "{'op':'vip_delete','vip':{'address':'198.51.100.7','protocol':'tcp','port':9}}");
	apply_ok(s, "{'op':'vip_create','vip':" NEW_V4 "}");

	/* DIPs: a full VIP, then one more */
	json_t *full = json_pack("{s:s, s:{s:s, s:s, s:i, s:o}}", "op", "vip_create", "vip",
				 "address", "198.51.100.8", "protocol", "udp", "port", 1, "dips",
				 many_dips(SL_MAX_DIPS_PER_VIP));
	apply_ok(s, "{'op':'vip_delete','vip':" NEW_V4 "}");
	ck_assert_msg(sl_mgr_apply(s, full, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(apply_text(s, "{'op':'dip_add','vip':{'address':'198.51.100.8','protocol':"
				       "'udp','port':1},'dip':{'address':'10.200.0.1','host':"
				       "'192.0.2.50'}}",
				    &err),
			 -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_str_eq(err.msg, "dip_add: cannot add DIP 10.200.0.1:1: VIP 198.51.100.8:1/udp "
				  "already has 4096 DIPs, the most allowed");
	json_t *over = json_pack("{s:s, s:{s:s, s:s, s:i, s:o}}", "op", "vip_create", "vip",
				 "address", "198.51.100.9", "protocol", "udp", "port", 1, "dips",
				 many_dips(SL_MAX_DIPS_PER_VIP + 1));
	ck_assert_int_eq(sl_mgr_validate(s, over, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_str_eq(err.msg, "vip_create: vip.dips: 4097 elements, at most 4096 allowed");

	/* a batch of more than SL_MGR_MAX_BATCH commands */
	json_t *cmds = json_array();
	for (unsigned i = 0; i <= SL_MGR_MAX_BATCH; i++)
		json_array_append_new(cmds, json_pack("{s:s, s:{s:s, s:s, s:i}}", "op", "vip_delete",
						      "vip", "address", "198.51.100.7", "protocol",
						      "tcp", "port", (int)i + 1));
	json_t *batch = json_pack("{s:s, s:o}", "op", "batch", "commands", cmds);
	ck_assert_int_eq(sl_mgr_validate(s, batch, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_str_eq(err.msg, "batch: commands: 4097 elements, at most 4096 allowed");

	/* tunnel sources: 64, not 65 */
	json_t *sources = json_array();
	for (unsigned i = 1; i <= SL_MAX_TUNNEL_SOURCES + 1; i++)
		json_array_append_new(sources, json_sprintf("198.18.%u.0/24", i));
	json_t *set = json_pack("{s:s, s:O}", "op", "set_tunnel_sources", "prefixes", sources);
	ck_assert_int_eq(sl_mgr_validate(s, set, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_str_eq(err.msg, "set_tunnel_sources: prefixes: 65 elements, at most 64 allowed");
	json_array_remove(sources, 0);
	ck_assert_msg(sl_mgr_apply(s, set, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(s->nb_tunnel_sources, SL_MAX_TUNNEL_SOURCES);

	json_decref(set);
	json_decref(sources);
	json_decref(batch);
	json_decref(boot);
	json_decref(full);
	json_decref(over);
	sl_mgr_state_free(s);
}
END_TEST

/* Replicas given the same commands, written differently (member order,
 * spacing, address spelling, VIPs made in another order but with the
 * same number of commands), end with the same bytes. */
START_TEST(test_determinism)
{
	static const char *const one[] = {
		"{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80}}",
		"{'op':'vip_create','vip':{'address':'2001:db8::1','protocol':'udp','port':53}}",
		"{'op':'dip_add','vip':{'address':'198.51.100.1','protocol':'tcp','port':80},"
		"'dip':{'address':'10.0.0.2','host':'192.0.2.1'}}",
		"{'op':'dip_add','vip':{'address':'198.51.100.1','protocol':'tcp','port':80},"
		"'dip':{'address':'10.0.0.1','host':'192.0.2.1','weight':5}}",
		"{'op':'dip_drain','vip':{'address':'198.51.100.1','protocol':'tcp','port':80},"
		"'dip':{'address':'10.0.0.1'}}",
	};
	static const char *const two[] = {
		"{ 'vip' : { 'port' : 53, 'protocol' : 'udp', 'address' : '2001:DB8:0:0::1' }, "
		"'op' : 'vip_create' }",
		"{'vip':{'port':80,'address':'198.51.100.1','protocol':'tcp'},'op':'vip_create'}",
		"{'dip':{'weight':5,'host':'192.0.2.1','address':'10.0.0.1'},'op':'dip_add',"
		"'vip':{'protocol':'tcp','port':80,'address':'198.51.100.1'}}",
		"{'op':'dip_add','dip':{'host':'192.0.2.1','address':'10.0.0.2','port':80,'weight':100,"
		"'admin':'active'},'vip':{'address':'198.51.100.1','protocol':'tcp','port':80}}",
		"{'op':'dip_drain','vip':{'address':'198.51.100.1','protocol':'tcp','port':80},"
		"'dip':{'port':80,'address':'10.0.0.1'}}",
	};
	struct sl_mgr_state *a = sl_mgr_state_new(), *b = sl_mgr_state_new();
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		apply_ok(a, one[i]);
		apply_ok(b, two[i]);
	}
	assert_same_state(a, b);
	/* and the canonical bytes do not depend on the history of the arrays */
	char *text = encode(a);
	struct sl_mgr_state *c = sl_mgr_state_decode(text, strlen(text), NULL);
	ck_assert_ptr_nonnull(c);
	assert_same_state(a, c);
	free(text);
	sl_mgr_state_free(a);
	sl_mgr_state_free(b);
	sl_mgr_state_free(c);
}
END_TEST

/* ------------------------------------------------------------ encoding */

START_TEST(test_round_trip)
{
	struct sl_mgr_state *s = base_state();
	apply_ok(s, "{'op':'batch','commands':["
		    "{'op':'dip_drain','vip':" VA ",'dip':" D1 "},"
		    "{'op':'dip_disable','vip':" VA ",'dip':" D2 "},"
		    "{'op':'dip_health','vip':" VD ",'dip':{'address':'10.0.0.3','port':8443},"
		    "'health':'healthy'},"
		    "{'op':'dip_health','vip':" VB ",'dip':{'address':'2001:db8:1::1'},"
		    "'health':'unhealthy'}]}");
	json_t *del = J("{'op':'vip_delete','vip':" VC "}");
	ck_assert_int_eq(sl_mgr_apply_entry(s, del, 77, NULL), 0);
	json_decref(del);
	ck_assert_uint_eq(s->index, 77);
	char *text = encode(s);
	struct sl_mgr_err err;
	struct sl_mgr_state *d = sl_mgr_state_decode(text, strlen(text), &err);
	ck_assert_msg(d != NULL, "%s", err.msg);
	ck_assert_uint_eq(d->generation, 3);
	ck_assert_uint_eq(d->index, 77);
	assert_same_state(s, d);
	/* the decoded state works like the original */
	apply_ok(d, "{'op':'dip_enable','vip':" VA ",'dip':" D1 "}");
	free(text);
	sl_mgr_state_free(s);
	sl_mgr_state_free(d);
}
END_TEST

#define SNAP(vips) "{'format':1,'generation':5,'index':9,'vips':[" vips "]}"
#define SVIP(dips) "{'address':'203.0.113.10','protocol':'tcp','port':80,'dips':[" dips "]}"
#define SDIP                                                                                   \
	"{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':1,'admin':'active',"   \
	"'health':'unknown'}"

struct decode_case {
	const char *text; /* single quotes */
	const char *msg;
};

static const struct decode_case decode_cases[] = {
	{"", "invalid JSON at line 1 column 0: '[' or '{' expected near end of file"},
	{"[]", "must be a JSON object"},
	{"{'format':1,'generation':5,'index':9,'vips':[],'vips':[]}",
	 "invalid JSON at line 1 column 53: duplicate object key near '\"vips\"'"},
	{"{'generation':5,'index':9,'vips':[]}", "format: required member is missing"},
	{"{'format':2,'generation':5,'index':9,'vips':[]}", "format: 2 is out of range (1..1)"},
	{"{'format':1,'index':9,'vips':[]}", "generation: required member is missing"},
	{"{'format':1,'generation':-5,'index':9,'vips':[]}",
	 "generation: must be a non-negative integer"},
	{"{'format':1,'generation':5,'index':'9','vips':[]}", "index: must be a non-negative integer"},
	{"{'format':1,'generation':5,'index':9,'vips':[],'snat':[]}", "snat: unknown member"},
	{"{'format':1,'generation':5,'index':9,'vips':{}}", "vips: must be an array"},
	{SNAP("7"), "vips.[0]: must be an object"},
	{"{'format':1,'generation':5,'index':9,'tunnel_sources':{}}", "tunnel_sources: must be an array or null"},
	{"{'format':1,'generation':5,'index':9,'tunnel_sources':['192.0.2.0/24','198.18.0.1/15']}",
	 "tunnel_sources.[1]: 198.18.0.1/15 has host bits set (did you mean 198.18.0.0/15?)"},
	{"{'format':1,'generation':5,'index':9,'tunnel_sources':['2001:db8::/32','2001:db8:0::/32']}",
	 "tunnel_sources.[1]: 2001:db8::/32 is the same prefix as [0]"},
	{SNAP("{'address':'203.0.113.10','protocol':'tcp','port':80}"),
	 "vips.[0].dips: required member is missing"},
	{SNAP(SVIP("") "," SVIP("")), "vips.[1]: VIP 203.0.113.10:80/tcp already exists"},
	{SNAP(SVIP("{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':1,'admin':"
		   "'active'}")),
	 "vips.[0].dips.[0].health: required member is missing"},
	{SNAP(SVIP("{'address':'10.0.0.1','host':'192.0.2.21','weight':1,'admin':'active',"
		   "'health':'unknown'}")),
	 "vips.[0].dips.[0].port: required member is missing"},
	{SNAP(SVIP("{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','admin':'active',"
		   "'health':'unknown'}")),
	 "vips.[0].dips.[0].weight: required member is missing"},
	{SNAP(SVIP("{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':0,'admin':"
		   "'active','health':'unknown'}")),
	 "vips.[0].dips.[0].weight: 0 is out of range (1..65535)"},
	{SNAP(SVIP("{'address':'10.0.0.1','port':8080,'host':'192.0.2.21','weight':1,'admin':"
		   "'active','health':'meh'}")),
	 "vips.[0].dips.[0].health: 'meh' is not allowed (one of \"unknown\", \"healthy\", "
	 "\"unhealthy\")"},
	{SNAP(SVIP(SDIP "," SDIP)),
	 "vips.[0].dips.[1]: DIP 10.0.0.1:8080 already backs VIP 203.0.113.10:80/tcp"},
	{SNAP(SVIP("{'address':'2001:db8::1','port':8080,'host':'192.0.2.21','weight':1,'admin':"
		   "'active','health':'unknown'}")),
	 "vips.[0].dips.[0].address: 2001:db8::1 is an IPv6 address; it must be IPv4 like the VIP "
	 "(4in4, 6in6)"},
	{SNAP(SVIP(SDIP) ",{'address':'203.0.113.11','protocol':'tcp','port':80,'dips':[" SDIP "]}"),
	 "DIP 10.0.0.1:8080 on host 192.0.2.21 would back both VIP 203.0.113.10:80/tcp and VIP "
	 "203.0.113.11:80/tcp; its host agent could not map replies back to one VIP"},
};

START_TEST(test_decode_rejects)
{
	const struct decode_case *c = &decode_cases[_i];
	char *text = strdup(c->text);
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	struct sl_mgr_err err;
	struct sl_mgr_state *s = sl_mgr_state_decode(text, strlen(text), &err);
	ck_assert_msg(s == NULL, "accepted %s", c->text);
	ck_assert_str_eq(err.msg, c->msg);
	ck_assert_int_ne(err.code, SL_MGR_OK);
	free(text);
}
END_TEST

START_TEST(test_decode_accepts)
{
	/* a snapshot written before a section existed: the section is empty */
	const char *old = "{\"format\":1,\"generation\":5,\"index\":9}";
	struct sl_mgr_err err;
	struct sl_mgr_state *s = sl_mgr_state_decode(old, strlen(old), &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_uint_eq(s->nb_vips, 0);
	ck_assert_uint_eq(s->generation, 5);
	sl_mgr_state_free(s);
	/* VIPs and DIPs in any order come out sorted */
	const char *unsorted =
		"{\"format\":1,\"generation\":2,\"index\":3,\"vips\":["
		"{\"address\":\"203.0.113.10\",\"protocol\":\"udp\",\"port\":80,\"dips\":[]},"
		"{\"address\":\"203.0.113.10\",\"protocol\":\"tcp\",\"port\":80,\"dips\":["
		"{\"address\":\"10.0.0.2\",\"port\":1,\"host\":\"192.0.2.1\",\"weight\":1,\"admin\":"
		"\"active\",\"health\":\"unknown\"},"
		"{\"address\":\"10.0.0.1\",\"port\":1,\"host\":\"192.0.2.1\",\"weight\":1,\"admin\":"
		"\"active\",\"health\":\"unknown\"}]}]}";
	s = sl_mgr_state_decode(unsorted, strlen(unsorted), &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_uint_eq(s->vips[0].proto, SL_PROTO_TCP);
	ck_assert_uint_eq(s->vips[0].dips->dip[0].addr.v4, htonl(0x0a000001));
	sl_mgr_state_free(s);
}
END_TEST

/* ------------------------------------------------------------ to/from config */

static const char CFG[] =
	"sluice: {\n"
	"  roles = [\"mux\", \"host\"];\n"
	"  ports = ( { name = \"up\"; device = \"net_tap0\"; addresses = [\"192.0.2.21/24\", "
	"\"2001:db8:2::21/64\"]; } );\n"
	"  mux: { maglev_size = 251; hash_seed = 42; };\n"
	"  host: { address = \"192.0.2.21\"; address6 = \"2001:db8:2::21\"; uplink = \"up\"; "
	"backend = \"up\";\n"
	"          tunnel_sources = [\"2001:db8:2::10\", \"192.0.2.16/28\", \"192.0.2.10\"]; };\n"
	"  vips = (\n"
	"    { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;\n"
	"      dips = ( { address = \"10.0.0.2\"; port = 8080; host = \"192.0.2.22\"; weight = 50; },\n"
	"               { address = \"10.0.0.1\"; port = 8080; host = \"192.0.2.21\"; } ); },\n"
	"    { address = \"2001:db8::10\"; protocol = \"udp\"; port = 53;\n"
	"      dips = ( { address = \"2001:db8:1::1\"; host = \"2001:db8:2::21\"; } ); },\n"
	"    { address = \"203.0.113.10\"; protocol = \"udp\"; port = 80; }\n"
	"  );\n"
	"};\n";

static void load_cfg(const char *text, struct sl_config *cfg)
{
	char err[512];
	ck_assert_msg(sl_config_load_string(text, "test.cfg", cfg, err, sizeof(err)) == 0, "%s", err);
}

static const struct sl_dip_cfg *cfg_dip(const struct sl_vip_cfg *v, const char *addr,
					uint16_t port)
{
	union sl_addr a;
	memset(&a, 0, sizeof(a));
	ck_assert_int_ne(sl_addr_parse(addr, &a), SL_AF_NONE);
	for (unsigned j = 0; j < v->nb_dips; j++)
		if (sl_addr_eq(&v->dips[j].addr, &a) && v->dips[j].port == port)
			return &v->dips[j];
	ck_abort_msg("DIP %s:%u missing", addr, port);
	return NULL;
}

START_TEST(test_from_config)
{
	struct sl_config cfg, out;
	struct sl_mgr_err err;
	load_cfg(CFG, &cfg);
	struct sl_mgr_state *s = sl_mgr_state_from_config(&cfg, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_uint_eq(s->generation, 1);
	assert_vip(s, VA, A_BASE);
	assert_vip(s, VB,
		   "{'address':'2001:db8::10','protocol':'udp','port':53,'dips':[{'address':"
		   "'2001:db8:1::1','port':53,'host':'2001:db8:2::21','weight':100,'admin':'active',"
		   "'health':'unknown'}]}");
	assert_vip(s, VC, "{'address':'203.0.113.10','protocol':'udp','port':80,'dips':[]}");
	assert_sources(s, "['192.0.2.10/32','192.0.2.16/28','2001:db8:2::10/128']");

	/* and back: the file's VIPs and DIPs, with the file's weights */
	ck_assert_int_eq(sl_mgr_state_to_config(s, &cfg, &out, &err), 0);
	ck_assert_uint_eq(out.nb_tunnel_sources, 3); /* the state's order */
	ck_assert(sl_prefix_eq(&out.tunnel_sources[0], &cfg.tunnel_sources[2]));
	ck_assert(sl_prefix_eq(&out.tunnel_sources[1], &cfg.tunnel_sources[1]));
	ck_assert(sl_prefix_eq(&out.tunnel_sources[2], &cfg.tunnel_sources[0]));
	ck_assert_uint_eq(out.nb_vips, cfg.nb_vips);
	for (unsigned i = 0; i < cfg.nb_vips; i++) {
		const struct sl_vip_cfg *want = &cfg.vips[i], *got = NULL;
		for (unsigned k = 0; k < out.nb_vips && got == NULL; k++)
			if (sl_addr_eq(&out.vips[k].addr, &want->addr) &&
			    out.vips[k].proto == want->proto && out.vips[k].port == want->port)
				got = &out.vips[k];
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_eq(got->family, want->family);
		ck_assert_uint_eq(got->nb_dips, want->nb_dips);
		for (unsigned j = 0; j < want->nb_dips; j++) {
			char a[64];
			sl_addr_format(want->family, &want->dips[j].addr, a, sizeof(a));
			const struct sl_dip_cfg *d = cfg_dip(got, a, want->dips[j].port);
			ck_assert(sl_addr_eq(&d->host, &want->dips[j].host));
			ck_assert_uint_eq(d->weight, want->dips[j].weight);
		}
	}
	/* the file's bootstrap is refused once the cluster has a state */
	json_t *boot = sl_mgr_cmd_bootstrap(&cfg, &err);
	json_t *want = J("['2001:db8:2::10/128','192.0.2.16/28','192.0.2.10/32']");
	ck_assert(json_equal(json_object_get(boot, "tunnel_sources"), want));
	json_decref(want);
	ck_assert_int_eq(sl_mgr_apply(s, boot, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ESTATE);
	json_decref(boot);
	/* with the host role the bootstrap sets the list for the cluster */
	ck_assert(s->tunnel_sources_set);
	sl_config_free(&out);
	sl_config_free(&cfg);
	sl_mgr_state_free(s);
}
END_TEST

/* Admin state and health decide the data-plane weight; everything but the
 * VIPs comes from the base file. */
START_TEST(test_to_config)
{
	struct sl_config cfg, out;
	struct sl_mgr_err err;
	load_cfg(CFG, &cfg);
	struct sl_mgr_state *s = sl_mgr_state_new();
	apply_ok(s, "{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':80,"
		    "'dips':["
		    "{'address':'10.1.0.1','host':'192.0.2.21','weight':10},"
		    "{'address':'10.1.0.2','host':'192.0.2.21','weight':20},"
		    "{'address':'10.1.0.3','host':'192.0.2.21','weight':30},"
		    "{'address':'10.1.0.4','host':'192.0.2.22','weight':40},"
		    "{'address':'10.1.0.5','host':'192.0.2.22','weight':50,'admin':'draining'},"
		    "{'address':'10.1.0.6','host':'192.0.2.22','weight':60,'admin':'disabled'},"
		    "{'address':'10.1.0.7','host':'192.0.2.22','weight':70,'admin':'draining'}]}}");
	apply_ok(s, "{'op':'batch','commands':["
		    "{'op':'dip_health','dip':{'address':'10.1.0.2','port':80},'health':'healthy'},"
		    "{'op':'dip_health','dip':{'address':'10.1.0.3','port':80},'health':'unhealthy'},"
		    "{'op':'dip_health','dip':{'address':'10.1.0.7','port':80},'health':'healthy'}]}");
	static const uint32_t want[] = {10, 20, 0, 40, 0, 0, 0};

	ck_assert_int_eq(sl_mgr_state_to_config(s, &cfg, &out, &err), 0);
	ck_assert_uint_eq(out.nb_vips, 1);
	ck_assert_uint_eq(out.roles, cfg.roles);
	ck_assert_uint_eq(out.maglev_size, 251);
	ck_assert_uint_eq(out.hash_seed, 42);
	ck_assert_uint_eq(out.nb_ports, 1);
	ck_assert_str_eq(out.ports[0].name, "up");
	ck_assert(sl_addr_eq(&out.host_addr4, &cfg.host_addr4));
	const struct sl_vip_cfg *v = &out.vips[0];
	ck_assert_uint_eq(v->family, SL_AF_INET);
	ck_assert_uint_eq(v->proto, SL_PROTO_TCP);
	ck_assert_uint_eq(v->port, 80);
	ck_assert_uint_eq(v->nb_dips, 7);

	/* Maglev over these weights: DIPs at weight 0 own no slot, the others do. */
	struct sl_maglev_backend b[7];
	for (unsigned j = 0; j < 7; j++) {
		ck_assert_uint_eq(v->dips[j].weight, want[j]);
		ck_assert_uint_eq(v->dips[j].port, 80);
		b[j] = (struct sl_maglev_backend){.key = &v->dips[j].addr,
						  .key_len = sizeof(v->dips[j].addr),
						  .weight = v->dips[j].weight};
	}
	struct sl_maglev *m = sl_maglev_build(b, 7, out.maglev_size, out.hash_seed);
	ck_assert_ptr_nonnull(m);
	unsigned slots[7] = {0};
	for (uint32_t i = 0; i < m->size; i++) {
		ck_assert_uint_lt(m->slot[i], 7);
		slots[m->slot[i]]++;
	}
	for (unsigned j = 0; j < 7; j++)
		ck_assert_msg((slots[j] > 0) == (want[j] > 0), "DIP %u has %u slots", j, slots[j]);
	free(m);
	sl_config_free(&out);

	/* the base file's VIPs are not part of it: an empty state has none
	 * (tunnel sources: test_tunnel_sources_to_config) */
	struct sl_mgr_state *empty = sl_mgr_state_new();
	ck_assert_int_eq(sl_mgr_state_to_config(empty, &cfg, &out, &err), 0);
	ck_assert_uint_eq(out.nb_vips, 0);
	ck_assert_ptr_null(out.vips);
	sl_config_free(&out);
	sl_mgr_state_free(empty);

	/* a VIP with more DIPs than this mux's Maglev table can take */
	cfg.maglev_size = 7;
	ck_assert_int_eq(sl_mgr_state_to_config(s, &cfg, &out, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_str_eq(err.msg, "VIP 198.51.100.1:80/tcp has 7 DIPs; this instance's "
				  "mux.maglev_size (7) must be larger");
	ck_assert_ptr_null(out.vips);
	cfg.roles = SL_ROLE_HOST; /* without the mux role, Maglev's size is not ours to check */
	ck_assert_int_eq(sl_mgr_state_to_config(s, &cfg, &out, &err), 0);
	sl_config_free(&out);
	sl_config_free(&cfg);
	sl_mgr_state_free(s);
}
END_TEST

/* The spec the data plane gets from the state is the file loader's spec of
 * the state's configuration: one mapping, whichever way it is reached. */
static void assert_same_services(const struct sl_spec *a, const struct sl_spec *b)
{
	ck_assert_uint_eq(a->nb_services, b->nb_services);
	for (uint32_t i = 0; i < a->nb_services; i++) {
		const struct sl_spec_service *x = &a->services[i], *y = &b->services[i];
		ck_assert(x->kind == y->kind && x->family == y->family && x->proto == y->proto &&
			  x->port == y->port && sl_addr_eq(&x->addr, &y->addr));
		ck_assert_uint_eq(x->nb_backends, y->nb_backends);
		for (uint32_t j = 0; j < x->nb_backends; j++) {
			const struct sl_spec_backend *p = &x->backends[j], *q = &y->backends[j];
			ck_assert(sl_addr_eq(&p->addr, &q->addr) && sl_addr_eq(&p->host, &q->host));
			ck_assert_uint_eq(p->port, q->port);
			ck_assert_uint_eq(p->weight, q->weight);
		}
	}
}

START_TEST(test_to_spec)
{
	struct sl_config cfg, via_cfg;
	struct sl_spec direct, via;
	struct sl_mgr_err err;
	load_cfg(CFG, &cfg);
	struct sl_mgr_state *s = sl_mgr_state_from_config(&cfg, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	apply_ok(s, "{'op':'dip_drain','vip':{'address':'203.0.113.10','protocol':'tcp','port':80},"
		    "'dip':{'address':'10.0.0.2','port':8080}}");
	ck_assert_int_eq(sl_mgr_state_to_spec(s, &cfg, &direct, &err), 0);
	ck_assert_int_eq(sl_mgr_state_to_config(s, &cfg, &via_cfg, &err), 0);
	ck_assert_int_eq(sl_spec_from_config(&via_cfg, &via), 0);
	assert_same_services(&direct, &via);
	ck_assert_uint_eq(direct.nb_services, 3);
	ck_assert_uint_eq(direct.services[0].backends[1].weight, 0); /* drained: no new flows */
	ck_assert_uint_eq(direct.mux.maglev_size, 251);
	ck_assert_uint_eq(direct.host.nb_tunnel_sources, via.host.nb_tunnel_sources);
	ck_assert_int_eq(memcmp(direct.host.tunnel_sources, via.host.tunnel_sources,
				direct.host.nb_tunnel_sources * sizeof(direct.host.tunnel_sources[0])),
			 0);
	sl_spec_free(&direct);
	sl_spec_free(&via);
	sl_config_free(&via_cfg);

	/* "auto" has room for any DIP count; a fixed size of 2 has none */
	cfg.maglev_size = 0;
	ck_assert_int_eq(sl_mgr_state_to_spec(s, &cfg, &direct, &err), 0);
	ck_assert_uint_eq(direct.mux.maglev_size, 0);
	sl_spec_free(&direct);
	cfg.maglev_size = 2;
	ck_assert_int_eq(sl_mgr_state_to_spec(s, &cfg, &direct, &err), -1);
	ck_assert_int_eq(err.code, SL_MGR_ELIMIT);
	ck_assert_ptr_null(direct.services);
	sl_config_free(&cfg);
	sl_mgr_state_free(s);
}
END_TEST

/* ------------------------------------------------------------ spec revs */

/* The rev of VIP key's service in the spec s gives the data plane. */
static uint64_t rev_of(const struct sl_mgr_state *s, const struct sl_config *cfg, const char *key)
{
	struct sl_spec spec;
	struct sl_mgr_err err;
	const struct sl_mgr_vip *v = vip_of(s, key);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(sl_mgr_state_to_spec(s, cfg, &spec, &err), 0);
	uint64_t rev = spec.services[v - s->vips].rev;
	sl_spec_free(&spec);
	return rev;
}

/* Base's VIPs with DIPs (C has none: rev 0, no promise). */
static const char *const rev_keys[] = {VA, VB, VD};
#define NB_REV_KEYS (sizeof(rev_keys) / sizeof(rev_keys[0]))

/* After cmd (applied, or refused when ok is false), the VIP rev_keys[changed]
 * has a new rev and every other VIP its old one (changed -1: none). */
static void expect_revs(struct sl_mgr_state *s, const struct sl_config *cfg, const char *cmd,
			bool ok, int changed)
{
	uint64_t before[NB_REV_KEYS];
	struct sl_mgr_err err;
	for (unsigned i = 0; i < NB_REV_KEYS; i++)
		before[i] = rev_of(s, cfg, rev_keys[i]);
	ck_assert_msg(apply_text(s, cmd, &err) == (ok ? 0 : -1), "%s: %s", cmd, err.msg);
	for (unsigned i = 0; i < NB_REV_KEYS; i++) {
		uint64_t now = rev_of(s, cfg, rev_keys[i]);
		ck_assert_uint_ne(now, 0);
		if ((int)i == changed)
			ck_assert_msg(now != before[i], "%s: the rev of %s stayed", cmd, rev_keys[i]);
		else
			ck_assert_msg(now == before[i], "%s: the rev of %s changed", cmd, rev_keys[i]);
	}
}

/* sl_spec_service.rev: whatever reaches a service (a DIP's weight, admin
 * state or health, DIPs added or removed, the VIP's key) gives it a new
 * rev; anything else leaves it; two services never share one. */
START_TEST(test_spec_revs)
{
	struct sl_config cfg;
	struct sl_spec spec;
	struct sl_mgr_err err;
	load_cfg(CFG, &cfg);
	struct sl_mgr_state *s = base_state();
	ck_assert_int_eq(sl_mgr_state_to_spec(s, &cfg, &spec, &err), 0);
	for (uint32_t i = 0; i < spec.nb_services; i++)
		for (uint32_t j = i + 1; j < spec.nb_services; j++)
			ck_assert(spec.services[i].rev == 0 || spec.services[i].rev != spec.services[j].rev);
	ck_assert_uint_eq(spec.services[vip_of(s, VC) - s->vips].rev, 0);
	sl_spec_free(&spec);

	expect_revs(s, &cfg, "{'op':'dip_set_weight','vip':" VA ",'dip':" D1 ",'weight':7}", true, 0);
	expect_revs(s, &cfg, "{'op':'dip_drain','vip':" VA ",'dip':" D1 "}", true, 0);
	expect_revs(s, &cfg, "{'op':'dip_enable','vip':" VA ",'dip':" D1 "}", true, 0);
	expect_revs(s, &cfg, "{'op':'dip_health','vip':" VA ",'dip':" D1 ",'health':'unhealthy'}",
		    true, 0);
	expect_revs(s, &cfg, "{'op':'dip_health','dip':{'address':'10.0.0.3','port':8443},"
			     "'health':'healthy'}", true, 2);
	expect_revs(s, &cfg, "{'op':'dip_add','vip':" VB ",'dip':{'address':'2001:db8:1::2',"
			     "'host':'2001:db8:2::21'}}", true, 1);
	expect_revs(s, &cfg, "{'op':'dip_remove','vip':" VB ",'dip':{'address':'2001:db8:1::2',"
			     "'port':53}}", true, 1);
	expect_revs(s, &cfg, "{'op':'vip_update','vip':" VA ",'dips':[{'address':'10.0.0.1',"
			     "'port':8080,'host':'192.0.2.21'}]}", true, 0);
	/* unrelated changes, refused commands and validations leave every rev */
	expect_revs(s, &cfg, "{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp',"
			     "'port':80,'dips':[{'address':'10.1.0.1','host':'192.0.2.21'}]}}", true, -1);
	expect_revs(s, &cfg, "{'op':'vip_delete','vip':{'address':'198.51.100.1','protocol':'tcp',"
			     "'port':80}}", true, -1);
	expect_revs(s, &cfg, "{'op':'member_api','id':2,'api':'https://192.0.2.12:8443'}", true, -1);
	expect_revs(s, &cfg, "{'op':'set_tunnel_sources','prefixes':['192.0.2.10/32']}", true, -1);
	expect_revs(s, &cfg, "{'op':'batch','commands':[{'op':'dip_set_weight','vip':" VA ",'dip':" D1
			     ",'weight':9},{'op':'dip_drain','vip':" VD ",'dip':{'address':'10.0.0.9',"
			     "'port':1}}]}", false, -1);
	json_t *cmd = J("{'op':'dip_set_weight','vip':" VD ",'dip':{'address':'10.0.0.3','port':8443},"
			"'weight':3}");
	uint64_t d_rev = rev_of(s, &cfg, VD);
	ck_assert_int_eq(sl_mgr_validate(s, cmd, &err), 0);
	ck_assert_uint_eq(rev_of(s, &cfg, VD), d_rev);
	json_decref(cmd);
	/* the same DIPs under a new key */
	apply_ok(s, "{'op':'vip_update','vip':" VD ",'set':{'port':444}}");
	uint64_t moved = rev_of(s, &cfg, "{'address':'203.0.113.11','protocol':'tcp','port':444}");
	ck_assert_uint_ne(moved, 0);
	ck_assert_uint_ne(moved, d_rev);
	sl_config_free(&cfg);
	sl_mgr_state_free(s);
}
END_TEST

/* ------------------------------------------------------------ host-agent keys */

/* The host-agent rule by brute force (no key in two VIPs), and the DIP count. */
static void assert_agent_rule(const struct sl_mgr_state *s)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < s->nb_vips; i++) {
		const struct sl_mgr_vip *v = &s->vips[i];
		total += sl_mgr_vip_nb_dips(v);
		for (uint32_t k = i + 1; k < s->nb_vips; k++) {
			const struct sl_mgr_vip *w = &s->vips[k];
			if (v->family != w->family || v->proto != w->proto)
				continue;
			for (uint32_t a = 0; a < sl_mgr_vip_nb_dips(v); a++)
				for (uint32_t b = 0; b < sl_mgr_vip_nb_dips(w); b++) {
					const struct sl_mgr_dip *x = &v->dips->dip[a], *y = &w->dips->dip[b];
					ck_assert(!(x->port == y->port && sl_addr_eq(&x->addr, &y->addr) &&
						    sl_addr_eq(&x->host, &y->host)));
				}
		}
	}
	ck_assert_uint_eq(total, s->nb_dips);
}

static unsigned rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % n;
}

/* A few VIPs, DIPs and hosts, so that commands collide often. */
static int random_vip(unsigned *seed, char *buf, size_t len)
{
	return snprintf(buf, len, "{'address':'203.0.113.%u','protocol':'%s','port':80}",
			1 + rnd(seed, 3), rnd(seed, 2) ? "tcp" : "udp");
}

static int random_dip(unsigned *seed, char *buf, size_t len)
{
	return snprintf(buf, len, "{'address':'10.0.0.%u','port':%u,'host':'192.0.2.%u'}",
			1 + rnd(seed, 3), 8080 + rnd(seed, 2), 1 + (rnd(seed, 4) == 0));
}

static int random_dip_key(unsigned *seed, char *buf, size_t len)
{
	return snprintf(buf, len, "{'address':'10.0.0.%u','port':%u}", 1 + rnd(seed, 3),
			8080 + rnd(seed, 2));
}

static int random_dip_list(unsigned *seed, char *buf, size_t len)
{
	int n = snprintf(buf, len, "[");
	for (unsigned i = 0, k = rnd(seed, 4); i < k; i++) {
		n += snprintf(buf + n, len - (size_t)n, "%s", i ? "," : "");
		n += random_dip(seed, buf + n, len - (size_t)n);
	}
	return n + snprintf(buf + n, len - (size_t)n, "]");
}

/* One command of the vips section, or none (0) for the batch to pick again. */
static int random_command(unsigned *seed, char *buf, size_t len)
{
	char v[96], d[96], list[512];
	random_vip(seed, v, sizeof(v));
	switch (rnd(seed, 8)) {
	case 0:
		random_dip_list(seed, list, sizeof(list));
		return snprintf(buf, len, "{'op':'vip_create','vip':%s,'dips':%s}", v, list);
	case 1:
		return snprintf(buf, len, "{'op':'vip_delete','vip':%s}", v);
	case 2:
		random_dip(seed, d, sizeof(d));
		return snprintf(buf, len, "{'op':'dip_add','vip':%s,'dip':%s}", v, d);
	case 3:
		random_dip_key(seed, d, sizeof(d));
		return snprintf(buf, len, "{'op':'dip_remove','vip':%s,'dip':%s}", v, d);
	case 4:
		return snprintf(buf, len, "{'op':'vip_update','vip':%s,'set':{'address':'203.0.113.%u',"
				"'protocol':'%s'}}", v, 1 + rnd(seed, 3), rnd(seed, 2) ? "tcp" : "udp");
	case 5:
		random_dip_list(seed, list, sizeof(list));
		return snprintf(buf, len, "{'op':'vip_update','vip':%s,'dips':%s}", v, list);
	case 6:
		random_dip_key(seed, d, sizeof(d));
		return snprintf(buf, len, "{'op':'dip_set_weight','vip':%s,'dip':%s,'weight':%u}", v, d,
				1 + rnd(seed, 9));
	default: /* on any host, or on one */
		if (rnd(seed, 2))
			random_dip_key(seed, d, sizeof(d));
		else
			random_dip(seed, d, sizeof(d));
		return snprintf(buf, len, "{'op':'dip_health','dip':%s,'health':'%s'}", d,
				rnd(seed, 2) ? "unhealthy" : "healthy");
	}
}

/* After an accepted dip_health without a VIP: every DIP it names (on its
 * host, when given) has the health reported. */
static void assert_health_reached(const struct sl_mgr_state *s, const char *text)
{
	json_t *cmd = J(text), *dip = json_object_get(cmd, "dip");
	const char *host = json_string_value(json_object_get(dip, "host"));
	union sl_addr addr = {0}, h = {0};
	ck_assert_int_eq(sl_addr_parse(json_string_value(json_object_get(dip, "address")), &addr),
			 SL_AF_INET);
	ck_assert(host == NULL || sl_addr_parse(host, &h) == SL_AF_INET);
	uint8_t want = strcmp(json_string_value(json_object_get(cmd, "health")), "healthy") == 0
			       ? SL_MGR_HEALTHY
			       : SL_MGR_UNHEALTHY;
	uint16_t port = (uint16_t)json_integer_value(json_object_get(dip, "port"));
	for (uint32_t i = 0; i < s->nb_vips; i++)
		for (uint32_t j = 0; j < sl_mgr_vip_nb_dips(&s->vips[i]); j++) {
			const struct sl_mgr_dip *d = &s->vips[i].dips->dip[j];
			if (d->port == port && sl_addr_eq(&d->addr, &addr) &&
			    (host == NULL || sl_addr_eq(&d->host, &h)))
				ck_assert_msg(d->health == want, "%s missed a DIP", text);
		}
	json_decref(cmd);
}

static void random_batch(unsigned *seed, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{'op':'batch','commands':[");
	for (unsigned i = 0, k = 2 + rnd(seed, 3); i < k; i++) {
		n += snprintf(buf + n, len - (size_t)n, "%s", i ? "," : "");
		n += random_command(seed, buf + n, len - (size_t)n);
	}
	snprintf(buf + n, len - (size_t)n, "]}");
}

/* One command on s and on a state decoded from s's encoding (its key map
 * built afresh): the same verdict, message and result, validate agreeing.
 * True when refused for the host-agent rule. */
static bool apply_both_ways(struct sl_mgr_state *s, const char *text)
{
	struct sl_mgr_err ev, ea, ed;
	char *before = encode(s);
	struct sl_mgr_state *fresh = sl_mgr_state_decode(before, strlen(before), &ed);
	ck_assert_msg(fresh != NULL, "%s", ed.msg);
	json_t *cmd = J(text);
	int v = sl_mgr_validate(s, cmd, &ev);
	int a = sl_mgr_apply(s, cmd, &ea);
	int d = sl_mgr_apply(fresh, cmd, &ed);
	json_decref(cmd);
	ck_assert_msg(v == a && a == d, "%s: validate %d, apply %d, fresh %d", text, v, a, d);
	ck_assert_str_eq(ev.msg, ea.msg);
	ck_assert_str_eq(ea.msg, ed.msg);
	assert_same_state(s, fresh);
	if (a < 0) {
		char *after = encode(s);
		ck_assert_str_eq(before, after);
		free(after);
	}
	assert_agent_rule(s);
	free(before);
	sl_mgr_state_free(fresh);
	return a < 0 && strstr(ea.msg, "would back both") != NULL;
}

/*
 * The key map (kept in step commit by commit) against the rule by brute
 * force and against a map built afresh, over random commands and batches
 * that add, move, replace and remove DIPs sharing keys.
 */
START_TEST(test_agent_keys_random)
{
	struct sl_mgr_state *s = sl_mgr_state_new();
	unsigned seed = 12345;
	char cmd[4096];
	unsigned accepted = 0, shared = 0, health = 0;
	for (unsigned i = 0; i < 2000; i++) {
		if (rnd(&seed, 4) == 0)
			random_batch(&seed, cmd, sizeof(cmd));
		else
			random_command(&seed, cmd, sizeof(cmd));
		uint64_t gen = s->generation;
		shared += apply_both_ways(s, cmd);
		accepted += s->generation != gen;
		if (s->generation != gen && strstr(cmd, "'op':'dip_health'") == cmd + 1) {
			assert_health_reached(s, cmd);
			health++;
		}
	}
	/* the mix keeps changing the state, and often breaks the rule */
	ck_assert_uint_gt(accepted, 200);
	ck_assert_uint_gt(shared, 20);
	ck_assert_uint_gt(health, 50);
	sl_mgr_state_free(s);
}
END_TEST

/* The same file without the host role (and so without host.tunnel_sources). */
static const char CFG_MUX[] =
	"sluice: {\n"
	"  roles = [\"mux\"];\n"
	"  ports = ( { name = \"up\"; device = \"net_tap0\"; addresses = [\"192.0.2.21/24\"]; } );\n"
	"  mux: { maglev_size = 251; };\n"
	"  vips = ( { address = \"203.0.113.10\"; protocol = \"tcp\"; port = 80;\n"
	"             dips = ( { address = \"10.0.0.1\"; port = 8080; host = \"192.0.2.21\"; } ); } );\n"
	"};\n";

/* The tunnel sources of a data-plane configuration, as canonical texts. */
static void assert_cfg_sources(const struct sl_config *c, const char *list)
{
	json_t *want = J(list), *got = json_array();
	char text[SL_PREFIX_TEXT_LEN];
	for (unsigned i = 0; i < c->nb_tunnel_sources; i++)
		json_array_append_new(got, json_string(sl_prefix_rules_format(
						   c->tunnel_sources[i].family,
						   c->tunnel_sources[i].addr.v6,
						   c->tunnel_sources[i].len, text)));
	char *g = json_dumps(got, JSON_COMPACT);
	ck_assert_msg(json_equal(want, got), "the data plane's tunnel sources are %s", g);
	free(g);
	json_decref(want);
	json_decref(got);
}

/* A mux-only first leader bootstraps the list as not set (null in the
 * command), and a host agent's file then keeps its own list. */
START_TEST(test_tunnel_sources_bootstrap_not_set)
{
	struct sl_config mux, host, out;
	struct sl_mgr_err err;
	load_cfg(CFG_MUX, &mux);
	load_cfg(CFG, &host);
	json_t *boot = sl_mgr_cmd_bootstrap(&mux, &err);
	ck_assert_ptr_nonnull(boot);
	ck_assert(json_is_null(json_object_get(boot, "tunnel_sources")));
	json_decref(boot);
	struct sl_mgr_state *s = sl_mgr_state_from_config(&mux, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_uint_eq(s->nb_vips, 1);
	assert_sources(s, "null");
	struct sl_mgr_state *back = round_trip(s, "\"tunnel_sources\":null");
	assert_sources(back, "null");
	/* a host agent of that cluster uses its own file's list, in file order */
	ck_assert_int_eq(sl_mgr_state_to_config(s, &host, &out, &err), 0);
	assert_cfg_sources(&out, "['2001:db8:2::10/128','192.0.2.16/28','192.0.2.10/32']");
	sl_config_free(&out);
	sl_mgr_state_free(back);
	sl_mgr_state_free(s);
	sl_config_free(&host);
	sl_config_free(&mux);
}
END_TEST

/* Snapshots (and bootstrap entries of a replayed log) older than the
 * section, and the null encoding, decode as not set. */
START_TEST(test_tunnel_sources_decode_not_set)
{
	static const char *const texts[] = {
		"{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[],\"members\":[]}",
		"{\"format\":1,\"generation\":3,\"index\":9,\"vips\":[],\"members\":[],"
		"\"tunnel_sources\":null}",
	};
	struct sl_mgr_err err;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct sl_mgr_state *s = sl_mgr_state_decode(texts[i], strlen(texts[i]), &err);
		ck_assert_msg(s != NULL, "%s", err.msg);
		assert_sources(s, "null");
		char *text = encode(s);
		ck_assert_str_eq(text, "{\"format\":1,\"generation\":3,\"index\":9,\"members\":[],\"pops\":[],"
				       "\"tunnel_sources\":null,\"vips\":[]}");
		free(text);
		sl_mgr_state_free(s);
	}
	/* a replayed bootstrap without the section leaves it unset too */
	struct sl_mgr_state *s = sl_mgr_state_new();
	apply_ok(s, "{'op':'bootstrap','vips':[],'members':[]}");
	assert_sources(s, "null");
	sl_mgr_state_free(s);
}
END_TEST

/* prefixes null unsets a list (set or emptied), leaving nothing of it
 * behind; leaving prefixes out is still an error. */
START_TEST(test_tunnel_sources_unset)
{
	struct sl_mgr_state *s = base_state(), *fresh = base_state();
	struct sl_mgr_err err;
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':['192.0.2.10','2001:db8:2::/64']}");
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':null}");
	ck_assert_uint_eq(s->generation, 3);
	assert_sources(s, "null");
	ck_assert_uint_eq(s->nb_tunnel_sources, 0);
	struct sl_mgr_state *back = round_trip(s, "\"tunnel_sources\":null");
	assert_sources(back, "null");
	/* the same bytes as a state that never had a list, but for generation */
	fresh->generation = s->generation;
	assert_same_state(s, fresh);
	/* an empty list is set, and unset again */
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':[]}");
	assert_sources(s, "[]");
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':null}");
	assert_sources(s, "null");
	/* unsetting takes null, not absence */
	ck_assert_int_eq(apply_text(s, "{'op':'set_tunnel_sources'}", &err), -1);
	ck_assert_str_eq(err.msg, "set_tunnel_sources: prefixes: required member is missing");
	/* in a batch, all or nothing: test_tunnel_sources_all_or_nothing */
	sl_mgr_state_free(back);
	sl_mgr_state_free(fresh);
	sl_mgr_state_free(s);
}
END_TEST

/* The data plane takes base's (this instance's file's) list while the
 * state has none set, and the state's once set, an empty one included;
 * reads say which: not set, with this instance's file's ("file_prefixes",
 * empty without the host role); set, the state's only. */
START_TEST(test_tunnel_sources_to_config)
{
	struct sl_config host, mux, out;
	struct sl_mgr_err err;
	load_cfg(CFG, &host);
	load_cfg(CFG_MUX, &mux);
	struct sl_mgr_state *s = sl_mgr_state_new();
#define FILE_LIST "['2001:db8:2::10/128','192.0.2.16/28','192.0.2.10/32']"
#define NOT_SET "{'prefixes':null,'replicated':false,'file_prefixes':"
	static const struct {
		const char *cmd, *dataplane, *read_host, *read_mux;
	} steps[] = {
		{NULL, FILE_LIST, NOT_SET FILE_LIST "}", NOT_SET "[]}"},
		{"{'op':'set_tunnel_sources','prefixes':['198.51.100.0/24','192.0.2.10']}",
		 "['192.0.2.10/32','198.51.100.0/24']",
		 "{'prefixes':['192.0.2.10/32','198.51.100.0/24'],'replicated':true}", NULL},
		{"{'op':'set_tunnel_sources','prefixes':[]}", "[]",
		 "{'prefixes':[],'replicated':true}", NULL},
		{"{'op':'set_tunnel_sources','prefixes':null}", FILE_LIST, NOT_SET FILE_LIST "}",
		 NOT_SET "[]}"},
	};
#undef NOT_SET
#undef FILE_LIST
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].cmd != NULL)
			apply_ok(s, steps[i].cmd);
		ck_assert_int_eq(sl_mgr_state_to_config(s, &host, &out, &err), 0);
		assert_cfg_sources(&out, steps[i].dataplane);
		sl_config_free(&out);
		for (int m = 0; m < 2; m++) { /* a set list reads alike everywhere */
			const char *text = m == 0 || steps[i].read_mux == NULL ? steps[i].read_host
									     : steps[i].read_mux;
			json_t *want = J(text), *got = sl_mgr_tunnel_sources_json(s, m ? &mux : &host);
			char *g = json_dumps(got, JSON_COMPACT);
			ck_assert_msg(json_equal(want, got), "step %zu: %s", i, g);
			free(g);
			json_decref(want);
			json_decref(got);
		}
	}
	sl_mgr_state_free(s);
	sl_config_free(&mux);
	sl_config_free(&host);
}
END_TEST

/* With the manager a reloaded file may change host.tunnel_sources while
 * the cluster has not set a list (the data plane uses the file's), not
 * once it has (the order of the prefixes is no change). */
START_TEST(test_tunnel_sources_reloadable)
{
	struct sl_config cur, next, same;
	char err[256];
	load_cfg(CFG, &cur);
	load_cfg(CFG, &next);
	load_cfg(CFG, &same);
	next.nb_tunnel_sources = 2;
	same.tunnel_sources[0] = cur.tunnel_sources[2];
	same.tunnel_sources[2] = cur.tunnel_sources[0];
	struct sl_mgr_state *s = sl_mgr_state_new();
	ck_assert(sl_mgr_reloadable(s, &cur, &next, err, sizeof(err)));
	ck_assert_str_eq(err, "");
	static const char *const sets[] = {
		"{'op':'set_tunnel_sources','prefixes':['192.0.2.10']}",
		"{'op':'set_tunnel_sources','prefixes':[]}",
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		apply_ok(s, sets[i]);
		ck_assert(!sl_mgr_reloadable(s, &cur, &next, err, sizeof(err)));
		ck_assert_str_eq(err, "the cluster has set the tunnel sources, so they change through "
				      "the API (sluicectl tunnel-sources set, or unset to give each host "
				      "agent its file's again), not the file "
				      "(sluice.host.tunnel_sources differs)");
		ck_assert(!sl_mgr_reloadable(s, &cur, &next, NULL, 0));
		ck_assert(sl_mgr_reloadable(s, &cur, &same, err, sizeof(err)));
		ck_assert_str_eq(err, "");
	}
	apply_ok(s, "{'op':'set_tunnel_sources','prefixes':null}");
	ck_assert(sl_mgr_reloadable(s, &cur, &next, err, sizeof(err)));
	sl_mgr_state_free(s);
	sl_config_free(&same);
	sl_config_free(&next);
	sl_config_free(&cur);
}
END_TEST

/* ================================================================ Raft */

#define MAX_SERVERS 5
#define MAX_PROPOSALS 128
#define WAIT_MS 10000 /* bound on every wait, in the fixture's simulated time */

struct proposal {
	struct raft_apply req;
	raft_index index;
	bool done;
	int status;
	struct sl_mgr_result result;
};

struct cluster {
	struct raft_fixture f;
	struct sl_mgr_fsm fsm[MAX_SERVERS];
	struct sl_mgr_lead lead[MAX_SERVERS];
	unsigned changes[MAX_SERVERS]; /* calls of the fsm's changed hook */
	unsigned n;
	struct proposal prop[MAX_PROPOSALS];
	unsigned nb_prop;
};

static void count_change(struct sl_mgr_fsm *m, void *arg)
{
	(void)m;
	(*(unsigned *)arg)++;
}

static void apply_done(struct raft_apply *req, int status, void *result)
{
	struct proposal *p = req->data;
	p->done = true;
	p->status = status;
	if (status == 0)
		p->result = *(const struct sl_mgr_result *)result;
	else
		ck_assert_ptr_null(result);
}

/* n voters with fresh state machines, not started. */
static struct cluster *cluster_alloc(unsigned n, unsigned threshold, unsigned trailing)
{
	struct cluster *c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->n = n;
	ck_assert_int_eq(raft_fixture_initialize(&c->f), 0);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(sl_mgr_fsm_init(&c->fsm[i]), 0);
		c->fsm[i].changed = count_change;
		c->fsm[i].changed_arg = &c->changes[i];
		ck_assert_int_eq(raft_fixture_grow(&c->f, &c->fsm[i].fsm), 0);
		struct raft *r = raft_fixture_get(&c->f, i);
		sl_mgr_fsm_bind(&c->fsm[i], r);
		sl_mgr_lead_init(&c->lead[i], r);
		if (threshold > 0) {
			raft_set_snapshot_threshold(r, threshold);
			raft_set_snapshot_trailing(r, trailing);
		}
	}
	return c;
}

static struct cluster *cluster_new(unsigned n, unsigned threshold, unsigned trailing)
{
	struct cluster *c = cluster_alloc(n, threshold, trailing);
	struct raft_configuration conf;
	ck_assert_int_eq(raft_fixture_configuration(&c->f, n, &conf), 0);
	ck_assert_int_eq(raft_fixture_bootstrap(&c->f, &conf), 0);
	raft_configuration_close(&conf);
	ck_assert_int_eq(raft_fixture_start(&c->f), 0);
	return c;
}

static void cluster_free(struct cluster *c)
{
	raft_fixture_close(&c->f);
	for (unsigned i = 0; i < c->n; i++)
		sl_mgr_fsm_close(&c->fsm[i]);
	free(c);
}

static unsigned elect(struct cluster *c)
{
	ck_assert(raft_fixture_step_until_has_leader(&c->f, WAIT_MS));
	unsigned l = raft_fixture_leader_index(&c->f);
	ck_assert_uint_lt(l, c->n);
	return l;
}

static unsigned excluded; /* for other_leader() */

static bool other_leader(struct raft_fixture *f, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < raft_fixture_n(f); i++)
		if (i != excluded && raft_fixture_alive(f, i) &&
		    raft_state(raft_fixture_get(f, i)) == RAFT_LEADER)
			return true;
	return false;
}

/* A leader other than old (dead or cut off), once elected. */
static unsigned elect_other(struct cluster *c, unsigned old)
{
	excluded = old;
	ck_assert(raft_fixture_step_until(&c->f, other_leader, NULL, WAIT_MS));
	for (unsigned i = 0; i < c->n; i++)
		if (i != old && raft_fixture_alive(&c->f, i) &&
		    raft_state(raft_fixture_get(&c->f, i)) == RAFT_LEADER)
			return i;
	ck_abort_msg("no leader");
	return c->n;
}

static struct proposal *propose(struct cluster *c, unsigned i, const char *text)
{
	ck_assert_uint_lt(c->nb_prop, MAX_PROPOSALS);
	struct proposal *p = &c->prop[c->nb_prop++];
	struct raft_buffer buf;
	struct raft *r = raft_fixture_get(&c->f, i);
	json_t *cmd = J(text);
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(cmd, &buf, NULL), 0);
	json_decref(cmd);
	p->req.data = p;
	int rv = raft_apply(r, &p->req, &buf, 1, apply_done);
	ck_assert_msg(rv == 0, "raft_apply on server %u: %s", i, raft_strerror(rv));
	p->index = raft_last_index(r);
	return p;
}

/* {"op": "vip_create"} of VIP 198.51.100.1, tcp, port k, with DIP 10.0.<k>.1 */
static const char *create_cmd(unsigned k)
{
	static char buf[256];
	snprintf(buf, sizeof(buf),
		 "{'op':'vip_create','vip':{'address':'198.51.100.1','protocol':'tcp','port':%u,"
		 "'dips':[{'address':'10.0.%u.1','host':'192.0.2.%u'}]}}",
		 k, k % 256, 1 + k % 200);
	return buf;
}

static const struct sl_mgr_vip *created(const struct sl_mgr_state *s, unsigned k)
{
	char key[128];
	snprintf(key, sizeof(key), "{'address':'198.51.100.1','protocol':'tcp','port':%u}", k);
	return vip_of(s, key);
}

#define ALL ~0u

/* Step until every live server in mask has applied index. */
static void wait_applied(struct cluster *c, unsigned mask, raft_index index)
{
	for (unsigned i = 0; i < c->n; i++)
		if ((mask & (1u << i)) && raft_fixture_alive(&c->f, i))
			ck_assert_msg(raft_fixture_step_until_applied(&c->f, i, index, WAIT_MS),
				      "server %u did not apply entry %llu (applied %llu)", i,
				      (unsigned long long)index,
				      (unsigned long long)raft_last_applied(raft_fixture_get(&c->f, i)));
}

/* Every live server in mask holds byte-identical state. */
static void assert_replicas_equal(struct cluster *c, unsigned mask)
{
	char *first = NULL;
	for (unsigned i = 0; i < c->n; i++) {
		if (!(mask & (1u << i)) || !raft_fixture_alive(&c->f, i))
			continue;
		char *text = encode(c->fsm[i].state);
		if (first == NULL) {
			first = text;
			continue;
		}
		ck_assert_msg(strcmp(first, text) == 0, "server %u differs:\n%s\n%s", i, first, text);
		free(text);
	}
	free(first);
}

static bool proposal_done(struct raft_fixture *f, void *arg)
{
	(void)f;
	return ((struct proposal *)arg)->done;
}

/* ---- leader readiness and confirmation (lib/manager/lead) ---- */

struct lead_probe {
	struct cluster *c;
	unsigned i;
};

/* The fixture's stepping predicate: server i's lead ticked, and ready. */
static bool lead_ready(struct raft_fixture *f, void *arg)
{
	(void)f;
	struct lead_probe *p = arg;
	sl_mgr_lead_tick(&p->c->lead[p->i]);
	return sl_mgr_lead_ready(&p->c->lead[p->i]);
}

static void wait_ready(struct cluster *c, unsigned i)
{
	struct lead_probe p = {c, i};
	ck_assert_msg(raft_fixture_step_until(&c->f, lead_ready, &p, WAIT_MS),
		      "server %u never became a ready leader", i);
}

struct confirm_probe {
	struct sl_mgr_confirm req;
	struct raft *raft;
	bool done;
	int status;
	raft_index applied; /* when confirmed */
};

static void confirm_done(struct sl_mgr_confirm *req, int status)
{
	struct confirm_probe *p = req->data;
	ck_assert(!p->done); /* exactly once */
	p->done = true;
	p->status = status;
	p->applied = raft_last_applied(p->raft);
}

static void start_confirm(struct cluster *c, unsigned i, struct confirm_probe *p)
{
	*p = (struct confirm_probe){0};
	p->raft = raft_fixture_get(&c->f, i);
	p->req.cb = confirm_done;
	p->req.data = p;
	sl_mgr_lead_confirm(&c->lead[i], &p->req);
}

static bool confirmed(struct raft_fixture *f, void *arg)
{
	(void)f;
	return ((struct confirm_probe *)arg)->done;
}

static const char *dip_add_cmd(unsigned k)
{
	static char buf[256];
	snprintf(buf, sizeof(buf),
		 "{'op':'dip_add','vip':{'address':'198.51.100.1','protocol':'tcp','port':%u},"
		 "'dip':{'address':'10.9.%u.9','host':'192.0.2.9'}}",
		 k, k % 256);
	return buf;
}

/*
 * Issue 7, symptom 1: a VIP create is committed and acknowledged by the
 * leader, which dies before any follower learns that it committed. The new
 * leader has the entry in its log but not in its state, and libraft does
 * not append an entry when it wins: validating a DIP add against that state
 * (what app/manager.c used to do) refuses it with "VIP does not exist",
 * contradicting the acknowledgement. The lead module keeps the new leader
 * not ready until its own barrier applied, and then the VIP is there.
 */
START_TEST(test_raft_new_leader_lags_its_log)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	wait_ready(c, l);
	struct proposal *p = propose(c, l, create_cmd(7));
	ck_assert(raft_fixture_step_until_applied(&c->f, l, p->index, WAIT_MS));
	ck_assert(p->done && p->status == 0 && p->result.code == SL_MGR_OK); /* acknowledged */
	raft_fixture_kill(&c->f, l);
	for (unsigned i = 0; i < 3; i++)
		if (i != l) /* the followers have the entry, not its commit */
			ck_assert_uint_lt(raft_last_applied(raft_fixture_get(&c->f, i)), p->index);

	unsigned l2 = elect_other(c, l);
	struct sl_mgr_err err;
	json_t *add = J(dip_add_cmd(7));
	/* The symptom: the old check against the applied state refuses. */
	ck_assert_ptr_null(created(c->fsm[l2].state, 7));
	ck_assert_int_ne(sl_mgr_validate(c->fsm[l2].state, add, &err), 0);
	ck_assert_int_eq(err.code, SL_MGR_ENOENT);
	/* The fix: not ready, so no answer comes from that state... */
	ck_assert(!sl_mgr_lead_ready(&c->lead[l2]));
	/* ...until the barrier of its term applied, and with it the VIP. */
	wait_ready(c, l2);
	ck_assert_ptr_nonnull(created(c->fsm[l2].state, 7));
	ck_assert_int_eq(sl_mgr_validate(c->fsm[l2].state, add, &err), 0);
	ck_assert_uint_eq(c->lead[l2].n_barriers, 1);
	json_decref(add);
	cluster_free(c);
}
END_TEST

/* Requests that arrive while a barrier is in flight share the next one;
 * a follower, and a leader cut off from the majority, confirm nothing. */
START_TEST(test_raft_confirm)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	wait_ready(c, l);
	struct sl_mgr_lead *lead = &c->lead[l];
	struct confirm_probe p[6];
	uint64_t barriers = lead->n_barriers;

	struct proposal *w = propose(c, l, create_cmd(1));
	start_confirm(c, l, &p[0]);
	start_confirm(c, l, &p[1]);
	start_confirm(c, l, &p[2]);
	ck_assert_uint_eq(lead->n_barriers, barriers + 1); /* 1 and 2 wait for the next */
	ck_assert(raft_fixture_step_until(&c->f, confirmed, &p[2], WAIT_MS));
	for (unsigned k = 0; k < 3; k++) {
		ck_assert(p[k].done);
		ck_assert_int_eq(p[k].status, 0);
		ck_assert_uint_ge(p[k].applied, w->index); /* the write before them is in */
	}
	ck_assert(w->done);
	ck_assert_uint_eq(lead->n_barriers, barriers + 2);
	ck_assert_uint_eq(lead->n_confirmed, 3);

	unsigned f = (l + 1) % 3;
	start_confirm(c, f, &p[3]);
	ck_assert(p[3].done);
	ck_assert_int_eq(p[3].status, RAFT_NOTLEADER);
	ck_assert_uint_eq(c->lead[f].n_failed, 1);

	for (unsigned j = 0; j < 3; j++)
		if (j != l) {
			raft_fixture_disconnect(&c->f, l, j);
			raft_fixture_disconnect(&c->f, j, l);
		}
	start_confirm(c, l, &p[4]);
	start_confirm(c, l, &p[5]); /* waits behind p[4]'s barrier */
	ck_assert(raft_fixture_step_until(&c->f, confirmed, &p[5], WAIT_MS));
	ck_assert_int_ne(p[4].status, 0); /* it stepped down: no confirmation */
	ck_assert_int_ne(p[5].status, 0); /* failed with it, no barrier appended */
	ck_assert(!sl_mgr_lead_ready(lead));
	cluster_free(c);
}
END_TEST

START_TEST(test_raft_initial_election)
{
	unsigned n = _i == 0 ? 3 : 5;
	struct cluster *c = cluster_new(n, 0, 0);
	unsigned l = elect(c), leaders = 0;
	for (unsigned i = 0; i < n; i++) {
		leaders += raft_state(raft_fixture_get(&c->f, i)) == RAFT_LEADER;
		ck_assert_uint_eq(c->fsm[i].state->generation, 0);
	}
	ck_assert_uint_eq(leaders, 1);

	struct proposal *p = propose(c, l, create_cmd(1));
	wait_applied(c, ALL, p->index);
	ck_assert(p->done);
	ck_assert_int_eq(p->status, 0);
	ck_assert_int_eq(p->result.code, SL_MGR_OK);
	ck_assert_str_eq(p->result.msg, "");
	ck_assert_uint_eq(p->result.index, p->index);
	ck_assert_uint_eq(p->result.generation, 1);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(c->fsm[i].state->generation, 1);
		ck_assert_uint_eq(c->fsm[i].state->index, p->index);
		ck_assert_ptr_nonnull(created(c->fsm[i].state, 1));
		ck_assert_uint_eq(c->changes[i], 1);
	}
	assert_replicas_equal(c, ALL);

	/* Only the leader takes proposals: the API forwards the others. */
	struct raft_buffer buf;
	struct raft_apply req;
	json_t *cmd = J(create_cmd(2));
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(cmd, &buf, NULL), 0);
	ck_assert_int_eq(raft_apply(raft_fixture_get(&c->f, (l + 1) % n), &req, &buf, 1, apply_done),
			 RAFT_NOTLEADER);
	raft_free(buf.base);
	json_decref(cmd);
	cluster_free(c);
}
END_TEST

START_TEST(test_raft_reelection)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	struct proposal *p1 = propose(c, l, create_cmd(1));
	wait_applied(c, ALL, p1->index);

	raft_fixture_kill(&c->f, l);
	unsigned l2 = elect_other(c, l);
	struct proposal *p2 = propose(c, l2, create_cmd(2));
	wait_applied(c, ALL, p2->index);
	ck_assert_int_eq(p2->result.code, SL_MGR_OK);
	ck_assert_uint_eq(c->fsm[l].state->generation, 1); /* down, it missed the write */

	raft_fixture_revive(&c->f, l);
	wait_applied(c, ALL, p2->index);
	assert_replicas_equal(c, ALL);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(c->fsm[i].state->generation, 2);
		ck_assert_ptr_nonnull(created(c->fsm[i].state, 2));
	}
	cluster_free(c);
}
END_TEST

START_TEST(test_raft_follower_failure)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c), down = (l + 1) % 3;
	raft_fixture_kill(&c->f, down);
	struct proposal *p = NULL;
	for (unsigned k = 1; k <= 5; k++) {
		p = propose(c, l, create_cmd(k));
		wait_applied(c, ALL, p->index); /* a majority is up: commits go on */
		ck_assert_int_eq(p->result.code, SL_MGR_OK);
	}
	ck_assert_uint_eq(c->fsm[l].state->generation, 5);
	ck_assert_uint_eq(c->fsm[down].state->generation, 0);
	raft_fixture_revive(&c->f, down);
	wait_applied(c, ALL, p->index);
	assert_replicas_equal(c, ALL);
	ck_assert_uint_eq(c->fsm[down].state->generation, 5);
	cluster_free(c);
}
END_TEST

START_TEST(test_raft_no_quorum)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	struct proposal *p1 = propose(c, l, create_cmd(1));
	wait_applied(c, ALL, p1->index);

	raft_fixture_kill(&c->f, (l + 1) % 3);
	raft_fixture_kill(&c->f, (l + 2) % 3);
	struct proposal *p2 = propose(c, l, create_cmd(2));
	ck_assert(!raft_fixture_step_until_applied(&c->f, l, p2->index, 3000));
	ck_assert_uint_eq(c->fsm[l].state->generation, 1);
	ck_assert_ptr_null(created(c->fsm[l].state, 2));
	/* The leader finds it has lost its majority, steps down and tells the proposer. */
	ck_assert(raft_fixture_step_until(&c->f, proposal_done, p2, WAIT_MS));
	ck_assert_int_eq(p2->status, RAFT_LEADERSHIPLOST);
	ck_assert_int_ne(raft_state(raft_fixture_get(&c->f, l)), RAFT_LEADER);
	ck_assert_uint_eq(c->fsm[l].state->generation, 1);

	/* Back to a majority: whatever the log decides, every replica agrees. */
	raft_fixture_revive(&c->f, (l + 1) % 3);
	raft_fixture_revive(&c->f, (l + 2) % 3);
	unsigned l2 = elect(c);
	struct proposal *p3 = propose(c, l2, create_cmd(3));
	wait_applied(c, ALL, p3->index);
	assert_replicas_equal(c, ALL);
	cluster_free(c);
}
END_TEST

/* Many proposals in flight at once, one of them refused by the state: all
 * are decided in log order, identically everywhere. */
START_TEST(test_raft_concurrent_writes)
{
	struct cluster *c = cluster_new(5, 0, 0);
	unsigned l = elect(c);
	char cmd[256];
	struct proposal *p[20];
	p[0] = propose(c, l, create_cmd(7));
	for (unsigned k = 1; k < 20; k++) {
		if (k == 9) { /* a second create of the same VIP */
			p[k] = propose(c, l, create_cmd(7));
			continue;
		}
		snprintf(cmd, sizeof(cmd),
			 "{'op':'dip_set_weight','vip':{'address':'198.51.100.1','protocol':'tcp',"
			 "'port':7},'dip':{'address':'10.0.7.1','port':7},'weight':%u}",
			 k);
		p[k] = propose(c, l, cmd);
	}
	for (unsigned k = 0; k < 20; k++)
		ck_assert(!p[k]->done); /* all in flight together */
	wait_applied(c, ALL, p[19]->index);
	uint64_t generation = 0;
	for (unsigned k = 0; k < 20; k++) {
		ck_assert(p[k]->done);
		ck_assert_int_eq(p[k]->status, 0);
		ck_assert_uint_eq(p[k]->result.index, p[k]->index);
		if (k > 0)
			ck_assert_uint_eq(p[k]->index, p[k - 1]->index + 1);
		if (k == 9) {
			ck_assert_int_eq(p[k]->result.code, SL_MGR_EEXIST);
			ck_assert_str_eq(p[k]->result.msg,
					 "vip_create: VIP 198.51.100.1:7/tcp already exists");
		} else {
			ck_assert_int_eq(p[k]->result.code, SL_MGR_OK);
			generation++;
		}
		ck_assert_uint_eq(p[k]->result.generation, generation);
	}
	assert_replicas_equal(c, ALL);
	for (unsigned i = 0; i < 5; i++) {
		const struct sl_mgr_vip *v = created(c->fsm[i].state, 7);
		ck_assert_uint_eq(v->dips->dip[0].weight, 19); /* the last write won */
		ck_assert_uint_eq(c->fsm[i].state->generation, 19);
		ck_assert_uint_eq(c->fsm[i].n_applied, 19);
		ck_assert_uint_eq(c->fsm[i].n_refused, 1);
		ck_assert_uint_eq(c->changes[i], 19);
	}
	cluster_free(c);
}
END_TEST

/* A large command (a bootstrap, a big batch) handed to the proposer's fsm
 * is applied there as is, not parsed from its entry again; the followers
 * parse theirs; all end equal, and each frees the command only when
 * collected (on a later turn of the loop). */
START_TEST(test_raft_large_command_not_parsed_twice)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	json_t *cmds = json_array();
	for (unsigned k = 1; k <= 600; k++)
		json_array_append_new(cmds, J(create_cmd(k)));
	json_t *cmd = json_pack("{s:s, s:o}", "op", "batch", "commands", cmds);
	struct raft_buffer buf;
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(cmd, &buf, NULL), 0);
	ck_assert_uint_ge(buf.len, SL_MGR_FSM_LARGE);
	struct proposal *p = &c->prop[c->nb_prop++];
	struct raft *r = raft_fixture_get(&c->f, l);
	p->req.data = p;
	ck_assert_int_eq(raft_apply(r, &p->req, &buf, 1, apply_done), 0);
	p->index = raft_last_index(r);
	sl_mgr_fsm_proposed(&c->fsm[l], &buf, json_incref(cmd));
	wait_applied(c, ALL, p->index);
	ck_assert(p->done);
	ck_assert_int_eq(p->result.code, SL_MGR_OK);
	assert_replicas_equal(c, ALL);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(c->fsm[i].state->nb_vips, 600);
		ck_assert_ptr_null(c->fsm[i].proposed);
		ck_assert_uint_eq(c->fsm[i].nb_garbage, 1); /* freed later */
		if (i == l) /* the very command handed over */
			ck_assert_ptr_eq(c->fsm[i].garbage[0], cmd);
		else
			ck_assert_ptr_ne(c->fsm[i].garbage[0], cmd);
		sl_mgr_fsm_collect(&c->fsm[i]);
		ck_assert_uint_eq(c->fsm[i].nb_garbage, 0);
	}
	/* a small one is neither kept nor deferred */
	json_t *small = J(create_cmd(601));
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(small, &buf, NULL), 0);
	p = &c->prop[c->nb_prop++];
	p->req.data = p;
	ck_assert_int_eq(raft_apply(r, &p->req, &buf, 1, apply_done), 0);
	p->index = raft_last_index(r);
	sl_mgr_fsm_proposed(&c->fsm[l], &buf, json_incref(small));
	ck_assert_ptr_null(c->fsm[l].proposed);
	wait_applied(c, ALL, p->index);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(c->fsm[i].nb_garbage, 0);
	json_decref(small);
	json_decref(cmd); /* the last reference: the leader's fsm let its own go */
	cluster_free(c);
}
END_TEST

/* The bootstrap command built in steps is the one built at once. */
START_TEST(test_bootstrap_in_steps)
{
	struct sl_config cfg;
	struct sl_mgr_err err;
	load_cfg(CFG, &cfg);
	ck_assert_uint_ge(cfg.nb_vips, 2);
	json_t *whole = sl_mgr_cmd_bootstrap(&cfg, &err);
	json_t *steps = sl_mgr_cmd_bootstrap_begin(&cfg, &err);
	ck_assert_ptr_nonnull(whole);
	ck_assert_ptr_nonnull(steps);
	unsigned next = 0, calls = 1;
	int rc;
	while ((rc = sl_mgr_cmd_bootstrap_add(steps, &cfg, &next, 1, &err)) == 0)
		calls++;
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(calls, cfg.nb_vips);
	ck_assert_uint_eq(next, cfg.nb_vips);
	ck_assert(json_equal(whole, steps));
	struct raft_buffer a, b;
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(whole, &a, NULL), 0);
	ck_assert_int_eq(sl_mgr_cmd_to_buffer(steps, &b, NULL), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.base, b.base, a.len), 0);
	raft_free(a.base);
	raft_free(b.base);
	json_decref(whole);
	json_decref(steps);
	sl_config_free(&cfg);
}
END_TEST

START_TEST(test_raft_partitioned_leader)
{
	struct cluster *c = cluster_new(5, 0, 0);
	unsigned l = elect(c);
	struct proposal *p1 = propose(c, l, create_cmd(1));
	wait_applied(c, ALL, p1->index);

	for (unsigned j = 0; j < 5; j++)
		if (j != l) {
			raft_fixture_disconnect(&c->f, l, j);
			raft_fixture_disconnect(&c->f, j, l);
		}
	struct proposal *lost = propose(c, l, create_cmd(2)); /* can never commit */
	unsigned l2 = elect_other(c, l);
	struct proposal *p3 = propose(c, l2, create_cmd(3));
	unsigned majority = ALL & ~(1u << l);
	wait_applied(c, majority, p3->index);
	assert_replicas_equal(c, majority);
	ck_assert_uint_eq(c->fsm[l].state->generation, 1);
	ck_assert_ptr_null(created(c->fsm[l].state, 2));
	ck_assert_ptr_null(created(c->fsm[l].state, 3));

	for (unsigned j = 0; j < 5; j++)
		if (j != l) {
			raft_fixture_reconnect(&c->f, l, j);
			raft_fixture_reconnect(&c->f, j, l);
		}
	wait_applied(c, ALL, p3->index);
	ck_assert(raft_fixture_step_until(&c->f, proposal_done, lost, WAIT_MS));
	ck_assert_int_ne(lost->status, 0); /* the old leader's client hears it failed */
	assert_replicas_equal(c, ALL);
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_ptr_null(created(c->fsm[i].state, 2)); /* its entry was discarded */
		ck_assert_ptr_nonnull(created(c->fsm[i].state, 3));
		ck_assert_uint_eq(c->fsm[i].state->generation, 2);
	}
	cluster_free(c);
}
END_TEST

/* Every member killed at once, then brought back (the fixture keeps their
 * memory): a leader is elected and writes go on where they stopped. */
START_TEST(test_raft_all_killed_and_revived)
{
	struct cluster *c = cluster_new(3, 0, 0);
	unsigned l = elect(c);
	struct proposal *p = NULL;
	for (unsigned k = 1; k <= 5; k++)
		p = propose(c, l, create_cmd(k));
	wait_applied(c, ALL, p->index);
	for (unsigned i = 0; i < 3; i++)
		raft_fixture_kill(&c->f, i);
	raft_fixture_step_until_elapsed(&c->f, 3000);
	for (unsigned i = 0; i < 3; i++)
		raft_fixture_revive(&c->f, i);
	l = elect(c);
	p = propose(c, l, create_cmd(6));
	wait_applied(c, ALL, p->index);
	assert_replicas_equal(c, ALL);
	ck_assert_uint_eq(c->fsm[0].state->generation, 6);
	cluster_free(c);
}
END_TEST

/*
 * A restart of every process: new servers, with empty state machines,
 * starting from what the old ones persisted (term, latest snapshot, log).
 * Each must rebuild the state from its snapshot and log alone.
 */
static struct cluster *cluster_restart(struct cluster *old)
{
	struct cluster *c = cluster_alloc(old->n, 0, 0);
	for (unsigned i = 0; i < old->n; i++) {
		struct raft_io *io = &old->f.servers[i].io;
		raft_term term;
		raft_id vote;
		struct raft_snapshot *snap = NULL;
		raft_index start;
		struct raft_entry *entries = NULL;
		size_t n = 0;
		ck_assert_int_eq(io->load(io, &term, &vote, &snap, &start, &entries, &n), 0);
		/* This fixture's io hands back its whole log, entries[k] being
		 * entry k + 1 (checked here), and says the log starts after the
		 * snapshot: keep only the entries the snapshot does not cover. */
		ck_assert_uint_eq(n, raft_last_index(raft_fixture_get(&old->f, i)));
		ck_assert_uint_eq(start, snap != NULL ? snap->index + 1 : 1);
		size_t skip = snap != NULL ? snap->index : 0;
		ck_assert_uint_le(skip, n);
		raft_fixture_set_term(&c->f, i, term);
		if (snap != NULL)
			raft_fixture_set_snapshot(&c->f, i, snap);
		for (size_t k = skip; k < n; k++) {
			struct raft_entry e = entries[k];
			e.buf.base = raft_malloc(e.buf.len);
			memcpy(e.buf.base, entries[k].buf.base, e.buf.len);
			e.batch = NULL;
			raft_fixture_add_entry(&c->f, i, &e);
		}
		if (n > 0)
			raft_free(entries[0].batch);
		raft_free(entries);
	}
	ck_assert_int_eq(raft_fixture_start(&c->f), 0);
	return c;
}

static bool barrier_done_flag;

static void barrier_done(struct raft_barrier *req, int status)
{
	(void)req;
	ck_assert_int_eq(status, 0);
	barrier_done_flag = true;
}

static bool barrier_done_fn(struct raft_fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	return barrier_done_flag;
}

START_TEST(test_raft_restart_all_from_disk)
{
	struct cluster *c = cluster_new(3, 4, 2);
	unsigned l = elect(c);
	struct proposal *p = NULL;
	for (unsigned k = 1; k <= 10; k++) {
		p = propose(c, l, create_cmd(k));
		wait_applied(c, ALL, p->index);
	}
	char *before = encode(c->fsm[0].state);
	assert_replicas_equal(c, ALL);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_ge(c->fsm[i].n_snapshots, 1);
		raft_fixture_kill(&c->f, i);
	}

	struct cluster *c2 = cluster_restart(c);
	l = elect(c2);
	/* A barrier commits in the new term, so every earlier entry is applied. */
	struct raft_barrier b;
	barrier_done_flag = false;
	ck_assert_int_eq(raft_barrier(raft_fixture_get(&c2->f, l), &b, barrier_done), 0);
	ck_assert(raft_fixture_step_until(&c2->f, barrier_done_fn, NULL, WAIT_MS));
	wait_applied(c2, ALL, raft_last_index(raft_fixture_get(&c2->f, l)));
	for (unsigned i = 0; i < 3; i++) {
		char *after = encode(c2->fsm[i].state);
		ck_assert_str_eq(after, before);
		free(after);
		ck_assert_uint_ge(c2->fsm[i].n_restores, 1); /* from the snapshot... */
		ck_assert_uint_ge(c2->fsm[i].n_applied, 1);  /* ...and the log after it */
	}
	p = propose(c2, l, create_cmd(11));
	wait_applied(c2, ALL, p->index);
	assert_replicas_equal(c2, ALL);
	ck_assert_uint_eq(c2->fsm[0].state->generation, 11);
	free(before);
	cluster_free(c);
	cluster_free(c2);
}
END_TEST

/* A follower that was down while the others compacted their logs catches
 * up from the leader's snapshot (InstallSnapshot), then from the log. */
START_TEST(test_raft_snapshot_install)
{
	struct cluster *c = cluster_new(3, 8, 4);
	unsigned l = elect(c), lagging = (l + 1) % 3;
	raft_fixture_kill(&c->f, lagging);
	struct proposal *p = NULL;
	for (unsigned k = 1; k <= 40; k++) {
		p = propose(c, l, create_cmd(k));
		if (k % 4 == 0)
			wait_applied(c, ALL, p->index);
	}
	wait_applied(c, ALL, p->index);
	ck_assert_uint_ge(c->fsm[l].n_snapshots, 3);
	ck_assert_uint_eq(c->fsm[lagging].state->generation, 0);

	raft_fixture_revive(&c->f, lagging);
	wait_applied(c, ALL, p->index);
	ck_assert_uint_ge(raft_fixture_n_recv(&c->f, lagging, RAFT_IO_INSTALL_SNAPSHOT), 1);
	ck_assert_uint_ge(c->fsm[lagging].n_restores, 1);
	assert_replicas_equal(c, ALL);
	ck_assert_uint_eq(c->fsm[lagging].state->generation, 40);

	/* and it keeps up with new writes through the log */
	p = propose(c, l, create_cmd(41));
	wait_applied(c, ALL, p->index);
	assert_replicas_equal(c, ALL);
	cluster_free(c);
}
END_TEST

/* ========================================================= the API's seam */

/* Every command action the API asks for is a command the state machine
 * reads from the log under that name (the manager writes SL_MGR_ACTIONS'
 * name as "op"), and no other action's name is one: a renamed command
 * would leave older members' logs unreadable. */
START_TEST(test_api_commands_are_log_ops)
{
#define ACTION_(id, kind, name) {kind, name},
	static const struct {
		enum sl_mgr_kind kind;
		const char *name;
	} actions[] = {SL_MGR_ACTIONS(ACTION_)};
#undef ACTION_
	struct sl_mgr_state *s = sl_mgr_state_new();
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		json_t *cmd = json_pack("{s:s}", "op", actions[i].name);
		struct sl_mgr_err err = {0};
		bool known = sl_mgr_validate(s, cmd, &err) == 0 ||
			     strstr(err.msg, "is not a command") == NULL;
		ck_assert_msg(known == (actions[i].kind == SL_MGR_KIND_COMMAND), "%s: %s",
			      actions[i].name, err.msg);
		json_decref(cmd);
	}
	sl_mgr_state_free(s);
}
END_TEST

/* A VIP found by its parsed key (the API's reads) is the one its key
 * object names; protocol, port and family all count. */
START_TEST(test_vip_find)
{
	struct sl_mgr_state *s = base_state();
	struct sl_mgr_vip k = {.family = SL_AF_INET6, .proto = SL_PROTO_UDP, .port = 53};
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::10", &k.addr), 1);
	ck_assert_ptr_eq(sl_mgr_vip_find(s, &k), vip_of(s, VB));
	ck_assert_ptr_nonnull(sl_mgr_vip_find(s, &k));
	k.port = 54;
	ck_assert_ptr_null(sl_mgr_vip_find(s, &k));
	k = (struct sl_mgr_vip){.family = SL_AF_INET, .proto = SL_PROTO_UDP, .port = 80};
	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.10", &k.addr), 1);
	ck_assert_ptr_eq(sl_mgr_vip_find(s, &k), vip_of(s, VC));
	k.proto = SL_PROTO_TCP;
	ck_assert_ptr_eq(sl_mgr_vip_find(s, &k), vip_of(s, VA));
	k.family = SL_AF_INET6;
	ck_assert_ptr_null(sl_mgr_vip_find(s, &k));
	sl_mgr_state_free(s);
}
END_TEST

/* ================================================================ main */

static Suite *manager_suite(void)
{
	Suite *s = suite_create("manager");
	TCase *tc = tcase_create("state");
	tcase_add_test(tc, test_empty_state);
	tcase_add_test(tc, test_canonical_bytes);
	tcase_add_test(tc, test_member_api);
	tcase_add_test(tc, test_tunnel_sources);
	tcase_add_test(tc, test_pops);
	tcase_add_test(tc, test_pops_refused);
	tcase_add_test(tc, test_tunnel_sources_all_or_nothing);
	tcase_add_test(tc, test_tunnel_sources_bootstrap_not_set);
	tcase_add_test(tc, test_bootstrap_in_steps);
	tcase_add_test(tc, test_tunnel_sources_decode_not_set);
	tcase_add_test(tc, test_tunnel_sources_unset);
	tcase_add_test(tc, test_tunnel_sources_to_config);
	tcase_add_test(tc, test_tunnel_sources_reloadable);
	tcase_add_test(tc, test_effective_weight);
	tcase_add_loop_test(tc, test_good_command, 0,
			    (int)(sizeof(good_cases) / sizeof(good_cases[0])));
	tcase_add_loop_test(tc, test_bad_command, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_batch_all_or_nothing);
	tcase_add_test(tc, test_copy_on_write);
	tcase_add_test(tc, test_update_keeps_health);
	tcase_add_test(tc, test_health_report_fans_out);
	tcase_add_test(tc, test_health_report_in_batch);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_determinism);
	tcase_add_test(tc, test_api_commands_are_log_ops);
	tcase_add_test(tc, test_vip_find);
	tcase_add_test(tc, test_agent_keys_random);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_decode_rejects, 0,
			    (int)(sizeof(decode_cases) / sizeof(decode_cases[0])));
	tcase_add_test(tc, test_decode_accepts);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_from_config);
	tcase_add_test(tc, test_to_config);
	tcase_add_test(tc, test_to_spec);
	tcase_add_test(tc, test_spec_revs);
	tcase_add_test(tc, test_agent_rule_moved_and_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("raft");
	tcase_add_loop_test(tc, test_raft_initial_election, 0, 2);
	tcase_add_test(tc, test_raft_reelection);
	tcase_add_test(tc, test_raft_follower_failure);
	tcase_add_test(tc, test_raft_no_quorum);
	tcase_add_test(tc, test_raft_concurrent_writes);
	tcase_add_test(tc, test_raft_large_command_not_parsed_twice);
	tcase_add_test(tc, test_raft_partitioned_leader);
	tcase_add_test(tc, test_raft_all_killed_and_revived);
	tcase_add_test(tc, test_raft_restart_all_from_disk);
	tcase_add_test(tc, test_raft_snapshot_install);
	tcase_add_test(tc, test_raft_new_leader_lags_its_log);
	tcase_add_test(tc, test_raft_confirm);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(manager_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
