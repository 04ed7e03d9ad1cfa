/* adapters/edi/edi_intern.h: shared JSON values while the EDI parsers
 * build a tree (x12_parse.c, edifact_parse.c), not exported.
 *
 * Building a tree is bound by allocation: a jansson string costs two
 * (the json_t and its copy of the text) and as many frees. EDI values
 * repeat a lot (segment ids, qualifiers, codes, "" for skipped elements:
 * "DTP*348*D8*20240101" in every member of an 834), so each distinct
 * short value is created once per build and shared by reference. The
 * table is a fixed cache of LX_EDI_INTERN_SLOTS values in sets of
 * LX_EDI_INTERN_WAYS: a value whose set is full replaces its last way, so
 * the cost and the memory are bounded whatever the input.
 *
 * Shared values are why the parsers' trees say they are edited by
 * setting members and array items, never in place (x12.h, edifact.h). */
#ifndef LX_ADAPTERS_EDI_EDI_INTERN_H
#define LX_ADAPTERS_EDI_EDI_INTERN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Values up to this many bytes are shared; longer ones (names, ids)
 * rarely repeat and are created as usual. */
#define LX_EDI_INTERN_LEN_MAX 15
#define LX_EDI_INTERN_SLOTS 256
#define LX_EDI_INTERN_WAYS 2

/* A value's bytes, zero-padded, with its length in the last byte: two
 * words to hash and compare instead of a byte loop and memcmp. */
typedef struct lx_edi_intern_key {
    uint64_t w[2];
} lx_edi_intern_key;

typedef struct lx_edi_intern_slot {
    json_t *v; /* one reference held by the table; NULL when empty */
    lx_edi_intern_key key;
} lx_edi_intern_slot;

/* Caller-provided storage (6 KiB: a stack variable for one build). */
typedef struct lx_edi_intern {
    lx_edi_intern_slot slot[LX_EDI_INTERN_SLOTS];
} lx_edi_intern;

void lx_edi_intern_init(lx_edi_intern *t);
/* Drop the table's references; the values live on in the tree. */
void lx_edi_intern_fini(lx_edi_intern *t);

/* A JSON string of p[0..len) (a new reference, possibly shared with other
 * positions of the tree: the parsers' trees say their strings are never
 * modified in place). check_utf8: as json_stringn, NULL when the bytes
 * are not valid UTF-8; else as json_stringn_nocheck (never NULL). */
json_t *lx_edi_intern_string(lx_edi_intern *t, const char *p, size_t len,
                             int check_utf8);

/* The two steps of lx_edi_intern_string, for callers that make the value
 * themselves (EDIFACT reads bytes that are not UTF-8 as Latin-1): the
 * value kept for p[0..len) (a new reference) or NULL, with *slot where
 * to keep one; NULL and *slot NULL when len is over
 * LX_EDI_INTERN_LEN_MAX. */
json_t *lx_edi_intern_find(lx_edi_intern *t, const char *p, size_t len,
                           lx_edi_intern_slot **slot);
/* Keep v (borrowed; the table takes a reference) in slot (from
 * lx_edi_intern_find for the same bytes, no other call between; NULL:
 * nothing kept). */
void lx_edi_intern_keep(lx_edi_intern_slot *slot, const char *p, size_t len,
                        json_t *v);

/* Values below this are shared process-wide by lx_edi_shared_integer. */
#define LX_EDI_SHARED_INT_MAX 4096

/* A JSON integer v (a new reference): for 0 <= v < LX_EDI_SHARED_INT_MAX
 * one value per number for the whole process, made on first use and never
 * freed (as Redis shares small integers), else json_integer(v). Segment
 * positions ("pos") repeat in every message. Thread-safe; the value must
 * never be modified (json_integer_set). */
json_t *lx_edi_shared_integer(json_int_t v);

#endif
