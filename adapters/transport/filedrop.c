/* adapters/transport/filedrop.c: the inbox thread. See filedrop.h for the
 * contract, the sender rules and the crash-safety steps. */
#include "adapters/transport/filedrop.h"

#include "adapters/transport/outbox.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/inotify.h>
#endif

#define READ_CHUNK (64 * 1024)

/* One file seen at a look: a file is stable once its size and mtime have
 * not changed for poll_ms (since_ms is when they were first seen so). */
typedef struct entry {
    char name[NAME_MAX + 1];
    long long size;
    long long mtime_ns;
    uint64_t since_ms;
    bool warned; /* "waits" logged once per file, not at every look */
} entry;

typedef struct entries {
    entry *v;
    size_t count, cap;
} entries;

struct lx_filedrop {
    char dir[PATH_MAX];
    char proc_dir[PATH_MAX];
    char done_dir[PATH_MAX];
    char error_dir[PATH_MAX];
    char name[LX_STORE_NAME_MAX + 1];
    lx_store *store;
    unsigned poll_ms;
    size_t max_file_size;
    lx_filedrop_fn handler;
    void *ctx;

    pthread_t thread;
    atomic_bool stopping;
    int wake[2];       /* stop writes one byte to wake[1] */
    int ino;           /* inotify fd, -1 when not available */
    entries prev;      /* files seen at the last look, not yet taken */
    char **ready;      /* names inotify saw moved in or closed */
    size_t ready_count;
};

/* ---- small helpers ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Hidden and temporary names belong to senders still writing. */
static bool ignored_name(const char *s)
{
    return s[0] == '.' || ends_with(s, ".tmp") || ends_with(s, ".part");
}

