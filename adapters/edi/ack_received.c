/* adapters/edi/ack_received.c: recording the 997/999 a partner sends back.
 * See ack_received.h. */
#include "adapters/edi/ack_received.h"
#include "core/id.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lx_edi_ack_tree_is_ack(const json_t *tree)
{
    size_t i, g, n = 0;
    json_t *ichg, *grp;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        json_array_foreach(json_object_get(ichg, "groups"), g, grp)
        {
            const char *gs01 = lx_json_str(json_object_get(grp, "GS"), "GS01");
            if (!gs01 || strcmp(gs01, "FA") != 0)
                return false;
            n++;
        }
    }
    return n > 0;
}

/* Every segment of a node in document order: its segments, its loops
 * (recursively), then its summary. */
static void collect(const json_t *node, json_t *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(node, "segments"), i, v)
        json_array_append(out, v);
    json_array_foreach(json_object_get(node, "loops"), i, v)
        collect(v, out);
    json_array_foreach(json_object_get(node, "summary"), i, v)
        json_array_append(out, v);
}

/* AK901 / IK501 / AK501 codes (data elements 715 and 717). */
static const char *status_word(const char *code)
{
    if (!code)
        return "unknown";
    switch (code[0]) {
    case 'A': return "accepted";
    case 'E': return "accepted_with_errors";
    case 'P': return "partially_accepted";
    case 'R': return "rejected";
    case 'M': return "rejected"; /* MAC failed */
    case 'W': return "rejected"; /* assurance failed */
    case 'X': return "rejected"; /* content after decryption */
    default: return "unknown";
    }
}

/* Codes of a segment's elements from position `from` on (AK904.., IK502..). */
static json_t *codes_of(const json_t *seg, const char *id, int from, int to)
{
    json_t *codes = json_array();
    for (int k = from; k <= to; k++) {
        char name[16];
        snprintf(name, sizeof(name), "%s%02d", id, k);
        const char *c = lx_json_str(seg, name);
        if (c && *c)
            json_array_append_new(codes, json_string(c));
    }
    return codes;
}

static int record_one(lx_store *store, const char *system, const char *isa13,
                      const json_t *txn, size_t *rejected, lx_error *err)
{
    json_t *segs = json_array();
    collect(txn, segs);
    const char *kind = lx_json_str(json_object_get(txn, "ST"), "ST01");
    const char *st02 = lx_json_str(json_object_get(txn, "ST"), "ST02");
    json_t *sets = json_array();
    json_t *ak1 = NULL, *ak9 = NULL, *cur = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(segs, i, s)
    {
        const char *id = lx_json_str(s, "id");
        if (!id)
            continue;
        if (strcmp(id, "AK1") == 0) {
            ak1 = s;
        } else if (strcmp(id, "AK9") == 0) {
            ak9 = s;
        } else if (strcmp(id, "AK2") == 0) {
            cur = json_pack("{s:s,s:s}", "set",
                            lx_json_str(s, "AK201") ? lx_json_str(s, "AK201")
                                                    : "",
                            "control",
                            lx_json_str(s, "AK202") ? lx_json_str(s, "AK202")
                                                    : "");
            json_array_append_new(sets, cur);
        } else if (cur && (strcmp(id, "IK5") == 0 || strcmp(id, "AK5") == 0)) {
            json_object_set_new(cur, "status",
                                json_string(status_word(
                                    lx_json_str(s, id[0] == 'I' ? "IK501"
                                                                : "AK501"))));
            json_object_set_new(cur, "codes", codes_of(s, id, 2, 6));
        }
    }
    int rc = 0;
    const char *group = lx_json_str(ak1, "AK102");
    const char *ak901 = lx_json_str(ak9, "AK901");
    if (!group || !*group || !ak901) {
        rc = lx_error_set(err, LX_EINVAL,
                          "interchange %s, %s %s: an acknowledgement needs "
                          "AK1 (the group it acknowledges) and AK9",
                          isa13 ? isa13 : "?", kind ? kind : "?",
                          st02 ? st02 : "?");
    } else {
        char now[LX_TIME_SIZE];
        lx_time_format(lx_now_ms(), now);
        json_t *rec = json_pack(
            "{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s}", "kind", kind ? kind : "",
            "group", group, "functional_id",
            lx_json_str(ak1, "AK101") ? lx_json_str(ak1, "AK101") : "",
            "status", status_word(ak901), "sets", json_incref(sets), "codes",
            codes_of(ak9, "AK9", 5, 9), "interchange", isa13 ? isa13 : "",
            "received", now);
        char key[256];
        snprintf(key, sizeof(key), "edi-ack/%s/%09lld", system,
                 strtoll(group, NULL, 10));
        char *text = json_dumps(rec, JSON_COMPACT);
        rc = lx_store_state_put(store, key, text, strlen(text), err);
        free(text);
        json_decref(rec);
        if (rc == 0 && ak901[0] != 'A')
            (*rejected)++;
    }
    json_decref(sets);
    json_decref(segs);
    return rc;
}

int lx_edi_ack_record(lx_store *store, const char *system, const json_t *tree,
                      size_t *count, size_t *rejected, lx_error *err)
{
    *count = 0;
    *rejected = 0;
    size_t i, g, t;
    json_t *ichg, *grp, *txn;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        const char *isa13 = lx_json_str(json_object_get(ichg, "ISA"), "ISA13");
        json_array_foreach(json_object_get(ichg, "groups"), g, grp)
        {
            json_array_foreach(json_object_get(grp, "transactions"), t, txn)
            {
                const char *set = lx_json_str(json_object_get(txn, "ST"),
                                              "ST01");
                if (!set || (strcmp(set, "997") != 0 &&
                             strcmp(set, "999") != 0))
                    continue;
                int rc = record_one(store, system, isa13, txn, rejected, err);
                if (rc != 0)
                    return rc;
                (*count)++;
            }
        }
    }
    return 0;
}
