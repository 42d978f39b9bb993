/*
 * profile_files.c: profiles on disk, private and bounded (see profile_files.h).
 */
#include "profile_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gargalo.h"

#define PROFILE_PATH_MAX 1300 /* a directory of up to 1023 bytes and a file name */
#define PROFILE_LINKS 6       /* profile.<ext>, one per format */
#define PROFILE_NAME_MAX BOLSA_PROFILE_NAME_MAX

/* One of bolsa's profile files, found by a scan of the directory. */
typedef struct profile_entry {
    unsigned long long ms, n; /* from its name: the time it was made, then its number */
    ino_t ino;
    off_t size;
    char name[PROFILE_NAME_MAX];
} profile_entry;

/* What one listing of the directory found. */
typedef struct profile_scan {
    profile_entry *v;
    size_t len, cap;
    struct {
        ino_t ino;
        char name[PROFILE_NAME_MAX];
    } links[PROFILE_LINKS];
    size_t nlinks;
} profile_scan;

void bolsa_profile_files_init(bolsa_profile_files *f, const char *dir, unsigned long keep,
                              uint64_t keep_bytes)
{
    f->dir = dir;
    f->keep = keep;
    f->keep_bytes = keep_bytes;
    atomic_init(&f->sequence, 0);
    pthread_mutex_init(&f->lock, NULL);
    f->count = 0;
    f->bytes = 0;
}

/* --- the directory ----------------------------------------------------------------- */

static bolsa_errcode profile_dir_refused(bolsa_error *err, const char *dir, const char *why)
{
    return bolsa_error_set(err, BOLSA_E_CONFIG, "config", "BOLSA_PROFILE_DIR",
                           "BOLSA_PROFILE_DIR '%s' %s", dir, why);
}

static bolsa_errcode profile_dir_prepare(const char *dir, bolsa_error *err)
{
    char why[160];
    if (mkdir(dir, 0700) == 0) {
        fprintf(stderr, "bolsa: created the profile directory %s (mode 0700)\n", dir);
    } else if (errno != EEXIST) {
        snprintf(why, sizeof(why), "is not a writable directory, nor can it be made: %s",
                 strerror(errno));
        return profile_dir_refused(err, dir, why);
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
        return profile_dir_refused(err, dir, "is not a writable directory");
    /* Anyone could create files there under the names profiles take (and, without the
     * sticky bit, remove or replace bolsa's): profiles need a directory of their own. */
    if (st.st_mode & S_IWOTH)
        return profile_dir_refused(err, dir,
                                   "is writable by every user; give profiles a directory "
                                   "of their own");
    return BOLSA_E_OK;
}

/* --- writing ------------------------------------------------------------------------ */

static bolsa_errcode profile_io_error(bolsa_error *err, const char *what, int errnum)
{
    return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "could not %s the profile: %s", what,
                           strerror(errnum));
}

static int profile_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes dir/name whole through a temporary file that is 0600 from its creation, so no
 * other user can open it at any moment, then renames it into place. O_EXCL and
 * O_NOFOLLOW: a file or link planted under the temporary name is an error, not a target. */
