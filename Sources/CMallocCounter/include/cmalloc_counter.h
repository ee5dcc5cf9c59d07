// Counts heap allocations of the whole process (Swift runtime, libvpx, libsrtp, ...), for
// the send-pipeline benchmark's allocations-per-frame figure. Linked into classbox-bench only.
#ifndef CLASSBOX_CMALLOC_COUNTER_H
#define CLASSBOX_CMALLOC_COUNTER_H
#include <stdint.h>

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) so far.
uint64_t cmalloc_counter_allocations(void);
#endif
