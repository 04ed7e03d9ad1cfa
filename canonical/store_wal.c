/* canonical/store_wal.c: see store_wal.h and docs/store.md. */
#define _GNU_SOURCE /* F_OFD_SETLK: a lock per open file, not per process */
#include "canonical/store_wal.h"
#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SLOT_SIZE 65536
#define SLOT_HDR 4096 /* fields; the meta page copies follow */
#define RING_OFF ((off_t)2 * SLOT_SIZE)
#define GROUP_HDR 32
#define GROUP_TRAILER 8
#define GROUP_ALIGN 512 /* a sector: groups never share one with a slot */
#define MAGIC_HEAD 0x4c585748u  /* "LXWH" */
#define MAGIC_BASE 0x4c585742u  /* "LXWB" */
#define MAGIC_GROUP 0x4c585747u /* "LXWG" */
#define MAGIC_END 0x4c585745u   /* "LXWE" */
#define VERSION 1

/* One header slot, decoded. */
typedef struct slot {
    bool valid;
    uint64_t generation, epoch, ckpt_txnid, tail_pos, tail_seq, area_size;
    uint32_t page_size;
    bool clean;
    lx_wal_origin origin;
    uint8_t metas[2 * LX_WAL_PAGE_MAX];
} slot;

/* A group written since the last checkpoint. */
typedef struct logged {
    uint64_t pos, seq, txnid;
} logged;

struct lx_wal {
    int fd;
    bool owner;
    slot head;        /* the durable header (newest valid slot) */
    slot base;        /* wal-base, read by lx_wal_baseline */
    uint8_t *wbuf;    /* a group being encoded */
    size_t wbuf_size;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t epoch;    /* of the groups written now */
    uint64_t head_pos; /* logical: physical = RING_OFF + pos % area */
    uint64_t next_seq;
    uint64_t tail_pos; /* first byte still needed (durable header's) */
    uint64_t area;
    uint64_t checkpoints; /* completed since open */
    logged *fifo;
    size_t fifo_len, fifo_cap;
};

/* ---- CRC32C, slicing by 8 ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
                              crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
              crc_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
/* SSE 4.2's crc32 instruction computes exactly CRC32C, 8 bytes at a time:
 * the writer checksums every group it logs (~1.5 KiB per upsert), and the
 * table costs ~3 instructions a byte where this costs under 0.2. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
static bool crc_hw;
#endif

static void crc_setup(void)
{
    crc_init();
#if defined(__x86_64__) && defined(__GNUC__)
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t lx_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_setup);
#if defined(__x86_64__) && defined(__GNUC__)
    if (crc_hw)
        return ~crc32c_hw(~crc, buf, len);
#endif
    return ~crc32c_sw(~crc, buf, len);
}

/* For tests: the table's CRC32C, whatever the machine has. */
uint32_t lx_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_setup);
    return ~crc32c_sw(~crc, buf, len);
}

