/*
 * The observer's other system interface: the C library's own functions (mmap, mprotect,
 * madvise, minherit, fork, open, read, exit, ...) in place of raw system calls, so that the same
 * checks (observer.c) observe the `libc` api's cases from C wherever a C99 compiler and a C
 * library exist: every profiled platform, WebAssembly with WASI (wasi-libc) and Emscripten.
 * anonmap.apis.syscall.build chooses it with -DOBS_CLIB; abi.h is the raw one.
 *
 * It offers observer.c what abi.h does: obs_syscall(SYS_<name>, ...) and the obs_* calls, each
 * answering the function's result or -errno. SYS_<name> here are this header's own numbers,
 * one for each function the checks call, not a kernel's. A function the C library does not
 * define at all answers -OBS_ABSENT, which the checks report as the outcome `absent` (wasi-libc
 * has no mprotect, madvise, dup2, pipe, fork or getrlimit: see platforms/wasi.toml).
 * Every number here is the C library's, from its headers; none is an outcome the observer checks.
 */
#ifndef ANONMAP_OBSERVER_LIBC_H
#define ANONMAP_OBSERVER_LIBC_H

#if !defined(__wasi__) && !defined(__EMSCRIPTEN__)
/* madvise, MAP_ANON and minherit are outside strict POSIX: ask for each system's full set. */
#define _DEFAULT_SOURCE 1
#define _BSD_SOURCE 1
#define _DARWIN_C_SOURCE 1
#define __BSD_VISIBLE 1
#define __EXTENSIONS__ 1
#else
#define _GNU_SOURCE 1
#endif
#if defined(__wasi__)
/* wasi-libc's <sys/mman.h> is an #error without it; -lwasi-emulated-mman is the library. */
#define _WASI_EMULATED_MMAN 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>
#if !defined(__wasi__)
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#endif
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#if defined(__APPLE__) && defined(__aarch64__)
/* Apple silicon: a MAP_JIT page is writable or executable per thread, switched by
 * pthread_jit_write_protect_np(3) (0: writable). */
#include <pthread.h>
#define OBS_JIT_WRITABLE(on) pthread_jit_write_protect_np(!(on))
#else
#define OBS_JIT_WRITABLE(on) ((void)(on))
#endif
#if defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__DragonFly__) || \
    defined(__APPLE__)
#include <sys/sysctl.h>
#define OBS_HAS_SYSCTLBYNAME 1
#endif

/* observer.c defines these four for the freestanding build; here the C library has them, and the
 * observer's own copies take other names. */
#define memset obs_memset
#define memcpy obs_memcpy
#define memmove obs_memmove
#define memcmp obs_memcmp

typedef unsigned long obs_size;

#define OBS_API "libc"
#define OBS_BINARY_ABI ""
/* uname(3) answers the system's names; obs_syscall(SYS_uname) copies them into the 6 x 65 layout
 * observer.c reads. */
#define OBS_HAS_UNAME 1

#if defined(__wasi__)
#define OBS_OS "wasi"
#elif defined(__EMSCRIPTEN__)
#define OBS_OS "emscripten"
#elif defined(__linux__)
#define OBS_OS "linux"
#elif defined(__FreeBSD__)
#define OBS_OS "freebsd"
#elif defined(__NetBSD__)
#define OBS_OS "netbsd"
#elif defined(__OpenBSD__)
#define OBS_OS "openbsd"
#elif defined(__DragonFly__)
#define OBS_OS "dragonfly"
#elif defined(__APPLE__)
#define OBS_OS "darwin"
#elif defined(__sun)
#define OBS_OS "illumos"
#else
#define OBS_OS "unknown"
#endif

#if defined(__x86_64__)
#define OBS_ARCH "x86_64"
#elif defined(__aarch64__)
#define OBS_ARCH "aarch64"
#elif defined(__wasm32__)
#define OBS_ARCH "wasm32"
#else
#define OBS_ARCH "unknown"
#endif
/* "<os>-<arch>" for the C library of that system: the header's abi names the backend too. */
#define OBS_ABI "libc-" OBS_OS "-" OBS_ARCH

