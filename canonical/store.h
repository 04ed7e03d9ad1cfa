/* canonical/store.h: the canonical store on LMDB.
 *
 * One LMDB environment under the data directory holds, in named databases:
 *   records  "<entity>/<canonical id>"            -> current version
 *                                                     (header and hash)
 *   history  "<entity>/<canonical id>" 0 u64be(v)  -> every version: its
 *                                                     metadata and text
 *   xref     "<system>" 0 "<native type>" 0 "<native id>" -> entity 0 id
 *   xrev     "<entity>/<id>" 0 "<system>" 0 "<native type>" -> native id
 *   ident    entity 0 system 0 value (hashed when long) -> canonical id
 *   events   u64be(seq)                            -> event JSON (its
 *                                                     record from history)
 *   cursors  "<name>"                              -> u64be(seq)
 *   meta     "format"                              -> "1"
 *   state    "<key>"                               -> the hub's bookkeeping
 *                                                     (dead letters, ...)
 * Every value starts with a format byte (1) and numbers are big-endian, so
 * the file is portable and can be migrated. A record's text is stored once,
 * in its history entry: durable commits cost what they write.
 *
 * Writes go through one writer thread (the only LMDB write transaction in
 * the process). Callers submit upserts; the writer drains the queue, applies
 * up to max_batch of them in ONE transaction with ONE fsync (group commit),
 * and completes each caller only after the commit is durable. An upsert
 * whose content hash equals the current version's changes nothing: no
 * version, no event. The map grows by itself when full, up to
 * max_map_size; past that (or on a full disk) writes fail with LX_EFULL and
 * the store stays consistent.
 *
 * Reads (get, history, xref, events) run in their own read-only
 * transactions on the calling thread and are safe from any thread. */
#ifndef LX_CANONICAL_STORE_H
#define LX_CANONICAL_STORE_H

#include "core/error.h"
#include "core/hash.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lx_store lx_store;

#define LX_STORE_NAME_MAX 64      /* entity, system, native type, adapter */
#define LX_STORE_NATIVE_ID_MAX 256
#define LX_STORE_ID_SIZE 48       /* "per_" + ULID + NUL fits easily */

/* How a durable commit is made (docs/store.md). */
typedef enum lx_store_durability {
    /* Default. Each group commit is appended to <dir>/store/wal and that
     * log is synced (one sequential write); LMDB itself is synced by
     * checkpoints in the background, and a recovery at open replays the
     * log after a power loss. */
    LX_STORE_DURABILITY_WAL = 0,
    /* LMDB syncs every commit's pages itself (MDB_NOMETASYNC): slower,
     * no log. */
    LX_STORE_DURABILITY_LMDB = 1
} lx_store_durability;

typedef struct lx_store_options {
    const char *dir;     /* data directory; created (0700) when missing */
    size_t map_size;     /* initial map size, bytes (default 64 MiB) */
    size_t max_map_size; /* growth ceiling, bytes (default 1 TiB) */
    bool no_sync;        /* MDB_NOSYNC, no log: for benchmarks and tests */
    size_t max_batch;    /* upserts per commit (default 1024) */
    bool read_only;      /* open for reading only: no writer thread */
    bool traces;         /* keep a trace step of every change (see
                            lx_store_trace_get) */
    lx_store_durability durability; /* unless no_sync (default WAL) */
    size_t wal_size;        /* bytes of the log's ring (default 64 MiB,
                               at least 1 MiB) */
    unsigned checkpoint_ms; /* WAL: checkpoint interval (default 1000) */
} lx_store_options;

/* Open (creating if needed) the store in opts->dir. Starts the writer
 * thread unless read_only. Errors: LX_EIO (directory), LX_ESTORE (LMDB,
 * lib_code = the MDB error), LX_EUNSUPPORTED (unknown format). */
LX_NODISCARD int lx_store_open(const lx_store_options *opts, lx_store **out,
                               lx_error *err);

/* Complete pending writes, stop the writer, close. NULL is fine; *s is set
 * to NULL. No submit may race with close. */
void lx_store_close(lx_store **s);

/* ---- writes ---- */

