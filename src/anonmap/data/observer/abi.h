/*
 * The observer's system interface: raw system calls, the entry point, and the numbers of one
 * ABI, with no libc. Each ABI's section cites where its numbers come from; a number here is the
 * kernel's ABI, never an outcome the observer checks.
 *
 * Every call returns the kernel's result, or -errno on failure (the Linux convention; the BSDs
 * report failure in the carry flag with a positive errno in rax, which obs_syscall folds in).
 */
#ifndef ANONMAP_OBSERVER_ABI_H
#define ANONMAP_OBSERVER_ABI_H

typedef unsigned long obs_size;

/* The observer's cases through this interface: the syscall api's (libc.h's are the libc api's). */
#define OBS_API "syscall"
/* No system call makes a MAP_JIT page writable for a thread: nothing to do here (libc.h). */
#define OBS_JIT_WRITABLE(on) ((void)(on))

/* Values every ABI here shares: POSIX leaves them to the implementation, but Linux
 * (include/uapi/asm-generic/mman-common.h), FreeBSD and NetBSD (sys/sys/mman.h) agree. */
#define OBS_PROT_NONE 0
/* The observer has minherit where the kernel has the system call (not Linux). */
#define OBS_PROT_READ 1
#define OBS_PROT_WRITE 2
#define OBS_PROT_EXEC 4
#define OBS_MAP_SHARED 1
#define OBS_MAP_PRIVATE 2
#define OBS_MADV_NORMAL 0
#define OBS_MADV_DONTNEED 4
#define OBS_O_RDONLY 0
#define OBS_O_RDWR 2
#define OBS_SIGKILL 9
#define OBS_SIGSEGV 11
#define OBS_SIGALRM 14
#define OBS_AT_NULL 0
#define OBS_AT_PAGESZ 6

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
/* Linux: arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h (aarch64),
 * include/uapi/asm-generic/errno-base.h and errno.h, arch/x86/include/uapi/asm/signal.h and
 * include/uapi/asm-generic/signal.h, include/uapi/asm-generic/fcntl.h. */
#define OBS_OS "linux"
#define OBS_MAP_ANON 0x20
#define OBS_O_CREAT 0100
#define OBS_O_EXCL 0200
#define OBS_SIGBUS 7
#define OBS_SIGSYS 31
/* include/uapi/asm-generic/resource.h */
#define OBS_RLIMIT_DATA 2
#define OBS_RLIMIT_AS 9
#define OBS_HAS_UNAME 1
#if defined(__x86_64__)
#define OBS_ABI "linux-x86_64"
enum {
    SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_lseek = 8, SYS_mmap = 9, SYS_mprotect = 10,
    SYS_munmap = 11, SYS_madvise = 28, SYS_pipe2 = 293, SYS_dup2 = 33, SYS_setitimer = 38,
    SYS_getpid = 39, SYS_fork = 57, SYS_exit = 60, SYS_wait4 = 61, SYS_kill = 62, SYS_uname = 63,
    SYS_unlink = 87, SYS_setpgid = 109, SYS_prctl = 157, SYS_exit_group = 231, SYS_prlimit64 = 302
};

static long obs_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n"
        "\tand $-16, %rsp\n\tcall obs_start\n\thlt\n");

static long obs_fork(void) { return obs_syscall(SYS_fork, 0, 0, 0, 0, 0, 0); }
#else
#define OBS_ABI "linux-aarch64"
/* aarch64 has no open, dup2, fork, pipe or unlink: their *at and clone forms stand in. */
enum {
    SYS_dup3 = 24, SYS_unlinkat = 35, SYS_openat = 56, SYS_close = 57, SYS_pipe2 = 59,
    SYS_lseek = 62, SYS_read = 63, SYS_write = 64, SYS_exit = 93, SYS_exit_group = 94, SYS_setitimer = 103,
    SYS_kill = 129, SYS_setpgid = 154, SYS_uname = 160, SYS_prctl = 167, SYS_getpid = 172,
    SYS_munmap = 215, SYS_clone = 220, SYS_mmap = 222, SYS_mprotect = 226, SYS_madvise = 233,
    SYS_wait4 = 260, SYS_prlimit64 = 261
};
#define OBS_AT_FDCWD (-100)
#define OBS_SIGCHLD 17

