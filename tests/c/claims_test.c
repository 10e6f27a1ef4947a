/*
 * Claims challenges (continuous access evaluation) through the C ABI, against azmi-emulator:
 * a token the emulator revoked (POST /admin/revoke) is recovered by a Key Vault call with
 * exactly one new token; a challenge that comes again (the emulator's claims_challenge service
 * fault) is AZMI_CLAIMS_CHALLENGE after two requests, with the claims in azmi_error_claims, which
 * azmi_get_token_with_claims takes as they are; claims in bad forms and bad capability names are
 * AZMI_INVALID_ARGUMENT; azmi_cancel ends a call waiting for the token that answers a challenge.
 * Run by tests/c/run.sh under valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT (its host and port are the emulator's admin API), AZMI_CA_FILE and
 * AZMI_KEYVAULT_URL; run.sh exports them. Leaves the emulator's fault queues empty.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef _WIN32
/* Before check.h's windows.h. */
#include <winsock2.h>
typedef SOCKET admin_socket;
#define admin_socket_ok(fd) ((fd) != INVALID_SOCKET)
#define admin_close closesocket
#define admin_send(fd, buf, len) send((fd), (buf), (int)(len), 0)
#define admin_recv(fd, buf, len) recv((fd), (buf), (int)(len), 0)
#define pause_ms(ms) Sleep(ms)
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int admin_socket;
#define admin_socket_ok(fd) ((fd) >= 0)
#define admin_close close
#define admin_send(fd, buf, len) write((fd), (buf), (len))
#define admin_recv(fd, buf, len) read((fd), (buf), (len))
#define pause_ms(ms) nanosleep(&(struct timespec){0, (ms) * 1000L * 1000L}, NULL)
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"
#include "check.h"

#define VAULT_RESOURCE "https://vault.azure.net"
#define CLAIMS_JSON "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1767225600\"}}}"
/* The same claims as a challenge's claims="…" carries them. */
#define CLAIMS_B64                                                                           \
    "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzY3MjI1NjAwIn19fQ=="

static int admin_port;

/* POSTs (or GETs, body NULL) to the emulator's admin API on 127.0.0.1; the answer's body goes
 * into out (NUL-terminated, cut to size). Returns the HTTP status, or -1. */
static int admin(const char *path, const char *body, char *out, size_t size) {
    struct sockaddr_in addr;
    char request[1024];
    char answer[8192];
    size_t got = 0;
    ssize_t n;
    int status = -1;
    admin_socket fd = socket(AF_INET, SOCK_STREAM, 0);
    if (!admin_socket_ok(fd)) return -1;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)admin_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        admin_close(fd);
        return -1;
    }
    snprintf(request, sizeof request,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             body ? "POST" : "GET", path, body ? strlen(body) : 0, body ? body : "");
    if (admin_send(fd, request, strlen(request)) == (ssize_t)strlen(request)) {
        while (got < sizeof answer - 1 && (n = admin_recv(fd, answer + got, sizeof answer - 1 - got)) > 0)
            got += (size_t)n;
        answer[got] = '\0';
        if (sscanf(answer, "HTTP/1.1 %d", &status) != 1) status = -1;
        if (out != NULL && size > 0) {
            const char *start = strstr(answer, "\r\n\r\n");
            snprintf(out, size, "%s", start ? start + 4 : "");
        }
    }
    admin_close(fd);
    return status;
}

/* A number in the admin API's JSON, e.g. "tokens_issued". */
static long counter(const char *path, const char *name) {
    char body[1024];
    char key[64];
    const char *at;
    if (admin(path, NULL, body, sizeof body) != 200) return -1;
    snprintf(key, sizeof key, "\"%s\":", name);
    at = strstr(body, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

static long tokens_issued(void) { return counter("/admin/counters", "tokens_issued"); }
static long service_requests(void) { return counter("/admin/service-counters", "requests"); }

static int get_secret(const char *vault, azmi_error **err) {
    azmi_secret *secret = NULL;
    azmi_status s = azmi_keyvault_get(vault, "mi-test", NULL, NULL, NULL, NULL, &secret, err);
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_secret_value(secret), "Hello from Key Vault") == 0, "secret value");
        azmi_secret_free(secret);
    }
    return (int)s;
}

