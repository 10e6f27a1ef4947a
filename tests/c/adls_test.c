/*
 * The Data Lake tutorial flow through the C ABI, on Gen1 (WebHDFS) and Gen2 (DFS), against
 * azmi-emulator over HTTPS: list the root, make TestFolder, create Test1.txt with "Test file.",
 * list it, read it back, upload and download a 10 MB file with progress, and the error paths.
 * Run by tests/c/run.sh under valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT (the emulator's token URL), AZMI_CA_FILE (its CA) and
 * AZMI_ADLS_BASE (its https base URL); run.sh exports all three.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"
#include "check.h"

#define TEN_MB (10 * 1024 * 1024)

struct listing {
    int count;
    int found_folder;
    int found_file;
    uint64_t file_length;
    int stop_after;
};

static bool on_item(void *userdata, const azmi_adls_item *item) {
    struct listing *l = userdata;
    l->count++;
    if (strcmp(azmi_adls_item_name(item), "TestFolder") == 0 && azmi_adls_item_is_directory(item)) {
        l->found_folder = 1;
    }
    if (strcmp(azmi_adls_item_name(item), "Test1.txt") == 0 && !azmi_adls_item_is_directory(item) &&
        strcmp(azmi_adls_item_path(item), "/TestFolder/Test1.txt") == 0) {
        l->found_file = 1;
        l->file_length = azmi_adls_item_length(item);
    }
    return l->stop_after == 0 || l->count < l->stop_after;
}

struct progress {
    int calls;
    uint64_t first_done;
    uint64_t last_done;
    int64_t last_total;
    int went_back;
};

static void on_progress(void *userdata, uint64_t done, int64_t total) {
    struct progress *p = userdata;
    if (done < p->last_done) p->went_back = 1;
    if (p->calls == 0) p->first_done = done;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

static int write_pattern(const char *path, size_t n) {
    FILE *f = fopen(path, "wb");
    size_t i;
    if (f == NULL) return 0;
    for (i = 0; i < n; i++) {
        if (fputc((int)((i * 7 + i / 4096) & 0xFF), f) == EOF) {
            fclose(f);
            return 0;
        }
    }
    return fclose(f) == 0;
}

static int same_files(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb");
    FILE *fb = fopen(b, "rb");
    int same = fa != NULL && fb != NULL;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void tutorial(const char *account, uint32_t protocol, const char *tmpdir) {
    azmi_adls *adls = NULL;
    azmi_error *err = NULL;
    azmi_adls_item *item = NULL;
    azmi_bytes *bytes = NULL;
    struct listing l;
    struct progress p;
    char local[512], back[512];
    azmi_status s;

    s = report(azmi_adls_new(account, protocol, NULL, &adls, &err), err, "open");
    err = NULL;
    CHECK(s == AZMI_OK, "azmi_adls_new");
    if (s != AZMI_OK) return;
    CHECK(azmi_adls_protocol(adls) == protocol, "protocol");
    CHECK(strncmp(azmi_adls_base_url(adls), "https://", 8) == 0, "base url");

    /* List the root, make TestFolder, create Test1.txt. */
    memset(&l, 0, sizeof l);
    s = report(azmi_adls_list(adls, "/", 0, NULL, on_item, &l, &err), err, "list /");
    err = NULL;
    CHECK(s == AZMI_OK, "list the root");
    s = report(azmi_adls_mkdir(adls, "/TestFolder", NULL, &err), err, "mkdir");
    err = NULL;
    CHECK(s == AZMI_OK, "mkdir TestFolder");
    s = report(azmi_adls_create(adls, "/TestFolder/Test1.txt", (const uint8_t *)"Test file.", 10, 0,
                                NULL, &err),
               err, "create");
    err = NULL;
    CHECK(s == AZMI_OK, "create Test1.txt");

    /* Never overwritten without the flag; the error names the path. */
    s = azmi_adls_create(adls, "/TestFolder/Test1.txt", (const uint8_t *)"Other", 5, 0, NULL, &err);
    CHECK(s == AZMI_CONFLICT, "create again is a conflict");
    CHECK(err != NULL && strstr(azmi_error_message(err), "/TestFolder/Test1.txt") != NULL,
          "the conflict names the path");
    azmi_error_free(err);
    err = NULL;

    memset(&l, 0, sizeof l);
    s = report(azmi_adls_list(adls, "/", 0, NULL, on_item, &l, &err), err, "list /");
    err = NULL;
    CHECK(s == AZMI_OK && l.found_folder, "TestFolder listed");
    memset(&l, 0, sizeof l);
    s = report(azmi_adls_list(adls, "/TestFolder", 0, NULL, on_item, &l, &err), err, "list");
    err = NULL;
    CHECK(s == AZMI_OK && l.count == 1 && l.found_file && l.file_length == 10, "Test1.txt listed");

    s = report(azmi_adls_read(adls, "/TestFolder/Test1.txt", 0, -1, NULL, &bytes, &err), err, "read");
    err = NULL;
    CHECK(s == AZMI_OK && azmi_bytes_len(bytes) == 10 &&
              memcmp(azmi_bytes_data(bytes), "Test file.", 10) == 0,
          "read back");
    azmi_bytes_free(bytes);
    bytes = NULL;

    s = report(azmi_adls_stat(adls, "/TestFolder/Test1.txt", NULL, &item, &err), err, "stat");
    err = NULL;
    CHECK(s == AZMI_OK && azmi_adls_item_length(item) == 10 &&
              strcmp(azmi_adls_item_name(item), "Test1.txt") == 0 &&
              azmi_adls_item_modified(item) > 0 && azmi_adls_item_owner(item)[0] != '\0',
          "stat");
    azmi_adls_item_free(item);
    item = NULL;

    /* A 10 MB file up and down, with progress. */
    snprintf(local, sizeof local, "%s/ten-%u.bin", tmpdir, (unsigned)protocol);
    snprintf(back, sizeof back, "%s/back-%u.bin", tmpdir, (unsigned)protocol);
    CHECK(write_pattern(local, TEN_MB), "write the local file");
    memset(&p, 0, sizeof p);
    s = report(azmi_adls_upload(adls, local, "/TestFolder/ten.bin", 0, NULL, on_progress, &p, &err),
               err, "upload");
    err = NULL;
    CHECK(s == AZMI_OK, "upload 10 MB");
    /* From 0 to the whole, never back. How many reports come between depends on the time the
     * transfer takes (a streamed request reports every 100 ms): a fast machine may give none,
     * so only the ends are asserted. */
    CHECK(p.calls >= 2 && p.first_done == 0 && p.last_done == TEN_MB && p.last_total == TEN_MB &&
              !p.went_back,
          "upload progress");
    memset(&p, 0, sizeof p);
    s = report(azmi_adls_download(adls, "/TestFolder/ten.bin", back, 0, NULL, on_progress, &p, &err),
               err, "download");
    err = NULL;
    CHECK(s == AZMI_OK, "download 10 MB");
    CHECK(p.calls >= 2 && p.first_done == 0 && p.last_done == TEN_MB && p.last_total == TEN_MB &&
              !p.went_back,
          "download progress");
    CHECK(same_files(local, back), "downloaded bytes match");
    s = azmi_adls_download(adls, "/TestFolder/ten.bin", back, 0, NULL, NULL, NULL, NULL);
    CHECK(s == AZMI_CONFLICT, "an existing destination is refused");

    /* Error paths. */
    item = (azmi_adls_item *)&l; /* must stay untouched on failure */
    s = azmi_adls_stat(adls, "/TestFolder/missing.txt", NULL, &item, &err);
    CHECK(s == AZMI_NOT_FOUND, "missing file is not found");
    CHECK(item == (azmi_adls_item *)&l, "no output on failure");
    CHECK(err != NULL && azmi_error_http_status(err) == 404, "HTTP 404");
    CHECK(err != NULL && azmi_error_service_code(err) != NULL, "service code");
    CHECK(err != NULL && strstr(azmi_error_message(err), "/TestFolder/missing.txt") != NULL,
          "the message names the path");
    azmi_error_free(err);
    err = NULL;
    item = NULL;
    s = azmi_adls_mkdir(adls, "/a/../b", NULL, NULL);
    CHECK(s == AZMI_INVALID_ARGUMENT, ".. is refused");
    s = azmi_adls_stat(adls, NULL, NULL, &item, NULL);
    CHECK(s == AZMI_INVALID_ARGUMENT && item == NULL, "NULL path");
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    s = azmi_adls_list(adls, "/TestFolder", 0, NULL, on_item, &l, NULL);
    CHECK(s == AZMI_CANCELLED && l.count == 1, "the callback stops the listing");

    /* Move, then clean up. */
    s = report(azmi_adls_move(adls, "/TestFolder/Test1.txt", "/TestFolder/Moved.txt", NULL, &err), err,
               "move");
    err = NULL;
    CHECK(s == AZMI_OK, "move");
    s = azmi_adls_remove(adls, "/TestFolder", 0, NULL, NULL);
    CHECK(s == AZMI_CONFLICT, "a non-empty folder needs AZMI_ADLS_RECURSIVE");
    s = report(azmi_adls_remove(adls, "/TestFolder", AZMI_ADLS_RECURSIVE, NULL, &err), err, "remove");
    err = NULL;
    CHECK(s == AZMI_OK, "remove recursively");
    s = azmi_adls_stat(adls, "/TestFolder", NULL, &item, NULL);
    CHECK(s == AZMI_NOT_FOUND, "gone");

    remove(local);
    remove(back);
    azmi_adls_free(adls);
}

int main(void) {
    const char *base = getenv("AZMI_ADLS_BASE");
    char tmpdir[300];
    char gen2[512];
    if (base == NULL || getenv("AZMI_IMDS_ENDPOINT") == NULL || getenv("AZMI_CA_FILE") == NULL) {
        fprintf(stderr, "set AZMI_IMDS_ENDPOINT, AZMI_CA_FILE and AZMI_ADLS_BASE (tests/c/run.sh does)\n");
        return 2;
    }
    if (check_temp_folder(tmpdir, sizeof tmpdir, "azmi-adls-c") == NULL) {
        perror("a temporary folder");
        return 2;
    }
    check_prefix = "Gen1: ";
    tutorial(base, AZMI_ADLS_WEBHDFS, tmpdir);
    check_prefix = "Gen2: ";
    snprintf(gen2, sizeof gen2, "%s/fs", base);
    tutorial(gen2, AZMI_ADLS_DFS, tmpdir);
    check_remove_folder(tmpdir);
    azmi_shutdown(NULL);
    printf("C adls_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
