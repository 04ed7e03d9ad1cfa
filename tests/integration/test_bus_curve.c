/* A hub whose bus is secured with CURVE (docs/bus.md "Security"), as an
 * operator would set it up: `lingua bus keygen` for the hub's key, the
 * client's public key in bus.curve.clients. Checks that an admitted client
 * ingests and receives events and is named in the record's trace; that a
 * client with an unknown key and a plain client get no answer and store
 * nothing, the refusal is logged and counted; that the CLI on the
 * appliance gets in with the hub's own key file; that admitting a client
 * takes a reload (SIGHUP), not a restart; and that configurations which
 * would leave the bus open are refused with a located error. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define TIMEOUT 10000
#define REFUSED_WAIT 1500 /* long enough for a handshake and an answer */

typedef struct keys {
    char pub[41], sec[41];
} keys;

static void keypair(keys *k)
{
    LXT_CHECK(zmq_curve_keypair(k->pub, k->sec) == 0, "zmq_curve_keypair");
}

static json_t *person(const char *mrn)
{
    return json_pack("{s:s,s:s,s:s,s:{s:[{s:s,s:s}],s:{s:s,s:[s]}}}",
                     "entity", "person", "system", "crm", "native_id", mrn,
                     "record", "identifiers", "system", "urn:mrn", "value",
                     mrn, "name", "family", "Okafor", "given", "Ada");
}

/* INGEST through a new client with the current keys. Returns the call's
 * result (0 answered, -1 no answer) and the status. */
