/*
 * A preloaded mmap/madvise that answers with another platform's argument contract, then makes
 * the real Linux system call. Which rules apply is chosen at build time (-DRULE_...), one per
 * rule a persona needs; each rule names the platform source it imitates. Only calls resolved
 * through the global symbol scope reach it: libc's own internal calls do not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/*
 * The RULE_WRONG_* rules are no platform's: each makes this Linux wrong in one way a program
 * relies on, so that selftests/test_sensitivity.py proves the check observing it fails.
 */

/* Helpers are marked unused: a persona's build enables only the rules it needs. */

/* Flags a rule adds on the platform's behalf, which the unknown-flag rules must let pass. */
#ifdef RULE_NO_SWAP_RESERVATION
#define SHIM_ADDED_FLAGS MAP_NORESERVE
#else
#define SHIM_ADDED_FLAGS 0
#endif

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static __attribute__((unused)) void *fail(int error)
{
    errno = error;
    return MAP_FAILED;
}

static __attribute__((unused)) int is_dev_zero(int fd)
{
    struct stat st;
    /* Linux's /dev/zero is character device 1:5 (drivers/char/mem.c devlist). */
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
           minor(st.st_rdev) == 5;
}

static __attribute__((unused)) void *map_anonymous_at_pageoff(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    /* The BSDs' kern_mmap()/sys_mmap(): 'pageoff = pos & PAGE_MASK; size = round_page(len +
     * pageoff)' and the result is 'addr + pageoff'. The fd goes on to the kernel as given, so a
     * seccomp persona still sees what the caller passed. */
    size_t pageoff = (size_t)off & (size_t)(sysconf(_SC_PAGESIZE) - 1);
    char *p = raw_mmap(addr, len + pageoff, prot, flags | MAP_ANONYMOUS, fd, 0);
    return p == MAP_FAILED ? p : p + pageoff;
}

#ifdef RULE_HANG_ORPHANING
#include <signal.h>
/* Not a platform's rule: a hostile one for the harness's own tests. A 16-page anonymous
 * mapping leaves a grandchild that escapes the caller's process group and session (setsid),
 * then never returns, as a hung kernel call would. */
static void hang_orphaning(void)
{
    if (fork() == 0) {
        setsid();
        for (;;)
            pause();
    }
    for (;;)
        ;
}
#endif

#ifdef RULE_FREEBSD_EXCL_AND_ALIGNED
/* FreeBSD sys/sys/mman.h: MAP_EXCL 0x4000, MAP_ALIGNED(n) n << MAP_ALIGNMENT_SHIFT (24). */
#define FREEBSD_MAP_EXCL 0x4000
#define FREEBSD_ALIGNMENT_MASK (0x3f << 24)

static void *map_aligned(void *addr, size_t len, int prot, int flags, int fd, off_t off, unsigned shift)
{
    /* FreeBSD vm_map_find() with VMFS_ALIGNED_SPACE(n): the start is rounded up to 2^n. Here:
     * map 2^n more, keep the aligned part, give the rest back. */
    size_t alignment = (size_t)1 << shift;
    char *p = raw_mmap(addr, len + alignment, prot, flags, fd, off);
    if (p == MAP_FAILED)
        return p;
    char *start = (char *)(((uintptr_t)p + alignment - 1) & ~(uintptr_t)(alignment - 1));
    size_t page = (size_t)sysconf(_SC_PAGESIZE), kept = (len + page - 1) / page * page;
    if (start > p)
        munmap(p, (size_t)(start - p));
    if (start + kept < p + len + alignment)
        munmap(start + kept, (size_t)(p + len + alignment - (start + kept)));
    return start;
}
#endif

#ifdef RULE_WRONG_MUNMAP_WIDENS
static struct {
    char *addr;
    size_t len;
} mapped[4096];
static int mapped_count;
#endif

