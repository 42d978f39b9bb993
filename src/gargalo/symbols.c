/*
 * symbols.c: address -> function, file, line (and inlined callers), cached process-wide.
 *
 * elfutils libdwfl reads the modules mapped in this process (/proc/self/maps), their
 * symbol tables and DWARF, also from separate debug files found by build-id (libc6-dbg).
 * Opening libc's debug information costs milliseconds, so every answer is kept: one
 * mutex, one hash table keyed by the looked-up address, interned strings.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GG_UNKNOWN_MODULE "[unknown]"

typedef struct gg_sym_slot {
    uintptr_t addr;
    uint32_t first; /* index of its first frame in gg_syms.frames */
    uint32_t count; /* 0: empty slot */
} gg_sym_slot;

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
    gg_sym_slot *slots;
    size_t cap, used; /* cap is a power of two */
    gg_frame *frames;
    size_t nframes, frames_cap;
    char **strings; /* interned strings, open addressing */
    size_t strings_cap, strings_used;
} gg_syms = {.lock = PTHREAD_MUTEX_INITIALIZER};

void gg_symbols_lock(void)
{
    pthread_mutex_lock(&gg_syms.lock);
    gg_syms.reported_now = false;
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

static uint64_t hash_addr(uintptr_t a)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 29);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Doubles an open-addressing table of strings when it is 3/4 full. */
static int strings_grow(void)
{
    if (gg_syms.strings_cap && (gg_syms.strings_used + 1) * 4 < gg_syms.strings_cap * 3)
        return 0;
    size_t ncap = gg_syms.strings_cap ? gg_syms.strings_cap * 2 : 1024;
    char **ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < gg_syms.strings_cap; i++) {
        char *s = gg_syms.strings[i];
        if (!s)
            continue;
        size_t j = hash_str(s) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = s;
    }
    free(gg_syms.strings);
    gg_syms.strings = ns;
    gg_syms.strings_cap = ncap;
    return 0;
}

/* The cache's copy of s, shared by every frame that names it. NULL stays NULL. */
static char *intern(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    if (strings_grow()) {
        *failed = true;
        return NULL;
    }
    size_t mask = gg_syms.strings_cap - 1, i = hash_str(s) & mask;
    for (; gg_syms.strings[i]; i = (i + 1) & mask)
        if (strcmp(gg_syms.strings[i], s) == 0)
            return gg_syms.strings[i];
    char *copy = strdup(s);
    if (!copy) {
        *failed = true;
        return NULL;
    }
    gg_syms.strings[i] = copy;
    gg_syms.strings_used++;
    return copy;
}

/* Appends one frame (strings interned) to the frame pool. */
static int push_frame(const char *function, const char *file, int line, const gg_module_info *mi,
                      uint64_t offset, bool inlined)
{
    if (gg_syms.nframes == gg_syms.frames_cap) {
        size_t ncap = gg_syms.frames_cap ? gg_syms.frames_cap * 2 : 1024;
        gg_frame *nf = ncap < UINT32_MAX ? realloc(gg_syms.frames, ncap * sizeof(*nf)) : NULL;
        if (!nf)
            return -1;
        gg_syms.frames = nf;
        gg_syms.frames_cap = ncap;
    }
    bool failed = false;
    gg_frame f = {
        .function = intern(function, &failed),
        .file = intern(file, &failed),
        .line = line,
        .module = intern(mi->name, &failed),
        .offset = offset,
        .is_library = mi->is_library,
        .inlined = inlined,
    };
    if (failed)
        return -1;
    gg_syms.frames[gg_syms.nframes++] = f;
    return 0;
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
    if (ms)
        free(ms->v);
    free(ms);
}

/* The function symbol holding addr: the last one starting at or before it, if addr is
 * within its size (a sizeless symbol reaches to the next one). */