static long obs_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a1;
    register long x1 __asm__("x1") = a2;
    register long x2 __asm__("x2") = a3;
    register long x3 __asm__("x3") = a4;
    register long x4 __asm__("x4") = a5;
    register long x5 __asm__("x5") = a6;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

__asm__(".text\n.global _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n"
        "\tbl obs_start\n\tbrk #0\n");

/* clone(SIGCHLD, 0, ...) is fork (kernel/fork.c, SYSCALL_DEFINE5(clone)). */
static long obs_fork(void) { return obs_syscall(SYS_clone, OBS_SIGCHLD, 0, 0, 0, 0, 0); }
#define SYS_open_IS_OPENAT 1
#endif

#elif (defined(__FreeBSD__) || defined(__NetBSD__)) && defined(__x86_64__)
/* FreeBSD: sys/kern/syscalls.master, sys/sys/errno.h, sys/sys/signal.h, sys/sys/fcntl.h,
 * sys/sys/mman.h. NetBSD: sys/kern/syscalls.master, sys/sys/errno.h, sys/sys/signal.h,
 * sys/sys/fcntl.h, sys/sys/mman.h. The BSD errno and signal numbers below are 4.4BSD's,
 * shared by both. */
#define OBS_MAP_ANON 0x1000
#define OBS_O_CREAT 0x200
#define OBS_O_EXCL 0x800
#define OBS_SIGBUS 10
#define OBS_SIGSYS 12
/* sys/sys/resource.h: RLIMIT_AS is RLIMIT_VMEM, 10, on both */
#define OBS_RLIMIT_DATA 2
#define OBS_RLIMIT_AS 10
#define OBS_HAS_SYSCTL 1
#if defined(__FreeBSD__)
#define OBS_OS "freebsd"
#define OBS_ABI "freebsd-x86_64"
/* The osrel the note below gives this binary: kern_mmap() decides some cases by p_osrel. */
#define OBS_BINARY_ABI "1300000"
enum {
    SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6,
    SYS_wait4 = 7, SYS_unlink = 10, SYS_getpid = 20, SYS_kill = 37, SYS_munmap = 73,
    SYS_mprotect = 74, SYS_madvise = 75, SYS_setpgid = 82, SYS_setitimer = 83, SYS_dup2 = 90,
    SYS_getrlimit = 194, SYS_setrlimit = 195, SYS_sysctl = 202, SYS_minherit = 250, SYS_mmap = 477, SYS_lseek = 478,
    SYS_pipe2 = 542
};
/* The kernel brands a static binary by this note (sys/kern/imgact_elf.c, the ABI note of
 * "FreeBSD" type NT_FREEBSD_ABI_TAG, as lib/csu's crtbrand writes it); 1300000 asks for no
 * compatibility behaviour of an older release. */
__asm__(".section .note.tag,\"a\",@note\n.p2align 2\n.long 8\n.long 4\n.long 1\n"
        ".asciz \"FreeBSD\"\n.p2align 2\n.long " OBS_BINARY_ABI "\n.text\n");
/* exec_setregs() (sys/amd64/amd64/exec_machdep.c) points %rdi at argc. */
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n"
        "\tcall obs_start\n\thlt\n");
#else
#define OBS_OS "netbsd"
#define OBS_ABI "netbsd-x86_64"
enum {
    SYS_exit = 1, SYS_fork = 2, SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6,
    SYS_unlink = 10, SYS_getpid = 20, SYS_kill = 37, SYS_munmap = 73, SYS_mprotect = 74,
    SYS_madvise = 75, SYS_setpgid = 82, SYS_dup2 = 90, SYS_mmap = 197, SYS_lseek = 199, SYS_sysctl = 202,
    SYS_getrlimit = 194, SYS_setrlimit = 195, SYS_minherit = 273, SYS_setitimer = 425, SYS_wait4 = 449, SYS_pipe2 = 453
};
/* sys/kern/exec_elf.c netbsd_elf_signature(): a binary without the "NetBSD" ident note is not
 * NetBSD's (lib/csu/common/sysident.h writes it); 1000000000 is __NetBSD_Version__ of 10.0. */
