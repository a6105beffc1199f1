/* Version shims: every PG_VERSION_NUM difference lives here, nowhere else. */
#ifndef EV_COMPAT_H
#define EV_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(p) EmitWarningsOnPlaceholders(p)
#endif

#endif							/* EV_COMPAT_H */
