/* adapters/edi/edi_partner.c: see edi_partner.h. */
#include "adapters/edi/edi_partner.h"

#include "core/json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PTR_MAX LX_ERROR_WHERE_MAX

/* Every error names the JSON pointer of the value it is about, so the hub
 * can give the file's line and column. */
static int bad(lx_error *err, const char *ptr, const char *what)
{
    lx_error_set(err, LX_ECONFIG, "%s: %s", ptr, what);
    if (err)
        snprintf(err->where, sizeof(err->where), "%s", ptr);
    return LX_ECONFIG;
}

static void child(char *out, const char *parent, const char *key)
{
    snprintf(out, PTR_MAX, "%s", parent);
    lx_json_pointer_append(out, PTR_MAX, key);
}

/* Unknown keys are errors: a misspelt "qualifer" must not silently fall
 * back to a default. */
static int only_keys(const json_t *obj, const char *ptr,
                     const char *const *keys, lx_error *err)
{
    if (!json_is_object(obj))
        return bad(err, ptr, "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(k, keys[i]) == 0;
        if (!known) {
            char at[PTR_MAX], what[160] = "unknown key (known:";
            child(at, ptr, k);
            for (size_t i = 0; keys[i]; i++)
                snprintf(what + strlen(what), sizeof(what) - strlen(what),
                         "%s %s", i ? "," : "", keys[i]);
            snprintf(what + strlen(what), sizeof(what) - strlen(what), ")");
            return bad(err, at, what);
        }
    }
    return 0;
}

/* An envelope value: printable ASCII, no blank at either end, min..max
 * characters. Delimiters are checked once they are known. */
static int get_text(const json_t *obj, const char *key, const char *ptr,
                    size_t min, size_t max, bool required, char *out,
                    size_t size, lx_error *err)
{
    char at[PTR_MAX], what[128];
    child(at, ptr, key);
    json_t *v = json_object_get(obj, key);
    out[0] = '\0';
    if (!v) {
        if (!required)
            return 0;
        snprintf(what, sizeof(what), "missing required key '%s'", key);
        return bad(err, ptr, what);
    }
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    bool ok = json_is_string(v) && n >= min && n <= max && n < size &&
              s[0] != ' ' && (n == 0 || s[n - 1] != ' ');
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f;
    if (!ok) {
        snprintf(what, sizeof(what),
                 "must be a string of %zu to %zu printable ASCII characters "
                 "without leading or trailing blanks",
                 min, max);
        return bad(err, at, what);
    }
    memcpy(out, s, n + 1);
    return 0;
}

static int x12_party(const json_t *sec, const char *key, const char *ptr,
                     lx_edi_x12_party *p, lx_error *err)
{
    static const char *const keys[] = {"qualifier", "id", "application",
                                       NULL};
    char at[PTR_MAX];
    child(at, ptr, key);
    json_t *o = json_object_get(sec, key);
    if (!o)
        return bad(err, ptr, key[0] == 'o' ? "missing required key 'ours'"
                                           : "missing required key 'theirs'");
    int rc = only_keys(o, at, keys, err);
    rc = rc ? rc : get_text(o, "qualifier", at, 2, 2, true, p->qualifier,
                            sizeof(p->qualifier), err);
    rc = rc ? rc : get_text(o, "id", at, 1, 15, true, p->id, sizeof(p->id),
                            err);
    rc = rc ? rc : get_text(o, "application", at, 2, 15, false,
                            p->application, sizeof(p->application), err);
    if (rc == 0 && !p->application[0]) {
        if (strlen(p->id) < 2) {
            char a[PTR_MAX];
            child(a, at, "id");
            return bad(err, a, "an id of 1 character needs an "
                               "\"application\" (GS02/GS03 are 2 to 15)");
        }
        snprintf(p->application, sizeof(p->application), "%s", p->id);
    }
    return rc;
}

