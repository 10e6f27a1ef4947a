/*
 * Proxy benchmark driver for bench/proxy-bench.sh: a warm token (azmi_get_token) and a Key
 * Vault secret get (azmi_keyvault_get), each in a loop after warm-up calls, with the proxy set
 * by azmi_set_proxy(<proxy>, <no_proxy>) first ("" and "": no proxy). Figures, not a test: it
 * checks only each call's status.
 *
 *   proxy_bench <label> <vault-url> <proxy> <no_proxy> <calls> <warm-up calls>
 *
 * Prints one line: "<label> token mean <µs> p99 <µs> keyvault mean <µs> median <µs> p99 <µs>".
 * The token endpoint and the CA come from the environment (AZMI_IMDS_ENDPOINT, AZMI_CA_FILE).
 * Never prints a token or a value.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"

#define BENCH_NAME "proxy_bench"
#include "bench.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int token(void) {
    azmi_token *t = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_get_token("https://vault.azure.net", NULL, 0, NULL, &t, &err);
    if (s != AZMI_OK) return fail("azmi_get_token", s, err);
    azmi_token_free(t);
    return 0;
}

static int secret(const char *vault) {
    azmi_secret *secret = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_keyvault_get(vault, "mi-test", NULL, NULL, NULL, NULL, &secret, &err);
    if (s != AZMI_OK) return fail("azmi_keyvault_get", s, err);
    azmi_secret_free(secret);
    return 0;
}

/* Times `calls` calls of one of the two, after `warmup`; sorts the microseconds into `us`. */
static int measure(int which, const char *vault, long calls, long warmup, double *us) {
    for (long i = 0; i < warmup; i++) {
        if (which == 0 ? token() : secret(vault)) return 1;
    }
    for (long i = 0; i < calls; i++) {
        double t0 = now();
        if (which == 0 ? token() : secret(vault)) return 1;
        us[i] = (now() - t0) * 1e6;
    }
    qsort(us, (size_t)calls, sizeof(double), cmp_double);
    return 0;
}

static double mean(const double *us, long n) {
    double sum = 0;
    for (long i = 0; i < n; i++) sum += us[i];
    return sum / (double)n;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s <label> <vault-url> <proxy> <no_proxy> <calls> <warm-up calls>\n", argv[0]);
        return 2;
    }
    const char *label = argv[1], *vault = argv[2], *proxy = argv[3], *no_proxy = argv[4];
    long calls = atol(argv[5]), warmup = atol(argv[6]);
    if (calls < 1 || warmup < 1) {
        fprintf(stderr, "proxy_bench: calls and warm-up calls must be at least 1\n");
        return 2;
    }
    azmi_error *err = NULL;
    azmi_status s = azmi_set_proxy(proxy, *no_proxy ? no_proxy : NULL, &err);
    if (s != AZMI_OK) return fail("azmi_set_proxy", s, err);
    double *us = malloc(sizeof(double) * (size_t)calls);
    if (!us) return 1;
    long p99 = (long)((double)calls * 0.99);
    if (p99 >= calls) p99 = calls - 1;
    if (measure(0, vault, calls, warmup, us)) return 1;
    double token_mean = mean(us, calls), token_p99 = us[p99];
    if (measure(1, vault, calls, warmup, us)) return 1;
    printf("%s token mean %.2f p99 %.2f keyvault mean %.1f median %.1f p99 %.1f\n", label, token_mean, token_p99,
           mean(us, calls), us[calls / 2], us[p99]);
    free(us);
    return 0;
}
