/* tests/unit/test_config.c: loading and validating the configuration.
 * Each case writes its file into a fresh temp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[64];
static char cfg_path[128];

static int make_dir(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/lx_test_config_XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(cfg_path, sizeof(cfg_path), "%s/lingua.json", tmp_dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char sub[160];
    unlink(cfg_path);
    snprintf(sub, sizeof(sub), "%s/conf/lingua.json", tmp_dir);
    unlink(sub);
    snprintf(sub, sizeof(sub), "%s/conf", tmp_dir);
    rmdir(sub);
    return rmdir(tmp_dir);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static lx_config *load_ok(const char *text)
{
    write_file(cfg_path, text, strlen(text));
    lx_config *cfg = NULL;
    lx_error err;
    int rc = lx_config_load(cfg_path, &cfg, &err);
    if (rc != 0) {
        char buf[1024];
        fail_msg("unexpected error: %s", lx_error_format(&err, buf,
                                                         sizeof(buf)));
    }
    assert_non_null(cfg);
    return cfg;
}

/* Load text and expect code at line:column with msg as the message. */
static void expect_error(const char *text, int code, long line, long column,
                         const char *msg)
{
    write_file(cfg_path, text, strlen(text));
    lx_config *cfg = (lx_config *)&code; /* must be set to NULL */
    lx_error err;
    int rc = lx_config_load(cfg_path, &cfg, &err);
    char buf[1024];
    lx_error_format(&err, buf, sizeof(buf));
    if (rc != code || err.code != code || err.line != line ||
        err.column != column || strcmp(err.msg, msg) != 0)
        fail_msg("got %s (%s)\n     expected %s at %ld:%ld: %s",
                 lx_error_name(rc), buf, lx_error_name(code), line, column,
                 msg);
    assert_null(cfg);
    assert_string_equal(err.where, cfg_path);
}

/* ---- valid files -------------------------------------------------------- */

static const char full_config[] =
    "{\n"
    "  \"data_dir\": \"data\",\n"
    "  \"http\": {\"listen\": \"0.0.0.0:9090\"},\n"
    "  \"bus\": {\"pub\": \"ipc:///tmp/lx-pub\", \"router\": \"inproc://r\"},\n"
    "  \"schemas\": \"/opt/lingua/schemas\",\n"
    "  \"limits\": {\"max_payload\": 1048576},\n"
    "  \"store\": {\"map_size_mb\": 128, \"sync\": false, \"max_batch\": 64},\n"
    "  \"log\": {\"level\": \"debug\", \"format\": \"json\"},\n"
    "  \"systems\": {\"hr\": {\"kind\": \"x12\"}, \"ehr\": {}},\n"
    "  \"adapters\": [{\"name\": \"hr-in\", \"system\": \"hr\", \"x\": 1},\n"
    "               {\"name\": \"ehr-out\", \"system\": \"ehr\"}]\n"
    "}\n";

static void test_config_full_file_loads_every_value(void **state)
{
    (void)state;
    lx_config *cfg = load_ok(full_config);
    char expect[192];
    assert_string_equal(cfg->path, cfg_path);
    assert_string_equal(cfg->dir, tmp_dir);
    snprintf(expect, sizeof(expect), "%s/data", tmp_dir);
    assert_string_equal(cfg->data_dir, expect);
    assert_string_equal(cfg->schemas_dir, "/opt/lingua/schemas");
    assert_string_equal(cfg->http_listen, "0.0.0.0:9090");
    assert_string_equal(cfg->bus_pub, "ipc:///tmp/lx-pub");
    assert_string_equal(cfg->bus_router, "inproc://r");
    assert_int_equal(cfg->max_payload, 1048576);
    assert_int_equal(cfg->map_size, (size_t)128 << 20);
    assert_false(cfg->sync);
    assert_int_equal(cfg->max_batch, 64);
    assert_int_equal(cfg->log_level, LX_LOG_DEBUG);
    assert_int_equal(cfg->log_format, LX_LOG_JSON);
    assert_true(json_is_object(cfg->systems));
    assert_int_equal(json_object_size(cfg->systems), 2);
    assert_string_equal(lx_json_str(json_object_get(cfg->systems, "hr"),
                                    "kind"),
                        "x12");
    assert_true(json_is_array(cfg->adapters));
    assert_int_equal(json_array_size(cfg->adapters), 2);
    assert_ptr_equal(cfg->systems, json_object_get(cfg->root, "systems"));
    lx_config_destroy(&cfg);
    assert_null(cfg);
}