/* The C library, as the probe names it (host/probe.py _libc): glibc and the version it runs,
 * musl (which names no version), or "system" where the C library comes with the system (the
 * BSDs, macOS, illumos, WASI, Emscripten), which the probe names <os>-libc at the release. */
#if defined(__GLIBC__) && !defined(__EMSCRIPTEN__)
#include <gnu/libc-version.h>
#define OBS_LIBC_NAME "glibc "
#define OBS_LIBC_VERSION gnu_get_libc_version()
#elif defined(__linux__) && !defined(__EMSCRIPTEN__) && !defined(__BIONIC__) && !defined(__UCLIBC__)
#define OBS_LIBC_NAME "musl"
#define OBS_LIBC_VERSION ""
#else
#define OBS_LIBC_NAME "system"
#define OBS_LIBC_VERSION ""
#endif

#define OBS_PROT_NONE PROT_NONE
#define OBS_PROT_READ PROT_READ
#define OBS_PROT_WRITE PROT_WRITE
#define OBS_PROT_EXEC PROT_EXEC
#define OBS_MAP_SHARED MAP_SHARED
#define OBS_MAP_PRIVATE MAP_PRIVATE
#if defined(MAP_ANON)
#define OBS_MAP_ANON MAP_ANON
#else
#define OBS_MAP_ANON MAP_ANONYMOUS
#endif
#if defined(MADV_NORMAL)
#define OBS_MADV_NORMAL MADV_NORMAL
#define OBS_MADV_DONTNEED MADV_DONTNEED
#else
#define OBS_MADV_NORMAL POSIX_MADV_NORMAL
#define OBS_MADV_DONTNEED POSIX_MADV_DONTNEED
#endif
#define OBS_O_RDONLY O_RDONLY
#define OBS_O_RDWR O_RDWR
#define OBS_O_CREAT O_CREAT
#define OBS_O_EXCL O_EXCL
/* What no errno is: the C library has no such function (the checks' outcome `absent`). Below
 * 4096, so that obs_mmap's -errno convention carries it. */
#define OBS_ABSENT 4095

#if defined(__wasi__)
/* WASI has no signals and no processes: these only fill observer.c's tables, and no child is
 * ever signalled (wasi-libc's <signal.h> is an #error without _WASI_EMULATED_SIGNAL). */
#define OBS_SIGKILL 9
#define OBS_SIGSEGV 11
#define OBS_SIGALRM 14
#define OBS_SIGBUS 7
#define OBS_SIGSYS 31
#define OBS_RLIMIT_DATA 0
#define OBS_RLIMIT_AS 0
#else
#define OBS_SIGKILL SIGKILL
#define OBS_SIGSEGV SIGSEGV
#define OBS_SIGALRM SIGALRM
#define OBS_SIGBUS SIGBUS
#define OBS_SIGSYS SIGSYS
#define OBS_RLIMIT_DATA RLIMIT_DATA
#if defined(RLIMIT_AS)
#define OBS_RLIMIT_AS RLIMIT_AS
#else
#define OBS_RLIMIT_AS RLIMIT_VMEM
#endif
#endif

enum {
    SYS_read = 1, SYS_write, SYS_close, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_minherit,
    SYS_getpid, SYS_wait4, SYS_kill, SYS_setpgid, SYS_setitimer, SYS_uname, SYS_prctl, SYS_sysctl
};

static long obs_result(long ret) { return ret < 0 ? -(long)errno : ret; }

/* A call wasi-libc does not define: absent there, the C library's answer elsewhere (the call is
 * never compiled for WASI). */
#if defined(__wasi__)
#define OBS_NOT_WASI(call) (-OBS_ABSENT)
#else
#define OBS_NOT_WASI(call) obs_result(call)
#endif

/* observer.c's struct itimer: {interval sec, usec, value sec, usec}, as four longs. */
static long obs_setitimer(const long *limit)
{
#if defined(__wasi__)
    (void)limit;
    return -OBS_ABSENT;
#else
    struct itimerval value;
    value.it_interval.tv_sec = limit[0];
    value.it_interval.tv_usec = (int)limit[1];
    value.it_value.tv_sec = limit[2];
    value.it_value.tv_usec = (int)limit[3];
    return obs_result(setitimer(ITIMER_REAL, &value, 0));
#endif
}

