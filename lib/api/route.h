/*
 * Inside the API: routing and validation, from a method, a raw path and
 * a body to either a reply or a call for the manager. Free of the HTTP
 * server and of sockets, so tests and fuzzers can drive it with plain
 * buffers.
 */
#ifndef SLUICE_API_ROUTE_H
#define SLUICE_API_ROUTE_H

#include <jansson.h>
#include <stddef.h>

#include "api/api.h"

enum sl_api_next {
	SL_API_REPLY,  /* answer now with status and json */
	SL_API_SUBMIT, /* backend->submit(call, json) */
};

struct sl_api_outcome {
	enum sl_api_next next;
	int status;     /* SL_API_REPLY: HTTP status */
	json_t *json;   /* reply body, or the call's arguments (NULL for reads); owned by the caller */
	char allow[64]; /* 405: the Allow header's value, else "" */
	struct sl_api_call call; /* SL_API_SUBMIT: the route's action and the path's VIP */
};

/* Route one request. path is the raw request path as sent, NOT
 * percent-decoded, without the query: routing splits it on '/' and then
 * decodes each segment (RFC 3986: "%2F" is data, not a separator; a
 * malformed "%" escape or "%00" answers 400). query is what follows the
 * '?' (query_len 0: none). Local reads call
 * backend->get synchronously; writes and linearizable reads only build the
 * call (a read's action, with no arguments, for the latter). */
void sl_api_route(const struct sl_api_backend *backend, const char *method, size_t method_len,
		  const char *path, size_t path_len, const char *query, size_t query_len,
		  const char *body, size_t body_len, struct sl_api_outcome *out);

/* {"error": formatted message}, a new reference. */
json_t *sl_api_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reason phrase for an HTTP status ("Not Found"). */
const char *sl_api_reason(int status);

#endif
