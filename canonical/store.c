/* canonical/store.c: see store.h. The only file that includes lmdb.h. */
#define _GNU_SOURCE /* sync_file_range */
#include "canonical/store.h"
#include "canonical/diff.h"
#include "canonical/store_wal.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_BYTE 1
/* Current record: format, flags, u64be version, u64be time (ms), u64be
 * seq, SHA-256 of the record text. The text is in the version's history
 * entry. */
#define REC_HDR_LEN (1 + 1 + 8 + 8 + 8 + LX_SHA256_LEN)
#define REC_FLAG_DELETED 1u
#define MAP_DEFAULT ((size_t)64 << 20)
#define MAP_CEILING_DEFAULT ((size_t)1 << 40)
#define BATCH_DEFAULT 1024
#define CHANGED_MAX 64
#define IDENT_MAX 64 /* identifiers indexed per record */
#define KEY_MAX 511  /* LMDB's default maximum key size */
#define CHECKPOINT_MS_DEFAULT 1000
#define REC_PUT 1 /* redo records in the log (see record()) */
#define REC_DEL 2
#define REC_HEAD 8

/* How commits become durable (docs/store.md):
 *   NOSYNC  no syncing at all (opts.no_sync)
 *   LMDB    LMDB syncs each commit (MDB_NOMETASYNC, see release_unsynced)
 *   WAL     this process owns the write-ahead log: LMDB does not sync, each
 *           group commit is logged and the log synced; checkpoints sync
 *           LMDB in the background
 *   SHARED  another process owns the log: LMDB syncs each commit fully and
 *           the commit is recorded as a baseline the owner's recovery keeps */
typedef enum durability_mode { MODE_NOSYNC, MODE_LMDB, MODE_WAL,
                               MODE_SHARED } durability_mode;

enum { DB_RECORDS, DB_HISTORY, DB_XREF, DB_XREV, DB_IDENT, DB_EVENTS,
       DB_CURSORS, DB_META, DB_STATE, DB_COUNT };
static const char *const db_names[DB_COUNT] = {
    "records", "history", "xref", "xrev", "ident", "events", "cursors", "meta",
    "state"};

struct ident;

typedef struct batch {
    struct batch *next;
    struct item *items;
    bool committed;
} batch;

/* A committed (or failed) transaction waiting for its log write to be
 * durable. */
typedef struct logged_txn {
    struct logged_txn *next;
    struct item *items;
    bool committed;
    uint64_t seq;   /* last event sequence after it */
    uint64_t index; /* durable once durable_index reaches it */
} logged_txn;

#define LOG_SYNCERS 2

typedef enum item_kind {
    ITEM_UPSERT,
    ITEM_DELETE,
    ITEM_CURSOR,
    ITEM_LINK,
    ITEM_GROUP,
    ITEM_STATE,  /* put (text) or delete (no text) of a state entry */
    ITEM_COUNTER, /* next value of a named counter (state "counter/<name>") */
    ITEM_MANY     /* several state puts/deletes in one go */
} item_kind;

/* One queued change, owned by the queue, then by the writer. */
typedef struct item {
    struct item *next;
    item_kind kind;
    char entity[LX_STORE_NAME_MAX + 1];
    char system[LX_STORE_NAME_MAX + 1];
    char adapter[LX_STORE_NAME_MAX + 1];
    char native_type[LX_STORE_NAME_MAX + 1];
    char native_id[LX_STORE_NATIVE_ID_MAX + 1];
    bool has_native;
    char key[LX_STORE_KEY_MAX + 1]; /* ITEM_STATE */
    char *note;                     /* trace: how the message arrived */
    char **keys, **values;          /* ITEM_MANY: n entries */
    size_t kv_count;
    char canonical_id[LX_STORE_ID_SIZE];
    char trace[32];
    char *text; /* canonical serialization of the record (upserts) */
    size_t text_len;
    uint8_t hash[LX_SHA256_LEN];
    struct ident *idents;
    size_t ident_count;
    uint64_t cursor_seq;
    uint64_t counter_floor, counter_ceiling; /* ITEM_COUNTER */
    lx_store_done_fn done;
    lx_store_group_done_fn group_done; /* ITEM_GROUP */
    struct item *members;              /* ITEM_GROUP: in order */
    size_t member_count;
    void *ctx;
    lx_upsert_result res;
    /* Built by the writer: the stored event value (format byte, history
     * key, the event text up to and including "record":); the record
     * text and the closing brace are added when it is published. */
    lx_buf event;
    size_t event_head_len; /* bytes before the event text */
    char topic[LX_STORE_NAME_MAX + 16];
    /* Upserts and deletes: the JSON parts that depend on nothing the
     * writer decides, written by the caller's thread (make_item) so the
     * writer only copies them: the entity as a JSON string, the event's
     * "origin" object, and the history entry's metadata from "system" to
     * the closing brace. Spans of `fixed`. */
    lx_buf fixed;
    size_t entity_end, origin_end;
    size_t history_end; /* then, with traces, the trace step's tail */
} item;

struct lx_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    bool read_only;
    size_t map_size, max_map_size, max_batch;
    /* Readers hold it shared; growing the map holds it exclusive, because
     * mdb_env_set_mapsize needs no transaction open in the process. */
    pthread_rwlock_t map_lock;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head, *tail;
    _Atomic size_t queued; /* items in head..tail */
    bool stopping;
    pthread_t writer;
    bool writer_started;

    /* Committed batches wait here for the completer thread, which
     * publishes their events and wakes their callers, so the writer can
     * start the next transaction at once. */
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;
    struct batch *done_head, *done_tail;
    bool done_stop;
    /* A thread is running completions (the completer, or a sync thread
     * that just made them durable): one at a time keeps commit order. */
    bool completing;
    pthread_t completer;
    bool completer_started;

    _Atomic uint64_t last_seq;
    _Atomic uint64_t durable_seq; /* events up to here are on disk */
    bool no_sync;
    bool traces;
    item *unsynced;        /* committed, meta page not yet synced */
    uint64_t unsynced_seq; /* last_seq after that commit */
    _Atomic uint64_t commits, upserts, unchanged;
    lx_store_event_fn event_fn;
    void *event_ctx;

    durability_mode mode;
    char path[4096];       /* <dir>/store */
    lx_wal *wal;           /* owned (WAL; LMDB and NOSYNC when it exists) */
    lx_wal_origin origin;  /* of data.mdb */
    size_t page_size;
    size_t wal_size;
    unsigned checkpoint_ms;
    /* A read transaction on the last checkpoint (WAL) or baseline (SHARED):
     * while it is open LMDB reuses no page of that snapshot or a later
     * one, so the meta pages saved with it stay valid on disk. */
    MDB_txn *pin;

    /* WAL: the writer appends each committed transaction to the log and
     * queues it here; sync threads fdatasync the log and hand what became
     * durable to the completer, in order; the writer goes on meanwhile.
     * Groups are counted: written_index were written, claimed_index are
     * covered by a sync started, durable_index by a sync completed. */
    pthread_mutex_t log_mu;
    pthread_cond_t log_cv;
    /* Signalled when a sync claims the groups written so far: the writer
     * waits for it rather than log a group that would only wait for the
     * same sync as the one before it (see wait_for_log). */
    pthread_cond_t claim_cv;
    logged_txn *log_head, *log_tail;
    uint64_t written_index, claimed_index, durable_index;
    bool log_stop;
    pthread_t syncers[LOG_SYNCERS];
    int syncers_started;
    _Atomic bool log_failed; /* the log cannot be written: refuse writes */
    lx_error log_err;

    /* Checkpoint thread (WAL). */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    bool ck_stop, ck_request;
    pthread_t checkpointer;
    bool checkpointer_started;
    _Atomic uint64_t last_txnid; /* last transaction this writer committed */
};

static int mdb_fail(lx_error *err, int rc, const char *what)
{
    int code = (rc == MDB_MAP_FULL || rc == ENOSPC) ? LX_EFULL : LX_ESTORE;
    lx_error_set(err, code, "%s: %s", what, mdb_strerror(rc));
    if (err)
        err->lib_code = rc;
    return code;
}

void lx_store_id_prefix(const char *entity, char out[8])
{
    size_t n = 0;
    for (; entity[n] && n < 3; n++)
        out[n] = entity[n];
    out[n] = '\0';
}

/* ---- read transactions ---- */

static int read_begin(lx_store *s, MDB_txn **txn, lx_error *err)
{
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&s->map_lock);
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (rc == 0)
            return 0;
        pthread_rwlock_unlock(&s->map_lock);
        if (rc != MDB_MAP_RESIZED || attempt > 3)
            return mdb_fail(err, rc, "cannot begin read transaction");
        /* Another process grew the map: adopt its size. */
        pthread_rwlock_wrlock(&s->map_lock);
        mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->map_lock);
    }
}

static void read_end(lx_store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
}

/* ---- keys ---- */

static size_t record_key(char *buf, size_t size, const char *entity,
                         const char *id)
{
    size_t el = strlen(entity), il = strlen(id);
    if (el >= size)
        el = size - 1;
    if (il > size - 1 - el)
        il = size - 1 - el;
    memcpy(buf, entity, el);
    size_t n = el;
    if (n < size - 1)
        buf[n++] = '/';
    if (il > size - 1 - n)
        il = size - 1 - n;
    memcpy(buf + n, id, il);
    n += il;
    buf[n] = '\0';
    return n;
}

/* Append v in decimal: the writer formats several numbers per change,
 * and printf costs a hundred times a copy. */
static int buf_u64(lx_buf *b, uint64_t v)
{
    char d[20];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return lx_buf_append(b, d + i, sizeof(d) - i);
}

/* Key parts joined by NUL bytes (no trailing NUL). */
static size_t join_key(char *buf, size_t size, const char *a, const char *b,
                       const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    size_t n = la + 1 + lb + (c ? 1 + lc : 0);
    LX_ASSERT(n <= size);
    memcpy(buf, a, la);
    buf[la] = '\0';
    memcpy(buf + la + 1, b, lb);
    if (c) {
        buf[la + 1 + lb] = '\0';
        memcpy(buf + la + 2 + lb, c, lc);
    }
    return n;
}

/* Identifier index key: entity 0 system 0 value, as it is, so that the
 * index stays readable (mdb_dump) and identifiers that arrive in order
 * (employee numbers, MRNs) land on neighbouring pages; a pair too long for
 * an LMDB key is replaced by 0x01 + SHA-256 of the same bytes. */
#define IDENT_KEY_MAX 400

typedef struct ident {
    uint8_t key[IDENT_KEY_MAX];
    size_t len;
} ident;

static void ident_key(ident *out, const char *entity, const char *system,
                      size_t system_len, const char *value, size_t value_len)
{
    size_t el = strlen(entity);
    size_t n = el + 1 + system_len + 1 + value_len;
    uint8_t *k = n <= IDENT_KEY_MAX ? out->key : lx_xmalloc(n);
    memcpy(k, entity, el + 1);
    memcpy(k + el + 1, system, system_len);
    k[el + 1 + system_len] = '\0';
    memcpy(k + el + 2 + system_len, value, value_len);
    if (n <= IDENT_KEY_MAX) {
        out->len = n;
    } else {
        out->key[0] = 0x01;
        lx_sha256(k, n, out->key + 1);
        out->len = 1 + LX_SHA256_LEN;
        free(k);
    }
}

/* ---- open / close ---- */

static void *writer_main(void *arg);
static void *completer_main(void *arg);
static void *syncer_main(void *arg);
static void *checkpointer_main(void *arg);
static int checkpoint(lx_store *s, bool clean, lx_error *err);
static bool grow_map(lx_store *s);

static int open_dbs(lx_store *s, lx_error *err)
{
    MDB_txn *txn;
    unsigned tflags = s->read_only ? MDB_RDONLY : 0;
    int rc = mdb_txn_begin(s->env, NULL, tflags, &txn);
    if (rc != 0)
        return mdb_fail(err, rc, "cannot begin transaction");
    for (int i = 0; i < DB_COUNT; i++) {
        unsigned f = s->read_only ? 0 : MDB_CREATE;
        rc = mdb_dbi_open(txn, db_names[i], f, &s->dbi[i]);
        if (rc != 0) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND)
                return lx_error_set(err, LX_ENOTFOUND,
                                    "the store has no '%s' database yet",
                                    db_names[i]);
            return mdb_fail(err, rc, "cannot open database");
        }
    }
    MDB_val k = {6, (void *)"format"}, v;
    rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND && !s->read_only) {
        v.mv_size = 1;
        v.mv_data = (void *)"1";
        rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
    } else if (rc == 0 && !(v.mv_size == 1 && *(char *)v.mv_data == '1')) {
        mdb_txn_abort(txn);
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "unknown store format (this build reads 1)");
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return mdb_fail(err, rc, "cannot read store format");
    }
    /* The next sequence continues after the last event in the log. */
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->dbi[DB_EVENTS], &c);
    if (rc == 0) {
        MDB_val ek, ev;
        if (mdb_cursor_get(c, &ek, &ev, MDB_LAST) == 0 && ek.mv_size == 8)
            atomic_store(&s->last_seq, lx_u64be_get(ek.mv_data));
        atomic_store(&s->durable_seq, atomic_load(&s->last_seq));
        mdb_cursor_close(c);
    }
    /* Commit even a read-only transaction: handles opened in an aborted
     * one are closed again. */
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        return mdb_fail(err, rc, "cannot initialise store");
    return 0;
}

/* ---- the write-ahead log at open: ownership and recovery ---- */

/* Choose the durability mode, taking the log when it is free. A log that
 * needs recovery is recovered whatever the mode (recover()); *restore
 * says whether LMDB's meta pages must be put back first, which is done
 * here, before LMDB reads them. */