static bolsa_errcode profile_write_private(const char *dir, const char *name, const char *data,
                                           size_t len, bolsa_error *err)
{
    char path[PROFILE_PATH_MAX], tmp[PROFILE_PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return profile_io_error(err, "create", errno);
    int bad = profile_write_all(fd, data, len);
    if (close(fd) != 0 && !bad)
        bad = errno;
    if (!bad && rename(tmp, path) != 0)
        bad = errno;
    if (bad) {
        unlink(tmp);
        return profile_io_error(err, "write", bad);
    }
    return BOLSA_E_OK;
}

/* Points profile.<ext> at the new file: a hard link, then a rename over the old one, so a
 * reader of profile.<ext> sees the old profile or the new one, never neither. */
static bolsa_errcode profile_link_latest(const char *dir, const char *name, const char *ext,
                                         unsigned long n, bolsa_error *err)
{
    char path[PROFILE_PATH_MAX], latest[PROFILE_PATH_MAX], tmp[PROFILE_PATH_MAX + 24];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(latest, sizeof(latest), "%s/profile.%s", dir, ext);
    snprintf(tmp, sizeof(tmp), "%s.%lu.tmp", latest, n);
    if (link(path, tmp) != 0 || rename(tmp, latest) != 0) {
        int e = errno;
        unlink(tmp);
        return profile_io_error(err, "link", e);
    }
    return BOLSA_E_OK;
}

/* --- keeping the directory bounded ---------------------------------------------------- */

/* 1 when name is one bolsa gives a profile; fills ms and n. */
static int profile_parse_name(const char *name, unsigned long long *ms, unsigned long long *n)
{
    bolsa_profile_info info;
    if (!bolsa_profile_name_parse(name, &info))
        return 0;
    *ms = info.ms;
    *n = info.n;
    return 1;
}

/* Copies a name the caller checked to be shorter than PROFILE_NAME_MAX. */
static void profile_copy_name(char dst[PROFILE_NAME_MAX], const char *src)
{
    size_t n = strnlen(src, PROFILE_NAME_MAX - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Records a profile file (or, latest set, a profile.<ext> link) of the scan. */
static int profile_scan_add(profile_scan *sc, const char *name, const struct stat *st, int latest,
                            unsigned long long ms, unsigned long long n)
{
    if (latest) {
        if (sc->nlinks < PROFILE_LINKS) {
            sc->links[sc->nlinks].ino = st->st_ino;
            profile_copy_name(sc->links[sc->nlinks++].name, name);
        }
        return 0;
    }
    if (sc->len == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 64;
        profile_entry *v = realloc(sc->v, cap * sizeof(*v));
        if (!v)
            return -1;
        sc->v = v;
        sc->cap = cap;
    }
    profile_entry *e = &sc->v[sc->len++];
    *e = (profile_entry){.ms = ms, .n = n, .ino = st->st_ino, .size = st->st_size};
    profile_copy_name(e->name, name);
    return 0;
}

/* Lists bolsa's regular profile files and links; anything else is not ours to count. */
static int profile_scan_dir(DIR *d, profile_scan *sc)
{
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long ms = 0, n = 0;
        struct stat st;
        int unique = profile_parse_name(de->d_name, &ms, &n);
        int latest = !unique && strncmp(de->d_name, "profile.", 8) == 0 &&
                     bolsa_profile_ext_known(de->d_name + 8);
        if (!unique && !latest)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (strlen(de->d_name) < PROFILE_NAME_MAX &&
            profile_scan_add(sc, de->d_name, &st, latest, ms, n) != 0)
            return -1;
    }
    return 0;
}

/* Newest first: by the time in the name, then the number. */
static int profile_newer_first(const void *a, const void *b)
{
    const profile_entry *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? 1 : -1;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* Keeps the newest profiles within nine tenths of the limits, and just_written whatever
 * they say, and counts what stays. A removed profile's profile.<ext> link goes with it: it
 * would keep its bytes on disk. */
static void profile_prune(bolsa_profile_files *f, int dfd, profile_scan *sc,
                          const char *just_written)
{
    unsigned long keep = f->keep - f->keep / 10;
    uint64_t keep_bytes = f->keep_bytes - f->keep_bytes / 10;
    if (sc->len) /* an empty directory's list is NULL, which qsort may not take */
        qsort(sc->v, sc->len, sizeof(sc->v[0]), profile_newer_first);
    f->count = 0;
    f->bytes = 0;
    for (size_t i = 0; i < sc->len; i++) {
        const profile_entry *e = &sc->v[i];
        int stays = (f->count < keep && f->bytes + (uint64_t)e->size <= keep_bytes) ||
                    strcmp(e->name, just_written) == 0;
        if (!stays && unlinkat(dfd, e->name, 0) == 0) {
            for (size_t k = 0; k < sc->nlinks; k++) {
                if (sc->links[k].ino == e->ino)
                    unlinkat(dfd, sc->links[k].name, 0);
            }
            continue;
        }
        f->count++; /* kept, or could not be removed: still there, still counted */
        f->bytes += (uint64_t)e->size;
    }
}

/* Lists the directory and removes what is past the limits. A listing that fails is said
 * in the log; the counts then stay as they were and the next profile tries again. */
static void profile_clean(bolsa_profile_files *f, const char *just_written)
{
    profile_scan sc = {0};
    DIR *d = opendir(f->dir);
    if (!d || profile_scan_dir(d, &sc) != 0)
        fprintf(stderr, "bolsa: profiling: could not list the profile directory: %s\n",
                d ? "out of memory" : strerror(errno));
    else
        profile_prune(f, dirfd(d), &sc, just_written);
    if (d)
        closedir(d);
    free(sc.v);
}

bolsa_errcode bolsa_profile_files_open(bolsa_profile_files *f, bolsa_error *err)
{
    bolsa_errcode rc = profile_dir_prepare(f->dir, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&f->lock);
    profile_clean(f, "");
    pthread_mutex_unlock(&f->lock);
    return BOLSA_E_OK;
}

bolsa_errcode bolsa_profile_files_add(bolsa_profile_files *f, const char *ext,
                                      const bolsa_profile_meta *meta, const char *data, size_t len,
                                      char *name, size_t size, bolsa_error *err)
{
    unsigned long n = atomic_fetch_add(&f->sequence, 1) + 1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long long ms =
        (unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000;
    if (bolsa_profile_name_make(name, size, ms, n, meta, ext))
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "no room for the profile's name");
    /* Under the lock, from the write on: a clean-up running meanwhile in another request
     * could otherwise remove this profile between its write and its link, or remove the
     * profile another request's link update just chose. Rendering stays outside it. */
    pthread_mutex_lock(&f->lock);
    bolsa_errcode rc = profile_write_private(f->dir, name, data, len, err);
    if (!rc) {
        rc = profile_link_latest(f->dir, name, ext, n, err);
        f->count++;
        f->bytes += len;
        if (f->count > f->keep || f->bytes > f->keep_bytes)
            profile_clean(f, name);
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

bolsa_errcode bolsa_profile_files_save(bolsa_profile_files *f, const gargalo_session *s,
                                       gargalo_format fmt, bolsa_profile_meta meta, char *name,
                                       size_t size, bolsa_error *err)
{
    gargalo_stats st = {0};
    gargalo_session_stats(s, &st);
    meta.duration_ms = st.duration_ns / 1000000;
    meta.samples = st.samples;
    char *data = NULL;
    size_t len = 0;
    int grc = gargalo_render(s, fmt, NULL, &data, &len);
    if (grc)
        return bolsa_error_set(err, BOLSA_E_INTERNAL, NULL, NULL, "could not write the profile: %s",
                               gargalo_strerror(grc));
    bolsa_errcode rc = bolsa_profile_files_add(f, gargalo_format_extension(fmt), &meta, data, len,
                                               name, size, err);
    free(data);
    return rc;
}
