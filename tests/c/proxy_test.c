/*
 * Proxies through the C ABI, against azmi-emulator's Key Vault (HTTPS on loopback) and two
 * tinyproxy instances that run.sh starts (one open, one with Basic credentials), whose logs
 * this program reads: HTTPS in a CONNECT tunnel, the managed identity endpoint never in the
 * proxy's log, the lowercase variable of the process environment read at start, NO_PROXY,
 * Basic credentials (in the URL and apart), the 407 error, a proxy that is down, the explicit
 * setting over the environment and back, and bad settings refused without changing anything.
 * Run by tests/c/run.sh under valgrind (no leaks, no errors).
 *
 * Needs AZMI_IMDS_ENDPOINT, AZMI_CA_FILE, AZMI_KEYVAULT_URL, AZMI_TEST_PROXY and
 * AZMI_TEST_PROXY_LOG (the open proxy), AZMI_TEST_AUTH_PROXY and AZMI_TEST_AUTH_PROXY_LOG (user
 * alice, password s3cret), and https_proxy=$AZMI_TEST_PROXY in the environment.
 *
 * With the argument "trust-store" it only reads a secret: run.sh runs it so with AZMI_CA_FILE
 * unset and the emulator's CA in SSL_CERT_FILE, the operating system's trust store.
 *
 * With the arguments "system through|direct ROUTE [JSON]" (Windows: run.sh win-x64 writes the
 * system proxy into Wine's registry, Internet Options or WinHTTP's own setting, and sets no
 * proxy variable) it checks that azmi took Windows' system proxy: the vault's route starts with
 * ROUTE, a secret is read through the open proxy (a CONNECT in its log) or direct (none), the
 * managed identity endpoint is never in the log, and azmi_proxy_get says "system" (and JSON).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"
#include "check.h"

static const char *vault;
static azmi_identity *identity;

static const char *need(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "%s is not set: run tests/c/run.sh\n", name);
        exit(2);
    }
    return v;
}

/* The port of a URL such as https://127.0.0.1:40123 (the part after the last ':'). */
static const char *port_of(const char *url) {
    const char *colon = strrchr(url, ':');
    return colon == NULL ? "" : colon + 1;
}

/* How many times the proxy's log shows "CONNECT 127.0.0.1:<port>" (or any ":<port>" when
 * connect_only is 0). */
static int in_log(const char *log_path, const char *port, int connect_only) {
    char needle[64];
    snprintf(needle, sizeof needle, connect_only ? "): CONNECT 127.0.0.1:%s " : ":%s", port);
    FILE *f = fopen(log_path, "r");
    if (f == NULL) {
        return 0;
    }
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, needle) != NULL) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Reads the secret; returns the status and, on failure, keeps the error for the caller. */
static azmi_status get_secret(azmi_error **err) {
    azmi_secret *secret = NULL;
    *err = NULL;
    azmi_status s = azmi_keyvault_get(vault, "mi-test", NULL, NULL, identity, NULL, &secret, err);
    if (s == AZMI_OK) {
        CHECK(strcmp(azmi_secret_value(secret), "Hello from Key Vault") == 0, "secret value");
        azmi_secret_free(secret);
    }
    return s;
}

static int route_is(const char *expected_start, const char *what) {
    azmi_string *route = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_proxy_route(vault, &route, &err);
    int ok = report(s, err, "azmi_proxy_route") == AZMI_OK &&
             strncmp(azmi_string_data(route), expected_start, strlen(expected_start)) == 0;
    if (!ok) {
        fprintf(stderr, "  %s: route is '%s', expected '%s…'\n", what, azmi_string_data(route),
                expected_start);
    }
    azmi_string_free(route);
    return ok;
}

/* Checks a call's status (made before, so that err holds its error) and frees its error. */
static void set(azmi_status expected, azmi_status s, azmi_error *err, const char *what) {
    if (s != expected) {
        report(s, err, what);
        CHECK(0, what);
        return;
    }
    azmi_error_free(err);
    passes++;
}

static void trust_store(void) {
    azmi_error *err = NULL;
    azmi_status s = get_secret(&err);
    CHECK(report(s, err, "get with the CA in SSL_CERT_FILE only") == AZMI_OK,
          "a CA given only through SSL_CERT_FILE is trusted");
}