static int open_log(lx_store *s, const lx_store_options *opts,
                    const char *data_path, bool *restore, lx_error *err)
{
    durability_mode want = opts->no_sync ? MODE_NOSYNC
                           : opts->durability == LX_STORE_DURABILITY_LMDB
                               ? MODE_LMDB
                               : MODE_WAL;
    bool owner = false;
    /* Without syncing there is nothing to log: an existing log is still
     * recovered, but none is created. */
    int rc = lx_wal_open(s->path, want != MODE_NOSYNC, &s->wal, &owner, err);
    if (rc != 0)
        return rc;
    s->mode = want;
    if (s->wal && !owner) {
        /* Another process owns the log (the hub, while the CLI writes). */
        lx_wal_close(&s->wal);
        if (want != MODE_NOSYNC)
            s->mode = MODE_SHARED;
        return 0;
    }
    if (!s->wal)
        return 0;
    lx_wal_origin o;
    lx_wal_origin_of(data_path, &o);
    /* Same boot, same data file: the page cache held every write, so
     * LMDB has every committed transaction. Otherwise (a power loss, a
     * restart, a copied directory) LMDB may point at pages that never
     * reached the disk: go back to the newest durable snapshot. */
    if (lx_wal_is_clean(s->wal) || lx_wal_same_origin(s->wal, &o) ||
        o.ino == 0)
        return 0;
    uint64_t txnid;
    const uint8_t *metas;
    size_t psize;
    if (!lx_wal_baseline(s->wal, s->path, &txnid, &metas, &psize))
        return 0;
    int fd = open(data_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return lx_error_set(err, LX_EIO, "cannot open the data file to "
                                         "recover it: %s",
                            strerror(errno));
    bool ok = pwrite(fd, metas, 2 * psize, 0) == (ssize_t)(2 * psize) &&
              fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok)
        return lx_error_set(err, LX_EIO, "cannot restore the checkpoint's "
                                         "meta pages: %s",
                            strerror(e));
    lx_log_warn(NULL, "store: recovering from the write-ahead log "
                      "(checkpoint at transaction %llu)",
                (unsigned long long)txnid);
    *restore = true;
    return 0;
}

typedef struct replay_ctx {
    lx_store *s;
    size_t groups;
    int mdb_rc;
} replay_ctx;

/* Apply one logged transaction's records in txn. */
static int replay_records(lx_store *s, MDB_txn *txn, const uint8_t *p,
                          size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < REC_HEAD)
            return MDB_CORRUPTED;
        const uint8_t *h = p + off;
        size_t kl = (size_t)h[2] << 8 | h[3];
        size_t vl = (size_t)h[4] << 24 | (size_t)h[5] << 16 |
                    (size_t)h[6] << 8 | h[7];
        if (h[1] >= DB_COUNT || (h[0] != REC_PUT && h[0] != REC_DEL) ||
            len - off - REC_HEAD < kl || len - off - REC_HEAD - kl < vl)
            return MDB_CORRUPTED;
        MDB_val k = {kl, (void *)(h + REC_HEAD)};
        MDB_val v = {vl, (void *)(h + REC_HEAD + kl)};
        int rc = h[0] == REC_PUT ? mdb_put(txn, s->dbi[h[1]], &k, &v, 0)
                                 : mdb_del(txn, s->dbi[h[1]], &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        off += REC_HEAD + kl + vl;
    }
    return 0;
}

/* Replay a group in its own transaction: puts overwrite and deletes of
 * absent keys are no-ops, so replaying twice gives the same state. */
static int replay_group(void *ctx, uint64_t txnid, const uint8_t *p,
                        size_t len)
{
    (void)txnid;
    replay_ctx *r = ctx;
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(r->s->env, NULL, 0, &txn);
        if (rc == 0) {
            rc = replay_records(r->s, txn, p, len);
            if (rc == 0)
                rc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
        }
        if (rc == MDB_MAP_FULL && grow_map(r->s))
            continue;
        r->mdb_rc = rc;
        if (rc == 0)
            r->groups++;
        return rc;
    }
}

/* The owner at open: replay what the log holds after the restored
 * snapshot, then checkpoint. The pin keeps the restored snapshot's pages
 * from reuse until that checkpoint is durable, so a crash during
 * recovery finds them again (recovery is idempotent). */
static int recover(lx_store *s, bool restore, lx_error *err)
{
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->pin);
    if (rc != 0)
        return mdb_fail(err, rc, "cannot recover the store");
    if (restore) {
        uint64_t base = mdb_txn_id(s->pin);
        replay_ctx r = {s, 0, 0};
        lx_wal_replay(s->wal, base, replay_group, &r);
        if (r.mdb_rc != 0)
            return mdb_fail(err, r.mdb_rc, "cannot replay the write-ahead "
                                           "log");
        lx_log_warn(NULL, "store: replayed %zu transactions from the "
                          "write-ahead log",
                    r.groups);
        /* The event log's tail moved. */
        MDB_txn *txn;
        if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) == 0) {
            MDB_cursor *c;
            if (mdb_cursor_open(txn, s->dbi[DB_EVENTS], &c) == 0) {
                MDB_val k, v;
                if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 &&
                    k.mv_size == 8) {
                    atomic_store(&s->last_seq, lx_u64be_get(k.mv_data));
                    atomic_store(&s->durable_seq, lx_u64be_get(k.mv_data));
                }
                mdb_cursor_close(c);
            }
            mdb_txn_abort(txn);
        }
    }
    /* Only the WAL mode logs; the others leave a clean log behind. */
    rc = checkpoint(s, s->mode != MODE_WAL, err);
    if (rc == 0 && s->mode == MODE_WAL) {
        rc = lx_wal_prepare_area(s->wal, s->wal_size, err);
        /* Record the ring's size before anything is written to it. */
        rc = rc ? rc : checkpoint(s, false, err);
    }
    if (rc == 0 && s->mode != MODE_WAL && s->pin) {
        mdb_txn_abort(s->pin); /* nothing to protect without a log */
        s->pin = NULL;
    }
    atomic_store(&s->last_txnid, lx_wal_checkpoint_txnid(s->wal));
    return rc;
}

int lx_store_open(const lx_store_options *opts, lx_store **out, lx_error *err)
{
    *out = NULL;
    LX_ASSERT(opts && opts->dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/store", opts->dir);
    if (!opts->read_only) {
        if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            lx_error_set(err, LX_EIO, "cannot create data directory: %s",
                         strerror(e));
            return lx_error_at(err, opts->dir, 0, 0);
        }
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            lx_error_set(err, LX_EIO, "cannot create store directory: %s",
                         strerror(e));
            return lx_error_at(err, path, 0, 0);
        }
    } else {
        struct stat st;
        if (stat(path, &st) != 0) {
            lx_error_set(err, LX_ENOTFOUND,
                         "no store here (start 'lingua serve' or ingest "
                         "something first)");
            return lx_error_at(err, opts->dir, 0, 0);
        }
    }

    lx_store *s = lx_xcalloc(1, sizeof(*s));
    s->read_only = opts->read_only;
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->map_size = opts->map_size ? opts->map_size : MAP_DEFAULT;
    s->max_map_size = opts->max_map_size ? opts->max_map_size
                                         : MAP_CEILING_DEFAULT;
    if (s->map_size > s->max_map_size)
        s->map_size = s->max_map_size;
    s->max_batch = opts->max_batch ? opts->max_batch : BATCH_DEFAULT;
    s->wal_size = opts->wal_size ? opts->wal_size : LX_WAL_AREA_DEFAULT;
    if (s->wal_size < LX_WAL_AREA_MIN)
        s->wal_size = LX_WAL_AREA_MIN;
    s->checkpoint_ms = opts->checkpoint_ms ? opts->checkpoint_ms
                                           : CHECKPOINT_MS_DEFAULT;
    pthread_rwlock_init(&s->map_lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->done_mu, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_init(&s->log_mu, NULL);
    pthread_cond_init(&s->log_cv, NULL);
    pthread_cond_init(&s->claim_cv, NULL);
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->ck_cv, NULL);
    s->no_sync = opts->no_sync;
    s->traces = opts->traces;

    char data_path[4200];
    snprintf(data_path, sizeof(data_path), "%s/data.mdb", path);
    int rc = 0;
    bool restore = false;
    if (opts->read_only) {
        lx_wal_origin o;
        lx_wal_origin_of(data_path, &o);
        if (lx_wal_needs_recovery(path, &o)) {
            lx_store_close(&s);
            lx_error_set(err, LX_ESTORE,
                         "the store was not closed cleanly before the "
                         "machine restarted; open it for writing once "
                         "(start 'lingua serve') to recover it");
            return lx_error_at(err, opts->dir, 0, 0);
        }
    } else {
        rc = open_log(s, opts, data_path, &restore, err);
        if (rc != 0) {
            lx_store_close(&s);
            return rc;
        }
    }

    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, DB_COUNT);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 254);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    unsigned flags = MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0);
    if (!opts->read_only)
        flags |= s->mode == MODE_LMDB     ? MDB_NOMETASYNC
                 : s->mode == MODE_SHARED ? 0
                                          : MDB_NOSYNC;
    if (rc == 0)
        rc = mdb_env_open(s->env, path, flags, 0600);
    if (rc != 0) {
        mdb_fail(err, rc, "cannot open store");
        lx_error_at(err, path, 0, 0);
        if (s->env)
            mdb_env_close(s->env);
        s->env = NULL;
        lx_store_close(&s);
        return err ? err->code : LX_ESTORE;
    }
    /* Reader slots of processes killed with -9 would pin old pages. */
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == 0)
        s->map_size = info.me_mapsize;
    MDB_stat est;
    if (mdb_env_stat(s->env, &est) == 0)
        s->page_size = est.ms_psize;
    lx_wal_origin_of(data_path, &s->origin);

    rc = open_dbs(s, err);
    if (rc == 0 && s->wal)
        rc = recover(s, restore, err);
    if (rc != 0) {
        lx_error_at(err, path, 0, 0);
        lx_store_close(&s);
        return rc;
    }
    if (!s->read_only) {
        if (pthread_create(&s->completer, NULL, completer_main, s) != 0) {
            lx_store_close(&s);
            return lx_error_set(err, LX_ESTORE,
                                "cannot start completer thread");
        }
        s->completer_started = true;
        if (s->mode == MODE_WAL) {
            for (int i = 0; i < LOG_SYNCERS; i++) {
                if (pthread_create(&s->syncers[i], NULL, syncer_main, s) !=
                    0) {
                    lx_store_close(&s);
                    return lx_error_set(err, LX_ESTORE,
                                        "cannot start the log threads");
                }
                s->syncers_started++;
            }
            if (pthread_create(&s->checkpointer, NULL, checkpointer_main,
                               s) != 0) {
                lx_store_close(&s);
                return lx_error_set(err, LX_ESTORE,
                                    "cannot start the checkpoint thread");
            }
            s->checkpointer_started = true;
        }
        if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
            lx_store_close(&s);
            return lx_error_set(err, LX_ESTORE, "cannot start writer thread");
        }
        s->writer_started = true;
    }
    *out = s;
    return 0;
}

void lx_store_close(lx_store **sp)
{
    lx_store *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
    }
    if (s->syncers_started) {
        pthread_mutex_lock(&s->log_mu);
        s->log_stop = true;
        pthread_cond_broadcast(&s->log_cv);
        pthread_mutex_unlock(&s->log_mu);
        for (int i = 0; i < s->syncers_started; i++)
            pthread_join(s->syncers[i], NULL);
        LX_ASSERT(!s->log_head);
    }
    if (s->checkpointer_started) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_stop = true;
        pthread_cond_broadcast(&s->ck_cv);
        pthread_mutex_unlock(&s->ck_mu);
        pthread_join(s->checkpointer, NULL);
    }
    if (s->completer_started) {
        pthread_mutex_lock(&s->done_mu);
        s->done_stop = true;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->done_mu);
        pthread_join(s->completer, NULL);
    }
    if (s->mode == MODE_WAL && s->wal && s->env && s->page_size &&
        !s->log_failed) {
        /* A clean close: LMDB holds everything; nothing to replay. */
        lx_error err;
        lx_error_clear(&err);
        if (checkpoint(s, true, &err) != 0)
            lx_log_error(NULL, "store: final checkpoint: %s", err.msg);
    }
    if (s->pin)
        mdb_txn_abort(s->pin);
    if (s->env)
        mdb_env_close(s->env);
    lx_wal_close(&s->wal);
    pthread_mutex_destroy(&s->done_mu);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->log_mu);
    pthread_cond_destroy(&s->log_cv);
    pthread_cond_destroy(&s->claim_cv);
    pthread_mutex_destroy(&s->ck_mu);
    pthread_cond_destroy(&s->ck_cv);
    pthread_rwlock_destroy(&s->map_lock);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void lx_store_set_event_hook(lx_store *s, lx_store_event_fn fn, void *ctx)
{
    s->event_fn = fn;
    s->event_ctx = ctx;
}

/* ---- submit ---- */

static int copy_name(char *dst, const char *src, const char *what,
                     bool required, lx_error *err)
{
    if (!src || !*src) {
        dst[0] = '\0';
        if (required)
            return lx_error_set(err, LX_EINVAL, "%s is required", what);
        return 0;
    }
    size_t n = strlen(src);
    if (n > LX_STORE_NAME_MAX)
        return lx_error_set(err, LX_EINVAL, "%s is longer than %d bytes", what,
                            LX_STORE_NAME_MAX);
    /* Entity and system names become parts of "/"-separated keys; a
     * native type is only ever a NUL-separated part, so it may hold '/'
     * (an X12 loop: "834/2000/2300"). */
    bool slash_ok = strcmp(what, "native type") == 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c <= 0x20 || (c == '/' && !slash_ok) || c >= 0x7f)
            return lx_error_set(err, LX_EINVAL,
                                "%s may not contain spaces, %scontrol "
                                "characters",
                                what, slash_ok ? "" : "'/' or ");
    }
    memcpy(dst, src, n + 1);
    return 0;
}