__asm__(".section .note.netbsd.ident,\"a\",@note\n.p2align 2\n.long 7\n.long 4\n.long 1\n"
        ".asciz \"NetBSD\"\n.p2align 2\n.long 1000000000\n.text\n");
/* setregs() (sys/arch/amd64/amd64/machdep.c) leaves %rsp at argc, as lib/csu's crt0 reads it. */
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n"
        "\tand $-16, %rsp\n\tcall obs_start\n\thlt\n");
#endif

/* The result is in rax, failure in the carry flag. FreeBSD's fast_syscall return path zeroes
 * r8-r10 and loads rdx with td_retval[1] (sys/amd64/amd64/exception.S); NetBSD restores them
 * but writes rdx (getpid's ppid): all four are outputs here. */
static long obs_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    long rdx = a3;
    unsigned char failed;
    __asm__ volatile("syscall; setc %1"
                     : "=a"(ret), "=r"(failed), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"(n), "D"(a1), "S"(a2)
                     : "rcx", "r11", "memory", "cc");
    return failed ? -ret : ret;
}

/* fork returns 0 in rax in the child and the child's pid in the parent. FreeBSD's cpu_fork()
 * also sets rdx to 1 in the child, but NetBSD's md_child_return() leaves rdx as it was, so
 * only rax tells them apart (libc's fork.S on both reads rdx; the kernels read here differ). */
static long obs_fork(void) { return obs_syscall(SYS_fork, 0, 0, 0, 0, 0, 0); }
#else
#error "the observer knows no system-call ABI for this target (Linux x86-64 and aarch64, FreeBSD and NetBSD x86-64)"
#endif

#if !defined(OBS_BINARY_ABI)
#define OBS_BINARY_ABI ""
#endif
/* No C library takes part. */
#define OBS_LIBC_NAME ""
#define OBS_LIBC_VERSION ""

static long obs_mmap(void *address, obs_size length, int prot, int flags, int fd, long offset)
{
#if defined(__NetBSD__)
    /* sys_mmap() takes (addr, len, prot, flags, fd, PAD, pos): seven arguments, of which amd64
     * reads the seventh from the user stack (sys/arch/x86/x86/syscall.c). */
    long ret;
    unsigned char failed;
    register long r10 __asm__("r10") = flags;
    register long r8 __asm__("r8") = fd;
    register long r9 __asm__("r9") = 0;
    __asm__ volatile("sub $16, %%rsp\n\tmov %[pos], 8(%%rsp)\n\tsyscall\n\tsetc %[failed]\n"
                     "\tadd $16, %%rsp"
                     : "=a"(ret), [failed] "=r"(failed), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"((long)SYS_mmap), "D"(address), "S"(length), "d"((long)prot),
                       [pos] "r"(offset)
                     : "rcx", "r11", "memory", "cc");
    return failed ? -ret : ret;
#else
    return obs_syscall(SYS_mmap, (long)address, (long)length, prot, flags, fd, offset);
#endif
}

static long obs_open(const char *path, int flags, int mode)
{
#if defined(SYS_open_IS_OPENAT)
    return obs_syscall(SYS_openat, OBS_AT_FDCWD, (long)path, flags, mode, 0, 0);
#else
    return obs_syscall(SYS_open, (long)path, flags, mode, 0, 0, 0);
#endif
}

static long obs_unlink(const char *path)
{
#if defined(SYS_open_IS_OPENAT)
    return obs_syscall(SYS_unlinkat, OBS_AT_FDCWD, (long)path, 0, 0, 0, 0);
#else
    return obs_syscall(SYS_unlink, (long)path, 0, 0, 0, 0, 0);
#endif
}

static long obs_dup2(int from, int to)
{
#if defined(SYS_open_IS_OPENAT)
    return obs_syscall(SYS_dup3, from, to, 0, 0, 0, 0);
#else
    return obs_syscall(SYS_dup2, from, to, 0, 0, 0, 0);
#endif
}

