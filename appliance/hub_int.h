/* appliance/hub_int.h: the hub's parts, shared by hub.c and hub_http.c. */
#ifndef LX_APPLIANCE_HUB_INT_H
#define LX_APPLIANCE_HUB_INT_H

#include "appliance/hub.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/bus.h"
#include "core/http_server.h"

#include "adapters/delivery/delivery.h"
#include "adapters/edi/edi_inbound.h"
#include "adapters/edi/edi_outbound.h"
#include "adapters/hropen/hropen.h"
#include "adapters/transport/filedrop.h"
#include "adapters/fhir/fhir.h"
#include "adapters/fhir/fhir_out.h"
#include "adapters/fhir/fhir_rest.h"
#include "adapters/rest/rest_out.h"

#include <pthread.h>
#include <stdbool.h>

#define LX_HUB_ADAPTERS_MAX 64

/* One adapter instance of the configuration. */
typedef struct lx_hub_adapter {
    char name[LX_STORE_NAME_MAX + 1];
    char system[LX_STORE_NAME_MAX + 1];
    bool inbound;
    char base[128];          /* inbound HTTP path prefix */
    lx_fhir_rest rest;       /* inbound FHIR: the facade's settings */
    bool serves_fhir;        /* inbound FHIR facade */
    lx_fhir_out *fhir_out;   /* outbound FHIR */
    lx_delivery *delivery;   /* outbound: the delivery engine */
    bool is_edi;             /* inbound EDI (else FHIR) */
    lx_edi_inbound_options edi; /* inbound EDI: the pipeline's settings */
    char ack[8];
    char ack_outbox[1024];
    lx_filedrop *inbox;      /* inbound EDI file drop, or NULL */
    bool has_partner;        /* EDI: "partner" names a profile */
    lx_edi_partner partner;  /* EDI: that profile */
    lx_edi_out *edi_out;     /* outbound EDI, or NULL */
    lx_hropen *hropen;       /* inbound HR Open webhook, or NULL */
    char sig_header[64];     /* webhook signature header, "" = unsigned */
    char *secret;            /* webhook HMAC secret (owned) */
    char idem_header[64];    /* idempotency key header */
    char *subscribe[33];     /* outbound topic patterns, NULL-ended */
    struct lx_hub_rest *rest_adapter; /* REST, HR Open out: hub_rest.c */
    struct lx_hub_native *native_adapter; /* native (.so): hub_native.c */
} lx_hub_adapter;

struct lx_hub {
    const lx_config *cfg;
    lx_store *store;
    lx_registry *registry;
    lx_bus *bus;
    lx_http_server *http; /* NULL when nothing is served over HTTP */
    /* Held shared while a request is served (bus thread, HTTP threads);
     * closing and reloading take it exclusively, so no request sees a
     * half-swapped registry or a closed store. */
    pthread_rwlock_t lock;
    bool closing;
    lx_fhir *fhir; /* loaded when an adapter uses FHIR */
    lx_x12_defs *x12_defs;         /* loaded when an adapter uses EDI */
    lx_edifact_defs *edifact_defs;
    lx_edi_maps *edi_maps;
    lx_hub_adapter adapters[LX_HUB_ADAPTERS_MAX];
    size_t adapter_count;
};

/* Start the configured adapter instances (hub_adapters.c): inbound ones
 * are served by lx_hub_adapters_http, outbound ones get a delivery thread.
 * Errors name the adapter by its JSON pointer in the configuration. */
LX_NODISCARD int lx_hub_adapters_start(lx_hub *hub, lx_error *err);
void lx_hub_adapters_stop(lx_hub *hub);
/* True when an inbound adapter served the request. */
bool lx_hub_adapters_http(lx_hub *hub, const lx_http_request *req,
                          lx_http_response *resp);
/* New events are committed: wake the deliveries. */
void lx_hub_adapters_notify(lx_hub *hub);
/* Whether an inbound adapter needs the HTTP server. */
bool lx_hub_adapters_need_http(const lx_config *cfg);

/* What the adapter kinds share (hub_adapters.c). */
/* A configuration error located by the adapter's JSON pointer
 * (/adapters/<i>/<member>); returns LX_ECONFIG. */
int lx_hub_bad(lx_error *err, const lx_config *cfg, size_t i,
               const char *member, const char *what);