static bool has_char(const char *s, const char *set)
{
    for (; *s; s++)
        if (strchr(set, *s))
            return true;
    return false;
}

static int x12_delims(const json_t *sec, const char *ptr, lx_x12_delims *d,
                      lx_error *err)
{
    static const char *const keys[] = {"element", "repetition", "component",
                                       "segment", NULL};
    *d = lx_x12_delims_default;
    json_t *o = json_object_get(sec, "delimiters");
    if (!o)
        return 0;
    char at[PTR_MAX];
    child(at, ptr, "delimiters");
    int rc = only_keys(o, at, keys, err);
    char *slots[4] = {&d->element, &d->repetition, &d->component,
                      &d->segment};
    char seen[5] = "";
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        char v[2], a[PTR_MAX];
        rc = get_text(o, keys[i], at, 1, 1, false, v, sizeof(v), err);
        if (rc || !v[0]) {
            seen[i] = *slots[i];
            continue;
        }
        child(a, at, keys[i]);
        if (isalnum((unsigned char)v[0]))
            return bad(err, a, "a delimiter is not a letter or a digit");
        *slots[i] = v[0];
        seen[i] = v[0];
    }
    for (size_t i = 0; rc == 0 && i < 4; i++)
        for (size_t j = i + 1; j < 4; j++)
            if (seen[i] == seen[j])
                return bad(err, at, "the four delimiters must differ");
    return rc;
}

static int ack_of(const json_t *sec, const char *ptr, bool x12,
                  lx_edi_ack *out, lx_error *err)
{
    char v[8], at[PTR_MAX];
    int rc = get_text(sec, "ack", ptr, 1, 7, false, v, sizeof(v), err);
    if (rc)
        return rc;
    child(at, ptr, "ack");
    *out = LX_EDI_ACK_NONE;
    if (!v[0] || strcmp(v, "none") == 0)
        return 0;
    if (x12 && strcmp(v, "997") == 0)
        *out = LX_EDI_ACK_997;
    else if (x12 && strcmp(v, "999") == 0)
        *out = LX_EDI_ACK_999;
    else if (x12 && (strcmp(v, "TA1") == 0 || strcmp(v, "ta1") == 0))
        *out = LX_EDI_ACK_TA1;
    else if (!x12 && (strcmp(v, "CONTRL") == 0 || strcmp(v, "contrl") == 0))
        *out = LX_EDI_ACK_CONTRL;
    else
        return bad(err, at, x12 ? "must be 997, 999, TA1 or none"
                                : "must be CONTRL or none");
    return 0;
}

static int x12_section(const json_t *p, const char *ptr, lx_edi_partner *out,
                       lx_error *err)
{
    static const char *const keys[] = {"ours", "theirs", "ack", "delimiters",
                                       NULL};
    char at[PTR_MAX];
    child(at, ptr, "x12");
    const json_t *sec = json_object_get(p, "x12");
    int rc = only_keys(sec, at, keys, err);
    rc = rc ? rc : x12_party(sec, "ours", at, &out->x12_ours, err);
    rc = rc ? rc : x12_party(sec, "theirs", at, &out->x12_theirs, err);
    rc = rc ? rc : ack_of(sec, at, true, &out->x12_ack, err);
    rc = rc ? rc : x12_delims(sec, at, &out->x12_delims, err);
    if (rc)
        return rc;
    char set[5] = {out->x12_delims.element, out->x12_delims.repetition,
                   out->x12_delims.component, out->x12_delims.segment, 0};
    const lx_edi_x12_party *parties[2] = {&out->x12_ours, &out->x12_theirs};
    for (int i = 0; i < 2; i++)
        if (has_char(parties[i]->qualifier, set) ||
            has_char(parties[i]->id, set) ||
            has_char(parties[i]->application, set)) {
            char a[PTR_MAX];
            child(a, at, i ? "theirs" : "ours");
            return bad(err, a, "an identifier holds one of the delimiters");
        }
    out->has_x12 = true;
    return 0;
}

