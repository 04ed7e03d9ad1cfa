/* adapters/edi/edi_loan.h: buffers a streaming reader lends to the one
 * document it hands out at a time (lx_x12_scratch, lx_edifact_scratch),
 * not exported.
 *
 * Why: a document that allocates nothing large lets malloc reuse the
 * small chunks of the tree the caller freed just before, instead of
 * consolidating them all on the first large request (callgrind: a fifth
 * to a quarter of the instructions of reading with every tree built).
 * The reader and the borrowing document each hold a reference, so either
 * may go first; busy says whether the buffers are lent out. The document
 * may be used and destroyed on another thread than the reader's. */
#ifndef LX_ADAPTERS_EDI_EDI_LOAN_H
#define LX_ADAPTERS_EDI_EDI_LOAN_H

#include <stdatomic.h>

typedef struct lx_edi_loan {
    atomic_int refs;
    atomic_int busy;
} lx_edi_loan;

/* One reference (the reader's), nothing lent. */
static inline void lx_edi_loan_init(lx_edi_loan *l)
{
    atomic_init(&l->refs, 1);
    atomic_init(&l->busy, 0);
}

/* 1 when the buffers were free: they are now the borrower's, with a
 * reference; 0 when another document holds them. */
static inline int lx_edi_loan_take(lx_edi_loan *l)
{
    if (atomic_exchange_explicit(&l->busy, 1, memory_order_acquire) != 0)
        return 0;
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    return 1;
}

/* The borrower has put the buffers back; it still drops its reference
 * with lx_edi_loan_unref. */
static inline void lx_edi_loan_return(lx_edi_loan *l)
{
    atomic_store_explicit(&l->busy, 0, memory_order_release);
}

/* Drop a reference: 1 when it was the last (free the buffers then). */
static inline int lx_edi_loan_unref(lx_edi_loan *l)
{
    return atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1;
}

#endif
