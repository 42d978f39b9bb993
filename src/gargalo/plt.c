/*
 * plt.c: PLT stubs named after their targets (plt.h).
 *
 * On x86-64 a .plt has a 16-byte header stub, then one 16-byte stub per .rela.plt entry,
 * in order; with indirect-branch tracking the stubs that calls reach move to .plt.sec,
 * one per entry with no header. .plt.got stubs jump through the GOT without a .rela.plt
 * entry: they are named "[plt]".
 */
#include "plt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gg_plt_range {
    uint64_t start, end, entsize;
    uint32_t skip; /* header stubs before the first named one */
} gg_plt_range;

struct gg_plt {
    gg_plt_range plt, sec, got;
    char **names; /* "name@plt" per .rela.plt entry, NULL when unknown */
    size_t n;
};

static void take_range(gg_plt_range *r, const GElf_Shdr *sh, uint32_t skip)
{
    r->start = sh->sh_addr;
    r->end = sh->sh_addr + sh->sh_size;
    r->entsize = sh->sh_entsize ? sh->sh_entsize : 16;
    r->skip = skip;
}

/* "name@plt" for relocation i, or NULL (no symbol: an IFUNC's IRELATIVE, or no memory). */
static char *reloc_name(Elf *elf, Elf_Data *rela, Elf_Scn *symtab, size_t i)
{
    GElf_Rela r;
    GElf_Shdr sh;
    GElf_Sym sym;
    Elf_Data *syms = elf_getdata(symtab, NULL);
    if (!gelf_getrela(rela, (int)i, &r) || !syms || !gelf_getshdr(symtab, &sh) ||
        !GELF_R_SYM(r.r_info) || !gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
        return NULL;
    const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
    if (!name || !*name)
        return NULL;
    size_t len = strlen(name) + 5;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s@plt", name);
    return out;
}

static void read_names(gg_plt *p, Elf *elf, Elf_Scn *rela_scn)
{
    GElf_Shdr sh;
    Elf_Data *rela = elf_getdata(rela_scn, NULL);
    if (!rela || !gelf_getshdr(rela_scn, &sh) || !sh.sh_entsize)
        return;
    size_t n = sh.sh_size / sh.sh_entsize;
    Elf_Scn *symtab = elf_getscn(elf, sh.sh_link);
    if (!symtab || !(p->names = calloc(n ? n : 1, sizeof(*p->names))))
        return;
    p->n = n;
    for (size_t i = 0; i < n; i++)
        p->names[i] = reloc_name(elf, rela, symtab, i);
}

gg_plt *gg_plt_read(Elf *elf)
{
    size_t shstrndx;
    Elf_Scn *scn = NULL, *rela = NULL;
    gg_plt *p = calloc(1, sizeof(*p));
    if (!p || !elf || elf_getshdrstrndx(elf, &shstrndx) != 0) {
        free(p);
        return NULL;
    }
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
        if (!name)
            continue;
        if (!strcmp(name, ".plt"))
            take_range(&p->plt, &sh, 1);
        else if (!strcmp(name, ".plt.sec"))
            take_range(&p->sec, &sh, 0);
        else if (!strcmp(name, ".plt.got"))
            take_range(&p->got, &sh, 0);
        else if (!strcmp(name, ".rela.plt"))
            rela = scn;
    }
    if (rela)
        read_names(p, elf, rela);
    return p;
}

static const char *stub_name(const gg_plt *p, const gg_plt_range *r, uint64_t vaddr)
{
    uint64_t k = (vaddr - r->start) / r->entsize;
    if (k < r->skip || k - r->skip >= p->n || !p->names[k - r->skip])
        return "[plt]";
    return p->names[k - r->skip];
}

const char *gg_plt_name(const gg_plt *p, uint64_t vaddr)
{
    if (!p)
        return NULL;
    if (vaddr >= p->sec.start && vaddr < p->sec.end)
        return stub_name(p, &p->sec, vaddr);
    if (vaddr >= p->plt.start && vaddr < p->plt.end)
        return stub_name(p, &p->plt, vaddr);
    if (vaddr >= p->got.start && vaddr < p->got.end)
        return "[plt]";
    return NULL;
}

void gg_plt_free(gg_plt *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->names[i]);
    free(p->names);
    free(p);
}