bool lx_hub_is_inbound(const json_t *a);
/* Whether path names an existing directory (an outbox, an inbox). */
bool lx_hub_is_dir(const char *path);
/* The delivery settings every outbound instance shares: "subscribe",
 * "transport"/"timeout_ms", "retry" {max_attempts, backoff_base_ms,
 * backoff_max_ms}. Fills ha->subscribe (freed by lx_hub_adapters_stop). */
LX_NODISCARD int lx_hub_delivery_options(lx_hub *hub, size_t i,
                                         const json_t *a, lx_hub_adapter *ha,
                                         lx_delivery_options *out,
                                         lx_error *err);
/* Answer with a JSON body (consumed). */
void lx_hub_json_answer(lx_http_response *resp, int status, json_t *body);
/* The HTTP status of an error code. */
int lx_hub_status_of(int code);

/* The adapter kinds: start one instance (ha is filled with name, system
 * and direction; the kind increments hub->adapter_count once the instance
 * holds anything stop() must release). */
LX_NODISCARD int lx_hub_fhir_start(lx_hub *hub, size_t i, const json_t *a,
                                   lx_hub_adapter *ha, lx_error *err);
LX_NODISCARD int lx_hub_edi_start(lx_hub *hub, size_t i, const json_t *a,
                                  lx_hub_adapter *ha, lx_error *err);
LX_NODISCARD int lx_hub_hropen_start(lx_hub *hub, size_t i, const json_t *a,
                                     lx_hub_adapter *ha, lx_error *err);
/* Inbound requests: true when the instance served it. */
bool lx_hub_edi_http(lx_hub_adapter *ha, const lx_http_request *req,
                     lx_http_response *resp);
bool lx_hub_hropen_http(lx_hub *hub, lx_hub_adapter *ha,
                        const lx_http_request *req, lx_http_response *resp);

/* REST adapter instances (hub_rest.c); HR Open outbound instances are
 * REST outbound ones whose body env->body builds (hub_hropen.c). */
LX_NODISCARD int lx_hub_rest_start(lx_hub *hub, size_t i, const json_t *a,
                                   lx_hub_adapter *ha, lx_error *err);
LX_NODISCARD int lx_hub_rest_out_start(lx_hub *hub, size_t i,
                                       const json_t *a, lx_hub_adapter *ha,
                                       const lx_rest_out_env *env,
                                       lx_error *err);
bool lx_hub_rest_needs_http(const json_t *a);
bool lx_hub_rest_http(lx_hub *hub, lx_hub_adapter *ha,
                      const lx_http_request *req, lx_http_response *resp);
/* After the instance's delivery stopped. */
void lx_hub_rest_stop(lx_hub_adapter *ha);

/* Native adapter instances (hub_native.c): a shared library built
 * against adapters/native/lingua_adapter.h, loaded and called in the
 * hub's own process (a crash in it is the hub's). Inbound: POSTs to
 * ha->base (webhook checks as below); outbound: a delivery whose prepare
 * is the adapter's outbound(). */
LX_NODISCARD int lx_hub_native_start(lx_hub *hub, size_t i, const json_t *a,
                                     lx_hub_adapter *ha, lx_error *err);
bool lx_hub_native_http(lx_hub *hub, lx_hub_adapter *ha,
                        const lx_http_request *req, lx_http_response *resp);
/* After the instance's delivery stopped: close the instance, unload. */
void lx_hub_native_stop(lx_hub_adapter *ha);

/* Inbound webhooks (hub_webhook.c): "transport" {"http", "signature",
 * "idempotency_header"} into ha->base, sig_header, secret, idem_header. */
LX_NODISCARD int lx_hub_webhook_config(lx_hub *hub, size_t i,
                                       const json_t *a, lx_hub_adapter *ha,
                                       lx_error *err);
/* A request to ha->base: true when it is answered already (not a POST,
 * too large, bad signature, a replayed or reused idempotency key); else
 * *body, *len and *key (NULL when none) are set for the caller, who
 * answers with lx_hub_webhook_finish (answer consumed; a 200 is
 * remembered under the key). */
bool lx_hub_webhook_begin(lx_hub *hub, lx_hub_adapter *ha,
                          const lx_http_request *req, lx_http_response *resp,
                          const char **body, size_t *len, const char **key);
void lx_hub_webhook_finish(lx_hub *hub, lx_hub_adapter *ha, const char *key,
                           const char *body, size_t len,
                           lx_http_response *resp, int status, json_t *answer);

/* The HTTP handler (hub_http.c): /health and /metrics. */
void lx_hub_http_handle(void *ctx, const lx_http_request *req,
                        lx_http_response *resp);

#endif