/* ---- encoding ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int io_fail(lx_error *err, const char *what)
{
    int e = errno;
    return lx_error_set(err, LX_EIO, "write-ahead log: %s: %s", what,
                        strerror(e));
}

static bool pread_all(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return true;
}

static bool pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return false;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return true;
}

static void slot_encode(const slot *s, uint32_t magic, uint8_t *buf)
{
    memset(buf, 0, SLOT_SIZE);
    put32(buf, magic);
    put32(buf + 4, VERSION);
    lx_u64be_put(buf + 8, s->generation);
    lx_u64be_put(buf + 16, s->epoch);
    lx_u64be_put(buf + 24, s->ckpt_txnid);
    lx_u64be_put(buf + 32, s->tail_pos);
    lx_u64be_put(buf + 40, s->tail_seq);
    lx_u64be_put(buf + 48, s->area_size);
    put32(buf + 56, s->page_size);
    put32(buf + 60, s->clean);
    lx_u64be_put(buf + 64, s->origin.dev);
    lx_u64be_put(buf + 72, s->origin.ino);
    memcpy(buf + 80, s->origin.boot_id, sizeof(s->origin.boot_id));
    memcpy(buf + SLOT_HDR, s->metas, 2 * (size_t)s->page_size);
    uint32_t crc = lx_crc32c(0, buf, SLOT_HDR - 4);
    crc = lx_crc32c(crc, buf + SLOT_HDR, 2 * (size_t)s->page_size);
    put32(buf + SLOT_HDR - 4, crc);
}

static void slot_decode(const uint8_t *buf, uint32_t magic, slot *s)
{
    s->valid = false;
    if (get32(buf) != magic || get32(buf + 4) != VERSION)
        return;
    uint32_t psize = get32(buf + 56);
    if (psize > LX_WAL_PAGE_MAX)
        return;
    uint32_t crc = lx_crc32c(0, buf, SLOT_HDR - 4);
    crc = lx_crc32c(crc, buf + SLOT_HDR, 2 * (size_t)psize);
    if (crc != get32(buf + SLOT_HDR - 4))
        return;
    s->generation = lx_u64be_get(buf + 8);
    s->epoch = lx_u64be_get(buf + 16);
    s->ckpt_txnid = lx_u64be_get(buf + 24);
    s->tail_pos = lx_u64be_get(buf + 32);
    s->tail_seq = lx_u64be_get(buf + 40);
    s->area_size = lx_u64be_get(buf + 48);
    s->page_size = psize;
    s->clean = get32(buf + 60) != 0;
    s->origin.dev = lx_u64be_get(buf + 64);
    s->origin.ino = lx_u64be_get(buf + 72);
    memcpy(s->origin.boot_id, buf + 80, sizeof(s->origin.boot_id));
    s->origin.boot_id[sizeof(s->origin.boot_id) - 1] = '\0';
    memcpy(s->metas, buf + SLOT_HDR, 2 * (size_t)psize);
    s->valid = true;
}

/* The newest valid slot of a slot pair at offset 0 of fd. */
static void slots_read(int fd, uint32_t magic, slot *out)
{
    uint8_t *buf = lx_xmalloc(SLOT_SIZE);
    slot *tmp = lx_xmalloc(sizeof(*tmp));
    out->valid = false;
    for (int i = 0; i < 2; i++) {
        if (!pread_all(fd, buf, SLOT_SIZE, (off_t)i * SLOT_SIZE))
            continue;
        slot_decode(buf, magic, tmp);
        if (tmp->valid && (!out->valid || tmp->generation > out->generation))
            *out = *tmp;
    }
    free(tmp);
    free(buf);
}

/* Write s (its generation picks the slot) and sync it. */
static int slot_write(int fd, const slot *s, uint32_t magic, lx_error *err)
{
    uint8_t *buf = lx_xmalloc(SLOT_SIZE);
    slot_encode(s, magic, buf);
    int rc = 0;
    if (!pwrite_all(fd, buf, SLOT_SIZE, (off_t)(s->generation % 2) *
                                            SLOT_SIZE))
        rc = io_fail(err, "cannot write a checkpoint");
    else if (fdatasync(fd) != 0)
        rc = io_fail(err, "cannot sync a checkpoint");
    free(buf);
    return rc;
}

/* ---- open / close ---- */

void lx_wal_origin_of(const char *data_path, lx_wal_origin *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(out->boot_id, sizeof(out->boot_id), f))
            out->boot_id[0] = '\0';
        out->boot_id[strcspn(out->boot_id, "\n")] = '\0';
        fclose(f);
    }
    struct stat st;
    if (stat(data_path, &st) == 0) {
        out->dev = (uint64_t)st.st_dev;
        out->ino = (uint64_t)st.st_ino;
    }
}

static bool lock_byte(int fd, int cmd, short type, short *found)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, cmd, &fl) != 0)
        return false;
    if (found)
        *found = fl.l_type;
    return true;
}

int lx_wal_open(const char *store_dir, bool create, lx_wal **out,
                bool *is_owner, lx_error *err)
{
    *out = NULL;
    *is_owner = false;
    char path[4096];
    snprintf(path, sizeof(path), "%s/wal", store_dir);
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return 0;
        io_fail(err, "cannot open");
        return lx_error_at(err, path, 0, 0);
    }
    lx_wal *w = lx_xcalloc(1, sizeof(*w));
    w->fd = fd;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->owner = lock_byte(fd, F_OFD_SETLK, F_WRLCK, NULL);
    struct stat st;
    if (w->owner && fstat(fd, &st) == 0 && st.st_size < RING_OFF) {
        /* New: two empty slots, i.e. no checkpoint yet and nothing that
         * LMDB does not hold by itself. */
        uint8_t *zero = lx_xcalloc(1, (size_t)RING_OFF);
        bool ok = pwrite_all(fd, zero, (size_t)RING_OFF, 0) &&
                  fsync(fd) == 0;
        free(zero);
        if (!ok) {
            io_fail(err, "cannot create");
            lx_error_at(err, path, 0, 0);
            lx_wal_close(&w);
            return LX_EIO;
        }
    }
    slots_read(fd, MAGIC_HEAD, &w->head);
    if (!w->head.valid) {
        memset(&w->head, 0, sizeof(w->head));
        w->head.clean = true;
    }
    w->area = w->head.area_size;
    w->tail_pos = w->head_pos = w->head.tail_pos;
    w->next_seq = w->head.tail_seq;
    w->epoch = w->head.epoch + 1; /* groups of earlier opens are stale */
    *is_owner = w->owner;
    *out = w;
    return 0;
}

