/*
 * libFuzzer target for the API's router (lib/api/routes.c): method, path,
 * query and body exactly as the HTTP server hands them over, from input
 * split at its first three newlines ("METHOD\nPATH\nQUERY\nBODY").
 *
 * Every request must end in one of two well-formed outcomes:
 *   - a reply: a status the API answers with and a JSON object body, with
 *     an "error" string for every status other than 200, and a non-empty
 *     Allow header for a 405;
 *   - a call for the backend: an action of the list, a success status of
 *     200 (201 for creates), an object of arguments (none for a read) and,
 *     when the path names a VIP, its parsed key agreeing with its text; a
 *     GET becomes a call only as a linearizable read.
 * The backend is a stub that serves one VIP, so reads reach the code that
 * merges freshness fields.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/route.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int stub_submit(void *ctx, const struct sl_api_call *call, json_t *args,
		       sl_api_done_cb done, void *req)
{
	(void)ctx, (void)call, (void)done, (void)req;
	json_decref(args);
	return -1;
}

static json_t *stub_get(void *ctx, const struct sl_api_call *call)
{
	(void)ctx;
	REQUIRE(sl_mgr_action_kind(call->action) == SL_MGR_KIND_READ);
	if (call->has_vip && strcmp(call->vip.text, "tcp/203.0.113.10/80") != 0)
		return NULL;
	if (call->action == SL_MGR_READ_VIPS)
		return json_pack("{s:[]}", "vips");
	return json_pack("{s:[]}", "dips");
}

static json_t *stub_freshness(void *ctx)
{
	(void)ctx;
	return json_pack("{s:s, s:i}", "consistency", "local", "applied_index", 1);
}

static const struct sl_api_backend backend = {NULL, stub_submit, stub_get, stub_freshness};

/* The next newline-terminated field of [*p, end); the rest when none. */
static const char *field(const char **p, const char *end, size_t *len)
{
	const char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
	*len = (size_t)((nl ? nl : end) - start);
	*p = nl ? nl + 1 : end;
	return start;
}

/* A parsed path VIP agrees with its text: family, protocol and port. */
static void check_vip(const struct sl_api_vip_key *k)
{
	REQUIRE(k->family == 4 || k->family == 6);
	REQUIRE(k->proto == 6 || k->proto == 17);
	REQUIRE(k->port >= 1);
	REQUIRE(strncmp(k->text, k->proto == 6 ? "tcp/" : "udp/", 4) == 0);
	REQUIRE((strchr(k->text + 4, ':') != NULL) == (k->family == 6));
}

static void check_call(const struct sl_api_outcome *o, bool get)
{
	const struct sl_api_call *c = &o->call;
	bool read;
	REQUIRE((unsigned)c->action < SL_MGR_NB_ACTIONS);
	read = sl_mgr_action_kind(c->action) == SL_MGR_KIND_READ;
	REQUIRE(read ? o->json == NULL : json_is_object(o->json));
	REQUIRE(c->ok_status == 200 ||
		(c->ok_status == 201 && (c->action == SL_MGR_VIP_CREATE || c->action == SL_MGR_DIP_ADD)));
	if (get)
		REQUIRE(read);
	if (c->has_vip)
		check_vip(&c->vip);
}

static void check_reply(const struct sl_api_outcome *o)
{
	REQUIRE(o->status == 200 || (o->status >= 400 && o->status <= 599));
	REQUIRE(json_is_object(o->json));
	if (o->status != 200)
		REQUIRE(json_is_string(json_object_get(o->json, "error")));
	if (o->status == 405)
		REQUIRE(o->allow[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	size_t method_len, path_len, query_len;
	const char *method = field(&p, end, &method_len);
	const char *path = field(&p, end, &path_len);
	const char *query = field(&p, end, &query_len);
	struct sl_api_outcome o;

	sl_api_route(&backend, method, method_len, path, path_len, query, query_len, p, (size_t)(end - p), &o);
	if (o.next == SL_API_REPLY) {
		check_reply(&o);
	} else {
		REQUIRE(o.next == SL_API_SUBMIT);
		check_call(&o, method_len == 3 && memcmp(method, "GET", 3) == 0);
	}
	json_decref(o.json);
	return 0;
}
