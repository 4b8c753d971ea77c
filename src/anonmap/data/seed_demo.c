/*
 * anonmap's version of the demonstration in the MAP_ANONYMOUS answer: one int shared between
 * a parent and its child. The parent sets it to 1, the child prints it and adds one, the parent
 * waits and prints it. Compiled with -DUSE_MAP_ANON it maps anonymous memory; without, it maps
 * /dev/zero. A failed call prints "errno N" and exits 2, so the caller can name the errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(USE_MAP_ANON) && !defined(MAP_ANONYMOUS)
#define MAP_ANONYMOUS MAP_ANON /* the portable idiom: older BSDs and macOS name it MAP_ANON */
#endif

static void fail(const char *call)
{
    fprintf(stderr, "%s failed: errno %d\n", call, errno);
    exit(2);
}

int main(void)
{
    int *shared;
#ifdef USE_MAP_ANON
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        fail("mmap");
#else
    int fd = open("/dev/zero", O_RDWR);
    if (fd == -1)
        fail("open");
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED)
        fail("mmap");
    if (close(fd) == -1)
        fail("close");
#endif
    *shared = 1;
    fflush(stdout);
    switch (fork()) {
    case -1:
        fail("fork");
        break;
    case 0:
        printf("Child started, value = %d\n", *shared);
        (*shared)++;
        fflush(stdout);
        _exit(0);
    default:
        if (wait(NULL) == -1)
            fail("wait");
        printf("In parent, value = %d\n", *shared);
        if (munmap(shared, sizeof *shared) == -1)
            fail("munmap");
    }
    return 0;
}