/* A revoked token: the next call gets one challenge and answers it with one new token. */
static void test_revoked_token_is_recovered(const char *vault) {
    azmi_error *err = NULL;
    long issued;
    CHECK(report(get_secret(vault, &err), err, "first get") == AZMI_OK, "first get");
    issued = tokens_issued();
    CHECK(admin("/admin/revoke", "{}", NULL, 0) == 200, "revoke");
    err = NULL;
    CHECK(report(get_secret(vault, &err), err, "get after revocation") == AZMI_OK,
          "recovered after the revocation");
    CHECK(tokens_issued() == issued + 1, "exactly one new token");
    CHECK(counter("/admin/service-counters", "claims_challenges") >= 1, "a challenge served");
}

/* A challenge that comes again: AZMI_CLAIMS_CHALLENGE after two requests, with the claims. */
static void test_repeated_challenge(const char *vault) {
    azmi_error *err = NULL;
    azmi_token *token = NULL;
    long sent = service_requests();
    long issued = tokens_issued();
    azmi_status s;
    CHECK(admin("/admin/service-faults", "{\"faults\":[{\"claims_challenge\":true,\"count\":5}]}",
                NULL, 0) == 200,
          "script the challenges");
    s = get_secret(vault, &err);
    CHECK(s == AZMI_CLAIMS_CHALLENGE, "AZMI_CLAIMS_CHALLENGE");
    CHECK(strcmp(azmi_status_name(s), "ClaimsChallenge") == 0, "its name");
    CHECK(azmi_error_status(err) == AZMI_CLAIMS_CHALLENGE, "the error's status");
    CHECK(azmi_error_http_status(err) == 401, "HTTP 401");
    CHECK(azmi_error_claims(err) != NULL && strstr(azmi_error_claims(err), "\"nbf\"") != NULL,
          "the claims, as JSON");
    CHECK(strstr(azmi_error_message(err), "second claims challenge") != NULL,
          "the message says so");
    CHECK(service_requests() == sent + 2, "two requests: no loop");
    CHECK(tokens_issued() == issued + 1, "one new token");
    /* The error's claims are what azmi_get_token_with_claims takes. */
    if (s == AZMI_CLAIMS_CHALLENGE) {
        azmi_error *again = NULL;
        s = azmi_get_token_with_claims(VAULT_RESOURCE, NULL, azmi_error_claims(err), 0, NULL,
                                       &token, &again);
        CHECK(report(s, again, "claims of the error") == AZMI_OK && !azmi_token_from_cache(token),
              "a new token with the error's claims");
        azmi_token_free(token);
    }
    azmi_error_free(err);
    CHECK(admin("/admin/service-faults", "{\"faults\":[]}", NULL, 0) == 200, "clear faults");
    CHECK(azmi_error_claims(NULL) == NULL, "NULL error: no claims");
}

/* Claims as JSON and base64 are taken; anything else is refused before anything is sent. */
static void test_claims_forms(void) {
    const char *bad[] = {"", "not claims", "[1]", "WzFd", "{\"a\":"};
    size_t i;
    long issued = tokens_issued();
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        azmi_token *token = NULL;
        azmi_error *err = NULL;
        azmi_status s = azmi_get_token_with_claims(VAULT_RESOURCE, NULL, bad[i], 0, NULL, &token,
                                                   &err);
        CHECK(s == AZMI_INVALID_ARGUMENT && token == NULL, "bad claims refused");
        CHECK(err != NULL && strstr(azmi_error_message(err), "claims") != NULL,
              "the message is about the claims");
        azmi_error_free(err);
    }
    CHECK(tokens_issued() == issued, "nothing was sent");
    {
        const char *good[] = {CLAIMS_JSON, CLAIMS_B64};
        for (i = 0; i < 2; i++) {
            azmi_token *token = NULL;
            azmi_error *err = NULL;
            azmi_status s = azmi_get_token_with_claims(VAULT_RESOURCE, NULL, good[i], 0, NULL,
                                                       &token, &err);
            CHECK(report(s, err, "claims") == AZMI_OK && !azmi_token_from_cache(token),
                  "a new token for good claims");
            azmi_token_free(token);
        }
        CHECK(tokens_issued() == issued + 2, "one request each");
    }
    /* NULL claims: azmi_get_token, served from the cache the claims request filled. */
    {
        azmi_token *token = NULL;
        azmi_error *err = NULL;
        azmi_status s = azmi_get_token_with_claims(VAULT_RESOURCE, NULL, NULL, 0, NULL, &token,
                                                   &err);
        CHECK(report(s, err, "no claims") == AZMI_OK && azmi_token_from_cache(token),
              "NULL claims use the cache");
        azmi_token_free(token);
        err = NULL;
        s = azmi_get_token_with_claims(NULL, NULL, CLAIMS_JSON, 0, NULL, &token, &err);
        CHECK(s == AZMI_INVALID_ARGUMENT, "NULL resource");
        azmi_error_free(err);
        err = NULL;
        s = azmi_get_token_with_claims(VAULT_RESOURCE, NULL, CLAIMS_JSON, 0x80, NULL, &token,
                                       &err);
        CHECK(s == AZMI_INVALID_ARGUMENT, "unknown flag");
        azmi_error_free(err);
    }
}

