/*
 * symbols.c: address -> function, file, line (and inlined callers), cached process-wide.
 *
 * elfutils libdwfl reads the modules mapped in this process (/proc/self/maps), their
 * symbol tables and DWARF, also from separate debug files found by build-id (libc6-dbg).
 * Opening libc's debug information costs milliseconds, so every answer is kept: one
 * mutex, one hash table keyed by the looked-up address, interned strings.
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"
#include "plt.h"

#define GG_UNKNOWN_MODULE "[unknown]"

/* What the cache knows of one looked-up address: its frames in gg_syms.frames. */
typedef struct gg_sym_entry {
    uintptr_t addr;
    uint32_t first;
    uint32_t count;
} gg_sym_entry;

typedef struct gg_module_info {
    const char *name; /* interned basename */
    uint64_t bias;    /* load bias: address - bias is the file's virtual address */
    bool is_library;
} gg_module_info;

static char *gg_debuginfo_path; /* NULL: elfutils' default, which includes /usr/lib/debug */

static const Dwfl_Callbacks gg_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &gg_debuginfo_path,
};

static struct {
    pthread_mutex_t lock;
    Dwfl *dwfl;
    bool reported_now; /* modules were re-read under the current lock: not again */
    gg_sym_entry *entries;
    size_t nentries, entries_cap;
    gg_index by_addr; /* addr -> entry */
    gg_frame *frames;
    size_t nframes, frames_cap;
    gg_arena strings;
    gg_module *modules; /* every module a frame named, by interned name */
    size_t nmodules, modules_cap;
    unsigned long long unloads; /* the loader's count of unloads when last checked */
} gg_syms = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int read_unloads(struct dl_phdr_info *info, size_t size, void *arg)
{
    *(unsigned long long *)arg = info->dlpi_subs;
    return 1; /* the loader's counter: the same in every entry */
}

static int report_modules(void);

/* After a library is unloaded, what the cache says of its addresses would be wrong for
 * whatever is loaded there next: every address is forgotten and the modules read again. */
static void forget_if_unloaded(void)
{
    unsigned long long subs = 0;
    dl_iterate_phdr(read_unloads, &subs);
    if (subs == gg_syms.unloads)
        return;
    gg_syms.unloads = subs;
    gg_syms.nentries = gg_syms.nframes = gg_syms.nmodules = 0;
    gg_index_free(&gg_syms.by_addr);
    if (gg_syms.dwfl)
        report_modules();
}

void gg_symbols_lock(void)
{
    pthread_mutex_lock(&gg_syms.lock);
    gg_syms.reported_now = false;
    forget_if_unloaded();
}

void gg_symbols_unlock(void)
{
    pthread_mutex_unlock(&gg_syms.lock);
}

bool gg_symbols_is_system_path(const char *path)
{
    static const char *const dirs[] = {"/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/"};
    for (size_t i = 0; path && i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return true;
    return false;
}

/* Appends one frame (strings interned) to the frame pool. */
static int push_frame(const char *function, const char *file, int line, const gg_module_info *mi,
                      uint64_t offset, bool inlined)
{
    gg_frame f = {.line = line,
                  .module = mi->name,
                  .offset = offset,
                  .is_library = mi->is_library,
                  .inlined = inlined};
    int rc = gg_syms.nframes >= UINT32_MAX - 1
                 ? GARGALO_ENOMEM
                 : GG_GROW(&gg_syms.frames, &gg_syms.frames_cap, gg_syms.nframes + 1);
    if (!rc)
        rc = gg_arena_intern(&gg_syms.strings, function, &f.function);
    if (!rc)
        rc = gg_arena_intern(&gg_syms.strings, file, &f.file);
    if (!rc)
        gg_syms.frames[gg_syms.nframes++] = f;
    return rc;
}

/* A module's function symbols sorted by address, built at its first lookup:
 * dwfl_module_addrinfo scans the whole symbol table on every call (0.1-0.3 ms in libc). */
typedef struct gg_sym {
    uint64_t addr, size;
    const char *name; /* owned by libdwfl while the module is reported */
    int rank;         /* for aliases at one address: lower is preferred */
} gg_sym;

typedef struct gg_module_syms {
    gg_sym *v;
    size_t n;
    gg_plt *plt; /* its PLT stubs, named after their targets */
} gg_module_syms;

static int sym_rank(const GElf_Sym *sym, const char *name)
{
    int bind = GELF_ST_BIND(sym->st_info);
    int r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 4 : 8;
    while (*name == '_' && r < 11)
        name++, r++;
    return r;
}

static int sym_cmp(const void *a, const void *b)
{
    const gg_sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->rank - y->rank;
}

static gg_module_syms *module_syms_build(Dwfl_Module *mod)
{
    gg_module_syms *ms = calloc(1, sizeof(*ms));
    GElf_Addr bias;
    if (ms)
        ms->plt = gg_plt_read(dwfl_module_getelf(mod, &bias));
    int n = dwfl_module_getsymtab(mod);
    if (!ms || n <= 0 || !(ms->v = malloc((size_t)n * sizeof(*ms->v))))
        return ms;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
        if (name && *name && GELF_ST_TYPE(sym.st_info) == STT_FUNC && addr)
            ms->v[ms->n++] = (gg_sym){addr, sym.st_size, name, sym_rank(&sym, name)};
    }
    qsort(ms->v, ms->n, sizeof(*ms->v), sym_cmp);
    return ms;
}

