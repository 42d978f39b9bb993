/*
 * grow.c: overflow-checked array growth (grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "gargalo.h"

int gg_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return GARGALO_ENOMEM;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return GARGALO_ENOMEM;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return GARGALO_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}