static void system_proxy(int through, const char *route, const char *json) {
    const char *proxy_log = need("AZMI_TEST_PROXY_LOG");
    const char *vault_port = port_of(vault);
    int before = in_log(proxy_log, vault_port, 1);
    CHECK(route_is(route, "system proxy"), "the vault's route follows Windows' system proxy");
    azmi_error *err = NULL;
    azmi_status s = get_secret(&err);
    CHECK(report(s, err, "get with the system proxy") == AZMI_OK, "a secret with the system proxy");
    if (through) {
        CHECK(in_log(proxy_log, vault_port, 1) > before, "CONNECT to the vault in the proxy's log");
    } else {
        CHECK(in_log(proxy_log, vault_port, 1) == before, "no CONNECT: the request went direct");
    }
    CHECK(in_log(proxy_log, port_of(need("AZMI_IMDS_ENDPOINT")), 0) == 0,
          "the managed identity endpoint is not in the proxy's log");
    azmi_string *text = NULL;
    err = NULL;
    s = azmi_proxy_get(&text, &err);
    if (report(s, err, "azmi_proxy_get") == AZMI_OK) {
        const char *got = azmi_string_data(text);
        CHECK(strstr(got, "\"source\":\"system\"") != NULL, "azmi_proxy_get says system");
        CHECK(json == NULL || strstr(got, json) != NULL, "azmi_proxy_get says where it was read");
        if (failures > 0) {
            fprintf(stderr, "  azmi_proxy_get: %s\n", got);
        }
    } else {
        CHECK(0, "azmi_proxy_get");
    }
    azmi_string_free(text);
}

