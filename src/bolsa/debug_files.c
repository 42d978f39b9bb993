/*
 * debug_files.c: one profile file, served (debug_files.h).
 */
#include "debug_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "profile_name.h"

/* Larger files are not read into memory to be served (the largest html profile of a
 * 20,000-sample session is about 10 MB). */
#define FILES_MAX_BYTES ((off_t)256 << 20)

/* What an HTML profile needs: its own inline script and style, in a sandbox. */
#define FILES_CSP_HTML                                                                             \
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "                      \
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define FILES_CSP_OTHER "sandbox; default-src 'none'; frame-ancestors 'none'"

static void files_not_found(bolsa_response *resp)
{
    bolsa_error err = {0};
    bolsa_error_set(&err, BOLSA_E_NOT_FOUND, "path", "name", "No such profile");
    bolsa_response_error(resp, &err);
}

/* Reads the whole regular file fd into *data. 0, or an errno value (EFBIG when too big). */
static int files_read(int fd, char **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return ENOENT;
    if (st.st_size > FILES_MAX_BYTES)
        return EFBIG;
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return ENOMEM;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* cut short meanwhile (retention removed it): serve what was read */
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    return 0;
}

/* Opens dir/name without following a link, and reads it. 0 or an errno value. */
static int files_load(const char *dir, const char *name, char **data, size_t *len)
{
    char path[1300];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = files_read(fd, data, len);
    close(fd);
    return rc;
}

static void files_headers(bolsa_response *resp, const char *name, const char *ext, int download)
{
    char disposition[BOLSA_PROFILE_NAME_MAX + 40];
    snprintf(disposition, sizeof(disposition), "%s; filename=\"%s\"",
             download ? "attachment" : "inline", name);
    bolsa_response_set_header(resp, "Content-Disposition", disposition);
    bolsa_response_set_header(resp, "Content-Security-Policy",
                              strcmp(ext, "html") ? FILES_CSP_OTHER : FILES_CSP_HTML);
    bolsa_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    bolsa_response_set_header(resp, "Referrer-Policy", "no-referrer");
    bolsa_response_set_header(resp, "Cache-Control", "no-store");
}

/* ?download: absent or a yes-or-no word. */
static bolsa_errcode files_download(const bolsa_request *req, int *download, bolsa_error *err)
{
    bolsa_text v = bolsa_request_query(req, "download");
    *download = 0;
    if (v.p && bolsa_input_parse_bool(v.p, v.len, download))
        return bolsa_error_set(err, BOLSA_E_ENUM, "query", "download",
                               "Input should be " BOLSA_INPUT_BOOL_WORDS);
    return BOLSA_E_OK;
}

/* dir/name read whole into resp, or the error said there. */
static void files_answer(const char *dir, const char *name, const char *ext, int download,
                         bolsa_response *resp)
{
    char *data = NULL;
    size_t len = 0;
    int e = files_load(dir, name, &data, &len);
    if (e == ENOENT || e == ELOOP) {
        files_not_found(resp);
    } else if (e) {
        bolsa_error err = {0};
        bolsa_error_set(&err, BOLSA_E_INTERNAL, NULL, NULL, "could not read the profile: %s",
                        strerror(e));
        bolsa_error_conceal(&err, "GET /debug/gargalo/profiles/");
        bolsa_response_error(resp, &err);
    } else if (bolsa_response_set_body(resp, 200, bolsa_profile_content_type(ext), data, len) ==
               BOLSA_E_OK) {
        files_headers(resp, name, ext, download);
    }
}

void bolsa_debug_files_handle(const char *dir, bolsa_text name, bolsa_request *req,
                              bolsa_response *resp)
{
    bolsa_profile_info info;
    bolsa_error err = {0};
    int download;
    const char *cname = bolsa_text_cstr(name);
    if (!cname || !bolsa_profile_name_parse(cname, &info))
        files_not_found(resp);
    else if (files_download(req, &download, &err))
        bolsa_response_error(resp, &err);
    else
        files_answer(dir, cname, info.ext, download, resp);
}
