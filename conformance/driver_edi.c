/* conformance/driver_edi.c: the X12 and EDIFACT adapters (adapters/edi/)
 * as the hub runs them for one trading partner.
 *
 * Inbound, an interchange goes through the hub's whole pipeline
 * (edi_inbound.h: parse, acknowledge, map, store) with the partner
 * profile of the suite's options ("partner", the configuration's
 * /partners/<name> object; a case may set "ack" to override the
 * profile's acknowledgement). The acknowledgement it writes is the
 * answer's reply. A transaction the pipeline rejects (its finding goes in
 * the acknowledgement, nothing of it is stored) is a refusal, located at
 * the parser's first finding: code = the acknowledgement's code for it
 * (X12 IK304/IK403/IK502 or AK3/AK4/AK5, EDIFACT 0085), location =
 * "segment N (TAG)/E" (N counted from ST or UNH = 1, E the element).
 * An interchange refused whole (unreadable, not from the partner) is a
 * refusal with its LX_E* code and where the pipeline says.
 *
 * Outbound, the adapter's delivery writes one interchange per event into
 * a temporary outbox; each file is reported to the runner's target as a
 * call "WRITE <name>" with the control number in the name replaced by
 * "{n}" ("partner-{n}-850.x12"), in the order written. */
#include "adapters/edi/edi_inbound.h"
#include "adapters/edi/edi_outbound.h"
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EDI_PARTNER "partner" /* the profile's name in files and counters */
#define EDI_FILES_MAX 256

typedef struct edi_state {
    lx_edi_standard standard;
    lx_x12_defs *x12;
    lx_edifact_defs *edifact;
    lx_edi_maps *maps;
    char acks[LX_CONFORM_PATH_MAX]; /* the case's ack outbox */
} edi_state;

/* The partner of the options: "partner" is a profile as in the
 * configuration's /partners; "ack" overrides its acknowledgement. */
static int partner_of(const json_t *options, lx_edi_partner *p, lx_error *err)
{
    json_t *profile = json_object_get(options, "partner");
    if (!json_is_object(profile))
        return lx_error_set(err, LX_EINVAL,
                            "suite.json: /options/partner must be a partner "
                            "profile (docs/edi-partners.md)");
    json_t *partners = json_pack("{s:O}", EDI_PARTNER, profile);
    int rc = lx_edi_partner_parse(partners, EDI_PARTNER, p, err);
    json_decref(partners);
    const char *ack = lx_json_str(options, "ack");
    if (rc != 0 || !ack)
        return rc;
    static const struct {
        const char *name;
        lx_edi_ack ack;
    } acks[] = {{"none", LX_EDI_ACK_NONE}, {"997", LX_EDI_ACK_997},
                {"999", LX_EDI_ACK_999},   {"TA1", LX_EDI_ACK_TA1},
                {"CONTRL", LX_EDI_ACK_CONTRL}};
    for (size_t i = 0; i < sizeof(acks) / sizeof(acks[0]); i++)
        if (strcmp(ack, acks[i].name) == 0) {
            if (acks[i].ack == LX_EDI_ACK_CONTRL || acks[i].ack == 0)
                p->edifact_ack = acks[i].ack;
            if (acks[i].ack != LX_EDI_ACK_CONTRL)
                p->x12_ack = acks[i].ack;
            return 0;
        }
    return lx_error_set(err, LX_EINVAL, "/options/ack must be none, 997, 999, "
                                        "TA1 or CONTRL");
}

static void edi_close(void **sp)
{
    edi_state *st = *sp;
    if (!st)
        return;
    *sp = NULL;
    lx_x12_defs_destroy(&st->x12);
    lx_edifact_defs_destroy(&st->edifact);
    lx_edi_maps_destroy(&st->maps);
    free(st);
}