static void test_config_minimal_file_gets_the_defaults(void **state)
{
    (void)state;
    lx_config *cfg = load_ok("{\"data_dir\": \"/var/lib/lingua\"}");
    assert_string_equal(cfg->data_dir, "/var/lib/lingua");
    assert_null(cfg->schemas_dir);
    assert_string_equal(cfg->http_listen, LX_CONFIG_HTTP_DEFAULT);
    assert_string_equal(cfg->bus_pub, LX_CONFIG_PUB_DEFAULT);
    assert_string_equal(cfg->bus_router, LX_CONFIG_ROUTER_DEFAULT);
    assert_int_equal(cfg->max_payload, LX_JSON_MAX_DEFAULT);
    assert_int_equal(cfg->map_size, (size_t)64 << 20);
    assert_true(cfg->sync);
    assert_int_equal(cfg->max_batch, 1024);
    assert_int_equal(cfg->log_level, LX_LOG_INFO);
    assert_int_equal(cfg->log_format, LX_LOG_TEXT);
    assert_true(json_is_object(cfg->systems));
    assert_int_equal(json_object_size(cfg->systems), 0);
    assert_true(json_is_array(cfg->adapters));
    assert_int_equal(json_array_size(cfg->adapters), 0);
    lx_config_destroy(&cfg);
}

