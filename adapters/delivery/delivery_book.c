/* adapters/delivery/delivery_book.c: see delivery_book.h. */
#include "adapters/delivery/delivery_book.h"
#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256

/* One batch: filled by the delivery thread, then written by ours. */
typedef struct batch {
    lx_store_link links[BATCH];
    char *link_strings[BATCH][4]; /* owned copies */
    uint64_t link_keys[BATCH];
    size_t link_count;
    char *trace_ids[BATCH];
    char *trace_steps[BATCH];
    size_t trace_count;
    uint64_t cursor;
} batch;

struct lx_delivery_book {
    lx_store *store;
    char instance[LX_STORE_NAME_MAX + 1];
    char system[LX_STORE_NAME_MAX + 1];
    char cursor_name[LX_STORE_NAME_MAX + 1];
    batch batches[2];
    batch *fill;     /* the delivery thread's */
    batch *writing;  /* ours while busy */
    uint64_t handed; /* cursor of the last batch handed over */
    uint64_t written;/* cursor last written (our thread) */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, stop;
};

static void write_links(lx_delivery_book *b, batch *w)
{
    if (w->link_count == 0)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_xref_link_many(b->store, w->links, w->link_count, &err) !=
        0) {
        /* One bad link (a record deleted meanwhile) must not lose the
         * others: retry them one by one. */
        for (size_t i = 0; i < w->link_count; i++) {
            const lx_store_link *l = &w->links[i];
            if (lx_store_xref_link(b->store, l->entity, l->id, l->system,
                                   l->native_type, l->native_id, &err) != 0)
                lx_log_warn(NULL, "deliver %s: cannot record a target id: %s",
                            b->instance, err.msg);
        }
    }
    for (size_t i = 0; i < w->link_count; i++)
        for (int k = 0; k < 4; k++)
            free(w->link_strings[i][k]);
}

static void write_traces(lx_delivery_book *b, batch *w)
{
    if (w->trace_count == 0)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_trace_add(b->store, (const char *const *)w->trace_ids,
                           (const char *const *)w->trace_steps,
                           w->trace_count, &err) != 0)
        lx_log_warn(NULL, "deliver %s: cannot record trace steps: %s",
                    b->instance, err.msg);
    for (size_t i = 0; i < w->trace_count; i++) {
        free(w->trace_ids[i]);
        free(w->trace_steps[i]);
    }
}

static void write_batch(lx_delivery_book *b, batch *w)
{
    write_links(b, w);
    write_traces(b, w);
    if (w->cursor != b->written) {
        lx_error err;
        lx_error_clear(&err);
        if (lx_store_cursor_set(b->store, b->cursor_name, w->cursor, &err) !=
            0)
            lx_log_error(NULL, "deliver %s: cannot save the cursor: %s",
                         b->instance, err.msg);
        else
            b->written = w->cursor;
    }
}

static void *run(void *arg)
{
    lx_delivery_book *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->busy && !b->stop)
            pthread_cond_wait(&b->cv, &b->mu);
        if (!b->busy)
            break;
        batch *w = b->writing;
        pthread_mutex_unlock(&b->mu);
        write_batch(b, w);
        pthread_mutex_lock(&b->mu);
        /* Emptied under the lock: link_pending reads its keys. */
        w->link_count = w->trace_count = 0;
        b->busy = false;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int lx_delivery_book_start(lx_store *store, const char *instance,
                           const char *system, const char *cursor_name,
                           uint64_t cursor, lx_delivery_book **out,
                           lx_error *err)
{
    *out = NULL;
    lx_delivery_book *b = lx_xcalloc(1, sizeof(*b));
    b->store = store;
    snprintf(b->instance, sizeof(b->instance), "%s", instance);
    snprintf(b->system, sizeof(b->system), "%s", system);
    snprintf(b->cursor_name, sizeof(b->cursor_name), "%s", cursor_name);
    b->fill = &b->batches[0];
    b->writing = &b->batches[1];
    b->handed = b->written = cursor;
    b->fill->cursor = cursor;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, run, b) != 0) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        free(b);
        return lx_error_set(err, LX_EIO, "deliver %s: cannot start the "
                                         "bookkeeping thread",
                            instance);
    }
    *out = b;
    return 0;
}

void lx_delivery_book_stop(lx_delivery_book **bp)
{
    lx_delivery_book *b = *bp;
    if (!b)
        return;
    *bp = NULL;
    lx_delivery_book_flush(b, b->handed, true);
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

bool lx_delivery_book_flush(lx_delivery_book *b, uint64_t cursor, bool wait)
{
    pthread_mutex_lock(&b->mu);
    if (b->busy && !wait) {
        pthread_mutex_unlock(&b->mu);
        return false;
    }
    while (b->busy)
        pthread_cond_wait(&b->cv, &b->mu);
    batch *f = b->fill;
    f->cursor = cursor;
    b->fill = b->writing;
    b->writing = f;
    b->handed = cursor;
    b->busy = true;
    pthread_cond_broadcast(&b->cv);
    while (wait && b->busy)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return true;
}

bool lx_delivery_book_dirty(const lx_delivery_book *b, uint64_t cursor)
{
    return b->fill->link_count || b->fill->trace_count || cursor != b->handed;
}

void lx_delivery_book_link(lx_delivery_book *b, uint64_t key,
                           const char *entity, const char *cid,
                           const char *native_type, const char *native_id)
{
    if (b->fill->link_count == BATCH)
        lx_delivery_book_flush(b, b->handed, true);
    batch *f = b->fill;
    size_t i = f->link_count;
    f->link_keys[i] = key;
    f->link_strings[i][0] = lx_xstrdup(entity);
    f->link_strings[i][1] = lx_xstrdup(cid);
    f->link_strings[i][2] = lx_xstrdup(native_id);
    f->link_strings[i][3] = lx_xstrdup(native_type);
    f->links[i] = (lx_store_link){f->link_strings[i][0],
                                  f->link_strings[i][1], b->system,
                                  f->link_strings[i][3],
                                  f->link_strings[i][2]};
    f->link_count = i + 1;
}

void lx_delivery_book_trace(lx_delivery_book *b, char *trace_id, char *step)
{
    if (b->fill->trace_count == BATCH)
        lx_delivery_book_flush(b, b->handed, true);
    batch *f = b->fill;
    f->trace_ids[f->trace_count] = trace_id;
    f->trace_steps[f->trace_count] = step;
    f->trace_count++;
}

static bool has_key(const batch *w, uint64_t key)
{
    for (size_t i = 0; i < w->link_count; i++)
        if (key == 0 || w->link_keys[i] == key)
            return true;
    return false;
}

bool lx_delivery_book_link_pending(lx_delivery_book *b, uint64_t key)
{
    if (has_key(b->fill, key))
        return true;
    pthread_mutex_lock(&b->mu);
    bool pending = b->busy && has_key(b->writing, key);
    pthread_mutex_unlock(&b->mu);
    return pending;
}