static void item_free(item *it)
{
    while (it->members) {
        item *m = it->members;
        it->members = m->next;
        item_free(m);
    }
    free(it->text);
    free(it->idents);
    free(it->note);
    for (size_t i = 0; i < it->kv_count; i++) {
        free(it->keys[i]);
        free(it->values[i]);
    }
    free(it->keys);
    free(it->values);
    lx_buf_fini(&it->event);
    lx_buf_fini(&it->fixed);
    free(it);
}

static void enqueue(lx_store *s, item *it)
{
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
    atomic_fetch_add(&s->queued, 1);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Collect the record's identifiers ({"system","value"} pairs) as index
 * keys; entries without both are skipped (the schema decides what is
 * required, the index only uses what is there). */
static void collect_idents(item *it, const json_t *record)
{
    json_t *ids = json_object_get(record, "identifiers");
    size_t n = json_array_size(ids);
    if (n > IDENT_MAX)
        n = IDENT_MAX;
    if (n == 0)
        return;
    it->idents = lx_xcalloc(n, sizeof(*it->idents));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ids, i);
        json_t *sys = json_object_get(e, "system");
        json_t *val = json_object_get(e, "value");
        if (!json_is_string(sys) || !json_is_string(val))
            continue;
        ident_key(&it->idents[it->ident_count++], it->entity,
                  json_string_value(sys), json_string_length(sys),
                  json_string_value(val), json_string_length(val));
    }
}

/* The JSON parts of an item's event and history entry that the writer
 * only copies (see item.fixed): the same bytes build_event and
 * history_value wrote themselves before, made on the caller's thread. */
/* s as a JSON string literal: names, ids and traces are almost always
 * plain printable ASCII, copied as they are; the rest is escaped by
 * lx_buf_json_string (the same bytes, a byte at a time). */
static int json_str(lx_buf *b, const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f ||
            s[n] == '"' || s[n] == '\\')
            return lx_buf_json_string(b, s, strlen(s));
    int rc = lx_buf_append(b, "\"", 1);
    rc = rc ? rc : lx_buf_append(b, s, n);
    return rc ? rc : lx_buf_append(b, "\"", 1);
}

static void prepare_fixed(item *it, bool traces)
{
    lx_buf *f = &it->fixed;
    lx_buf_init(f, 0);
    int rc = json_str(f, it->entity);
    it->entity_end = f->len;
    rc = rc ? rc : lx_buf_puts(f, "{\"system\":");
    rc = rc ? rc : json_str(f, it->system);
    if (it->adapter[0]) {
        rc = rc ? rc : lx_buf_puts(f, ",\"adapter\":");
        rc = rc ? rc : json_str(f, it->adapter);
    }
    rc = rc ? rc : lx_buf_puts(f, ",\"native_type\":");
    rc = rc ? rc : json_str(f, it->native_type);
    if (it->has_native) {
        rc = rc ? rc : lx_buf_puts(f, ",\"native_id\":");
        rc = rc ? rc : json_str(f, it->native_id);
    }
    rc = rc ? rc : lx_buf_puts(f, ",\"trace\":");
    rc = rc ? rc : json_str(f, it->trace);
    rc = rc ? rc : lx_buf_puts(f, "}");
    it->origin_end = f->len;
    /* History metadata: adapter and native id are null when absent. */
    rc = rc ? rc : lx_buf_puts(f, "\"system\":");
    rc = rc ? rc : json_str(f, it->system);
    rc = rc ? rc : lx_buf_puts(f, ",\"adapter\":");
    rc = rc ? rc : it->adapter[0] ? json_str(f, it->adapter)
                                  : lx_buf_puts(f, "null");
    rc = rc ? rc : lx_buf_puts(f, ",\"native_type\":");
    rc = rc ? rc : json_str(f, it->native_type);
    rc = rc ? rc : lx_buf_puts(f, ",\"native_id\":");
    rc = rc ? rc : it->has_native ? json_str(f, it->native_id)
                                  : lx_buf_puts(f, "null");
    rc = rc ? rc : lx_buf_puts(f, ",\"trace\":");
    rc = rc ? rc : json_str(f, it->trace);
    rc = rc ? rc : lx_buf_puts(f, "}");
    it->history_end = f->len;
    if (traces) {
        /* A trace step from "system" on (trace_change): adapter and
         * native id are "" when absent. */
        rc = rc ? rc : lx_buf_puts(f, ",\"system\":");
        rc = rc ? rc : json_str(f, it->system);
        rc = rc ? rc : lx_buf_puts(f, ",\"adapter\":");
        rc = rc ? rc : json_str(f, it->adapter);
        rc = rc ? rc : lx_buf_puts(f, ",\"native_type\":");
        rc = rc ? rc : json_str(f, it->native_type);
        rc = rc ? rc : lx_buf_puts(f, ",\"native_id\":");
        rc = rc ? rc : json_str(f, it->native_id);
        if (it->note) {
            rc = rc ? rc : lx_buf_puts(f, ",\"received\":");
            rc = rc ? rc : lx_buf_puts(f, it->note);
        }
        rc = rc ? rc : lx_buf_puts(f, "}");
    }
    LX_ASSERT(rc == 0); /* no ceiling */
}

/* A queue item for one change; NULL (err set) when the change is
 * malformed. Serializes and hashes the record, and writes every part of
 * the event and history entry that does not depend on the writer's
 * decisions, on the calling thread: callers run in parallel, the writer
 * is one thread. */
static item *make_item(const lx_upsert *u, bool traces, lx_error *err)
{
    item *it = lx_xcalloc(1, sizeof(*it));
    lx_buf_init(&it->event, 0);
    it->kind = u->op == LX_STORE_DELETE ? ITEM_DELETE : ITEM_UPSERT;
    int rc = copy_name(it->entity, u->entity, "entity", true, err);
    if (rc == 0)
        rc = copy_name(it->system, u->system, "source system", true, err);
    if (rc == 0)
        rc = copy_name(it->adapter, u->adapter, "adapter", false, err);
    if (rc == 0)
        rc = copy_name(it->native_type,
                       u->native_type ? u->native_type : u->entity,
                       "native type", true, err);
    if (rc == 0 && u->native_id && *u->native_id) {
        size_t n = strlen(u->native_id);
        if (n > LX_STORE_NATIVE_ID_MAX)
            rc = lx_error_set(err, LX_EINVAL,
                              "native id is longer than %d bytes",
                              LX_STORE_NATIVE_ID_MAX);
        else {
            memcpy(it->native_id, u->native_id, n + 1);
            it->has_native = true;
        }
    }
    if (rc == 0 && u->canonical_id && *u->canonical_id) {
        if (strlen(u->canonical_id) >= LX_STORE_ID_SIZE ||
            strchr(u->canonical_id, '/'))
            rc = lx_error_set(err, LX_EINVAL, "malformed canonical id");
        else
            snprintf(it->canonical_id, sizeof(it->canonical_id), "%s",
                     u->canonical_id);
    }
    if (rc == 0 && u->trace && *u->trace) {
        if (strlen(u->trace) >= sizeof(it->trace))
            rc = lx_error_set(err, LX_EINVAL, "trace id is longer than %zu "
                              "bytes", sizeof(it->trace) - 1);
        else
            snprintf(it->trace, sizeof(it->trace), "%s", u->trace);
    } else if (rc == 0) {
        lx_ulid_new(it->trace);
    }
    if (rc == 0 && it->kind == ITEM_UPSERT) {
        if (!json_is_object(u->record))
            rc = lx_error_set(err, LX_EINVAL, "record must be a JSON object");
        else {
            it->text = lx_json_dump_canonical(u->record, &it->text_len);
            lx_sha256(it->text, it->text_len, it->hash);
            collect_idents(it, u->record);
        }
    }
    if (rc == 0 && u->note)
        it->note = lx_xstrdup(u->note);
    if (rc == 0)
        prepare_fixed(it, traces);
    if (rc == 0 && it->kind == ITEM_DELETE && !it->has_native &&
        !it->canonical_id[0])
        rc = lx_error_set(err, LX_EINVAL,
                          "a delete needs a native id or a canonical id");
    if (rc != 0) {
        item_free(it);
        return NULL;
    }
    return it;
}

/* Queue it unless the store is closing (then it is freed). */
static int submit_item(lx_store *s, item *it, lx_error *err)
{
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (stopping) {
        item_free(it);
        return lx_error_set(err, LX_ECLOSED, "the store is closing");
    }
    enqueue(s, it);
    return 0;
}

int lx_store_submit(lx_store *s, const lx_upsert *u, lx_store_done_fn done,
                    void *ctx, lx_error *err)
{
    LX_ASSERT(s && u && done);
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    lx_error local;
    lx_error_clear(&local);
    item *it = make_item(u, s->traces, err ? err : &local);
    if (!it)
        return err ? err->code : local.code;
    it->done = done;
    it->ctx = ctx;
    return submit_item(s, it, err);
}

int lx_store_submit_group(lx_store *s, const lx_upsert *u, size_t n,
                          lx_store_group_done_fn done, void *ctx,
                          lx_error *err)
{
    LX_ASSERT(s && u && done);
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    if (n == 0 || n > LX_STORE_GROUP_MAX)
        return lx_error_set(err, LX_ELIMIT, "a group holds 1 to %d changes",
                            LX_STORE_GROUP_MAX);
    item *g = lx_xcalloc(1, sizeof(*g));
    lx_buf_init(&g->event, 0);
    g->kind = ITEM_GROUP;
    g->group_done = done;
    g->ctx = ctx;
    item **tail = &g->members;
    for (size_t i = 0; i < n; i++) {
        lx_error local;
        lx_error_clear(&local);
        item *m = make_item(&u[i], s->traces, &local);
        if (!m) {
            item_free(g);
            if (err) {
                *err = local;
                lx_error_prefix(err, "change %zu of the group", i);
            }
            return local.code;
        }
        *tail = m;
        tail = &m->next;
        g->member_count++;
    }
    return submit_item(s, g, err);
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    lx_upsert_result *res;
} waiter;

static void wake_waiter(void *ctx, const lx_upsert_result *res)
{
    waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    *w->res = *res;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int wait_for(lx_store *s, item *it, waiter *w)
{
    (void)s;
    (void)it;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return w->res->code;
}

/* Queue a bookkeeping item (cursor, link, state, counter) and wait for its
 * commit. *out (may be NULL) receives its result. */
static int submit_wait(lx_store *s, item *it, lx_upsert_result *out,
                       lx_error *err)
{
    lx_upsert_result res;
    memset(&res, 0, sizeof(res));
    waiter w = {.done = false, .res = &res};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    it->done = wake_waiter;
    it->ctx = &w;
    enqueue(s, it);
    int rc = wait_for(s, it, &w);
    if (rc != 0 && err)
        *err = res.err;
    if (out)
        *out = res;
    return rc;
}

int lx_store_upsert(lx_store *s, const lx_upsert *u, lx_upsert_result *res)
{
    memset(res, 0, sizeof(*res));
    waiter w = {.done = false, .res = res};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = lx_store_submit(s, u, wake_waiter, &w, &res->err);
    if (rc != 0) {
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
        res->code = rc;
        return rc;
    }
    return wait_for(s, NULL, &w);
}

typedef struct group_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    lx_upsert_result *results;
} group_waiter;

static void wake_group(void *ctx, const lx_upsert_result *res, size_t n)
{
    group_waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    memcpy(w->results, res, n * sizeof(*res));
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int lx_store_upsert_group(lx_store *s, const lx_upsert *u, size_t n,
                          lx_upsert_result *results, lx_error *err)
{
    memset(results, 0, n * sizeof(*results));
    group_waiter w = {.done = false, .results = results};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = lx_store_submit_group(s, u, n, wake_group, &w, err);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (results[i].code != 0 &&
                !(results[i].code == LX_ECONFLICT &&
                  strstr(results[i].err.msg, "of the group failed"))) {
                rc = results[i].code;
                if (err) {
                    *err = results[i].err;
                    lx_error_prefix(err, "change %zu of the group", i);
                }
            }
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

int lx_store_cursor_set(lx_store *s, const char *name, uint64_t seq,
                        lx_error *err)
{
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    item *it = lx_xcalloc(1, sizeof(*it));
    int rc = copy_name(it->entity, name, "cursor name", true, err);
    if (rc != 0) {
        item_free(it);
        return rc;
    }
    it->kind = ITEM_CURSOR;
    it->cursor_seq = seq;
    lx_buf_init(&it->event, 0);
    return submit_wait(s, it, NULL, err);
}

void lx_store_flush(lx_store *s)
{
    if (s->read_only)
        return;
    /* Items complete in queue order, so a cursor write queued now is
     * completed after everything queued before it. */
    lx_error err;
    if (lx_store_cursor_set(s, "_flush", 0, &err) != 0)
        lx_log_warn(NULL, "store: flush: %s", err.msg);
}

/* Queue a state write and wait for it. */
static int state_write(lx_store *s, const char *key, const char *value,
                       size_t len, lx_error *err)
{
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    size_t kl = key ? strlen(key) : 0;
    if (kl == 0 || kl > LX_STORE_KEY_MAX)
        return lx_error_set(err, LX_EINVAL, "state keys have 1 to %d bytes",
                            LX_STORE_KEY_MAX);
    if (value && len > LX_STORE_STATE_MAX)
        return lx_error_set(err, LX_ELIMIT, "state values have at most %d "
                                            "bytes",
                            LX_STORE_STATE_MAX);
    item *it = lx_xcalloc(1, sizeof(*it));
    lx_buf_init(&it->event, 0);
    it->kind = ITEM_STATE;
    memcpy(it->key, key, kl + 1);
    if (value) {
        it->text = lx_xstrndup(value, len);
        it->text_len = len;
    }
    return submit_wait(s, it, NULL, err);
}

int lx_store_counter_next(lx_store *s, const char *name, uint64_t floor,
                          uint64_t ceiling, uint64_t *value, lx_error *err)
{
    *value = 0;
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    char key[LX_STORE_KEY_MAX + 1];
    if (!name || !*name || strlen(name) + 8 > LX_STORE_KEY_MAX)
        return lx_error_set(err, LX_EINVAL, "counter names have 1 to %d "
                                            "bytes",
                            LX_STORE_KEY_MAX - 8);
    snprintf(key, sizeof(key), "counter/%s", name);
    item *it = lx_xcalloc(1, sizeof(*it));
    lx_buf_init(&it->event, 0);
    it->kind = ITEM_COUNTER;
    memcpy(it->key, key, strlen(key) + 1);
    it->counter_floor = floor;
    it->counter_ceiling = ceiling;
    lx_upsert_result res;
    int rc = submit_wait(s, it, &res, err);
    if (rc == 0)
        *value = res.version;
    return rc;
}

int lx_store_state_put_many(lx_store *s, const char *const *keys,
                            const char *const *values, size_t n,
                            lx_error *err)
{
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl = keys[i] ? strlen(keys[i]) : 0;
        if (kl == 0 || kl > LX_STORE_KEY_MAX ||
            (values[i] && strlen(values[i]) > LX_STORE_STATE_MAX))
            return lx_error_set(err, LX_EINVAL, "state entry %zu: key of 1 "
                                                "to %d bytes, value of at "
                                                "most %d",
                                i, LX_STORE_KEY_MAX, LX_STORE_STATE_MAX);
    }
    item *it = lx_xcalloc(1, sizeof(*it));
    lx_buf_init(&it->event, 0);
    it->kind = ITEM_MANY;
    it->keys = lx_xcalloc(n, sizeof(char *));
    it->values = lx_xcalloc(n, sizeof(char *));
    it->kv_count = n;
    for (size_t i = 0; i < n; i++) {
        it->keys[i] = lx_xstrdup(keys[i]);
        it->values[i] = values[i] ? lx_xstrdup(values[i]) : NULL;
    }
    return submit_wait(s, it, NULL, err);
}

int lx_store_trace_add(lx_store *s, const char *const *traces,
                       const char *const *steps, size_t n, lx_error *err)
{
    if (n == 0)
        return 0;
    char **keys = lx_xcalloc(2 * n, sizeof(char *));
    const char **values = lx_xcalloc(2 * n, sizeof(char *));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char ulid[LX_ULID_SIZE], k[LX_STORE_KEY_MAX + 1];
        lx_ulid_new(ulid);
        int len = snprintf(k, sizeof(k), "trace/%s/%s", traces[i], ulid);
        if (len < 0 || (size_t)len >= sizeof(k))
            continue;
        keys[m] = lx_xstrdup(k);
        values[m++] = steps[i];
        snprintf(k, sizeof(k), "tracetime/%s/%s", ulid, traces[i]);
        keys[m] = lx_xstrdup(k);
        values[m++] = "";
    }
    int rc = lx_store_state_put_many(s, (const char *const *)keys, values, m,
                                     err);
    for (size_t i = 0; i < m; i++)
        free(keys[i]);
    free(keys);
    free(values);
    return rc;
}

