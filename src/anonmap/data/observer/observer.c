/*
 * anonmap's freestanding observer: the catalogue's system-call-level cases, asked of the kernel
 * directly, with no libc, so that a system without Python (a new kernel or libOS, a bare
 * release image, a board) can be observed and the observations judged elsewhere.
 *
 * Each case runs in a forked child with a time limit, as Python's executor runs it, and is the
 * program its behaviour's check (anonmap.checks.programs) makes of it: execute() below runs the
 * steps (anonmap.checks.steps), and cases.h, which anonmap.apis.syscall.build generates from the
 * catalogue, holds every case's program. No check is written here, and every number and text
 * the observer shares with Python (patterns, descriptor numbers, the probe's texts, the settings
 * read) comes from cases.h too: none is typed here.
 *
 * Output, one JSON object per line: a header (what the observer knows of the system), one
 * record per case, and an end record with the count, so a truncated file is told apart.
 *
 * Usage: observer [--on real|vm|emulator] [--time-limit-ms N] [--list] [--case I]
 *
 * Built with -DOBS_CLIB, its system interface is the C library (libc.h) instead of raw system
 * calls (abi.h), and its cases are the libc api's. Where fork is absent (WebAssembly), --case I
 * runs the I-th case in this process and prints its message; the caller starts one process a
 * case (anonmap.apis.syscall.wasm).
 */
#if defined(OBS_CLIB)
#include "libc.h"
#else
#include "abi.h"
#endif

/* One step of a check's program (anonmap.checks.steps.Step); cases.h holds each case's. */
struct obs_step {
    int op, reg, base, prot, fd, byte, pattern;
    long long at_pages, at_bytes, length_pages, length_bytes, offset_pages, offset_bytes;
    unsigned long long names;
    const char *word;
};

struct obs_name_value {
    long value;
    const char *name;
};

#include "cases.h"

/* The compiler may emit calls to these for struct copies and array initialisers. */
void *memset(void *to, int byte, obs_size count)
{
    unsigned char *p = to;
    while (count--)
        *p++ = (unsigned char)byte;
    return to;
}

void *memcpy(void *to, const void *from, obs_size count)
{
    unsigned char *p = to;
    const unsigned char *q = from;
    while (count--)
        *p++ = *q++;
    return to;
}

void *memmove(void *to, const void *from, obs_size count)
{
    unsigned char *p = to;
    const unsigned char *q = from;
    if (p < q)
        return memcpy(to, from, count);
    while (count--)
        p[count] = q[count];
    return to;
}

