/*
 * Key Vault secrets and Resource Manager (requests, SAS) through the C ABI, against
 * azmi-emulator over HTTPS: get the latest and an older version, list secrets and versions,
 * the not-found error, set (a value with NUL bytes, content type, tags, times, disabled; a new
 * version each time; bad arguments refused) and delete (soft, with the recovery id; the 409 of
 * the deleted name), the api-version (malformed, unknown to the vault, an older one), a generic ARM request that gathers every page, a service SAS and an
 * account SAS, and a SAS request refused before it is sent. Run by tests/c/run.sh under
 * valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT, AZMI_CA_FILE, AZMI_KEYVAULT_URL and AZMI_ARM_ENDPOINT; run.sh
 * exports them.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"
#include "check.h"

struct listing {
    int count;
    int disabled_seen;
    char older[64];
    char latest[64];
};

static bool on_secret(void *userdata, const azmi_secret *secret) {
    struct listing *l = userdata;
    l->count++;
    if (strcmp(azmi_secret_name(secret), "mi-disabled") == 0 && !azmi_secret_enabled(secret)) {
        l->disabled_seen = 1;
    }
    return true;
}

static bool on_version(void *userdata, const azmi_secret *secret) {
    struct listing *l = userdata;
    l->count++;
    if (strcmp(azmi_secret_version(secret), l->latest) != 0) {
        snprintf(l->older, sizeof l->older, "%s", azmi_secret_version(secret));
    }
    return true;
}

static void keyvault(const char *vault) {
    azmi_error *err = NULL;
    azmi_secret *secret = NULL;
    azmi_status s = azmi_keyvault_get(vault, "mi-test", NULL, NULL, NULL, NULL, &secret, &err);
    CHECK(report(s, err, "get mi-test") == AZMI_OK, "get the latest secret");
    if (s != AZMI_OK) {
        return;
    }
    const char *expected = "Hello from Key Vault";
    CHECK(azmi_secret_value_len(secret) == strlen(expected), "value length");
    CHECK(memcmp(azmi_secret_value(secret), expected, strlen(expected)) == 0, "value");
    CHECK(strcmp(azmi_secret_content_type(secret), "text/plain") == 0, "content type");
    CHECK(azmi_secret_enabled(secret), "enabled");
    CHECK(azmi_secret_created(secret) > 0 && azmi_secret_expires(secret) == 0, "times");
    CHECK(strstr(azmi_secret_tags(secret), "\"purpose\":\"azmi-tests\"") != NULL, "tags");

    struct listing versions = {0};
    snprintf(versions.latest, sizeof versions.latest, "%s", azmi_secret_version(secret));
    azmi_secret_free(secret);

    err = NULL;
    s = azmi_keyvault_list_versions(vault, "mi-test", NULL, NULL, NULL, on_version, &versions,
                                    &err);
    CHECK(report(s, err, "list versions") == AZMI_OK && versions.count == 2, "two versions");

    err = NULL;
    secret = NULL;
    s = azmi_keyvault_get(vault, "mi-test", versions.older, NULL, NULL, NULL, &secret, &err);
    CHECK(report(s, err, "get older") == AZMI_OK, "get an older version");
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_secret_value(secret), "Hello from Key Vault (version 1)") == 0,
              "older value");
        azmi_secret_free(secret);
    }

    struct listing all = {0};
    err = NULL;
    s = azmi_keyvault_list(vault, NULL, NULL, NULL, on_secret, &all, &err);
    CHECK(report(s, err, "list") == AZMI_OK && all.count == 32, "32 secrets over two pages");
    CHECK(all.disabled_seen, "the disabled secret is listed");

    err = NULL;
    secret = NULL;
    s = azmi_keyvault_get(vault, "no-such-secret", NULL, NULL, NULL, NULL, &secret, &err);
    CHECK(s == AZMI_NOT_FOUND && secret == NULL, "a missing secret is AZMI_NOT_FOUND");
    CHECK(err != NULL && azmi_error_http_status(err) == 404, "HTTP 404");
    CHECK(err != NULL && strstr(azmi_error_message(err), "no-such-secret") != NULL,
          "the message names the secret");
    azmi_error_free(err);
}

/* The api-version is the caller's to choose: a malformed one is refused before anything is sent,
 * one the vault does not know comes back as the vault's own 400 BadParameter, and an older one
 * the vault knows (7.4) works for gets and listings alike. */