int main(int argc, char **argv) {
    vault = need("AZMI_KEYVAULT_URL");
    if (argc > 3 && strcmp(argv[1], "system") == 0) {
        system_proxy(strcmp(argv[2], "through") == 0, argv[3], argc > 4 ? argv[4] : NULL);
        printf("proxy_test system %s: %d passed, %d failed\n", argv[2], passes, failures);
        azmi_shutdown(NULL);
        return failures == 0 ? 0 : 1;
    }
    if (argc > 1 && strcmp(argv[1], "trust-store") == 0) {
        trust_store();
        printf("proxy_test trust-store: %d passed, %d failed\n", passes, failures);
        azmi_shutdown(NULL);
        return failures == 0 ? 0 : 1;
    }
    const char *proxy = need("AZMI_TEST_PROXY");
    const char *proxy_log = need("AZMI_TEST_PROXY_LOG");
    const char *auth_proxy = need("AZMI_TEST_AUTH_PROXY");
    const char *auth_log = need("AZMI_TEST_AUTH_PROXY_LOG");
    const char *vault_port = port_of(vault);
    const char *imds_port = port_of(need("AZMI_IMDS_ENDPOINT"));
    char buf[512];
    azmi_error *err = NULL;
    azmi_status s;

    /* Short retries: a proxy that is down fails in a moment. */
    s = azmi_identity_new(NULL, NULL, NULL, &identity, &err);
    CHECK(report(s, err, "identity") == AZMI_OK, "identity");
    err = NULL;
    s = azmi_identity_set_timeouts(identity, 1000, 300, 10, &err);
    CHECK(report(s, err, "timeouts") == AZMI_OK, "timeouts");

    /* 1. The environment, read at start: lowercase https_proxy. */
    s = get_secret(&err);
    CHECK(report(s, err, "get through https_proxy") == AZMI_OK, "a secret through https_proxy");
    CHECK(in_log(proxy_log, vault_port, 1) >= 1, "CONNECT to the vault in the proxy's log");
    CHECK(in_log(proxy_log, imds_port, 0) == 0, "the managed identity endpoint is not in the log");
    snprintf(buf, sizeof buf, "through the proxy %s (from https_proxy)", proxy);
    CHECK(route_is(buf, "environment"), "the route names the proxy and the variable");
    azmi_string *text = NULL;
    err = NULL;
    s = azmi_identity_proxy_route(identity, &text, &err);
    CHECK(report(s, err, "identity route") == AZMI_OK &&
              strcmp(azmi_string_data(text),
                     "direct: managed identity endpoints never go through a proxy") == 0,
          "token requests go direct");
    azmi_string_free(text);
    text = NULL;
    err = NULL;
    s = azmi_proxy_get(&text, &err);
    CHECK(report(s, err, "azmi_proxy_get") == AZMI_OK &&
              strstr(azmi_string_data(text), "\"source\":\"environment\"") != NULL &&
              strstr(azmi_string_data(text), "\"from\":\"https_proxy\"") != NULL,
          "azmi_proxy_get says where the proxy came from");
    azmi_string_free(text);

    /* 2. NO_PROXY, in variables given as the environment. */
    int before = in_log(proxy_log, vault_port, 1);
    char https_var[256];
    snprintf(https_var, sizeof https_var, "https_proxy=%s", proxy);
    const char *vars[] = {https_var, "no_proxy=localhost,127.0.0.1", "PATH=/usr/bin"};
    err = NULL;
    s = azmi_set_proxy_environment(vars, 3, &err);
    set(AZMI_OK, s, err, "set the variables");
    CHECK(route_is("direct: no_proxy names '127.0.0.1'", "no_proxy"), "no_proxy sends it direct");
    s = get_secret(&err);
    CHECK(report(s, err, "get direct") == AZMI_OK, "a secret direct");
    CHECK(in_log(proxy_log, vault_port, 1) == before, "no CONNECT for a NO_PROXY host");

    /* 3. Basic credentials, in the URL and apart; the explicit setting wins over the
     * environment's https_proxy. */
    before = in_log(proxy_log, vault_port, 1);
    snprintf(buf, sizeof buf, "http://alice:s3cret@127.0.0.1:%s", port_of(auth_proxy));
    err = NULL;
    s = azmi_set_proxy(buf, NULL, &err);
    set(AZMI_OK, s, err, "set the proxy with credentials");
    snprintf(buf, sizeof buf, "through the proxy %s (from the explicit setting, with credentials)",
             auth_proxy);
    CHECK(route_is(buf, "credentials in the URL"), "route with credentials, not showing them");
    s = get_secret(&err);
    CHECK(report(s, err, "get with credentials") == AZMI_OK, "a secret through Basic credentials");
    err = NULL;
    s = azmi_set_proxy_with_credentials(auth_proxy, NULL, "alice", "s3cret", &err);
    set(AZMI_OK, s, err, "set credentials apart");
    s = get_secret(&err);
    CHECK(report(s, err, "get with credentials apart") == AZMI_OK, "credentials given apart");
    CHECK(in_log(auth_log, vault_port, 1) >= 1, "CONNECT in the authenticating proxy's log");
    CHECK(in_log(proxy_log, vault_port, 1) == before, "the environment's proxy is not used");

    /* 4. The 407: which proxy, and how to give credentials. */
    err = NULL;
    s = azmi_set_proxy(auth_proxy, "", &err);
    set(AZMI_OK, s, err, "set the proxy without credentials");
    s = get_secret(&err);
    CHECK(s == AZMI_PROXY_ERROR, "a 407 is AZMI_PROXY_ERROR");
    if (err != NULL) {
        const char *m = azmi_error_message(err);
        CHECK(azmi_error_http_status(err) == 407, "with HTTP status 407");
        snprintf(buf, sizeof buf, "the proxy %s (from the explicit setting) asked for credentials (HTTP 407", auth_proxy);
        CHECK(strstr(m, buf) != NULL, "the message names the proxy and the 407");
        CHECK(strstr(m, "Set-AzMiProxy -Credential") != NULL, "and how to give credentials");
        azmi_error_free(err);
    }

    /* 5. A proxy that is down. */
    err = NULL;
    s = azmi_set_proxy("http://127.0.0.1:1", NULL, &err);
    set(AZMI_OK, s, err, "set a proxy that is down");
    s = get_secret(&err);
    CHECK(s == AZMI_PROXY_ERROR, "a proxy that is down is AZMI_PROXY_ERROR");
    if (err != NULL) {
        CHECK(strstr(azmi_error_message(err),
                     "the proxy http://127.0.0.1:1 (from the explicit setting) could not be reached") != NULL,
              "the message names the proxy's host and port");
        azmi_error_free(err);
    }

    /* 6. Off, then the environment again. */
    err = NULL;
    s = azmi_set_proxy("", NULL, &err);
    set(AZMI_OK, s, err, "turn the proxy off");
    CHECK(route_is("direct: the proxy is turned off", "off"), "off");
    err = NULL;
    s = azmi_set_proxy(NULL, NULL, &err);
    set(AZMI_OK, s, err, "the environment again");
    snprintf(buf, sizeof buf, "through the proxy %s (from https_proxy)", proxy);
    CHECK(route_is(buf, "environment again"), "the environment is read again");

    /* 7. Bad settings change nothing. */
    err = NULL;
    s = azmi_set_proxy("socks5://127.0.0.1:1080", NULL, &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "a SOCKS proxy is refused");
    err = NULL;
    s = azmi_set_proxy(NULL, "localhost", &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "no_proxy without a url is refused");
    const char *bad[] = {"https_proxy"};
    err = NULL;
    s = azmi_set_proxy_environment(bad, 1, &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "a variable without '=' is refused");
    err = NULL;
    s = azmi_set_proxy_environment(NULL, 1, &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "NULL variables with a count are refused");
    err = NULL;
    s = azmi_set_proxy_with_credentials(auth_proxy, NULL, "a:b", "x", &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "a user name with ':' is refused");
    CHECK(route_is(buf, "after bad settings"), "bad settings changed nothing");
    err = NULL;
    s = azmi_proxy_route("ftp://x/", &text, &err);
    set(AZMI_INVALID_ARGUMENT, s, err, "a route for a URL that is not http(s)");

    azmi_identity_free(identity);
    azmi_shutdown(NULL);
    printf("proxy_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