int memcmp(const void *a, const void *b, obs_size count)
{
    const unsigned char *p = a, *q = b;
    for (; count; count--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

static obs_size text_length(const char *text)
{
    obs_size n = 0;
    while (text[n])
        n++;
    return n;
}

static int same_text(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void copy_text(char *to, const char *from, obs_size most)
{
    obs_size i = 0;
    for (; i < most - 1 && from[i]; i++)
        to[i] = from[i];
    to[i] = 0;
}

static int starts_with(const char *text, const char *prefix)
{
    while (*prefix)
        if (*text++ != *prefix++)
            return 0;
    return 1;
}

/* ---- output ---------------------------------------------------------------------------- */

static char out_buffer[1 << 16];
static obs_size out_used;

static void out_flush(void)
{
    obs_size done = 0;
    while (done < out_used) {
        long wrote = obs_syscall(SYS_write, 1, (long)(out_buffer + done), (long)(out_used - done), 0, 0, 0);
        if (wrote <= 0)
            obs_exit(3);
        done += (obs_size)wrote;
    }
    out_used = 0;
}

static void out_bytes(const char *bytes, obs_size count)
{
    while (count--) {
        if (out_used == sizeof out_buffer)
            out_flush();
        out_buffer[out_used++] = *bytes++;
    }
}

static void out_text(const char *text) { out_bytes(text, text_length(text)); }

static void out_number(long value)
{
    char digits[24];
    int n = 0;
    unsigned long magnitude = value < 0 ? 0UL - (unsigned long)value : (unsigned long)value;
    if (value < 0)
        out_text("-");
    do {
        digits[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    while (n)
        out_bytes(&digits[--n], 1);
}

/* A JSON string: quotes, backslashes, control and non-ASCII bytes escaped. */
static void out_string(const char *text, obs_size most)
{
    static const char hex[] = "0123456789abcdef";
    out_text("\"");
    for (obs_size i = 0; i < most && text[i]; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            out_bytes(escaped, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out_bytes(escaped, 6);
        } else {
            out_bytes((const char *)&c, 1);
        }
    }
    out_text("\"");
}

static void out_field(const char *key, const char *value)
{
    out_string(key, 64);
    out_text(": ");
    out_string(value, 4096);
}

/* ---- what a check reports --------------------------------------------------------------- */

/* A check runs in a child and ends by sending one message through this pipe:
 * "<kind>\n<outcome>\n<detail>", kind being outcome, unsupported or harness. */
static int result_fd = -1;
/* --on emulator: a user-mode emulator (qemu-user) tracks every guest page of a mapping, so
 * terabytes cost it minutes and more memory than the machine has; such cases are not run. */
static int emulated;
static obs_size page;
static char **environment;

static char message[1024];
static obs_size message_used;

static void add(const char *text)
{
    while (*text && message_used < sizeof message - 1)
        message[message_used++] = *text++;
}

static void send_and_exit(void)
{
    obs_size done = 0;
    while (done < message_used) {
        long wrote = obs_syscall(SYS_write, result_fd, (long)(message + done), (long)(message_used - done), 0, 0, 0);
        if (wrote <= 0)
            obs_exit(70);
        done += (obs_size)wrote;
    }
    obs_exit(0);
}

static const char *named(const struct obs_name *table, int number, const char *prefix, char *spare)
{
    for (; table->name; table++)
        if (table->number == number)
            return table->name;
    /* An unnamed number reads as prefix followed by it, e.g. E133. */
    int n = 0, digits = 0;
    while (prefix[n])
        spare[n] = prefix[n], n++;
    for (int v = number; v; v /= 10)
        digits++;
    if (!digits)
        digits = 1;
    for (int i = digits - 1, v = number; i >= 0; i--, v /= 10)
        spare[n + i] = (char)('0' + v % 10);
    spare[n + digits] = 0;
    return spare;
}

static const char *errno_name(long number)
{
    static char spare[24];
    return named(obs_errnos, (int)number, "E", spare);
}

static const char *signal_name(int number)
{
    static char spare[24];
    return named(obs_signals, number, "SIG", spare);
}

/* The check's outcome word: the check ends here. */
static void observed(const char *outcome, const char *detail)
{
    message_used = 0;
    add("outcome\n");
    add(outcome);
    add("\n");
    add(detail);
    send_and_exit();
}

/* A call failed: its errno's name is the outcome, as calls.CallRefused makes it. */
static void refused(const char *call, long error)
{
    message_used = 0;
    add("outcome\n");
    add(errno_name(error));
    add("\n");
    add(call);
    add(": ");
    add(errno_name(error));
    send_and_exit();
}

/* The environment withholds what the check needs (calls.Unsupported). */
static void unsupported(const char *reason, long error)
{
    message_used = 0;
    add("unsupported\n\n");
    add(reason);
    if (error) {
        add(": ");
        add(errno_name(error));
    }
    send_and_exit();
}

/* A name the mmap module and the profile leave undefined (-1 in cases.h): the case is 'absent',
 * as flags.UndefinedName makes it. */
static long defined(long value, const char *name)
{
    if (value < 0) {
        message_used = 0;
        add("outcome\nabsent\n");
        add(OBS_UNDEFINED_NAME_BEFORE);
        add(name);
        add(OBS_UNDEFINED_NAME_AFTER);
        send_and_exit();
    }
    return value;
}

/* EMULATED: under --on emulator, a case that rests on what qemu-user does in the kernel's place
 * is unsupported; ``what`` says what that is. */
static void emulator_answers(const char *what)
{
    if (emulated) {
        message_used = 0;
        add("unsupported\n\n");
        add(OBS_EMULATOR_ANSWERS_BEFORE);
        add(what);
        add(OBS_EMULATOR_ANSWERS_AFTER);
        send_and_exit();
    }
}

/* ---- the calls the checks make ---------------------------------------------------------- */

static void unmap(void *address, obs_size length)
{
    long ret = obs_syscall(SYS_munmap, (long)address, (long)length, 0, 0, 0, 0);
    if (ret < 0)
        refused("munmap", -ret);
}

static void protect(void *address, obs_size length, int prot)
{
    long ret = obs_syscall(SYS_mprotect, (long)address, (long)length, prot, 0, 0, 0);
    if (ret < 0)
        refused("mprotect", -ret);
}

static void advise(void *address, obs_size length, int advice)
{
    long ret = obs_syscall(SYS_madvise, (long)address, (long)length, advice, 0, 0, 0);
    if (ret < 0)
        refused("madvise", -ret);
}

/* Reads and writes through volatile pointers, so a fault happens where the check touches. */
static void store(unsigned char *at, const char *bytes, obs_size count)
{
    volatile unsigned char *p = at;
    for (obs_size i = 0; i < count; i++)
        p[i] = (unsigned char)bytes[i];
}

static void store_byte(unsigned char *at, unsigned char byte, obs_size count)
{
    volatile unsigned char *p = at;
    for (obs_size i = 0; i < count; i++)
        p[i] = byte;
}

static int holds(const unsigned char *at, const char *bytes, obs_size count)
{
    const volatile unsigned char *p = at;
    for (obs_size i = 0; i < count; i++)
        if (p[i] != (unsigned char)bytes[i])
            return 0;
    return 1;
}

static int all(const unsigned char *at, unsigned char byte, obs_size count)
{
    const volatile unsigned char *p = at;
    for (obs_size i = 0; i < count; i++)
        if (p[i] != byte)
            return 0;
    return 1;
}

/* How fdkinds.content names what was read. */
static const char *content(const unsigned char *at, obs_size count)
{
    if (all(at, 0, count))
        return "zero";
    if (all(at, OBS_FILE_BYTE, count))
        return "file-bytes";
    return "nonzero";
}

/* fdkinds.apart(): what a second mapping reads once OBS_FIRST was written to the first; only
 * those bytes are aliasing, memory merely not zero is named by what it holds. */
static const char *apart(const unsigned char *second)
{
    if (holds(second, OBS_FIRST, OBS_FIRST_SIZE))
        return "aliased";
    return all(second, 0, OBS_FIRST_SIZE) ? "independent" : content(second, OBS_FIRST_SIZE);
}

static int dev_zero(int flags)
{
    long fd = obs_open("/dev/zero", flags, 0);
    if (fd < 0)
        unsupported(OBS_NO_DEV_ZERO, -fd);
    return (int)fd;
}

static int placed(int fd)
{
    long ret = obs_dup2(fd, OBS_PLACED_FD);
    if (ret < 0)
        unsupported(OBS_PLACED_FD_REFUSED, -ret);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    return OBS_PLACED_FD;
}

static const char *getenv_text(const char *name)
{
    obs_size n = text_length(name);
    for (char **entry = environment; entry && *entry; entry++)
        if (starts_with(*entry, name) && (*entry)[n] == '=')
            return *entry + n + 1;
    return 0;
}

/* An unlinked temporary file of OBS_FILE_PAGES pages of OBS_FILE_BYTE, read-write. */
static int regular_file(void)
{
    char path[512];
    obs_size used = 0;
    const char *directory = getenv_text("TMPDIR");
    if (!directory || !*directory)
        directory = "/tmp";
    for (const char *p = directory; *p && used < 400; p++)
        path[used++] = *p;
    const char *stem = "/anonmap-observer-";
    for (const char *p = stem; *p; p++)
        path[used++] = *p;
    long pid = obs_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + pid % 10);
    while (pid /= 10);
    while (n)
        path[used++] = digits[--n];
    path[used] = 0;
    long fd = obs_open(path, OBS_O_RDWR | OBS_O_CREAT | OBS_O_EXCL, 0600);
    if (fd < 0)
        unsupported(OBS_NO_REGULAR_FILE, -fd);
    obs_unlink(path);
    unsigned char block[512];
    memset(block, OBS_FILE_BYTE, sizeof block);
    for (obs_size written = 0; written < OBS_FILE_PAGES * page;) {
        long wrote = obs_syscall(SYS_write, fd, (long)block, sizeof block, 0, 0, 0);
        if (wrote <= 0)
            unsupported(OBS_NO_REGULAR_FILE ": short write", wrote < 0 ? -wrote : 0);
        written += (obs_size)wrote;
    }
    return (int)fd;
}

/* ---- fork inside a check (forking.py) ---------------------------------------------------- */

/* A grandchild: it must not hold the result pipe, or a check killed by its time limit would
 * keep the observer waiting for the pipe to close. */
static long in_child(void)
{
    long pid = obs_fork();
    if (pid < 0)
        unsupported(OBS_NO_FORK, -pid);
    if (pid == 0) {
        obs_die_with_parent();
        obs_syscall(SYS_close, result_fd, 0, 0, 0, 0, 0);
    }
    return pid;
}

static int wait_child(long pid)
{
    int status = 0;
    long ret = obs_syscall(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
    if (ret < 0)
        unsupported("wait4 for the forked child failed", -ret);
    if ((status & 0x7f) != 0 && (status & 0x7f) != 0x7f)
        observed(signal_name(status & 0x7f), OBS_CHILD_SIGNALLED);
    return (status >> 8) & 0xff;
}

static int classify(const unsigned char *at)
{
    if (holds(at, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE))
        return OBS_SAW_AFTER;
    if (holds(at, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE))
        return OBS_SAW_BEFORE;
    return OBS_SAW_OTHER;
}

static const char *sharing_of(unsigned char *region, int child_writes)
{
    int seen;
    store(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE);
    if (child_writes) {
        long pid = in_child();
        if (pid == 0) {
            store(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE);
            obs_exit(0);
        }
        wait_child(pid);
        seen = classify(region);
    } else {
        int ends[2];
        long ret = obs_pipe(ends);
        if (ret < 0)
            unsupported("pipe failed", -ret);
        long pid = in_child();
        if (pid == 0) {
            char byte;
            obs_syscall(SYS_close, ends[1], 0, 0, 0, 0, 0);
            obs_syscall(SYS_read, ends[0], (long)&byte, 1, 0, 0, 0);
            obs_exit(classify(region));
        }
        store(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE);
        obs_syscall(SYS_write, ends[1], (long)"!", 1, 0, 0, 0);
        seen = wait_child(pid);
    }
    return seen == OBS_SAW_AFTER ? "shared" : seen == OBS_SAW_BEFORE ? "private" : "nonzero";
}

/* ---- the executor: each case's program (anonmap.checks.steps), as Python's executor runs it */

/* forking.inherited(): 'inherited' when a child reads what was written before the fork. */
static const char *inherited(unsigned char *region)
{
    store(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE);
    long pid = in_child();
    if (pid == 0)
        obs_exit(classify(region));
    return wait_child(pid) == OBS_SAW_BEFORE ? "inherited" : "not-inherited";
}

/* outcomes.hex_value(): a number as the outcome word 0x... */
static const char *hex_word(unsigned long value)
{
    static char word[2 + 2 * sizeof value + 1];
    char digits[2 * sizeof value];
    obs_size count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value & 15];
        value >>= 4;
    } while (value);
    word[0] = '0';
    word[1] = 'x';
    for (obs_size i = 0; i < count; i++)
        word[2 + i] = digits[count - 1 - i];
    word[2 + count] = 0;
    return word;
}

/* forking.kept_by_parent(): what the parent's own copy reads once a child has read and
 * written its one. */
static const char *kept_by_parent(unsigned char *region)
{
    store(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE);
    long pid = in_child();
    if (pid == 0) {
        all(region, 0, OBS_BEFORE_FORK_SIZE);
        store(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE);
        obs_exit(0);
    }
    wait_child(pid);
    if (holds(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE))
        return "preserved";
    if (holds(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE))
        return "shared";
    return content(region, OBS_BEFORE_FORK_SIZE);
}

/* What a child makes of a region holding OBS_BEFORE_FORK. */
static const char *seen_after_fork(unsigned char *region)
{
    store(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE);
    long pid = in_child();
    if (pid == 0) {
        if (all(region, 0, OBS_BEFORE_FORK_SIZE))
            obs_exit(OBS_SAW_ZERO);
        if (!holds(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE))
            obs_exit(OBS_SAW_OTHER);
        store(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE);
        obs_exit(OBS_SAW_BEFORE);
    }
    int seen = wait_child(pid);
    if (seen == OBS_SAW_ZERO)
        return "zero";
    if (seen != OBS_SAW_BEFORE)
        return "nonzero";
    return holds(region, OBS_AFTER_FORK, OBS_AFTER_FORK_SIZE) ? "shared" : holds(region, OBS_BEFORE_FORK, OBS_BEFORE_FORK_SIZE) ? "private" : "nonzero";
}

/* limits.address_space_in_use(): /proc/self/statm's first field, in pages (proc(5)); 0 where
 * no procfs says. */
static unsigned long address_space_in_use(void)
{
#if defined(__linux__)
    char statm[64];
    long fd = obs_open("/proc/self/statm", OBS_O_RDONLY, 0);
    if (fd < 0)
        return 0;
    long got = obs_syscall(SYS_read, fd, (long)statm, sizeof statm - 1, 0, 0, 0);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    unsigned long pages = 0;
    for (long i = 0; i < got && statm[i] >= '0' && statm[i] <= '9'; i++)
        pages = pages * 10 + (unsigned long)(statm[i] - '0');
    return pages * page;
#else
    return 0;
#endif
}

/* limits.room_for(): a size this environment's limits refuse is unsupported, not an outcome;
 * RLIMIT_AS counts what the process maps already. */
static void room_for(unsigned long size, int also_data)
{
    static const int limits[2] = {OBS_RLIMIT_AS, OBS_RLIMIT_DATA};
    static const char *names[2] = {"RLIMIT_AS", "RLIMIT_DATA"};
    for (int i = 0; i < 1 + also_data; i++) {
        unsigned long in_use = i == 0 ? address_space_in_use() : 0;
        if (obs_soft_limit(limits[i]) < size + in_use) {
            message_used = 0;
            add("unsupported\n\n");
            add(names[i]);
            add(" is below the size this case maps and what the process maps already: the environment's limit");
            send_and_exit();
        }
    }
}

/* limits.limit_data(): lower the soft RLIMIT_DATA, in the check's child, for a case about what
 * the limit counts. */
static void limit_data(unsigned long limit)
{
    unsigned long now[2];
    long ret = obs_getrlimit(OBS_RLIMIT_DATA, now);
    if (ret < 0)
        unsupported("RLIMIT_DATA cannot be read", -ret);
    if (now[1] < limit)
        unsupported("the hard RLIMIT_DATA is below the limit the case sets", 0);
    if (now[0] <= limit)
        return;
    now[0] = limit;
    ret = obs_setrlimit(OBS_RLIMIT_DATA, now);
    if (ret < 0)
        unsupported("RLIMIT_DATA cannot be lowered", -ret);
}

static unsigned char *registers[OBS_REGISTERS];
static int program_dev_zero = -1;

/* A Span: pages of this machine's size, and bytes. */
static obs_size span(long long pages, long long bytes) { return (obs_size)(pages * (long long)page + bytes); }

#define AT(s) (registers[(s)->reg] + span((s)->at_pages, (s)->at_bytes))
#define LENGTH(s) span((s)->length_pages, (s)->length_bytes)

/* The step's names ORed; a name the platform lacks ends the check 'absent'. */
static long flag_value(unsigned long long names)
{
    long value = 0;
    for (int i = 0; i < 64; i++)
        if (names >> i & 1)
            value |= defined(obs_flag_names[i].value, obs_flag_names[i].name);
    return value;
}

static int prot_of(int meaning)
{
    return OBS_PROT_NONE | (meaning & OBS_MEANS_READ ? OBS_PROT_READ : 0) | (meaning & OBS_MEANS_WRITE ? OBS_PROT_WRITE : 0) |
           (meaning & OBS_MEANS_EXEC ? OBS_PROT_EXEC : 0);
}

static int fd_for(int kind)
{
    switch (kind) {
    case OBS_FD_DEV_ZERO:
        if (program_dev_zero < 0)
            program_dev_zero = dev_zero(OBS_O_RDWR);
        return program_dev_zero;
    case OBS_FD_DEV_ZERO_READ_ONLY:
        return dev_zero(OBS_O_RDONLY);
    case OBS_FD_ZERO:
        return 0;
    case OBS_FD_MINUS_TWO:
        return -2;
    case OBS_FD_REGULAR_FILE:
        return placed(regular_file());
    case OBS_FD_PLACED_DEV_ZERO:
        return placed(dev_zero(OBS_O_RDWR));
    case OBS_FD_CLOSED: {
        long fd = obs_open("/dev/null", OBS_O_RDONLY, 0);
        if (fd < 0)
            unsupported("/dev/null does not open here", -fd);
        int number = placed((int)fd);
        obs_syscall(SYS_close, number, 0, 0, 0, 0, 0);
        return number;
    }
    case OBS_FD_HUGE:
        return OBS_HUGE_FD;
    }
    return -1;
}

static const unsigned char *pattern_bytes(int pattern, obs_size *size)
{
    static const struct {
        const char *bytes;
        obs_size size;
    } patterns[] = {[OBS_PATTERN_FIRST] = {OBS_FIRST, OBS_FIRST_SIZE},
                    [OBS_PATTERN_EXISTING] = {OBS_EXISTING, OBS_EXISTING_SIZE},
                    [OBS_PATTERN_RETURN_42] = {OBS_CODE, OBS_CODE_SIZE}};
    *size = patterns[pattern].size;
    return (const unsigned char *)patterns[pattern].bytes;
}

/* ROOM_FOR: a size this target's size_t cannot hold (wasm32) or the environment's limits
 * refuse is unsupported. */
static void room_for_step(const struct obs_step *s)
{
    unsigned long long size = (unsigned long long)s->length_pages * page + (unsigned long long)s->length_bytes;
    if (size > (obs_size)-1)
        unsupported("the size does not fit in this target's size_t", 0);
    int counted = prot_of(s->prot) == OBS_PROT_NONE ? OBS_DATA_LIMIT_COUNTS_RESERVED : OBS_DATA_LIMIT_COUNTS_WRITABLE;
    room_for((unsigned long)size, !s->byte && counted);
}

/* One step that does not end the check. */
static void step(const struct obs_step *s)
{
    obs_size size;
    const unsigned char *bytes;
    switch (s->op) {
    case OBS_STEP_MAP: {
        void *where = s->base < 0 ? 0 : registers[s->base] + span(s->at_pages, s->at_bytes);
        int flags = (int)flag_value(s->names);
        long address = obs_mmap(where, LENGTH(s), prot_of(s->prot), flags, fd_for(s->fd),
                                (long)span(s->offset_pages, s->offset_bytes));
        if (address < 0 && address > -4096)
            refused("mmap", -address);
        registers[s->reg] = (unsigned char *)address;
        break;
    }
    case OBS_STEP_UNMAP:
        unmap(AT(s), LENGTH(s));
        break;
    case OBS_STEP_PROTECT:
        protect(AT(s), LENGTH(s), prot_of(s->prot));
        break;
    case OBS_STEP_ADVISE:
        advise(AT(s), LENGTH(s), (int)flag_value(s->names));
        break;
    case OBS_STEP_INHERIT: {
        long inherit = flag_value(s->names);
#if defined(__linux__)
        (void)inherit;
        observed("absent", "the kernel has no minherit system call");
#else
        long ret = obs_syscall(SYS_minherit, (long)AT(s), (long)LENGTH(s), inherit, 0, 0, 0);
        if (ret < 0)
            refused("minherit", -ret);
#endif
        break;
    }
    case OBS_STEP_WRITE:
        bytes = pattern_bytes(s->pattern, &size);
        store(AT(s), (const char *)bytes, size);
        break;
    case OBS_STEP_FILL:
        store_byte(AT(s), (unsigned char)s->byte, LENGTH(s));
        break;
    case OBS_STEP_TOUCH:
        all(AT(s), 0, 1);
        break;
    case OBS_STEP_UNLESS_FILLED:
        if (!all(AT(s), (unsigned char)s->byte, LENGTH(s)))
            observed(s->word ? s->word : content(AT(s), LENGTH(s)), "");
        break;
    case OBS_STEP_UNLESS_HOLDS:
        bytes = pattern_bytes(s->pattern, &size);
        if (!holds(AT(s), (const char *)bytes, size))
            observed(s->word, "");
        break;
    case OBS_STEP_UNLESS_AT:
        if (registers[s->reg] != registers[s->base] + span(s->at_pages, s->at_bytes))
            observed(s->word, "");
        break;
    case OBS_STEP_UNLESS_ALIGNED:
        if ((unsigned long)registers[s->reg] % LENGTH(s))
            observed(s->word, "");
        break;
    case OBS_STEP_EMULATED:
        emulator_answers(s->word);
        break;
    case OBS_STEP_LIMIT_DATA:
        limit_data(LENGTH(s));
        break;
    case OBS_STEP_ROOM_FOR:
        room_for_step(s);
        break;
    case OBS_STEP_JIT_WRITABLE:
        OBS_JIT_WRITABLE(s->byte);
        break;
    }
}

/* A step that ends the check with its outcome. */
static const char *ending(const struct obs_step *s)
{
    unsigned char *region = registers[s->reg];
    switch (s->op) {
    case OBS_STEP_END:
        return s->word;
    case OBS_STEP_END_CONTENT:
        return content(AT(s), LENGTH(s));
    case OBS_STEP_END_APART:
        return apart(region);
    case OBS_STEP_END_SEEN_BY_PARENT:
        return sharing_of(region, 1);
    case OBS_STEP_END_SEEN_BY_CHILD:
        return sharing_of(region, 0);
    case OBS_STEP_END_INHERITED:
        return inherited(region);
    case OBS_STEP_END_SEEN_AFTER_FORK:
        return seen_after_fork(region);
    case OBS_STEP_END_KEPT_BY_PARENT:
        return kept_by_parent(region);
    case OBS_STEP_END_PAGESIZE:
        return hex_word(page);
    case OBS_STEP_END_CALL:
#if OBS_HAS_CODE
        return ((int (*)(void))(void *)region)() == OBS_RETURNED ? "ok" : "nonzero";
#else
        return "ok";
#endif
    }
    return 0;
}

static void execute(const struct obs_step *steps, int count)
{
    for (int i = 0; i < count; i++) {
        const char *outcome = ending(&steps[i]);
        if (outcome)
            observed(outcome, "");
        step(&steps[i]);
    }
}

/* ---- running the cases -------------------------------------------------------------------- */

struct obs_case {
    const char *behaviour;
    const char *id;
    const struct obs_step *steps;
    int count;
    int needs_dev_zero;
    int needs_exec_memory;
};

static const struct obs_case obs_cases[] = {OBS_CASES};
#define OBS_CASE_COUNT ((int)(sizeof obs_cases / sizeof obs_cases[0]))

struct itimer {
    long interval_sec, interval_usec, value_sec, value_usec;
};

static long time_limit_ms = 10000;


struct finding {
    char kind[16];
    char outcome[64];
    char detail[900];
};

static void split_message(const char *received, obs_size count, struct finding *found)
{
    memset(found, 0, sizeof *found);
    char *fields[3] = {found->kind, found->outcome, found->detail};
    obs_size sizes[3] = {sizeof found->kind, sizeof found->outcome, sizeof found->detail};
    int field = 0;
    obs_size used = 0;
    for (obs_size i = 0; i < count; i++) {
        if (received[i] == '\n' && field < 2) {
            fields[field][used] = 0;
            field++, used = 0;
        } else if (used < sizes[field] - 1) {
            fields[field][used++] = received[i];
        }
    }
    fields[field][used] = 0;
}

static void set_finding(struct finding *found, const char *kind, const char *outcome, const char *detail)
{
    copy_text(found->kind, kind, sizeof found->kind);
    copy_text(found->outcome, outcome, sizeof found->outcome);
    copy_text(found->detail, detail, sizeof found->detail);
}

/* The observer itself was refused a call it needs to see a case's end: unsupported, with it. */
static void unseen(struct finding *found, const char *what, long error)
{
    char detail[128];
    copy_text(detail, "the observer could not ", sizeof detail);
    obs_size used = text_length(detail);
    copy_text(detail + used, what, sizeof detail - used);
    used = text_length(detail);
    copy_text(detail + used, ": ", sizeof detail - used);
    used = text_length(detail);
    copy_text(detail + used, errno_name(error), sizeof detail - used);
    set_finding(found, "unsupported", "", detail);
}

/* Run one case in a child leading its own process group; whatever happens, come back with a
 * finding (isolate.run's contract). */
static void run_case(const struct obs_case *c, struct finding *found)
{
    int ends[2];
    long ret = obs_pipe(ends);
    if (ret < 0) {
        set_finding(found, "unsupported", "", "pipe failed");
        return;
    }
    long pid = obs_fork();
    if (pid < 0) {
        set_finding(found, "unsupported", "", "fork failed (a process limit?)");
        obs_syscall(SYS_close, ends[0], 0, 0, 0, 0, 0);
        obs_syscall(SYS_close, ends[1], 0, 0, 0, 0, 0);
        return;
    }
    if (pid == 0) {
        obs_syscall(SYS_setpgid, 0, 0, 0, 0, 0, 0);
        obs_die_with_parent();
        obs_syscall(SYS_close, ends[0], 0, 0, 0, 0, 0);
        result_fd = ends[1];
        struct itimer limit = {0, 0, time_limit_ms / 1000, (time_limit_ms % 1000) * 1000};
        obs_syscall(SYS_setitimer, 0, (long)&limit, 0, 0, 0, 0);
        execute(c->steps, c->count);
        observed("", "the check returned without an outcome");
    }
    obs_syscall(SYS_close, ends[1], 0, 0, 0, 0, 0);
    char received[1024];
    obs_size count = 0;
    long got;
    for (;;) {
        got = obs_syscall(SYS_read, ends[0], (long)(received + count), (long)(sizeof received - count), 0, 0, 0);
        if (got <= 0 || (count += (obs_size)got) == sizeof received)
            break;
    }
    obs_syscall(SYS_close, ends[0], 0, 0, 0, 0, 0);
    int status = 0;
    long waited = obs_syscall(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
    obs_syscall(SYS_kill, -pid, OBS_SIGKILL, 0, 0, 0, 0);
    if (waited < 0)
        obs_syscall(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
    int signal = status & 0x7f;
    /* What the observer could not see is the environment's (a sandbox denying read or wait4),
     * never a child that "exited and sent no result". */
    if (got < 0 && !count)
        unseen(found, "read the check's result", -got);
    else if (waited < 0 && !count)
        unseen(found, "wait for the check's child", -waited);
    else if (count)
        split_message(received, count, found);
    else if (signal == OBS_SIGALRM)
        set_finding(found, "outcome", "timeout", "no result within the time limit");
    else if (signal != 0 && signal != 0x7f)
        set_finding(found, "outcome", signal_name(signal), "the child was killed by a signal");
    else
        set_finding(found, "harness", "", "the check's child exited and sent no result");
    if (same_text(found->kind, "outcome") && !found->outcome[0])
        set_finding(found, "harness", "", "the check returned without an outcome");
}

/* ---- what the observer knows of the system ------------------------------------------------ */

struct system_names {
    char sysname[256], release[256], version[256], machine[256];
};

static void system_names(struct system_names *names)
{
#if defined(OBS_HAS_UNAME)
    /* struct new_utsname: six fields of 65 bytes (include/uapi/linux/utsname.h). */
    static char uts[6][65];
    if (obs_syscall(SYS_uname, (long)uts, 0, 0, 0, 0, 0) == 0) {
        copy_text(names->sysname, uts[0], sizeof names->sysname);
        copy_text(names->release, uts[2], sizeof names->release);
        copy_text(names->version, uts[3], sizeof names->version);
        copy_text(names->machine, uts[4], sizeof names->machine);
    }
#else
    /* uname(3) reads kern.ostype, kern.osrelease, kern.version and hw.machine (sys/sys/sysctl.h:
     * CTL_KERN 1 with KERN_OSTYPE 1, KERN_OSRELEASE 2, KERN_VERSION 4; CTL_HW 6, HW_MACHINE 1). */
    static const int mibs[4][2] = {{1, 1}, {1, 2}, {1, 4}, {6, 1}};
    char *fields[4] = {names->sysname, names->release, names->version, names->machine};
    for (int i = 0; i < 4; i++) {
        obs_size length = 255;
        if (obs_syscall(SYS_sysctl, (long)mibs[i], 2, (long)fields[i], (long)&length, 0, 0) == 0)
            fields[i][length < 255 ? length : 255] = 0;
        else
            fields[i][0] = 0;
    }
    /* kern.version ends in a newline; uname(3) folds it to spaces. */
    for (char *v = names->version; *v; v++)
        if (*v == '\n' || *v == '\t')
            *v = ' ';
#endif
}

/* probe.py's fork and dev-zero capabilities, asked the same way. */
static const char *fork_problem(void)
{
    long pid = obs_fork();
    if (pid < 0)
        return OBS_FORK_FAILED OBS_TAG_FORK;
    if (pid == 0)
        obs_exit(0);
    int status = 0;
    obs_syscall(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
    return status == 0 ? 0 : OBS_FORK_UNCLEAN OBS_TAG_FORK;
}

static const char *dev_zero_problem(void)
{
    long fd = obs_open("/dev/zero", OBS_O_RDWR, 0);
    if (fd < 0)
        return OBS_DEV_ZERO_NOT_RW OBS_TAG_DEV_ZERO;
    /* A file bound over /dev/zero reads as zeros too, but ends where its bytes end; the probe
     * refuses it for not being a character device. */
    if (obs_end_offset(fd) > 0) {
        obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
        return OBS_DEV_ZERO_NOT_DEVICE OBS_TAG_DEV_ZERO;
    }
    unsigned char bytes[64];
    memset(bytes, 1, sizeof bytes);
    long got = obs_syscall(SYS_read, fd, (long)bytes, sizeof bytes, 0, 0, 0);
    long wrote = obs_syscall(SYS_write, fd, (long)bytes, sizeof bytes, 0, 0, 0);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    if (got != (long)sizeof bytes || wrote != (long)sizeof bytes)
        return OBS_DEV_ZERO_NOT_ZERO ": a read or write failed" OBS_TAG_DEV_ZERO;
    for (obs_size i = 0; i < 64; i++)
        if (bytes[i] != 0 && wrote == 64)
            return OBS_DEV_ZERO_NOT_ZERO ": it read non-zero bytes" OBS_TAG_DEV_ZERO;
    return 0;
}

/* probe.py's seccomp-filter compatibility word: /proc/self/status says "Seccomp: 2" under a
 * filter (proc(5)), and then an EPERM may be the sandbox's, not the platform's. */
static int under_seccomp_filter(void)
{
#if defined(__linux__)
    static char status[8192];
    long fd = obs_open("/proc/self/status", OBS_O_RDONLY, 0);
    if (fd < 0)
        return 0;
    long got = obs_syscall(SYS_read, fd, (long)status, sizeof status - 1, 0, 0, 0);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    if (got <= 0)
        return 0;
    status[got] = 0;
    for (long i = 0; i < got; i++)
        if ((i == 0 || status[i - 1] == '\n') && starts_with(status + i, "Seccomp:")) {
            const char *v = status + i + 8;
            while (*v == ' ' || *v == '\t')
                v++;
            return v[0] == '2' && (v[1] == '\n' || v[1] == 0);
        }
#endif
    return 0;
}

/* One of probe.SETTINGS (OBS_SETTINGS in cases.h) into ``value``, read where the probe reads it:
 * Linux publishes it as a file (proc(5)), the BSDs as an int sysctl. 0 where it cannot be read. */
static int read_setting(const char *name, char *value, obs_size most)
{
#if defined(__linux__)
    char path[128];
    copy_text(path, OBS_LINUX_SETTINGS, sizeof path);
    obs_size used = text_length(path);
    for (obs_size i = 0; name[i] && used < sizeof path - 1; i++)
        path[used++] = name[i] == '.' ? '/' : name[i];
    path[used] = 0;
    long fd = obs_open(path, OBS_O_RDONLY, 0);
    if (fd < 0)
        return 0;
    long got = obs_syscall(SYS_read, fd, (long)value, (long)most - 1, 0, 0, 0);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    while (got > 0 && (value[got - 1] == '\n' || value[got - 1] == ' '))
        got--;
    if (got <= 0)
        return 0;
    value[got] = 0;
    return 1;
#else
    int number;
    if (obs_sysctl_int(name, &number) < 0)
        return 0;
    char digits[16];
    obs_size n = 0, used = 0;
    unsigned int magnitude = number < 0 ? 0U - (unsigned int)number : (unsigned int)number;
    do
        digits[n++] = (char)('0' + magnitude % 10);
    while (magnitude /= 10);
    if (number < 0)
        value[used++] = '-';
    while (n && used < most - 1)
        value[used++] = digits[--n];
    value[used] = 0;
    return 1;
#endif
}

static void out_settings(void)
{
    static const char *const names[] = {OBS_SETTINGS};
    const char *separator = "";
    for (obs_size i = 0; i < sizeof names / sizeof names[0]; i++) {
        char value[32];
        if (!read_setting(names[i], value, sizeof value))
            continue;
        out_text(separator);
        out_field(names[i], value);
        separator = ", ";
    }
}

/* probe.py's exec-memory capability: MDWE on this process (prctl PR_GET_MDWE, 66, bit
 * PR_MDWE_REFUSE_EXEC_GAIN), or SELinux enforcing deny_execmem; read, never tried. */
static int read_flag(const char *path)
{
    char value[4] = {0};
    long fd = obs_open(path, OBS_O_RDONLY, 0);
    if (fd < 0)
        return 0;
    long got = obs_syscall(SYS_read, fd, (long)value, 1, 0, 0, 0);
    obs_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
    return got == 1 && value[0] == '1';
}

static const char *exec_memory_problem(void)
{
#if defined(__linux__)
    long flags = obs_syscall(SYS_prctl, 66, 0, 0, 0, 0, 0);
    if (flags > 0 && (flags & 1))
        return OBS_MDWE_REFUSES;
    if (read_flag("/sys/fs/selinux/enforce") && read_flag("/sys/fs/selinux/booleans/deny_execmem"))
        return OBS_SELINUX_DENIES;
#endif
    return 0;
}

static void out_capability(const char *name, const char *problem, const char *fine)
{
    out_string(name, 64);
    out_text(": {\"available\": ");
    out_text(problem ? "false" : "true");
    out_text(", ");
    out_field("detail", problem ? problem : fine);
    out_text("}");
}

static int usage(const char *problem)
{
    out_text("{\"error\": ");
    out_string(problem, 200);
    out_text("}\n");
    out_flush();
    return 2;
}

static long parse_number(const char *text)
{
    long value = 0;
    if (!*text)
        return -1;
    for (; *text; text++) {
        if (*text < '0' || *text > '9' || value > 100000000)
            return -1;
        value = value * 10 + (*text - '0');
    }
    return value;
}

static int observer_main(int argc, char **argv)
{
    const char *on = "unstated";
    int list = 0;
    long one = -1;
    for (int i = 1; i < argc; i++) {
        if (same_text(argv[i], "--list")) {
            list = 1;
        } else if (same_text(argv[i], "--on") && i + 1 < argc) {
            on = argv[++i];
            if (!same_text(on, "real") && !same_text(on, "vm") && !same_text(on, "emulator"))
                return usage("--on expects real, vm or emulator");
            emulated = same_text(on, "emulator");
        } else if (same_text(argv[i], "--case") && i + 1 < argc) {
            one = parse_number(argv[++i]);
            if (one < 0 || one >= OBS_CASE_COUNT)
                return usage("--case expects the index of a case, from 0 (--list names them in order)");
        } else if (same_text(argv[i], "--time-limit-ms") && i + 1 < argc) {
            time_limit_ms = parse_number(argv[++i]);
            if (time_limit_ms < 1 || time_limit_ms > 3600000)
                return usage("--time-limit-ms expects a whole number of milliseconds from 1 to 3600000");
        } else {
            return usage("usage: observer [--on real|vm|emulator] [--time-limit-ms N] [--list] [--case I]");
        }
    }
    if (one >= 0) {
        /* The message a check's child would send (kind, outcome, detail), on stdout. */
        result_fd = 1;
        execute(obs_cases[one].steps, obs_cases[one].count);
        observed("", "the check returned without an outcome");
    }
    if (list) {
        for (int i = 0; i < OBS_CASE_COUNT; i++) {
            out_text(obs_cases[i].behaviour);
            out_text("[");
            out_text(obs_cases[i].id);
            out_text("]\n");
        }
        out_flush();
        return 0;
    }
    struct system_names names;
    memset(&names, 0, sizeof names);
    system_names(&names);
    const char *no_fork = fork_problem();
    const char *no_dev_zero = dev_zero_problem();
    const char *no_exec_memory = exec_memory_problem();
    out_text("{");
    out_field("format", "anonmap-observations/1");
    out_text(", ");
    out_field("catalogue", OBS_CATALOGUE);
    out_text(", ");
    out_field("api", OBS_API);
    out_text(", ");
    out_field("abi", OBS_ABI);
    out_text(", ");
    out_field("on", on);
    out_text(", ");
    out_field("binary_abi", OBS_BINARY_ABI);
    out_text(", ");
    char libc[64];
    copy_text(libc, OBS_LIBC_NAME, sizeof libc);
    copy_text(libc + text_length(libc), OBS_LIBC_VERSION, sizeof libc - text_length(libc));
    out_field("libc", libc);
    out_text(", \"uname\": {");
    out_field("sysname", names.sysname);
    out_text(", ");
    out_field("release", names.release);
    out_text(", ");
    out_field("version", names.version);
    out_text(", ");
    out_field("machine", names.machine);
    out_text("}, \"page_size\": ");
    out_number((long)page);
    out_text(", \"time_limit_ms\": ");
    out_number(time_limit_ms);
    out_text(", \"capabilities\": {");
    out_capability("fork", no_fork, OBS_FORK_WORKS);
    out_text(", ");
    out_capability("dev-zero", no_dev_zero, OBS_DEV_ZERO_WORKS);
    out_text(", ");
    out_capability("exec-memory", no_exec_memory, OBS_EXEC_MEMORY_WORKS);
    out_text("}, \"compat\": [");
    if (under_seccomp_filter())
        out_string("seccomp-filter", 64);
    out_text("], \"settings\": {");
    out_settings();
    out_text("}, \"cases\": ");
    out_number(OBS_CASE_COUNT);
    out_text("}\n");
    for (int i = 0; i < OBS_CASE_COUNT; i++) {
        const struct obs_case *c = &obs_cases[i];
        struct finding found;
        /* Fork last: where it alone is missing, --case can still run the case in a process. */
        if (c->needs_dev_zero && no_dev_zero)
            set_finding(&found, "unsupported", "", no_dev_zero);
        else if (c->needs_exec_memory && no_exec_memory)
            set_finding(&found, "unsupported", "", no_exec_memory);
        else if (no_fork)
            set_finding(&found, "unsupported", "", no_fork);
        else
            run_case(c, &found);
        out_text("{");
        out_field("behaviour", c->behaviour);
        out_text(", ");
        out_field("case", c->id);
        out_text(", ");
        if (same_text(found.kind, "outcome")) {
            out_field("outcome", found.outcome);
            out_text(", ");
            out_field("detail", found.detail);
        } else {
            out_field(same_text(found.kind, "unsupported") ? "unsupported" : "harness", found.detail);
        }
        out_text("}\n");
        out_flush();
    }
    out_text("{\"end\": ");
    out_number(OBS_CASE_COUNT);
    out_text("}\n");
    out_flush();
    return 0;
}

/* The entry point's C half: the initial stack holds argc, argv, NULL, envp, NULL, auxv. */
__attribute__((used)) void obs_start(long *stack)
{
    int argc = (int)stack[0];
    char **argv = (char **)(stack + 1);
    environment = argv + argc + 1;
    char **entry = environment;
    while (*entry)
        entry++;
    for (long *aux = (long *)(entry + 1); aux[0] != OBS_AT_NULL; aux += 2)
        if (aux[0] == OBS_AT_PAGESZ)
            page = (obs_size)aux[1];
    if (!page)
        page = 4096;
    obs_exit(observer_main(argc, argv));
}