static void test_config_relative_paths_resolve_against_the_file_dir(
    void **state)
{
    (void)state;
    char sub[160], old_cwd[4096];
    snprintf(sub, sizeof(sub), "%s/conf", tmp_dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/conf/lingua.json", tmp_dir);
    static const char text[] =
        "{\"data_dir\": \"../data\", \"schemas\": \"schemas/canonical\"}";
    write_file(sub, text, strlen(text));

    /* A relative file name: paths stay relative to the cwd. */
    assert_non_null(getcwd(old_cwd, sizeof(old_cwd)));
    assert_int_equal(chdir(tmp_dir), 0);
    lx_config *cfg = NULL;
    lx_error err;
    int rc = lx_config_load("conf/lingua.json", &cfg, &err);
    assert_int_equal(chdir(old_cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->dir, "conf");
    assert_string_equal(cfg->data_dir, "conf/../data");
    assert_string_equal(cfg->schemas_dir, "conf/schemas/canonical");
    lx_config_destroy(&cfg);

    /* An absolute one: absolute results. */
    assert_int_equal(lx_config_load(sub, &cfg, &err), 0);
    char expect[192];
    snprintf(expect, sizeof(expect), "%s/conf/../data", tmp_dir);
    assert_string_equal(cfg->data_dir, expect);
    lx_config_destroy(&cfg);
}

static void test_config_absolute_paths_are_kept(void **state)
{
    (void)state;
    lx_config *cfg =
        load_ok("{\"data_dir\": \"/srv/d\", \"schemas\": \"/srv/s\"}");
    assert_string_equal(cfg->data_dir, "/srv/d");
    assert_string_equal(cfg->schemas_dir, "/srv/s");
    lx_config_destroy(&cfg);
}

static void test_config_listen_accepts_names_ipv4_and_bracketed_ipv6(
    void **state)
{
    (void)state;
    static const char *const ok[] = {"localhost:1", "127.0.0.1:65535",
                                     "[::1]:8080", "[fe80::1%eth0]:80",
                                     "my-host.example_x:443"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"data_dir\": \"/d\", \"http\": {\"listen\": \"%s\"}}",
                 ok[i]);
        lx_config *cfg = load_ok(text);
        assert_string_equal(cfg->http_listen, ok[i]);
        lx_config_destroy(&cfg);
    }
}

static void test_config_bus_accepts_the_three_transports(void **state)
{
    (void)state;
    lx_config *cfg = load_ok("{\"data_dir\": \"/d\", \"bus\": {"
                             "\"pub\": \"tcp://*:7000\","
                             "\"router\": \"ipc:///run/lingua.sock\"}}");
    assert_string_equal(cfg->bus_pub, "tcp://*:7000");
    lx_config_destroy(&cfg);
    cfg = load_ok("{\"data_dir\": \"/d\", \"bus\": {\"pub\": \"inproc://p\"}}");
    assert_string_equal(cfg->bus_router, LX_CONFIG_ROUTER_DEFAULT);
    lx_config_destroy(&cfg);
}

static void test_config_sizes_accept_their_bounds(void **state)
{
    (void)state;
    lx_config *cfg = load_ok(
        "{\"data_dir\": \"/d\", \"limits\": {\"max_payload\": 1024},"
        " \"store\": {\"map_size_mb\": 1, \"max_batch\": 65536}}");
    assert_int_equal(cfg->max_payload, 1024);
    assert_int_equal(cfg->map_size, (size_t)1 << 20);
    assert_int_equal(cfg->max_batch, 65536);
    lx_config_destroy(&cfg);
    cfg = load_ok(
        "{\"data_dir\": \"/d\", \"limits\": {\"max_payload\": 1073741824},"
        " \"store\": {\"map_size_mb\": 1048576, \"max_batch\": 1}}");
    assert_int_equal(cfg->max_payload, (size_t)1 << 30);
    assert_int_equal(cfg->map_size, (size_t)1 << 40);
    assert_int_equal(cfg->max_batch, 1);
    lx_config_destroy(&cfg);
}

static void test_config_adapter_may_name_a_system_defined_later(void **state)
{
    (void)state;
    lx_config *cfg = load_ok("{\"data_dir\": \"/d\","
                             " \"adapters\": [{\"name\": \"a\", \"system\": "
                             "\"s\"}], \"systems\": {\"s\": {}}}");
    lx_config_destroy(&cfg);
}

static void test_config_load_accepts_null_err(void **state)
{
    (void)state;
    write_file(cfg_path, "[]", 2);
    lx_config *cfg = NULL;
    assert_int_equal(lx_config_load(cfg_path, &cfg, NULL), LX_ECONFIG);
    assert_null(cfg);
}

static void test_config_destroy_accepts_null(void **state)
{
    (void)state;
    lx_config *cfg = NULL;
    lx_config_destroy(&cfg);
    lx_config_destroy(NULL);
}

/* ---- file and syntax errors --------------------------------------------- */

static void test_config_missing_file_is_eio(void **state)
{
    (void)state;
    lx_config *cfg = NULL;
    lx_error err;
    char path[160];
    snprintf(path, sizeof(path), "%s/absent.json", tmp_dir);
    assert_int_equal(lx_config_load(path, &cfg, &err), LX_EIO);
    assert_null(cfg);
    assert_string_equal(err.where, path);
    assert_int_equal(err.line, 0);
}

static void test_config_directory_is_eio(void **state)
{
    (void)state;
    lx_config *cfg = NULL;
    lx_error err;
    assert_int_equal(lx_config_load(tmp_dir, &cfg, &err), LX_EIO);
    assert_null(cfg);
}

static void test_config_over_4_mib_is_elimit(void **state)
{
    (void)state;
    size_t len = LX_CONFIG_MAX_LEN + 1;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, ' ', len);
    text[0] = '{';
    text[len - 1] = '}';
    write_file(cfg_path, text, len);
    lx_config *cfg = NULL;
    lx_error err;
    assert_int_equal(lx_config_load(cfg_path, &cfg, &err), LX_ELIMIT);
    assert_null(cfg);
    assert_string_equal(err.where, cfg_path);
    /* One byte less is read (and then fails validation, not the limit). */
    write_file(cfg_path, text + 1, len - 1);
    assert_int_equal(lx_config_load(cfg_path, &cfg, &err), LX_ESYNTAX);
    free(text);
}

static void test_config_syntax_error_reports_jansson_position(void **state)
{
    (void)state;
    static const char text[] = "{\n"
                               "  \"data_dir\": \"/d\",\n"
                               "  \"http\": {\"listen\": \"h:1\",}\n"
                               "}\n";
    write_file(cfg_path, text, strlen(text));
    lx_config *cfg = NULL;
    lx_error err;
    assert_int_equal(lx_config_load(cfg_path, &cfg, &err), LX_ESYNTAX);
    assert_null(cfg);
    assert_string_equal(err.where, cfg_path);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 28);
    assert_int_equal(err.offset, 50);
}

