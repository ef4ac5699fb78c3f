/* webhook_bench.c — hilo-webhook-bench: provider webhooks into a real connector, timing each
 * request from the first byte sent to the last byte of the answer (libcurl multi, one thread).
 *
 *   --mode whatsapp   signed WhatsApp text webhooks (X-Hub-Signature-256) to hilo-whatsapp:
 *                     the connector answers 200 only after the router's Ack, so the latency is
 *                     webhook -> router ack -> answer.
 *   --mode voice      Twilio voice calls to hilo-voice (X-Twilio-Signature): a call start, then
 *                     gather turns on the <Gather action> of each answer, until --turns or an
 *                     answer without <Gather>; then the call-end status callback and a new call.
 *                     The latency of a turn is webhook -> router -> engine -> TwiML.
 *
 * --concurrency N senders (WhatsApp) or calls (voice) run at once; each sends its next request
 * --think-ms after the previous answer (uniformly 0.5x..1.5x), 0 = back to back (closed loop).
 * Sender/call i writes from phone --phone-base + i (E.164 digits), so every caller is one debtor.
 * Prints one JSON line: counts, statuses, rate and the latency percentiles in ms. The status
 * callbacks of voice calls are sent but not counted in the turn latency. */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SLOTS 4096

typedef enum { MODE_WHATSAPP, MODE_VOICE } mode_t_;

typedef struct {
    mode_t_ mode;
    const char *url;        /* connector base, e.g. http://127.0.0.1:8081 */
    const char *public_url; /* voice: the base Twilio signs (default = url) */
    const char *secret;     /* app secret (whatsapp) / auth token (voice) */
    const char *account_sid;
    const char *to;         /* our number */
    uint64_t phone_base;    /* first caller's digits */
    int concurrency;
    int think_ms;
    double seconds;
    double warmup;
    int turns;              /* voice: gather turns per call */
    const char *label;
} opts_t;

typedef enum { REQ_NONE, REQ_MESSAGE, REQ_CALL_START, REQ_GATHER, REQ_CALL_END } req_kind_t;

typedef struct {
    int index;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char *resp;
    size_t resp_len, resp_cap;
    req_kind_t kind;
    int64_t sent_ns;        /* when the request was handed to curl */
    int64_t due_ns;         /* when the next request may go (think time) */
    bool busy;
    /* voice call state */
    char call_sid[40];
    int turn;
    char next_url[512];     /* the <Gather action> of the last answer, "" = call over */
    uint64_t seq;
} slot_t;

static opts_t o;
static CURLM *multi;
static slot_t *slots;
static int64_t t_start, t_measure, t_end;
static uint64_t n_msgs;
static double *lat_ms, *curl_ms; /* our clock (submit -> done); curl's own TOTAL_TIME */
static size_t n_lat, cap_lat;
static uint64_t statuses[600], n_fail, n_no_gather, n_calls, n_sent;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void record(double ms, double cms) {
    if (n_lat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 65536;
        lat_ms = realloc(lat_ms, cap_lat * sizeof *lat_ms);
        curl_ms = realloc(curl_ms, cap_lat * sizeof *curl_ms);
        if (!lat_ms || !curl_ms) abort();
    }
    curl_ms[n_lat] = cms;
    lat_ms[n_lat++] = ms;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
    slot_t *s = arg;
    size_t len = size * n;
    if (s->resp_len + len + 1 > s->resp_cap) {
        s->resp_cap = (s->resp_len + len + 1) * 2;
        s->resp = realloc(s->resp, s->resp_cap);
        if (!s->resp) abort();
    }
    memcpy(s->resp + s->resp_len, p, len);
    s->resp_len += len;
    s->resp[s->resp_len] = '\0';
    return len;
}

/* ---- signatures ---------------------------------------------------------------------------- */

static void meta_signature(const char *body, size_t len, char out[80]) {
    unsigned char mac[32];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), o.secret, (int)strlen(o.secret), (const unsigned char *)body, len, mac, &mlen);
    strcpy(out, "sha256=");
    for (unsigned i = 0; i < mlen; i++) sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

/* params: "Name", "value" pairs, already sorted by name (as Twilio's rule needs). */
static void twilio_signature(const char *url, const char **params, int n, char out[64]) {
    char data[2048];
    size_t len = (size_t)snprintf(data, sizeof data, "%s", url);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(data + len, sizeof data - len, "%s%s", params[2 * i], params[2 * i + 1]);
    unsigned char mac[20];
    unsigned int mlen = 0;
    HMAC(EVP_sha1(), o.secret, (int)strlen(o.secret), (const unsigned char *)data, len, mac, &mlen);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen);
}