/* struct rlimit {cur, max}: Linux has prlimit64 on every ABI here, the BSDs getrlimit and
 * setrlimit. */
static long obs_getrlimit(int resource, unsigned long limit[2])
{
#if defined(__linux__)
    return obs_syscall(SYS_prlimit64, 0, resource, 0, (long)limit, 0, 0);
#else
    return obs_syscall(SYS_getrlimit, resource, (long)limit, 0, 0, 0, 0);
#endif
}

static long obs_setrlimit(int resource, const unsigned long limit[2])
{
#if defined(__linux__)
    return obs_syscall(SYS_prlimit64, 0, resource, (long)limit, 0, 0, 0);
#else
    return obs_syscall(SYS_setrlimit, resource, (long)limit, 0, 0, 0, 0);
#endif
}

/* The soft limit, or (unsigned long)-1 where it cannot be read (both RLIM_INFINITY values,
 * Linux's ~0 and the BSDs' 2^63-1, are above any size a case asks for). */
static unsigned long obs_soft_limit(int resource)
{
    unsigned long limit[2];
    return obs_getrlimit(resource, limit) < 0 ? ~0UL : limit[0];
}

static long obs_pipe(int ends[2]) { return obs_syscall(SYS_pipe2, (long)ends, 0, 0, 0, 0, 0); }

static void obs_exit(int status)
{
#if defined(__linux__)
    obs_syscall(SYS_exit_group, status, 0, 0, 0, 0, 0);
#endif
    obs_syscall(SYS_exit, status, 0, 0, 0, 0, 0);
    for (;;) {
    }
}

#if defined(__FreeBSD__)
/* sysctlbyname(3) for an int (or a bool: one byte, read into a zeroed int on a little-endian
 * machine), as lib/libc/gen/sysctlnametomib.c asks it: the kernel translates the name itself at
 * {CTL_SYSCTL 0, CTL_SYSCTL_NAME2OID 3} (sys/sys/sysctl.h; sys/kern/kern_sysctl.c
 * sysctl_sysctl_name2oid() takes the name as the new value and answers its oid, of at most
 * CTL_MAXNAME 24 numbers). */
static long obs_sysctl_int(const char *name, int *value)
{
    int query[2] = {0, 3}, oid[24];
    obs_size length = sizeof oid, name_length = 0, size = sizeof *value;
    while (name[name_length])
        name_length++;
    long ret = obs_syscall(SYS_sysctl, (long)query, 2, (long)oid, (long)&length, (long)name, (long)name_length);
    if (ret < 0)
        return ret;
    *value = 0;
    return obs_syscall(SYS_sysctl, (long)oid, (long)(length / sizeof oid[0]), (long)value, (long)&size, 0, 0);
}
#elif defined(__NetBSD__)
/* NetBSD's kernel translates no names: lib/libc/gen/sysctlgetmibinfo.c sysctlgetmibinfo() walks
 * the tree a part of the name at a time, asking a node for its children (__learn_tree()) with the
 * name {..., CTL_QUERY -2} and, as the new value, a struct sysctlnode whose flags are
 * SYSCTL_VERSION 0x01000000 (sys/sys/sysctl.h); sys/kern/kern_sysctl.c sysctl_query() answers
 * an array of struct sysctlnode. Of its 96 bytes on amd64 (flags, number, a SYSCTL_NAMELEN 32
 * name, version, a reserved word, a 16-byte union, four pointers padded to 64 bits) the
 * observer reads the first three. */
struct obs_sysctlnode {
    unsigned int flags;
    int number;
    char name[32];
    char rest[56];
};