static bool valid_instance_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LX_STORE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int path_join(char *out, size_t size, const char *a, const char *b)
{
    int w = snprintf(out, size, "%s/%s", a, b);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

static void state_key(const lx_filedrop *fd, const char *file, char *out,
                      size_t size)
{
    int w = snprintf(out, size, "filedrop/%s/%s", fd->name, file);
    LX_ASSERT(w > 0 && (size_t)w < size); /* names are bounded at entry */
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static entry *entries_push(entries *e)
{
    if (e->count == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = lx_xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    entry *x = &e->v[e->count++];
    memset(x, 0, sizeof(*x));
    return x;
}

static void sync_dir_logged(const lx_filedrop *fd, const char *dir)
{
    lx_error e;
    lx_error_clear(&e);
    if (lx_outbox_sync_dir(dir, &e) != 0)
        lx_log_error(NULL, "filedrop %s: cannot sync '%s': %s", fd->name,
                     dir, e.msg);
}

/* ---- the store state of one file ---- */

static int state_put(lx_filedrop *fd, const char *file, const char *value)
{
    char key[LX_STORE_KEY_MAX + 1];
    state_key(fd, file, key, sizeof(key));
    lx_error e;
    lx_error_clear(&e);
    int rc = lx_store_state_put(fd->store, key, value, strlen(value), &e);
    if (rc != 0)
        lx_log_error(NULL, "filedrop %s: cannot record state of '%s': %s",
                     fd->name, file, e.msg);
    return rc;
}

static void state_del(lx_filedrop *fd, const char *file)
{
    char key[LX_STORE_KEY_MAX + 1];
    state_key(fd, file, key, sizeof(key));
    lx_error e;
    lx_error_clear(&e);
    /* A failure leaves a stale entry; the next start deletes it. */
    if (lx_store_state_del(fd->store, key, &e) != 0)
        lx_log_warn(NULL, "filedrop %s: cannot delete state of '%s': %s",
                    fd->name, file, e.msg);
}

/* ---- outcomes ---- */

/* Move processing/<file> to <dest_dir>/<file>.<id>. */
static int move_out(lx_filedrop *fd, const char *file, const char *dest_dir,
                    const char *id)
{
    char from[PATH_MAX], to[PATH_MAX], leaf[NAME_MAX + 1];
    snprintf(leaf, sizeof(leaf), "%.*s.%s", LX_FILEDROP_FILE_MAX, file, id);
    if (path_join(from, sizeof(from), fd->proc_dir, file) != 0 ||
        path_join(to, sizeof(to), dest_dir, leaf) != 0)
        return -1;
    if (rename(from, to) != 0) {
        lx_log_error(NULL, "filedrop %s: cannot move '%s' to '%s': %s",
                     fd->name, file, dest_dir, strerror(errno));
        return -1;
    }
    sync_dir_logged(fd, dest_dir);
    sync_dir_logged(fd, fd->proc_dir);
    return 0;
}

static void finish_done(lx_filedrop *fd, const char *file)
{
    /* If "done" cannot be recorded the file still goes to done/: a crash
     * before the move would only repeat the (idempotent) handler. */
    (void)state_put(fd, file, "done");
    char id[LX_ULID_SIZE];
    lx_ulid_new(id);
    if (move_out(fd, file, fd->done_dir, id) != 0)
        return; /* stays in processing/ with "done": finished at start */
    state_del(fd, file);
    lx_log_info(NULL, "filedrop %s: '%s' done", fd->name, file);
}

/* Line and column are 1-based: 0 means not known. */
static const char *or_unknown(long v, char *buf, size_t size)
{
    if (v > 0)
        snprintf(buf, size, "%ld", v);
    else
        snprintf(buf, size, "unknown");
    return buf;
}

/* The readable report: the error and its location, never content. */
static int write_report(lx_filedrop *fd, const char *file, const char *id,
                        uint64_t time_ms, long long size, const lx_error *e)
{
    char when[LX_TIME_SIZE], line[32], col[32], off[32], one[1024];
    lx_time_format(time_ms, when);
    lx_buf b;
    lx_buf_init(&b, 16 * 1024);
    int rc = lx_buf_printf(
        &b,
        "time: %s\ninbox: %s\nfile: %s\nsize: %lld bytes\n"
        "error: %s (%s)\nwhere: %s\nline: %s\ncolumn: %s\noffset: %s\n"
        "message: %s\nlocated: %s\n",
        when, fd->name, file, size, lx_error_name(e->code),
        lx_strerror(e->code), e->where[0] ? e->where : "unknown",
        or_unknown(e->line, line, sizeof(line)),
        or_unknown(e->column, col, sizeof(col)),
        e->offset >= 0 ? (snprintf(off, sizeof(off), "%ld", e->offset), off)
                       : "unknown",
        e->msg[0] ? e->msg : lx_strerror(e->code),
        lx_error_format(e, one, sizeof(one)));
    if (rc == 0) {
        char base[NAME_MAX + 1];
        snprintf(base, sizeof(base), "%.*s.%s.err", LX_FILEDROP_FILE_MAX,
                 file, id);
        char path[PATH_MAX];
        if (path_join(path, sizeof(path), fd->error_dir, base) == 0 &&
            access(path, F_OK) == 0) {
            /* Written before a crash: keep that one. */
            lx_buf_fini(&b);
            return 0;
        }
        lx_error we;
        lx_error_clear(&we);
        rc = lx_outbox_write(fd->error_dir, base, b.data, b.len, NULL, 0,
                             &we);
        if (rc != 0)
            lx_log_error(NULL, "filedrop %s: cannot write report of '%s': %s",
                         fd->name, file, we.msg);
    }
    lx_buf_fini(&b);
    return rc;
}

/* The "failed" state: the word, a newline, the report's inputs as JSON. */
static char *failed_state(const char *id, uint64_t time_ms, long long size,
                          const lx_error *e)
{
    json_t *j = json_pack("{s:s,s:I,s:I,s:i,s:s,s:I,s:I,s:I,s:s}", "id", id,
                          "time", (json_int_t)time_ms, "size",
                          (json_int_t)size, "code", e->code, "where",
                          e->where, "line", (json_int_t)e->line, "column",
                          (json_int_t)e->column, "offset",
                          (json_int_t)e->offset, "msg", e->msg);
    LX_ASSERT(j);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    LX_ASSERT(s);
    size_t n = strlen(s);
    char *v = lx_xmalloc(n + 8);
    memcpy(v, "failed\n", 7);
    memcpy(v + 7, s, n + 1);
    free(s);
    return v;
}

static void parse_failed_state(const char *v, char *id, uint64_t *time_ms,
                               long long *size, lx_error *e)
{
    lx_error_clear(e);
    lx_ulid_new(id);
    *time_ms = lx_now_ms();
    *size = -1;
    e->code = LX_EIO;
    snprintf(e->msg, sizeof(e->msg), "failed before a restart");
    const char *nl = strchr(v, '\n');
    json_t *j = nl ? json_loads(nl + 1, 0, NULL) : NULL;
    if (!j)
        return;
    const char *s = json_string_value(json_object_get(j, "id"));
    if (s && lx_ulid_valid(s, strlen(s)) && strlen(s) == LX_ULID_LEN)
        memcpy(id, s, LX_ULID_SIZE);
    *time_ms = (uint64_t)json_integer_value(json_object_get(j, "time"));
    *size = (long long)json_integer_value(json_object_get(j, "size"));
    int code = (int)json_integer_value(json_object_get(j, "code"));
    if (code < 0)
        e->code = code;
    s = json_string_value(json_object_get(j, "where"));
    snprintf(e->where, sizeof(e->where), "%s", s ? s : "");
    e->line = (long)json_integer_value(json_object_get(j, "line"));
    e->column = (long)json_integer_value(json_object_get(j, "column"));
    e->offset = (long)json_integer_value(json_object_get(j, "offset"));
    s = json_string_value(json_object_get(j, "msg"));
    if (s)
        snprintf(e->msg, sizeof(e->msg), "%s", s);
    json_decref(j);
}

static void finish_failed(lx_filedrop *fd, const char *file, const char *id,
                          uint64_t time_ms, long long size, const lx_error *e)
{
    (void)write_report(fd, file, id, time_ms, size, e);
    if (move_out(fd, file, fd->error_dir, id) != 0)
        return;
    state_del(fd, file);
    char one[1024];
    lx_log_warn(NULL, "filedrop %s: '%s' refused: %s", fd->name, file,
                lx_error_format(e, one, sizeof(one)));
}

static void fail(lx_filedrop *fd, const char *file, long long size,
                 const lx_error *e)
{
    char id[LX_ULID_SIZE];
    lx_ulid_new(id);
    uint64_t now = lx_now_ms();
    char *v = failed_state(id, now, size, e);
    (void)state_put(fd, file, v);
    free(v);
    finish_failed(fd, file, id, now, size, e);
}

/* ---- handling ---- */

/* Read processing/<file> into *data (NUL-terminated), bounded. */
static int read_file(lx_filedrop *fd, const char *file, char **data,
                     size_t *len, long long *size, lx_error *e)
{
    *data = NULL;
    *len = 0;
    *size = -1;
    char path[PATH_MAX];
    if (path_join(path, sizeof(path), fd->proc_dir, file) != 0)
        return lx_error_set(e, LX_EINVAL, "path too long");
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
        lx_error_set(e, LX_EIO, "cannot open: %s", strerror(errno));
        e->lib_code = errno;
        return lx_error_at(e, file, 0, 0);
    }
    struct stat st;
    if (fstat(f, &st) != 0) {
        lx_error_set(e, LX_EIO, "cannot stat: %s", strerror(errno));
        close(f);
        return lx_error_at(e, file, 0, 0);
    }
    *size = (long long)st.st_size;
    if ((unsigned long long)st.st_size > fd->max_file_size) {
        close(f);
        lx_error_set(e, LX_ELIMIT,
                     "file is %lld bytes, over max_file_size (%zu bytes)",
                     (long long)st.st_size, fd->max_file_size);
        return lx_error_at(e, file, 0, 0);
    }
    lx_buf b;
    lx_buf_init(&b, fd->max_file_size);
    char *chunk = lx_xmalloc(READ_CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t n = read(f, chunk, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = lx_error_set(e, LX_EIO, "cannot read: %s", strerror(errno));
            lx_error_at(e, file, 0, 0);
            break;
        }
        if (n == 0)
            break;
        if (lx_buf_append(&b, chunk, (size_t)n) != 0) {
            rc = lx_error_set(e, LX_ELIMIT,
                              "file grew over max_file_size (%zu bytes)",
                              fd->max_file_size);
            lx_error_at(e, file, 0, 0);
            break;
        }
    }
    free(chunk);
    close(f);
    if (rc != 0) {
        lx_buf_fini(&b);
        return rc;
    }
    *size = (long long)b.len;
    if (!b.data)
        *data = lx_xcalloc(1, 1);
    else
        *data = lx_buf_take(&b, len);
    return 0;
}

/* The file is in processing/ and its state says "started". */
static void process(lx_filedrop *fd, const char *file)
{
    lx_error e;
    lx_error_clear(&e);
    char *data = NULL;
    size_t len = 0;
    long long size = -1;
    int rc = read_file(fd, file, &data, &len, &size, &e);
    if (rc == 0) {
        char path[PATH_MAX];
        (void)path_join(path, sizeof(path), fd->proc_dir, file);
        rc = fd->handler(fd->ctx, path, data, len, &e);
        if (rc != 0 && e.code == 0)
            e.code = rc < 0 ? rc : LX_EINVAL;
        if (rc != 0 && !e.where[0])
            lx_error_at(&e, file, e.line, e.column);
    }
    free(data);
    if (rc == 0)
        finish_done(fd, file);
    else
        fail(fd, file, size, &e);
}

/* A name too long for the state key: refused as it is, handler not
 * called. The file keeps the first LX_FILEDROP_FILE_MAX bytes. */
static void refuse_long_name(lx_filedrop *fd, const char *file)
{
    char id[LX_ULID_SIZE], short_name[LX_FILEDROP_FILE_MAX + 1];
    lx_ulid_new(id);
    snprintf(short_name, sizeof(short_name), "%s", file);
    char from[PATH_MAX], to[PATH_MAX], leaf[NAME_MAX + 1];
    snprintf(leaf, sizeof(leaf), "%s.%s", short_name, id);
    if (path_join(from, sizeof(from), fd->dir, file) != 0 ||
        path_join(to, sizeof(to), fd->error_dir, leaf) != 0)
        return;
    struct stat st;
    long long size = stat(from, &st) == 0 ? (long long)st.st_size : -1;
    lx_error e;
    lx_error_clear(&e);
    lx_error_set(&e, LX_ELIMIT, "file name is %zu bytes, over %d",
                 strlen(file), LX_FILEDROP_FILE_MAX);
    lx_error_at(&e, short_name, 0, 0);
    (void)write_report(fd, short_name, id, lx_now_ms(), size, &e);
    if (rename(from, to) != 0) {
        lx_log_error(NULL, "filedrop %s: cannot move a long name to error/: "
                     "%s", fd->name, strerror(errno));
        return;
    }
    sync_dir_logged(fd, fd->error_dir);
    sync_dir_logged(fd, fd->dir);
    lx_log_warn(NULL, "filedrop %s: '%s...' refused: name too long",
                fd->name, short_name);
}

/* Claim dir/<file> by renaming it into processing/, record "started",
 * handle it. Returns true when the file left the inbox. */
static bool take(lx_filedrop *fd, const char *file, bool *warned)
{
    if (strlen(file) > LX_FILEDROP_FILE_MAX) {
        refuse_long_name(fd, file);
        return true;
    }
    char from[PATH_MAX], to[PATH_MAX];
    if (path_join(from, sizeof(from), fd->dir, file) != 0 ||
        path_join(to, sizeof(to), fd->proc_dir, file) != 0)
        return false;
    struct stat st;
    if (lstat(to, &st) == 0) {
        /* A leftover that recovery could not finish: never replace it. */
        if (!*warned)
            lx_log_warn(NULL, "filedrop %s: '%s' waits: a file of that name "
                        "is still in processing/", fd->name, file);
        *warned = true;
        return false;
    }
    if (rename(from, to) != 0) {
        int e = errno;
        if (e != ENOENT)
            lx_log_error(NULL, "filedrop %s: cannot claim '%s': %s",
                         fd->name, file, strerror(e));
        return e == ENOENT; /* gone: the sender took it back */
    }
    sync_dir_logged(fd, fd->dir);
    sync_dir_logged(fd, fd->proc_dir);
    if (state_put(fd, file, "started") != 0) {
        /* Not handed to the handler: put it back for a later look. */
        if (rename(to, from) != 0)
            lx_log_error(NULL, "filedrop %s: cannot put '%s' back: %s",
                         fd->name, file, strerror(errno));
        return false;
    }
    process(fd, file);
    return true;
}

/* ---- looking at a directory ---- */

/* Regular, visible, non-temporary files of dir, sorted by name. */
static int list_files(const lx_filedrop *fd, const char *dir, entries *out)
{
    out->count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        lx_log_error(NULL, "filedrop %s: cannot read '%s': %s", fd->name,
                     dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while (out->count < LX_FILEDROP_SCAN_MAX && (de = readdir(d)) != NULL) {
        if (ignored_name(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        entry *x = entries_push(out);
        snprintf(x->name, sizeof(x->name), "%s", de->d_name);
        x->size = (long long)st.st_size;
        x->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL +
                      st.st_mtim.tv_nsec;
    }
    closedir(d);
    if (out->count > 1) /* v is NULL when empty: qsort(NULL) is UB */
        qsort(out->v, out->count, sizeof(*out->v), entry_cmp);
    return 0;
}

static bool is_ready_name(const lx_filedrop *fd, const char *name)
{
    const char *key = name;
    return fd->ready_count > 0 &&
           bsearch(&key, fd->ready, fd->ready_count, sizeof(*fd->ready),
                   str_cmp) != NULL;
}

static void clear_ready(lx_filedrop *fd)
{
    for (size_t i = 0; i < fd->ready_count; i++)
        free(fd->ready[i]);
    fd->ready_count = 0;
}

/* One look at the inbox: take every ready file in name order. Returns the
 * number of files taken. */
static size_t scan(lx_filedrop *fd)
{
    entries cur = {0};
    size_t taken = 0;
    if (list_files(fd, fd->dir, &cur) != 0) {
        clear_ready(fd);
        return 0;
    }
    if (fd->ready_count > 1)
        qsort(fd->ready, fd->ready_count, sizeof(*fd->ready), str_cmp);
    uint64_t now = lx_mono_ms();
    entries next = {0};
    for (size_t i = 0; i < cur.count; i++) {
        entry *x = &cur.v[i];
        const entry *p = fd->prev.count
                             ? bsearch(x, fd->prev.v, fd->prev.count,
                                       sizeof(*x), entry_cmp)
                             : NULL;
        x->since_ms = p && p->size == x->size && p->mtime_ns == x->mtime_ns
                          ? p->since_ms
                          : now;
        x->warned = p && p->warned;
        bool ready = is_ready_name(fd, x->name) ||
                     (p && now - x->since_ms >= fd->poll_ms);
        if (ready && !atomic_load(&fd->stopping) &&
            take(fd, x->name, &x->warned)) {
            taken++;
            continue;
        }
        *entries_push(&next) = *x;
    }
    clear_ready(fd);
    free(cur.v);
    free(fd->prev.v);
    fd->prev = next;
    return taken;
}

/* ---- recovery ---- */

typedef struct stale_keys {
    char **v;
    size_t count, cap;
    const entries *files;
    size_t prefix_len;
} stale_keys;

static int collect_stale(void *ctx, const char *key, const char *value,
                         size_t len)
{
    (void)value;
    (void)len;
    stale_keys *s = ctx;
    entry probe;
    snprintf(probe.name, sizeof(probe.name), "%s", key + s->prefix_len);
    if (s->files->count &&
        bsearch(&probe, s->files->v, s->files->count, sizeof(probe),
                entry_cmp))
        return 0;
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = lx_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->count++] = lx_xstrdup(key);
    return 0;
}

/* Finish every file left in processing/ by a crash, by its state, then
 * drop state entries that have no file any more. */
static void recover(lx_filedrop *fd)
{
    entries files = {0};
    if (list_files(fd, fd->proc_dir, &files) != 0)
        return;
    for (size_t i = 0; i < files.count && !atomic_load(&fd->stopping); i++) {
        const char *file = files.v[i].name;
        if (strlen(file) > LX_FILEDROP_FILE_MAX)
            continue; /* never claimed by us */
        char key[LX_STORE_KEY_MAX + 1], *v = NULL;
        size_t vlen = 0;
        state_key(fd, file, key, sizeof(key));
        lx_error e;
        lx_error_clear(&e);
        int rc = lx_store_state_get(fd->store, key, &v, &vlen, &e);
        if (rc != 0 && rc != LX_ENOTFOUND) {
            lx_log_error(NULL, "filedrop %s: cannot read state of '%s': %s",
                         fd->name, file, e.msg);
            continue;
        }
        if (rc == 0 && strcmp(v, "done") == 0) {
            lx_log_info(NULL, "filedrop %s: '%s' was handled before a "
                        "restart: moved to done/", fd->name, file);
            finish_done(fd, file);
        } else if (rc == 0 && strncmp(v, "failed\n", 7) == 0) {
            char id[LX_ULID_SIZE];
            uint64_t t;
            long long size;
            parse_failed_state(v, id, &t, &size, &e);
            finish_failed(fd, file, id, t, size, &e);
        } else if (rc == 0 || state_put(fd, file, "started") == 0) {
            lx_log_warn(NULL, "filedrop %s: '%s' was being handled at a "
                        "restart: handling it again", fd->name, file);
            process(fd, file);
        }
        free(v);
    }
    /* What is still in processing/ keeps its state. */
    (void)list_files(fd, fd->proc_dir, &files);
    char prefix[LX_STORE_KEY_MAX + 1];
    snprintf(prefix, sizeof(prefix), "filedrop/%s/", fd->name);
    stale_keys s = {.files = &files, .prefix_len = strlen(prefix)};
    lx_error e;
    lx_error_clear(&e);
    if (lx_store_state_list(fd->store, prefix, collect_stale, &s, &e) != 0)
        lx_log_error(NULL, "filedrop %s: cannot list state: %s", fd->name,
                     e.msg);
    for (size_t i = 0; i < s.count; i++) {
        lx_error_clear(&e);
        if (lx_store_state_del(fd->store, s.v[i], &e) != 0)
            lx_log_warn(NULL, "filedrop %s: cannot delete stale state: %s",
                        fd->name, e.msg);
        free(s.v[i]);
    }
    free(s.v);
    free(files.v);
}

/* ---- the thread ---- */

#ifdef __linux__
static void drain_inotify(lx_filedrop *fd)
{
    union {
        struct inotify_event ev;
        char buf[16 * 1024];
    } u;
    for (;;) {
        ssize_t n = read(fd->ino, u.buf, sizeof(u.buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *ev =
                (const struct inotify_event *)(const void *)(u.buf + off);
            if (ev->len > 0 && (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) &&
                !ignored_name(ev->name) &&
                fd->ready_count < LX_FILEDROP_SCAN_MAX)
                fd->ready[fd->ready_count++] = lx_xstrdup(ev->name);
            off += (ssize_t)(sizeof(*ev) + ev->len);
        }
    }
}
#endif

static void *run(void *arg)
{
    lx_filedrop *fd = arg;
    recover(fd);
    while (!atomic_load(&fd->stopping)) {
#ifdef __linux__
        if (fd->ino >= 0)
            drain_inotify(fd);
#endif
        size_t taken = scan(fd);
        if (atomic_load(&fd->stopping))
            break;
        /* After taking files look again at once (more may be waiting);
         * otherwise sleep until inotify, stop, or the next rescan. */
        struct pollfd p[2] = {{.fd = fd->wake[0], .events = POLLIN},
                              {.fd = fd->ino, .events = POLLIN}};
        int timeout = taken > 0 ? 0 : (int)fd->poll_ms;
        (void)poll(p, fd->ino >= 0 ? 2 : 1, timeout);
    }
    return NULL;
}

static int make_subdir(char *out, size_t size, const char *dir,
                       const char *sub, lx_error *err)
{
    if (path_join(out, size, dir, sub) != 0)
        return lx_error_set(err, LX_EINVAL, "filedrop: dir too long");
    if (mkdir(out, 0750) != 0 && errno != EEXIST) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot create '%s': %s", sub, strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, dir, 0, 0);
    }
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lx_error_set(err, LX_EIO, "'%s' is not a directory", sub);
        return lx_error_at(err, dir, 0, 0);
    }
    return 0;
}

int lx_filedrop_start(const lx_filedrop_options *opts, lx_filedrop **out,
                      lx_error *err)
{
    LX_ASSERT(out);
    *out = NULL;
    if (!opts || !opts->dir || !opts->dir[0] || !opts->store ||
        !opts->handler || !opts->name)
        return lx_error_set(err, LX_EINVAL,
                            "filedrop: dir, store, name and handler are "
                            "required");
    if (!valid_instance_name(opts->name))
        return lx_error_set(err, LX_EINVAL,
                            "filedrop: name must be 1..%d bytes of "
                            "[A-Za-z0-9._-]",
                            LX_STORE_NAME_MAX);
    if (strlen(opts->dir) > PATH_MAX - NAME_MAX - 16)
        return lx_error_set(err, LX_EINVAL, "filedrop: dir too long");
    struct stat st;
    if (stat(opts->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = errno;
        lx_error_set(err, LX_EIO, "filedrop: inbox is not a directory");
        if (err)
            err->lib_code = e;
        return lx_error_at(err, opts->dir, 0, 0);
    }
    lx_filedrop *fd = lx_xcalloc(1, sizeof(*fd));
    snprintf(fd->dir, sizeof(fd->dir), "%s", opts->dir);
    snprintf(fd->name, sizeof(fd->name), "%s", opts->name);
    fd->store = opts->store;
    fd->poll_ms = opts->poll_ms ? opts->poll_ms : LX_FILEDROP_POLL_MS_DEFAULT;
    fd->max_file_size = opts->max_file_size
                            ? opts->max_file_size
                            : LX_FILEDROP_MAX_FILE_SIZE_DEFAULT;
    fd->handler = opts->handler;
    fd->ctx = opts->ctx;
    fd->wake[0] = fd->wake[1] = -1;
    fd->ino = -1;
    atomic_init(&fd->stopping, false);
    int rc;
    if ((rc = make_subdir(fd->proc_dir, sizeof(fd->proc_dir), fd->dir,
                          "processing", err)) != 0 ||
        (rc = make_subdir(fd->done_dir, sizeof(fd->done_dir), fd->dir,
                          "done", err)) != 0 ||
        (rc = make_subdir(fd->error_dir, sizeof(fd->error_dir), fd->dir,
                          "error", err)) != 0) {
        free(fd);
        return rc;
    }
    if (pipe(fd->wake) != 0) {
        int e = errno;
        free(fd);
        lx_error_set(err, LX_EIO, "filedrop: pipe: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return LX_EIO;
    }
    for (int i = 0; i < 2; i++)
        (void)fcntl(fd->wake[i], F_SETFD, FD_CLOEXEC);
    fd->ready = lx_xcalloc(LX_FILEDROP_SCAN_MAX, sizeof(*fd->ready));
#ifdef __linux__
    fd->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd->ino >= 0 &&
        inotify_add_watch(fd->ino, fd->dir, IN_MOVED_TO | IN_CLOSE_WRITE) <
            0) {
        close(fd->ino);
        fd->ino = -1;
    }
    if (fd->ino < 0)
        lx_log_warn(NULL, "filedrop %s: no inotify (%s): rescanning every "
                    "%u ms", fd->name, strerror(errno), fd->poll_ms);
#endif
    /* Logged before the thread runs so that recovery lines follow it. */
    lx_log_info(NULL, "filedrop %s: watching '%s'", fd->name, fd->dir);
    if (pthread_create(&fd->thread, NULL, run, fd) != 0) {
        close(fd->wake[0]);
        close(fd->wake[1]);
        if (fd->ino >= 0)
            close(fd->ino);
        free(fd->ready);
        free(fd);
        return lx_error_set(err, LX_EIO, "filedrop: cannot start thread");
    }
    *out = fd;
    return 0;
}

void lx_filedrop_stop(lx_filedrop **pfd)
{
    if (!pfd || !*pfd)
        return;
    lx_filedrop *fd = *pfd;
    *pfd = NULL;
    atomic_store(&fd->stopping, true);
    char one = 1;
    while (write(fd->wake[1], &one, 1) < 0 && errno == EINTR)
        ;
    pthread_join(fd->thread, NULL);
    close(fd->wake[0]);
    close(fd->wake[1]);
    if (fd->ino >= 0)
        close(fd->ino);
    clear_ready(fd);
    free(fd->ready);
    free(fd->prev.v);
    free(fd);
}