static void test_config_duplicate_key_is_syntax_error(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/a\",\n \"data_dir\": \"/b\"}", LX_ESYNTAX,
                 2, 11, "invalid JSON: duplicate object key near "
                        "'\"data_dir\"'");
}

/* ---- semantic errors: line, column and pointer ------------------------- */

static void test_config_root_must_be_an_object(void **state)
{
    (void)state;
    expect_error("\n  [1]", LX_ECONFIG, 2, 3, "(root): must be an object");
}

static void test_config_data_dir_is_required(void **state)
{
    (void)state;
    expect_error("{\"http\": {}}", LX_ECONFIG, 1, 1,
                 "(root): missing required key 'data_dir'");
}

static void test_config_data_dir_must_be_a_non_empty_string(void **state)
{
    (void)state;
    expect_error("{\n  \"data_dir\": 42\n}", LX_ECONFIG, 2, 15,
                 "/data_dir: must be a non-empty string");
    expect_error("{\n  \"data_dir\": \"\"\n}", LX_ECONFIG, 2, 15,
                 "/data_dir: must be a non-empty string");
    expect_error("{\"data_dir\": \"a\\u0000b\"}", LX_ECONFIG, 1, 14,
                 "/data_dir: must not contain \\u0000");
}

static void test_config_unknown_top_level_key_is_named(void **state)
{
    (void)state;
    expect_error("{\n  \"data_dir\": \"/d\",\n  \"dta_dir\": \"/x\"\n}",
                 LX_ECONFIG, 3, 14, "/dta_dir: unknown key 'dta_dir'");
}

static void test_config_unknown_key_pointer_is_escaped(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"a/b~\": 1}", LX_ECONFIG, 1, 28,
                 "/a~1b~0: unknown key 'a/b~'");
}

static void test_config_unknown_keys_in_sections(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\",\n \"http\": {\"port\": 80}}",
                 LX_ECONFIG, 2, 19, "/http/port: unknown key 'port'");
    expect_error("{\"data_dir\": \"/d\",\n \"bus\": {\"sub\": \"tcp://x\"}}",
                 LX_ECONFIG, 2, 17, "/bus/sub: unknown key 'sub'");
    expect_error("{\"data_dir\": \"/d\",\n \"limits\": {\"max\": 1}}",
                 LX_ECONFIG, 2, 20, "/limits/max: unknown key 'max'");
    expect_error("{\"data_dir\": \"/d\",\n \"store\": {\"map_size\": 1}}",
                 LX_ECONFIG, 2, 24, "/store/map_size: unknown key 'map_size'");
    expect_error("{\"data_dir\": \"/d\",\n \"log\": {\"file\": \"x\"}}",
                 LX_ECONFIG, 2, 18, "/log/file: unknown key 'file'");
}

static void test_config_sections_must_be_objects(void **state)
{
    (void)state;
    static const char *const sections[] = {"http", "bus", "limits", "store",
                                           "log", "systems"};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        char text[128], msg[128];
        snprintf(text, sizeof(text), "{\"data_dir\": \"/d\",\n \"%s\": []}",
                 sections[i]);
        snprintf(msg, sizeof(msg), "/%s: must be an object", sections[i]);
        expect_error(text, LX_ECONFIG, 2, (long)strlen(sections[i]) + 6, msg);
    }
}

static void test_config_listen_must_be_host_and_port(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "localhost", "host:0",  "host:65536", "host:80x", ":80",
        "host:",     "::1:80",  "host: 80",   "ho st:80", "host:+80",
        "[::1:80",   "[]:80",   "host:000080"};
    static const char msg[] =
        "/http/listen: must be host:port with a port from 1 to 65535";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"data_dir\": \"/d\",\n \"http\": {\n   \"listen\": "
                 "\"%s\"}}",
                 bad[i]);
        expect_error(text, LX_ECONFIG, 3, 14, msg);
    }
    expect_error("{\"data_dir\": \"/d\", \"http\": {\"listen\": 8080}}",
                 LX_ECONFIG, 1, 39, "/http/listen: must be a non-empty string");
}