static void form_append(char *buf, size_t cap, size_t *len, const char *name, const char *value) {
    *len += (size_t)snprintf(buf + *len, cap - *len, "%s%s=", *len ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p && *len + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
            buf[(*len)++] = (char)*p;
        else
            *len += (size_t)snprintf(buf + *len, cap - *len, "%%%02X", *p);
    }
    buf[*len] = '\0';
}

/* ---- requests ------------------------------------------------------------------------------ */

static void submit(slot_t *s, const char *url, req_kind_t kind) {
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    s->resp_len = 0;
    if (s->resp) s->resp[0] = '\0';
    s->kind = kind;
    s->busy = true;
    s->sent_ns = now_ns();
    n_sent++;
    curl_multi_add_handle(multi, s->easy);
}

static void set_headers(slot_t *s, const char *ctype, const char *sig_name, const char *sig) {
    curl_slist_free_all(s->headers);
    char h[160];
    s->headers = curl_slist_append(NULL, ctype);
    snprintf(h, sizeof h, "%s: %s", sig_name, sig);
    s->headers = curl_slist_append(s->headers, h);
    s->headers = curl_slist_append(s->headers, "Expect:"); /* no 100-continue round trip */
}

static void send_whatsapp(slot_t *s) {
    char from[24], wamid[64], body[1024], sig[80], url[512];
    snprintf(from, sizeof from, "%" PRIu64, o.phone_base + (uint64_t)s->index);
    snprintf(wamid, sizeof wamid, "wamid.bench.%" PRId64 ".%d.%" PRIu64, t_start, s->index, s->seq++);
    snprintf(body, sizeof body,
             "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\",\"changes\":[{"
             "\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{\"display_phone_number\":\"%s\","
             "\"phone_number_id\":\"106540352242922\"},\"contacts\":[{\"profile\":{\"name\":\"Bench\"},"
             "\"wa_id\":\"%s\"}],\"messages\":[{\"from\":\"%s\",\"id\":\"%s\",\"timestamp\":\"%ld\","
             "\"type\":\"text\",\"text\":{\"body\":\"hola, cuanto debo\"}}]},\"field\":\"messages\"}]}]}",
             o.to, from, from, wamid, (long)time(NULL));
    free(s->body);
    s->body = strdup(body);
    meta_signature(body, strlen(body), sig);
    set_headers(s, "Content-Type: application/json", "X-Hub-Signature-256", sig);
    snprintf(url, sizeof url, "%s/webhooks/whatsapp", o.url);
    submit(s, url, REQ_MESSAGE);
}

/* Sends a voice webhook to public `purl` (what Twilio would request): delivered to the same
 * path on the connector's local base. */
static void send_voice(slot_t *s, const char *purl, const char **params, int n, req_kind_t kind) {
    char body[2048], sig[64], url[1024];
    size_t len = 0;
    body[0] = '\0';
    for (int i = 0; i < n; i++) form_append(body, sizeof body, &len, params[2 * i], params[2 * i + 1]);
    twilio_signature(purl, params, n, sig);
    free(s->body);
    s->body = strdup(body);
    set_headers(s, "Content-Type: application/x-www-form-urlencoded", "X-Twilio-Signature", sig);
    snprintf(url, sizeof url, "%s%s", o.url, purl + strlen(o.public_url));
    submit(s, url, kind);
}

static void next_voice(slot_t *s) {
    char from[24], purl[600];
    snprintf(from, sizeof from, "+%" PRIu64, o.phone_base + (uint64_t)s->index);
    if (!s->call_sid[0]) { /* a new call */
        snprintf(s->call_sid, sizeof s->call_sid, "CA%016" PRIx64 "%08x%08x", (uint64_t)t_start, (unsigned)s->index,
                 (unsigned)s->seq++);
        s->turn = 0;
        n_calls++;
        snprintf(purl, sizeof purl, "%s/webhooks/twilio/voice", o.public_url);
        const char *p[] = {"AccountSid", o.account_sid, "ApiVersion", "2010-04-01", "CallSid", s->call_sid,
                           "CallStatus", "ringing", "Direction", "inbound", "From", from, "To", o.to};
        send_voice(s, purl, p, 7, REQ_CALL_START);
    } else if (s->next_url[0] && s->turn < o.turns) {
        static const char *digits[] = {"4321", "1", "2", "9"};
        s->turn++;
        snprintf(purl, sizeof purl, "%s", s->next_url);
        const char *p[] = {"AccountSid", o.account_sid, "CallSid", s->call_sid, "CallStatus", "in-progress",
                           "Digits", digits[(s->turn - 1) % 4], "From", from, "To", o.to};
        send_voice(s, purl, p, 6, REQ_GATHER);
    } else { /* hang up: the call-end status callback */
        snprintf(purl, sizeof purl, "%s/webhooks/twilio/voice/status", o.public_url);
        const char *p[] = {"AccountSid", o.account_sid, "CallDuration", "7", "CallSid", s->call_sid,
                           "CallStatus", "completed", "From", from, "To", o.to};
        send_voice(s, purl, p, 6, REQ_CALL_END);
        s->call_sid[0] = '\0';
    }
}

