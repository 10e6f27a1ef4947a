/*
 * Key Vault benchmark driver for bench/keyvault-bench.sh: azmi_keyvault_get of one secret in a
 * loop, after warm-up calls (the first fetches the vault's challenge and the token, which the
 * library then caches), timing every call. Figures, not a test: it checks only each call's
 * status and the value's length.
 *
 *   keyvault_bench <vault-url> <secret-name> <calls> <warm-up calls>
 *
 * Prints one line: "azmi-c <calls> calls mean <µs> median <µs> p99 <µs> min <µs> total <s>".
 * The token endpoint and the CA come from the environment (AZMI_IMDS_ENDPOINT, AZMI_CA_FILE),
 * as for any C program. Never prints the value.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"

#define BENCH_NAME "keyvault_bench"
#include "bench.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int get(const char *vault, const char *name, size_t *len_out) {
    azmi_secret *secret = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_keyvault_get(vault, name, NULL, NULL, NULL, NULL, &secret, &err);
    if (s != AZMI_OK) {
        fprintf(stderr, "keyvault_bench: azmi_keyvault_get failed: %s: %s\n", azmi_status_name(s),
                err ? azmi_error_message(err) : "");
        azmi_error_free(err);
        return 1;
    }
    *len_out = azmi_secret_value_len(secret);
    azmi_secret_free(secret);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s <vault-url> <secret-name> <calls> <warm-up calls>\n", argv[0]);
        return 2;
    }
    const char *vault = argv[1], *name = argv[2];
    long calls = atol(argv[3]), warmup = atol(argv[4]);
    if (calls < 1 || warmup < 1) {
        fprintf(stderr, "keyvault_bench: calls and warm-up calls must be at least 1\n");
        return 2;
    }
    size_t expected = 0, len = 0;
    for (long i = 0; i < warmup; i++) {
        if (get(vault, name, &expected)) return 1;
    }
    double *us = malloc(sizeof(double) * (size_t)calls);
    if (!us) return 1;
    double start = now();
    for (long i = 0; i < calls; i++) {
        double t0 = now();
        if (get(vault, name, &len)) return 1;
        us[i] = (now() - t0) * 1e6;
        if (len != expected) {
            fprintf(stderr, "keyvault_bench: the value's length changed\n");
            return 1;
        }
    }
    double total = now() - start;
    qsort(us, (size_t)calls, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < calls; i++) sum += us[i];
    long p99 = (long)((double)calls * 0.99);
    if (p99 >= calls) p99 = calls - 1;
    printf("azmi-c %ld calls mean %.1f median %.1f p99 %.1f min %.1f total %.3f\n", calls, sum / (double)calls,
           us[calls / 2], us[p99], us[0], total);
    free(us);
    return 0;
}