static int ingest(const lxt_hub *h, const char *mrn, int timeout_ms,
                  char status[16], json_t **reply)
{
    lxt_client *c = lxt_client_new(h->router);
    json_t *body = person(mrn);
    int rc = lxt_call(c, "INGEST", body, timeout_ms, status, reply);
    json_decref(body);
    lxt_client_destroy(&c);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static json_t *status_of(const lxt_hub *h)
{
    lxt_client *c = lxt_client_new(h->router);
    json_t *body = json_object(), *reply = NULL;
    char st[16];
    int rc = lxt_call(c, "STATUS", body, lxt_ms(TIMEOUT), st, &reply);
    json_decref(body);
    lxt_client_destroy(&c);
    LXT_CHECK(rc == 0 && strcmp(st, "OK") == 0, "STATUS answered");
    return reply;
}

/* `lingua serve --config` on a file that must be refused: exit 3 and the
 * message. */
static void refused_config(const char *dir, const char *text,
                           const char *expect)
{
    char path[LXT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/bad.json", dir);
    FILE *f = fopen(path, "w");
    LXT_CHECK(f != NULL, "write %s", path);
    fputs(text, f);
    fclose(f);
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "serve", "--config",
                          path, NULL};
    char *out = NULL, *err = NULL;
    int code = lxt_run(argv, lxt_ms(TIMEOUT), &out, &err, 1 << 16);
    LXT_SOFT_CHECK(code == 3 && err && strstr(err, expect),
                   "exit %d, stderr: %s (expected '%s')", code,
                   err ? err : "", expect);
    free(out);
    free(err);
}

int main(void)
{
    alarm(240);
    lxt_hub h;
    lxt_hub_init(&h, NULL);

    lxt_step("lingua bus keygen writes the hub's key (0600) and prints it");
    char key_file[LXT_PATH_MAX + 16];
    snprintf(key_file, sizeof(key_file), "%s/hub.key", h.root);
    const char *gen[] = {lxt_env_path("LX_LINGUA"), "bus", "keygen",
                         key_file, NULL};
    char *out = NULL;
    LXT_CHECK(lxt_run(gen, lxt_ms(TIMEOUT), &out, NULL, 4096) == 0,
              "keygen");
    keys hub = {{0}, {0}};
    LXT_CHECK(out && strlen(out) == 41 && out[40] == '\n', "printed '%s'",
              out ? out : "");
    memcpy(hub.pub, out, 40);
    free(out);
    struct stat st;
    LXT_CHECK(stat(key_file, &st) == 0 && (st.st_mode & 0777) == 0600,
              "mode %o", (unsigned)(st.st_mode & 0777));
    json_t *kf = json_load_file(key_file, 0, NULL);
    LXT_CHECK(kf && strcmp(json_string_value(json_object_get(kf,
                                                             "public_key")),
                           hub.pub) == 0,
              "the file holds the printed public key");
    snprintf(hub.sec, sizeof(hub.sec), "%s",
             json_string_value(json_object_get(kf, "secret_key")));
    json_decref(kf);
    out = NULL;
    LXT_SOFT_CHECK(lxt_run(gen, lxt_ms(TIMEOUT), &out, NULL, 4096) == 3,
                   "a second keygen on the same file is refused");
    free(out);

    keys crm, stranger;
    keypair(&crm);
    keypair(&stranger);
    char curve[512];
    snprintf(curve, sizeof(curve),
             "{\"key_file\": \"%s\", \"clients\": {\"crm\": \"%s\"}}",
             key_file, crm.pub);
    lxt_hub_set_bus_curve(&h, curve);
    lxt_curve_keys(hub.pub, crm.pub, crm.sec);
    lxt_hub_start(&h, lxt_ms(TIMEOUT), true);

    lxt_step("an admitted client ingests, subscribes and is traced by name");
    lxt_sub *sub = lxt_sub_new(h.pub, "person.", lxt_ms(TIMEOUT));
    char status[16];
    json_t *reply = NULL;
    LXT_CHECK(ingest(&h, "MRN-1", lxt_ms(TIMEOUT), status, &reply) == 0,
              "crm's INGEST answered");
    LXT_CHECK(strcmp(status, "OK") == 0, "status %s", status);
    const char *cid =
        json_string_value(json_object_get(reply, "canonical_id"));
    LXT_CHECK(cid != NULL, "canonical id in the answer");
    char id[64];
    snprintf(id, sizeof(id), "%s", cid);
    json_decref(reply);
    char topic[64];
    json_t *ev = NULL;
    LXT_SOFT_CHECK(lxt_sub_recv(sub, lxt_ms(TIMEOUT), topic, &ev, NULL) == 0 &&
                       strcmp(topic, "person.created") == 0,
                   "the encrypted subscriber got person.created");
    json_decref(ev);
    lxt_sub_destroy(&sub);
    const char *tr[] = {lxt_env_path("LX_LINGUA"), "trace", "--record",
                        "person", id, "--json", "--config", h.config, NULL};
    out = NULL;
    int code = lxt_run(tr, lxt_ms(TIMEOUT), &out, NULL, 1 << 20);
    LXT_SOFT_CHECK(code == 0 && out && strstr(out, "\"client\": \"crm\""),
                   "trace names the client: exit %d, %s", code,
                   out ? out : "");
    free(out);

    lxt_step("an unknown key and a plain client get no answer, store nothing");
    lxt_curve_keys(hub.pub, stranger.pub, stranger.sec);
    reply = NULL;
    LXT_SOFT_CHECK(ingest(&h, "MRN-2", lxt_ms(REFUSED_WAIT), status,
                          &reply) == -1,
                   "the stranger was answered (%s)", status);
    json_decref(reply);
    lxt_curve_keys(NULL, NULL, NULL);
    reply = NULL;
    LXT_SOFT_CHECK(ingest(&h, "MRN-3", lxt_ms(REFUSED_WAIT), status,
                          &reply) == -1,
                   "the plain client was answered (%s)", status);
    json_decref(reply);
    lxt_curve_keys(hub.pub, crm.pub, crm.sec);
    json_t *s = status_of(&h);
    LXT_SOFT_CHECK(json_integer_value(json_object_get(s, "records")) == 1,
                   "records: %lld",
                   (long long)json_integer_value(json_object_get(s,
                                                                 "records")));
    LXT_SOFT_CHECK(json_integer_value(json_object_get(s, "refused")) >= 1,
                   "refused counted: %lld",
                   (long long)json_integer_value(json_object_get(s,
                                                                 "refused")));
    json_decref(s);
    const char *log = slurp(h.log);
    LXT_SOFT_CHECK(log && count(log, stranger.pub) == 1 &&
                       strstr(log, "refused a connection"),
                   "the refusal is logged once with the stranger's key");

    lxt_step("the CLI on the appliance gets in with the hub's key file");
    char rec_path[LXT_PATH_MAX + 16];
    snprintf(rec_path, sizeof(rec_path), "%s/rec.json", h.root);
    FILE *f = fopen(rec_path, "w");
    LXT_CHECK(f != NULL, "write record");
    fputs("{\"identifiers\": [{\"system\": \"urn:mrn\", \"value\": \"MRN-4\"}],"
          " \"name\": {\"family\": \"Berg\", \"given\": [\"Lin\"]}}",
          f);
    fclose(f);
    const char *ing[] = {lxt_env_path("LX_LINGUA"), "ingest", rec_path,
                         "--entity", "person", "--system", "hr",
                         "--config", h.config, NULL};
    out = NULL;
    code = lxt_run(ing, lxt_ms(TIMEOUT), &out, NULL, 1 << 16);
    LXT_SOFT_CHECK(code == 0, "lingua ingest through the hub: exit %d", code);
    free(out);

    lxt_step("admitting a client is a reload, not a restart");
    snprintf(curve, sizeof(curve),
             "{\"key_file\": \"%s\", \"clients\": {\"crm\": \"%s\", "
             "\"lab\": \"%s\"}}",
             key_file, crm.pub, stranger.pub);
    lxt_hub_set_bus_curve(&h, curve);
    pid_t pid = h.pid;
    LXT_CHECK(kill(h.pid, SIGHUP) == 0, "SIGHUP");
    int answered = -1;
    lxt_curve_keys(hub.pub, stranger.pub, stranger.sec);
    for (int i = 0; i < 20 && answered != 0; i++) {
        reply = NULL;
        answered = ingest(&h, "MRN-5", lxt_ms(500), status, &reply);
        json_decref(reply);
    }
    LXT_SOFT_CHECK(answered == 0 && strcmp(status, "OK") == 0,
                   "the new client 'lab' was not admitted after the reload");
    LXT_SOFT_CHECK(h.pid == pid, "the hub was restarted");
    lxt_curve_keys(hub.pub, crm.pub, crm.sec);
    lxt_hub_stop(&h, SIGTERM, lxt_ms(TIMEOUT));
    lxt_hub_check_log(&h);

    lxt_step("configurations that would leave the bus open are refused");
    char cfg[2048];
    snprintf(cfg, sizeof(cfg),
             "{\"data_dir\": \"%s/d2\",\n"
             " \"bus\": {\"router\": \"tcp://0.0.0.0:5561\"}}\n",
             h.root);
    refused_config(h.root, cfg,
                   "bad.json:2:20: /bus/router: tcp://0.0.0.0:5561 can be reached "
                   "from other machines but the bus has no 'curve' security");
    snprintf(cfg, sizeof(cfg),
             "{\"data_dir\": \"%s/d2\",\n"
             " \"bus\": {\"curve\": {\"key_file\": \"hub.key\",\n"
             "                     \"clients\": {\"crm\": \"short\"}}}}\n",
             h.root);
    refused_config(h.root, cfg, "/bus/curve/clients/crm: must be the client's "
                                "CURVE public key");
    snprintf(cfg, sizeof(cfg),
             "{\"data_dir\": \"%s/d2\",\n"
             " \"bus\": {\"curve\": {\"clients\": {}}}}\n",
             h.root);
    refused_config(h.root, cfg, "/bus/curve: missing required key 'key_file'");
    LXT_CHECK(chmod(key_file, 0644) == 0, "chmod");
    snprintf(cfg, sizeof(cfg),
             "{\"data_dir\": \"%s/d2\",\n"
             " \"schemas\": \"%s\",\n"
             " \"bus\": {\"curve\": {\"key_file\": \"hub.key\"}}}\n",
             h.root, lxt_env_path("LX_SCHEMAS_DIR"));
    refused_config(h.root, cfg,
                   "hub.key: the secret key is readable by group or others "
                   "(mode 644); chmod 600 it");

    int failed = lxt_soft_failures();
    lxt_hub_destroy(&h);
    printf("%d checks, %d failed\n", lxt_checks, failed);
    return failed ? 1 : 0;
}
