/*
 * Gets tokens through the C ABI the way a C program would, against azmi-emulator, and checks
 * the error paths. Run by tests/c/run.sh under valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT set to the emulator's token URL (run.sh does it).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"
#include "check.h"

#define ARM "https://management.azure.com/"
#define VAULT "https://vault.azure.net"
#define SYSTEM_OID "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002"
#define UAMI_CLIENT_ID "00001111-aaaa-2222-bbbb-3333cccc4444"
#define UAMI_OID "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"
#define UAMI_RESOURCE_ID                                                                   \
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/" \
    "Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami"

static azmi_identity *identity(const char *client_id, const char *object_id,
                               const char *resource_id) {
    azmi_identity *id = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(client_id, object_id, resource_id, &id, &err);
    if (s != AZMI_OK) {
        fprintf(stderr, "azmi_identity_new: %s\n", azmi_error_message(err));
        azmi_error_free(err);
        return NULL;
    }
    return id;
}

static void test_system_assigned(void) {
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_get_token(ARM, NULL, 0, NULL, &token, &err);
    CHECK(s == AZMI_OK, "system-assigned token");
    if (s != AZMI_OK) {
        fprintf(stderr, "  %s\n", azmi_error_message(err));
        azmi_error_free(err);
        return;
    }
    CHECK(err == NULL, "no error object on success");
    CHECK(azmi_token_access_token_len(token) > 20, "token text");
    CHECK(strlen(azmi_token_access_token(token)) == azmi_token_access_token_len(token),
          "length matches the text");
    CHECK(strcmp(azmi_token_type(token), "Bearer") == 0, "token type");
    CHECK(strcmp(azmi_token_resource(token), ARM) == 0, "resource echoed exactly");
    CHECK(azmi_token_expires_on(token) > (int64_t)time(NULL) + 3000, "expires in about an hour");
    CHECK(payload_contains(token, "\"oid\":\"" SYSTEM_OID "\""), "system identity's oid");
    CHECK(payload_contains(token, "\"aud\":\"" ARM "\""), "audience is the resource");
    azmi_token_free(token);

    /* The second call is served from the cache. */
    s = azmi_get_token(ARM, NULL, 0, NULL, &token, NULL);
    CHECK(s == AZMI_OK && azmi_token_from_cache(token), "second call from the cache");
    azmi_token_free(token);

    /* A scope is turned into its resource. */
    s = azmi_get_token(VAULT "/.default", NULL, 0, NULL, &token, NULL);
    CHECK(s == AZMI_OK && strcmp(azmi_token_resource(token), VAULT) == 0, "scope form");
    azmi_token_free(token);
}

static void check_user_assigned(azmi_identity *id, const char *what) {
    azmi_token *token = NULL;
    azmi_status s;
    if (id == NULL) {
        CHECK(0, what);
        return;
    }
    s = azmi_get_token(VAULT, id, 0, NULL, &token, NULL);
    CHECK(s == AZMI_OK, what);
    if (s == AZMI_OK) {
        CHECK(payload_contains(token, "\"oid\":\"" UAMI_OID "\""), "user-assigned oid");
        CHECK(payload_contains(token, "\"appid\":\"" UAMI_CLIENT_ID "\""), "user-assigned appid");
        /* Which identity am I? The claims as read (not verified) from the token. */
        CHECK(strcmp(azmi_token_object_id(token), UAMI_OID) == 0, "azmi_token_object_id");
        CHECK(strcmp(azmi_token_client_id(token), UAMI_CLIENT_ID) == 0, "azmi_token_client_id");
        CHECK(strcmp(azmi_token_identity_resource_id(token), UAMI_RESOURCE_ID) == 0,
              "azmi_token_identity_resource_id");
        CHECK(strlen(azmi_token_tenant_id(token)) == 36, "azmi_token_tenant_id");
        azmi_token_free(token);
    }
    CHECK(strstr(azmi_identity_description(id), "user-assigned") != NULL, "description");
    azmi_identity_free(id);
}

static void test_user_assigned(void) {
    check_user_assigned(identity(UAMI_CLIENT_ID, NULL, NULL), "by client id");
    check_user_assigned(identity(NULL, UAMI_OID, NULL), "by object id");
    check_user_assigned(identity(NULL, NULL, UAMI_RESOURCE_ID), "by resource id");
}

