/* Sleep on the real clocks: libfaketime (with FAKETIME_DONT_FAKE_MONOTONIC=1) rewrites
   absolute clock_nanosleep deadlines by its offset and the kernel refuses them (EINVAL). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) {
    long r = syscall(SYS_clock_nanosleep, clock, flags, req, rem);
    return r == -1 ? errno : 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem) {
    return (int)syscall(SYS_nanosleep, req, rem);
}
