/*
 * What the C benchmarks share: a monotonic clock and the failure report. A benchmark defines
 * BENCH_NAME (its name, for messages) before including this file.
 */
#ifndef AZMI_BENCH_H
#define AZMI_BENCH_H

#include <stdio.h>
#include <time.h>

#include "azmi.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench.h"
#endif

/* Seconds on the monotonic clock. */
static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reports a failed call on stderr and frees its error; returns 1 (the exit code). */
static inline int fail(const char *what, azmi_status s, azmi_error *err) {
    fprintf(stderr, BENCH_NAME ": %s failed: %s: %s\n", what, azmi_status_name(s),
            err ? azmi_error_message(err) : "");
    azmi_error_free(err);
    return 1;
}

#endif /* AZMI_BENCH_H */
