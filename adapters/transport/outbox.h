/* adapters/transport/outbox.h: atomic file output for file-based adapters
 * (EDI interchanges to a partner's pickup directory, reports).
 *
 * A file appears in the outbox directory whole or not at all:
 *   1. the data is written to a hidden temp file in the same directory,
 *      ".<base_name>.<ULID>.tmp" (created exclusively, mode 0640);
 *   2. the temp file is fsync'd and closed;
 *   3. it is hard-linked to its final name, which fails instead of
 *      replacing an existing file; on a collision the next name is tried:
 *      "850.x12" -> "850.1.x12" -> "850.2.x12" ... (the counter goes before
 *      the last extension, so pickup patterns like "*.x12" still match);
 *   4. the temp name is removed and the directory is fsync'd, so the final
 *      name survives a crash once the call returns.
 * A crash part-way leaves at most a hidden ".*.tmp" file, never a visible
 * partial one; such leftovers may be deleted by an operator at any time.
 *
 * Receiver contract: pick up only names that do not start with '.'; a
 * visible file is complete and is never rewritten by the hub.
 *
 * The directory must be on a filesystem with hard links (any POSIX local
 * filesystem, NFS). Thread-safe: any number of threads and processes may
 * write to the same directory, even with the same base name; every call
 * gets a distinct final name. */
#ifndef LX_ADAPTERS_TRANSPORT_OUTBOX_H
#define LX_ADAPTERS_TRANSPORT_OUTBOX_H

#include "core/error.h"

#include <stddef.h>

/* Longest base name accepted, bytes (the temp and counter suffixes must
 * still fit in NAME_MAX). */
#define LX_OUTBOX_NAME_MAX 200

/* Collision counter ceiling: past "<stem>.<max><ext>" the write fails. */
#define LX_OUTBOX_COLLISIONS_MAX 10000

/* Write data[0..len) to dir as base_name (or its first free variant, see
 * above), atomically and durably. base_name must be a plain file name:
 * 1..LX_OUTBOX_NAME_MAX bytes, no '/', not starting with '.', not ending
 * with ".tmp" or ".part" (receivers ignore those). On success the final
 * path ("<dir>/<name>") is written to path[0..path_size) when path is not
 * NULL; on error path is "" and nothing visible was created.
 * Errors: LX_EINVAL (names, path_size too small), LX_EIO (lib_code =
 * errno; err->where is the directory), LX_ECONFLICT (collisions past
 * LX_OUTBOX_COLLISIONS_MAX). */
LX_NODISCARD int lx_outbox_write(const char *dir, const char *base_name,
                                 const void *data, size_t len, char *path,
                                 size_t path_size, lx_error *err);

/* fsync a directory so that the renames and links in it are durable.
 * Errors: LX_EIO (lib_code = errno). Shared with the inbox. */
LX_NODISCARD int lx_outbox_sync_dir(const char *dir, lx_error *err);

#endif
