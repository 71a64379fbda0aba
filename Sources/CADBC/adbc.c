#include "CADBC.h"

typedef AdbcStatusCode (*backflow_adbc_init_function)(int, void *, struct AdbcError *);

// Swift cannot call a pointer dlsym returned without a cast to a C function type; this is it.
AdbcStatusCode backflow_adbc_driver_init(void *entry_point, int version, struct AdbcDriver *driver,
                                         struct AdbcError *error) {
  return ((backflow_adbc_init_function)entry_point)(version, driver, error);
}
