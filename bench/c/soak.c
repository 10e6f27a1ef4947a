/*
 * Soak driver for bench/soak.sh (issue 11, "Soak"): many threads call azmi_get_token and
 * azmi_keyvault_get through the C ABI against azmi-emulator for a bounded time, while a chaos
 * thread keeps re-arming the emulator's fault queues (429 with Retry-After, 500/502/503/504,
 * dropped connections, slow answers) and the emulator issues tokens that go stale every few
 * seconds. It then checks, and exits 1 when any check fails:
 *
 *   - no wrong result: every token has type Bearer, the requested resource, the caller's
 *     identity (the JWT's aud and oid) and at least the cache's 5-minute margin left; every
 *     secret has the expected name and value;
 *   - no error at all: every injected fault is one the retry policy absorbs;
 *   - every call returned within its budget (the identity's retry budget);
 *   - RSS flat after warm-up;
 *   - single-flight: the tokens the emulator issued are about one per cache entry per refresh
 *     window, not one per caller.
 *
 *   soak --vault <url> [--seconds 120] [--threads 32] [--budget-ms 10000]
 *        [--initial-delay-ms 200] [--window 5] [--warmup 20] [--rss-tolerance-kib 4096]
 *        [--token-think-us 1000] [--kv-think-us 20000] [--faults 1] [--seed 1]
 *        [--min-token-left 295]
 *
 * --window is the token's life in the cache (the emulator's token lifetime minus the 5-minute
 * margin); --warmup the seconds before the RSS baseline is taken; --min-token-left the fewest
 * seconds a returned token may have left (the cache's margin, less 5 s of slack). The token endpoint and CA come
 * from the environment (AZMI_IMDS_ENDPOINT, AZMI_CA_FILE); the emulator's admin endpoints are on
 * the token endpoint's host and port. Tokens and secret values are never printed.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "azmi.h"

/* ---- settings ------------------------------------------------------------------------------ */

static struct {
    const char *vault;
    long seconds, threads, budget_ms, initial_delay_ms, window, warmup, rss_tolerance_kib;
    long token_think_us, kv_think_us, faults, seed, min_token_left;
} cfg = {NULL, 120, 32, 10000, 200, 5, 20, 4096, 1000, 20000, 1, 1, 295};

static const char *const SECRET_NAME = "mi-test";
static const char *const SECRET_VALUE = "Hello from Key Vault";

/* The emulator's built-in identities (docs/emulator.md). */
enum { SYSTEM, USER, IDENTITIES };
static const char *const IDENTITY_CLIENT_ID[IDENTITIES] = {NULL, "00001111-aaaa-2222-bbbb-3333cccc4444"};
static const char *const IDENTITY_OID[IDENTITIES] = {"5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002",
                                                     "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"};
static azmi_identity *identity[IDENTITIES];

/* Token threads cycle through these; the vault's resource is also what Key Vault calls use, so
 * both kinds of caller share those cache entries. */
static const char *const RESOURCES[] = {"https://management.azure.com/", "https://storage.azure.com/",
                                        "https://vault.azure.net"};
enum { RESOURCE_COUNT = sizeof RESOURCES / sizeof RESOURCES[0], ENTRIES = RESOURCE_COUNT * IDENTITIES };

/* ---- time ---------------------------------------------------------------------------------- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(long us) {
    if (us <= 0) return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static uint64_t run_start_ns;
static double elapsed_s(void) { return (double)(now_ns() - run_start_ns) / 1e9; }

/* ---- latency histogram (log-linear, about 3 % resolution, in microseconds) ------------------ */

enum { SUB_BITS = 5, SUBS = 1 << SUB_BITS, LINEAR = 2 * SUBS, BUCKETS = LINEAR + 40 * SUBS };

static int bucket_of(uint64_t us) {
    if (us < LINEAR) return (int)us;
    int e = 63 - __builtin_clzll(us); /* us in [2^e, 2^(e+1)) with e >= SUB_BITS + 1 */
    int b = LINEAR + (e - SUB_BITS - 1) * SUBS + (int)((us >> (e - SUB_BITS)) & (SUBS - 1));
    return b < BUCKETS ? b : BUCKETS - 1;
}

static uint64_t bucket_upper_us(int b) {
    if (b < LINEAR) return (uint64_t)b;
    int e = (b - LINEAR) / SUBS + SUB_BITS + 1, sub = (b - LINEAR) % SUBS;
    return ((uint64_t)(SUBS + sub + 1) << (e - SUB_BITS)) - 1;
}

