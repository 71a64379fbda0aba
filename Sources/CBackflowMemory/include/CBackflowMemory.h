#ifndef C_BACKFLOW_MEMORY_H
#define C_BACKFLOW_MEMORY_H

/// Hands the allocator's free pages back to the system (glibc's malloc_trim); does nothing where
/// the C library has no such call.
void backflow_release_free_memory(void);

#endif