static void test_capabilities(void) {
    azmi_identity *id = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_identity_new(NULL, NULL, NULL, &id, &err);
    CHECK(report(s, err, "identity") == AZMI_OK, "identity");
    if (s != AZMI_OK) return;
    CHECK(strcmp(azmi_identity_client_capabilities(id), "") == 0, "none by default");
    err = NULL;
    s = azmi_identity_set_client_capabilities(id, "cp1, cp2,cp1", &err);
    CHECK(report(s, err, "capabilities") == AZMI_OK, "declare cp1 and cp2");
    CHECK(strcmp(azmi_identity_client_capabilities(id), "cp1,cp2") == 0, "checked and kept once");
    err = NULL;
    s = azmi_identity_set_client_capabilities(id, "cp 1", &err);
    CHECK(s == AZMI_INVALID_ARGUMENT, "a malformed name");
    CHECK(err != NULL && strstr(azmi_error_message(err), "cp 1") != NULL, "named");
    azmi_error_free(err);
    CHECK(strcmp(azmi_identity_client_capabilities(id), "cp1,cp2") == 0, "kept after a refusal");
    err = NULL;
    s = azmi_identity_set_endpoint(id, getenv("AZMI_IMDS_ENDPOINT"), &err);
    CHECK(report(s, err, "endpoint") == AZMI_OK, "set the endpoint");
    CHECK(strcmp(azmi_identity_client_capabilities(id), "cp1,cp2") == 0, "kept by set_endpoint");
    err = NULL;
    s = azmi_identity_set_client_capabilities(id, NULL, &err);
    CHECK(report(s, err, "clear") == AZMI_OK && strcmp(azmi_identity_client_capabilities(id), "") == 0,
          "NULL declares none");
    CHECK(azmi_identity_set_client_capabilities(NULL, "cp1", NULL) == AZMI_INVALID_ARGUMENT,
          "NULL identity");
    azmi_identity_free(id);
}

static void *cancel_later(void *arg) {
    pause_ms(400);
    azmi_cancel_cancel(arg);
    return NULL;
}

/* Cancelled while the token that answers a challenge is awaited. */
static void test_cancel_during_the_retry(const char *vault) {
    azmi_cancel *cancel = azmi_cancel_new();
    azmi_secret *secret = NULL;
    azmi_error *err = NULL;
    pthread_t thread;
    time_t started = time(NULL);
    azmi_status s;
    CHECK(admin("/admin/revoke", "{}", NULL, 0) == 200, "revoke");
    CHECK(admin("/admin/faults", "{\"faults\":[{\"delay_ms\":20000}]}", NULL, 0) == 200,
          "the token endpoint hangs");
    pthread_create(&thread, NULL, cancel_later, cancel);
    s = azmi_keyvault_get(vault, "mi-test", NULL, NULL, NULL, cancel, &secret, &err);
    pthread_join(thread, NULL);
    CHECK(s == AZMI_CANCELLED && secret == NULL, "AZMI_CANCELLED");
    CHECK(time(NULL) - started < 15, "at once, not after the delay");
    azmi_error_free(err);
    azmi_cancel_free(cancel);
    CHECK(admin("/admin/faults", "{\"faults\":[]}", NULL, 0) == 200, "clear faults");
    err = NULL;
    CHECK(report(get_secret(vault, &err), err, "after the cancel") == AZMI_OK,
          "the next call recovers");
}

int main(void) {
    const char *endpoint = getenv("AZMI_IMDS_ENDPOINT");
    const char *vault = getenv("AZMI_KEYVAULT_URL");
    const char *port;
    if (endpoint == NULL || vault == NULL || (port = strrchr(endpoint, ':')) == NULL) {
        fprintf(stderr, "claims_test needs AZMI_IMDS_ENDPOINT and AZMI_KEYVAULT_URL\n");
        return 2;
    }
    admin_port = atoi(port + 1);
#ifdef _WIN32
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "WSAStartup failed\n");
        return 2;
    }
#endif
    test_revoked_token_is_recovered(vault);
    test_repeated_challenge(vault);
    test_claims_forms();
    test_capabilities();
    test_cancel_during_the_retry(vault);
    CHECK(azmi_shutdown(NULL) == AZMI_OK, "shutdown");
    printf("C claims_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