/* waitpid(2)'s status in the traditional encoding observer.c decodes: the signal in the low
 * seven bits, or the exit status in the next byte. */
static long obs_wait(long pid, int *status)
{
#if defined(__wasi__)
    (void)pid, (void)status;
    return -OBS_ABSENT;
#else
    int raw = 0;
    long ret = obs_result(waitpid((pid_t)pid, &raw, 0));
    if (ret >= 0)
        *status = WIFSIGNALED(raw) ? WTERMSIG(raw) : WIFEXITED(raw) ? WEXITSTATUS(raw) << 8 : 0x7f;
    return ret;
#endif
}

static long obs_uname(char (*names)[65])
{
    static struct utsname found;
    if (uname(&found) < 0)
        return -(long)errno;
    const char *fields[6] = {found.sysname, found.nodename, found.release, found.version, found.machine, ""};
    for (int i = 0; i < 6; i++) {
        int n = 0;
        for (; n < 64 && fields[i][n]; n++)
            names[i][n] = fields[i][n];
        names[i][n] = 0;
    }
    return 0;
}

/* lseek(fd, 0, SEEK_END): where a file ends, 0 for a device, or -errno. */
static long obs_end_offset(long fd) { return obs_result((long)lseek((int)fd, 0, SEEK_END)); }

static long obs_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
    (void)a4, (void)a5, (void)a6;
    switch (n) {
    case SYS_read:
        return obs_result((long)read((int)a1, (void *)a2, (size_t)a3));
    case SYS_write:
        return obs_result((long)write((int)a1, (const void *)a2, (size_t)a3));
    case SYS_close:
        return obs_result(close((int)a1));
    case SYS_munmap:
        return obs_result(munmap((void *)a1, (size_t)a2));
    case SYS_mprotect:
        return OBS_NOT_WASI(mprotect((void *)a1, (size_t)a2, (int)a3));
    case SYS_madvise:
        return OBS_NOT_WASI(madvise((void *)a1, (size_t)a2, (int)a3));
    case SYS_minherit:
#if defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__DragonFly__) || \
    defined(__APPLE__)
        return obs_result(minherit((void *)a1, (size_t)a2, (int)a3));
#else
        return -OBS_ABSENT;
#endif
    case SYS_getpid:
#if defined(__wasi__)
        /* No processes: tools/wasm.py gives each run a directory of its own for the file. */
        return 1;
#else
        return getpid();
#endif
    case SYS_wait4:
        return obs_wait(a1, (int *)a2);
    case SYS_kill:
        return OBS_NOT_WASI(kill((pid_t)a1, (int)a2));
    case SYS_setpgid:
        return OBS_NOT_WASI(setpgid((pid_t)a1, (pid_t)a2));
    case SYS_setitimer:
        return obs_setitimer((const long *)a2);
    case SYS_uname:
        return obs_uname((char (*)[65])a1);
    case SYS_prctl:
#if defined(__linux__)
        return obs_result(prctl((int)a1, (unsigned long)a2, (unsigned long)a3, 0UL, 0UL));
#else
        return -OBS_ABSENT;
#endif
    }
    return -OBS_ABSENT;
}

static long obs_mmap(void *address, obs_size length, int prot, int flags, int fd, long offset)
{
    void *got = mmap(address, (size_t)length, prot, flags, fd, (off_t)offset);
    return got == MAP_FAILED ? -(long)errno : (long)got;
}

static long obs_open(const char *path, int flags, int mode) { return obs_result(open(path, flags, mode)); }

static long obs_unlink(const char *path) { return obs_result(unlink(path)); }

static long obs_dup2(int from, int to)
{
    (void)from, (void)to;
    return OBS_NOT_WASI(dup2(from, to));
}

static long obs_pipe(int ends[2])
{
    (void)ends;
    return OBS_NOT_WASI(pipe(ends));
}

static long obs_fork(void) { return OBS_NOT_WASI(fork()); }