static int add_step(void *ctx, const char *key, const char *value,
                    size_t len)
{
    (void)key;
    json_t *arr = ctx;
    json_t *o = json_loadb(value, len, 0, NULL);
    if (o)
        json_array_append_new(arr, o);
    return 0;
}

int lx_store_trace_get(lx_store *s, const char *trace, json_t **steps,
                       lx_error *err)
{
    *steps = NULL;
    char prefix[LX_STORE_KEY_MAX + 1];
    int n = snprintf(prefix, sizeof(prefix), "trace/%s/", trace);
    if (n < 0 || (size_t)n >= sizeof(prefix) || strchr(trace, '/'))
        return lx_error_set(err, LX_ENOTFOUND, "no such trace");
    json_t *arr = json_array();
    int rc = lx_store_state_list(s, prefix, add_step, arr, err);
    if (rc == 0 && json_array_size(arr) == 0)
        rc = lx_error_set(err, LX_ENOTFOUND, "no step recorded for this "
                                             "trace (expired, or never "
                                             "seen)");
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *steps = arr;
    return 0;
}

typedef struct expiry {
    uint64_t before;
    size_t max, n;
    char **keys;
} expiry;

static int collect_expired(void *ctx, const char *key, const char *value,
                           size_t len)
{
    (void)value;
    (void)len;
    expiry *e = ctx;
    const char *ulid = key + strlen("tracetime/");
    const char *slash = strchr(ulid, '/');
    if (!slash || lx_ulid_time_ms(ulid, (size_t)(slash - ulid)) >= e->before)
        return 1; /* in time order: the rest is younger */
    if (e->n + 2 > 2 * e->max)
        return 1;
    char k[LX_STORE_KEY_MAX + 1];
    snprintf(k, sizeof(k), "trace/%s/%.*s", slash + 1, (int)(slash - ulid),
             ulid);
    e->keys[e->n++] = lx_xstrdup(key);
    e->keys[e->n++] = lx_xstrdup(k);
    return 0;
}

int lx_store_trace_expire(lx_store *s, uint64_t before_ms, size_t max_count,
                          size_t *removed, lx_error *err)
{
    if (removed)
        *removed = 0;
    if (max_count == 0)
        max_count = 10000;
    expiry e = {before_ms, max_count, 0,
                lx_xcalloc(2 * max_count, sizeof(char *))};
    int rc = lx_store_state_list(s, "tracetime/", collect_expired, &e, err);
    if (rc == 0 && e.n) {
        const char **values = lx_xcalloc(e.n, sizeof(char *));
        rc = lx_store_state_put_many(s, (const char *const *)e.keys, values,
                                     e.n, err);
        free(values);
        if (rc == 0 && removed)
            *removed = e.n / 2;
    }
    for (size_t i = 0; i < e.n; i++)
        free(e.keys[i]);
    free(e.keys);
    return rc;
}

int lx_store_state_put(lx_store *s, const char *key, const char *value,
                       size_t len, lx_error *err)
{
    return state_write(s, key, value ? value : "", value ? len : 0, err);
}

int lx_store_state_del(lx_store *s, const char *key, lx_error *err)
{
    return state_write(s, key, NULL, 0, err);
}

int lx_store_state_get(lx_store *s, const char *key, char **value,
                       size_t *len, lx_error *err)
{
    *value = NULL;
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_val k = {strlen(key), (void *)key}, v;
    rc = mdb_get(txn, s->dbi[DB_STATE], &k, &v);
    if (rc == 0) {
        *value = lx_xstrndup(v.mv_data, v.mv_size);
        if (len)
            *len = v.mv_size;
    } else if (rc == MDB_NOTFOUND) {
        rc = lx_error_set(err, LX_ENOTFOUND, "no such entry");
    } else {
        rc = mdb_fail(err, rc, "cannot read state");
    }
    read_end(s, txn);
    return rc;
}

int lx_store_state_list(lx_store *s, const char *prefix,
                        lx_store_state_fn fn, void *ctx, lx_error *err)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->dbi[DB_STATE], &c);
    if (rc != 0) {
        read_end(s, txn);
        return mdb_fail(err, rc, "cannot read state");
    }
    size_t pl = strlen(prefix);
    MDB_val k = {pl, (void *)prefix}, v;
    char key[LX_STORE_KEY_MAX + 1];
    rc = pl ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)
            : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0 && k.mv_size >= pl && k.mv_size <= LX_STORE_KEY_MAX &&
           memcmp(k.mv_data, prefix, pl) == 0) {
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        if (fn(ctx, key, v.mv_data, v.mv_size) != 0)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    read_end(s, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return mdb_fail(err, rc, "cannot read state");
    return 0;
}

/* A link item, or NULL with err set. */
static item *make_link(const lx_store_link *l, lx_error *err)
{
    item *it = lx_xcalloc(1, sizeof(*it));
    lx_buf_init(&it->event, 0);
    int rc = copy_name(it->entity, l->entity, "entity", true, err);
    rc = rc ? rc : copy_name(it->system, l->system, "system", true, err);
    rc = rc ? rc : copy_name(it->native_type, l->native_type, "native type",
                             true, err);
    if (rc == 0 && (!l->native_id || !*l->native_id ||
                    strlen(l->native_id) > LX_STORE_NATIVE_ID_MAX))
        rc = lx_error_set(err, LX_EINVAL, "native id must have 1 to %d bytes",
                          LX_STORE_NATIVE_ID_MAX);
    if (rc == 0 && (!l->id || !*l->id || strlen(l->id) >= LX_STORE_ID_SIZE ||
                    strchr(l->id, '/')))
        rc = lx_error_set(err, LX_EINVAL, "malformed canonical id");
    if (rc != 0) {
        item_free(it);
        return NULL;
    }
    snprintf(it->native_id, sizeof(it->native_id), "%s", l->native_id);
    it->has_native = true;
    snprintf(it->canonical_id, sizeof(it->canonical_id), "%s", l->id);
    it->kind = ITEM_LINK;
    return it;
}

int lx_store_xref_link(lx_store *s, const char *entity, const char *id,
                       const char *system, const char *native_type,
                       const char *native_id, lx_error *err)
{
    lx_store_link l = {entity, id, system, native_type, native_id};
    return lx_store_xref_link_many(s, &l, 1, err);
}

int lx_store_xref_link_many(lx_store *s, const lx_store_link *links,
                            size_t n, lx_error *err)
{
    if (s->read_only)
        return lx_error_set(err, LX_ECLOSED, "the store is open read-only");
    if (n == 0)
        return 0;
    lx_error local;
    lx_error_clear(&local);
    item *head = NULL, **tail = &head;
    for (size_t i = 0; i < n; i++) {
        item *it = make_link(&links[i], err ? err : &local);
        if (!it) {
            while (head) {
                item *next = head->next;
                item_free(head);
                head = next;
            }
            return err ? err->code : local.code;
        }
        *tail = it;
        tail = &it->next;
    }
    item *it = head;
    if (n > 1) {
        /* One transaction for all: the links ride as a group. */
        it = lx_xcalloc(1, sizeof(*it));
        lx_buf_init(&it->event, 0);
        it->kind = ITEM_GROUP;
        it->members = head;
        it->member_count = n;
        it->group_done = NULL;
    }
    return submit_wait(s, it, NULL, err);
}

/* ---- the writer ---- */

/* An LMDB error inside a batch: the whole transaction is abandoned. */
#define BATCH_FATAL 1

typedef struct batch_ctx {
    lx_store *s;
    MDB_txn *txn;
    uint64_t seq; /* last sequence assigned in this transaction */
    int mdb_rc;   /* the LMDB error that made the batch fail */
    lx_buf *records; /* WAL: every write of the transaction, or NULL */
    uint64_t now;    /* the time of every change of the batch */
    char when[LX_TIME_SIZE]; /* now, formatted once */
} batch_ctx;

/* The redo record of one write: op, database, u16be key length, u32be
 * value length, key, value. Every write of the writer goes through put()
 * or del(), so the log holds the whole transaction (docs/store.md). */
static void record(batch_ctx *b, uint8_t op, int db, const void *k,
                   size_t klen, const void *v, size_t vlen)
{
    if (!b->records)
        return;
    LX_ASSERT(klen <= 0xffff && vlen <= 0xffffffffu);
    uint8_t h[REC_HEAD] = {op, (uint8_t)db, (uint8_t)(klen >> 8),
                           (uint8_t)klen, (uint8_t)(vlen >> 24),
                           (uint8_t)(vlen >> 16), (uint8_t)(vlen >> 8),
                           (uint8_t)vlen};
    if (lx_buf_append(b->records, h, sizeof(h)) != 0 ||
        lx_buf_append(b->records, k, klen) != 0 ||
        (vlen && lx_buf_append(b->records, v, vlen) != 0))
        LX_ASSERT(!"redo record buffer has no ceiling");
}

static int put(batch_ctx *b, int db, const void *k, size_t klen,
               const void *v, size_t vlen, unsigned flags)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    int rc = mdb_put(b->txn, b->s->dbi[db], &key, &val, flags);
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE))
        return 0;
    if (rc != 0) {
        b->mdb_rc = rc;
        return BATCH_FATAL;
    }
    record(b, REC_PUT, db, k, klen, v, vlen);
    return 0;
}

/* Delete a key; an absent key is fine. */
static int del(batch_ctx *b, int db, const void *k, size_t klen)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_del(b->txn, b->s->dbi[db], &key, NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0) {
        b->mdb_rc = rc;
        return BATCH_FATAL;
    }
    record(b, REC_DEL, db, k, klen, NULL, 0);
    return 0;
}

static int get(batch_ctx *b, int db, const void *k, size_t klen, MDB_val *v)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_get(b->txn, b->s->dbi[db], &key, v);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        b->mdb_rc = rc;
        return BATCH_FATAL;
    }
    return rc; /* 0 or MDB_NOTFOUND */
}

/* Item failure that leaves the transaction usable: nothing was written. */
static int item_fail(item *it, int code, const char *fmt, ...)
    LX_PRINTF(3, 4);
static int item_fail(item *it, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    it->res.code = lx_error_vset(&it->res.err, code, fmt, ap);
    va_end(ap);
    return 0;
}

static int apply_cursor(batch_ctx *b, item *it)
{
    uint8_t v[9];
    v[0] = FORMAT_BYTE;
    lx_u64be_put(v + 1, it->cursor_seq);
    return put(b, DB_CURSORS, it->entity, strlen(it->entity), v, sizeof(v), 0);
}

static int apply_state(batch_ctx *b, item *it)
{
    size_t kl = strlen(it->key);
    if (it->text)
        return put(b, DB_STATE, it->key, kl, it->text, it->text_len, 0);
    return del(b, DB_STATE, it->key, kl);
}

static int apply_many(batch_ctx *b, item *it)
{
    for (size_t i = 0; i < it->kv_count; i++) {
        size_t kl = strlen(it->keys[i]);
        if (it->values[i]) {
            if (put(b, DB_STATE, it->keys[i], kl, it->values[i],
                    strlen(it->values[i]), 0) != 0)
                return BATCH_FATAL;
        } else if (del(b, DB_STATE, it->keys[i], kl) != 0) {
            return BATCH_FATAL;
        }
    }
    return 0;
}