static void keyvault_api_version(const char *vault) {
    azmi_error *err = NULL;
    azmi_secret *secret = NULL;
    azmi_status s = azmi_keyvault_get(vault, "mi-test", NULL, "7.5&x=y", NULL, NULL, &secret, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT && secret == NULL, "a malformed api-version is refused");
    CHECK(err != NULL && strstr(azmi_error_message(err), "7.6-preview.1") != NULL,
          "the message shows the expected form");
    azmi_error_free(err);

    err = NULL;
    s = azmi_keyvault_get(vault, "mi-test", NULL, "7.9", NULL, NULL, &secret, &err);
    CHECK(s == AZMI_SERVICE_ERROR && secret == NULL, "an unknown api-version is the vault's error");
    CHECK(err != NULL && azmi_error_http_status(err) == 400, "HTTP 400");
    CHECK(err != NULL && azmi_error_service_code(err) != NULL &&
              strcmp(azmi_error_service_code(err), "BadParameter") == 0,
          "the vault's code BadParameter");
    CHECK(err != NULL && strstr(azmi_error_message(err), "(7.9) is not recognized") != NULL,
          "the vault's message");
    azmi_error_free(err);

    struct listing all = {0};
    err = NULL;
    s = azmi_keyvault_list(vault, "7.9", NULL, NULL, on_secret, &all, &err);
    CHECK(s == AZMI_SERVICE_ERROR && all.count == 0, "listing at an unknown api-version fails");
    azmi_error_free(err);

    err = NULL;
    s = azmi_keyvault_get(vault, "mi-test", NULL, "7.4", NULL, NULL, &secret, &err);
    CHECK(report(s, err, "get at 7.4") == AZMI_OK, "get at api-version 7.4");
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_secret_value(secret), "Hello from Key Vault") == 0, "value at 7.4");
        azmi_secret_free(secret);
    }
    err = NULL;
    s = azmi_keyvault_list(vault, "7.4", NULL, NULL, on_secret, &all, &err);
    CHECK(report(s, err, "list at 7.4") == AZMI_OK && all.count == 32, "list at api-version 7.4");
    struct listing versions = {0};
    err = NULL;
    s = azmi_keyvault_list_versions(vault, "mi-test", "7.4", NULL, NULL, on_version, &versions,
                                    &err);
    CHECK(report(s, err, "list versions at 7.4") == AZMI_OK && versions.count == 2,
          "list versions at api-version 7.4");
}

