/* adapters/transport/outbox.c: temp file, fsync, link (never replaces),
 * unlink, fsync the directory. See outbox.h for the contract. */
#include "adapters/transport/outbox.h"

#include "core/id.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int io_error(lx_error *err, int e, const char *where, const char *what)
{
    lx_error_set(err, LX_EIO, "%s: %s", what, strerror(e));
    if (err)
        err->lib_code = e;
    return lx_error_at(err, where, 0, 0);
}

int lx_outbox_sync_dir(const char *dir, lx_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_error(err, errno, dir, "cannot open directory");
    int rc = 0;
    /* Some filesystems cannot sync a directory (EINVAL): nothing to do. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = io_error(err, errno, dir, "cannot sync directory");
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The i-th candidate name: i = 0 is base itself, then "<stem>.<i><ext>"
 * where ext is the last ".xyz" of base (none when base has no dot past
 * its first byte). */
static void candidate(const char *base, size_t i, char *out, size_t size)
{
    if (i == 0) {
        snprintf(out, size, "%s", base);
        return;
    }
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        snprintf(out, size, "%s.%zu", base, i);
    else
        snprintf(out, size, "%.*s.%zu%s", (int)(dot - base), base, i, dot);
}

int lx_outbox_write(const char *dir, const char *base_name, const void *data,
                    size_t len, char *path, size_t path_size, lx_error *err)
{
    if (path && path_size > 0)
        path[0] = '\0';
    if (!dir || !dir[0] || !base_name || (!data && len > 0))
        return lx_error_set(err, LX_EINVAL, "outbox: missing argument");
    size_t n = strlen(base_name);
    if (n == 0 || n > LX_OUTBOX_NAME_MAX || base_name[0] == '.' ||
        strchr(base_name, '/') || ends_with(base_name, n, ".tmp") ||
        ends_with(base_name, n, ".part"))
        return lx_error_set(err, LX_EINVAL,
                            "outbox: base name must be a plain, visible file "
                            "name of 1..%d bytes, not *.tmp or *.part",
                            LX_OUTBOX_NAME_MAX);
    char tmp[PATH_MAX];
    char id[LX_ULID_SIZE];
    lx_ulid_new(id);
    int w = snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", dir, base_name, id);
    if (w < 0 || (size_t)w >= sizeof(tmp))
        return lx_error_set(err, LX_EINVAL, "outbox: directory path too long");

    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return io_error(err, errno, dir, "cannot create temp file");
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return io_error(err, e, dir, "cannot write temp file");
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return io_error(err, e, dir, "cannot close temp file");
    }

    /* link(2) fails with EEXIST instead of replacing: an existing file is
     * never overwritten, and two writers racing for one name get two. */
    char final_path[PATH_MAX];
    int rc = 0;
    bool linked = false;
    for (size_t i = 0;; i++) {
        if (i > LX_OUTBOX_COLLISIONS_MAX) {
            rc = lx_error_set(err, LX_ECONFLICT,
                              "outbox: more than %d files named like the "
                              "base name",
                              LX_OUTBOX_COLLISIONS_MAX);
            lx_error_at(err, dir, 0, 0);
            break;
        }
        char name[NAME_MAX + 1];
        candidate(base_name, i, name, sizeof(name));
        w = snprintf(final_path, sizeof(final_path), "%s/%s", dir, name);
        if (w < 0 || (size_t)w >= sizeof(final_path) ||
            (path && (size_t)w >= path_size)) {
            rc = lx_error_set(err, LX_EINVAL,
                              "outbox: path too long for its buffer");
            break;
        }
        if (link(tmp, final_path) == 0) {
            linked = true;
            break;
        }
        if (errno != EEXIST) {
            rc = io_error(err, errno, dir, "cannot link the final name");
            break;
        }
    }
    if (unlink(tmp) != 0 && rc == 0)
        rc = io_error(err, errno, dir, "cannot remove temp file");
    if (rc == 0)
        rc = lx_outbox_sync_dir(dir, err);
    if (rc != 0) {
        /* Only the unlink or the sync failed: the file is complete, but
         * the call failed, so take it back (the caller will retry). */
        if (linked)
            unlink(final_path);
        return rc;
    }
    if (path)
        snprintf(path, path_size, "%s", final_path);
    return 0;
}