/* ---- per-kind results ---------------------------------------------------------------------- */

enum { KIND_TOKEN, KIND_KEYVAULT, KINDS };
static const char *const KIND_NAME[KINDS] = {"azmi_get_token", "azmi_keyvault_get"};
enum { STATUSES = 32 };

typedef struct {
    uint64_t calls, ok, wrong, over_budget, not_from_cache;
    uint64_t errors[STATUSES];
    uint64_t max_us;
    uint64_t hist[BUCKETS];
} stats;

typedef struct {
    int index;
    int kind;
    unsigned seed;
    stats st;
} worker;

static atomic_int stop;

/* The first message seen per status, to show what went wrong (messages never hold tokens). */
static pthread_mutex_t first_error_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[KINDS][STATUSES][512];

static void record_error(int kind, azmi_status s, const azmi_error *err) {
    unsigned i = s < STATUSES ? s : STATUSES - 1;
    pthread_mutex_lock(&first_error_lock);
    if (!first_error[kind][i][0]) {
        snprintf(first_error[kind][i], sizeof first_error[kind][i], "HTTP %u: %s",
                 err ? (unsigned)azmi_error_http_status(err) : 0u, err ? azmi_error_message(err) : "(no error)");
    }
    pthread_mutex_unlock(&first_error_lock);
}

static pthread_mutex_t wrong_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_wrong[KINDS][256];

static void record_wrong(int kind, const char *why) {
    pthread_mutex_lock(&wrong_lock);
    if (!first_wrong[kind][0]) snprintf(first_wrong[kind], sizeof first_wrong[kind], "%s", why);
    pthread_mutex_unlock(&wrong_lock);
}

/* ---- checking a token without showing it --------------------------------------------------- */

static int b64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decodes the JWT's payload (between the two dots) into out; 0 when it is not one. */
static size_t jwt_payload(const char *jwt, char *out, size_t cap) {
    const char *p = strchr(jwt, '.');
    if (!p) return 0;
    const char *end = strchr(++p, '.');
    if (!end) return 0;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; p < end; p++) {
        int v = b64url_value(*p);
        if (v < 0) return 0;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap) return 0;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = 0;
    return n;
}

static int has_claim(const char *payload, const char *name, const char *value) {
    char want[256];
    snprintf(want, sizeof want, "\"%s\":\"%s\"", name, value);
    return strstr(payload, want) != NULL;
}

/* NULL when the token is right; else why not (without the token). */
static const char *check_token(const azmi_token *t, const char *resource, int id) {
    if (strcmp(azmi_token_type(t), "Bearer") != 0) return "token type is not Bearer";
    if (strcmp(azmi_token_resource(t), resource) != 0) return "token for another resource";
    /* The cache serves a token only while it has more than 5 minutes left; the default 295
     * allows 5 s for the time between the cache's check and this one on a loaded machine. */
    if (azmi_token_expires_on(t) - (int64_t)time(NULL) < cfg.min_token_left) return "token served with under 5 minutes left";
    const char *jwt = azmi_token_access_token(t);
    if (strlen(jwt) != azmi_token_access_token_len(t)) return "token length disagrees";
    char payload[4096];
    if (!jwt_payload(jwt, payload, sizeof payload)) return "token is not a JWT";
    if (!has_claim(payload, "aud", resource)) return "token's audience is not the resource";
    if (!has_claim(payload, "oid", IDENTITY_OID[id])) return "token of another identity";
    return NULL;
}

/* ---- the callers --------------------------------------------------------------------------- */

static void record_latency(stats *st, uint64_t us) {
    st->hist[bucket_of(us)]++;
    if (us > st->max_us) st->max_us = us;
    if (us > (uint64_t)cfg.budget_ms * 1000) st->over_budget++;
}

