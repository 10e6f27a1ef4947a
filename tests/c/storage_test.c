/*
 * The tutorials' Storage, SAS and Resource Manager flows through the C ABI:
 * - Resource Manager: read the resource group DevTest with the system-assigned identity and with
 *   the user-assigned one (by client id), and the ResourceGroupNotFound error (azmi-emulator).
 * - Storage: upload hello_world.txt to Azurite with the identity's token, read back
 *   "Hello world! :)"; an existing blob is not overwritten without AZMI_BLOB_OVERWRITE.
 * - SAS: mint a service SAS with azmi_arm_list_sas (azmi-emulator holds Azurite's account key),
 *   open the account with it, upload test.txt, download it to test2.txt, compare the bytes.
 * Run by tests/c/run.sh under valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT, AZMI_CA_FILE (the emulator's CA and Azurite's certificate),
 * AZMI_ARM_ENDPOINT and AZMI_BLOB_ACCOUNT (https://127.0.0.1:<port>/devstoreaccount1); run.sh
 * exports them.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"
#include "check.h"

#define SUBSCRIPTION "00000000-0000-0000-0000-000000000000"
#define UAMI_CLIENT_ID "00001111-aaaa-2222-bbbb-3333cccc4444"
#define HELLO "Hello world! :)"

static char folder[300];

static void local_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", folder, name);
}

static int write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* The whole file in a malloc'd buffer (*len its size), or NULL. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *data = NULL;
    size_t size = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        char *grown = realloc(data, size + n);
        if (grown == NULL) {
            free(data);
            fclose(f);
            return NULL;
        }
        data = grown;
        memcpy(data + size, chunk, n);
        size += n;
    }
    fclose(f);
    *len = size;
    return data != NULL ? data : calloc(1, 1);
}

static void resource_group(const azmi_identity *identity, const char *who) {
    azmi_string *json = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_arm_request("GET", "/subscriptions/" SUBSCRIPTION "/resourcegroups/DevTest",
                                     "2021-04-01", NULL, identity, NULL, &json, &err);
    CHECK(report(s, err, who) == AZMI_OK, "read the resource group DevTest");
    if (s == AZMI_OK) {
        const char *text = azmi_string_data(json);
        CHECK(strstr(text, "\"name\":\"DevTest\"") != NULL, "its name");
        CHECK(strstr(text, "\"/subscriptions/" SUBSCRIPTION "/resourceGroups/DevTest\"") != NULL,
              "its id");
        CHECK(strstr(text, "\"environment\":\"dev\"") != NULL, "its tags");
        CHECK(strstr(text, "\"location\":\"eastus\"") != NULL, "its location");
        azmi_string_free(json);
    }
}

static void arm(const char *endpoint) {
    azmi_error *err = NULL;
    azmi_status s = azmi_set_arm_endpoint(endpoint, &err);
    CHECK(report(s, err, "set endpoint") == AZMI_OK, "set the ARM endpoint");

    resource_group(NULL, "DevTest, system-assigned");

    azmi_identity *uami = NULL;
    err = NULL;
    s = azmi_identity_new(UAMI_CLIENT_ID, NULL, NULL, &uami, &err);
    CHECK(report(s, err, "user-assigned identity") == AZMI_OK, "select the user-assigned identity");
    if (s == AZMI_OK) {
        resource_group(uami, "DevTest, user-assigned");
        azmi_identity_free(uami);
    }

    azmi_string *json = NULL;
    err = NULL;
    s = azmi_arm_request("GET", "/subscriptions/" SUBSCRIPTION "/resourcegroups/NoSuchGroup",
                         "2021-04-01", NULL, NULL, NULL, &json, &err);
    CHECK(s == AZMI_NOT_FOUND && json == NULL, "a missing group is AZMI_NOT_FOUND");
    CHECK(err != NULL && azmi_error_http_status(err) == 404, "HTTP 404");
    CHECK(err != NULL && azmi_error_service_code(err) != NULL &&
              strcmp(azmi_error_service_code(err), "ResourceGroupNotFound") == 0,
          "ResourceGroupNotFound");
    CHECK(err != NULL && strstr(azmi_error_message(err), "NoSuchGroup") != NULL,
          "the message names the group");
    azmi_error_free(err);
}

/* Storage: hello_world.txt uploaded and read back with the identity's token. */
static void token_flow(const char *account) {
    azmi_blob *blob = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_blob_new(account, NULL, NULL, &blob, &err);
    CHECK(report(s, err, "blob_new (token)") == AZMI_OK, "open the account with the token");
    if (s != AZMI_OK) {
        return;
    }
    bool created = false;
    err = NULL;
    s = azmi_blob_create_container(blob, "tutorial", NULL, &created, &err);
    CHECK(report(s, err, "create container") == AZMI_OK && created, "create the container");

    char hello[512];
    local_path(hello, sizeof hello, "hello_world.txt");
    CHECK(write_file(hello, HELLO, strlen(HELLO)) == 0, "write hello_world.txt");
    err = NULL;
    s = azmi_blob_upload(blob, hello, "tutorial", "hello_world.txt", 0, NULL, NULL, NULL, &err);
    CHECK(report(s, err, "upload hello_world.txt") == AZMI_OK, "upload hello_world.txt");

    azmi_bytes *bytes = NULL;
    err = NULL;
    s = azmi_blob_read(blob, "tutorial", "hello_world.txt", NULL, &bytes, &err);
    CHECK(report(s, err, "read hello_world.txt") == AZMI_OK, "read hello_world.txt");
    if (s == AZMI_OK) {
        CHECK(azmi_bytes_len(bytes) == strlen(HELLO) &&
                  memcmp(azmi_bytes_data(bytes), HELLO, strlen(HELLO)) == 0,
              "it reads \"Hello world! :)\"");
        azmi_bytes_free(bytes);
    }

    /* Overwriting needs the flag. */
    err = NULL;
    s = azmi_blob_upload(blob, hello, "tutorial", "hello_world.txt", 0, NULL, NULL, NULL, &err);
    CHECK(s == AZMI_CONFLICT, "an existing blob is AZMI_CONFLICT");
    CHECK(err != NULL && azmi_error_status(err) == AZMI_CONFLICT, "the error says so");
    azmi_error_free(err);
    err = NULL;
    s = azmi_blob_write(blob, "tutorial", "hello_world.txt", (const uint8_t *)"bye", 3,
                        AZMI_BLOB_OVERWRITE, NULL, &err);
    CHECK(report(s, err, "overwrite") == AZMI_OK, "AZMI_BLOB_OVERWRITE replaces it");

    err = NULL;
    bytes = NULL;
    s = azmi_blob_read(blob, "tutorial", "no-such-blob.txt", NULL, &bytes, &err);
    CHECK(s == AZMI_NOT_FOUND && bytes == NULL, "a missing blob is AZMI_NOT_FOUND");
    azmi_error_free(err);

    /* The SAS flow's container (a container SAS cannot create it). */
    err = NULL;
    s = azmi_blob_create_container(blob, "sas", NULL, NULL, &err);
    CHECK(report(s, err, "create container sas") == AZMI_OK, "create the SAS container");
    azmi_blob_free(blob);
}

