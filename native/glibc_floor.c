/*
 * Linked into libazmi.so only (build.rs, Linux with glibc, when linking against the glibc floor
 * root), so that the library loads on glibc 2.28 (RHEL 8 and its rebuilds), not only on the
 * 2.31 it is linked against. Two symbols would otherwise raise the floor:
 *
 * - pow: tokio's scheduler computes an exponentially weighted mean of task poll times with
 *   f64::powf, which binds to pow@GLIBC_2.29, the version glibc 2.29 gave its rewritten pow.
 *   The link wraps pow (-Wl,--wrap=pow) and this sends it to the original pow@GLIBC_2.2.5
 *   (GLIBC_2.17 on arm64), which every glibc has: the same function for finite arguments, with
 *   the old errno handling, which tokio does not read.
 * - gettid: the Rust standard library refers to it weakly (thread ids), yet the reference still
 *   names GLIBC_2.30, and ld.so refuses a library needing a version its glibc lacks. A hidden
 *   definition here, the system call itself, satisfies the reference inside the library; it is
 *   not exported, so no program's gettid is replaced.
 *
 * statx (GLIBC_2.28, weak, std's file metadata) is then the highest version needed.
 * tests/c/floor_test.sh checks it with objdump.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__)
__asm__(".symver azmi_original_pow, pow@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver azmi_original_pow, pow@GLIBC_2.17");
#else
#error "glibc_floor.c: name this architecture's first pow version"
#endif

double azmi_original_pow(double x, double y);

__attribute__((visibility("hidden"))) double __wrap_pow(double x, double y) {
    return azmi_original_pow(x, y);
}

__attribute__((visibility("hidden"))) pid_t gettid(void) {
    return (pid_t)syscall(SYS_gettid);
}
