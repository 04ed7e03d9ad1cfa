/* adapters/fhir/fhir_rest.h: the FHIR R4 REST facade of an inbound FHIR
 * adapter instance, served on the hub's HTTP server.
 *
 *   GET    [base]/metadata              CapabilityStatement
 *   POST   [base]/{type}                create (the server assigns the id)
 *   PUT    [base]/{type}/{id}           update or create with that id
 *   GET    [base]/{type}/{id}           read, from the canonical store
 *   DELETE [base]/{type}/{id}           delete
 *   POST   [base]                       Bundle: transaction (all or
 *                                       nothing), batch, collection
 *
 * JSON and XML by Content-Type, Accept and _format. Every error is an
 * OperationOutcome whose issue.expression locates the problem; nothing is
 * stored for a refused request. Writes are answered after the commit is
 * durable. */
#ifndef LX_ADAPTERS_FHIR_REST_H
#define LX_ADAPTERS_FHIR_REST_H

#include "adapters/fhir/fhir.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/http_server.h"

typedef struct lx_fhir_rest {
    const lx_fhir *fhir;
    lx_store *store;
    const lx_registry *registry;
    const char *system;  /* the source system of what arrives here */
    const char *adapter; /* the adapter instance name */
    const char *base;    /* path prefix, e.g. "/fhir/r4" */
    size_t max_body;
} lx_fhir_rest;

/* True when the request's path is under r->base (then resp is filled). */
bool lx_fhir_rest_handle(const lx_fhir_rest *r, const lx_http_request *req,
                         lx_http_response *resp);

#endif
