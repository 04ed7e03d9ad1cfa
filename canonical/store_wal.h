/* canonical/store_wal.h: the store's write-ahead log (private to the
 * store; see docs/store.md for the design and the power-loss reasoning).
 *
 * <dir>/store/wal holds two header slots and a ring of groups:
 *   [slot 0: 64 KiB][slot 1: 64 KiB][ring: area_size bytes]
 * A slot is the last checkpoint: the LMDB transaction it covers, copies of
 * both LMDB meta pages as they were when it was taken, where the ring's
 * first group still needed starts, the boot and data file it was written
 * on, and whether the store was closed cleanly. Slots alternate and carry
 * a generation and a CRC32C, so a torn slot write leaves the other one.
 * A group is one committed LMDB write transaction, opaque bytes to this
 * module: header (epoch, sequence, LMDB txn id, length), payload, CRC32C
 * and an end marker. A group that is torn or was never completely written
 * fails its CRC and ends the log.
 *
 * <dir>/store/wal-base holds the same kind of slot pair, written by a
 * process that writes the store while another one owns the log (the CLI
 * next to a running hub): after each of its fully synced commits it
 * records that transaction as a durable baseline, so a recovery never
 * rolls back below it.
 *
 * Ownership: one process owns the log (an OFD write lock on its first
 * byte, released when the file is closed or the process dies). Threads:
 * lx_wal_append/lx_wal_sync on one thread, lx_wal_checkpoint on another;
 * the rest before those threads start or after they stop. */
#ifndef LX_CANONICAL_STORE_WAL_H
#define LX_CANONICAL_STORE_WAL_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct lx_wal lx_wal;

#define LX_WAL_PAGE_MAX 16384 /* LMDB page sizes the slots can hold */
#define LX_WAL_AREA_DEFAULT ((size_t)64 << 20)
#define LX_WAL_AREA_MIN ((size_t)1 << 20)

/* Open (creating when `create`) <store_dir>/wal and try to own it. A
 * missing log with !create: *out = NULL, 0. *is_owner says whether this
 * process owns it; a non-owner may only call lx_wal_close.
 * Errors: LX_EIO, LX_ESTORE (not a log, or an unknown version). */
LX_NODISCARD int lx_wal_open(const char *store_dir, bool create,
                             lx_wal **out, bool *is_owner, lx_error *err);
void lx_wal_close(lx_wal **w);

/* The data file's identity: a log written on the same boot for the same
 * data.mdb inode lost nothing that the page cache held. */
typedef struct lx_wal_origin {
    char boot_id[40];
    uint64_t dev, ino;
} lx_wal_origin;
void lx_wal_origin_of(const char *data_path, lx_wal_origin *out);

/* After open, before anything else: whether the last owner closed the
 * store cleanly, and the origin it recorded. */
bool lx_wal_is_clean(const lx_wal *w);
bool lx_wal_same_origin(const lx_wal *w, const lx_wal_origin *o);

/* The newest durable baseline: the header's checkpoint or a newer one in
 * wal-base. *metas points to 2 * *page_size bytes owned by w (valid until
 * the next call on w). Returns false when there is none (a new log). */
bool lx_wal_baseline(lx_wal *w, const char *store_dir, uint64_t *txnid,
                     const uint8_t **metas, size_t *page_size);

/* Call fn for each complete group after the checkpoint whose txn id is
 * above after_txnid, in order, until fn returns non-zero (returned).
 * Stops at the first torn or missing group. */
typedef int (*lx_wal_group_fn)(void *ctx, uint64_t txnid,
                               const uint8_t *payload, size_t len);
int lx_wal_replay(lx_wal *w, uint64_t after_txnid, lx_wal_group_fn fn,
                  void *ctx);

/* Make the ring area_size bytes long, zero-filled (so later writes change
 * no file metadata). Only while nothing is logged after the checkpoint
 * (right after a checkpoint at open). Errors: LX_EIO. */
LX_NODISCARD int lx_wal_prepare_area(lx_wal *w, size_t area_size,
                                     lx_error *err);

/* Write a group at the head of the ring (not synced). Returns 0,
 * LX_EFULL when the ring has no room for it until a checkpoint frees
 * some, LX_EIO. */
int lx_wal_append(lx_wal *w, uint64_t txnid, const void *payload,
                  size_t len, lx_error *err);
/* fdatasync the log. Errors: LX_EIO. */
int lx_wal_sync(lx_wal *w, lx_error *err);
/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
struct timespec;
void lx_wal_deadline(struct timespec *until, unsigned ms);
/* Wait until a checkpoint newer than the one in place completes, or
 * timeout_ms passes. */
void lx_wal_wait_checkpoint(lx_wal *w, unsigned timeout_ms);
/* Bytes logged since the last checkpoint. */
size_t lx_wal_pending(lx_wal *w);
/* The txn id of the last checkpoint. */
uint64_t lx_wal_checkpoint_txnid(lx_wal *w);

/* Record a checkpoint: LMDB is durable up to txnid, whose meta pages are
 * metas (2 * page_size bytes, read before the sync that made txnid
 * durable). Groups with a txn id up to txnid are dropped from the ring.
 * `clean`: nothing will be logged after it (close, or a mode that does
 * not log). Errors: LX_EIO. */
LX_NODISCARD int lx_wal_checkpoint(lx_wal *w, uint64_t txnid,
                                   const uint8_t *metas, size_t page_size,
                                   const lx_wal_origin *origin, bool clean,
                                   lx_error *err);

/* Non-owner: record a durable baseline in <store_dir>/wal-base.
 * Errors: LX_EIO. */
LX_NODISCARD int lx_wal_base_write(const char *store_dir, uint64_t txnid,
                                   const uint8_t *metas, size_t page_size,
                                   lx_error *err);

/* Read-only opens: whether the log at store_dir says LMDB may hold pages
 * a power loss left inconsistent (dirty, written on another boot or data
 * file, and no owner alive to have recovered it). */
bool lx_wal_needs_recovery(const char *store_dir, const lx_wal_origin *o);

/* CRC32C (Castagnoli) of buf, continuing from crc (0 to start); with the
 * CPU's crc32 instruction where it has one (x86-64 SSE 4.2). */
uint32_t lx_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same by table only (for tests: both must agree). */
uint32_t lx_crc32c_portable(uint32_t crc, const void *buf, size_t len);

/* For tests: the position (file offset) and total length of the last
 * complete group after the checkpoint; false when there is none. */
bool lx_wal_last_group(lx_wal *w, off_t *offset, size_t *len);

#endif