static void test_config_bus_endpoints_need_a_zeromq_transport(void **state)
{
    (void)state;
    static const char msg[] = "/bus/router: must be a ZeroMQ endpoint "
                              "starting with tcp://, ipc:// or inproc://";
    static const char *const bad[] = {"udp://x:1", "tcp://", "TCP://x:1",
                                      "127.0.0.1:5561", "tcp://x :1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"data_dir\": \"/d\",\n \"bus\": {\"pub\": \"tcp://a:1\","
                 "\n  \"router\": \"%s\"}}",
                 bad[i]);
        expect_error(text, LX_ECONFIG, 3, 13, msg);
    }
}

static void test_config_bus_endpoints_must_differ(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"bus\": {\"pub\": \"tcp://a:1\","
                 "\n \"router\": \"tcp://a:1\"}}",
                 LX_ECONFIG, 2, 12, "/bus/router: must differ from /bus/pub");
    expect_error("{\"data_dir\": \"/d\",\n \"bus\": {\"pub\": \"" LX_CONFIG_ROUTER_DEFAULT
                 "\"}}",
                 LX_ECONFIG, 2, 17, "/bus/pub: must differ from /bus/router");
}

static void test_config_open_router_needs_curve(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\",\n \"bus\": {\"router\": "
                 "\"tcp://*:7001\"}}",
                 LX_ECONFIG, 2, 20,
                 "/bus/router: tcp://*:7001 can be reached from other "
                 "machines but the bus has no 'curve' security, so anyone "
                 "who reaches it could write records: add bus.curve "
                 "(docs/bus.md) or listen on 127.0.0.1");
    expect_error("{\"data_dir\": \"/d\",\n \"bus\": {\"router\": "
                 "\"tcp://*:7001\", \"curve\": {\"clients\": {}}}}",
                 LX_ECONFIG, 2, 45,
                 "/bus/curve: missing required key 'key_file' (the hub's "
                 "keypair: 'lingua bus keygen FILE' makes one)");
    static const char *const local[] = {"tcp://127.0.0.1:7001",
                                        "tcp://localhost:7001",
                                        "tcp://[::1]:7001", "ipc:///tmp/r"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"data_dir\": \"/d\", \"bus\": {\"router\": \"%s\"}}",
                 local[i]);
        lx_config *cfg = load_ok(text);
        assert_string_equal(cfg->bus_router, local[i]);
        assert_null(cfg->bus_key_file);
        lx_config_destroy(&cfg);
    }
    lx_config *cfg = load_ok(
        "{\"data_dir\": \"/d\", \"bus\": {\"router\": \"tcp://*:7001\","
        " \"curve\": {\"key_file\": \"/k/hub.key\", \"clients\": "
        "{\"crm\": \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"}}}}");
    assert_string_equal(cfg->bus_key_file, "/k/hub.key");
    assert_string_equal(
        json_string_value(json_object_get(cfg->bus_clients, "crm")),
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    lx_config_destroy(&cfg);
}

static void test_config_map_size_mb_must_be_1_to_1048576(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "-1", "1048577", "64.0", "\"64\"",
                                      "true", "null", "9223372036854775807"};
    static const char msg[] =
        "/store/map_size_mb: must be an integer from 1 to 1048576";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"data_dir\": \"/d\",\n \"store\": {\"sync\": true,\n"
                 "   \"map_size_mb\": %s}}",
                 bad[i]);
        expect_error(text, LX_ECONFIG, 3, 19, msg);
    }
}

static void test_config_max_batch_must_be_1_to_65536(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"store\": {\"max_batch\": 65537}}",
                 LX_ECONFIG, 1, 43,
                 "/store/max_batch: must be an integer from 1 to 65536");
    expect_error("{\"data_dir\": \"/d\", \"store\": {\"max_batch\": 0}}",
                 LX_ECONFIG, 1, 43,
                 "/store/max_batch: must be an integer from 1 to 65536");
}