static void arm(const char *endpoint) {
    azmi_error *err = NULL;
    azmi_status s = azmi_set_arm_endpoint(endpoint, &err);
    CHECK(report(s, err, "set endpoint") == AZMI_OK, "set the ARM endpoint");

    azmi_string *json = NULL;
    err = NULL;
    s = azmi_arm_request("GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups",
                         "2021-04-01", NULL, NULL, NULL, &json, &err);
    CHECK(report(s, err, "list resource groups") == AZMI_OK, "generic GET");
    if (s == AZMI_OK) {
        CHECK(strstr(azmi_string_data(json), "\"azmi-rg\"") != NULL, "azmi-rg listed");
        CHECK(strstr(azmi_string_data(json), "\"DevTest\"") != NULL, "DevTest listed");
        CHECK(strlen(azmi_string_data(json)) == azmi_string_len(json), "length");
        azmi_string_free(json);
    }

    const char *service =
        "{\"canonicalizedResource\":\"/blob/devstoreaccount1/uploads\",\"signedResource\":\"c\","
        "\"signedPermission\":\"rcw\",\"signedProtocol\":\"https\","
        "\"signedExpiry\":\"2099-01-01T00:00:00Z\"}";
    azmi_string *sas = NULL;
    err = NULL;
    s = azmi_arm_list_sas("00000000-0000-0000-0000-000000000000", "azmi-rg", "devstoreaccount1",
                          service, NULL, NULL, &sas, &err);
    CHECK(report(s, err, "listServiceSas") == AZMI_OK, "service SAS");
    if (s == AZMI_OK) {
        CHECK(strncmp(azmi_string_data(sas), "sv=", 3) == 0, "no leading ?");
        CHECK(strstr(azmi_string_data(sas), "sig=") != NULL, "signed");
        azmi_string_free(sas);
    }

    const char *account =
        "{\"signedServices\":\"b\",\"signedResourceTypes\":\"sco\",\"signedPermission\":\"rl\","
        "\"signedExpiry\":\"2099-01-01T00:00:00Z\"}";
    sas = NULL;
    err = NULL;
    s = azmi_arm_list_account_sas("00000000-0000-0000-0000-000000000000", "azmi-rg",
                                  "devstoreaccount1", account, NULL, NULL, &sas, &err);
    CHECK(report(s, err, "listAccountSas") == AZMI_OK, "account SAS");
    if (s == AZMI_OK) {
        CHECK(strstr(azmi_string_data(sas), "srt=sco") != NULL, "resource types");
        azmi_string_free(sas);
    }

    const char *wrong_order =
        "{\"canonicalizedResource\":\"/blob/devstoreaccount1/uploads\",\"signedResource\":\"c\","
        "\"signedPermission\":\"wr\",\"signedExpiry\":\"2099-01-01T00:00:00Z\"}";
    sas = NULL;
    err = NULL;
    s = azmi_arm_list_sas("00000000-0000-0000-0000-000000000000", "azmi-rg", "devstoreaccount1",
                          wrong_order, NULL, NULL, &sas, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT && sas == NULL, "a wrong permission order is refused");
    CHECK(err != NULL && strstr(azmi_error_message(err), "give 'rw'") != NULL,
          "the message names the right order");
    azmi_error_free(err);
}