static void test_errors(void) {
    azmi_token *token = NULL;
    azmi_identity *id = NULL;
    azmi_error *err = NULL;
    azmi_status s;
    const char bad_utf8[] = {'h', 't', 't', 'p', (char)0xff, (char)0xfe, '\0'};

    s = azmi_get_token(NULL, NULL, 0, NULL, &token, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "NULL resource");
    CHECK(token == NULL, "no token written on failure");
    CHECK(err != NULL && strstr(azmi_error_message(err), "resource") != NULL, "message names it");
    CHECK(azmi_error_status(err) == AZMI_INVALID_ARGUMENT, "error object's status");
    CHECK(azmi_error_http_status(err) == 0, "no HTTP status");
    CHECK(azmi_error_service_code(err) == NULL, "no service code");
    azmi_error_free(err);
    err = NULL;

    s = azmi_get_token(bad_utf8, NULL, 0, NULL, &token, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "invalid UTF-8");
    CHECK(err != NULL && strstr(azmi_error_message(err), "UTF-8") != NULL, "says UTF-8");
    azmi_error_free(err);
    err = NULL;

    s = azmi_get_token(ARM, NULL, 0, NULL, NULL, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "NULL token_out");
    azmi_error_free(err);
    err = NULL;

    s = azmi_get_token(ARM, NULL, 0x80, NULL, &token, NULL);
    CHECK(s == AZMI_INVALID_ARGUMENT, "unknown flags, no error object wanted");

    s = azmi_identity_new(UAMI_CLIENT_ID, UAMI_OID, NULL, &id, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT && id == NULL, "two ids");
    CHECK(err != NULL && strstr(azmi_error_message(err), "at most one") != NULL, "says why");
    azmi_error_free(err);
    err = NULL;

    s = azmi_identity_new("not-a-guid", NULL, NULL, &id, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "malformed client id");
    azmi_error_free(err);
    err = NULL;

    id = identity("99999999-9999-9999-9999-999999999999", NULL, NULL);
    s = azmi_get_token(ARM, id, 0, NULL, &token, &err);
    CHECK(s == AZMI_IDENTITY_NOT_FOUND, "unknown identity");
    CHECK(token == NULL, "no token written");
    CHECK(azmi_error_http_status(err) == 400, "HTTP 400");
    CHECK(azmi_error_service_code(err) != NULL &&
              strcmp(azmi_error_service_code(err), "invalid_request") == 0,
          "service code");
    CHECK(strstr(azmi_error_message(err), "99999999-9999-9999-9999-999999999999") != NULL,
          "message names the identity");
    CHECK(strcmp(azmi_status_name(azmi_error_status(err)), "IdentityNotFound") == 0,
          "status name");
    azmi_error_free(err);
    err = NULL;
    azmi_identity_free(id);

    s = azmi_get_token("https://unknown.example/", NULL, 0, NULL, &token, &err);
    CHECK(s == AZMI_INVALID_RESOURCE, "unknown resource");
    azmi_error_free(err);
    err = NULL;

    /* An endpoint that never answers: fails fast with MANAGED_IDENTITY_UNAVAILABLE. */
    id = identity(NULL, NULL, NULL);
    if (id != NULL) {
        time_t started = time(NULL);
        s = azmi_identity_set_endpoint(id, "http://127.0.0.1:9/metadata/identity/oauth2/token",
                                       NULL);
        CHECK(s == AZMI_OK, "set endpoint");
        s = azmi_get_token(ARM, id, 0, NULL, &token, &err);
        CHECK(s == AZMI_MANAGED_IDENTITY_UNAVAILABLE, "closed port");
        CHECK(time(NULL) - started <= 3, "fails fast");
        azmi_error_free(err);
        err = NULL;
        azmi_identity_free(id);
    }

    /* Freeing NULL is harmless. */
    azmi_token_free(NULL);
    azmi_error_free(NULL);
    azmi_identity_free(NULL);
    azmi_cancel_free(NULL);
}

static void test_cancel(void) {
    azmi_cancel *cancel = azmi_cancel_new();
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s;
    CHECK(!azmi_cancel_is_cancelled(cancel), "new handle not cancelled");
    azmi_cancel_cancel(cancel);
    azmi_cancel_cancel(cancel);
    CHECK(azmi_cancel_is_cancelled(cancel), "cancelled");
    s = azmi_get_token(ARM, NULL, AZMI_FLAG_FORCE_REFRESH, cancel, &token, &err);
    CHECK(s == AZMI_CANCELLED && token == NULL, "cancelled call");
    azmi_error_free(err);
    azmi_cancel_free(cancel);
}

#define THREADS 8
#define CALLS 200

static void *worker(void *arg) {
    int *ok = arg;
    int i;
    for (i = 0; i < CALLS; i++) {
        azmi_token *token = NULL;
        if (azmi_get_token("https://storage.azure.com/", NULL, 0, NULL, &token, NULL) == AZMI_OK &&
            azmi_token_access_token_len(token) > 0) {
            (*ok)++;
        }
        azmi_token_free(token);
    }
    return NULL;
}

static void test_threads(void) {
    pthread_t threads[THREADS];
    int ok[THREADS] = {0};
    int i, total = 0;
    for (i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, &ok[i]);
    for (i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    for (i = 0; i < THREADS; i++) total += ok[i];
    CHECK(total == THREADS * CALLS, "every call from every thread succeeded");
}

static void test_shutdown_and_restart(void) {
    azmi_token *token = NULL;
    azmi_status s = azmi_shutdown(NULL);
    CHECK(s == AZMI_OK, "shutdown");
    s = azmi_get_token(ARM, NULL, 0, NULL, &token, NULL);
    CHECK(s == AZMI_OK && !azmi_token_from_cache(token), "works again, cache wiped");
    azmi_token_free(token);
}

int main(void) {
    if (getenv("AZMI_IMDS_ENDPOINT") == NULL) {
        fprintf(stderr, "set AZMI_IMDS_ENDPOINT to azmi-emulator's token URL\n");
        return 2;
    }
    CHECK(azmi_version()[0] != '\0', "version");
    test_system_assigned();
    test_user_assigned();
    test_errors();
    test_cancel();
    test_threads();
    test_shutdown_and_restart();
    azmi_shutdown(NULL);
    printf("C token_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
