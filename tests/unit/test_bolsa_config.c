/*
 * test_bolsa_config.c: settings from defaults, BOLSA_* variables and flags, flags winning
 * over the environment, clear errors for bad values, and --help, which is not one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static const char *const vars[] = {"BOLSA_HOST",
                                   "BOLSA_PORT",
                                   "BOLSA_DATABASE_URL",
                                   "BOLSA_THREADS",
                                   "BOLSA_MAX_ROWS",
                                   "BOLSA_PROFILE",
                                   "BOLSA_PROFILE_DIR",
                                   "BOLSA_PROFILE_TOKEN",
                                   "BOLSA_PROFILE_KEEP",
                                   "BOLSA_PROFILE_KEEP_MB",
                                   "BOLSA_MAX_CONNECTIONS",
                                   "BOLSA_MAX_CONNECTIONS_PER_ADDRESS",
                                   "BOLSA_REQUEST_TIMEOUT",
                                   "BOLSA_SHUTDOWN_TIMEOUT",
                                   "BOLSA_PROFILE_SLOW_MS",
                                   "BOLSA_PROFILE_SLOW_INTERVAL_US",
                                   "BOLSA_PROFILE_SLOW_FORMAT"};

static int clear_env(void **state)
{
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

/* Loads from a NULL-terminated flag list (program name added); err starts empty. */
static bolsa_errcode load(bolsa_config *cfg, bolsa_error *err, const char *const *flags)
{
    char *argv[16] = {"bolsa"};
    int argc = 1;
    while (flags && flags[argc - 1])
        argv[argc] = (char *)flags[argc - 1], argc++;
    memset(err, 0, sizeof(*err));
    return bolsa_config_load(cfg, argc, argv, err);
}

static void test_defaults(void **state)
{
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_OK);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 8000);
    assert_string_equal(cfg.database_url, "sqlite:bolsa.db");
    assert_int_equal(cfg.threads, 4);
    assert_true(cfg.max_rows == 10000000);
    assert_int_equal(cfg.profile, 0);
    assert_string_equal(cfg.profile_dir, ".");
    assert_string_equal(cfg.profile_token, "");
    assert_int_equal(cfg.max_connections, 4096);
    assert_int_equal(cfg.max_per_address, 64);
    assert_int_equal(cfg.request_timeout, 30);
    assert_int_equal(cfg.shutdown_timeout, 30);
    assert_int_equal(cfg.profile_keep, 200);
    assert_int_equal(cfg.profile_keep_mb, 256);
    assert_int_equal(cfg.profile_slow_ms, 0);
    assert_int_equal(cfg.profile_slow_interval_us, 1000);
    assert_string_equal(cfg.profile_slow_format, "html");
}

/* Slow-request capture: numbers in their ranges, the format one of gargalo's names. */
static void test_slow_capture_settings(void **state)
{
    setenv("BOLSA_PROFILE_SLOW_MS", "500", 1);
    setenv("BOLSA_PROFILE_SLOW_FORMAT", "speedscope", 1);
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err,
                          (const char *const[]){"--profile-slow-interval-us", "250",
                                                "--profile-slow-format=pprof", NULL}),
                     BOLSA_E_OK);
    assert_int_equal(cfg.profile_slow_ms, 500);
    assert_int_equal(cfg.profile_slow_interval_us, 250);
    assert_string_equal(cfg.profile_slow_format, "pprof");
    setenv("BOLSA_PROFILE_SLOW_FORMAT", "pdf", 1);
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_CONFIG);
    assert_string_equal(err.loc[1], "BOLSA_PROFILE_SLOW_FORMAT");
    assert_non_null(strstr(err.msg, "'pdf' is not one of html|speedscope|text|json|pprof|folded"));
}

static void test_env(void **state)
{
    setenv("BOLSA_PORT", "9001", 1);
    setenv("BOLSA_DATABASE_URL", "postgresql://u@localhost/db", 1);
    setenv("BOLSA_PROFILE", "true", 1);
    setenv("BOLSA_MAX_ROWS", "20000000000", 1);
    setenv("BOLSA_PROFILE_TOKEN", "s3cret", 1);
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_OK);
    assert_int_equal(cfg.port, 9001);
    assert_string_equal(cfg.database_url, "postgresql://u@localhost/db");
    assert_int_equal(cfg.profile, 1);
    assert_true(cfg.max_rows == 20000000000LL);
    assert_string_equal(cfg.profile_token, "s3cret");
}

static void test_flags_override_env(void **state)
{
    setenv("BOLSA_PORT", "9001", 1);
    setenv("BOLSA_THREADS", "2", 1);
    setenv("BOLSA_PROFILE_DIR", "/env", 1);
    const char *const flags[] = {"--port",    "9002", "--threads=8", "--profile-dir", "/flag",
                                 "--profile", "1",    "--host",      "0.0.0.0",       NULL};
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, flags), BOLSA_E_OK);
    assert_int_equal(cfg.port, 9002);
    assert_int_equal(cfg.threads, 8);
    assert_string_equal(cfg.profile_dir, "/flag");
    assert_int_equal(cfg.profile, 1);
    assert_string_equal(cfg.host, "0.0.0.0");
}

/* Expects flags to be refused with a message mentioning what. */
static void expect_error(const char *const *flags, const char *what)
{
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, flags), BOLSA_E_CONFIG);
    assert_int_equal(err.code, BOLSA_E_CONFIG);
    assert_non_null(strstr(err.msg, what));
    assert_string_equal(err.loc[0], "config");
}

