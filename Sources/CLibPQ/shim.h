// libpq's header lives outside the default include path on Debian (/usr/include/postgresql) and
// Homebrew; `pkg-config libpq` supplies the -I flag through the systemLibrary target.
#include <libpq-fe.h>