/* Counters are state entries holding a decimal number; the writer is
 * the only one to increment them, in the same transaction as it reads
 * them, so a value is handed out once, across restarts too. */
static int apply_counter(batch_ctx *b, item *it)
{
    size_t kl = strlen(it->key);
    MDB_val v;
    int rc = get(b, DB_STATE, it->key, kl, &v);
    if (rc == BATCH_FATAL)
        return rc;
    uint64_t cur = 0;
    if (rc == 0) {
        char num[32];
        size_t n = v.mv_size < sizeof(num) - 1 ? v.mv_size : sizeof(num) - 1;
        memcpy(num, v.mv_data, n);
        num[n] = '\0';
        cur = strtoull(num, NULL, 10);
    }
    uint64_t next = cur + 1;
    if (next < it->counter_floor)
        next = it->counter_floor;
    if (it->counter_ceiling && next > it->counter_ceiling)
        return item_fail(it, LX_ELIMIT, "counter %s is exhausted", it->key);
    char num[32];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)next);
    if (put(b, DB_STATE, it->key, kl, num, (size_t)n, 0) != 0)
        return BATCH_FATAL;
    it->res.version = next;
    return 0;
}

/* Resolve the canonical id of an item: explicit id, then the native
 * cross-reference, then the identifier index. Sets found/cid. */
static int resolve(batch_ctx *b, item *it, char *cid, bool *found)
{
    *found = false;
    cid[0] = '\0';
    if (it->canonical_id[0]) {
        snprintf(cid, LX_STORE_ID_SIZE, "%s", it->canonical_id);
        *found = true;
        return 0;
    }
    MDB_val v;
    int rc;
    if (it->has_native) {
        char k[KEY_MAX];
        size_t kl = join_key(k, sizeof(k), it->system, it->native_type,
                             it->native_id);
        rc = get(b, DB_XREF, k, kl, &v);
        if (rc == BATCH_FATAL)
            return rc;
        if (rc == 0) {
            const char *ent = v.mv_data;
            size_t el = strnlen(ent, v.mv_size);
            if (el >= v.mv_size ||
                strncmp(ent, it->entity, v.mv_size) != 0) {
                item_fail(it, LX_ECONFLICT,
                          "native id is already linked to a record of "
                          "another entity (%s)",
                          el < v.mv_size ? ent : "?");
                return 0;
            }
            size_t il = v.mv_size - el - 1;
            if (il >= LX_STORE_ID_SIZE)
                il = LX_STORE_ID_SIZE - 1;
            memcpy(cid, ent + el + 1, il);
            cid[il] = '\0';
            *found = true;
            return 0;
        }
    }
    for (size_t i = 0; i < it->ident_count; i++) {
        rc = get(b, DB_IDENT, it->idents[i].key, it->idents[i].len, &v);
        if (rc == BATCH_FATAL)
            return rc;
        if (rc == 0 && v.mv_size < LX_STORE_ID_SIZE) {
            memcpy(cid, v.mv_data, v.mv_size);
            cid[v.mv_size] = '\0';
            *found = true;
            return 0;
        }
    }
    return 0;
}

static int link_xref(batch_ctx *b, item *it, const char *cid)
{
    if (!it->has_native)
        return 0;
    char k[KEY_MAX], v[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    size_t kl = join_key(k, sizeof(k), it->system, it->native_type,
                         it->native_id);
    size_t el = strlen(it->entity), il = strlen(cid);
    memcpy(v, it->entity, el + 1);
    memcpy(v + el + 1, cid, il);
    if (put(b, DB_XREF, k, kl, v, el + 1 + il, 0) != 0)
        return BATCH_FATAL;
    char rk[KEY_MAX];
    char rec[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    record_key(rec, sizeof(rec), it->entity, cid);
    kl = join_key(rk, sizeof(rk), rec, it->system, it->native_type);
    return put(b, DB_XREV, rk, kl, it->native_id, strlen(it->native_id), 0);
}

static int apply_link(batch_ctx *b, item *it)
{
    char rkey[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    size_t kl = record_key(rkey, sizeof(rkey), it->entity, it->canonical_id);
    MDB_val v;
    int rc = get(b, DB_RECORDS, rkey, kl, &v);
    if (rc == BATCH_FATAL)
        return rc;
    if (rc == MDB_NOTFOUND)
        return item_fail(it, LX_ENOTFOUND, "no %s record with this id",
                         it->entity);
    return link_xref(b, it, it->canonical_id);
}

/* Build the stored event value in it->event: format byte, the history
 * key of the record text, and the event JSON (see DESIGN.md, "Shapes that
 * every part shares") up to and including "record":. The record text is
 * stored once, in history (event_assemble puts it back), and appended
 * for the event hook by announce(). */
static int build_event(batch_ctx *b, item *it, const char *cid, uint64_t seq,
                       uint64_t version, const char *type,
                       const char *changed, size_t changed_len,
                       const char *hkey, size_t hkl)
{
    lx_buf *e = &it->event;
    char eid[LX_ULID_SIZE];
    lx_ulid_new(eid);
    size_t el = strlen(it->entity), tl = strlen(type);
    memcpy(it->topic, it->entity, el);
    it->topic[el] = '.';
    memcpy(it->topic + el + 1, type, tl + 1);
    const char *fixed = it->fixed.data;
    uint8_t head[2] = {FORMAT_BYTE, (uint8_t)hkl};
    int rc = lx_buf_append(e, head, 2);
    rc = rc ? rc : lx_buf_append(e, hkey, hkl);
    it->event_head_len = e->len;
    rc = rc ? rc : lx_buf_puts(e, "{\"seq\":");
    rc = rc ? rc : buf_u64(e, seq);
    rc = rc ? rc : lx_buf_puts(e, ",\"id\":\"");
    rc = rc ? rc : lx_buf_append(e, eid, LX_ULID_LEN);
    /* The topic as a JSON string: the entity's, then ".type" (plain). */
    rc = rc ? rc : lx_buf_puts(e, "\",\"type\":");
    rc = rc ? rc : lx_buf_append(e, fixed, it->entity_end - 1);
    rc = rc ? rc : lx_buf_append(e, ".", 1);
    rc = rc ? rc : lx_buf_append(e, type, tl);
    rc = rc ? rc : lx_buf_puts(e, "\",\"entity\":");
    rc = rc ? rc : lx_buf_append(e, fixed, it->entity_end);
    rc = rc ? rc : lx_buf_puts(e, ",\"canonical_id\":\"");
    rc = rc ? rc : lx_buf_puts(e, cid);
    rc = rc ? rc : lx_buf_puts(e, "\",\"version\":");
    rc = rc ? rc : buf_u64(e, version);
    rc = rc ? rc : lx_buf_puts(e, ",\"time\":\"");
    rc = rc ? rc : lx_buf_puts(e, b->when);
    rc = rc ? rc : lx_buf_puts(e, "\",\"origin\":");
    rc = rc ? rc : lx_buf_append(e, fixed + it->entity_end,
                                 it->origin_end - it->entity_end);
    rc = rc ? rc : lx_buf_puts(e, ",\"changed\":[");
    rc = rc ? rc : lx_buf_append(e, changed, changed_len);
    rc = rc ? rc : lx_buf_puts(e, "],\"record\":");
    return rc;
}

/* History key of a version: "<entity>/<id>" 0 u64be(version). */
static size_t history_key(char *buf, size_t size, const char *entity,
                          const char *id, uint64_t version)
{
    size_t kl = record_key(buf, size - 9, entity, id);
    buf[kl] = '\0';
    lx_u64be_put((uint8_t *)buf + kl + 1, version);
    return kl + 9;
}

/* The record text inside a history value (format byte, u32be meta length,
 * meta, record). Returns false when the value is malformed. */
static bool history_record(const MDB_val *v, const char **text, size_t *len)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 5 || p[0] != FORMAT_BYTE)
        return false;
    size_t ml = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 |
                p[4];
    if (5 + ml > v->mv_size)
        return false;
    *text = (const char *)p + 5 + ml;
    *len = v->mv_size - 5 - ml;
    return true;
}

/* The text of a record's version, from history (valid until the next put
 * in this transaction). */
static int version_text(batch_ctx *b, const char *entity, const char *cid,
                        uint64_t version, const char **text, size_t *len)
{
    char hk[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 11];
    size_t hl = history_key(hk, sizeof(hk), entity, cid, version);
    MDB_val v;
    int rc = get(b, DB_HISTORY, hk, hl, &v);
    if (rc != 0)
        return rc;
    return history_record(&v, text, len) ? 0 : MDB_NOTFOUND;
}

/* Trace steps: "trace/<trace>/<step ulid>" holds the step, and
 * "tracetime/<step ulid>/<trace>" (empty) orders them by time for expiry.
 * Step ULIDs sort by time, so both are appended near the end. */
static int trace_put(batch_ctx *b, const char *trace, const char *step,
                     size_t len)
{
    char ulid[LX_ULID_SIZE], k[LX_STORE_KEY_MAX + 1];
    size_t tl = strlen(trace);
    if (10 + tl + 1 + LX_ULID_LEN > LX_STORE_KEY_MAX)
        return 0; /* an over-long trace id is simply not traced */
    lx_ulid_new(ulid);
    memcpy(k, "trace/", 6);
    memcpy(k + 6, trace, tl);
    k[6 + tl] = '/';
    memcpy(k + 7 + tl, ulid, LX_ULID_LEN);
    if (put(b, DB_STATE, k, 7 + tl + LX_ULID_LEN, step, len, 0) != 0)
        return BATCH_FATAL;
    memcpy(k, "tracetime/", 10);
    memcpy(k + 10, ulid, LX_ULID_LEN);
    k[10 + LX_ULID_LEN] = '/';
    memcpy(k + 11 + LX_ULID_LEN, trace, tl);
    return put(b, DB_STATE, k, 11 + LX_ULID_LEN + tl, "", 0, 0);
}

static int trace_change(batch_ctx *b, item *it, const char *step,
                        const char *cid, uint64_t version, uint64_t seq)
{
    if (!b->s->traces)
        return 0;
    lx_buf t;
    lx_buf_init(&t, 0);
    int rc = lx_buf_puts(&t, "{\"step\":\"");
    rc = rc ? rc : lx_buf_puts(&t, step);
    rc = rc ? rc : lx_buf_puts(&t, "\",\"time\":\"");
    rc = rc ? rc : lx_buf_puts(&t, b->when);
    rc = rc ? rc : lx_buf_puts(&t, "\",\"entity\":\"");
    rc = rc ? rc : lx_buf_puts(&t, it->entity);
    rc = rc ? rc : lx_buf_puts(&t, "\",\"canonical_id\":\"");
    rc = rc ? rc : lx_buf_puts(&t, cid);
    rc = rc ? rc : lx_buf_puts(&t, "\",\"version\":");
    rc = rc ? rc : buf_u64(&t, version);
    rc = rc ? rc : lx_buf_puts(&t, ",\"seq\":");
    rc = rc ? rc : buf_u64(&t, seq);
    /* From "system" on: made by the caller (prepare_fixed). */
    rc = rc ? rc : lx_buf_append(&t, it->fixed.data + it->history_end,
                                 it->fixed.len - it->history_end);
    LX_ASSERT(rc == 0);
    rc = trace_put(b, it->trace, t.data, t.len);
    lx_buf_fini(&t);
    return rc;
}

static int apply_change(batch_ctx *b, item *it)
{
    char cid[LX_STORE_ID_SIZE];
    bool found;
    int rc = resolve(b, it, cid, &found);
    if (rc != 0 || it->res.code != 0)
        return rc;

    char rkey[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    uint8_t hdr[REC_HDR_LEN];
    bool exists = false;
    if (found) {
        size_t kl = record_key(rkey, sizeof(rkey), it->entity, cid);
        MDB_val cur;
        rc = get(b, DB_RECORDS, rkey, kl, &cur);
        if (rc == BATCH_FATAL)
            return rc;
        exists = rc == 0 && cur.mv_size == REC_HDR_LEN &&
                 ((uint8_t *)cur.mv_data)[0] == FORMAT_BYTE;
        if (exists)
            memcpy(hdr, cur.mv_data, REC_HDR_LEN);
        if (!exists && it->canonical_id[0])
            return item_fail(it, LX_ENOTFOUND, "no %s record with this id",
                             it->entity);
    }
    if (!exists && it->kind == ITEM_DELETE)
        return item_fail(it, LX_ENOTFOUND, "no %s record to delete",
                         it->entity);
    if (!found) {
        char prefix[8], ulid[LX_ULID_SIZE];
        lx_store_id_prefix(it->entity, prefix);
        lx_ulid_new(ulid);
        snprintf(cid, sizeof(cid), "%s_%s", prefix, ulid);
    }
    size_t rkl = record_key(rkey, sizeof(rkey), it->entity, cid);

    uint64_t old_version = exists ? lx_u64be_get(hdr + 2) : 0;
    bool was_deleted = exists && (hdr[1] & REC_FLAG_DELETED);
    memcpy(it->res.canonical_id, cid, strlen(cid) + 1);
    memcpy(it->res.trace, it->trace, sizeof(it->trace));

    bool same = exists &&
                (it->kind == ITEM_DELETE
                     ? was_deleted
                     : !was_deleted &&
                           memcmp(hdr + 26, it->hash, LX_SHA256_LEN) == 0);
    if (same) {
        /* Idempotency and loop suppression: no version, no event. The
         * native id may still be new (a second system sent the same
         * content), so the cross-reference is linked. */
        it->res.unchanged = true;
        it->res.version = old_version;
        rc = link_xref(b, it, cid);
        return rc ? rc : trace_change(b, it, "unchanged", cid, old_version,
                                      0);
    }

    /* The previous text is needed for "changed" and, for a delete, as the
     * last content; copy it before any put invalidates map pointers. */
    char *old_text = NULL;
    size_t old_len = 0;
    if (exists) {
        const char *t;
        rc = version_text(b, it->entity, cid, old_version, &t, &old_len);
        if (rc == BATCH_FATAL)
            return rc;
        if (rc == 0)
            old_text = lx_xstrndup(t, old_len);
    }
    lx_buf changed;
    lx_buf_init(&changed, 0);
    if (old_text && !was_deleted && it->kind == ITEM_UPSERT) {
        json_t *o = lx_json_load_own(old_text, old_len, NULL);
        json_t *n = lx_json_load_own(it->text, it->text_len, NULL);
        if (o && n && lx_diff_pointers(o, n, CHANGED_MAX, &changed) < 0)
            lx_buf_reset(&changed);
        json_decref(o);
        json_decref(n);
    }
    const char *type = it->kind == ITEM_DELETE ? "deleted"
                       : (!exists || was_deleted) ? "created"
                                                  : "updated";
    uint64_t version = old_version + 1, seq = b->seq + 1;
    if (it->kind == ITEM_DELETE) {
        /* A delete's event carries the last content: kept with the item
         * for announce(). */
        free(it->text);
        it->text = old_text;
        it->text_len = old_len;
        old_text = NULL;
    }
    char hkey[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 11];
    size_t hkl = history_key(hkey, sizeof(hkey), it->entity, cid, version);
    if (build_event(b, it, cid, seq, version, type,
                    changed.data ? changed.data : "", changed.len, hkey,
                    hkl) != 0)
        LX_ASSERT(!"event buffer has no ceiling");
    lx_buf_fini(&changed);
    free(old_text);
    const char *rec_text = it->text ? it->text : "null";
    size_t rec_len = it->text ? it->text_len : 4;

    /* The record text is stored once, in its history entry; the current
     * record and the event refer to it. That halves the bytes written per
     * change, and the bytes synced are what a durable commit costs. */
    uint8_t v[REC_HDR_LEN];
    v[0] = FORMAT_BYTE;
    v[1] = it->kind == ITEM_DELETE ? REC_FLAG_DELETED : 0;
    lx_u64be_put(v + 2, version);
    lx_u64be_put(v + 10, b->now);
    lx_u64be_put(v + 18, seq);
    memcpy(v + 26, it->kind == ITEM_DELETE ? hdr + 26 : it->hash,
           LX_SHA256_LEN);

    /* History entry: format byte, u32 meta length, meta JSON, record. */
    lx_buf h;
    lx_buf_init(&h, 0);
    char hex[LX_SHA256_HEX_SIZE];
    lx_hex(v + 26, LX_SHA256_LEN, hex);
    rc = lx_buf_append(&h, "\x01\0\0\0\0{\"version\":", 16);
    rc = rc ? rc : buf_u64(&h, version);
    rc = rc ? rc : lx_buf_puts(&h, ",\"time\":\"");
    rc = rc ? rc : lx_buf_puts(&h, b->when);
    rc = rc ? rc : lx_buf_puts(&h, it->kind == ITEM_DELETE
                                       ? "\",\"op\":\"delete\",\"seq\":"
                                       : "\",\"op\":\"upsert\",\"seq\":");
    rc = rc ? rc : buf_u64(&h, seq);
    rc = rc ? rc : lx_buf_puts(&h, ",\"hash\":\"");
    rc = rc ? rc : lx_buf_append(&h, hex, 2 * LX_SHA256_LEN);
    rc = rc ? rc : lx_buf_puts(&h, "\",");
    rc = rc ? rc : lx_buf_append(&h, it->fixed.data + it->origin_end,
                                 it->history_end - it->origin_end);
    LX_ASSERT(rc == 0);
    size_t ml = h.len - 5;
    h.data[1] = (char)(ml >> 24);
    h.data[2] = (char)(ml >> 16);
    h.data[3] = (char)(ml >> 8);
    h.data[4] = (char)ml;
    rc = lx_buf_append(&h, rec_text, rec_len);
    LX_ASSERT(rc == 0);

    rc = put(b, DB_RECORDS, rkey, rkl, v, sizeof(v), 0);
    rc = rc ? rc : put(b, DB_HISTORY, hkey, hkl, h.data, h.len, 0);
    if (rc == 0) {
        uint8_t ek[8];
        lx_u64be_put(ek, seq);
        /* Sequences only grow, so the log is appended in key order. */
        rc = put(b, DB_EVENTS, ek, 8, it->event.data, it->event.len,
                 MDB_APPEND);
    }
    lx_buf_fini(&h);
    rc = rc ? rc : link_xref(b, it, cid);
    if (it->kind == ITEM_UPSERT) {
        for (size_t i = 0; rc == 0 && i < it->ident_count; i++)
            rc = put(b, DB_IDENT, it->idents[i].key, it->idents[i].len, cid,
                     strlen(cid), MDB_NOOVERWRITE);
    }
    rc = rc ? rc : trace_change(b, it, type, cid, version, seq);
    if (rc != 0)
        return rc;
    b->seq = seq;
    it->res.version = version;
    it->res.seq = seq;
    /* Writing over a deleted record creates it again, for subscribers
     * (the event is "created") and for the caller alike. */
    it->res.created = !exists || was_deleted;
    return 0;
}

static void reset_results(item *list)
{
    for (item *it = list; it; it = it->next) {
        memset(&it->res, 0, sizeof(it->res));
        lx_buf_reset(&it->event);
        it->topic[0] = '\0';
        reset_results(it->members);
    }
}

/* A group is all or nothing: its changes run in a nested transaction that
 * is merged into the batch only when every one of them applied. */
static int apply_group(batch_ctx *b, item *g)
{
    MDB_txn *parent = b->txn, *child = NULL;
    int rc = mdb_txn_begin(b->s->env, parent, 0, &child);
    if (rc != 0) {
        b->mdb_rc = rc;
        return BATCH_FATAL;
    }
    uint64_t seq0 = b->seq;
    size_t records0 = b->records ? b->records->len : 0;
    b->txn = child;
    item *failed = NULL;
    size_t index = 0, failed_index = 0;
    for (item *m = g->members; m; m = m->next, index++) {
        int r = m->kind == ITEM_LINK ? apply_link(b, m)
                                     : apply_change(b, m);
        if (r == BATCH_FATAL) {
            mdb_txn_abort(child);
            b->txn = parent;
            return BATCH_FATAL;
        }
        if (m->res.code != 0) {
            failed = m;
            failed_index = index;
            break;
        }
    }
    b->txn = parent;
    if (!failed) {
        rc = mdb_txn_commit(child);
        if (rc != 0) {
            b->mdb_rc = rc;
            return BATCH_FATAL;
        }
        return 0;
    }
    mdb_txn_abort(child);
    b->seq = seq0;
    if (b->records) /* nothing of the group reaches the log either */
        b->records->len = records0;
    for (item *m = g->members; m; m = m->next) {
        if (m == failed)
            continue;
        memset(&m->res, 0, sizeof(m->res));
        lx_buf_reset(&m->event);
        item_fail(m, LX_ECONFLICT, "not applied: change %zu of the group "
                                   "failed",
                  failed_index);
    }
    g->res.code = failed->res.code;
    g->res.err = failed->res.err;
    return 0;
}

/* Grow the map for a MDB_MAP_FULL. Returns false at the ceiling. */
static bool grow_map(lx_store *s)
{
    if (s->map_size >= s->max_map_size)
        return false;
    size_t next = s->map_size * 2;
    if (next > s->max_map_size || next < s->map_size)
        next = s->max_map_size;
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = mdb_env_set_mapsize(s->env, next);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc != 0) {
        lx_log_error(NULL, "store: cannot grow the map to %zu MiB: %s",
                     next >> 20, mdb_strerror(rc));
        return false;
    }
    lx_log_info(NULL, "store: map grown from %zu to %zu MiB",
                s->map_size >> 20, next >> 20);
    s->map_size = next;
    return true;
}

/* Apply a list of items in one transaction. Returns 0 when committed, or
 * the LMDB error that made the whole batch fail (results reset). */
static int run_batch(lx_store *s, item *list, lx_buf *records,
                     uint64_t *txnid)
{
    batch_ctx b = {.s = s, .seq = atomic_load(&s->last_seq),
                   .records = records};
    if (records)
        lx_buf_reset(records);
    int rc = mdb_txn_begin(s->env, NULL, 0, &b.txn);
    if (rc == MDB_MAP_RESIZED) {
        pthread_rwlock_wrlock(&s->map_lock);
        mdb_env_set_mapsize(s->env, 0);
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) == 0)
            s->map_size = info.me_mapsize;
        pthread_rwlock_unlock(&s->map_lock);
        rc = mdb_txn_begin(s->env, NULL, 0, &b.txn);
    }
    if (rc != 0)
        return rc;
    b.now = lx_now_ms();
    lx_time_format(b.now, b.when);
    for (item *it = list; it; it = it->next) {
        int r = it->kind == ITEM_CURSOR ? apply_cursor(&b, it)
                : it->kind == ITEM_LINK ? apply_link(&b, it)
                : it->kind == ITEM_GROUP ? apply_group(&b, it)
                : it->kind == ITEM_STATE ? apply_state(&b, it)
                : it->kind == ITEM_COUNTER ? apply_counter(&b, it)
                : it->kind == ITEM_MANY ? apply_many(&b, it)
                                         : apply_change(&b, it);
        if (r == BATCH_FATAL) {
            mdb_txn_abort(b.txn);
            reset_results(list);
            return b.mdb_rc;
        }
    }
    *txnid = mdb_txn_id(b.txn);
    rc = mdb_txn_commit(b.txn);
    if (rc != 0) {
        reset_results(list);
        return rc;
    }
    atomic_store(&s->last_seq, b.seq);
    return 0;
}

