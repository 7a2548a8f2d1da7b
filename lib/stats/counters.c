#include <string.h>

#include "stats/counters.h"

static const char *const counter_names[SL_C_MAX] = {
#define SL_X_NAME(e, n, d) [SL_C_##e] = #n,
	SL_COUNTERS(SL_X_NAME)
#undef SL_X_NAME
};
static const char *const counter_help[SL_C_MAX] = {
#define SL_X_HELP(e, n, d) [SL_C_##e] = d,
	SL_COUNTERS(SL_X_HELP)
#undef SL_X_HELP
};
static const char *const drop_names[SL_DROP_MAX] = {
	[SL_DROP_NONE] = "none",
#define SL_X_NAME(e, n, d) [SL_DROP_##e] = #n,
	SL_DROPS(SL_X_NAME)
#undef SL_X_NAME
};
static const char *const drop_help[SL_DROP_MAX] = {
	[SL_DROP_NONE] = "not dropped",
#define SL_X_HELP(e, n, d) [SL_DROP_##e] = d,
	SL_DROPS(SL_X_HELP)
#undef SL_X_HELP
};

const char *sl_counter_name(enum sl_counter c) { return c < SL_C_MAX ? counter_names[c] : "?"; }
const char *sl_counter_help(enum sl_counter c) { return c < SL_C_MAX ? counter_help[c] : "?"; }
const char *sl_drop_name(enum sl_drop d) { return d < SL_DROP_MAX ? drop_names[d] : "?"; }
const char *sl_drop_help(enum sl_drop d) { return d < SL_DROP_MAX ? drop_help[d] : "?"; }

void sl_stats_sum(const struct sl_stats *const *blocks, unsigned n, struct sl_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n; i++) {
		for (unsigned c = 0; c < SL_C_MAX; c++)
			out->c[c] += __atomic_load_n(&blocks[i]->c[c], __ATOMIC_RELAXED);
		for (unsigned d = 0; d < SL_DROP_MAX; d++)
			out->drop[d] += __atomic_load_n(&blocks[i]->drop[d], __ATOMIC_RELAXED);
	}
}