void lx_wal_close(lx_wal **wp)
{
    lx_wal *w = *wp;
    if (!w)
        return;
    *wp = NULL;
    close(w->fd); /* releases the OFD lock */
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->fifo);
    free(w->wbuf);
    free(w);
}

bool lx_wal_is_clean(const lx_wal *w)
{
    return w->head.clean;
}

bool lx_wal_same_origin(const lx_wal *w, const lx_wal_origin *o)
{
    return w->head.valid && o->boot_id[0] &&
           strcmp(w->head.origin.boot_id, o->boot_id) == 0 &&
           w->head.origin.dev == o->dev && w->head.origin.ino == o->ino;
}

bool lx_wal_baseline(lx_wal *w, const char *store_dir, uint64_t *txnid,
                     const uint8_t **metas, size_t *page_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/wal-base", store_dir);
    w->base.valid = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        slots_read(fd, MAGIC_BASE, &w->base);
        close(fd);
    }
    const slot *b = &w->head;
    if (w->base.valid && (!b->valid || b->page_size == 0 ||
                          w->base.ckpt_txnid > b->ckpt_txnid))
        b = &w->base;
    if (!b->valid || b->page_size == 0)
        return false;
    *txnid = b->ckpt_txnid;
    *metas = b->metas;
    *page_size = b->page_size;
    return true;
}

/* ---- groups ---- */