static void fail_all(item *list, int mdb_rc)
{
    for (item *it = list; it; it = it->next)
        mdb_fail(&it->res.err, mdb_rc,
                 mdb_rc == MDB_MAP_FULL ? "the store is full (map size "
                                          "ceiling reached)"
                 : mdb_rc == ENOSPC     ? "the disk is full"
                                        : "cannot commit");
    for (item *it = list; it; it = it->next) {
        it->res.code = it->res.err.code;
        if (it->members)
            fail_all(it->members, mdb_rc);
    }
}

/* Publish the events of committed changes, in order, and count them.
 * The event text is put together here, on the completer thread: its
 * stored part, then the record text and the closing brace. */
static void announce(lx_store *s, item *list, bool committed, uint64_t *ups,
                     uint64_t *same, lx_buf *text)
{
    for (item *it = list; it; it = it->next) {
        if (it->kind == ITEM_GROUP) {
            announce(s, it->members, committed, ups, same, text);
            continue;
        }
        if (committed && it->res.code == 0 && it->res.seq && s->event_fn) {
            lx_buf_reset(text);
            int rc = lx_buf_append(text, it->event.data + it->event_head_len,
                                   it->event.len - it->event_head_len);
            rc = rc ? rc
                    : lx_buf_append(text, it->text ? it->text : "null",
                                    it->text ? it->text_len : 4);
            rc = rc ? rc : lx_buf_append(text, "}", 1);
            LX_ASSERT(rc == 0); /* no ceiling */
            s->event_fn(s->event_ctx, it->res.seq, it->topic, text->data,
                        text->len);
        }
        if (it->res.code == 0 &&
            (it->kind == ITEM_UPSERT || it->kind == ITEM_DELETE))
            it->res.unchanged ? (*same)++ : (*ups)++;
    }
}

static void complete_group(item *g)
{
    if (!g->group_done) { /* a group of links: one answer for all */
        g->done(g->ctx, &g->res);
        return;
    }
    lx_upsert_result *results = lx_xcalloc(g->member_count, sizeof(*results));
    size_t i = 0;
    for (item *m = g->members; m; m = m->next)
        results[i++] = m->res;
    g->group_done(g->ctx, results, g->member_count);
    free(results);
}

static void finish(lx_store *s, item *list, bool committed)
{
    uint64_t ups = 0, same = 0;
    lx_buf text;
    lx_buf_init(&text, 0);
    announce(s, list, committed, &ups, &same, &text);
    lx_buf_fini(&text);
    atomic_fetch_add(&s->upserts, ups);
    atomic_fetch_add(&s->unchanged, same);
    while (list) {
        item *next = list->next;
        if (list->kind == ITEM_GROUP)
            complete_group(list);
        else
            list->done(list->ctx, &list->res);
        item_free(list);
        list = next;
    }
}

/* Writer thread: queue a finished batch for the completer. */
static void queue_done(lx_store *s, item *list, bool committed, bool wake)
{
    batch *bt = lx_xcalloc(1, sizeof(*bt));
    bt->items = list;
    bt->committed = committed;
    pthread_mutex_lock(&s->done_mu);
    if (s->done_tail)
        s->done_tail->next = bt;
    else
        s->done_head = bt;
    s->done_tail = bt;
    if (wake)
        pthread_cond_signal(&s->done_cv);
    pthread_mutex_unlock(&s->done_mu);
}

static void hand_over(lx_store *s, item *list, bool committed)
{
    queue_done(s, list, committed, true);
}

/* Run the queued completions, in order, until none is left. With
 * done_mu held; returns with it held. Only one thread at a time. */
static void complete_locked(lx_store *s)
{
    s->completing = true;
    for (;;) {
        batch *bt = s->done_head;
        s->done_head = s->done_tail = NULL;
        if (!bt)
            break;
        pthread_mutex_unlock(&s->done_mu);
        while (bt) {
            batch *next = bt->next;
            finish(s, bt->items, bt->committed);
            free(bt);
            bt = next;
        }
        pthread_mutex_lock(&s->done_mu);
    }
    s->completing = false;
    pthread_cond_broadcast(&s->done_cv);
}

/* A sync thread, right after its sync made transactions durable:
 * answers them itself rather than wake the completer thread, which
 * under load can wait a while for a CPU; if a thread is completing
 * already, it takes these too. */
static void complete_here(lx_store *s)
{
    pthread_mutex_lock(&s->done_mu);
    if (!s->completing && s->done_head)
        complete_locked(s);
    pthread_mutex_unlock(&s->done_mu);
}