static void keyvault_writes(const char *vault) {
    azmi_error *err = NULL;
    azmi_secret *secret = NULL;
    static const uint8_t value[] = {'a', 0, 'b'};
    azmi_status s = azmi_keyvault_set(vault, "c-written", value, sizeof value, "application/x-c",
                                      "{\"owner\":\"c\"}", 1700000000, 4000000000, 0, NULL, NULL,
                                      NULL, &secret, &err);
    CHECK(report(s, err, "set c-written") == AZMI_OK, "set a secret");
    char first[64] = "";
    if (s == AZMI_OK) {
        CHECK(azmi_secret_value_len(secret) == sizeof value &&
                  memcmp(azmi_secret_value(secret), value, sizeof value) == 0,
              "the value as stored, NUL byte included");
        CHECK(strcmp(azmi_secret_name(secret), "c-written") == 0, "name");
        CHECK(strlen(azmi_secret_version(secret)) == 32, "a new version id");
        snprintf(first, sizeof first, "%s", azmi_secret_version(secret));
        CHECK(strcmp(azmi_secret_content_type(secret), "application/x-c") == 0, "content type");
        CHECK(strcmp(azmi_secret_tags(secret), "{\"owner\":\"c\"}") == 0, "tags");
        CHECK(azmi_secret_not_before(secret) == 1700000000 &&
                  azmi_secret_expires(secret) == 4000000000,
              "not-before and expiry");
        CHECK(azmi_secret_enabled(secret), "enabled by default");
        CHECK(strcmp(azmi_secret_recovery_id(secret), "") == 0 &&
                  azmi_secret_deleted_on(secret) == 0,
              "not a deleted secret");
        azmi_secret_free(secret);
    }

    secret = NULL;
    s = azmi_keyvault_set(vault, "c-written", (const uint8_t *)"two", 3, NULL, NULL, 0, 0,
                          AZMI_SECRET_DISABLED, NULL, NULL, NULL, &secret, &err);
    CHECK(report(s, err, "set again") == AZMI_OK, "a second set");
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_secret_version(secret), first) != 0, "another version");
        CHECK(!azmi_secret_enabled(secret), "disabled");
        CHECK(strcmp(azmi_secret_tags(secret), "{}") == 0, "tags not inherited");
        azmi_secret_free(secret);
    }
    struct listing versions = {0};
    s = azmi_keyvault_list_versions(vault, "c-written", NULL, NULL, NULL, on_version, &versions,
                                    &err);
    CHECK(report(s, err, "list versions") == AZMI_OK && versions.count == 2, "two versions");

    /* Refused before anything is sent. */
    const struct {
        const char *what, *tags;
        const uint8_t *value;
        size_t len;
        int64_t nbf, exp;
        uint32_t flags;
    } bad[] = {
        {"NULL value with a length", NULL, NULL, 3, 0, 0, 0},
        {"not UTF-8", NULL, (const uint8_t *)"\xff", 1, 0, 0, 0},
        {"tags not an object", "[1]", (const uint8_t *)"v", 1, 0, 0, 0},
        {"a tag not a string", "{\"a\":1}", (const uint8_t *)"v", 1, 0, 0, 0},
        {"negative time", NULL, (const uint8_t *)"v", 1, -5, 0, 0},
        {"not-before after expiry", NULL, (const uint8_t *)"v", 1, 20, 10, 0},
        {"unknown flag", NULL, (const uint8_t *)"v", 1, 0, 0, 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        secret = NULL;
        s = azmi_keyvault_set(vault, "c-written", bad[i].value, bad[i].len, NULL, bad[i].tags,
                              bad[i].nbf, bad[i].exp, bad[i].flags, NULL, NULL, NULL, &secret,
                              &err);
        CHECK(s == AZMI_INVALID_ARGUMENT && secret == NULL, bad[i].what);
        azmi_error_free(err);
        err = NULL;
    }
    s = azmi_keyvault_set(vault, "c-written", (const uint8_t *)"v", 1, NULL, NULL, 0, 0, 0, NULL,
                          NULL, NULL, NULL, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "secret_out is required");
    azmi_error_free(err);
    err = NULL;

    /* Delete: soft, with where it waits; its name is then taken. */
    secret = NULL;
    s = azmi_keyvault_delete(vault, "c-written", NULL, NULL, NULL, &secret, &err);
    CHECK(report(s, err, "delete") == AZMI_OK, "delete");
    if (s == AZMI_OK) {
        CHECK(strstr(azmi_secret_recovery_id(secret), "/deletedsecrets/c-written") != NULL,
              "recovery id");
        CHECK(azmi_secret_deleted_on(secret) > 0 &&
                  azmi_secret_scheduled_purge(secret) ==
                      azmi_secret_deleted_on(secret) + 90 * 86400,
              "deleted and purge dates");
        CHECK(azmi_secret_value_len(secret) == 0, "no value");
        azmi_secret_free(secret);
    }
    s = azmi_keyvault_delete(vault, "c-written", NULL, NULL, NULL, NULL, &err);
    CHECK(s == AZMI_NOT_FOUND, "deleting it again is AZMI_NOT_FOUND");
    azmi_error_free(err);
    err = NULL;
    secret = NULL;
    s = azmi_keyvault_set(vault, "c-written", (const uint8_t *)"v", 1, NULL, NULL, 0, 0, 0, NULL,
                          NULL, NULL, &secret, &err);
    CHECK(s == AZMI_CONFLICT && secret == NULL, "a deleted name is AZMI_CONFLICT");
    CHECK(err != NULL && azmi_error_http_status(err) == 409, "HTTP 409");
    CHECK(err != NULL && azmi_error_service_code(err) != NULL &&
              strcmp(azmi_error_service_code(err), "Conflict") == 0,
          "service code Conflict");
    azmi_error_free(err);
}

int main(void) {
    const char *vault = getenv("AZMI_KEYVAULT_URL");
    const char *endpoint = getenv("AZMI_ARM_ENDPOINT");
    if (vault == NULL || endpoint == NULL || getenv("AZMI_IMDS_ENDPOINT") == NULL) {
        fprintf(stderr, "set AZMI_IMDS_ENDPOINT, AZMI_KEYVAULT_URL and AZMI_ARM_ENDPOINT (run.sh does)\n");
        return 2;
    }
    keyvault(vault);
    keyvault_api_version(vault);
    keyvault_writes(vault);
    arm(endpoint);
    azmi_error *err = NULL;
    CHECK(report(azmi_shutdown(&err), err, "shutdown") == AZMI_OK, "shutdown");
    printf("keyvault_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