/* The <Gather action="..."> of a TwiML answer (XML-unescaped), or "" when there is none. */
static void gather_action(const char *xml, char *out, size_t cap) {
    out[0] = '\0';
    const char *g = xml ? strstr(xml, "<Gather") : NULL;
    const char *a = g ? strstr(g, "action=\"") : NULL;
    if (!a) return;
    a += 8;
    size_t n = 0;
    while (*a && *a != '"' && n + 1 < cap) {
        if (strncmp(a, "&amp;", 5) == 0) out[n++] = '&', a += 5;
        else out[n++] = *a++;
    }
    out[n] = '\0';
}

static void think(slot_t *s, int64_t now) {
    int64_t d = 0;
    if (o.think_ms > 0) d = (int64_t)o.think_ms * 1000000LL / 2 + (int64_t)(random() % ((int64_t)o.think_ms * 1000000LL + 1));
    s->due_ns = now + d;
}

static void done(slot_t *s, CURLcode rc) {
    int64_t t = now_ns();
    long code = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(multi, s->easy);
    s->busy = false;
    if (rc != CURLE_OK) {
        n_fail++;
        code = 0;
    } else if (code >= 0 && code < 600) {
        statuses[code]++;
    }
    /* Timed: answered requests (any HTTP status; non-200 are counted apart) of the measured
     * window; transport failures are only counted. */
    bool counted = rc == CURLE_OK && s->kind != REQ_CALL_END && s->sent_ns >= t_measure && t <= t_end;
    curl_off_t total_us = 0;
    curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    if (counted) record((double)(t - s->sent_ns) / 1e6, (double)total_us / 1e3);
    if (s->kind == REQ_MESSAGE && counted) n_msgs++;
    if (o.mode == MODE_VOICE && (s->kind == REQ_CALL_START || s->kind == REQ_GATHER)) {
        if (counted) n_msgs++;
        gather_action(code == 200 ? s->resp : NULL, s->next_url, sizeof s->next_url);
        if (!s->next_url[0] && counted) n_no_gather++;
        if (s->next_url[0] && strncmp(s->next_url, o.public_url, strlen(o.public_url)) != 0) s->next_url[0] = '\0';
    }
    if (s->kind == REQ_CALL_END) s->due_ns = t; /* the next call starts at once (its own think) */
    else think(s, t);
}

static void usage(void) {
    fprintf(stderr,
            "usage: hilo-webhook-bench --mode whatsapp|voice --url BASE --secret S [--public-url BASE]\n"
            "       [--account-sid AC..] [--to NUMBER] [--phone-base DIGITS] [--concurrency N] [--think-ms MS]\n"
            "       [--seconds S] [--warmup S] [--turns K] [--label TEXT]\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct_of(const double *v, double p) {
    if (!n_lat) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n_lat - 1) + 0.5);
    return v[i < n_lat ? i : n_lat - 1];
}
static double pct(double p) { return pct_of(lat_ms, p); }