static size_t group_size(size_t len)
{
    size_t n = GROUP_HDR + len + GROUP_TRAILER;
    return (n + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
}

/* Read the group of sequence seq at logical position pos into *buf (grown
 * as needed). Returns its payload length, or -1 when there is none. */
static long read_group(lx_wal *w, uint64_t pos, uint64_t seq, uint8_t **buf,
                       size_t *cap, uint64_t *txnid)
{
    if (w->area == 0)
        return -1;
    uint64_t phys = pos % w->area;
    if (phys + GROUP_HDR + GROUP_TRAILER > w->area)
        return -1;
    uint8_t h[GROUP_HDR];
    if (!pread_all(w->fd, h, GROUP_HDR, RING_OFF + (off_t)phys))
        return -1;
    uint32_t len = get32(h + 4);
    if (get32(h) != MAGIC_GROUP || lx_u64be_get(h + 8) != w->head.epoch ||
        lx_u64be_get(h + 16) != seq ||
        phys + GROUP_HDR + (uint64_t)len + GROUP_TRAILER > w->area)
        return -1;
    size_t total = GROUP_HDR + (size_t)len + GROUP_TRAILER;
    if (*cap < total) {
        *buf = lx_xrealloc(*buf, total);
        *cap = total;
    }
    if (!pread_all(w->fd, *buf, total, RING_OFF + (off_t)phys))
        return -1;
    uint8_t *t = *buf + GROUP_HDR + len;
    if (get32(t) != lx_crc32c(0, *buf, GROUP_HDR + len) ||
        get32(t + 4) != MAGIC_END)
        return -1;
    *txnid = lx_u64be_get(*buf + 24);
    return (long)len;
}

/* Walk the groups after the checkpoint. fn may be NULL (just find the
 * last one). */
static int walk(lx_wal *w, uint64_t after_txnid, lx_wal_group_fn fn,
                void *ctx, off_t *last_off, size_t *last_len)
{
    uint64_t pos = w->head.tail_pos, seq = w->head.tail_seq;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    bool found = false;
    while (w->area && pos - w->head.tail_pos < w->area) {
        uint64_t txnid;
        long len = read_group(w, pos, seq, &buf, &cap, &txnid);
        if (len < 0 && pos % w->area != 0) {
            /* A group that did not fit before the end of the ring starts
             * at its beginning. */
            pos += w->area - pos % w->area;
            len = read_group(w, pos, seq, &buf, &cap, &txnid);
        }
        if (len < 0)
            break;
        found = true;
        if (last_off)
            *last_off = RING_OFF + (off_t)(pos % w->area);
        if (last_len)
            *last_len = group_size((size_t)len);
        if (fn && txnid > after_txnid) {
            rc = fn(ctx, txnid, buf + GROUP_HDR, (size_t)len);
            if (rc != 0)
                break;
        }
        pos += group_size((size_t)len);
        seq++;
    }
    free(buf);
    return fn ? rc : found;
}

int lx_wal_replay(lx_wal *w, uint64_t after_txnid, lx_wal_group_fn fn,
                  void *ctx)
{
    return walk(w, after_txnid, fn, ctx, NULL, NULL);
}

bool lx_wal_last_group(lx_wal *w, off_t *offset, size_t *len)
{
    return walk(w, 0, NULL, NULL, offset, len) != 0;
}

int lx_wal_prepare_area(lx_wal *w, size_t area_size, lx_error *err)
{
    area_size = area_size / GROUP_ALIGN * GROUP_ALIGN;
    struct stat st;
    if (fstat(w->fd, &st) != 0)
        return io_fail(err, "cannot stat");
    off_t want = RING_OFF + (off_t)area_size;
    if (st.st_size < want) {
        /* Written, not fallocated: unwritten extents would turn every
         * first write into a metadata change for fdatasync to journal. */
        size_t chunk = (size_t)1 << 20;
        uint8_t *zero = lx_xcalloc(1, chunk);
        off_t at = st.st_size;
        bool ok = true;
        while (ok && at < want) {
            size_t n = (size_t)(want - at) < chunk ? (size_t)(want - at)
                                                   : chunk;
            ok = pwrite_all(w->fd, zero, n, at);
            at += (off_t)n;
        }
        free(zero);
        if (!ok || fsync(w->fd) != 0)
            return io_fail(err, "cannot preallocate");
    }
    pthread_mutex_lock(&w->mu);
    if (w->area != area_size) {
        /* Positions restart; older groups are of an older epoch. */
        w->area = area_size;
        w->tail_pos = w->head_pos = 0;
        w->fifo_len = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int lx_wal_append(lx_wal *w, uint64_t txnid, const void *payload,
                  size_t len, lx_error *err)
{
    size_t size = group_size(len);
    pthread_mutex_lock(&w->mu);
    uint64_t pos = w->head_pos;
    if (w->area && pos % w->area + size > w->area)
        pos += w->area - pos % w->area;
    if (w->area == 0 || size > w->area || pos + size - w->tail_pos > w->area) {
        pthread_mutex_unlock(&w->mu);
        return LX_EFULL;
    }
    uint64_t seq = w->next_seq++;
    w->head_pos = pos + size;
    if (w->fifo_len == w->fifo_cap) {
        w->fifo_cap = w->fifo_cap ? 2 * w->fifo_cap : 256;
        w->fifo = lx_xrealloc(w->fifo, w->fifo_cap * sizeof(*w->fifo));
    }
    w->fifo[w->fifo_len++] = (logged){pos, seq, txnid};
    uint64_t epoch = w->epoch;
    pthread_mutex_unlock(&w->mu);

    if (w->wbuf_size < size) {
        w->wbuf = lx_xrealloc(w->wbuf, size);
        w->wbuf_size = size;
    }
    uint8_t *b = w->wbuf;
    put32(b, MAGIC_GROUP);
    put32(b + 4, (uint32_t)len);
    lx_u64be_put(b + 8, epoch);
    lx_u64be_put(b + 16, seq);
    lx_u64be_put(b + 24, txnid);
    memcpy(b + GROUP_HDR, payload, len);
    put32(b + GROUP_HDR + len, lx_crc32c(0, b, GROUP_HDR + len));
    put32(b + GROUP_HDR + len + 4, MAGIC_END);
    memset(b + GROUP_HDR + len + GROUP_TRAILER, 0,
           size - GROUP_HDR - len - GROUP_TRAILER);
    if (!pwrite_all(w->fd, b, size, RING_OFF + (off_t)(pos % w->area)))
        return io_fail(err, "cannot write");
    return 0;
}

int lx_wal_sync(lx_wal *w, lx_error *err)
{
    if (fdatasync(w->fd) != 0)
        return io_fail(err, "cannot sync");
    return 0;
}

void lx_wal_deadline(struct timespec *until, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += ms / 1000;
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

void lx_wal_wait_checkpoint(lx_wal *w, unsigned timeout_ms)
{
    struct timespec until;
    lx_wal_deadline(&until, timeout_ms);
    pthread_mutex_lock(&w->mu);
    uint64_t seen = w->checkpoints;
    while (w->checkpoints == seen)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
            break;
    pthread_mutex_unlock(&w->mu);
}

size_t lx_wal_pending(lx_wal *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = (size_t)(w->head_pos - w->tail_pos);
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t lx_wal_checkpoint_txnid(lx_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t t = w->head.ckpt_txnid;
    pthread_mutex_unlock(&w->mu);
    return t;
}

int lx_wal_checkpoint(lx_wal *w, uint64_t txnid, const uint8_t *metas,
                      size_t page_size, const lx_wal_origin *origin,
                      bool clean, lx_error *err)
{
    LX_ASSERT(w->owner && page_size <= LX_WAL_PAGE_MAX);
    slot *s = lx_xmalloc(sizeof(*s));
    pthread_mutex_lock(&w->mu);
    /* The ring keeps what the checkpoint does not cover. */
    size_t keep = 0;
    while (keep < w->fifo_len && w->fifo[keep].txnid <= txnid)
        keep++;
    uint64_t tail_pos = keep < w->fifo_len ? w->fifo[keep].pos : w->head_pos;
    uint64_t tail_seq = keep < w->fifo_len ? w->fifo[keep].seq : w->next_seq;
    *s = w->head;
    s->valid = true;
    s->generation = w->head.generation + 1;
    s->epoch = w->epoch;
    s->ckpt_txnid = txnid;
    s->tail_pos = tail_pos;
    s->tail_seq = tail_seq;
    s->area_size = w->area;
    s->page_size = (uint32_t)page_size;
    s->clean = clean;
    s->origin = *origin;
    memcpy(s->metas, metas, 2 * page_size);
    pthread_mutex_unlock(&w->mu);

    int rc = slot_write(w->fd, s, MAGIC_HEAD, err);
    pthread_mutex_lock(&w->mu);
    if (rc == 0) {
        w->head = *s;
        /* Only now may the ring overwrite what the checkpoint covers. */
        w->tail_pos = tail_pos;
        if (keep) {
            memmove(w->fifo, w->fifo + keep,
                    (w->fifo_len - keep) * sizeof(*w->fifo));
            w->fifo_len -= keep;
        }
    }
    w->checkpoints++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    free(s);
    return rc;
}

int lx_wal_base_write(const char *store_dir, uint64_t txnid,
                      const uint8_t *metas, size_t page_size, lx_error *err)
{
    LX_ASSERT(page_size <= LX_WAL_PAGE_MAX);
    char path[4096];
    snprintf(path, sizeof(path), "%s/wal-base", store_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(err, "cannot open the baseline");
    slot *s = lx_xcalloc(1, sizeof(*s));
    slots_read(fd, MAGIC_BASE, s);
    uint64_t gen = s->valid ? s->generation + 1 : 1;
    memset(s, 0, sizeof(*s));
    s->valid = true;
    s->generation = gen;
    s->ckpt_txnid = txnid;
    s->page_size = (uint32_t)page_size;
    memcpy(s->metas, metas, 2 * page_size);
    int rc = slot_write(fd, s, MAGIC_BASE, err);
    free(s);
    close(fd);
    return rc;
}

bool lx_wal_needs_recovery(const char *store_dir, const lx_wal_origin *o)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/wal", store_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    slot *s = lx_xcalloc(1, sizeof(*s));
    slots_read(fd, MAGIC_HEAD, s);
    bool dirty = s->valid && !s->clean &&
                 !(o->boot_id[0] &&
                   strcmp(s->origin.boot_id, o->boot_id) == 0 &&
                   s->origin.dev == o->dev && s->origin.ino == o->ino);
    free(s);
    short found = F_UNLCK;
    if (dirty && lock_byte(fd, F_OFD_GETLK, F_WRLCK, &found) &&
        found != F_UNLCK)
        dirty = false; /* its owner recovered it when it opened */
    close(fd);
    return dirty;
}