static int edi_open(lx_edi_standard standard, const char *root,
                    const json_t *options, void **sp, lx_error *err)
{
    *sp = NULL;
    edi_state *st = lx_xcalloc(1, sizeof(*st));
    st->standard = standard;
    char dir[LX_CONFORM_PATH_MAX + 32];
    lx_edi_partner p;
    int rc = partner_of(options, &p, err);
    snprintf(dir, sizeof(dir), "%s/x12/005010", root);
    rc = rc ? rc : lx_x12_defs_load(dir, &st->x12, err);
    snprintf(dir, sizeof(dir), "%s/edifact/d96a", root);
    rc = rc ? rc : lx_edifact_defs_load(dir, &st->edifact, err);
    rc = rc ? rc : lx_edi_maps_load(root, &st->maps, err);
    if (rc != 0) {
        void *s = st;
        edi_close(&s);
        return rc;
    }
    *sp = st;
    return 0;
}

static int x12_open(const char *root, const char *adapter_dir,
                    const json_t *options, void **sp, lx_error *err)
{
    (void)adapter_dir;
    return edi_open(LX_EDI_X12, root, options, sp, err);
}

static int edifact_open(const char *root, const char *adapter_dir,
                        const json_t *options, void **sp, lx_error *err)
{
    (void)adapter_dir;
    return edi_open(LX_EDI_EDIFACT, root, options, sp, err);
}

static int temp_dir(char *out, size_t size, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, size, "%s/lx-conform-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             what);
    return mkdtemp(out) ? 0 : LX_EIO;
}

static void edi_begin(void *state, lx_conform_hub *hub)
{
    edi_state *st = state;
    (void)hub;
    if (temp_dir(st->acks, sizeof(st->acks), "acks") != 0)
        st->acks[0] = '\0';
}

static void edi_end(void *state, lx_conform_hub *hub)
{
    edi_state *st = state;
    (void)hub;
    if (st->acks[0])
        lx_conform_remove_tree(st->acks);
    st->acks[0] = '\0';
}

/* "segment 5 (DMG)/2": where a finding is, as compare.h names segments. */
static void locate(char *out, size_t size, size_t segment, const char *tag,
                   size_t element)
{
    if (element)
        snprintf(out, size, "segment %zu (%s)/%zu", segment, tag, element);
    else
        snprintf(out, size, "segment %zu (%s)", segment, tag);
}

/* The first finding that rejects a transaction or message, read again
 * with the adapter's parser (the pipeline keeps only the ack of it). */
