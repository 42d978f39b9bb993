/*
 * ggdl.c: a small shared library the sampler tests load, unload and call through the PLT.
 * Built three times with GGDL_TAG a, b and plt: the same code under other names, so that
 * a library loaded where another was unloaded can be told from it.
 */
#define GGDL_CAT2(a, b) a##b
#define GGDL_CAT(a, b) GGDL_CAT2(a, b)

volatile unsigned long GGDL_CAT(ggdl_sink_, GGDL_TAG);

/* Spins for n rounds of arithmetic the compiler cannot fold away. */
unsigned long GGDL_CAT(ggdl_spin_, GGDL_TAG)(unsigned long n)
{
    unsigned long x = 0;
    for (unsigned long i = 0; i < n; i++)
        x += (i * i) ^ (x >> 3);
    GGDL_CAT(ggdl_sink_, GGDL_TAG) = x;
    return x;
}

/* Almost nothing: a caller in a loop spends a good part of its time in the PLT stub. */
int GGDL_CAT(ggdl_add_, GGDL_TAG)(int a, int b)
{
    return a + b;
}
