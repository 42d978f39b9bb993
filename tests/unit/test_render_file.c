/*
 * test_render_file.c: gargalo_render_file writes atomically (a temporary file renamed
 * over the target, nothing left behind on failure), "-" means stdout, and the argument
 * and state checks of gargalo_render.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "render_fixture.h"

static char dir[] = "/tmp/gargalo-render-XXXXXX";

static int make_dir(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    return rmdir(dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static size_t entries(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_writes_and_replaces(void **state)
{
    gargalo_session *s = fx_session();
    char path[512];
    snprintf(path, sizeof(path), "%s/profile.txt", dir);
    FILE *old = fopen(path, "w");
    fputs("old content that is longer than nothing", old);
    fclose(old);
    for (int fmt = GARGALO_FORMAT_TEXT; fmt <= GARGALO_FORMAT_JSON; fmt++) {
        assert_int_equal(gargalo_render_file(s, (gargalo_format)fmt, NULL, path), 0);
        char *want;
        size_t want_len, got_len;
        assert_int_equal(gargalo_render(s, (gargalo_format)fmt, NULL, &want, &want_len), 0);
        char *got = slurp(path, &got_len);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
        free(got), free(want);
        assert_int_equal(entries(), 1); /* no temporary file left */
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    gargalo_session_free(s);
}

static void test_relative_path(void **state)
{
    gargalo_session *s = fx_session();
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_JSON, NULL, "rel.json"), 0);
    assert_int_equal(access("rel.json", R_OK), 0);
    assert_int_equal(chdir(cwd), 0);
    gargalo_session_free(s);
}

static void test_failures_leave_nothing(void **state)
{
    gargalo_session *s = fx_session();
    char path[512];
    size_t before = entries();
    snprintf(path, sizeof(path), "%s/missing/profile.html", dir);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_HTML, NULL, path), GARGALO_EIO);
    snprintf(path, sizeof(path), "%s", dir); /* a directory cannot be replaced by a file */
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_TEXT, NULL, path), GARGALO_EIO);
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.max_bytes = 10;
    snprintf(path, sizeof(path), "%s/big.txt", dir);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_TEXT, &ro, path), GARGALO_ETOOBIG);
    assert_int_equal(entries(), before);
    gargalo_session_free(s);
}

/* "-" goes to stdout, through stdio so it follows what the caller printed; no colours
 * when stdout is not a terminal. */
static void test_stdout(void **state)
{
    gargalo_session *s = fx_session();
    char path[512];
    snprintf(path, sizeof(path), "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    printf("before\n");
    int rc = gargalo_render_file(s, GARGALO_FORMAT_TEXT, NULL, "-");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    size_t len;
    char *got = slurp(path, &len);
    assert_true(strncmp(got, "before\ngargalo profile\n", 23) == 0);
    assert_non_null(strstr(got, "handle_request"));
    assert_null(strstr(got, "\033["));
    free(got);
    unlink(path);
    gargalo_session_free(s);
}

static void test_arguments_and_state(void **state)
{
    gargalo_session *s = fx_session();
    char *out;
    size_t len;
    assert_int_equal(gargalo_render(NULL, GARGALO_FORMAT_TEXT, NULL, &out, &len), GARGALO_EINVAL);
    assert_int_equal(gargalo_render(s, (gargalo_format)99, NULL, &out, &len), GARGALO_EINVAL);
    assert_int_equal(gargalo_render(s, (gargalo_format)-1, NULL, &out, &len), GARGALO_EINVAL);
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, NULL, NULL, &len), GARGALO_EINVAL);
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, NULL, &out, NULL), GARGALO_EINVAL);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_TEXT, NULL, NULL), GARGALO_EINVAL);
    assert_int_equal(gargalo_render_file(s, GARGALO_FORMAT_TEXT, NULL, ""), GARGALO_EINVAL);
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.min_percent = NAN;
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, &ro, &out, &len), GARGALO_EINVAL);
    s->state = GG_RUNNING; /* as if still sampling */
    assert_int_equal(gargalo_render(s, GARGALO_FORMAT_TEXT, NULL, &out, &len), GARGALO_ESTATE);
    s->state = GG_STOPPED;
    gargalo_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_and_replaces),    cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_failures_leave_nothing), cmocka_unit_test(test_stdout),
        cmocka_unit_test(test_arguments_and_state),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