static json_t *first_finding(const edi_state *st, const char *doc,
                             size_t len)
{
    json_t *rej = NULL;
    char where[128];
    lx_error e;
    lx_error_clear(&e);
    if (len >= 3 && memcmp(doc, "ISA", 3) == 0) {
        lx_x12_doc *d = NULL;
        if (lx_x12_parse(doc, len, st->x12, LX_X12_PARSE_LENIENT, &d, &e) !=
            0)
            return NULL;
        for (size_t i = 0; i < lx_x12_doc_diag_count(d) && !rej; i++) {
            const lx_x12_diag *g = lx_x12_doc_diag(d, i);
            if (g->level < LX_X12_LEVEL_TRANSACTION)
                continue;
            locate(where, sizeof(where), g->segment_pos, g->segment_id,
                   g->element_pos);
            rej = json_pack("{s:s,s:s,s:s}", "code", g->x12_code,
                            "location", where, "message", g->msg);
        }
        lx_x12_doc_destroy(&d);
        return rej;
    }
    lx_edifact_options eo = {.flags = LX_EDIFACT_LENIENT,
                             .defs = st->edifact};
    lx_edifact_diags diags;
    lx_edifact_diags_init(&diags);
    json_t *tree = NULL;
    if (lx_edifact_parse(doc, len, &eo, &tree, &diags, &e) == 0) {
        for (size_t i = 0; i < diags.count && !rej; i++) {
            const lx_edifact_diag *g = &diags.items[i];
            /* A message's finding, or an envelope's that rejects the
             * whole interchange or group (UNB/UNZ, UNG/UNE). */
            if (!g->message_ref[0] && !g->is_envelope)
                continue;
            char code[16];
            snprintf(code, sizeof(code), "%d", g->code);
            locate(where, sizeof(where), (size_t)g->segment_pos,
                   g->segment_tag, (size_t)g->element);
            rej = json_pack("{s:s,s:s,s:s}", "code", code, "location",
                            where, "message", g->msg);
        }
    }
    json_decref(tree);
    lx_edifact_diags_fini(&diags);
    return rej;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat sb;
    size_t want = fstat(fileno(f), &sb) == 0 && sb.st_size > 0
                      ? (size_t)sb.st_size
                      : 0;
    char *buf = lx_xmalloc(want + 1);
    *len = fread(buf, 1, want, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static int edi_ingest(void *state, lx_conform_hub *hub, const char *system,
                      const json_t *input, const char *doc, size_t len,
                      lx_conform_answer *ans, lx_error *err)
{
    edi_state *st = state;
    (void)input;
    lx_edi_partner p;
    int rc = partner_of(hub->options, &p, err);
    if (rc != 0)
        return rc;
    if (!st->acks[0])
        return lx_error_set(err, LX_EIO, "no acknowledgement folder");
    /* One document's acknowledgement at a time. */
    lx_conform_remove_tree(st->acks);
    if (mkdir(st->acks, 0700) != 0)
        return lx_error_set(err, LX_EIO, "cannot make %s", st->acks);
    lx_edi_inbound_options o = {
        .store = hub->store,
        .registry = hub->registry,
        .x12_defs = st->x12,
        .edifact_defs = st->edifact,
        .maps = st->maps,
        .system = system,
        .adapter = "conformance-in",
        .ack_outbox = st->acks,
        .reject_whole = json_is_true(json_object_get(hub->options,
                                                     "reject_whole")),
        .partner = &p};
    lx_edi_outcome out;
    lx_error e;
    lx_error_clear(&e);
    rc = lx_edi_inbound_process(&o, doc, len, &out, &e);
    if (out.ack_path[0])
        ans->reply = slurp(out.ack_path, &ans->reply_len);
    ans->accepted = rc == 0 && out.rejected == 0;
    if (rc != 0) {
        char where[LX_ERROR_WHERE_MAX + 32];
        if (e.where[0])
            snprintf(where, sizeof(where), "%s", e.where);
        else if (e.offset >= 0)
            snprintf(where, sizeof(where), "offset %ld", e.offset);
        else
            where[0] = '\0';
        ans->rejection = json_pack("{s:s,s:s,s:s}", "code",
                                   lx_error_name(e.code), "location", where,
                                   "message", e.msg);
    } else if (out.rejected) {
        ans->rejection = first_finding(st, doc, len);
        if (!ans->rejection)
            ans->rejection = json_pack("{s:s}", "message",
                                       "a transaction was rejected");
    }
    return 0;
}

/* ---- outbound: the outbox read back as calls ---- */

static void edi_ops_of(void *o, lx_outbound_ops *ops)
{
    lx_edi_out_ops(o, ops);
}

typedef struct edi_out {
    lx_edi_out *o;
    lx_delivery *d;
    lx_conform_target *target;
    char dir[LX_CONFORM_PATH_MAX];
    pthread_mutex_t mu; /* one scan of the outbox at a time */
    json_t *seen;       /* file names already reported */
    pthread_t relay;
    bool relaying;
    atomic_bool stop;
} edi_out;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "partner-000000003-850.x12" -> "partner-{n}-850.x12". */
static void masked(const char *name, char *out, size_t size)
{
    size_t pl = strlen(EDI_PARTNER "-");
    const char *dash = strncmp(name, EDI_PARTNER "-", pl) == 0
                           ? strchr(name + pl, '-')
                           : NULL;
    if (dash)
        snprintf(out, size, EDI_PARTNER "-{n}%s", dash);
    else
        snprintf(out, size, "%s", name);
}

static void relay_scan(edi_out *eo)
{
    pthread_mutex_lock(&eo->mu);
    DIR *d = opendir(eo->dir);
    if (!d) {
        pthread_mutex_unlock(&eo->mu);
        return;
    }
    char *names[EDI_FILES_MAX];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < EDI_FILES_MAX)
        if (e->d_name[0] != '.' && !json_object_get(eo->seen, e->d_name))
            names[n++] = lx_xstrdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        char path[LX_CONFORM_PATH_MAX + 300], rel[300];
        snprintf(path, sizeof(path), "%s/%s", eo->dir, names[i]);
        size_t len = 0;
        char *body = slurp(path, &len);
        masked(names[i], rel, sizeof(rel));
        if (body)
            lx_conform_target_record(eo->target, "WRITE", rel, body, len);
        json_object_set_new(eo->seen, names[i], json_true());
        free(body);
        free(names[i]);
    }
    pthread_mutex_unlock(&eo->mu);
}

