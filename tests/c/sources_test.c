/*
 * Each managed identity source through the C ABI, against an azmi-emulator started with
 * `--source`: tests/c/run.sh runs this program once per source with that source's variables in
 * the environment (and nothing of IMDS unless the source is IMDS) and the source id azmi must
 * detect as the first argument. A second argument names an error case instead:
 *   wrong-secret  the source's secret variable is wrong: AZMI_AUTHENTICATION_FAILED.
 * Claims and client capabilities on each source (test_claims). Never prints token text: only
 * checks its claims.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"
#include "check.h"

#define ARM "https://management.azure.com/"
#define ARM_AS_SCOPED "https://management.azure.com"
#define SYSTEM_OID "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002"
#define UAMI_CLIENT_ID "00001111-aaaa-2222-bbbb-3333cccc4444"
#define UAMI_OID "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"

/* Prints an error without freeing it (the caller still reads it or frees it). */
static void print_error(const char *what, azmi_error *err) {
    if (err != NULL) fprintf(stderr, "  %s: %s\n", what, azmi_error_message(err));
}

/* The detected source gives a token, which names the source; the system identity's oid
 * (workload identity's token is the federated app's). */
static void test_detected(const char *expected) {
    azmi_identity *id = NULL;
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(NULL, NULL, NULL, &id, &err);
    CHECK(s == AZMI_OK, "azmi_identity_new");
    if (s != AZMI_OK) {
        print_error("azmi_identity_new", err);
        azmi_error_free(err);
        return;
    }
    CHECK(strcmp(azmi_identity_source(id), expected) == 0, "detected source");
    if (strcmp(azmi_identity_source(id), expected) != 0)
        fprintf(stderr, "  detected %s, expected %s\n", azmi_identity_source(id), expected);

    s = azmi_get_token(ARM, id, AZMI_FLAG_FORCE_REFRESH, NULL, &token, &err);
    CHECK(s == AZMI_OK, "token from the detected source");
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_token_source(token), expected) == 0, "the token names the source");
        CHECK(strcmp(azmi_token_resource(token), ARM) == 0, "resource");
        /* Entra ID's v2 endpoint (workload identity) writes aud as the scope named the
           resource (https://management.azure.com/.default); the other sources echo it. */
        if (strcmp(expected, "workload_identity") == 0)
            CHECK(payload_contains(token, "\"aud\":\"" ARM_AS_SCOPED "\""), "audience as scoped");
        else
            CHECK(payload_contains(token, "\"aud\":\"" ARM "\""), "audience is the resource");
        if (strcmp(expected, "workload_identity") != 0)
            CHECK(payload_contains(token, "\"oid\":\"" SYSTEM_OID "\""), "system identity's oid");
        azmi_token_free(token);
    } else {
        print_error("azmi_get_token", err);
        azmi_error_free(err);
        err = NULL;
    }

    /* An unknown source name is refused; the identity keeps its source. */
    s = azmi_identity_set_source(id, "no-such-source", &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "unknown source name");
    CHECK(err != NULL && strstr(azmi_error_message(err), "no-such-source") != NULL,
          "the message names it");
    azmi_error_free(err);
    err = NULL;
    CHECK(strcmp(azmi_identity_source(id), expected) == 0, "source kept after a refusal");

    /* The explicit override to the same source, and back to detection. */
    s = azmi_identity_set_source(id, expected, &err);
    CHECK(s == AZMI_OK && strcmp(azmi_identity_source(id), expected) == 0, "explicit source");
    if (s != AZMI_OK) {
        print_error("azmi_identity_set_source", err);
        azmi_error_free(err);
        err = NULL;
    }
    s = azmi_identity_set_source(id, NULL, &err);
    CHECK(s == AZMI_OK && strcmp(azmi_identity_source(id), expected) == 0, "detect again");
    azmi_error_free(err);
    err = NULL;

    /* IMDS chosen explicitly is always possible (its default endpoint); the source is kept as
     * chosen without sending anything. */
    if (strcmp(expected, "imds") != 0) {
        s = azmi_identity_set_source(id, "IMDS", &err);
        CHECK(s == AZMI_OK && strcmp(azmi_identity_source(id), "imds") == 0, "override to IMDS");
        azmi_error_free(err);
        err = NULL;
    }
    azmi_identity_free(id);
}

/* App Service: a user-assigned identity by client id. */
static void test_app_service_user_assigned(void) {
    azmi_identity *id = NULL;
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(UAMI_CLIENT_ID, NULL, NULL, &id, &err);
    CHECK(s == AZMI_OK, "user-assigned identity");
    if (s != AZMI_OK) {
        print_error("azmi_identity_new", err);
        azmi_error_free(err);
        return;
    }
    s = azmi_get_token(ARM, id, 0, NULL, &token, &err);
    CHECK(s == AZMI_OK, "user-assigned token");
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_token_source(token), "app_service") == 0, "its source");
        CHECK(payload_contains(token, "\"oid\":\"" UAMI_OID "\""), "user-assigned oid");
        azmi_token_free(token);
    } else {
        print_error("azmi_get_token", err);
        azmi_error_free(err);
    }
    azmi_identity_free(id);
}

/* Cloud Shell and Arc have one identity: a client id is refused before anything is sent. */
static void test_no_user_assigned(void) {
    azmi_identity *id = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(UAMI_CLIENT_ID, NULL, NULL, &id, &err);
    CHECK(s == AZMI_INVALID_ARGUMENT && id == NULL, "user-assigned refused");
    CHECK(err != NULL && strstr(azmi_error_message(err), "nothing was sent") != NULL,
          "says nothing was sent");
    azmi_error_free(err);
}

