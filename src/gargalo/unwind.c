/*
 * unwind.c: remote unwinding of a copied stack (unwind.h).
 *
 * The address space is libunwind's own local one with three accessors replaced: memory
 * reads come from the stack copy when they fall in it, and from this process's loaded
 * code and data otherwise (unwind tables, the instructions of a signal trampoline), but
 * only inside a module's mapped segments, so a corrupt stack cannot make us read an
 * unmapped address; registers come from the sample. The local find_proc_info still finds
 * the unwind tables (dl_iterate_phdr, which takes the loader's lock: fine here, where no
 * signal handler runs), and a global cache keeps what it found per address.
 *
 * A library may be unloaded by another thread at any time, so unwinding runs inside
 * gg_unwind_frozen: within a dl_iterate_phdr callback, whose lock dlclose must take
 * before it unmaps anything (the lock is recursive, so libunwind's own calls nest).
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "unwind.h"

#include <libunwind.h>

#include <link.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "grow.h"

typedef struct gg_frame_ctx {
    const uint64_t *regs;
    const unsigned char *stack;
    uint64_t sp;
    size_t len;
} gg_frame_ctx;

typedef struct gg_range {
    uintptr_t start, end;
} gg_range;

/* Everything below is touched only inside gg_unwind_frozen, so the loader's lock, which
 * it holds, serialises it. */
static struct {
    gg_range *v; /* the loaded segments, sorted */
    size_t n, cap;
    unsigned long long adds, subs; /* the loader's counters when they were read */
    unw_addr_space_t as;
    unsigned long long space_subs; /* unloads counted when as was made */
} gg_unw;

static bool readable(uintptr_t a, size_t n)
{
    size_t lo = 0, hi = gg_unw.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gg_unw.v[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < gg_unw.n && gg_unw.v[lo].start <= a && a + n <= gg_unw.v[lo].end;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    int *rc = arg;
    for (int i = 0; i < info->dlpi_phnum && !*rc; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) /* the unwind tables lie in one: ranges never overlap */
            continue;
        if (!(*rc = GG_GROW(&gg_unw.v, &gg_unw.cap, gg_unw.n + 1)))
            gg_unw.v[gg_unw.n++] = (gg_range){info->dlpi_addr + ph->p_vaddr,
                                              info->dlpi_addr + ph->p_vaddr + ph->p_memsz};
    }
    return *rc;
}

