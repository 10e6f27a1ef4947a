/*
 * Data Lake benchmark driver: one azmi_adls operation per run, timed, for bench/adls-bench.sh.
 * Not a test: it asserts nothing beyond the call's status.
 *
 *   adls_bench <account-url> <webhdfs|dfs> upload   <local> <remote>
 *   adls_bench <account-url> <webhdfs|dfs> download <remote> <local>
 *   adls_bench <account-url> <webhdfs|dfs> list     <remote-dir>
 *   adls_bench <account-url> <webhdfs|dfs> populate <remote-dir> <count> <threads>
 *
 * upload/download overwrite their target. populate creates <count> empty files
 * <remote-dir>/e000000… with azmi_adls_create from <threads> threads (set-up for list; not a
 * measurement). Prints one line: "<op> <count> <unit> <seconds> s" where seconds covers the
 * azmi call(s) only, not process start-up or the token request (a stat before the clock starts
 * fetches and caches the token).
 *
 * The token endpoint and the CA come from the environment, as for any C program:
 * AZMI_IMDS_ENDPOINT and AZMI_CA_FILE (azmi-emulator prints both).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "azmi.h"

#define BENCH_NAME "adls_bench"
#include "bench.h"

static bool count_item(void *userdata, const azmi_adls_item *item) {
    (void)item;
    (*(uint64_t *)userdata)++;
    return true;
}

struct populate {
    const azmi_adls *adls;
    const char *dir;
    long count;
    atomic_long next;
    atomic_int failed;
};

static void *populate_worker(void *arg) {
    struct populate *p = arg;
    char path[4096];
    for (;;) {
        long i = atomic_fetch_add(&p->next, 1);
        if (i >= p->count || atomic_load(&p->failed)) break;
        snprintf(path, sizeof path, "%s/e%06ld", p->dir, i);
        azmi_error *err = NULL;
        azmi_status s = azmi_adls_create(p->adls, path, NULL, 0, AZMI_ADLS_OVERWRITE, NULL, &err);
        if (s != AZMI_OK) {
            if (!atomic_exchange(&p->failed, 1)) fail(path, s, err);
            else azmi_error_free(err);
            break;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s <account-url> <webhdfs|dfs> upload <local> <remote>\n"
                "       %s <account-url> <webhdfs|dfs> download <remote> <local>\n"
                "       %s <account-url> <webhdfs|dfs> list <remote-dir>\n"
                "       %s <account-url> <webhdfs|dfs> populate <remote-dir> <count> <threads>\n",
                argv[0], argv[0], argv[0], argv[0]);
        return 2;
    }
    const char *account = argv[1];
    uint32_t protocol = strcmp(argv[2], "dfs") == 0 ? AZMI_ADLS_DFS : AZMI_ADLS_WEBHDFS;
    const char *op = argv[3];

    azmi_adls *adls = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_adls_new(account, protocol, NULL, &adls, &err);
    if (s != AZMI_OK) return fail("azmi_adls_new", s, err);

    /* Warm-up outside the clock: the token request and the first TLS connection. */
    azmi_adls_item *root = NULL;
    s = azmi_adls_stat(adls, "/", NULL, &root, &err);
    if (s != AZMI_OK) return fail("azmi_adls_stat /", s, err);
    azmi_adls_item_free(root);

    int rc = 0;
    double start = now();
    if (strcmp(op, "upload") == 0 && argc == 6) {
        s = azmi_adls_upload(adls, argv[4], argv[5], AZMI_ADLS_OVERWRITE, NULL, NULL, NULL, &err);
        double secs = now() - start;
        if (s != AZMI_OK) return fail("azmi_adls_upload", s, err);
        azmi_adls_item *item = NULL;
        s = azmi_adls_stat(adls, argv[5], NULL, &item, &err);
        if (s != AZMI_OK) return fail("azmi_adls_stat", s, err);
        printf("upload %llu bytes %.3f s\n", (unsigned long long)azmi_adls_item_length(item), secs);
        azmi_adls_item_free(item);
    } else if (strcmp(op, "download") == 0 && argc == 6) {
        s = azmi_adls_download(adls, argv[4], argv[5], AZMI_ADLS_OVERWRITE, NULL, NULL, NULL, &err);
        double secs = now() - start;
        if (s != AZMI_OK) return fail("azmi_adls_download", s, err);
        struct stat st;
        if (stat(argv[5], &st) != 0) {
            perror(argv[5]);
            return 1;
        }
        printf("download %llu bytes %.3f s\n", (unsigned long long)st.st_size, secs);
    } else if (strcmp(op, "list") == 0 && argc == 5) {
        uint64_t items = 0;
        s = azmi_adls_list(adls, argv[4], 0, NULL, count_item, &items, &err);
        double secs = now() - start;
        if (s != AZMI_OK) return fail("azmi_adls_list", s, err);
        printf("list %llu items %.3f s\n", (unsigned long long)items, secs);
    } else if (strcmp(op, "populate") == 0 && argc == 7) {
        struct populate p = {.adls = adls, .dir = argv[4], .count = atol(argv[5])};
        atomic_init(&p.next, 0);
        atomic_init(&p.failed, 0);
        int threads = atoi(argv[6]);
        if (threads < 1) threads = 1;
        if (threads > 64) threads = 64;
        pthread_t tid[64];
        for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, populate_worker, &p);
        for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        if (atomic_load(&p.failed)) rc = 1;
        else printf("populate %ld items %.3f s\n", p.count, now() - start);
    } else {
        fprintf(stderr, "adls_bench: unknown operation or wrong arguments: %s\n", op);
        rc = 2;
    }
    azmi_adls_free(adls);
    return rc;
}