typedef enum lx_store_op {
    LX_STORE_UPSERT = 0,
    LX_STORE_DELETE = 1
} lx_store_op;

/* One canonical change. Strings are borrowed for the duration of
 * lx_store_submit only (it copies what it needs). */
typedef struct lx_upsert {
    lx_store_op op;
    const char *entity;       /* required: "person" */
    const char *system;       /* required: source system ("hr") */
    const char *adapter;      /* adapter instance, may be NULL */
    const char *native_type;  /* may be NULL: defaults to entity */
    const char *native_id;    /* may be NULL: match by identifiers only */
    const char *canonical_id; /* may be NULL: explicit target record */
    const char *trace;        /* may be NULL: a new ULID is used */
    const json_t *record;     /* required for upserts, ignored for deletes;
                                 must already be schema-valid */
    const char *note;         /* may be NULL: a JSON object describing how
                                 the message arrived ({"transport": "http",
                                 "bytes": 2918, "format": "json", "map":
                                 "fhir-r4/patient"}), kept in its trace */
} lx_upsert;

typedef struct lx_upsert_result {
    int code;                 /* 0 or LX_E* (details in err) */
    lx_error err;
    char canonical_id[LX_STORE_ID_SIZE];
    char trace[32];
    uint64_t version;         /* the current version after the write */
    uint64_t seq;             /* event sequence, 0 when unchanged */
    bool created;             /* a new canonical record */
    bool unchanged;           /* same content hash: nothing written */
} lx_upsert_result;

/* Completion, called on one of the store's threads (its completer, or the
 * log thread whose sync made the commit durable) after the commit is
 * durable (or failed), one call at a time, in commit order. Must not
 * block for long and must not wait for another write. `res` is valid
 * during the call only. */
typedef void (*lx_store_done_fn)(void *ctx, const lx_upsert_result *res);

/* Queue one change. Serializes and hashes the record on the calling thread
 * (so that work runs in parallel across callers), then returns; `done` is
 * called exactly once, later, unless this returns an error. Errors
 * (nothing queued, done not called): LX_EINVAL (missing or over-long names,
 * no record), LX_ECLOSED (store closing or read-only). Thread-safe. */
LX_NODISCARD int lx_store_submit(lx_store *s, const lx_upsert *u,
                                 lx_store_done_fn done, void *ctx,
                                 lx_error *err);

/* Submit and wait for the durable commit. Returns res->code. */
int lx_store_upsert(lx_store *s, const lx_upsert *u, lx_upsert_result *res);

/* ---- groups: all or nothing ---- */

#define LX_STORE_GROUP_MAX 1000

/* Completion of a group: results[i] answers u[i]. When one change fails,
 * none is applied: that one carries its error, the others LX_ECONFLICT
 * ("not applied: change N of the group failed"). Called like done. */
typedef void (*lx_store_group_done_fn)(void *ctx,
                                       const lx_upsert_result *results,
                                       size_t n);

/* Queue n changes (1..LX_STORE_GROUP_MAX) to be applied in one
 * transaction, all or none (a FHIR transaction Bundle). Same rules as
 * lx_store_submit; a malformed change refuses the whole group (err names
 * its index). */
LX_NODISCARD int lx_store_submit_group(lx_store *s, const lx_upsert *u,
                                       size_t n, lx_store_group_done_fn done,
                                       void *ctx, lx_error *err);

/* Submit a group and wait. results has n entries. Returns 0 when all were
 * applied, else the code of the change that failed (err says which). */
int lx_store_upsert_group(lx_store *s, const lx_upsert *u, size_t n,
                          lx_upsert_result *results, lx_error *err);

/* Called like lx_store_done_fn (one call at a time, on a store thread)
 * after each durable commit, once per new event in sequence order. `event` (JSON text, NUL-terminated) is valid for
 * the duration of the call. Set before the first submit. */
typedef void (*lx_store_event_fn)(void *ctx, uint64_t seq, const char *topic,
                                  const char *event, size_t len);
void lx_store_set_event_hook(lx_store *s, lx_store_event_fn fn, void *ctx);

/* Durably set a named cursor (for delivery engines and subscribers).
 * Goes through the writer. Errors: LX_EINVAL, LX_ESTORE, LX_EFULL. */