/* Completer thread: events go out and callers are woken in commit order. */
static void *completer_main(void *arg)
{
    lx_store *s = arg;
    pthread_mutex_lock(&s->done_mu);
    for (;;) {
        while ((!s->done_head || s->completing) && !s->done_stop)
            pthread_cond_wait(&s->done_cv, &s->done_mu);
        while (s->completing) /* stopping: let that thread finish */
            pthread_cond_wait(&s->done_cv, &s->done_mu);
        if (!s->done_head)
            break; /* stopping, and everything was completed */
        complete_locked(s);
    }
    pthread_mutex_unlock(&s->done_mu);
    return NULL;
}

/* Durability (MDB_NOMETASYNC): a commit syncs its data pages, then writes
 * its meta page without syncing it. The next commit's data sync, or an
 * explicit sync when the queue runs dry, makes that meta page durable.
 * So a committed batch waits in `unsynced` until then, and only then are
 * its callers answered and its events published: one flush per commit
 * instead of two, and nothing is acknowledged before it is on disk. */
static void release_unsynced(lx_store *s)
{
    if (!s->unsynced)
        return;
    atomic_store(&s->durable_seq, s->unsynced_seq);
    hand_over(s, s->unsynced, true);
    s->unsynced = NULL;
}

static void sync_unsynced(lx_store *s)
{
    if (!s->unsynced)
        return;
    int rc = mdb_env_sync(s->env, 1);
    if (rc != 0) {
        /* The data is committed but its durability is unknown: the
         * callers are told so instead of being acknowledged. */
        lx_log_error(NULL, "store: sync failed: %s", mdb_strerror(rc));
        for (item *it = s->unsynced; it; it = it->next)
            it->res.code = mdb_fail(&it->res.err, rc, "cannot sync");
    }
    release_unsynced(s);
}

/* ---- durability: checkpoints, baselines, the log thread ---- */