#ifdef RULE_WRONG_FIXED_NOT_ZERO
/* A MAP_FIXED mapping that shows bytes of what it replaced. */
static void *map_fixed_dirty(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    char *p = raw_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && (prot & PROT_WRITE) && len > 1)
        p[len / 2] = 1;
    return p;
}
#endif

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    int anonymous = (flags & MAP_ANONYMOUS) != 0;
#ifdef RULE_WRONG_MUNMAP_WIDENS
    {
        char *p = raw_mmap(addr, len, prot, flags, fd, off);
        if (p != MAP_FAILED && mapped_count < 4096) {
            mapped[mapped_count].addr = p;
            mapped[mapped_count++].len = len;
        }
        return p;
    }
#endif
#ifdef RULE_WRONG_GROWSDOWN_DROPPED
    /* A kernel that takes MAP_GROWSDOWN and makes a plain mapping. */
    flags &= ~MAP_GROWSDOWN;
#endif
#ifdef RULE_WRONG_FIXED_NOT_ZERO
    if (anonymous && (flags & MAP_FIXED))
        return map_fixed_dirty(addr, len, prot, flags, fd, off);
#endif
#ifdef RULE_FREEBSD_EXCL_AND_ALIGNED
    if ((flags & FREEBSD_MAP_EXCL) && (flags & MAP_FIXED)) {
        /* vm_mmap_object(): MAP_FIXED|MAP_EXCL -> vm_map_fixed(MAP_CHECK_EXCL), which fails with
         * KERN_NO_SPACE over a mapping; vm_mmap_to_errno() makes that ENOMEM. */
        flags = (flags & ~(FREEBSD_MAP_EXCL | MAP_FIXED)) | MAP_FIXED_NOREPLACE;
        void *p = raw_mmap(addr, len, prot, flags, fd, off);
        if (p == MAP_FAILED && errno == EEXIST)
            errno = ENOMEM;
        return p;
    }
    if (flags & FREEBSD_ALIGNMENT_MASK) {
        unsigned shift = ((unsigned)flags & FREEBSD_ALIGNMENT_MASK) >> 24;
        return map_aligned(addr, len, prot, flags & ~FREEBSD_ALIGNMENT_MASK, fd, off, shift);
    }
#endif
#ifdef RULE_HANG_ORPHANING
    if (anonymous && len == 16 * (size_t)sysconf(_SC_PAGESIZE))
        hang_orphaning();
#endif
#ifdef RULE_NO_SWAP_RESERVATION
    /* FreeBSD swap_reserve_by_cred() (sys/vm/swap_pager.c) with vm.overcommit 0, the default:
     * no strict accounting, so a private writable mapping of any size is granted. Linux's
     * heuristic refuses one larger than memory and swap; MAP_NORESERVE skips it. */
    if (anonymous && (flags & MAP_PRIVATE) && (prot & PROT_WRITE))
        flags |= MAP_NORESERVE;
#endif
#ifdef RULE_UNKNOWN_FLAGS_EINVAL
    /* FreeBSD kern_mmap(), OpenBSD sys_mmap() MAP_FLAGMASK: a flag the platform does not
     * define is EINVAL. Of the flags the suite passes, these are defined everywhere. */
    if (flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | SHIM_ADDED_FLAGS))
        return fail(EINVAL);
#endif
#ifdef RULE_UNKNOWN_FLAGS_IGNORED
    /* NetBSD sys_mmap(), DragonFly kern_mmap(): no mask check; unknown bits are dropped. */
    flags &= MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
#endif
#ifdef RULE_BOTH_IS_SHARED
    /* XNU mmap(): nothing refuses MAP_SHARED|MAP_PRIVATE; inheritance keys on MAP_SHARED. */
    if ((flags & MAP_TYPE) == (MAP_SHARED | MAP_PRIVATE))
        flags &= ~MAP_PRIVATE;
#endif
#ifdef RULE_OFFSET_ALIGNMENT_FIRST
    /* XNU mmap_sanitize() with MAP_UNIX03: an unaligned offset is EINVAL before anything else. */
    if (off & (off_t)(sysconf(_SC_PAGESIZE) - 1))
        return fail(EINVAL);