static const gg_sym *module_sym_lookup(Dwfl_Module *mod, uintptr_t addr)
{
    void **ud;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (!*ud && !(*ud = module_syms_build(mod)))
        return NULL;
    const gg_module_syms *ms = *ud;
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

static int forget_module(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                         void *arg)
{
    module_syms_free(userdata);
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
        return -1;
    dwfl_report_begin(gg_syms.dwfl);
    int rc = dwfl_linux_proc_report(gg_syms.dwfl, getpid());
    dwfl_report_end(gg_syms.dwfl, forget_module, NULL);
    gg_syms.reported_now = true;
    return rc;
}

static Dwfl_Module *find_module(uintptr_t addr)
{
    Dwfl_Module *mod = gg_syms.dwfl ? dwfl_addrmodule(gg_syms.dwfl, addr) : NULL;
    if (!mod && !gg_syms.reported_now && report_modules() == 0)
        mod = dwfl_addrmodule(gg_syms.dwfl, addr);
    return mod;
}

static int module_info(Dwfl_Module *mod, gg_module_info *mi)
{
    Dwarf_Addr start = 0;
    const char *path = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    GElf_Addr bias = start;
    if (!dwfl_module_getelf(mod, &bias))
        bias = start;
    const char *slash = path ? strrchr(path, '/') : NULL;
    bool failed = false;
    mi->name = intern(slash ? slash + 1 : path ? path : GG_UNKNOWN_MODULE, &failed);
    mi->bias = bias;
    mi->is_library = gg_symbols_is_system_path(path) || (path && path[0] == '[');
    return failed ? -1 : 0;
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
    struct gg_cu_index *next;
} gg_cu_index;

static gg_cu_index *gg_cus[256];

static int add_ranges(gg_cu_index *ix, Dwarf_Die *die, uint32_t depth)
{
    Dwarf_Addr base, start, end;
    for (ptrdiff_t off = 0; (off = dwarf_ranges(die, off, &base, &start, &end)) > 0;) {
        if (ix->n == ix->cap) {
            size_t ncap = ix->cap ? ix->cap * 2 : 64;
            gg_scope *nv = realloc(ix->v, ncap * sizeof(*nv));
            if (!nv)
                return -1;
            ix->v = nv, ix->cap = ncap;
        }
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
        if (scope && add_ranges(ix, &child, depth))
            return -1;
        if ((scope || tag == DW_TAG_lexical_block) &&
            index_children(ix, &child, scope ? depth + 1 : depth))
            return -1;
    } while (dwarf_siblingof(&child, &child) == 0);
    return 0;
}

static gg_cu_index *cu_index(Dwarf *dbg, Dwarf_Die *cu)
{
    Dwarf_Off off = dwarf_dieoffset(cu);
    size_t b = (hash_addr((uintptr_t)dbg) ^ off) & 255;
    for (gg_cu_index *ix = gg_cus[b]; ix; ix = ix->next)
        if (ix->dbg == dbg && ix->cu == off)
            return ix;
    gg_cu_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return NULL;
    ix->dbg = dbg, ix->cu = off;
    if (index_children(ix, cu, 0)) {
        free(ix->v);
        free(ix);
        return NULL;
    }
    ix->next = gg_cus[b];
    gg_cus[b] = ix;
    return ix;
}

static void cu_index_free(void)
{
    for (size_t b = 0; b < 256; b++) {
        while (gg_cus[b]) {
            gg_cu_index *next = gg_cus[b]->next;
            free(gg_cus[b]->v);
            free(gg_cus[b]);
            gg_cus[b] = next;
        }
    }
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
    gg_module_info mi = {GG_UNKNOWN_MODULE, 0, false};
    if (!mod) {
        bool failed = false;
        mi.name = intern(GG_UNKNOWN_MODULE, &failed);
        return failed ? -1 : push_frame(NULL, NULL, 0, &mi, addr, false);
    }
    if (module_info(mod, &mi))
        return -1;
    const gg_sym *sym = module_sym_lookup(mod, addr);
    /* Frames of one function share its entry offset, so they dedupe by (function, line). */
    uint64_t entry = (sym ? sym->addr : addr) - mi.bias;
    return push_frames(mod, addr, sym ? sym->name : NULL, &mi, entry);
}

static int slots_grow(void)
{
    if (gg_syms.cap && (gg_syms.used + 1) * 4 < gg_syms.cap * 3)
        return 0;
    size_t ncap = gg_syms.cap ? gg_syms.cap * 2 : 4096;
    gg_sym_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < gg_syms.cap; i++) {
        if (!gg_syms.slots[i].count)
            continue;
        size_t j = hash_addr(gg_syms.slots[i].addr) & (ncap - 1);
        while (ns[j].count)
            j = (j + 1) & (ncap - 1);
        ns[j] = gg_syms.slots[i];
    }
    free(gg_syms.slots);
    gg_syms.slots = ns;
    gg_syms.cap = ncap;
    return 0;
}

/* The slot of addr: its entry, or the empty slot where it belongs. */
static gg_sym_slot *slot_of(uintptr_t addr)
{
    size_t mask = gg_syms.cap - 1, i = hash_addr(addr) & mask;
    while (gg_syms.slots[i].count && gg_syms.slots[i].addr != addr)
        i = (i + 1) & mask;
    return &gg_syms.slots[i];
}

int gg_symbols_resolve(uintptr_t pc, bool is_return, const gg_frame **frames)
{
    uintptr_t addr = is_return && pc ? pc - 1 : pc;
    if (slots_grow())
        return -1;
    gg_sym_slot *slot = slot_of(addr);
    if (!slot->count) {
        size_t first = gg_syms.nframes;
        if (describe(addr)) {
            gg_syms.nframes = first; /* strings stay interned; harmless */
            return -1;
        }
        *slot = (gg_sym_slot){addr, (uint32_t)first, (uint32_t)(gg_syms.nframes - first)};
        gg_syms.used++;
    }
    *frames = gg_syms.frames + slot->first;
    return (int)slot->count;
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
    return rc == 0 ? 0 : -1;
}

void gg_symbols_reset(void)
{
    pthread_mutex_lock(&gg_syms.lock);
    cu_index_free();
    if (gg_syms.dwfl) {
        dwfl_getmodules(gg_syms.dwfl, forget_module_at_end, NULL, 0);
        dwfl_end(gg_syms.dwfl);
    }
    for (size_t i = 0; i < gg_syms.strings_cap; i++)
        free(gg_syms.strings[i]);
    free(gg_syms.strings);
    free(gg_syms.slots);
    free(gg_syms.frames);
    gg_syms.dwfl = NULL;
    gg_syms.strings = NULL, gg_syms.slots = NULL, gg_syms.frames = NULL;
    gg_syms.strings_cap = gg_syms.strings_used = 0;
    gg_syms.cap = gg_syms.used = 0;
    gg_syms.nframes = gg_syms.frames_cap = 0;
    pthread_mutex_unlock(&gg_syms.lock);
}