/* Both LMDB meta pages, as they are in the file now. */
static int read_metas(lx_store *s, uint8_t *out)
{
    mdb_filehandle_t fd;
    int rc = mdb_env_get_fd(s->env, &fd);
    if (rc != 0)
        return rc;
    size_t len = 2 * s->page_size, done = 0;
    while (done < len) {
        ssize_t n = pread(fd, out + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        done += (size_t)n;
    }
    return 0;
}

/* Start the write-back of the data file 1 MiB at a time, waiting for
 * each: one fdatasync of hundreds of MiB of scattered pages would queue
 * them all at once ahead of the log's small syncs, whose latency is what
 * the callers wait for (64 writers on bench_store: p99 17.5 ms with 4 MiB
 * chunks, 8.5 - 10.4 ms with 1 MiB; 256 KiB gains nothing more). The fdatasync that follows still makes it all
 * durable; this only paces it. */
#define WRITEBACK_CHUNK ((off_t)1 << 20)
static void writeback_gently(lx_store *s)
{
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
        return;
    for (off_t off = 0; off < st.st_size; off += WRITEBACK_CHUNK)
        if (sync_file_range(fd, off, WRITEBACK_CHUNK,
                            SYNC_FILE_RANGE_WAIT_BEFORE |
                                SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            return;
}

/* Make LMDB durable up to its newest transaction and pin that snapshot.
 * The meta pages are read while holding LMDB's write lock (no commit of
 * any process in between) and before the sync, so they describe a
 * snapshot the sync makes durable; the new pin keeps its pages (and every
 * later snapshot's) from reuse. `also_sync_first` syncs under the lock
 * (a non-owner: its baseline must include the owner's unsynced commits
 * that its meta pages point past). */
static int snapshot_durable(lx_store *s, bool sync_under_lock, uint8_t *metas,
                            MDB_txn **pin, lx_error *err)
{
    MDB_txn *w = NULL;
    *pin = NULL;
    pthread_rwlock_rdlock(&s->map_lock); /* no map growth meanwhile */
    int rc = mdb_txn_begin(s->env, NULL, 0, &w);
    if (rc == 0 && sync_under_lock)
        rc = mdb_env_sync(s->env, 1);
    if (rc == 0)
        rc = read_metas(s, metas);
    if (rc == 0)
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, pin);
    if (w)
        mdb_txn_abort(w);
    pthread_rwlock_unlock(&s->map_lock);
    if (rc == 0 && !sync_under_lock) {
        writeback_gently(s);
        rc = mdb_env_sync(s->env, 1);
    }
    if (rc != 0) {
        if (*pin)
            mdb_txn_abort(*pin);
        *pin = NULL;
        return mdb_fail(err, rc, "cannot checkpoint the store");
    }
    return 0;
}

/* A checkpoint: record the newest snapshot as durable and pin it, the old
 * pin going only once the new record is durable. The owner of the log
 * records it in the log (see docs/store.md); a second writer (SHARED), after
 * its fully synced commit, records a baseline in wal-base that the
 * owner's recovery must not go below. */
static int checkpoint(lx_store *s, bool clean, lx_error *err)
{
    bool owner = s->mode != MODE_SHARED;
    uint8_t *metas = lx_xmalloc(2 * s->page_size);
    MDB_txn *pin;
    int rc = snapshot_durable(s, !owner, metas, &pin, err);
    if (rc == 0) {
        uint64_t txnid = mdb_txn_id(pin);
        rc = owner ? lx_wal_checkpoint(s->wal, txnid, metas, s->page_size,
                                       &s->origin, clean, err)
                   : lx_wal_base_write(s->path, txnid, metas, s->page_size,
                                       err);
        if (rc != 0) {
            mdb_txn_abort(pin);
        } else {
            if (s->pin)
                mdb_txn_abort(s->pin);
            s->pin = pin;
        }
    }
    free(metas);
    return rc;
}

/* Committed but not durable: the callers are told, not acknowledged. */
static void refuse(item *list, const lx_error *e)
{
    for (item *it = list; it; it = it->next) {
        it->res.code = e->code;
        it->res.err = *e;
        refuse(it->members, e);
    }
}

static void request_checkpoint(lx_store *s)
{
    pthread_mutex_lock(&s->ck_mu);
    s->ck_request = true;
    pthread_cond_signal(&s->ck_cv);
    pthread_mutex_unlock(&s->ck_mu);
}

/* Write one transaction to the log (the writer thread, right after the
 * commit). When the ring has no room, a checkpoint frees it, or covers
 * this transaction (one too large for the ring is made durable that way):
 * the writer waits meanwhile, which is the back pressure. */
static int log_write(lx_store *s, uint64_t txnid, const lx_buf *records,
                     bool *wrote, lx_error *err)
{
    for (;;) {
        if (s->log_failed)
            return lx_error_set(err, LX_EIO, "%s", s->log_err.msg);
        int rc = lx_wal_append(s->wal, txnid, records->data, records->len,
                               err);
        if (rc == 0) {
            *wrote = true;
            if (lx_wal_pending(s->wal) > s->wal_size / 4)
                request_checkpoint(s);
            return 0;
        }
        if (rc != LX_EFULL)
            return rc;
        if (lx_wal_checkpoint_txnid(s->wal) >= txnid)
            return 0;
        request_checkpoint(s);
        lx_wal_wait_checkpoint(s->wal, 1000);
    }
}

/* With log_mu held. */
static void log_fail_locked(lx_store *s, const lx_error *err)
{
    if (s->log_failed)
        return;
    s->log_err = *err;
    lx_error_prefix(&s->log_err, "the store refuses writes until restarted");
    s->log_failed = true;
    lx_log_error(NULL, "store: %s", s->log_err.msg);
}

static void log_fail(lx_store *s, const lx_error *err)
{
    pthread_mutex_lock(&s->log_mu);
    log_fail_locked(s, err);
    pthread_mutex_unlock(&s->log_mu);
}

/* With log_mu held: answer, in commit order, every transaction whose log
 * write is durable (or, once the log failed, refuse the others). */
static void log_drain_locked(lx_store *s, bool wake)
{
    while (s->log_head && (s->log_head->index <= s->durable_index ||
                           s->log_failed)) {
        logged_txn *t = s->log_head;
        s->log_head = t->next;
        if (!s->log_head)
            s->log_tail = NULL;
        bool ok = t->committed && t->index <= s->durable_index;
        if (ok)
            atomic_store(&s->durable_seq, t->seq);
        else if (t->committed)
            refuse(t->items, &s->log_err);
        queue_done(s, t->items, ok, wake);
        free(t);
    }
}

/* Queue a transaction for acknowledgement once the log is durable up to
 * what has been written so far (its own group, when `wrote`). */
static void log_push(lx_store *s, item *list, bool ok, bool wrote)
{
    logged_txn *t = lx_xcalloc(1, sizeof(*t));
    t->items = list;
    t->committed = ok;
    t->seq = atomic_load(&s->last_seq);
    pthread_mutex_lock(&s->log_mu);
    if (wrote)
        s->written_index++;
    t->index = s->written_index;
    if (s->log_tail)
        s->log_tail->next = t;
    else
        s->log_head = t;
    s->log_tail = t;
    log_drain_locked(s, true);
    pthread_cond_signal(&s->log_cv);
    pthread_mutex_unlock(&s->log_mu);
}

/* Sync threads (LOG_SYNCERS): each fdatasync makes durable every group
 * written before it started, so while one is in flight the next one may
 * start for the groups written since; two in flight cost the disk little
 * more than one and halve the wait of the groups that just missed one. */
static void *syncer_main(void *arg)
{
    lx_store *s = arg;
    pthread_mutex_lock(&s->log_mu);
    for (;;) {
        while (s->written_index == s->claimed_index && !s->log_stop)
            pthread_cond_wait(&s->log_cv, &s->log_mu);
        if (s->written_index == s->claimed_index)
            break; /* stopping, and every group is synced or being synced */
        uint64_t target = s->written_index;
        s->claimed_index = target;
        pthread_cond_signal(&s->claim_cv);
        pthread_mutex_unlock(&s->log_mu);
        lx_error err;
        lx_error_clear(&err);
        int rc = lx_wal_sync(s->wal, &err);
        pthread_mutex_lock(&s->log_mu);
        if (rc != 0)
            log_fail_locked(s, &err);
        else if (target > s->durable_index)
            s->durable_index = target;
        log_drain_locked(s, false);
        pthread_mutex_unlock(&s->log_mu);
        complete_here(s);
        pthread_mutex_lock(&s->log_mu);
    }
    pthread_mutex_unlock(&s->log_mu);
    return NULL;
}

/* Checkpoint thread: every checkpoint_ms when something was committed
 * since the last one, or at once when the log asks for room. */
static void *checkpointer_main(void *arg)
{
    lx_store *s = arg;
    pthread_mutex_lock(&s->ck_mu);
    while (!s->ck_stop) {
        if (!s->ck_request) {
            struct timespec until;
            lx_wal_deadline(&until, s->checkpoint_ms);
            pthread_cond_timedwait(&s->ck_cv, &s->ck_mu, &until);
            if (s->ck_stop)
                break;
        }
        s->ck_request = false;
        pthread_mutex_unlock(&s->ck_mu);
        if (atomic_load(&s->last_txnid) > lx_wal_checkpoint_txnid(s->wal)) {
            lx_error err;
            lx_error_clear(&err);
            if (checkpoint(s, false, &err) != 0)
                log_fail(s, &err);
        }
        pthread_mutex_lock(&s->ck_mu);
    }
    pthread_mutex_unlock(&s->ck_mu);
    return NULL;
}

static void committed(lx_store *s, item *list, uint64_t txnid,
                      lx_buf *records)
{
    atomic_fetch_add(&s->commits, 1);
    atomic_store(&s->last_txnid, txnid);
    switch (s->mode) {
    case MODE_NOSYNC:
        atomic_store(&s->durable_seq, atomic_load(&s->last_seq));
        hand_over(s, list, true);
        return;
    case MODE_WAL: {
        lx_error err;
        lx_error_clear(&err);
        bool wrote = false;
        if (records->len && log_write(s, txnid, records, &wrote, &err) != 0)
            log_fail(s, &err);
        log_push(s, list, true, wrote);
        return;
    }
    case MODE_SHARED: {
        lx_error err;
        lx_error_clear(&err);
        if (checkpoint(s, false, &err) != 0) {
            lx_log_error(NULL, "store: %s", err.msg);
            refuse(list, &err);
            hand_over(s, list, false);
            return;
        }
        atomic_store(&s->durable_seq, atomic_load(&s->last_seq));
        hand_over(s, list, true);
        return;
    }
    case MODE_LMDB:
        /* This commit synced its data, and with it the previous meta
         * page. */
        release_unsynced(s);
        s->unsynced = list;
        s->unsynced_seq = atomic_load(&s->last_seq);
        return;
    }
}

/* A batch that failed: answered in order with the others. */
static void failed(lx_store *s, item *list)
{
    if (s->mode == MODE_WAL)
        log_push(s, list, false, false);
    else
        hand_over(s, list, false);
}

static void process(lx_store *s, item *list)
{
    if (s->log_failed) {
        refuse(list, &s->log_err);
        failed(s, list);
        return;
    }
    lx_buf records;
    lx_buf_init(&records, 0);
    for (;;) {
        uint64_t txnid = 0;
        int rc = run_batch(s, list, s->mode == MODE_WAL ? &records : NULL,
                           &txnid);
        if (rc == 0) {
            committed(s, list, txnid, &records);
            break;
        }
        if (rc == MDB_MAP_FULL && grow_map(s))
            continue;
        if (rc == MDB_MAP_FULL && list->next) {
            /* At the ceiling: one item may still fit on its own, so a big
             * record does not fail its whole batch. */
            while (list) {
                item *next = list->next;
                list->next = NULL;
                process(s, list);
                list = next;
            }
            break;
        }
        lx_log_error(NULL, "store: commit failed: %s", mdb_strerror(rc));
        sync_unsynced(s);
        fail_all(list, rc);
        failed(s, list);
        break;
    }
    lx_buf_fini(&records);
}

/* WAL: while a logged group still waits for a sync to start (every sync
 * thread busy), a group logged now would be synced by the same next
 * sync: nothing is gained by committing it apart. The writer waits until
 * that sync starts, meanwhile the queue fills, so the next transaction
 * takes more changes at once: fewer commits (LMDB's per-commit pages,
 * the log's per-group padding) for the same latency. Bounded: a full
 * batch queued, or 20 ms, ends the wait. */
#define LOG_WAIT_MS 20
static void wait_for_log(lx_store *s)
{
    if (s->mode != MODE_WAL)
        return;
    struct timespec until;
    bool timed = false;
    pthread_mutex_lock(&s->log_mu);
    while (s->written_index > s->claimed_index && !s->log_failed &&
           !s->log_stop && atomic_load(&s->queued) < s->max_batch) {
        if (!timed) {
            lx_wal_deadline(&until, LOG_WAIT_MS);
            timed = true;
        }
        if (pthread_cond_timedwait(&s->claim_cv, &s->log_mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&s->log_mu);
}

static void *writer_main(void *arg)
{
    lx_store *s = arg;
    for (;;) {
        wait_for_log(s);
        pthread_mutex_lock(&s->mu);
        if (!s->head && s->unsynced) {
            /* Nothing more to commit: make the last commit durable. */
            pthread_mutex_unlock(&s->mu);
            sync_unsynced(s);
            continue;
        }
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->head) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        item *list = s->head, *last = list;
        size_t n = 1;
        while (last->next && n < s->max_batch) {
            last = last->next;
            n++;
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        atomic_fetch_sub(&s->queued, n);
        pthread_mutex_unlock(&s->mu);
        process(s, list);
    }
    return NULL;
}

/* ---- reads ---- */

int lx_store_get(lx_store *s, const char *entity, const char *id,
                 json_t **record, lx_record_meta *meta, lx_error *err)
{
    *record = NULL;
    char k[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    if (strlen(entity) > LX_STORE_NAME_MAX || strlen(id) >= LX_STORE_ID_SIZE)
        return lx_error_set(err, LX_ENOTFOUND, "no %s record with this id",
                            "such");
    size_t kl = record_key(k, sizeof(k), entity, id);
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_val key = {kl, k}, v;
    rc = mdb_get(txn, s->dbi[DB_RECORDS], &key, &v);
    if (rc == 0 && v.mv_size == REC_HDR_LEN) {
        const uint8_t *h = v.mv_data;
        uint64_t version = lx_u64be_get(h + 2);
        if (meta) {
            meta->deleted = h[1] & REC_FLAG_DELETED;
            meta->version = version;
            meta->time_ms = lx_u64be_get(h + 10);
            meta->seq = lx_u64be_get(h + 18);
            memcpy(meta->hash, h + 26, LX_SHA256_LEN);
        }
        char hk[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 11];
        MDB_val hkey = {history_key(hk, sizeof(hk), entity, id, version), hk};
        MDB_val hv;
        const char *text = NULL;
        size_t len = 0;
        rc = mdb_get(txn, s->dbi[DB_HISTORY], &hkey, &hv);
        if (rc == 0 && history_record(&hv, &text, &len)) {
            json_error_t je;
            *record = lx_json_load_own(text, len, &je);
            rc = *record ? 0 : lx_error_set(err, LX_ESTORE,
                                            "stored record is not JSON: %s",
                                            je.text);
        } else {
            rc = lx_error_set(err, LX_ESTORE, "the history entry of the "
                                              "current version is missing");
        }
    } else if (rc == MDB_NOTFOUND) {
        rc = lx_error_set(err, LX_ENOTFOUND, "no %s record with this id",
                          entity);
    } else {
        rc = mdb_fail(err, rc, "cannot read record");
    }
    read_end(s, txn);
    return rc;
}

/* Call fn for every entry of db whose key starts with "<entity>/<id>" 0
 * (a record's history versions, its reverse cross-references), with the
 * rest of the key and the value (valid during the call). */
typedef void (*scan_fn)(void *ctx, const char *rest, size_t rest_len,
                        const MDB_val *value);

static int scan_record(lx_store *s, int db, const char *entity,
                       const char *id, scan_fn fn, void *ctx,
                       const char *what, lx_error *err)
{
    char k[LX_STORE_NAME_MAX + LX_STORE_ID_SIZE + 2];
    if (strlen(entity) > LX_STORE_NAME_MAX || strlen(id) >= LX_STORE_ID_SIZE)
        return lx_error_set(err, LX_ENOTFOUND, "no such record");
    size_t kl = record_key(k, sizeof(k), entity, id);
    k[kl] = '\0';
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_cursor *c = NULL;
    rc = mdb_cursor_open(txn, s->dbi[db], &c);
    MDB_val key = {kl + 1, k}, v;
    if (rc == 0)
        rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size > kl + 1 &&
           memcmp(key.mv_data, k, kl + 1) == 0) {
        fn(ctx, (const char *)key.mv_data + kl + 1, key.mv_size - kl - 1, &v);
        rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    if (c)
        mdb_cursor_close(c);
    read_end(s, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return mdb_fail(err, rc, what);
    return 0;
}

static void add_version(void *ctx, const char *rest, size_t rest_len,
                        const MDB_val *v)
{
    (void)rest; /* the version number: the value says it too */
    const uint8_t *p = v->mv_data;
    if (rest_len != 8 || v->mv_size < 5 || p[0] != FORMAT_BYTE)
        return;
    size_t ml = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 |
                p[4];
    if (5 + ml > v->mv_size)
        return;
    json_t *m = lx_json_load_own((const char *)p + 5, ml, NULL);
    json_t *r = lx_json_load_own((const char *)p + 5 + ml,
                                 v->mv_size - 5 - ml, NULL);
    if (m) {
        json_object_set_new(m, "record", r ? r : json_null());
        json_array_append_new(ctx, m);
    } else {
        json_decref(r);
    }
}

int lx_store_history(lx_store *s, const char *entity, const char *id,
                     json_t **out, lx_error *err)
{
    *out = NULL;
    json_t *arr = json_array();
    int rc = scan_record(s, DB_HISTORY, entity, id, add_version, arr,
                         "cannot read history", err);
    if (rc == 0 && json_array_size(arr) == 0)
        rc = lx_error_set(err, LX_ENOTFOUND, "no %s record with this id",
                          entity);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int lx_store_xref_find(lx_store *s, const char *system,
                       const char *native_type, const char *native_id,
                       char *entity, char *id, lx_error *err)
{
    entity[0] = id[0] = '\0';
    if (strlen(system) > LX_STORE_NAME_MAX ||
        strlen(native_type) > LX_STORE_NAME_MAX ||
        strlen(native_id) > LX_STORE_NATIVE_ID_MAX)
        return lx_error_set(err, LX_ENOTFOUND, "no cross-reference");
    char k[KEY_MAX];
    size_t kl = join_key(k, sizeof(k), system, native_type, native_id);
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_val key = {kl, k}, v;
    rc = mdb_get(txn, s->dbi[DB_XREF], &key, &v);
    if (rc == 0) {
        const char *p = v.mv_data;
        size_t el = strnlen(p, v.mv_size);
        if (el < v.mv_size && el <= LX_STORE_NAME_MAX &&
            v.mv_size - el - 1 < LX_STORE_ID_SIZE) {
            memcpy(entity, p, el);
            entity[el] = '\0';
            memcpy(id, p + el + 1, v.mv_size - el - 1);
            id[v.mv_size - el - 1] = '\0';
        } else {
            rc = lx_error_set(err, LX_ESTORE, "malformed cross-reference");
        }
    } else if (rc == MDB_NOTFOUND) {
        rc = lx_error_set(err, LX_ENOTFOUND,
                          "no cross-reference for this native id");
    } else {
        rc = mdb_fail(err, rc, "cannot read cross-reference");
    }
    read_end(s, txn);
    return rc;
}

static void add_xref(void *ctx, const char *rest, size_t rest_len,
                     const MDB_val *v)
{
    size_t sl = strnlen(rest, rest_len);
    if (sl >= rest_len)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "system", json_stringn(rest, sl));
    json_object_set_new(o, "native_type",
                        json_stringn(rest + sl + 1, rest_len - sl - 1));
    json_object_set_new(o, "native_id", json_stringn(v->mv_data, v->mv_size));
    json_array_append_new(ctx, o);
}

int lx_store_xref_list(lx_store *s, const char *entity, const char *id,
                       json_t **out, lx_error *err)
{
    *out = NULL;
    json_t *arr = json_array();
    int rc = scan_record(s, DB_XREV, entity, id, add_xref, arr,
                         "cannot read cross-references", err);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int lx_store_ident_find(lx_store *s, const char *entity, const char *system,
                        const char *value, char *id, lx_error *err)
{
    id[0] = '\0';
    ident k;
    if (strlen(entity) > LX_STORE_NAME_MAX)
        return lx_error_set(err, LX_ENOTFOUND, "no such identifier");
    ident_key(&k, entity, system, strlen(system), value, strlen(value));
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_val key = {k.len, k.key}, v;
    rc = mdb_get(txn, s->dbi[DB_IDENT], &key, &v);
    if (rc == 0 && v.mv_size < LX_STORE_ID_SIZE) {
        memcpy(id, v.mv_data, v.mv_size);
        id[v.mv_size] = '\0';
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = lx_error_set(err, LX_ENOTFOUND, "no %s record with this "
                          "identifier", entity);
    } else {
        rc = mdb_fail(err, rc, "cannot read identifier index");
    }
    read_end(s, txn);
    return rc;
}

/* An event is stored as: format byte, history key length and key, the
 * event text up to "record":. The record text comes from history, where
 * it is stored once; this puts the whole event back together in out. */
static int event_assemble(lx_store *s, MDB_txn *txn, const MDB_val *v,
                          lx_buf *out)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 2 || p[0] != FORMAT_BYTE || 2u + p[1] > v->mv_size)
        return MDB_CORRUPTED;
    MDB_val hk = {p[1], (void *)(p + 2)}, hv;
    int rc = mdb_get(txn, s->dbi[DB_HISTORY], &hk, &hv);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
    const char *text;
    size_t len;
    if (!history_record(&hv, &text, &len))
        return MDB_CORRUPTED;
    lx_buf_reset(out);
    size_t head = 2u + p[1];
    if (lx_buf_append(out, p + head, v->mv_size - head) != 0 ||
        lx_buf_append(out, text, len) != 0 || lx_buf_append(out, "}", 1) != 0)
        return MDB_CORRUPTED;
    return 0;
}

int lx_store_events(lx_store *s, uint64_t from, size_t max_count,
                    lx_store_each_event_fn fn, void *ctx, uint64_t *next,
                    lx_error *err)
{
    if (next)
        *next = from;
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->dbi[DB_EVENTS], &c);
    if (rc != 0) {
        read_end(s, txn);
        return mdb_fail(err, rc, "cannot read the event log");
    }
    uint8_t k[8];
    lx_u64be_put(k, from);
    MDB_val key = {8, k}, v;
    size_t n = 0;
    lx_buf text;
    lx_buf_init(&text, 0);
    /* A writer's events become visible once durable: no subscriber or
     * delivery may act on a change a crash could still undo. */
    uint64_t visible = s->read_only ? UINT64_MAX
                                    : atomic_load(&s->durable_seq);
    rc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && (max_count == 0 || n < max_count)) {
        uint64_t seq = lx_u64be_get(key.mv_data);
        if (seq > visible)
            break;
        rc = event_assemble(s, txn, &v, &text);
        if (rc != 0)
            break;
        n++;
        if (next)
            *next = seq + 1;
        if (fn(ctx, seq, text.data, text.len) != 0)
            break;
        rc = mdb_cursor_get(c, &key, &v, MDB_NEXT);
    }
    lx_buf_fini(&text);
    mdb_cursor_close(c);
    read_end(s, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return mdb_fail(err, rc, "cannot read the event log");
    return 0;
}

uint64_t lx_store_last_seq(lx_store *s)
{
    if (!s->read_only)
        return atomic_load(&s->durable_seq);
    if (s->read_only) {
        /* Another process writes: read the log's tail. */
        MDB_txn *txn;
        if (read_begin(s, &txn, NULL) == 0) {
            MDB_cursor *c;
            if (mdb_cursor_open(txn, s->dbi[DB_EVENTS], &c) == 0) {
                MDB_val k, v;
                if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
                    atomic_store(&s->last_seq, lx_u64be_get(k.mv_data));
                mdb_cursor_close(c);
            }
            read_end(s, txn);
        }
    }
    return atomic_load(&s->last_seq);
}

int lx_store_cursor_get(lx_store *s, const char *name, uint64_t *seq,
                        lx_error *err)
{
    *seq = 0;
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_val key = {strlen(name), (void *)name}, v;
    rc = mdb_get(txn, s->dbi[DB_CURSORS], &key, &v);
    if (rc == 0 && v.mv_size == 9)
        *seq = lx_u64be_get((const uint8_t *)v.mv_data + 1);
    read_end(s, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return mdb_fail(err, rc, "cannot read cursor");
    return 0;
}

int lx_store_stats_get(lx_store *s, lx_store_stats *out, lx_error *err)
{
    memset(out, 0, sizeof(*out));
    MDB_txn *txn;
    int rc = read_begin(s, &txn, err);
    if (rc != 0)
        return rc;
    MDB_stat st;
    if (mdb_stat(txn, s->dbi[DB_RECORDS], &st) == 0)
        out->records = st.ms_entries;
    if (mdb_stat(txn, s->dbi[DB_EVENTS], &st) == 0)
        out->events = st.ms_entries;
    MDB_envinfo info;
    MDB_stat es;
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &es) == 0) {
        out->map_size = info.me_mapsize;
        out->used_size = (info.me_last_pgno + 1) * (size_t)es.ms_psize;
    }
    read_end(s, txn);
    out->last_seq = lx_store_last_seq(s);
    out->commits = atomic_load(&s->commits);
    out->upserts = atomic_load(&s->upserts);
    out->unchanged = atomic_load(&s->unchanged);
    return 0;
}