#endif
#ifdef RULE_ANON_LENGTH_ZERO_OK
    /* NetBSD uvm_mmap(): 'if (size == 0) return 0;' - success, nothing mapped. */
    if (anonymous && len == 0) {
        void *hole = raw_mmap(addr, 1, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (hole != MAP_FAILED)
            munmap(hole, 1);
        return hole;
    }
#endif
#ifdef RULE_NEITHER_IS_PRIVATE
    /* FreeBSD vm_mmap_object(), OpenBSD and NetBSD sys_mmap(): MAP_ANON without MAP_SHARED or
     * MAP_PRIVATE is a private mapping. */
    if (anonymous && (flags & (MAP_SHARED | MAP_PRIVATE)) == 0)
        flags |= MAP_PRIVATE;
#endif
#ifdef RULE_ANON_OFFSET_IGNORED
    /* OpenBSD and NetBSD sys_mmap(): the anonymous path never uses pos, but keeps pageoff. */
    if (anonymous)
        return map_anonymous_at_pageoff(addr, len, prot, flags, fd, off);
#endif
    if (!anonymous && is_dev_zero(fd)) {
#ifdef RULE_DEV_ZERO_ENODEV
        /* XNU mmap(): 'if (vp->v_type == VCHR || vp->v_type == VSTR) ... error = ENODEV'. */
        return fail(ENODEV);
#endif
#ifdef RULE_DEV_ZERO_READ_ONLY_SHARED_EACCES
        /* FreeBSD devfs_mmap_f(): MAP_SHARED with PROT_WRITE on a descriptor not open for
         * writing is EACCES, before the device turns the mapping anonymous. */
        if ((flags & MAP_SHARED) && (prot & PROT_WRITE) && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
            return fail(EACCES);
#endif
#ifdef RULE_DEV_ZERO_IS_ANONYMOUS
        /* FreeBSD vm_mmap_cdev() (D_MMAP_ANON), OpenBSD sys_mmap() iszerodev(), NetBSD vn_mmap():
         * the zero device becomes anonymous memory, offset ignored but pageoff kept. */
        return map_anonymous_at_pageoff(addr, len, prot, flags, -1, off);
#endif
    }
    return raw_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

#ifdef RULE_FREEBSD_MINHERIT
/* FreeBSD sys_minherit() -> vm_map_inherit(); vmspace_fork(): VM_INHERIT_NONE (2) leaves the
 * entry out of the child, VM_INHERIT_ZERO (3) gives it fresh zero-fill memory. Linux's
 * MADV_DONTFORK and MADV_WIPEONFORK do the same for the private mappings the persona covers;
 * VM_INHERIT_SHARE (0) is what a shared mapping has already. */
int minherit(void *addr, size_t len, int inherit)
{
    switch (inherit) {
    case 0:
        return 0;
    case 2:
        return madvise(addr, len, MADV_DONTFORK);
    case 3:
        return madvise(addr, len, MADV_WIPEONFORK);
    }
    errno = EINVAL;
    return -1;
}
#endif

#ifdef RULE_WRONG_MUNMAP_WIDENS
/* A munmap that removes the whole mapping its range lies in, not only the range: the mappings
 * made through mmap() are remembered (the kernel's own merging of neighbours aside). */
int munmap(void *addr, size_t len)
{
    for (int i = 0; i < mapped_count; i++)
        if (mapped[i].addr <= (char *)addr && (char *)addr < mapped[i].addr + mapped[i].len) {
            char *start = mapped[i].addr;
            size_t whole = mapped[i].len;
            mapped[i] = mapped[--mapped_count];
            return (int)syscall(SYS_munmap, start, whole);
        }
    return (int)syscall(SYS_munmap, addr, len);
}
#endif

#ifdef RULE_WRONG_PROTECT
/* mprotect that leaves PROT_READ|PROT_EXEC memory writable (no W^X), and gives pages made
 * PROT_READ|PROT_WRITE a non-zero byte (a commit that is not fresh memory). */
int mprotect(void *addr, size_t len, int prot)
{
    if (prot == (PROT_READ | PROT_EXEC))
        prot |= PROT_WRITE;
    int done = (int)syscall(SYS_mprotect, addr, len, prot);
    if (done == 0 && prot == (PROT_READ | PROT_WRITE) && len > 1)
        ((volatile char *)addr)[len / 2] = 1;
    return done;
}
#endif

#ifdef RULE_WRONG_RESIZE_LOSES
#include <stdarg.h>
/* mremap that moves the length but not the contents. */
void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
    va_list rest;
    va_start(rest, flags);
    void *to = va_arg(rest, void *);
    va_end(rest);
    void *moved = (void *)syscall(SYS_mremap, old, old_size, new_size, flags, to);
    if (moved != MAP_FAILED)
        for (size_t i = 0; i < old_size; i++)
            ((volatile char *)moved)[i] = 0;
    return moved;
}
#endif

#ifdef RULE_WRONG_WIPES_PARENT
#include <dlfcn.h>
/* MADV_WIPEONFORK that wipes the parent's copy too: the ranges are kept, and zeroed in the
 * parent once fork returns there. */
static struct {
    char *addr;
    size_t len;
} wiped[64];
static int wiped_count;

pid_t fork(void)
{
    pid_t (*real_fork)(void) = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    pid_t pid = real_fork();
    if (pid > 0)
        for (int i = 0; i < wiped_count; i++)
            for (size_t j = 0; j < wiped[i].len; j++)
                ((volatile char *)wiped[i].addr)[j] = 0;
    return pid;
}
#endif

int madvise(void *addr, size_t len, int advice)
{
#ifdef RULE_WRONG_WIPES_PARENT
    if (advice == MADV_WIPEONFORK && wiped_count < 64) {
        wiped[wiped_count].addr = addr;
        wiped[wiped_count++].len = len;
    }
    /* MADV_KEEPONFORK undoes the wipe, on the parent's side too. */
    for (int i = 0; advice == MADV_KEEPONFORK && i < wiped_count; i++)
        if (wiped[i].addr == addr)
            wiped[i].len = 0;
#endif
#ifdef RULE_DONTNEED_KEEPS
    /* FreeBSD vm_page_advise(), OpenBSD/NetBSD uvm_map_clean(PGO_DEACTIVATE), XNU
     * vm_map_behavior_set(): MADV_DONTNEED only deactivates; the contents stay. */
    if (advice == MADV_DONTNEED)
        return 0;
#endif
    int done = (int)syscall(SYS_madvise, addr, len, advice);
#ifdef RULE_FREE_KEEPS_SHARED
    /* FreeBSD vm_object_madvise(MADV_FREE) on a shared anonymous object: the pages stay (the
     * man page allows either); Linux refuses MADV_FREE on shared memory with EINVAL. */
    if (done != 0 && errno == EINVAL && advice == MADV_FREE)
        return 0;
#endif
    return done;
}

#if defined(RULE_INTERRUPT_PARENT_AT_FORK) || defined(RULE_INTERRUPT_CHILD_AT_FORK)
#include <dlfcn.h>
#include <signal.h>
/* Not a platform's rule: a hostile one for the harness's own tests. The fifth fork() of the
 * process (one of the runner's isolated checks) is interrupted the moment it returns, before
 * the caller runs any code of its own: in the parent, where Python's at-fork callbacks run
 * next, or in the child, before it leaves the runner's process group. */
#define SHIM_INTERRUPTED_FORK 5
pid_t fork(void)
{
    static int forks;
    pid_t (*real)(void) = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    pid_t pid = real();
#ifdef RULE_INTERRUPT_PARENT_AT_FORK
    int interrupted = pid > 0;
#else
    int interrupted = pid == 0;
#endif
    if (++forks == SHIM_INTERRUPTED_FORK && interrupted)
        kill(getpid(), SIGINT);
    return pid;
}
#endif