static void token_call(worker *w, uint64_t n) {
    int id = (int)(n % IDENTITIES);
    const char *resource = RESOURCES[(n / IDENTITIES) % RESOURCE_COUNT];
    azmi_token *t = NULL;
    azmi_error *err = NULL;
    uint64_t t0 = now_ns();
    azmi_status s = azmi_get_token(resource, identity[id], 0, NULL, &t, &err);
    record_latency(&w->st, (now_ns() - t0) / 1000);
    w->st.calls++;
    if (s != AZMI_OK) {
        w->st.errors[s < STATUSES ? s : STATUSES - 1]++;
        record_error(KIND_TOKEN, s, err);
        azmi_error_free(err);
        return;
    }
    const char *why = check_token(t, resource, id);
    if (why) {
        w->st.wrong++;
        record_wrong(KIND_TOKEN, why);
    } else {
        w->st.ok++;
    }
    if (!azmi_token_from_cache(t)) w->st.not_from_cache++;
    azmi_token_free(t);
}

static void keyvault_call(worker *w, uint64_t n) {
    int id = (int)(n % IDENTITIES);
    azmi_secret *secret = NULL;
    azmi_error *err = NULL;
    uint64_t t0 = now_ns();
    azmi_status s = azmi_keyvault_get(cfg.vault, SECRET_NAME, NULL, NULL, identity[id], NULL, &secret, &err);
    record_latency(&w->st, (now_ns() - t0) / 1000);
    w->st.calls++;
    if (s != AZMI_OK) {
        w->st.errors[s < STATUSES ? s : STATUSES - 1]++;
        record_error(KIND_KEYVAULT, s, err);
        azmi_error_free(err);
        return;
    }
    size_t len = azmi_secret_value_len(secret);
    if (strcmp(azmi_secret_name(secret), SECRET_NAME) != 0) {
        w->st.wrong++;
        record_wrong(KIND_KEYVAULT, "secret with another name");
    } else if (len != strlen(SECRET_VALUE) || memcmp(azmi_secret_value(secret), SECRET_VALUE, len) != 0) {
        w->st.wrong++;
        record_wrong(KIND_KEYVAULT, "secret with another value");
    } else {
        w->st.ok++;
    }
    azmi_secret_free(secret);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    /* Start each thread at another identity and resource, so every entry has callers at once. */
    uint64_t n = (uint64_t)w->index;
    long think = w->kind == KIND_TOKEN ? cfg.token_think_us : cfg.kv_think_us;
    while (!atomic_load(&stop)) {
        if (w->kind == KIND_TOKEN)
            token_call(w, n);
        else
            keyvault_call(w, n);
        n++;
        /* Think time, 0.5 to 1.5 times the setting, so that callers do not march in step. */
        if (think > 0) sleep_us(think / 2 + (long)(rand_r(&w->seed) % (unsigned)(think + 1)));
    }
    return NULL;
}

/* ---- the emulator's admin endpoints (plain HTTP on the IMDS port) -------------------------- */

static char admin_host[64] = "127.0.0.1";
static int admin_port;

/* Sends one request; returns the HTTP status (0 on failure) and the body in out. */
static int admin_request(const char *method, const char *path, const char *body, char *out, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)admin_port);
    if (inet_pton(AF_INET, admin_host, &addr.sin_addr) != 1 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return 0;
    }
    char req[4096];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     method, path, admin_host, admin_port, blen, body ? body : "");
    if (n <= 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return 0;
    }
    char resp[16384];
    size_t got = 0;
    ssize_t r;
    while (got + 1 < sizeof resp && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0) got += (size_t)r;
    close(fd);
    resp[got] = 0;
    int status = 0;
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1) return 0;
    const char *b = strstr(resp, "\r\n\r\n");
    if (out && cap) snprintf(out, cap, "%s", b ? b + 4 : "");
    return status;
}

static uint64_t json_number(const char *json, const char *key) {
    char want[64];
    snprintf(want, sizeof want, "\"%s\":", key);
    const char *p = strstr(json, want);
    return p ? strtoull(p + strlen(want), NULL, 10) : 0;
}

typedef struct {
    uint64_t token_requests, tokens_issued, service_requests;
} counters;

static int read_counters(counters *c) {
    char body[1024];
    if (admin_request("GET", "/admin/counters", NULL, body, sizeof body) != 200) return -1;
    c->token_requests = json_number(body, "token_requests");
    c->tokens_issued = json_number(body, "tokens_issued");
    if (admin_request("GET", "/admin/service-counters", NULL, body, sizeof body) != 200) return -1;
    c->service_requests = json_number(body, "requests");
    return 0;
}

/* ---- chaos: the fault scripts ---------------------------------------------------------------- */