static void module_syms_free(gg_module_syms *ms)
{
    if (ms) {
        free(ms->v);
        gg_plt_free(ms->plt);
    }
    free(ms);
}

/* The module's symbol index, built at its first use; NULL when out of memory. */
static const gg_module_syms *module_syms(Dwfl_Module *mod)
{
    void **ud;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (!*ud)
        *ud = module_syms_build(mod);
    return *ud;
}

/* The function symbol holding addr: the last one starting at or before it, if addr is
 * within its size (a sizeless symbol reaches to the next one). */
static const gg_sym *module_sym_lookup(Dwfl_Module *mod, uintptr_t addr)
{
    const gg_module_syms *ms = module_syms(mod);
    if (!ms)
        return NULL;
    size_t lo = 0, hi = ms->n;
    while (lo < hi) { /* first symbol above addr */
        size_t mid = (lo + hi) / 2;
        if (ms->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const gg_sym *sym = &ms->v[lo - 1];
    while (sym > ms->v && sym[-1].addr == sym->addr) /* the preferred alias */
        sym--;
    return sym->size == 0 || addr < sym->addr + sym->size ? sym : NULL;
}

/* dwfl_report_end's "removed" callback: libdwfl passes the address of the module's
 * userdata, not the userdata itself. */
static int forget_module(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                         void *arg)
{
    void **ud = userdata;
    module_syms_free(*ud);
    *ud = NULL;
    return DWARF_CB_OK;
}

static int forget_module_at_end(Dwfl_Module *mod, void **userdata, const char *name,
                                Dwarf_Addr base, void *arg)
{
    module_syms_free(*userdata);
    *userdata = NULL;
    return DWARF_CB_OK;
}

/* (Re-)reads the module list from /proc/self/maps: at first use, and when an address
 * falls outside every known module (a library dlopen'ed since). Modules reported again
 * keep their loaded debug information. */
static int report_modules(void)
{
    if (!gg_syms.dwfl && !(gg_syms.dwfl = dwfl_begin(&gg_callbacks)))
        return GARGALO_ENOMEM;
    dwfl_report_begin(gg_syms.dwfl);
    int rc = dwfl_linux_proc_report(gg_syms.dwfl, getpid());
    dwfl_report_end(gg_syms.dwfl, forget_module, NULL);
    gg_syms.reported_now = true;
    return rc == 0 ? 0 : GARGALO_EIO;
}

static Dwfl_Module *find_module(uintptr_t addr)
{
    Dwfl_Module *mod = gg_syms.dwfl ? dwfl_addrmodule(gg_syms.dwfl, addr) : NULL;
    if (!mod && !gg_syms.reported_now && report_modules() == 0)
        mod = dwfl_addrmodule(gg_syms.dwfl, addr);
    return mod;
}

/* The build id as lowercase hex, interned; NULL when the module has none. */
static const char *build_id_hex(Dwfl_Module *mod)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    char hex[129];
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    const char *out = NULL;
    if (n <= 0 || n > 64)
        return NULL;
    for (int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    return gg_arena_intern(&gg_syms.strings, hex, &out) ? NULL : out;
}

/* Remembers the module behind a name the first time a frame names it. */
static int remember_module(Dwfl_Module *mod, const char *name, const char *path, uint64_t start,
                           uint64_t end)
{
    for (size_t i = 0; i < gg_syms.nmodules; i++)
        if (gg_syms.modules[i].name == name)
            return 0;
    gg_module m = {name, NULL, build_id_hex(mod), start, end};
    int rc = gg_arena_intern(&gg_syms.strings, path, &m.path);
    if (!rc)
        rc = GG_GROW(&gg_syms.modules, &gg_syms.modules_cap, gg_syms.nmodules + 1);
    if (!rc)
        gg_syms.modules[gg_syms.nmodules++] = m;
    return rc;
}

int gg_symbols_module(const char *name, gg_module *out)
{
    for (size_t i = 0; i < gg_syms.nmodules; i++) {
        if (name && strcmp(gg_syms.modules[i].name, name) == 0) {
            *out = gg_syms.modules[i];
            return 0;
        }
    }
    return GARGALO_EINVAL;
}

static int module_info(Dwfl_Module *mod, gg_module_info *mi)
{
    Dwarf_Addr start = 0, end = 0;
    const char *path = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
    GElf_Addr bias = start;
    if (!dwfl_module_getelf(mod, &bias))
        bias = start;
    const char *slash = path ? strrchr(path, '/') : NULL;
    mi->bias = bias;
    mi->is_library = gg_symbols_is_system_path(path) || (path && path[0] == '[');
    int rc = gg_arena_intern(&gg_syms.strings,
                             slash  ? slash + 1
                             : path ? path
                                    : GG_UNKNOWN_MODULE,
                             &mi->name);
    return rc ? rc : remember_module(mod, mi->name, path, start, end);
}

/* The source position of addr itself (the innermost, possibly inlined, code). */
static const char *source_of(Dwfl_Module *mod, uintptr_t addr, int *line)
{
    Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
    *line = 0;
    return l ? dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL) : NULL;
}

/* Where an inlined copy was called from: its DW_AT_call_file and DW_AT_call_line. */
static const char *call_site(Dwarf_Die *cu, Dwarf_Die *inl, int *line)
{
    Dwarf_Attribute a;
    Dwarf_Word fileidx = 0, lineno = 0;
    Dwarf_Files *files;
    size_t nfiles;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &lineno) == 0)
        *line = (int)lineno;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &fileidx) != 0 ||
        dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || fileidx >= nfiles)
        return NULL;
    return dwarf_filesrc(files, fileidx, NULL, NULL);
}