static void test_bare_bool_flag(void **state)
{
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile", NULL}), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 1);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile", "--port", "1", NULL}),
                     BOLSA_E_OK);
    assert_int_equal(cfg.profile, 1);
    assert_int_equal(cfg.port, 1);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile", "0", NULL}), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 0);
}

/* The same words as ?profile=, from a flag or a variable. */
static void test_bool_words(void **state)
{
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile=on", NULL}), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 1);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile", "Yes", NULL}), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 1);
    setenv("BOLSA_PROFILE", "on", 1);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--profile", "OFF", NULL}), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 0);
    setenv("BOLSA_PROFILE", "no", 1);
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_OK);
    assert_int_equal(cfg.profile, 0);
    setenv("BOLSA_PROFILE", "2", 1);
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_CONFIG);
    assert_non_null(strstr(err.msg, "BOLSA_PROFILE: '2' is not one of '1', 'true', 'yes', 'on'"));
}

static void test_bad_values(void **state)
{
    expect_error((const char *const[]){"--port", "http", NULL}, "--port");
    expect_error((const char *const[]){"--port", "65536", NULL}, "65536");
    expect_error((const char *const[]){"--port=-1", NULL}, "--port");
    expect_error((const char *const[]){"--port", "80x", NULL}, "80x");
    expect_error((const char *const[]){"--threads", "0", NULL}, "--threads");
    expect_error((const char *const[]){"--max-rows", "0", NULL}, "--max-rows");
    expect_error((const char *const[]){"--profile", "maybe", NULL}, "--profile");
    expect_error((const char *const[]){"--max-connections", "0", NULL}, "--max-connections");
    expect_error((const char *const[]){"--max-connections-per-address", "-1", NULL},
                 "--max-connections-per-address");
    expect_error((const char *const[]){"--request-timeout", "1h", NULL}, "1h");
    expect_error((const char *const[]){"--shutdown-timeout", "abc", NULL}, "--shutdown-timeout");
    expect_error((const char *const[]){"--profile-keep", "0", NULL}, "--profile-keep");
    expect_error((const char *const[]){"--profile-keep=100001", NULL}, "--profile-keep");
    expect_error((const char *const[]){"--profile-keep-mb", "-5", NULL}, "--profile-keep-mb");
    expect_error((const char *const[]){"--profile-keep-mb", "1e3", NULL}, "1e3");
    expect_error((const char *const[]){"--profile-slow-ms", "-1", NULL}, "--profile-slow-ms");
    expect_error((const char *const[]){"--profile-slow-ms", "3600001", NULL}, "3600001");
    expect_error((const char *const[]){"--profile-slow-interval-us", "49", NULL},
                 "--profile-slow-interval-us");
    expect_error((const char *const[]){"--profile-slow-format", "HTML", NULL},
                 "--profile-slow-format");
    expect_error((const char *const[]){"--profile-slow-format=", NULL}, "--profile-slow-format");
    expect_error((const char *const[]){"--port", NULL}, "needs a value");
    expect_error((const char *const[]){"--nope", "1", NULL}, "unknown option");
    expect_error((const char *const[]){"port", NULL}, "unknown option");
}

static void test_bad_env(void **state)
{
    setenv("BOLSA_THREADS", "many", 1);
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_CONFIG);
    assert_non_null(strstr(err.msg, "BOLSA_THREADS"));
    assert_string_equal(err.loc[1], "BOLSA_THREADS");
    /* A good flag does not rescue a bad variable: the mistake is still reported. */
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--threads", "2", NULL}),
                     BOLSA_E_CONFIG);
}

static void test_help_lists_everything(void **state)
{
    bolsa_config cfg;
    bolsa_error err;
    assert_int_equal(load(&cfg, &err, NULL), BOLSA_E_OK);
    assert_false(cfg.help);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--help", NULL}), BOLSA_E_OK);
    assert_true(cfg.help);
    assert_int_equal(err.code, BOLSA_E_OK); /* asking for help is not an error */
    /* Flags after --help are not read; a bad one before it is still reported. */
    assert_int_equal(load(&cfg, &err, (const char *const[]){"-h", "--nope", NULL}), BOLSA_E_OK);
    assert_true(cfg.help);
    assert_int_equal(load(&cfg, &err, (const char *const[]){"--nope", "--help", NULL}),
                     BOLSA_E_CONFIG);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bolsa_config_usage(f, "bolsa");
    fclose(f);
    static const char *const want[] = {"--host",
                                       "BOLSA_HOST",
                                       "127.0.0.1",
                                       "--port",
                                       "8000",
                                       "--database-url",
                                       "sqlite:bolsa.db",
                                       "--threads",
                                       "--max-rows",
                                       "10000000",
                                       "--profile-dir",
                                       "--profile-token",
                                       "BOLSA_PROFILE",
                                       "--profile-keep",
                                       "BOLSA_PROFILE_KEEP_MB",
                                       "--profile-slow-ms",
                                       "BOLSA_PROFILE_SLOW_INTERVAL_US",
                                       "--profile-slow-format"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(strstr(text, want[i]));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_env, clear_env),
        cmocka_unit_test_setup(test_flags_override_env, clear_env),
        cmocka_unit_test_setup(test_bare_bool_flag, clear_env),
        cmocka_unit_test_setup(test_bool_words, clear_env),
        cmocka_unit_test_setup(test_bad_values, clear_env),
        cmocka_unit_test_setup(test_bad_env, clear_env),
        cmocka_unit_test_setup(test_help_lists_everything, clear_env),
        cmocka_unit_test_setup(test_slow_capture_settings, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