LX_NODISCARD int lx_store_cursor_set(lx_store *s, const char *name,
                                     uint64_t seq, lx_error *err);

/* Durably link a native id to an existing canonical record (both
 * directions): an outbound adapter records the id a target system gave
 * the record, so later changes update the same target resource. No
 * version, no event. Goes through the writer. Errors: LX_EINVAL (names),
 * LX_ENOTFOUND (no such record), LX_ESTORE, LX_EFULL. */
LX_NODISCARD int lx_store_xref_link(lx_store *s, const char *entity,
                                    const char *id, const char *system,
                                    const char *native_type,
                                    const char *native_id, lx_error *err);

/* ---- state: small named records of the hub's own ----
 * Dead letters, replay requests and similar bookkeeping, under keys like
 * "dlq/<instance>/<seq>". Writes go through the writer (durable when they
 * return); they make no version and no event. */
#define LX_STORE_KEY_MAX 200
#define LX_STORE_STATE_MAX (64 * 1024)

/* Put (create or replace) / delete one entry. Errors: LX_EINVAL (key),
 * LX_ELIMIT (value over LX_STORE_STATE_MAX), LX_ESTORE, LX_EFULL. Deleting
 * an absent key is not an error. */
LX_NODISCARD int lx_store_state_put(lx_store *s, const char *key,
                                    const char *value, size_t len,
                                    lx_error *err);
LX_NODISCARD int lx_store_state_del(lx_store *s, const char *key,
                                    lx_error *err);

/* The next value of the named counter (state "counter/<name>"): the
 * previous value + 1, at least `floor`; LX_ELIMIT past `ceiling` (0: no
 * ceiling). Durable when it returns, so a value is never handed out twice,
 * across crashes and restarts (EDI control numbers). */
LX_NODISCARD int lx_store_counter_next(lx_store *s, const char *name,
                                       uint64_t floor, uint64_t ceiling,
                                       uint64_t *value, lx_error *err);

/* Read one entry: *value is malloc'd (free()), NUL-terminated.
 * Errors: LX_ENOTFOUND. */
LX_NODISCARD int lx_store_state_get(lx_store *s, const char *key,
                                    char **value, size_t *len, lx_error *err);

/* Call fn for each entry whose key starts with prefix, in key order, until
 * it returns non-zero. key and value are valid during the call only. */
typedef int (*lx_store_state_fn)(void *ctx, const char *key,
                                 const char *value, size_t len);
LX_NODISCARD int lx_store_state_list(lx_store *s, const char *prefix,
                                     lx_store_state_fn fn, void *ctx,
                                     lx_error *err);

/* Put several state entries in one transaction (values[i] NULL deletes
 * keys[i]). For bookkeeping that must not cost a commit each. */
LX_NODISCARD int lx_store_state_put_many(lx_store *s, const char *const *keys,
                                         const char *const *values, size_t n,
                                         lx_error *err);

/* ---- message traces ----
 * With opts.traces, every change leaves a step under its trace id, in the
 * same transaction: {"step": "stored" | "unchanged", "time", "entity",
 * "canonical_id", "version", "seq", "system", "adapter", "native_type",
 * "native_id", "received": <the upsert's note>}. Deliveries add theirs
 * with lx_store_trace_add. Steps are kept until lx_store_trace_expire. */

/* Add steps (JSON object texts) to traces: trace ids[i] gets steps[i]. */
LX_NODISCARD int lx_store_trace_add(lx_store *s, const char *const *traces,
                                    const char *const *steps, size_t n,
                                    lx_error *err);

/* Every step of a trace, oldest first, as a new JSON array.
 * Errors: LX_ENOTFOUND (no step). */
LX_NODISCARD int lx_store_trace_get(lx_store *s, const char *trace,
                                    json_t **steps, lx_error *err);

/* Remove steps recorded before `before_ms` (at most max_count of them per
 * call); *removed (may be NULL) receives how many. */
LX_NODISCARD int lx_store_trace_expire(lx_store *s, uint64_t before_ms,
                                       size_t max_count, size_t *removed,
                                       lx_error *err);

