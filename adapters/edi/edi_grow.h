/* adapters/edi/edi_grow.h: the growable arrays of the EDI parsers' compact
 * forms (x12_int.h, edifact_int.h), not exported. */
#ifndef LX_ADAPTERS_EDI_EDI_GROW_H
#define LX_ADAPTERS_EDI_EDI_GROW_H

#include "core/mem.h"

/* Make room for one more item in arr[count], doubling cap (from 64).
 * Out of memory aborts in lx_xrealloc; the parsers' input ceilings bound
 * count. */
#define LX_EDI_GROW(arr, count, cap)                                        \
    do {                                                                    \
        if ((count) == (cap)) {                                             \
            (cap) = (cap) ? (cap) * 2 : 64;                                 \
            (arr) = lx_xrealloc((arr), (cap) * sizeof(*(arr)));             \
        }                                                                   \
    } while (0)

#endif
