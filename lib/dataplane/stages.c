#include "stage/stage.h"

/* Generated from lib/meson.build's sl_stages: registering a stage is
 * naming its folder there. */
const struct sl_stage *const sl_stages[SL_STAGE_COUNT] = {
#define SL_STAGE_REF(upper, lower) [SL_STAGE_##upper] = &sl_##lower##_stage,
	SL_STAGE_LIST(SL_STAGE_REF)
#undef SL_STAGE_REF
};