/* One address range of a function or inlined copy in a compilation unit. */
typedef struct gg_scope {
    uint64_t low, high; /* [low, high), module-relative like DWARF addresses */
    Dwarf_Off die;
    uint32_t depth; /* nesting: an inlined copy is deeper than what holds it */
} gg_scope;

/* The scopes of one CU, read once: asking libdw for the scopes of each address walks
 * the whole CU every time (0.7 ms an address in libc's printf). */
typedef struct gg_cu_index {
    Dwarf *dbg;
    Dwarf_Off cu;
    gg_scope *v;
    size_t n, cap;
} gg_cu_index;

/* Every CU indexed so far, found by (debug file, CU offset). */
static struct {
    gg_cu_index **v;
    size_t n, cap;
    gg_index by_cu;
} gg_cus;

static int add_ranges(gg_cu_index *ix, Dwarf_Die *die, uint32_t depth)
{
    Dwarf_Addr base, start, end;
    for (ptrdiff_t off = 0; (off = dwarf_ranges(die, off, &base, &start, &end)) > 0;) {
        int rc = GG_GROW(&ix->v, &ix->cap, ix->n + 1);
        if (rc)
            return rc;
        ix->v[ix->n++] = (gg_scope){start, end, dwarf_dieoffset(die), depth};
    }
    return 0;
}