/* Wait until every change submitted before this call is committed and
 * completed (its done called, its events handed to the hook). */
void lx_store_flush(lx_store *s);

/* Several links in one transaction (all or none): a delivery engine
 * records the ids of many delivered events with one commit. */
typedef struct lx_store_link {
    const char *entity, *id, *system, *native_type, *native_id;
} lx_store_link;
LX_NODISCARD int lx_store_xref_link_many(lx_store *s,
                                         const lx_store_link *links, size_t n,
                                         lx_error *err);

/* ---- reads ---- */

typedef struct lx_record_meta {
    uint64_t version;
    uint64_t time_ms;         /* of the current version */
    uint64_t seq;             /* event that made the current version */
    bool deleted;
    uint8_t hash[LX_SHA256_LEN];
} lx_record_meta;

/* The current record: *record is a new reference (caller decrefs), meta may
 * be NULL. A deleted record is returned with meta->deleted set.
 * Errors: LX_ENOTFOUND, LX_ESTORE. */
LX_NODISCARD int lx_store_get(lx_store *s, const char *entity, const char *id,
                              json_t **record, lx_record_meta *meta,
                              lx_error *err);

/* Every version, oldest first, as a new JSON array of
 * {"version","time","op","system","adapter","native_type","native_id",
 *  "trace","seq","hash","record"}. Errors: LX_ENOTFOUND, LX_ESTORE. */
LX_NODISCARD int lx_store_history(lx_store *s, const char *entity,
                                  const char *id, json_t **out,
                                  lx_error *err);

/* Forward cross-reference: system + native type + native id -> entity and
 * canonical id (buffers of LX_STORE_NAME_MAX+1 and LX_STORE_ID_SIZE).
 * Errors: LX_ENOTFOUND. */
LX_NODISCARD int lx_store_xref_find(lx_store *s, const char *system,
                                    const char *native_type,
                                    const char *native_id, char *entity,
                                    char *id, lx_error *err);

/* Reverse: every native id of a canonical record, as a new JSON array of
 * {"system","native_type","native_id"}. Empty when none. */
LX_NODISCARD int lx_store_xref_list(lx_store *s, const char *entity,
                                    const char *id, json_t **out,
                                    lx_error *err);

/* Identifier index: canonical id of the `entity` record that carries
 * identifier system|value. Errors: LX_ENOTFOUND. */
LX_NODISCARD int lx_store_ident_find(lx_store *s, const char *entity,
                                     const char *system, const char *value,
                                     char *id, lx_error *err);

/* Call fn for each event with from <= seq, in order, at most max_count
 * (0 = no limit) or until fn returns non-zero. The event text points into
 * the map and is valid during the call only. *next (may be NULL) receives
 * the sequence to ask for next time. Errors: LX_ESTORE. */
typedef int (*lx_store_each_event_fn)(void *ctx, uint64_t seq,
                                      const char *event, size_t len);
LX_NODISCARD int lx_store_events(lx_store *s, uint64_t from, size_t max_count,
                                 lx_store_each_event_fn fn, void *ctx,
                                 uint64_t *next, lx_error *err);

/* Highest event sequence durably written (0 when the log is empty). In a
 * writing store, lx_store_events never goes past it either. */
uint64_t lx_store_last_seq(lx_store *s);

/* A named cursor's value (0 when never set). */
LX_NODISCARD int lx_store_cursor_get(lx_store *s, const char *name,
                                     uint64_t *seq, lx_error *err);

typedef struct lx_store_stats {
    uint64_t records;
    uint64_t events;
    uint64_t last_seq;
    size_t map_size;   /* bytes currently mapped */
    size_t used_size;  /* bytes in use (last page * page size) */
    uint64_t commits;  /* write transactions since open */
    uint64_t upserts;  /* changes applied since open */
    uint64_t unchanged;/* upserts skipped as unchanged since open */
} lx_store_stats;
LX_NODISCARD int lx_store_stats_get(lx_store *s, lx_store_stats *out,
                                    lx_error *err);

/* "person" -> "per": the prefix of canonical ids of an entity. */
void lx_store_id_prefix(const char *entity, char out[8]);

#endif
