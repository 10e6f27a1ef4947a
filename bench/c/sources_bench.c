/*
 * Managed identity source figures for BENCHMARKS.md (bench/sources-bench.sh runs it):
 *
 *   sources_bench tokens N   N cold tokens (AZMI_FLAG_FORCE_REFRESH) from the source the
 *                            environment selects, one after another on one thread, after one
 *                            warm-up token (connection, Arc's challenge file read…). Prints
 *                            "<source> tokens N mean_us median_us p99_us".
 *   sources_bench detect N   the first azmi_identity_new of the process (detection from the
 *                            environment), then N more; prints
 *                            "<source> detect first_us mean_us".
 *
 * Figures, not a test: a failed call prints its message and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"

#define ARM "https://management.azure.com/"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static azmi_identity *new_identity(void) {
    azmi_identity *id = NULL;
    azmi_error *err = NULL;
    if (azmi_identity_new(NULL, NULL, NULL, &id, &err) != AZMI_OK) {
        fprintf(stderr, "azmi_identity_new: %s\n", azmi_error_message(err));
        azmi_error_free(err);
        exit(1);
    }
    return id;
}

static void cold_token(const azmi_identity *id) {
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    if (azmi_get_token(ARM, id, AZMI_FLAG_FORCE_REFRESH, NULL, &token, &err) != AZMI_OK) {
        fprintf(stderr, "azmi_get_token: %s\n", azmi_error_message(err));
        azmi_error_free(err);
        exit(1);
    }
    azmi_token_free(token);
}

static int bench_tokens(long n) {
    azmi_identity *id = new_identity();
    double *t = malloc(sizeof(double) * (size_t)n);
    double sum = 0;
    long i;
    if (t == NULL) return 1;
    cold_token(id);
    for (i = 0; i < n; i++) {
        double start = now_us();
        cold_token(id);
        t[i] = now_us() - start;
        sum += t[i];
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    printf("%s tokens %ld %.1f %.1f %.1f\n", azmi_identity_source(id), n, sum / (double)n,
           t[n / 2], t[(size_t)((double)n * 0.99)]);
    free(t);
    azmi_identity_free(id);
    azmi_shutdown(NULL);
    return 0;
}

static int bench_detect(long n) {
    double start = now_us(), first, sum = 0;
    azmi_identity *id = new_identity();
    long i;
    first = now_us() - start;
    printf("%s detect ", azmi_identity_source(id));
    azmi_identity_free(id);
    for (i = 0; i < n; i++) {
        start = now_us();
        id = new_identity();
        sum += now_us() - start;
        azmi_identity_free(id);
    }
    printf("%.1f %.2f\n", first, sum / (double)n);
    azmi_shutdown(NULL);
    return 0;
}

int main(int argc, char **argv) {
    long n;
    if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: sources_bench tokens|detect N\n");
        return 2;
    }
    if (strcmp(argv[1], "tokens") == 0) return bench_tokens(n);
    if (strcmp(argv[1], "detect") == 0) return bench_detect(n);
    fprintf(stderr, "usage: sources_bench tokens|detect N\n");
    return 2;
}
