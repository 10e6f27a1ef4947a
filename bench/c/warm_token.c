/*
 * Warm token calls for the instruction counts of bench/token-instructions.sh:
 *
 *   warm_token explicit|null CALLS [THREADS]
 *
 * serves one IMDS token of TOKEN_BYTES (default 1733, the size of a real Entra ID token) from
 * a loopback endpoint of its own, points AZMI_IMDS_ENDPOINT at it, gets the token once (cold:
 * the request, the engine's start), then makes CALLS warm calls of azmi_get_token +
 * azmi_token_free on each of THREADS threads (default 1), with an identity from
 * azmi_identity_new (explicit) or a NULL identity (null). The script runs it under callgrind
 * twice with different CALLS; the difference divided by the difference of CALLS is the cost of
 * one warm call, whatever the start costs. It prints the calls per second of all threads
 * together and the CPU time per call (figures, not checks: 1 and 2 threads show how warm calls
 * scale; on a busy machine the CPU time per call, which grows when threads contend for shared
 * memory, says more than the rate).
 *
 * Figures, not a test: a failed call prints its message and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "azmi.h"

#define ARM "https://management.azure.com/"

static char response[8192];
static size_t response_len;

/* A JWT-shaped token of `len` printable characters (never a real one). */
static void make_response(size_t len) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char token[4096];
    if (len < 16 || len >= sizeof token) {
        fprintf(stderr, "warm_token: TOKEN_BYTES must be 16..4095\n");
        exit(2);
    }
    for (size_t i = 0; i < len; i++) token[i] = alphabet[(i * 7 + i / 64) % 64];
    memcpy(token, "eyJ0", 4);
    token[len / 8] = '.';
    token[len - len / 4] = '.';
    token[len] = '\0';
    char body[6144];
    int body_len = snprintf(body, sizeof body,
                            "{\"access_token\":\"%s\",\"expires_in\":\"3599\","
                            "\"expires_on\":\"%ld\",\"resource\":\"" ARM "\","
                            "\"token_type\":\"Bearer\"}",
                            token, (long)time(NULL) + 3599);
    response_len = (size_t)snprintf(response, sizeof response,
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                                    body_len, body);
}

/* Answers every request on `fd` with the token. */
static void *serve(void *arg) {
    int fd = *(int *)arg;
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        char buf[4096];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n")) break;
        }
        size_t sent = 0;
        while (sent < response_len && (n = write(c, response + sent, response_len - sent)) > 0)
            sent += (size_t)n;
        close(c);
    }
    return NULL;
}

static void start_endpoint(void) {
    static int fd;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("warm_token: loopback endpoint");
        exit(2);
    }
    pthread_t t;
    pthread_create(&t, NULL, serve, &fd);
    pthread_detach(t);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metadata/identity/oauth2/token",
             ntohs(addr.sin_port));
    setenv("AZMI_IMDS_ENDPOINT", url, 1);
}

static const azmi_identity *identity;
static long calls;

static void one_call(void) {
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s = azmi_get_token(ARM, identity, 0, NULL, &token, &err);
    if (s != AZMI_OK) {
        fprintf(stderr, "warm_token: azmi_get_token: %s: %s\n", azmi_status_name(s),
                azmi_error_message(err));
        exit(1);
    }
    azmi_token_free(token);
}

/* Each thread's CPU time in the loop, in seconds (summed by main). */
static double thread_cpu[64];

static void *warm_calls(void *arg) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (long i = 0; i < calls; i++) one_call();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    thread_cpu[(long)arg] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "explicit") != 0 && strcmp(argv[1], "null") != 0)) {
        fprintf(stderr, "usage: warm_token explicit|null CALLS [THREADS]\n");
        return 2;
    }
    calls = atol(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    const char *bytes = getenv("TOKEN_BYTES");
    make_response(bytes ? (size_t)atol(bytes) : 1733);
    start_endpoint();

    azmi_identity *id = NULL;
    if (strcmp(argv[1], "explicit") == 0) {
        azmi_error *err = NULL;
        if (azmi_identity_new(NULL, NULL, NULL, &id, &err) != AZMI_OK) {
            fprintf(stderr, "warm_token: azmi_identity_new: %s\n", azmi_error_message(err));
            return 1;
        }
    }
    identity = id;
    one_call(); /* cold: the request */

    pthread_t t[64];
    struct timespec a, b;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (threads == 1) {
        warm_calls(NULL);
    } else {
        for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, warm_calls, (void *)i);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    double cpu = 0;
    for (int i = 0; i < threads; i++) cpu += thread_cpu[i];
    printf("%s, %d thread%s: %.0f calls/s, %.1f ns of CPU per call\n", argv[1], threads,
           threads > 1 ? "s" : "", (double)calls * threads / s, cpu * 1e9 / ((double)calls * threads));
    azmi_identity_free(id);
    return 0;
}