static int edifact_party(const json_t *sec, const char *key, const char *ptr,
                         lx_edifact_party *p, lx_error *err)
{
    static const char *const keys[] = {"id", "qualifier", NULL};
    char at[PTR_MAX];
    child(at, ptr, key);
    json_t *o = json_object_get(sec, key);
    if (!o)
        return bad(err, ptr, key[0] == 'o' ? "missing required key 'ours'"
                                           : "missing required key 'theirs'");
    int rc = only_keys(o, at, keys, err);
    rc = rc ? rc : get_text(o, "id", at, 1, 35, true, p->id, sizeof(p->id),
                            err);
    return rc ? rc : get_text(o, "qualifier", at, 1, 4, false, p->qualifier,
                              sizeof(p->qualifier), err);
}

static int edifact_section(const json_t *p, const char *ptr,
                           lx_edi_partner *out, lx_error *err)
{
    static const char *const keys[] = {"ours", "theirs", "ack", "syntax",
                                       "una", NULL};
    char at[PTR_MAX], a[PTR_MAX];
    child(at, ptr, "edifact");
    const json_t *sec = json_object_get(p, "edifact");
    int rc = only_keys(sec, at, keys, err);
    rc = rc ? rc : edifact_party(sec, "ours", at, &out->edifact_ours, err);
    rc = rc ? rc : edifact_party(sec, "theirs", at, &out->edifact_theirs, err);
    rc = rc ? rc : ack_of(sec, at, false, &out->edifact_ack, err);
    rc = rc ? rc : get_text(sec, "syntax", at, 4, 4, false,
                            out->edifact_syntax, sizeof(out->edifact_syntax),
                            err);
    if (rc)
        return rc;
    child(a, at, "syntax");
    if (!out->edifact_syntax[0])
        snprintf(out->edifact_syntax, sizeof(out->edifact_syntax), "UNOC");
    else if (strncmp(out->edifact_syntax, "UNO", 3) != 0 ||
             !isupper((unsigned char)out->edifact_syntax[3]))
        return bad(err, a, "must be a syntax identifier UNOA..UNOZ");
    /* "una" may hold a blank (the default repetition is ' '), so it is
     * read without get_text's blank rule. */
    json_t *una = json_object_get(sec, "una");
    child(a, at, "una");
    snprintf(out->edifact_una, sizeof(out->edifact_una), ":+.? '");
    if (una) {
        const char *s = json_string_value(una);
        if (!s || strlen(s) != 6)
            return bad(err, a, "must be the 6 service characters, in UNA "
                               "order (\":+.? '\")");
        for (int i = 0; i < 6; i++)
            for (int j = i + 1; j < 6; j++)
                if (s[i] == s[j] && i != 2 && j != 2)
                    return bad(err, a, "service characters must differ");
        memcpy(out->edifact_una, s, 7);
    }
    out->has_edifact = true;
    return 0;
}

int lx_edi_partner_parse(const json_t *partners, const char *name,
                         lx_edi_partner *out, lx_error *err)
{
    static const char *const keys[] = {"usage", "x12", "edifact", NULL};
    memset(out, 0, sizeof(*out));
    char ptr[PTR_MAX];
    child(ptr, "/partners", name ? name : "");
    const json_t *p = json_object_get(partners, name ? name : "");
    if (!name || !p)
        return bad(err, ptr, "no such partner in /partners");
    if (strlen(name) > LX_EDI_PARTNER_NAME_MAX)
        return bad(err, ptr, "partner names are at most 64 characters");
    snprintf(out->name, sizeof(out->name), "%s", name);
    int rc = only_keys(p, ptr, keys, err);
    char usage[16], at[PTR_MAX];
    rc = rc ? rc : get_text(p, "usage", ptr, 1, 15, false, usage,
                            sizeof(usage), err);
    if (rc)
        return rc;
    child(at, ptr, "usage");
    if (usage[0] && strcmp(usage, "test") != 0 &&
        strcmp(usage, "production") != 0)
        return bad(err, at, "must be \"test\" or \"production\"");
    out->test = strcmp(usage, "test") == 0;
    if (json_object_get(p, "x12") && (rc = x12_section(p, ptr, out, err)))
        return rc;
    if (json_object_get(p, "edifact") &&
        (rc = edifact_section(p, ptr, out, err)))
        return rc;
    if (!out->has_x12 && !out->has_edifact)
        return bad(err, ptr, "a partner needs an \"x12\" and/or an "
                             "\"edifact\" profile");
    return 0;
}