static long obs_getrlimit(int resource, unsigned long limit[2])
{
#if defined(__wasi__)
    (void)resource, (void)limit;
    return -OBS_ABSENT;
#else
    struct rlimit found;
    if (getrlimit(resource, &found) < 0)
        return -(long)errno;
    limit[0] = found.rlim_cur == RLIM_INFINITY ? ~0UL : (unsigned long)found.rlim_cur;
    limit[1] = found.rlim_max == RLIM_INFINITY ? ~0UL : (unsigned long)found.rlim_max;
    return 0;
#endif
}

static long obs_setrlimit(int resource, const unsigned long limit[2])
{
#if defined(__wasi__)
    (void)resource, (void)limit;
    return -OBS_ABSENT;
#else
    struct rlimit wanted;
    wanted.rlim_cur = limit[0] == ~0UL ? RLIM_INFINITY : (rlim_t)limit[0];
    wanted.rlim_max = limit[1] == ~0UL ? RLIM_INFINITY : (rlim_t)limit[1];
    return obs_result(setrlimit(resource, &wanted));
#endif
}

static unsigned long obs_soft_limit(int resource)
{
    unsigned long limit[2];
    return obs_getrlimit(resource, limit) < 0 ? ~0UL : limit[0];
}

#if !defined(__linux__)
/* sysctlbyname(3) for an int, where the system has it (the BSDs, macOS); read_setting() asks
 * it off Linux. */
static long obs_sysctl_int(const char *name, int *value)
{
#if defined(OBS_HAS_SYSCTLBYNAME)
    size_t size = sizeof *value;
    *value = 0;
    return name[0] ? obs_result(sysctlbyname(name, value, &size, 0, 0)) : -ENOENT;
#else
    (void)name, (void)value;
    return -OBS_ABSENT;
#endif
}
#endif

static void obs_exit(int status)
{
#if defined(__EMSCRIPTEN__)
    /* Emscripten's stdout is a tty that writes whole lines: exit() (with EXIT_RUNTIME) flushes a
     * last line without a newline, _exit() drops it. There is no forked child to spare atexit. */
    exit(status);
#else
    _exit(status);
#endif
}

static void obs_die_with_parent(void)
{
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* The errno names the observer reports by (obs_errnos, in cases.h): every name Python knows,
 * each looked up in the C library's <errno.h>, canonical names first so that a number with two
 * names reads as anonmap.expect.errnos records it; any other number reads E<number>. */
struct obs_name {
    int number;
    const char *name;
};

static const struct obs_name obs_signals[] = {
#if !defined(__wasi__)
    {SIGILL, "SIGILL"}, {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGFPE, "SIGFPE"},
#endif
    {OBS_SIGKILL, "SIGKILL"}, {OBS_SIGBUS, "SIGBUS"}, {OBS_SIGSEGV, "SIGSEGV"}, {OBS_SIGSYS, "SIGSYS"}, {0, 0}};

/* observer.c's entry point reads the initial stack as the kernel leaves it (argc, argv, NULL,
 * envp, NULL, auxv); the C library's main hands it one laid out the same way, with the page
 * size sysconf(3) answers as AT_PAGESZ. */
#define OBS_AT_NULL 0
#define OBS_AT_PAGESZ 6
void obs_start(long *stack);
extern char **environ;

int main(int argc, char **argv)
{
    long count = 0;
    while (environ && environ[count])
        count++;
    long *stack = malloc(sizeof(long) * (unsigned long)(argc + count + 7));
    if (!stack)
        return 70;
    long at = 0;
    stack[at++] = argc;
    for (int i = 0; i < argc; i++)
        stack[at++] = (long)argv[i];
    stack[at++] = 0;
    for (long i = 0; i < count; i++)
        stack[at++] = (long)environ[i];
    stack[at++] = 0;
    stack[at++] = OBS_AT_PAGESZ;
    stack[at++] = sysconf(_SC_PAGESIZE);
    stack[at++] = OBS_AT_NULL;
    stack[at] = 0;
    obs_start(stack);
    return 0;
}

#endif
