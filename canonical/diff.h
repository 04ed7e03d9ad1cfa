/* canonical/diff.h: which fields a new version changed.
 *
 * Events carry "changed": the JSON pointers (RFC 6901) of the leaves that
 * differ between two versions of a record, so subscribers can act on the
 * fields they care about without diffing themselves. Arrays of different
 * lengths are reported as the array itself; objects recurse. */
#ifndef LX_CANONICAL_DIFF_H
#define LX_CANONICAL_DIFF_H

#include "core/buf.h"

#include <jansson.h>

/* Append to `out` the changed pointers between old and new as JSON string
 * literals separated by commas (the inside of a JSON array). At most
 * max_count pointers: past that the parents are reported ("" for the whole
 * record). Returns the number appended, or LX_ELIMIT from the buffer. */
int lx_diff_pointers(const json_t *old_rec, const json_t *new_rec,
                     size_t max_count, lx_buf *out);

#endif
