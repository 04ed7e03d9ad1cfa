/* canonical/store_text.h: the canonical text of a record, fast (private to
 * the store).
 *
 * The store hashes and keeps a record as its canonical text: compact, keys
 * sorted, which is what lx_json_dump_canonical (core/json.h) returns, i.e.
 * jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY).
 * That call costs ~120,000 instructions for a 1 KiB record (a loop check
 * through a hash table per container, a qsort and a malloc per object, a
 * UTF-8 decode and re-encode per character), half the cost of a whole
 * upsert. This writes the very same bytes in a tenth of that: runs of
 * plain characters are copied at once and small objects' keys are sorted
 * on the stack. Reals (each on its own) and anything unusual (invalid
 * UTF-8, nesting deeper than LX_STORE_TEXT_DEPTH_MAX: the whole value)
 * are left to jansson, so the output is
 * always byte for byte jansson's: content hashes of records stored before
 * stay valid (tests/unit/test_store_text.c compares them).
 *
 * Thread-safe (no state). */
#ifndef LX_CANONICAL_STORE_TEXT_H
#define LX_CANONICAL_STORE_TEXT_H

#include <jansson.h>
#include <stddef.h>

#define LX_STORE_TEXT_DEPTH_MAX 64

/* The canonical text of v, malloc'd (free()), NUL-terminated; *len (may be
 * NULL) receives its length. Aborts where lx_json_dump_canonical does (a
 * value jansson cannot dump). */
char *lx_store_text_dump(const json_t *v, size_t *len);

#endif