/* Every fault here is one the retry policy is meant to absorb: token endpoint 404/408/410/429/5xx
 * and connection failures; Key Vault 429/503 (Retry-After honoured), 500/502/504 for a GET, and
 * connection failures. Slow answers stay far below the budget and every timeout. */
static const char *const IMDS_FAULTS[] = {
    "{\"status\":429,\"retry_after\":1}", "{\"status\":500}", "{\"status\":503}", "{\"drop\":true}",
    "{\"delay_ms\":1500}",
};
static const char *const KV_FAULTS[] = {
    "{\"status\":429,\"retry_after\":1}", "{\"status\":500}", "{\"status\":502}", "{\"status\":503}",
    "{\"status\":504}", "{\"drop\":true}", "{\"delay_ms\":400}", "{\"delay_ms\":1500}",
};
enum { IMDS_KINDS = sizeof IMDS_FAULTS / sizeof IMDS_FAULTS[0], KV_KINDS = sizeof KV_FAULTS / sizeof KV_FAULTS[0] };

static uint64_t imds_armed[IMDS_KINDS], kv_armed[KV_KINDS];
static uint64_t chaos_admin_failures;

static void arm(const char *path, const char *const *kinds, int nkinds, uint64_t *armed, int count, unsigned *seed) {
    char body[1024] = "{\"faults\":[";
    for (int i = 0; i < count; i++) {
        int k = (int)(rand_r(seed) % (unsigned)nkinds);
        armed[k]++;
        strcat(body, kinds[k]);
        if (i + 1 < count) strcat(body, ",");
    }
    strcat(body, "]}");
    if (admin_request("POST", path, body, NULL, 0) != 200) chaos_admin_failures++;
}

/* Token endpoint: two faults per refresh window (a refresh that starts just before a re-arm may
 * meet four, whose backoffs still fit the budget). Key Vault: two faults every 250 ms; the
 * callers take them within milliseconds, each a different caller most of the time. */
static void *chaos_main(void *arg) {
    unsigned seed = (unsigned)cfg.seed;
    (void)arg;
    uint64_t next_imds = 0;
    for (uint64_t tick = 0; !atomic_load(&stop); tick++) {
        if (now_ns() >= next_imds) {
            arm("/admin/faults", IMDS_FAULTS, IMDS_KINDS, imds_armed, 2, &seed);
            next_imds = now_ns() + (uint64_t)cfg.window * 1000000000u;
        }
        arm("/admin/service-faults", KV_FAULTS, KV_KINDS, kv_armed, 2, &seed);
        sleep_us(250000);
    }
    /* Leave the emulator clean for whatever runs next. */
    admin_request("POST", "/admin/faults", "{\"faults\":[]}", NULL, 0);
    admin_request("POST", "/admin/service-faults", "{\"faults\":[]}", NULL, 0);
    return NULL;
}

/* ---- RSS ----------------------------------------------------------------------------------- */

enum { MAX_SAMPLES = 4096 };
static long rss_kib[MAX_SAMPLES];
/* Bytes malloc has handed out and not had back (glibc's mallinfo2, every arena; -1 elsewhere):
 * growing RSS with a flat heap is the allocator keeping freed pages, a growing heap is memory
 * the program holds. glibc counts the chunks kept in its per-thread caches (tcache, up to 7 per
 * size class per thread) as in use, so with many threads this creeps up as rarer sizes get
 * freed on more threads; GLIBC_TUNABLES=glibc.malloc.tcache_count=0 leaves live memory only. */
static long heap_kib[MAX_SAMPLES];
static double rss_at[MAX_SAMPLES];
static int rss_samples;

static long read_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    }
    fclose(f);
    return kib;
}

static void *rss_main(void *arg) {
    (void)arg;
    while (!atomic_load(&stop) && rss_samples < MAX_SAMPLES) {
        rss_at[rss_samples] = elapsed_s();
        rss_kib[rss_samples] = read_rss_kib();
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
        heap_kib[rss_samples] = (long)(mallinfo2().uordblks / 1024);
#else
        heap_kib[rss_samples] = -1;
#endif
        rss_samples++;
        sleep_us(1000000);
    }
    return NULL;
}

/* ---- reporting ----------------------------------------------------------------------------- */

static uint64_t percentile_us(const uint64_t *hist, uint64_t total, double p) {
    uint64_t rank = (uint64_t)((double)total * p);
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (int b = 0; b < BUCKETS; b++) {
        seen += hist[b];
        if (seen > rank) return bucket_upper_us(b);
    }
    return 0;
}

