/* adapters/transport/filedrop.h: a crash-safe inbox directory for
 * file-based adapters (EDI X12 and EDIFACT interchanges, batch files).
 *
 * One thread per inbox watches `dir` (inotify on Linux for prompt
 * wake-ups, and a rescan every poll_ms in any case) and hands each
 * finished file to the handler, one at a time, in byte-wise name order
 * (strcmp) among the files that are ready at that look. Layout:
 *   dir/            senders drop files here
 *   dir/processing/ the file being handled (claimed by rename)
 *   dir/done/       handled files, as "<name>.<ULID>"
 *   dir/error/      refused files, as "<name>.<ULID>", each with a report
 *                   "<name>.<ULID>.err" (time, file, size, error code,
 *                   where, line, column, offset, message; never content)
 * The three subdirectories are created (0750) at start. They are inside
 * dir, so every move is a rename on one filesystem (atomic).
 *
 * Sender contract: write ".<name>.tmp" (or any name starting with '.', or
 * ending with ".tmp" or ".part") in dir, close it, then rename it to its
 * final name. Such names are never touched. As a fallback for senders that
 * cannot rename, a file is also taken when inotify saw it closed after
 * writing, or when its size and mtime did not change between two looks
 * poll_ms apart; a sender that pauses longer than that mid-file will have
 * a partial file taken, so use the rename. Only regular files are taken;
 * names longer than LX_FILEDROP_FILE_MAX bytes go straight to error/ (cut
 * to that length) without calling the handler.
 *
 * Crash safety: a file is never lost, and its outcome is recorded exactly
 * once. For each file the store's state holds "filedrop/<name>/<file>":
 *   1. rename dir/<file> -> processing/<file>, fsync both directories;
 *   2. state = "started" (durable), read the file, call the handler;
 *   3. success: state = "done", rename to done/, fsync, delete the state;
 *      failure: state = "failed\n" + the error as JSON, write the report,
 *      rename to error/, fsync, delete the state.
 * At start, before looking at dir, every file left in processing/ is
 * finished according to its state: "done" -> moved to done/ without calling
 * the handler; "failed" -> report written from the stored error and moved
 * to error/ without calling the handler; "started" or no state -> handled
 * again from step 2. State entries of this inbox whose file is no longer in
 * processing/ are deleted. The handler is therefore called at least once
 * per file, and more than once only for a file whose handling was cut by a
 * crash between steps 2 and 3: handlers must be idempotent. Handlers that
 * upsert into the canonical store are: an upsert with the same content as
 * the current version makes no version and no event. A handler with other
 * side effects (outbound acknowledgements, control numbers) must key them
 * on the file (the name and content) to stay idempotent.
 *
 * If the store cannot record "started", the file is put back into dir and
 * retried at a later look; the handler is not called.
 *
 * One inbox per directory: two inboxes (or processes) on one dir are not
 * supported. */
#ifndef LX_ADAPTERS_TRANSPORT_FILEDROP_H
#define LX_ADAPTERS_TRANSPORT_FILEDROP_H

#include "canonical/store.h"
#include "core/error.h"

#include <stddef.h>

typedef struct lx_filedrop lx_filedrop;

/* Longest inbox file name handled (the state key must fit
 * LX_STORE_KEY_MAX with "filedrop/<name>/"). */
#define LX_FILEDROP_FILE_MAX 120

/* Most files considered at one look; the rest wait for the next. */
#define LX_FILEDROP_SCAN_MAX 4096

#define LX_FILEDROP_POLL_MS_DEFAULT 1000
#define LX_FILEDROP_MAX_FILE_SIZE_DEFAULT ((size_t)64 * 1024 * 1024)

/* Handle one file. `path` is its current path (in processing/), `data`
 * its content, NUL-terminated (data[len] == 0), `len` its size; all are
 * valid during the call only. Return 0 when the file has been fully taken
 * in, or an LX_E* code with err filled (its where/line/column locate the
 * problem in the file; they go into the .err report). Called on the inbox
 * thread, never concurrently for one inbox. Must be idempotent (see
 * above). */
typedef int (*lx_filedrop_fn)(void *ctx, const char *path, const char *data,
                              size_t len, lx_error *err);

typedef struct lx_filedrop_options {
    const char *dir;      /* required: the inbox directory (must exist) */
    lx_store *store;      /* required: for the crash-safety state */
    const char *name;     /* required: instance name, 1..LX_STORE_NAME_MAX
                             bytes of [A-Za-z0-9._-] ("edi-in") */
    unsigned poll_ms;     /* rescan interval (default 1000) */
    size_t max_file_size; /* bigger files go to error/ with LX_ELIMIT
                             (default 64 MiB) */
    lx_filedrop_fn handler; /* required */
    void *ctx;            /* passed to handler */
} lx_filedrop_options;

/* Create the subdirectories and start the inbox thread, which first
 * recovers processing/ (see above), then watches dir. Strings in opts are
 * copied; the store must outlive the inbox. Errors: LX_EINVAL (options),
 * LX_EIO (dir missing or subdirectories not creatable; lib_code = errno).
 * *out is NULL on error. */
LX_NODISCARD int lx_filedrop_start(const lx_filedrop_options *opts,
                                   lx_filedrop **out, lx_error *err);

/* Stop: wait for the file being handled (if any) to finish, stop the
 * thread, free everything. NULL is fine; *fd is set to NULL. Must not be
 * called from the handler. */
void lx_filedrop_stop(lx_filedrop **fd);

#endif