static int range_cmp(const void *a, const void *b)
{
    const gg_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the segments again when libraries were loaded or unloaded since. */
static void refresh_ranges(const struct dl_phdr_info *info)
{
    int rc = 0;
    if (gg_unw.v && info->dlpi_adds == gg_unw.adds && info->dlpi_subs == gg_unw.subs)
        return;
    gg_unw.adds = info->dlpi_adds, gg_unw.subs = info->dlpi_subs;
    gg_unw.n = 0;
    dl_iterate_phdr(add_object, &rc); /* the lock is recursive */
    qsort(gg_unw.v, gg_unw.n, sizeof(*gg_unw.v), range_cmp);
}

bool gg_unwind_read(uintptr_t addr, void *out, size_t n)
{
    if (!readable(addr, n))
        return false;
    memcpy(out, (const void *)addr, n);
    return true;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    const gg_frame_ctx *c = arg;
    if (write)
        return -UNW_EREADONLYREG;
    if (addr >= c->sp && addr - c->sp <= c->len - sizeof(*val) && c->len >= sizeof(*val)) {
        memcpy(val, c->stack + (addr - c->sp), sizeof(*val));
        return 0;
    }
    if (!readable(addr, sizeof(*val)))
        return -UNW_EINVAL; /* the stack beyond the copy, or nothing we know */
    memcpy(val, (const void *)addr, sizeof(*val));
    return 0;
}

static int reg_index(unw_regnum_t reg)
{
    static const signed char map[] = {
        [UNW_X86_64_RAX] = GG_REG_AX,  [UNW_X86_64_RDX] = GG_REG_DX,  [UNW_X86_64_RCX] = GG_REG_CX,
        [UNW_X86_64_RBX] = GG_REG_BX,  [UNW_X86_64_RSI] = GG_REG_SI,  [UNW_X86_64_RDI] = GG_REG_DI,
        [UNW_X86_64_RBP] = GG_REG_BP,  [UNW_X86_64_RSP] = GG_REG_SP,  [UNW_X86_64_R8] = GG_REG_R8,
        [UNW_X86_64_R9] = GG_REG_R9,   [UNW_X86_64_R10] = GG_REG_R10, [UNW_X86_64_R11] = GG_REG_R11,
        [UNW_X86_64_R12] = GG_REG_R12, [UNW_X86_64_R13] = GG_REG_R13, [UNW_X86_64_R14] = GG_REG_R14,
        [UNW_X86_64_R15] = GG_REG_R15, [UNW_X86_64_RIP] = GG_REG_IP};
    return reg >= 0 && (size_t)reg < sizeof(map) ? map[reg] : -1;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
    const gg_frame_ctx *c = arg;
    int i = reg_index(reg);
    if (write || i < 0)
        return -UNW_EBADREG;
    *val = c->regs[i];
    return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
                        void *arg)
{
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
                         unw_word_t *off, void *arg)
{
    return -UNW_ENOINFO; /* symbols.c names code */
}

/* The address space, with libunwind's local way of finding unwind tables. Both the
 * local and the remote libunwind export unw_get_accessors, and the local one answers
 * without initialising the remote library's tables: unw_init_remote, which only the
 * remote library has, initialises them first. */
static unw_addr_space_t create_space(void)
{
    unw_accessors_t acc;
    memset(&acc, 0, sizeof(acc));
    acc.access_mem = access_mem;
    acc.access_reg = access_reg;
    acc.access_fpreg = access_fpreg;
    acc.resume = resume;
    acc.get_proc_name = get_proc_name;
    unw_addr_space_t as = unw_create_addr_space(&acc, 0);
    if (!as)
        return NULL;
    uint64_t regs[GG_NREGS] = {0};
    gg_frame_ctx c = {regs, NULL, 0, 0};
    unw_cursor_t cur;
    unw_init_remote(&cur, as, &c);
    const unw_accessors_t *local = unw_get_accessors(unw_local_addr_space);
    acc.find_proc_info = local->find_proc_info;
    acc.put_unwind_info = local->put_unwind_info;
    acc.get_dyn_info_list_addr = local->get_dyn_info_list_addr;
    *unw_get_accessors(as) = acc;
    unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
    return as;
}

/* What libunwind cached about unloaded code would be wrong for code loaded at the same
 * address later: after an unload, a new address space starts with an empty cache. Under
 * the loader's lock. */
static void refresh_space(unsigned long long subs)
{
    if (gg_unw.as && subs == gg_unw.space_subs)
        return;
    if (gg_unw.as)
        unw_destroy_addr_space(gg_unw.as);
    gg_unw.as = create_space();
    gg_unw.space_subs = subs;
}

typedef struct gg_frozen_call {
    void (*fn)(void *);
    void *ctx;
} gg_frozen_call;

static int call_frozen(struct dl_phdr_info *info, size_t size, void *arg)
{
    const gg_frozen_call *call = arg;
    refresh_ranges(info);
    refresh_space(info->dlpi_subs);
    call->fn(call->ctx);
    return 1; /* once, not once per object */
}

void gg_unwind_frozen(void (*fn)(void *), void *ctx)
{
    gg_frozen_call call = {fn, ctx};
    dl_iterate_phdr(call_frozen, &call);
}

void gg_unwind_context_regs(const void *ucv, uint64_t *r)
{
    const greg_t *g = ((const ucontext_t *)ucv)->uc_mcontext.gregs;
    static const int map[GG_NREGS] = {
        [GG_REG_AX] = REG_RAX,  [GG_REG_BX] = REG_RBX,  [GG_REG_CX] = REG_RCX,
        [GG_REG_DX] = REG_RDX,  [GG_REG_SI] = REG_RSI,  [GG_REG_DI] = REG_RDI,
        [GG_REG_BP] = REG_RBP,  [GG_REG_SP] = REG_RSP,  [GG_REG_IP] = REG_RIP,
        [GG_REG_R8] = REG_R8,   [GG_REG_R9] = REG_R9,   [GG_REG_R10] = REG_R10,
        [GG_REG_R11] = REG_R11, [GG_REG_R12] = REG_R12, [GG_REG_R13] = REG_R13,
        [GG_REG_R14] = REG_R14, [GG_REG_R15] = REG_R15};
    for (int i = 0; i < GG_NREGS; i++)
        r[i] = (uint64_t)g[map[i]];
}

/* One step from here, inside gg_unwind_frozen: the address space, the list of loaded
 * segments and the unwind tables libunwind finds are ready before the first sample. No
 * stack is given: reading a live stack directly would trip ASan's guards. */
static void warm(void *arg)
{
    ucontext_t uc;
    void *pcs[4];
    uint64_t regs[GG_NREGS];
    getcontext(&uc);
    gg_unwind_context_regs(&uc, regs);
    gg_unwind_copy(regs, NULL, 0, pcs, 4);
}

void gg_unwind_warm(void)
{
    gg_unwind_frozen(warm, NULL);
}

uint32_t gg_unwind_into(gg_raw *raw, const uint64_t *regs, const void *stack, size_t len)
{
    if (!gg_raw_has_room(raw)) {
        raw->dropped++;
        return 0;
    }
    return gg_unwind_copy(regs, stack, len, gg_raw_next_pcs(raw), (uint32_t)raw->room);
}

uint32_t gg_unwind_copy(const uint64_t *regs, const void *stack, size_t len, void **pcs,
                        uint32_t max)
{
    gg_frame_ctx c = {regs, stack, regs[GG_REG_SP], len};
    unw_cursor_t cur;
    uint32_t n = 0;
    pcs[n++] = (void *)(uintptr_t)regs[GG_REG_IP];
    if (!gg_unw.as || unw_init_remote(&cur, gg_unw.as, &c) != 0)
        return n;
    while (n < max && unw_step(&cur) > 0) {
        unw_word_t ip;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        pcs[n++] = (void *)(uintptr_t)ip;
    }
    return n;
}