static void fmt_us(uint64_t us, char *out, size_t cap) {
    if (us < 1000)
        snprintf(out, cap, "%llu µs", (unsigned long long)us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1f ms", (double)us / 1e3);
    else
        snprintf(out, cap, "%.2f s", (double)us / 1e6);
}

static int failures;
static void check(int ok, const char *what) {
    printf("  [%s] %s\n", ok ? "ok" : "FAIL", what);
    if (!ok) failures++;
}

static long arg_long(const char *v, const char *name) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0) {
        fprintf(stderr, "soak: %s wants a number, not %s\n", name, v);
        exit(2);
    }
    return x;
}

static void parse_args(int argc, char **argv) {
    struct {
        const char *name;
        long *value;
    } longs[] = {{"--seconds", &cfg.seconds},
                 {"--threads", &cfg.threads},
                 {"--budget-ms", &cfg.budget_ms},
                 {"--initial-delay-ms", &cfg.initial_delay_ms},
                 {"--window", &cfg.window},
                 {"--warmup", &cfg.warmup},
                 {"--rss-tolerance-kib", &cfg.rss_tolerance_kib},
                 {"--token-think-us", &cfg.token_think_us},
                 {"--kv-think-us", &cfg.kv_think_us},
                 {"--faults", &cfg.faults},
                 {"--seed", &cfg.seed},
                 {"--min-token-left", &cfg.min_token_left}};
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "soak: %s wants a value\n", argv[i]);
            exit(2);
        }
        if (strcmp(argv[i], "--vault") == 0) {
            cfg.vault = argv[i + 1];
            continue;
        }
        size_t k = 0;
        for (; k < sizeof longs / sizeof longs[0]; k++) {
            if (strcmp(argv[i], longs[k].name) == 0) {
                *longs[k].value = arg_long(argv[i + 1], argv[i]);
                break;
            }
        }
        if (k == sizeof longs / sizeof longs[0]) {
            fprintf(stderr, "soak: unknown option %s (see the comment at the top of bench/c/soak.c)\n", argv[i]);
            exit(2);
        }
    }
    if (!cfg.vault || cfg.threads < 2 || cfg.seconds < 1 || cfg.window < 2 || cfg.budget_ms < 1 ||
        cfg.initial_delay_ms < 1 || cfg.warmup >= cfg.seconds) {
        fprintf(stderr, "soak: --vault is required; --threads >= 2, --window >= 2, --warmup < --seconds\n");
        exit(2);
    }
}

