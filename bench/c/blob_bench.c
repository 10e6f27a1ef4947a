/*
 * Blob storage benchmark driver: one azmi_blob operation per run, timed, for
 * bench/blob-bench.sh. Not a test: it asserts nothing beyond the call's status.
 *
 *   blob_bench <account-url> upload   <local> <container> <name>
 *   blob_bench <account-url> download <container> <name> <local>
 *   blob_bench <account-url> container <container>
 *
 * upload/download overwrite their target (AZMI_BLOB_OVERWRITE). Every run first calls
 * azmi_blob_create_container (which fetches and caches the token and opens the TLS connection;
 * outside the clock; for "container" that is the whole job). Prints one line:
 * "<op> <bytes> bytes <seconds> s" where seconds covers the azmi_blob_upload / azmi_blob_download
 * call only.
 *
 * Credentials: the SAS in the environment variable BLOB_BENCH_SAS when set, else the
 * system-assigned identity's token from AZMI_IMDS_ENDPOINT; the CA bundle from AZMI_CA_FILE
 * (azmi-emulator's CA and Azurite's certificate), as for any C program.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "azmi.h"

#define BENCH_NAME "blob_bench"
#include "bench.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr,
                "usage: %s <account-url> upload <local> <container> <name>\n"
                "       %s <account-url> download <container> <name> <local>\n"
                "       %s <account-url> container <container>\n",
                argv[0], argv[0], argv[0]);
        return 2;
    }
    const char *account = argv[1], *op = argv[2];
    const char *container = strcmp(op, "upload") == 0 && argc == 6 ? argv[4] : argv[3];
    const char *sas = getenv("BLOB_BENCH_SAS");
    if (sas && !*sas) sas = NULL;

    azmi_blob *blob = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_blob_new(account, sas, NULL, &blob, &err);
    if (s != AZMI_OK) return fail("azmi_blob_new", s, err);

    /* Warm-up outside the clock: the token request and the first TLS connection. */
    bool created = false;
    s = azmi_blob_create_container(blob, container, NULL, &created, &err);
    if (s != AZMI_OK) return fail("azmi_blob_create_container", s, err);

    int rc = 0;
    double start = now();
    if (strcmp(op, "upload") == 0 && argc == 6) {
        s = azmi_blob_upload(blob, argv[3], argv[4], argv[5], AZMI_BLOB_OVERWRITE, NULL, NULL, NULL, &err);
        double secs = now() - start;
        if (s != AZMI_OK) return fail("azmi_blob_upload", s, err);
        struct stat st;
        if (stat(argv[3], &st) != 0) {
            perror(argv[3]);
            return 1;
        }
        printf("upload %llu bytes %.3f s\n", (unsigned long long)st.st_size, secs);
    } else if (strcmp(op, "download") == 0 && argc == 6) {
        s = azmi_blob_download(blob, argv[3], argv[4], argv[5], AZMI_BLOB_OVERWRITE, NULL, NULL, NULL, &err);
        double secs = now() - start;
        if (s != AZMI_OK) return fail("azmi_blob_download", s, err);
        struct stat st;
        if (stat(argv[5], &st) != 0) {
            perror(argv[5]);
            return 1;
        }
        printf("download %llu bytes %.3f s\n", (unsigned long long)st.st_size, secs);
    } else if (strcmp(op, "container") == 0 && argc == 4) {
        printf("container %s %s\n", container, created ? "created" : "exists");
    } else {
        fprintf(stderr, "blob_bench: unknown operation or wrong arguments: %s\n", op);
        rc = 2;
    }
    azmi_blob_free(blob);
    return rc;
}