static void test_config_max_payload_must_be_1_kib_to_1_gib(void **state)
{
    (void)state;
    static const char msg[] =
        "/limits/max_payload: must be an integer from 1024 to 1073741824";
    expect_error("{\"data_dir\": \"/d\", \"limits\": {\"max_payload\": 1023}}",
                 LX_ECONFIG, 1, 46, msg);
    expect_error("{\"data_dir\": \"/d\", \"limits\": {\"max_payload\": "
                 "1073741825}}",
                 LX_ECONFIG, 1, 46, msg);
}

static void test_config_sync_must_be_a_boolean(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"store\": {\"sync\": \"yes\"}}",
                 LX_ECONFIG, 1, 38, "/store/sync: must be true or false");
    expect_error("{\"data_dir\": \"/d\", \"store\": {\"sync\": 1}}", LX_ECONFIG,
                 1, 38, "/store/sync: must be true or false");
}

static void test_config_log_level_and_format_by_name(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"log\": {\"level\": \"verbose\"}}",
                 LX_ECONFIG, 1, 37,
                 "/log/level: must be one of \"debug\", \"info\", \"warn\", "
                 "\"error\", \"off\"");
    expect_error("{\"data_dir\": \"/d\", \"log\": {\"level\": 1}}", LX_ECONFIG,
                 1, 37,
                 "/log/level: must be one of \"debug\", \"info\", \"warn\", "
                 "\"error\", \"off\"");
    expect_error("{\"data_dir\": \"/d\", \"log\": {\"format\": \"xml\"}}",
                 LX_ECONFIG, 1, 38, "/log/format: must be \"text\" or \"json\"");
}

static void test_config_systems_must_be_an_object_of_objects(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\",\n \"systems\": {\"hr\": {},\n"
                 "   \"ehr\": \"x\"}}",
                 LX_ECONFIG, 3, 11, "/systems/ehr: must be an object");
}

static void test_config_adapters_must_be_an_array_of_objects(void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"adapters\": {}}", LX_ECONFIG, 1, 32,
                 "/adapters: must be an array of objects");
    expect_error("{\"data_dir\": \"/d\", \"adapters\": [\n  {\"name\": \"a\", "
                 "\"system\": \"s\"},\n  7]}",
                 LX_ECONFIG, 3, 3, "/adapters/1: must be an object");
}

static const char systems_prefix[] =
    "{\"data_dir\": \"/d\", \"systems\": {\"s\": {}},\n \"adapters\": [\n"
    "  {\"name\": \"a\", \"system\": \"s\"},\n";

static void adapter_error(const char *second, long line, long column,
                          const char *msg)
{
    char text[512];
    snprintf(text, sizeof(text), "%s  %s]}", systems_prefix, second);
    expect_error(text, LX_ECONFIG, line, column, msg);
}

static void test_config_adapter_needs_a_string_name(void **state)
{
    (void)state;
    adapter_error("{\"system\": \"s\"}", 4, 3,
                  "/adapters/1: missing required key 'name'");
    adapter_error("{\"name\": 1, \"system\": \"s\"}", 4, 12,
                  "/adapters/1/name: must be a non-empty string");
    adapter_error("{\"name\": \"\", \"system\": \"s\"}", 4, 12,
                  "/adapters/1/name: must be a non-empty string");
}

static void test_config_adapter_names_are_unique(void **state)
{
    (void)state;
    adapter_error("{\"name\": \"a\", \"system\": \"s\"}", 4, 12,
                  "/adapters/1/name: duplicate adapter name (first used at "
                  "/adapters/0)");
}

static void test_config_adapter_needs_a_system(void **state)
{
    (void)state;
    adapter_error("{\"name\": \"b\"}", 4, 3,
                  "/adapters/1: missing required key 'system'");
    adapter_error("{\"name\": \"b\", \"system\": [\"s\"]}", 4, 27,
                  "/adapters/1/system: must be a non-empty string");
}

static void test_config_adapter_system_must_exist(void **state)
{
    (void)state;
    adapter_error("{\"name\": \"b\",\n   \"system\": \"nope\"}", 5, 14,
                  "/adapters/1/system: no such system in /systems");
    /* Also when the file has no systems at all. */
    expect_error("{\"data_dir\": \"/d\", \"adapters\": [{\"name\": \"a\", "
                 "\"system\": \"s\"}]}",
                 LX_ECONFIG, 1, 57,
                 "/adapters/0/system: no such system in /systems");
}

