/*
 * What the C tests share: pass/fail counting (CHECK), reporting an error (report) and reading a token's JWT claims without
 * printing the token. Included by one translation unit per test program.
 */
#ifndef AZMI_TESTS_CHECK_H
#define AZMI_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <direct.h>
#include <io.h>
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "azmi.h"

/* Makes a new empty folder named <the system's temporary folder>/<prefix>-XXXXXX into buf (the
 * same on Windows, where there is no mkdtemp); returns buf, or NULL with errno set. */
static inline char *check_temp_folder(char *buf, size_t size, const char *prefix) {
#ifdef _WIN32
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof base, base);
    if (n == 0 || n > MAX_PATH) return NULL;
    if (snprintf(buf, size, "%s%s-XXXXXX", base, prefix) >= (int)size) return NULL;
    if (_mktemp(buf) == NULL || _mkdir(buf) != 0) return NULL;
    return buf;
#else
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0') base = "/tmp";
    if (snprintf(buf, size, "%s/%s-XXXXXX", base, prefix) >= (int)size) return NULL;
    return mkdtemp(buf);
#endif
}

/* Removes an empty folder (rmdir, or _rmdir on Windows). */
static inline void check_remove_folder(const char *path) {
#ifdef _WIN32
    _rmdir(path);
#else
    rmdir(path);
#endif
}

static int failures = 0;
static int passes = 0;

/* Put before every failure message, e.g. "Gen1: " while adls_test runs one protocol. */
static const char *check_prefix = "";

#define CHECK(cond, what)                                                                 \
    do {                                                                                  \
        if (cond) {                                                                       \
            passes++;                                                                     \
        } else {                                                                          \
            failures++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s%s\n", __FILE__, __LINE__, check_prefix, what); \
        }                                                                                 \
    } while (0)

/* Reports (what, message, status name) and frees an error; returns its status. */
static inline azmi_status report(azmi_status s, azmi_error *err, const char *what) {
    if (s != AZMI_OK && err != NULL) {
        fprintf(stderr, "  %s%s: %s (%s)\n", check_prefix, what, azmi_error_message(err),
                azmi_status_name(s));
    }
    azmi_error_free(err);
    return s;
}

/* Decodes the JWT payload (base64url) into a new string the caller frees. */
static inline char *jwt_payload(const char *jwt) {
    const char *start = strchr(jwt, '.');
    const char *end;
    size_t n, i, o = 0;
    unsigned int acc = 0;
    int bits = 0;
    char *out;
    if (start == NULL) return NULL;
    start++;
    end = strchr(start, '.');
    if (end == NULL) return NULL;
    n = (size_t)(end - start);
    out = malloc(n + 1);
    if (out == NULL) return NULL;
    for (i = 0; i < n; i++) {
        char c = start[i];
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else break;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[o] = '\0';
    return out;
}

static inline int payload_contains(const azmi_token *token, const char *needle) {
    char *payload = jwt_payload(azmi_token_access_token(token));
    int found = payload != NULL && strstr(payload, needle) != NULL;
    free(payload);
    return found;
}

#endif /* AZMI_TESTS_CHECK_H */