int main(int argc, char **argv) {
    o = (opts_t){.mode = MODE_WHATSAPP, .account_sid = "AC00000000000000000000000000000000", .to = "15550783881",
                 .phone_base = 16505000000ULL, .concurrency = 200, .think_ms = 0, .seconds = 10, .warmup = 2,
                 .turns = 3, .label = ""};
    static struct option lo[] = {
        {"mode", 1, 0, 'm'}, {"url", 1, 0, 'u'}, {"public-url", 1, 0, 'p'}, {"secret", 1, 0, 's'},
        {"account-sid", 1, 0, 'a'}, {"to", 1, 0, 't'}, {"phone-base", 1, 0, 'b'}, {"concurrency", 1, 0, 'c'},
        {"think-ms", 1, 0, 'k'}, {"seconds", 1, 0, 'd'}, {"warmup", 1, 0, 'w'}, {"turns", 1, 0, 'n'},
        {"label", 1, 0, 'l'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'm': o.mode = strcmp(optarg, "voice") == 0 ? MODE_VOICE : MODE_WHATSAPP; break;
        case 'u': o.url = optarg; break;
        case 'p': o.public_url = optarg; break;
        case 's': o.secret = optarg; break;
        case 'a': o.account_sid = optarg; break;
        case 't': o.to = optarg; break;
        case 'b': o.phone_base = strtoull(optarg, NULL, 10); break;
        case 'c': o.concurrency = atoi(optarg); break;
        case 'k': o.think_ms = atoi(optarg); break;
        case 'd': o.seconds = atof(optarg); break;
        case 'w': o.warmup = atof(optarg); break;
        case 'n': o.turns = atoi(optarg); break;
        case 'l': o.label = optarg; break;
        default: usage(); return 2;
        }
    }
    if (!o.url || !o.secret || o.concurrency < 1 || o.concurrency > MAX_SLOTS || o.seconds <= 0) {
        usage();
        return 2;
    }
    if (!o.public_url) o.public_url = o.url;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o.concurrency);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)o.concurrency);
    slots = calloc((size_t)o.concurrency, sizeof *slots);
    srandom((unsigned)time(NULL));
    t_start = now_ns();
    t_measure = t_start + (int64_t)(o.warmup * 1e9);
    t_end = t_measure + (int64_t)(o.seconds * 1e9);
    for (int i = 0; i < o.concurrency; i++) {
        slot_t *s = &slots[i];
        s->index = i;
        s->easy = curl_easy_init();
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
        /* Spread the first requests over the think time so they do not all land at once. */
        s->due_ns = t_start + (o.think_ms > 0 ? (int64_t)(random() % ((int64_t)o.think_ms * 1000000LL)) : 0);
    }
    for (;;) {
        int64_t now = now_ns();
        int busy = 0;
        int64_t next_due = now + 100000000LL;
        for (int i = 0; i < o.concurrency; i++) {
            slot_t *s = &slots[i];
            if (!s->busy && now < t_end && s->due_ns <= now) {
                if (o.mode == MODE_WHATSAPP) send_whatsapp(s);
                else next_voice(s);
            }
            if (s->busy) busy++;
            else if (now < t_end && s->due_ns < next_due) next_due = s->due_ns;
        }
        if (now >= t_end && !busy) break;
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        bool any = false;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            slot_t *s;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            done(s, m->data.result);
            any = true;
        }
        if (any) continue;
        int64_t wait_ms = (next_due - now_ns()) / 1000000LL;
        if (wait_ms < 0) wait_ms = 0;
        if (wait_ms > 50) wait_ms = 50;
        curl_multi_poll(multi, NULL, 0, (int)wait_ms, NULL);
    }
    if (n_lat) {
        qsort(lat_ms, n_lat, sizeof *lat_ms, cmp_double);
        qsort(curl_ms, n_lat, sizeof *curl_ms, cmp_double);
    }
    double sum = 0;
    for (size_t i = 0; i < n_lat; i++) sum += lat_ms[i];
    printf("{\"label\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"think_ms\":%d,\"seconds\":%.1f,"
           "\"requests\":%zu,\"rate_per_s\":%.1f,\"calls\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"status_200\":%" PRIu64
           ",\"non_200\":%" PRIu64 ",\"no_gather\":%" PRIu64 ",\"mean_ms\":%.2f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"p999_ms\":%.2f,\"max_ms\":%.2f,\"curl_p50_ms\":%.2f,\"curl_p99_ms\":%.2f}\n",
           o.label, o.mode == MODE_VOICE ? "voice" : "whatsapp", o.concurrency, o.think_ms, o.seconds, n_lat,
           (double)n_lat / o.seconds, n_calls, n_fail, statuses[200], n_sent - statuses[200] - n_fail, n_no_gather,
           n_lat ? sum / (double)n_lat : 0.0, pct(50), pct(90), pct(99), pct(99.9), n_lat ? lat_ms[n_lat - 1] : 0.0,
           pct_of(curl_ms, 50), pct_of(curl_ms, 99));
    for (int i = 0; i < o.concurrency; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].headers);
        free(slots[i].body);
        free(slots[i].resp);
    }
    free(slots);
    free(lat_ms);
    free(curl_ms);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return n_fail ? 1 : 0;
}