static void test_config_first_error_in_document_order_wins(void **state)
{
    (void)state;
    expect_error("{\"store\": {\"sync\": 0},\n \"bogus\": 1}", LX_ECONFIG, 1,
                 20, "/store/sync: must be true or false");
}

static void test_config_error_formats_as_path_line_column(void **state)
{
    (void)state;
    static const char text[] =
        "{\"data_dir\": \"/d\",\n\"store\": {\"max_batch\": -5}}";
    write_file(cfg_path, text, strlen(text));
    lx_config *cfg = NULL;
    lx_error err;
    assert_int_equal(lx_config_load(cfg_path, &cfg, &err), LX_ECONFIG);
    char buf[1024], expect[1024];
    snprintf(expect, sizeof(expect),
             "%s:2:24: /store/max_batch: must be an integer from 1 to 65536",
             cfg_path);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)), expect);
}

static void test_config_columns_count_characters_like_jansson(void **state)
{
    (void)state;
    /* "é" is two bytes but one column, as in jansson's syntax errors. */
    expect_error("{\"data_dir\": \"/d\", \"\xc3\xa9\xc3\xa9\": 1}", LX_ECONFIG,
                 1, 26, "/\xc3\xa9\xc3\xa9: unknown key '\xc3\xa9\xc3\xa9'");
}

static void test_config_control_characters_in_keys_do_not_reach_the_message(
    void **state)
{
    (void)state;
    expect_error("{\"data_dir\": \"/d\", \"a\\nb\": 1}", LX_ECONFIG, 1, 28,
                 "/a?b: unknown key 'a?b'");
}

#define T(name) cmocka_unit_test_setup_teardown(name, make_dir, remove_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_full_file_loads_every_value),
        T(test_config_minimal_file_gets_the_defaults),
        T(test_config_relative_paths_resolve_against_the_file_dir),
        T(test_config_absolute_paths_are_kept),
        T(test_config_listen_accepts_names_ipv4_and_bracketed_ipv6),
        T(test_config_bus_accepts_the_three_transports),
        T(test_config_sizes_accept_their_bounds),
        T(test_config_adapter_may_name_a_system_defined_later),
        T(test_config_load_accepts_null_err),
        T(test_config_destroy_accepts_null),
        T(test_config_missing_file_is_eio),
        T(test_config_directory_is_eio),
        T(test_config_over_4_mib_is_elimit),
        T(test_config_syntax_error_reports_jansson_position),
        T(test_config_duplicate_key_is_syntax_error),
        T(test_config_root_must_be_an_object),
        T(test_config_data_dir_is_required),
        T(test_config_data_dir_must_be_a_non_empty_string),
        T(test_config_unknown_top_level_key_is_named),
        T(test_config_unknown_key_pointer_is_escaped),
        T(test_config_unknown_keys_in_sections),
        T(test_config_sections_must_be_objects),
        T(test_config_listen_must_be_host_and_port),
        T(test_config_bus_endpoints_need_a_zeromq_transport),
        T(test_config_bus_endpoints_must_differ),
        T(test_config_open_router_needs_curve),
        T(test_config_map_size_mb_must_be_1_to_1048576),
        T(test_config_max_batch_must_be_1_to_65536),
        T(test_config_max_payload_must_be_1_kib_to_1_gib),
        T(test_config_sync_must_be_a_boolean),
        T(test_config_log_level_and_format_by_name),
        T(test_config_systems_must_be_an_object_of_objects),
        T(test_config_adapters_must_be_an_array_of_objects),
        T(test_config_adapter_needs_a_string_name),
        T(test_config_adapter_names_are_unique),
        T(test_config_adapter_needs_a_system),
        T(test_config_adapter_system_must_exist),
        T(test_config_first_error_in_document_order_wins),
        T(test_config_error_formats_as_path_line_column),
        T(test_config_columns_count_characters_like_jansson),
        T(test_config_control_characters_in_keys_do_not_reach_the_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
