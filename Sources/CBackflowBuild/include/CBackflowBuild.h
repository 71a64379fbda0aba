#ifndef C_BACKFLOW_BUILD_H
#define C_BACKFLOW_BUILD_H

/// The git commit this binary was built from, or "" when the build did not say (a plain `swift build`).
const char *backflow_build_commit(void);

#endif