static void *relay_main(void *arg)
{
    edi_out *eo = arg;
    struct timespec pause = {0, 5 * 1000 * 1000};
    while (!atomic_load(&eo->stop)) {
        relay_scan(eo);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void edi_out_stop(void **op)
{
    edi_out *eo = *op;
    if (!eo)
        return;
    *op = NULL;
    lx_delivery_stop(&eo->d);
    atomic_store(&eo->stop, true);
    if (eo->relaying)
        pthread_join(eo->relay, NULL);
    lx_edi_out_destroy(&eo->o);
    pthread_mutex_destroy(&eo->mu);
    if (eo->dir[0])
        lx_conform_remove_tree(eo->dir);
    json_decref(eo->seen);
    free(eo);
}

static int edi_out_start(void *state, lx_conform_hub *hub, const char *system,
                         const json_t *options, void **op, lx_error *err)
{
    edi_state *st = state;
    *op = NULL;
    lx_edi_partner p;
    int rc = partner_of(options, &p, err);
    if (rc != 0)
        return rc;
    edi_out *eo = lx_xcalloc(1, sizeof(*eo));
    eo->target = hub->target;
    eo->seen = json_object();
    pthread_mutex_init(&eo->mu, NULL);
    atomic_init(&eo->stop, false);
    if (temp_dir(eo->dir, sizeof(eo->dir), "outbox") != 0) {
        eo->dir[0] = '\0';
        rc = lx_error_set(err, LX_EIO, "cannot make a temporary outbox");
    }
    lx_edi_out_options oo = {.store = hub->store,
                             .x12_defs = st->x12,
                             .edifact_defs = st->edifact,
                             .maps = st->maps,
                             .partner = &p,
                             .standard = st->standard,
                             .outbox = eo->dir,
                             .member_id_system =
                                 lx_json_str(options, "member_id_system")};
    rc = rc ? rc : lx_edi_out_new(&oo, &eo->o, err);
    if (rc == 0)
        rc = lx_conform_delivery_start(hub, system, edi_ops_of, eo->o,
                                       &eo->d, err);
    if (rc == 0) {
        if (pthread_create(&eo->relay, NULL, relay_main, eo) != 0)
            rc = lx_error_set(err, LX_EIO, "cannot start the outbox reader");
        else
            eo->relaying = true;
    }
    if (rc != 0) {
        void *p2 = eo;
        edi_out_stop(&p2);
        return rc;
    }
    *op = eo;
    return 0;
}

static void edi_out_notify(void *op)
{
    lx_delivery_notify(((edi_out *)op)->d);
}

/* The files of the events done are in the outbox: report them now. */
static uint64_t edi_out_cursor(void *op)
{
    edi_out *eo = op;
    uint64_t done = lx_conform_delivery_cursor(eo->d);
    relay_scan(eo);
    return done;
}

const lx_conform_driver lx_conform_driver_x12 = {
    .kind = "x12",
    .map_folder = "x12",
    .open = x12_open,
    .close = edi_close,
    .begin = edi_begin,
    .end = edi_end,
    .ingest = edi_ingest,
    .out_start = edi_out_start,
    .out_stop = edi_out_stop,
    .out_notify = edi_out_notify,
    .out_cursor = edi_out_cursor,
};

const lx_conform_driver lx_conform_driver_edifact = {
    .kind = "edifact",
    .map_folder = "edifact",
    .open = edifact_open,
    .close = edi_close,
    .begin = edi_begin,
    .end = edi_end,
    .ingest = edi_ingest,
    .out_start = edi_out_start,
    .out_stop = edi_out_stop,
    .out_notify = edi_out_notify,
    .out_cursor = edi_out_cursor,
};