/* Collects functions and inlined copies below die; only code-holding DIEs are entered. */
static int index_children(gg_cu_index *ix, Dwarf_Die *die, uint32_t depth)
{
    Dwarf_Die child;
    if (dwarf_child(die, &child) != 0)
        return 0;
    do {
        int tag = dwarf_tag(&child);
        bool scope = tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
        int rc = scope ? add_ranges(ix, &child, depth) : 0;
        if (!rc && (scope || tag == DW_TAG_lexical_block))
            rc = index_children(ix, &child, scope ? depth + 1 : depth);
        if (rc)
            return rc;
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

static bool same_cu(const void *ctx, uint32_t value, const void *key)
{
    const gg_cu_index *a = gg_cus.v[value], *b = key;
    return a->dbg == b->dbg && a->cu == b->cu;
}

static void cu_index_drop(gg_cu_index *ix)
{
    free(ix->v);
    free(ix);
}

static gg_cu_index *cu_index(Dwarf *dbg, Dwarf_Die *cu)
{
    gg_cu_index key = {.dbg = dbg, .cu = dwarf_dieoffset(cu)};
    uint64_t h = gg_hash_u64((uintptr_t)dbg ^ gg_hash_u64(key.cu));
    uint32_t found = gg_index_get(&gg_cus.by_cu, h, same_cu, NULL, &key);
    if (found != GG_INDEX_NONE)
        return gg_cus.v[found];
    gg_cu_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return NULL;
    *ix = key;
    if (index_children(ix, cu, 0) || GG_GROW(&gg_cus.v, &gg_cus.cap, gg_cus.n + 1) ||
        gg_index_put(&gg_cus.by_cu, h, (uint32_t)gg_cus.n)) {
        cu_index_drop(ix);
        return NULL;
    }
    gg_cus.v[gg_cus.n++] = ix;
    return ix;
}

static void cu_index_free(void)
{
    for (size_t i = 0; i < gg_cus.n; i++)
        cu_index_drop(gg_cus.v[i]);
    free(gg_cus.v);
    gg_index_free(&gg_cus.by_cu);
    memset(&gg_cus, 0, sizeof(gg_cus));
}

/* The scopes holding pc, innermost (deepest) first; at most max of them. */
static int scopes_at(const gg_cu_index *ix, uint64_t pc, gg_scope *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < ix->n && n < max; i++)
        if (pc >= ix->v[i].low && pc < ix->v[i].high)
            out[n++] = ix->v[i];
    for (int i = 1; i < n; i++) /* insertion sort: a handful of entries */
        for (int j = i; j > 0 && out[j - 1].depth < out[j].depth; j--) {
            gg_scope t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

#define GG_MAX_INLINE 32

/* Pushes the frames of addr innermost first: each inlined function, at the line reached
 * in it, then the real function at the line where the outermost inlined copy sits. */
static int push_frames(Dwfl_Module *mod, uintptr_t addr, const char *symname,
                       const gg_module_info *mi, uint64_t entry)
{
    int line, rc = 0, n = 0;
    const char *file = source_of(mod, addr, &line), *outer = NULL;
    Dwarf_Addr cubias, dbias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &cubias), die;
    Dwarf *dbg = cu ? dwfl_module_getdwarf(mod, &dbias) : NULL;
    gg_cu_index *ix = dbg ? cu_index(dbg, cu) : NULL;
    gg_scope sc[GG_MAX_INLINE];
    if (ix)
        n = scopes_at(ix, addr - cubias, sc, GG_MAX_INLINE);
    for (int i = 0; i < n && rc == 0 && !outer; i++) {
        if (!dwarf_offdie(dbg, sc[i].die, &die))
            break;
        if (dwarf_tag(&die) == DW_TAG_subprogram) {
            outer = dwarf_diename(&die);
        } else {
            rc = push_frame(dwarf_diename(&die), file, line, mi, entry, true);
            file = call_site(cu, &die, &line);
        }
    }
    if (rc == 0)
        rc = push_frame(outer ? outer : symname, file, line, mi, entry, false);
    return rc;
}

/* Appends the frames of addr to the pool (at least one). */
static int describe(uintptr_t addr)
{
    Dwfl_Module *mod = find_module(addr);
    gg_module_info mi = {NULL, 0, false};
    if (!mod) {
        int rc = gg_arena_intern(&gg_syms.strings, GG_UNKNOWN_MODULE, &mi.name);
        return rc ? rc : push_frame(NULL, NULL, 0, &mi, addr, false);
    }
    int rc = module_info(mod, &mi);
    if (rc)
        return rc;
    const gg_module_syms *ms = module_syms(mod);
    const char *stub = ms ? gg_plt_name(ms->plt, addr - mi.bias) : NULL;
    if (stub)
        return push_frame(stub, NULL, 0, &mi, addr - mi.bias, false);
    const gg_sym *sym = module_sym_lookup(mod, addr);
    /* Frames of one function share its entry offset, so they dedupe by (function, line). */
    uint64_t entry = (sym ? sym->addr : addr) - mi.bias;
    return push_frames(mod, addr, sym ? sym->name : NULL, &mi, entry);
}

static bool same_addr(const void *ctx, uint32_t value, const void *key)
{
    return gg_syms.entries[value].addr == *(const uintptr_t *)key;
}

/* Describes addr and remembers its frames under it. */
static int remember(uintptr_t addr, uint64_t h, uint32_t *entry)
{
    size_t first = gg_syms.nframes;
    int rc = GG_GROW(&gg_syms.entries, &gg_syms.entries_cap, gg_syms.nentries + 1);
    if (!rc)
        rc = describe(addr);
    if (!rc)
        rc = gg_index_put(&gg_syms.by_addr, h, (uint32_t)gg_syms.nentries);
    if (rc) {
        gg_syms.nframes = first; /* strings stay interned; harmless */
        return rc;
    }
    gg_syms.entries[gg_syms.nentries] =
        (gg_sym_entry){addr, (uint32_t)first, (uint32_t)(gg_syms.nframes - first)};
    *entry = (uint32_t)gg_syms.nentries++;
    return 0;
}

int gg_symbols_resolve(uintptr_t pc, bool is_return, const gg_frame **frames, uint32_t *n)
{
    uintptr_t addr = is_return && pc ? pc - 1 : pc;
    uint64_t h = gg_hash_u64(addr);
    uint32_t e = gg_index_get(&gg_syms.by_addr, h, same_addr, NULL, &addr);
    if (e == GG_INDEX_NONE) {
        int rc = remember(addr, h, &e);
        if (rc)
            return rc;
    }
    *frames = gg_syms.frames + gg_syms.entries[e].first;
    *n = gg_syms.entries[e].count;
    return 0;
}

/* Loads one module's debug information and builds its symbol index now. */
static int preload_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                          void *arg)
{
    Dwarf_Addr bias;
    dwfl_module_getdwarf(mod, &bias); /* none is fine: the symbol table still names code */
    module_sym_lookup(mod, (uintptr_t)base);
    return DWARF_CB_OK;
}

int gg_symbols_preload(void)
{
    gg_symbols_lock();
    int rc = report_modules();
    if (rc == 0)
        dwfl_getmodules(gg_syms.dwfl, preload_module, NULL, 0);
    gg_symbols_unlock();
    return rc;
}

void gg_symbols_reset(void)
{
    pthread_mutex_lock(&gg_syms.lock);
    cu_index_free();
    if (gg_syms.dwfl) {
        dwfl_getmodules(gg_syms.dwfl, forget_module_at_end, NULL, 0);
        dwfl_end(gg_syms.dwfl);
    }
    gg_syms.dwfl = NULL;
    free(gg_syms.entries);
    free(gg_syms.frames);
    free(gg_syms.modules);
    gg_syms.modules = NULL, gg_syms.nmodules = gg_syms.modules_cap = 0;
    gg_index_free(&gg_syms.by_addr);
    gg_arena_free(&gg_syms.strings);
    gg_syms.entries = NULL, gg_syms.frames = NULL;
    gg_syms.nentries = gg_syms.entries_cap = gg_syms.nframes = gg_syms.frames_cap = 0;
    pthread_mutex_unlock(&gg_syms.lock);
}
