#ifndef CPD_CLIBPQ_SHIM_H
#define CPD_CLIBPQ_SHIM_H
// libpq's whole API is plain C that Swift calls directly; this header only pulls it in.
// pg_config --includedir is /usr/include/postgresql on Debian, which pkg-config supplies.
#include <libpq-fe.h>
#endif
