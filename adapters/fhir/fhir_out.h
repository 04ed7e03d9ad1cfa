/* adapters/fhir/fhir_out.h: the outbound FHIR adapter: canonical change
 * events become calls on a target FHIR server (run by the delivery
 * engine, adapters/delivery/delivery.h).
 *
 * An upsert goes out as an update: PUT [base]/{type}/{id} when the
 * cross-reference already knows the target's id of the record, else a
 * conditional update PUT [base]/{type}?identifier=system|value on the
 * record's first identifier (the server creates or updates). The id the
 * server answers with (Location, or the body's id) goes into the
 * cross-reference. A delete is DELETE [base]/{type}/{id} when the id is
 * known, else skipped. */
#ifndef LX_ADAPTERS_FHIR_OUT_H
#define LX_ADAPTERS_FHIR_OUT_H

#include "adapters/delivery/delivery.h"
#include "adapters/fhir/fhir.h"

typedef struct lx_fhir_out lx_fhir_out;

typedef struct lx_fhir_out_options {
    const lx_fhir *fhir;   /* borrowed, outlives the adapter */
    const char *base_url;  /* "http://ehr.example/fhir" */
    const char *system;    /* the target system's name in the hub */
    lx_fhir_format format; /* what the target is sent */
    const char *auth_header; /* e.g. "Authorization: Bearer ...", or NULL */
} lx_fhir_out_options;

/* Errors: LX_EINVAL (no base URL or system). */
LX_NODISCARD int lx_fhir_out_new(const lx_fhir_out_options *opts,
                                 lx_fhir_out **out, lx_error *err);
void lx_fhir_out_destroy(lx_fhir_out **o);

/* Append the request body of `resource` in `format` to out: for JSON the
 * very bytes json_dumps(resource, JSON_COMPACT) gives (what
 * lx_fhir_serialize writes), by lx_json_dump_compact's cheaper writer;
 * XML by lx_fhir_serialize. Errors: those of lx_fhir_serialize. */
LX_NODISCARD int lx_fhir_out_body(const lx_fhir *fhir, const json_t *resource,
                                  lx_fhir_format format, lx_buf *out,
                                  lx_error *err);

/* The delivery operations; ops->ctx is o. */
void lx_fhir_out_ops(lx_fhir_out *o, lx_outbound_ops *ops);

#endif
