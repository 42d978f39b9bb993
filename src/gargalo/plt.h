/*
 * plt.h: names for the stubs of a module's procedure linkage table. A call into another
 * library goes through a stub in the caller's .plt or .plt.sec, which has no symbol of its
 * own: without this, a sample inside one takes the name of whatever symbol comes before
 * (often _init). Here it is named after the function it jumps to, "write@plt".
 */
#ifndef GG_PLT_H
#define GG_PLT_H

#include <gelf.h>
#include <stdint.h>

typedef struct gg_plt gg_plt;

/* Reads the stubs of elf and, from .rela.plt, the functions they jump to. Returns NULL
 * when it has no PLT, or when out of memory (the stubs then keep no name). */
gg_plt *gg_plt_read(Elf *elf);
/* "name@plt" for the stub at file address vaddr, "[plt]" for a stub whose target is not
 * known, or NULL when vaddr is in no PLT. The string lives as long as p. */
const char *gg_plt_name(const gg_plt *p, uint64_t vaddr);
void gg_plt_free(gg_plt *p);

#endif
