/*
 * Token buckets for the data path's rate limits: ICMP errors sluice sends
 * or passes on, and the exception path in both directions. Refilled every
 * millisecond on a 32-bit clock (wrap-safe: only differences are used),
 * counted in thousandths of a token so that any rate per second works.
 * Header-only: called per packet on the worker path.
 */
#ifndef SLUICE_EXCEPTION_RATE_H
#define SLUICE_EXCEPTION_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define SL_RATE_MAX_BURST 1000000u /* keeps burst * 1000 in 32 bits */

/* Zeroed, a bucket starts full at its first use (a clock far from 0). */
struct sl_token_bucket {
	uint32_t milli;     /* thousandths of a token */
	uint32_t refill_ms;
};

/* Take one token: per_s tokens come back every second, at most burst
 * (<= SL_RATE_MAX_BURST) are kept. False (nothing taken) when empty. */
static inline bool sl_rate_take(struct sl_token_bucket *b, uint32_t per_s, uint32_t burst, uint32_t now_ms)
{
	uint32_t elapsed = now_ms - b->refill_ms;
	if (elapsed > 0) {
		uint64_t t = (uint64_t)b->milli + (uint64_t)elapsed * per_s; /* per_s / 1000 tokens a ms */
		uint64_t cap = (uint64_t)burst * 1000;
		b->milli = (uint32_t)(t > cap ? cap : t);
		b->refill_ms = now_ms;
	}
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

#endif
