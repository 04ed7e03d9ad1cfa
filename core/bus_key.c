/* core/bus_key.c: CURVE keys and key files of the bus (see bus.h). */
#include "core/bus.h"
#include "core/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEY_FILE_MAX 4096

bool lx_bus_key_valid(const char *s)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (!s || strlen(s) != LX_BUS_KEY_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr(z85, *p))
            return false;
    return true;
}

int lx_bus_keypair_new(lx_bus_keypair *out, lx_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!zmq_has("curve") ||
        zmq_curve_keypair(out->public_key, out->secret_key) != 0)
        return lx_error_set(err, LX_EIO,
                            "this libzmq cannot make CURVE keys (built "
                            "without CURVE support)");
    return 0;
}

int lx_bus_key_write(const char *path, lx_bus_keypair *out, lx_error *err)
{
    lx_bus_keypair k;
    int rc = lx_bus_keypair_new(&k, err);
    if (rc)
        return rc;
    char text[256];
    int n = snprintf(text, sizeof(text),
                     "{\"public_key\": \"%s\",\n \"secret_key\": \"%s\"}\n",
                     k.public_key, k.secret_key);
    /* O_EXCL: a key file is an identity; replacing one by accident would
     * lock out every peer that trusts it. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return lx_error_set(err, LX_EIO, "cannot create %s: %s", path,
                            strerror(errno));
    bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(path);
        return lx_error_set(err, LX_EIO, "cannot write %s: %s", path,
                            strerror(e));
    }
    if (out)
        *out = k;
    memset(&k, 0, sizeof(k));
    return 0;
}

static int key_member(json_t *root, const char *path, const char *name,
                      char *dst, lx_error *err)
{
    const char *v = json_string_value(json_object_get(root, name));
    if (!v)
        return lx_error_set(err, LX_ECONFIG, "%s: missing \"%s\"", path,
                            name);
    if (!lx_bus_key_valid(v))
        return lx_error_set(err, LX_ECONFIG,
                            "%s: \"%s\" is not a CURVE key (40 characters "
                            "of Z85 text)",
                            path, name);
    memcpy(dst, v, LX_BUS_KEY_LEN + 1);
    return 0;
}

int lx_bus_key_read(const char *path, bool public_only, lx_bus_keypair *out,
                    lx_error *err)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lx_error_set(err, LX_EIO, "cannot open the key file %s: %s",
                            path, strerror(errno));
    struct stat st;
    char text[KEY_FILE_MAX + 1];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0)
        n = read(fd, text, KEY_FILE_MAX);
    int e = errno;
    close(fd);
    if (n < 0)
        return lx_error_set(err, LX_EIO, "cannot read the key file %s: %s",
                            path, strerror(e));
    text[n] = '\0';
    json_t *root = json_loads(text, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return lx_error_set(err, LX_ECONFIG,
                            "%s: not a key file (a JSON object with "
                            "\"public_key\" and \"secret_key\")",
                            path);
    }
    int rc = key_member(root, path, "public_key", out->public_key, err);
    bool has_secret = json_object_get(root, "secret_key") != NULL;
    if (!rc && (has_secret || !public_only))
        rc = key_member(root, path, "secret_key", out->secret_key, err);
    json_decref(root);
    if (!rc && out->secret_key[0] && (st.st_mode & 077))
        rc = lx_error_set(err, LX_ECONFIG,
                          "%s: the secret key is readable by group or "
                          "others (mode %03o); chmod 600 it",
                          path, (unsigned)(st.st_mode & 0777));
    if (!rc && out->secret_key[0]) {
        char derived[LX_BUS_KEY_LEN + 1];
        if (zmq_curve_public(derived, out->secret_key) != 0 ||
            strcmp(derived, out->public_key) != 0)
            rc = lx_error_set(err, LX_ECONFIG,
                              "%s: \"public_key\" is not the public half "
                              "of \"secret_key\"",
                              path);
    }
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
