/*
 * readme_example.c: the ten-line example of README.md and docs/gargalo.md, kept here so
 * the build proves it compiles and links. Run: build/progs/readme_example
 */
#include <gargalo.h>
#include <stdio.h>

static volatile unsigned long sink;

static void do_the_work(void)
{
    for (unsigned long i = 0; i < 50000000; i++)
        sink += i * i;
}

static void handle_request(void)
{
    gargalo_session *s;
    if (gargalo_start(&s, NULL) == 0) { /* wall clock, adaptive interval */
        do_the_work();
        gargalo_stop(s); /* resolves function, file:line */
        gargalo_render_file(s, GARGALO_FORMAT_HTML, NULL, "profile.html");
        gargalo_session_free(s);
    }
}

int main(void)
{
    handle_request();
    puts("wrote profile.html");
    return 0;
}
