/* adapters/edi/edi_intern.h: one JSON string per distinct short value
 * while the EDI parsers build a tree (x12_parse.c, edifact_parse.c), not
 * exported.
 *
 * Building a tree is bound by allocation: a jansson string costs two
 * (the json_t and its copy of the text) and as many frees. EDI values
 * repeat a lot (segment ids, qualifiers, codes, "" for skipped elements:
 * "DTP*348*D8*20240101" in every member of an 834), so each distinct
 * short value is created once per build and shared by reference. The
 * table is a fixed cache of LX_EDI_INTERN_SLOTS values in sets of
 * LX_EDI_INTERN_WAYS: a value whose set is full replaces its last way, so
 * the cost and the memory are bounded whatever the input. */
#ifndef LX_ADAPTERS_EDI_EDI_INTERN_H
#define LX_ADAPTERS_EDI_EDI_INTERN_H

#include <jansson.h>
#include <stddef.h>

/* Values up to this many bytes are shared; longer ones (names, ids)
 * rarely repeat and are created as usual. */
#define LX_EDI_INTERN_LEN_MAX 15
#define LX_EDI_INTERN_SLOTS 256
#define LX_EDI_INTERN_WAYS 2

typedef struct lx_edi_intern_slot {
    json_t *v; /* one reference held by the table; NULL when empty */
    unsigned char len;
    char text[LX_EDI_INTERN_LEN_MAX];
} lx_edi_intern_slot;

/* Caller-provided storage (about 6 KiB: a stack variable for one build). */
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

#endif
