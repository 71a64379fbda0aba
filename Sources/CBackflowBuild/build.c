// `make release` writes backflow_build.h (defining BACKFLOW_BUILD_COMMIT) into its scratch path
// and adds that directory with -Xcc -I, so the commit is baked in at build time. Any other build
// finds no such header and the commit stays unknown.
#include "CBackflowBuild.h"

#if __has_include(<backflow_build.h>)
#include <backflow_build.h>
#endif

#ifndef BACKFLOW_BUILD_COMMIT
#define BACKFLOW_BUILD_COMMIT ""
#endif

const char *backflow_build_commit(void) { return BACKFLOW_BUILD_COMMIT; }