static long obs_sysctl_int(const char *name, int *value)
{
    static struct obs_sysctlnode children[128];
    int mib[12]; /* CTL_MAXNAME */
    long depth = 0;
    obs_size size = sizeof *value;
    for (const char *part = name; *part; depth++) {
        struct obs_sysctlnode query = {0x01000000, 0, {0}, {0}};
        obs_size n = 0, length = sizeof children, i;
        while (part[n] && part[n] != '.')
            n++;
        if (depth == 11 || n >= sizeof query.name)
            return -2;
        mib[depth] = -2;
        long ret = obs_syscall(SYS_sysctl, (long)mib, depth + 1, (long)children, (long)&length, (long)&query,
                               sizeof query);
        if (ret < 0)
            return ret;
        for (i = 0; i < length / sizeof children[0]; i++) {
            obs_size k = 0;
            while (k < n && children[i].name[k] == part[k])
                k++;
            if (k == n && children[i].name[n] == 0)
                break;
        }
        /* ENOENT (2), as sysctlgetmibinfo() answers for a part no child is named. */
        if (i == length / sizeof children[0])
            return -2;
        mib[depth] = children[i].number;
        part += n + (part[n] == '.');
    }
    *value = 0;
    return obs_syscall(SYS_sysctl, (long)mib, depth, (long)value, (long)&size, 0, 0);
}
#endif

/* A child asks to be killed with its parent, where the kernel offers it (Linux
 * PR_SET_PDEATHSIG, include/uapi/linux/prctl.h: 1). */
static void obs_die_with_parent(void)
{
#if defined(__linux__)
    obs_syscall(SYS_prctl, 1, OBS_SIGKILL, 0, 0, 0, 0);
#endif
}

/* lseek(fd, 0, SEEK_END): where a file ends, 0 for a device (Linux drivers/char/mem.c
 * zero_lseek(); a BSD devfs node has no size), or -errno. NetBSD's lseek takes a pad argument
 * before the offset (sys/kern/syscalls.master, 199). */
static long obs_end_offset(long fd)
{
#if defined(__NetBSD__)
    return obs_syscall(SYS_lseek, fd, 0, 0, 2, 0, 0);
#else
    return obs_syscall(SYS_lseek, fd, 0, 2, 0, 0, 0);
#endif
}

/* The errno names the observer reports by (obs_errnos, generated into cases.h); any other
 * number reads E<number>. Each is the canonical name of anonmap.expect.errnos (EOPNOTSUPP,
 * never its alias ENOTSUP), the word the Python apis record for the same number. */
struct obs_name {
    int number;
    const char *name;
};

/* A raw observer cross-built for another system names its errnos by that system's numbers
 * (cases.h builds obs_errnos from these; built for this machine, it takes Python's). */
#if defined(__linux__)
/* include/uapi/asm-generic/errno-base.h and errno.h */
#define OBS_CROSS_ERRNOS                                                                            \
    {1, "EPERM"}, {2, "ENOENT"}, {6, "ENXIO"}, {9, "EBADF"}, {11, "EAGAIN"}, {12, "ENOMEM"},        \
        {13, "EACCES"}, {14, "EFAULT"}, {17, "EEXIST"}, {19, "ENODEV"}, {21, "EISDIR"},             \
        {22, "EINVAL"}, {23, "ENFILE"}, {24, "EMFILE"}, {38, "ENOSYS"}, {75, "EOVERFLOW"},          \
        {95, "EOPNOTSUPP"},
#else
/* sys/sys/errno.h (FreeBSD and NetBSD alike for these) */
#define OBS_CROSS_ERRNOS                                                                            \
    {1, "EPERM"}, {2, "ENOENT"}, {6, "ENXIO"}, {9, "EBADF"}, {12, "ENOMEM"}, {13, "EACCES"},        \
        {14, "EFAULT"}, {17, "EEXIST"}, {19, "ENODEV"}, {21, "EISDIR"}, {22, "EINVAL"},             \
        {23, "ENFILE"}, {24, "EMFILE"}, {35, "EAGAIN"}, {45, "EOPNOTSUPP"}, {78, "ENOSYS"},         \
        {84, "EOVERFLOW"},
#endif

static const struct obs_name obs_signals[] = {
    {4, "SIGILL"}, {5, "SIGTRAP"}, {6, "SIGABRT"}, {8, "SIGFPE"}, {OBS_SIGKILL, "SIGKILL"},
    {OBS_SIGBUS, "SIGBUS"}, {OBS_SIGSEGV, "SIGSEGV"}, {OBS_SIGSYS, "SIGSYS"}, {0, 0}};

#endif