/* Takes the admin host and port from AZMI_IMDS_ENDPOINT (http://127.0.0.1:<port>/metadata/…). */
static void admin_from_env(void) {
    const char *ep = getenv("AZMI_IMDS_ENDPOINT");
    if (!ep || sscanf(ep, "http://%63[0-9.]:%d/", admin_host, &admin_port) != 2) {
        fprintf(stderr, "soak: AZMI_IMDS_ENDPOINT must be the emulator's http://127.0.0.1:<port>/… token URL\n");
        exit(2);
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    admin_from_env();

    for (int id = 0; id < IDENTITIES; id++) {
        azmi_error *err = NULL;
        if (azmi_identity_new(IDENTITY_CLIENT_ID[id], NULL, NULL, &identity[id], &err) != AZMI_OK ||
            azmi_identity_set_timeouts(identity[id], 1000, (uint32_t)cfg.budget_ms, (uint32_t)cfg.initial_delay_ms,
                                       &err) != AZMI_OK) {
            fprintf(stderr, "soak: identity: %s\n", err ? azmi_error_message(err) : "?");
            return 2;
        }
    }

    /* Before any fault: one token per entry and one secret per identity, so that the endpoint
     * has answered once (azmi does not retry an endpoint that never answered: off Azure that
     * must fail fast) and the vault's challenge is known. Not measured. */
    admin_request("POST", "/admin/faults", "{\"faults\":[]}", NULL, 0);
    admin_request("POST", "/admin/service-faults", "{\"faults\":[]}", NULL, 0);
    {
        worker w = {0};
        for (uint64_t n = 0; n < ENTRIES; n++) token_call(&w, n);
        for (uint64_t n = 0; n < IDENTITIES; n++) keyvault_call(&w, n);
        if (w.st.ok != ENTRIES + IDENTITIES) {
            fprintf(stderr, "soak: the warm-up calls failed (emulator not reachable?)\n");
            for (int k = 0; k < KINDS; k++)
                for (int s = 0; s < STATUSES; s++)
                    if (first_error[k][s][0]) fprintf(stderr, "  %s: %s: %s\n", KIND_NAME[k], azmi_status_name((uint32_t)s), first_error[k][s]);
            return 1;
        }
    }
    counters before, after;
    if (read_counters(&before) != 0) {
        fprintf(stderr, "soak: cannot read the emulator's counters at %s:%d\n", admin_host, admin_port);
        return 2;
    }

    printf("soak: %ld threads (%ld azmi_get_token, %ld azmi_keyvault_get) for %ld s; budget %ld ms (initial "
           "backoff %ld ms); tokens stale every %ld s; faults %s; think time %ld µs (token) / %ld µs (Key Vault)\n",
           cfg.threads, (cfg.threads + 1) / 2, cfg.threads / 2, cfg.seconds, cfg.budget_ms, cfg.initial_delay_ms,
           cfg.window, cfg.faults ? "on" : "off", cfg.token_think_us, cfg.kv_think_us);
    fflush(stdout);

    worker *workers = calloc((size_t)cfg.threads, sizeof *workers);
    pthread_t *tids = calloc((size_t)cfg.threads, sizeof *tids);
    if (!workers || !tids) return 2;
    run_start_ns = now_ns();
    pthread_t chaos, rss;
    pthread_create(&rss, NULL, rss_main, NULL);
    if (cfg.faults) pthread_create(&chaos, NULL, chaos_main, NULL);
    for (long i = 0; i < cfg.threads; i++) {
        workers[i].index = (int)i;
        workers[i].kind = i % 2 == 0 ? KIND_TOKEN : KIND_KEYVAULT;
        workers[i].seed = (unsigned)(cfg.seed * 7919 + i);
        pthread_create(&tids[i], NULL, worker_main, &workers[i]);
    }
    for (long s = 0; s < cfg.seconds; s++) {
        sleep_us(1000000);
        if ((s + 1) % 10 == 0) {
            printf("  %3ld s\n", s + 1);
            fflush(stdout);
        }
    }
    atomic_store(&stop, 1);
    uint64_t stopped = now_ns();
    for (long i = 0; i < cfg.threads; i++) pthread_join(tids[i], NULL);
    double drain_s = (double)(now_ns() - stopped) / 1e9;
    double run_s = (double)(now_ns() - run_start_ns) / 1e9;
    if (cfg.faults) pthread_join(chaos, NULL);
    pthread_join(rss, NULL);
    if (read_counters(&after) != 0) {
        fprintf(stderr, "soak: cannot read the emulator's counters\n");
        return 2;
    }

    /* Merge per kind. */
    static stats total[KINDS];
    for (long i = 0; i < cfg.threads; i++) {
        stats *t = &total[workers[i].kind], *s = &workers[i].st;
        t->calls += s->calls;
        t->ok += s->ok;
        t->wrong += s->wrong;
        t->over_budget += s->over_budget;
        t->not_from_cache += s->not_from_cache;
        if (s->max_us > t->max_us) t->max_us = s->max_us;
        for (int k = 0; k < STATUSES; k++) t->errors[k] += s->errors[k];
        for (int b = 0; b < BUCKETS; b++) t->hist[b] += s->hist[b];
    }

    printf("\nran %.1f s (the last calls took %.2f s to return after the stop)\n\n", run_s, drain_s);
    printf("| call | threads | calls | calls/s | ok | wrong | errors | p50 | p99 | p99.9 | max | over budget |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    uint64_t errors_total = 0, wrong_total = 0, over_total = 0;
    for (int k = 0; k < KINDS; k++) {
        stats *t = &total[k];
        uint64_t errs = 0;
        for (int s = 0; s < STATUSES; s++) errs += t->errors[s];
        errors_total += errs;
        wrong_total += t->wrong;
        over_total += t->over_budget;
        char p50[32] = "-", p99[32] = "-", p999[32] = "-", mx[32] = "-";
        if (t->calls) {
            fmt_us(percentile_us(t->hist, t->calls, 0.50), p50, sizeof p50);
            fmt_us(percentile_us(t->hist, t->calls, 0.99), p99, sizeof p99);
            fmt_us(percentile_us(t->hist, t->calls, 0.999), p999, sizeof p999);
            fmt_us(t->max_us, mx, sizeof mx);
        }
        printf("| `%s` | %ld | %llu | %.0f | %llu | %llu | %llu | %s | %s | %s | %s | %llu |\n", KIND_NAME[k],
               k == KIND_TOKEN ? (cfg.threads + 1) / 2 : cfg.threads / 2, (unsigned long long)t->calls,
               (double)t->calls / run_s, (unsigned long long)t->ok, (unsigned long long)t->wrong,
               (unsigned long long)errs, p50, p99, p999, mx, (unsigned long long)t->over_budget);
    }
    printf("\nbudget per call: %ld ms. Percentiles from a log-linear histogram (about 3 %% resolution).\n",
           cfg.budget_ms);
    for (int k = 0; k < KINDS; k++) {
        for (int s = 0; s < STATUSES; s++)
            if (total[k].errors[s])
                printf("  %s errors %s: %llu (first: %s)\n", KIND_NAME[k], azmi_status_name((uint32_t)s),
                       (unsigned long long)total[k].errors[s], first_error[k][s]);
        if (first_wrong[k][0]) printf("  %s wrong results, first: %s\n", KIND_NAME[k], first_wrong[k]);
    }

    /* Faults armed (some re-arms replace faults nobody had taken yet). */
    uint64_t imds_total = 0, kv_total = 0;
    printf("\nfaults armed on the token endpoint:");
    for (int k = 0; k < IMDS_KINDS; k++) {
        printf(" %s ×%llu", IMDS_FAULTS[k], (unsigned long long)imds_armed[k]);
        imds_total += imds_armed[k];
    }
    printf("\nfaults armed on Key Vault:");
    for (int k = 0; k < KV_KINDS; k++) {
        printf(" %s ×%llu", KV_FAULTS[k], (unsigned long long)kv_armed[k]);
        kv_total += kv_armed[k];
    }
    printf("\n");

    /* Single-flight: each of the ENTRIES cache entries (identity × resource) needs one token per
     * window. A window lasts between window-1 and window seconds (whole-second expiry), plus the
     * time the refresh takes; so at most seconds/(window-1)+1 tokens per entry, plus one for the
     * calls that ran past the stop. Without single-flight every waiting caller would fetch one. */
    uint64_t issued = after.tokens_issued - before.tokens_issued;
    uint64_t requests = after.token_requests - before.token_requests;
    uint64_t kv_requests = after.service_requests - before.service_requests;
    double windows = run_s / (double)cfg.window;
    uint64_t allowed = (uint64_t)ENTRIES * ((uint64_t)(run_s / (double)(cfg.window - 1)) + 2);
    uint64_t waited = total[KIND_TOKEN].not_from_cache;
    printf("\nemulator counters during the run: %llu token requests (%llu answered with a token, %llu faulted or "
           "dropped), %llu Key Vault requests (%llu calls: %.3f requests per call)\n",
           (unsigned long long)requests, (unsigned long long)issued, (unsigned long long)(requests - issued),
           (unsigned long long)kv_requests, (unsigned long long)total[KIND_KEYVAULT].calls,
           total[KIND_KEYVAULT].calls ? (double)kv_requests / (double)total[KIND_KEYVAULT].calls : 0.0);
    printf("single-flight: %d cache entries × %.1f windows of %ld s = %.0f refreshes expected; %llu tokens issued "
           "(limit %llu); %llu azmi_get_token calls waited for a refresh instead of the cache (%.1f per token "
           "issued)\n",
           ENTRIES, windows, cfg.window, ENTRIES * windows, (unsigned long long)issued, (unsigned long long)allowed,
           (unsigned long long)waited, issued ? (double)waited / (double)issued : 0.0);

    /* RSS. */
    printf("\nRSS (VmRSS of this process) and heap in use (malloc, every arena), KiB, sampled every second:\n");
    long baseline = -1, peak_after = 0, last = 0, heap_baseline = -1;
    for (int i = 0; i < rss_samples; i++) {
        if (baseline < 0 && rss_at[i] >= (double)cfg.warmup) {
            baseline = rss_kib[i];
            heap_baseline = heap_kib[i];
        }
        if (baseline >= 0 && rss_kib[i] > peak_after) peak_after = rss_kib[i];
        last = rss_kib[i];
    }
    int step = rss_samples > 200 ? 30 : 10; /* about 20 lines for a 10-minute run */
    for (int i = 0; i < rss_samples; i += step)
        printf("  %5.0f s  RSS %8ld  heap %8ld\n", rss_at[i], rss_kib[i], heap_kib[i]);
    if (rss_samples)
        printf("  %5.0f s  RSS %8ld  heap %8ld (last)\n", rss_at[rss_samples - 1], last, heap_kib[rss_samples - 1]);
    /* Least-squares slope after warm-up, KiB per minute. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int i = 0; i < rss_samples; i++) {
        if (rss_at[i] < (double)cfg.warmup) continue;
        sx += rss_at[i];
        sy += (double)rss_kib[i];
        sxx += rss_at[i] * rss_at[i];
        sxy += rss_at[i] * (double)rss_kib[i];
        m++;
    }
    double slope = m > 1 ? ((double)m * sxy - sx * sy) / ((double)m * sxx - sx * sx) * 60.0 : 0.0;
    if (!getenv("GLIBC_TUNABLES"))
        printf("(heap in use includes glibc's per-thread caches; GLIBC_TUNABLES=glibc.malloc.tcache_count=0 "
               "counts live allocations only)\n");
    printf("after warm-up (%ld s): RSS baseline %ld KiB, peak %ld KiB (+%ld), last %ld KiB (%+ld), trend %+.0f "
           "KiB/min; heap in use %ld KiB at the baseline, %ld KiB last (%+ld)\n",
           cfg.warmup, baseline, peak_after, peak_after - baseline, last, last - baseline, slope, heap_baseline,
           rss_samples ? heap_kib[rss_samples - 1] : -1, rss_samples ? heap_kib[rss_samples - 1] - heap_baseline : 0);

    printf("\nchecks:\n");
    char line[256];
    snprintf(line, sizeof line, "no wrong result (%llu)", (unsigned long long)wrong_total);
    check(wrong_total == 0, line);
    snprintf(line, sizeof line, "no error: every injected fault absorbed by the retries (%llu errors)",
             (unsigned long long)errors_total);
    check(errors_total == 0, line);
    snprintf(line, sizeof line, "every call within its %ld ms budget (%llu over)", cfg.budget_ms,
             (unsigned long long)over_total);
    check(over_total == 0, line);
    snprintf(line, sizeof line, "both kinds of call made progress (%llu token, %llu Key Vault calls)",
             (unsigned long long)total[KIND_TOKEN].calls, (unsigned long long)total[KIND_KEYVAULT].calls);
    check(total[KIND_TOKEN].calls > 0 && total[KIND_KEYVAULT].calls > 0, line);
    snprintf(line, sizeof line, "RSS flat after warm-up: peak %+ld KiB over the baseline (tolerance %ld KiB)",
             peak_after - baseline, cfg.rss_tolerance_kib);
    check(baseline > 0 && peak_after - baseline <= cfg.rss_tolerance_kib, line);
    if (heap_baseline >= 0) {
        long heap_growth = heap_kib[rss_samples - 1] - heap_baseline;
        snprintf(line, sizeof line, "heap in use flat after warm-up: %+ld KiB (tolerance %ld KiB)", heap_growth,
                 cfg.rss_tolerance_kib);
        check(heap_growth <= cfg.rss_tolerance_kib, line);
    }
    snprintf(line, sizeof line, "single-flight: %llu tokens issued <= %llu (%d entries, one per window)",
             (unsigned long long)issued, (unsigned long long)allowed, ENTRIES);
    check(issued <= allowed, line);
    snprintf(line, sizeof line, "tokens were refreshed during the run (%llu issued, at least %d)",
             (unsigned long long)issued, ENTRIES);
    check(issued >= (uint64_t)ENTRIES, line);
    if (cfg.faults) {
        snprintf(line, sizeof line, "faults were injected (%llu token endpoint, %llu Key Vault; %llu admin failures)",
                 (unsigned long long)imds_total, (unsigned long long)kv_total,
                 (unsigned long long)chaos_admin_failures);
        check(requests > issued && chaos_admin_failures == 0, line);
    }
    printf("%s\n", failures ? "SOAK FAILED" : "SOAK PASSED");

    for (int id = 0; id < IDENTITIES; id++) azmi_identity_free(identity[id]);
    free(workers);
    free(tids);
    return failures ? 1 : 0;
}