/* The source's secret is wrong: refused, and the message does not carry it. */
static void test_wrong_secret(const char *expected) {
    azmi_identity *id = NULL;
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(NULL, NULL, NULL, &id, &err);
    CHECK(s == AZMI_OK, "azmi_identity_new");
    if (s != AZMI_OK) {
        print_error("azmi_identity_new", err);
        azmi_error_free(err);
        return;
    }
    CHECK(strcmp(azmi_identity_source(id), expected) == 0, "detected source");
    s = azmi_get_token(ARM, id, 0, NULL, &token, &err);
    CHECK(s == AZMI_AUTHENTICATION_FAILED, "wrong secret: AZMI_AUTHENTICATION_FAILED");
    CHECK(token == NULL, "no token");
    CHECK(azmi_error_http_status(err) == 401, "HTTP 401");
    CHECK(err != NULL && strstr(azmi_error_message(err), "wrong-secret-value") == NULL,
          "the secret is not in the message");
    if (s != AZMI_AUTHENTICATION_FAILED) print_error("azmi_get_token", err);
    azmi_error_free(err);
    azmi_identity_free(id);
}

/* Whether the source sends client capabilities (and so gives CAE tokens with xms_cc). */
static int sends_capabilities(const char *source) {
    return strcmp(source, "app_service") == 0 || strcmp(source, "service_fabric") == 0
           || strcmp(source, "workload_identity") == 0;
}

/* A token with claims is a new one on every source: App Service and Service Fabric, which serve
 * their cached token to a plain refresh, issue a new one because azmi names the token to
 * replace (token_sha256_to_refresh). Capabilities give a token with xms_cc where the source
 * sends them, cached apart. Tokens are compared, never printed. */
static void test_claims(const char *expected) {
    const char *claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}";
    int endpoint_caches = strcmp(expected, "app_service") == 0
                          || strcmp(expected, "service_fabric") == 0;
    azmi_identity *id = NULL;
    azmi_token *first = NULL, *refreshed = NULL, *renewed = NULL, *cae = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(NULL, NULL, NULL, &id, &err);
    if (s != AZMI_OK) {
        print_error("azmi_identity_new", err);
        azmi_error_free(err);
        CHECK(0, "identity for the claims test");
        return;
    }
    s = azmi_get_token(ARM, id, 0, NULL, &first, &err);
    CHECK(s == AZMI_OK, "a token");
    if (s == AZMI_OK) s = azmi_get_token(ARM, id, AZMI_FLAG_FORCE_REFRESH, NULL, &refreshed, &err);
    CHECK(s == AZMI_OK, "a refreshed token");
    if (s == AZMI_OK)
        s = azmi_get_token_with_claims(ARM, id, claims, 0, NULL, &renewed, &err);
    CHECK(s == AZMI_OK, "a token with claims");
    if (s == AZMI_OK) {
        int same = strcmp(azmi_token_access_token(first), azmi_token_access_token(refreshed)) == 0;
        CHECK(same == endpoint_caches, "a plain refresh gets the endpoint's cached token");
        CHECK(!azmi_token_from_cache(renewed), "claims bypass azmi's cache");
        CHECK(strcmp(azmi_token_access_token(first), azmi_token_access_token(renewed)) != 0,
              "claims give a new token");
        CHECK(!payload_contains(renewed, "xms_cc"), "no capabilities declared: no xms_cc");
    } else {
        print_error("claims", err);
        azmi_error_free(err);
        err = NULL;
    }
    s = azmi_identity_set_client_capabilities(id, "cp1", &err);
    CHECK(s == AZMI_OK, "declare cp1");
    if (s == AZMI_OK) s = azmi_get_token(ARM, id, 0, NULL, &cae, &err);
    CHECK(s == AZMI_OK, "a token with capabilities");
    if (s == AZMI_OK) {
        int apart = sends_capabilities(expected);
        CHECK(azmi_token_from_cache(cae) == !apart, "cached apart where the source sends them");
        CHECK(payload_contains(cae, "\"xms_cc\":[\"cp1\"]") == apart, "xms_cc claim");
    } else {
        print_error("capabilities", err);
        azmi_error_free(err);
    }
    azmi_token_free(first);
    azmi_token_free(refreshed);
    azmi_token_free(renewed);
    azmi_token_free(cae);
    azmi_identity_free(id);
}

int main(int argc, char **argv) {
    const char *expected;
    const char *mode;
    if (argc < 2) {
        fprintf(stderr, "usage: sources_test <expected source id> [wrong-secret]\n");
        return 2;
    }
    expected = argv[1];
    mode = argc > 2 ? argv[2] : "";
    if (strcmp(mode, "wrong-secret") == 0) {
        test_wrong_secret(expected);
    } else {
        test_detected(expected);
        test_claims(expected);
        if (strcmp(expected, "app_service") == 0) test_app_service_user_assigned();
        if (strcmp(expected, "cloud_shell") == 0 || strcmp(expected, "arc") == 0)
            test_no_user_assigned();
    }
    /* Stops azmi's engine so that valgrind sees every allocation freed. */
    CHECK(azmi_shutdown(NULL) == AZMI_OK, "shutdown");
    printf("C sources_test: %d passed, %d failed (%s%s%s)\n", passes, failures, expected,
           *mode ? " " : "", mode);
    return failures == 0 ? 0 : 1;
}