/* SAS: listServiceSas, then upload test.txt and download it to test2.txt with the SAS. */
static void sas_flow(const char *account) {
    char expiry[32];
    time_t later = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&later, &tm);
    strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char request[512];
    snprintf(request, sizeof request,
             "{\"canonicalizedResource\":\"/blob/devstoreaccount1/sas\",\"signedResource\":\"c\","
             "\"signedPermission\":\"rcw\",\"signedProtocol\":\"https\",\"signedExpiry\":\"%s\"}",
             expiry);

    azmi_string *sas = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_arm_list_sas(SUBSCRIPTION, "azmi-rg", "devstoreaccount1", request, NULL,
                                      NULL, &sas, &err);
    CHECK(report(s, err, "listServiceSas") == AZMI_OK, "mint a service SAS");
    if (s != AZMI_OK) {
        return;
    }
    azmi_blob *blob = NULL;
    err = NULL;
    s = azmi_blob_new(account, azmi_string_data(sas), NULL, &blob, &err);
    azmi_string_free(sas); /* copied by azmi_blob_new; wiped here */
    CHECK(report(s, err, "blob_new (SAS)") == AZMI_OK, "open the account with the SAS");
    if (s != AZMI_OK) {
        return;
    }

    char test[512], test2[512];
    local_path(test, sizeof test, "test.txt");
    local_path(test2, sizeof test2, "test2.txt");
    size_t len = 200000;
    char *data = malloc(len);
    if (data == NULL) {
        CHECK(0, "malloc");
        azmi_blob_free(blob);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        data[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    }
    CHECK(write_file(test, data, len) == 0, "write test.txt");
    err = NULL;
    s = azmi_blob_upload(blob, test, "sas", "test.txt", 0, NULL, NULL, NULL, &err);
    CHECK(report(s, err, "upload test.txt") == AZMI_OK, "upload test.txt with the SAS");
    err = NULL;
    s = azmi_blob_download(blob, "sas", "test.txt", test2, 0, NULL, NULL, NULL, &err);
    CHECK(report(s, err, "download test2.txt") == AZMI_OK, "download it to test2.txt");
    size_t got_len = 0;
    char *got = read_file(test2, &got_len);
    CHECK(got != NULL && got_len == len && memcmp(got, data, len) == 0, "test2.txt == test.txt");
    free(got);

    /* A download never replaces an existing local file without the flag. */
    err = NULL;
    s = azmi_blob_download(blob, "sas", "test.txt", test2, 0, NULL, NULL, NULL, &err);
    CHECK(s == AZMI_CONFLICT, "an existing test2.txt is AZMI_CONFLICT");
    azmi_error_free(err);

    free(data);
    azmi_blob_free(blob);
    remove(test);
    remove(test2);
}

int main(void) {
    const char *endpoint = getenv("AZMI_ARM_ENDPOINT");
    const char *account = getenv("AZMI_BLOB_ACCOUNT");
    if (endpoint == NULL || account == NULL || getenv("AZMI_IMDS_ENDPOINT") == NULL) {
        fprintf(stderr, "set AZMI_IMDS_ENDPOINT, AZMI_ARM_ENDPOINT and AZMI_BLOB_ACCOUNT (run.sh does)\n");
        return 2;
    }
    if (check_temp_folder(folder, sizeof folder, "azmi-storage-test") == NULL) {
        perror("a temporary folder");
        return 2;
    }
    arm(endpoint);
    token_flow(account);
    sas_flow(account);
    char hello[512];
    local_path(hello, sizeof hello, "hello_world.txt");
    remove(hello);
    check_remove_folder(folder);

    azmi_error *err = NULL;
    CHECK(report(azmi_shutdown(&err), err, "shutdown") == AZMI_OK, "shutdown");
    printf("storage_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
