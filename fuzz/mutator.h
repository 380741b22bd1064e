/* A structure-aware libFuzzer mutator for .mender files (mutator.c). */
#ifndef AF_FUZZ_MUTATOR_H
#define AF_FUZZ_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

/* What LLVMFuzzerCustomMutator returns: the new size of data. */
size_t af_fuzz_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#endif