/* ---- envelopes ---- */

void lx_edi_envelope_now(char date[9], char hhmm[5])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(date, 9, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    snprintf(hhmm, 5, "%02d%02d", tm.tm_hour, tm.tm_min);
}

/* ---- checking received envelopes ---- */

/* ISA ids are padded to 15 with blanks: compare without the padding. */
static bool same_trimmed(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t na = strlen(a), nb = strlen(b);
    while (na && a[na - 1] == ' ')
        na--;
    while (nb && b[nb - 1] == ' ')
        nb--;
    return na == nb && memcmp(a, b, na) == 0;
}

int lx_edi_partner_check_isa(const lx_edi_partner *p, const json_t *isa,
                             lx_error *err)
{
    if (!p->has_x12)
        return lx_error_set(err, LX_EINVAL, "partner %s has no X12 profile "
                                            "(/partners/%s/x12)",
                            p->name, p->name);
    static const struct {
        const char *key;
        int theirs;
        int id;
        const char *what;
    } checks[] = {
        {"ISA05", 1, 0, "sender id qualifier"},
        {"ISA06", 1, 1, "sender id"},
        {"ISA07", 0, 0, "receiver id qualifier"},
        {"ISA08", 0, 1, "receiver id"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const lx_edi_x12_party *party =
            checks[i].theirs ? &p->x12_theirs : &p->x12_ours;
        const char *want = checks[i].id ? party->id : party->qualifier;
        if (!same_trimmed(lx_json_str(isa, checks[i].key), want))
            return lx_error_set(err, LX_EINVAL,
                                "segment 1 (ISA) element %s: %s is not the "
                                "one of partner %s (/partners/%s/x12/%s)",
                                checks[i].key + 3, checks[i].what, p->name,
                                p->name,
                                checks[i].theirs ? "theirs" : "ours");
    }
    return 0;
}

/* Component c of UNB element e, or NULL. */
static const char *unb_part(const json_t *unb, size_t e, size_t c)
{
    const json_t *el = json_array_get(unb, e);
    const json_t *v = json_is_array(el) ? json_array_get(el, c) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int lx_edi_partner_check_unb(const lx_edi_partner *p, const json_t *unb,
                             lx_error *err)
{
    if (!p->has_edifact)
        return lx_error_set(err, LX_EINVAL, "partner %s has no EDIFACT "
                                            "profile (/partners/%s/edifact)",
                            p->name, p->name);
    const lx_edifact_party *parties[2] = {&p->edifact_theirs,
                                          &p->edifact_ours};
    static const char *const names[2] = {"sender (S002)", "recipient (S003)"};
    for (size_t i = 0; i < 2; i++) {
        const char *id = unb_part(unb, i + 1, 0);
        const char *q = unb_part(unb, i + 1, 1);
        bool ok = id && strcmp(id, parties[i]->id) == 0 &&
                  (!parties[i]->qualifier[0] ||
                   (q && strcmp(q, parties[i]->qualifier) == 0));
        if (!ok)
            return lx_error_set(err, LX_EINVAL,
                                "segment UNB element %zu: the %s is not the "
                                "one of partner %s (/partners/%s/edifact/%s)",
                                i + 2, names[i], p->name, p->name,
                                i ? "ours" : "theirs");
    }
    return 0;
}
