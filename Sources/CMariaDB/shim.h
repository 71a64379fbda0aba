// MariaDB Connector/C keeps its headers in /usr/include/mariadb on Debian (and under Homebrew's
// prefix); `pkg-config libmariadb` supplies the -I flag through the systemLibrary target.
#include <mysql.h>
// CR_* client error codes (2006 server gone, 2013 lost, 2014 commands out of sync).
#include <errmsg.h>
