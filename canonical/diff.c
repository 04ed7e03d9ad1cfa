/* canonical/diff.c: see diff.h. */
#include "canonical/diff.h"
#include "core/json.h"

#include <string.h>

#define PTR_MAX 1024

typedef struct walk {
    lx_buf *out;
    size_t count, max;
    int rc;
} walk;

static void emit(walk *w, const char *ptr)
{
    if (w->rc != 0 || w->count >= w->max)
        return;
    if (w->count && (w->rc = lx_buf_append(w->out, ",", 1)) != 0)
        return;
    w->rc = lx_buf_json_string(w->out, ptr, strlen(ptr));
    w->count++;
}

/* Count the leaves that differ, bounded by limit, without emitting: used to
 * decide whether a subtree is reported whole. */
static size_t count_diff(const json_t *a, const json_t *b, size_t limit)
{
    if (json_equal(a, b))
        return 0;
    if (json_is_object(a) && json_is_object(b)) {
        size_t n = 0;
        const char *k;
        json_t *va;
        json_object_foreach((json_t *)a, k, va)
        {
            n += count_diff(va, json_object_get(b, k), limit - n);
            if (n >= limit)
                return n;
        }
        json_t *vb;
        json_object_foreach((json_t *)b, k, vb)
        {
            if (!json_object_get(a, k) && ++n >= limit)
                return n;
        }
        return n;
    }
    if (json_is_array(a) && json_is_array(b) &&
        json_array_size(a) == json_array_size(b)) {
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(a) && n < limit; i++)
            n += count_diff(json_array_get(a, i), json_array_get(b, i),
                            limit - n);
        return n;
    }
    return 1;
}

static void diff(walk *w, const json_t *a, const json_t *b, char *ptr)
{
    if (w->rc != 0 || json_equal(a, b))
        return;
    size_t room = w->max - w->count;
    if (room == 0)
        return;
    if (count_diff(a, b, room + 1) > room) {
        emit(w, ptr); /* too many leaves below: report the subtree */
        return;
    }
    size_t mark = strlen(ptr);
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *va, *vb;
        json_object_foreach((json_t *)a, k, va)
        {
            lx_json_pointer_append(ptr, PTR_MAX, k);
            diff(w, va, json_object_get(b, k), ptr);
            ptr[mark] = '\0';
        }
        json_object_foreach((json_t *)b, k, vb)
        {
            if (json_object_get(a, k))
                continue;
            lx_json_pointer_append(ptr, PTR_MAX, k);
            emit(w, ptr);
            ptr[mark] = '\0';
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b) &&
        json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            lx_json_pointer_append_index(ptr, PTR_MAX, i);
            diff(w, json_array_get(a, i), json_array_get(b, i), ptr);
            ptr[mark] = '\0';
        }
        return;
    }
    emit(w, ptr);
}

int lx_diff_pointers(const json_t *old_rec, const json_t *new_rec,
                     size_t max_count, lx_buf *out)
{
    walk w = {out, 0, max_count ? max_count : 1, 0};
    char ptr[PTR_MAX] = "";
    diff(&w, old_rec, new_rec, ptr);
    return w.rc != 0 ? w.rc : (int)w.count;
}
