/* Shared by the fuzz targets: a broken property is a crash, so libFuzzer
 * saves the input that broke it. */
#ifndef SLUICE_FUZZ_REQUIRE_H
#define SLUICE_FUZZ_REQUIRE_H

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#endif
