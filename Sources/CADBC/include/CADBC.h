// The parts of the Arrow C data and stream interfaces and of the ADBC 1.1 C ABI that Backflow
// uses, declared from the two specifications. Drivers are loaded with dlopen, so nothing here is
// linked: only the layouts must match. Function slots Backflow never calls keep their place in
// `struct AdbcDriver` as plain pointers.
#ifndef BACKFLOW_CADBC_H
#define BACKFLOW_CADBC_H

#include <stddef.h>
#include <stdint.h>

// Arrow C data interface.
struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};

// Arrow C stream interface.
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};

// ADBC.
typedef uint8_t AdbcStatusCode;
#define BACKFLOW_ADBC_STATUS_OK 0
#define BACKFLOW_ADBC_STATUS_NOT_IMPLEMENTED 2
#define BACKFLOW_ADBC_VERSION_1_0_0 1000000
#define BACKFLOW_ADBC_VERSION_1_1_0 1001000
// A vendor code that tells a 1.1 driver the error has the two trailing 1.1 fields.
#define BACKFLOW_ADBC_ERROR_VENDOR_CODE_PRIVATE_DATA INT32_MIN

struct AdbcDriver;

struct AdbcError {
  char *message;
  int32_t vendor_code;
  char sqlstate[5];
  void (*release)(struct AdbcError *);
  void *private_data;
  struct AdbcDriver *private_driver;
};

struct AdbcDatabase {
  void *private_data;
  struct AdbcDriver *private_driver;
};

struct AdbcConnection {
  void *private_data;
  struct AdbcDriver *private_driver;
};

struct AdbcStatement {
  void *private_data;
  struct AdbcDriver *private_driver;
};

struct AdbcDriver {
  void *private_data;
  void *private_manager;
  AdbcStatusCode (*release)(struct AdbcDriver *, struct AdbcError *);

  AdbcStatusCode (*DatabaseInit)(struct AdbcDatabase *, struct AdbcError *);
  AdbcStatusCode (*DatabaseNew)(struct AdbcDatabase *, struct AdbcError *);
  AdbcStatusCode (*DatabaseSetOption)(struct AdbcDatabase *, const char *, const char *, struct AdbcError *);
  AdbcStatusCode (*DatabaseRelease)(struct AdbcDatabase *, struct AdbcError *);

  AdbcStatusCode (*ConnectionCommit)(struct AdbcConnection *, struct AdbcError *);
  void *ConnectionGetInfo;
  void *ConnectionGetObjects;
  void *ConnectionGetTableSchema;
  void *ConnectionGetTableTypes;
  AdbcStatusCode (*ConnectionInit)(struct AdbcConnection *, struct AdbcDatabase *, struct AdbcError *);
  AdbcStatusCode (*ConnectionNew)(struct AdbcConnection *, struct AdbcError *);
  AdbcStatusCode (*ConnectionSetOption)(struct AdbcConnection *, const char *, const char *, struct AdbcError *);
  void *ConnectionReadPartition;
  AdbcStatusCode (*ConnectionRelease)(struct AdbcConnection *, struct AdbcError *);
  AdbcStatusCode (*ConnectionRollback)(struct AdbcConnection *, struct AdbcError *);

  void *StatementBind;
  void *StatementBindStream;
  AdbcStatusCode (*StatementExecuteQuery)(struct AdbcStatement *, struct ArrowArrayStream *, int64_t *, struct AdbcError *);
  void *StatementExecutePartitions;
  void *StatementGetParameterSchema;
  AdbcStatusCode (*StatementNew)(struct AdbcConnection *, struct AdbcStatement *, struct AdbcError *);
  void *StatementPrepare;
  AdbcStatusCode (*StatementRelease)(struct AdbcStatement *, struct AdbcError *);
  void *StatementSetOption;
  AdbcStatusCode (*StatementSetSqlQuery)(struct AdbcStatement *, const char *, struct AdbcError *);
  void *StatementSetSubstraitPlan;

  // Added in 1.1; left NULL by a driver initialised as 1.0.
  void *ErrorGetDetailCount;
  void *ErrorGetDetail;
  void *ErrorFromArrayStream;
  void *DatabaseGetOption;
  void *DatabaseGetOptionBytes;
  void *DatabaseGetOptionDouble;
  void *DatabaseGetOptionInt;
  void *DatabaseSetOptionBytes;
  void *DatabaseSetOptionDouble;
  void *DatabaseSetOptionInt;
  void *ConnectionCancel;
  void *ConnectionGetOption;
  void *ConnectionGetOptionBytes;
  void *ConnectionGetOptionDouble;
  void *ConnectionGetOptionInt;
  void *ConnectionGetStatistics;
  void *ConnectionGetStatisticNames;
  void *ConnectionSetOptionBytes;
  void *ConnectionSetOptionDouble;
  void *ConnectionSetOptionInt;
  // The one call the specification lets another thread make while a statement runs.
  AdbcStatusCode (*StatementCancel)(struct AdbcStatement *, struct AdbcError *);
  void *StatementExecuteSchema;
  void *StatementGetOption;
  void *StatementGetOptionBytes;
  void *StatementGetOptionDouble;
  void *StatementGetOptionInt;
  void *StatementSetOptionBytes;
  void *StatementSetOptionDouble;
  void *StatementSetOptionInt;
};

/// Calls a driver's entry point (`AdbcDriverInit`, found with dlsym) for `version`.
AdbcStatusCode backflow_adbc_driver_init(void *entry_point, int version, struct AdbcDriver *driver,
                                         struct AdbcError *error);

#endif
