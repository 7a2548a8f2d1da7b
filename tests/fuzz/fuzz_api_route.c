/*
 * libFuzzer target for the API's router (lib/api/routes.c): method, path,
 * query and body exactly as the HTTP server hands them over, from input
 * split at its first three newlines ("METHOD\nPATH\nQUERY\nBODY").
 *
 * Every request must end in one of two well-formed outcomes:
 *   - a reply: a status the API answers with and a JSON object body, with
 *     an "error" string for every status other than 200, and a non-empty
 *     Allow header for a 405;
 *   - a command for the backend: an object whose "op" is a string; a GET
 *     becomes a command only as a linearizable read ("op": "read").
 * The backend is a stub that serves one VIP, so reads reach the code that
 * merges freshness fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/route.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int stub_submit(void *ctx, json_t *cmd, sl_api_done_cb done, void *req)
{
	(void)ctx, (void)done, (void)req;
	json_decref(cmd);
	return -1;
}

static json_t *stub_get(void *ctx, const char *what, const char *key)
{
	(void)ctx;
	if (key != NULL && strcmp(key, "tcp/203.0.113.10/80") != 0)
		return NULL;
	if (strcmp(what, "vips") == 0)
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
	if (o.action == SL_API_REPLY) {
		check_reply(&o);
	} else {
		REQUIRE(o.action == SL_API_SUBMIT);
		const char *op = json_string_value(json_object_get(o.json, "op"));
		REQUIRE(op != NULL);
		if (method_len == 3 && memcmp(method, "GET", 3) == 0)
			REQUIRE(strcmp(op, "read") == 0);
	}
	json_decref(o.json);
	return 0;
}
