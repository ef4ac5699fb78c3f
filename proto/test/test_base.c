/* test_base.c — unit tests for the shared base modules: config, log, utf8, frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/buf.h"
#include "hilo/common.h"
#include "hilo/config.h"
#include "hilo/frame.h"
#include "hilo/log.h"
#include "hilo/utf8.h"

static char *write_tmp(const char *text) {
    char *path = hilo_xstrdup("/tmp/hilo-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Runs fn(arg) with stderr sent to a temporary file; returns what it wrote (static buffer). */
static const char *captured_stderr(void (*fn)(void *), void *arg, ssize_t *len) {
    static char buf[8192];
    char path[] = "/tmp/hilo-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    memset(buf, 0, sizeof buf);
    *len = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(*len > 0);
    return buf;
}

static void log_forged_line(void *arg) {
    hilo_log_warn("test", "event=probe raw=%s", "x\nts=2026-01-01T00:00:00.000Z level=error mod=auth event=forged");
}

static void log_library_flood(void *arg) {
    for (int i = 0; i < 100; i++) hilo_log_library_line(HILO_LOG_WARN, "lws", "header too long \"x\"\n");
    usleep(1100 * 1000); /* the next second's window */
    hilo_log_library_line(HILO_LOG_WARN, "lws", "after");
}

static void log_limited_flood(void *arg) {
    (void)arg;
    hilo_log_limit_t lim = {0};
    for (int i = 0; i < 100; i++) hilo_log_limited(&lim, HILO_LOG_WARN, "http", "event=header_too_large n=%d", i);
    usleep(1100 * 1000);
    hilo_log_limited(&lim, HILO_LOG_WARN, "http", "event=header_too_large n=last");
}

/* Outside values in log lines: plain ones as they are, the rest quoted and escaped; phone
 * numbers masked; and no byte of a value can end the line (docs/security.md). */
static void test_log_values(void **state) {
    assert_string_equal(hilo_log_value("/webhooks/twilio/sms"), "/webhooks/twilio/sms");
    assert_string_equal(hilo_log_value(NULL), "-");
    assert_string_equal(hilo_log_value(""), "\"\"");
    assert_string_equal(hilo_log_value("/x event=login agent=admin"), "\"/x event=login agent=admin\"");
    assert_string_equal(hilo_log_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_string_equal(hilo_log_value("a\nb\r\x7f"), "\"a\\x0ab\\x0d\\x7f\"");
    char long_value[300];
    memset(long_value, 'a', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    const char *v = hilo_log_value(long_value);
    assert_int_equal(strlen(v), 1 + 200 + 3 + 1);
    assert_string_equal(v + 201, "...\"");
    assert_string_equal(hilo_log_phone("+16505550142"), "+1******0142");
    assert_string_equal(hilo_log_phone("+525512345678"), "+5*******5678");
    assert_string_equal(hilo_log_phone("not a phone"), "\"not a phone\"");

    /* A line carrying a newline from outside stays one line. */
    ssize_t n;
    const char *buf = captured_stderr(log_forged_line, NULL, &n);
    assert_non_null(strstr(buf, "raw=x\\x0ats=2026"));
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1); /* the only newline ends the line */
}

/* A library's complaints (one per bad request, say) cannot flood the log: 10 lines a second,
 * then one line saying how many were dropped. */
static void test_log_library_lines_are_limited(void **state) {
    ssize_t n;
    const char *buf = captured_stderr(log_library_flood, NULL, &n);
    int lines = 0;
    for (const char *p = buf; (p = strchr(p, '\n')); p++) lines++;
    assert_in_range(lines, 11, 21); /* 10 (20 if the loop straddled a second) + the last one */
    assert_non_null(strstr(buf, "event=lws msg=\"header too long \\\"x\\\"\""));
    assert_non_null(strstr(buf, "msg=after suppressed="));
}

/* An event a stranger causes per request goes through a caller's limiter: the same budget. */
static void test_log_limited_events(void **state) {
    ssize_t n;
    const char *buf = captured_stderr(log_limited_flood, NULL, &n);
    int lines = 0;
    for (const char *p = buf; (p = strchr(p, '\n')); p++) lines++;
    assert_in_range(lines, 11, 21);
    assert_non_null(strstr(buf, "event=header_too_large n=0\n"));
    assert_non_null(strstr(buf, "n=last suppressed="));
}

static void test_config_values_and_env(void **state) {
    char *path = write_tmp("# comment\n[router]\nbind = tcp://127.0.0.1:5555\nhistory_max = 500\n"
                           "[redis]\nport = 6399\nquoted = \"a # b\"\nflag = yes\n");
    char err[256] = "";
    hilo_config_t *c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    const char *s;
    long long n;
    bool b;
    assert_int_equal(hilo_config_str(c, "router", "bind", "x", &s), HILO_OK);
    assert_string_equal(s, "tcp://127.0.0.1:5555");
    assert_int_equal(hilo_config_int(c, "router", "history_max", 1000, 1, 100000, &n), HILO_OK);
    assert_int_equal(n, 500);
    assert_int_equal(hilo_config_int(c, "router", "missing", 7, 1, 10, &n), HILO_OK);
    assert_int_equal(n, 7);
    assert_int_equal(hilo_config_str(c, "redis", "quoted", NULL, &s), HILO_OK);
    assert_string_equal(s, "a # b");
    assert_int_equal(hilo_config_bool(c, "redis", "flag", false, &b), HILO_OK);
    assert_true(b);
    setenv("HILO_REDIS_PORT", "7000", 1);
    assert_int_equal(hilo_config_int(c, "redis", "port", 6379, 1, 65535, &n), HILO_OK);
    assert_int_equal(n, 7000);
    unsetenv("HILO_REDIS_PORT");
    assert_int_equal(hilo_config_check_unused(c, ""), HILO_OK);
    hilo_config_destroy(&c);
    assert_null(c);
    unlink(path);
    free(path);
}

/* A section nobody reads is refused with its line, and the closest known name when one is close. */
static void test_config_unknown_sections(void **state) {
    char err[256] = "", want[400];
    char *path = write_tmp("[redis]\nport = 1\n[sms-2]\nx = 1\n[consol]\nsla_s = 1\n[routre]\n");
    hilo_config_t *c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(hilo_config_check_sections(c, NULL), HILO_ERR);
    snprintf(want, sizeof want, "%s:5: [consol]: unknown section (did you mean [console]?)", path);
    assert_string_equal(hilo_config_error(c), want);
    hilo_config_destroy(&c);
    unlink(path);
    free(path);

    const char *cases[][2] = {{"routre", "router"}, {"whatsap", "whatsapp"}, {"smss-mx", "sms-mx"},
                              {"voice_2", "voice"}, {"payroll", ""}, {"x", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[64];
        snprintf(text, sizeof text, "\n[%s]\n", cases[i][0]);
        path = write_tmp(text);
        c = hilo_config_load(path, err, sizeof err);
        assert_non_null(c);
        assert_int_equal(hilo_config_check_sections(c, NULL), HILO_ERR);
        if (cases[i][1][0])
            snprintf(want, sizeof want, "%s:2: [%s]: unknown section (did you mean [%s]?)", path, cases[i][0],
                     cases[i][1]);
        else
            snprintf(want, sizeof want, "%s:2: [%s]: unknown section (no hilo program reads it)", path,
                     cases[i][0]);
        assert_string_equal(hilo_config_error(c), want);
        hilo_config_destroy(&c);
        unlink(path);
        free(path);
    }
    /* A connector for another channel knows its own sections. */
    path = write_tmp("[fax]\nx = 1\n[fax-2]\nx = 1\n[faxx]\n");
    c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(hilo_config_check_sections(c, "fax"), HILO_ERR);
    snprintf(want, sizeof want, "%s:5: [faxx]: unknown section (no hilo program reads it)", path);
    assert_string_equal(hilo_config_error(c), want);
    hilo_config_destroy(&c);
    unlink(path);
    free(path);
    assert_true(hilo_config_known_section("sms-2"));
    assert_true(hilo_config_known_section("strategies"));
    assert_false(hilo_config_known_section("sms-"));
    assert_false(hilo_config_known_section("sms-a b"));
    assert_true(hilo_config_connector_section("sms-mx", "sms"));
    assert_false(hilo_config_connector_section("voice", "sms"));
    assert_false(hilo_config_connector_section("smsx", "sms"));
}

/* "One clock": only a test build (-DHILO_TEST_CLOCK=ON) lets [engine] test_clock move the clock;
 * any other build refuses the key with file:line. tests/run.sh runs this in both kinds. */
static void test_config_test_clock_only_in_test_builds(void **state) {
    char err[256] = "";
    char *path = write_tmp("[engine]\nenabled = true\ntest_clock = true\n");
    hilo_config_t *c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    bool on = false;
    if (hilo_config_test_clock_allowed()) {
        assert_int_equal(hilo_config_test_clock(c, &on), HILO_OK);
        assert_true(on);
    } else {
        assert_int_equal(hilo_config_test_clock(c, &on), HILO_ERR);
        assert_false(on);
        char want[300];
        snprintf(want, sizeof want, "%s:3: [engine] test_clock: this build cannot move its clock", path);
        assert_non_null(strstr(hilo_config_error(c), want));
    }
    hilo_config_destroy(&c);
    unlink(path);
    free(path);
    path = write_tmp("[engine]\ntest_clock = false\n"); /* off is fine everywhere */
    c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(hilo_config_test_clock(c, &on), HILO_OK);
    assert_false(on);
    hilo_config_destroy(&c);
    unlink(path);
    free(path);
}

static void test_config_errors_name_file_and_line(void **state) {
    char err[256] = "";
    char *path = write_tmp("[router]\nbind = x\nthis is not valid\n");
    assert_null(hilo_config_load(path, err, sizeof err));
    char want[300];
    snprintf(want, sizeof want, "%s:3: expected", path);
    assert_non_null(strstr(err, want));
    unlink(path);
    free(path);

    path = write_tmp("[router]\n\nhistory_max = lots\ntypo_key = 1\n");
    hilo_config_t *c = hilo_config_load(path, err, sizeof err);
    assert_non_null(c);
    long long n;
    assert_int_equal(hilo_config_int(c, "router", "history_max", 1, 1, 10, &n), HILO_ERR);
    snprintf(want, sizeof want, "%s:3: [router] history_max: not an integer", path);
    assert_non_null(strstr(hilo_config_error(c), want));
    assert_int_equal(hilo_config_check_unused(c, ""), HILO_ERR);
    snprintf(want, sizeof want, "%s:4: [router] typo_key: unknown key", path);
    assert_non_null(strstr(hilo_config_error(c), want));
    hilo_config_destroy(&c);
    unlink(path);
    free(path);

    path = write_tmp("[a]\nk = 1\nk = 2\n");
    assert_null(hilo_config_load(path, err, sizeof err));
    assert_non_null(strstr(err, ":3: [a] k: duplicate key"));
    unlink(path);
    free(path);
}

/* An empty append may come with no data pointer at all (libwebsockets hands an empty body as
 * NULL, 0); the buffer is still a C string. */
static void test_buf_appends(void **state) {
    (void)state;
    hilo_buf_t b = HILO_BUF_INIT;
    hilo_buf_append(&b, NULL, 0);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    hilo_buf_append(&b, "ab", 2);
    hilo_buf_append(&b, NULL, 0);
    hilo_buf_printf(&b, "%d", 7);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "ab7");
    hilo_buf_free(&b);
}

/* Text from outside made valid: bad bytes '?', control characters ' ', and a character that
 * does not fit whole left out (never half of one). */
static void test_utf8_clean_copy(void **state) {
    (void)state;
    char out[16];
    assert_int_equal(hilo_utf8_clean_copy(out, sizeof out, "caf\xc3\xa9 ok"), 8);
    assert_string_equal(out, "caf\xc3\xa9 ok");
    hilo_utf8_clean_copy(out, sizeof out, "a\xff\xc3(\xed\xa0\x80z");
    assert_string_equal(out, "a?" "?(???z"); /* (split: "??(" would be a trigraph) */
    hilo_utf8_clean_copy(out, sizeof out, "tab\there\r\n");
    assert_string_equal(out, "tab here  ");
    char small[5];
    hilo_utf8_clean_copy(small, sizeof small, "ab\xe2\x82\xac"); /* "ab€": the euro does not fit */
    assert_string_equal(small, "ab");
    hilo_utf8_clean_copy(small, sizeof small, NULL);
    assert_string_equal(small, "");
    assert_true(hilo_utf8_valid(out, strlen(out)));
}

static void test_utf8(void **state) {
    assert_true(hilo_utf8_valid("hola señor €𝄞", strlen("hola señor €𝄞")));
    assert_false(hilo_utf8_valid("\xC3\x28", 2));         /* bad continuation */
    assert_false(hilo_utf8_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(hilo_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(hilo_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(hilo_utf8_valid("\xE2\x82", 2));         /* truncated */
    assert_true(hilo_utf8_valid("", 0));
}

static void test_frame_roundtrip_and_utf8_walk(void **state) {
    hilo_frame_t f = HILO_FRAME_INIT;
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    hilo_media_t m = HILO_MEDIA_INIT, *mp = &m;
    e.seq = 42;
    e.channel = HILO_CHANNEL_SMS;
    e.provider_message_id = "SM1";
    e.from = "+16505551234";
    e.text = "hola";
    m.url = "https://example.com/a.jpg";
    e.n_media = 1;
    e.media = &mp;
    f.body_case = HILO_FRAME_ENVELOPE;
    f.envelope = &e;
    size_t len;
    uint8_t *buf = hilo_frame_pack(&f, &len);
    hilo_frame_t *g = hilo_frame_unpack(buf, len);
    assert_non_null(g);
    assert_int_equal(g->major, HILO_PROTO_MAJOR);
    assert_int_equal(g->body_case, HILO_FRAME_ENVELOPE);
    assert_int_equal(g->envelope->seq, 42);
    assert_string_equal(g->envelope->media[0]->url, "https://example.com/a.jpg");
    const char *field = NULL;
    assert_true(hilo_frame_strings_valid(&g->base, &field));
    hilo_frame_free(&g);
    free(buf);

    m.caption = "bad \xC3\x28";
    buf = hilo_frame_pack(&f, &len);
    g = hilo_frame_unpack(buf, len);
    assert_non_null(g);
    assert_false(hilo_frame_strings_valid(&g->base, &field));
    assert_string_equal(field, "caption");
    hilo_frame_free(&g);
    free(buf);

    assert_null(hilo_frame_unpack((const uint8_t *)"\xff\xff\xff", 3));
    assert_string_equal(hilo_channel_name(HILO_CHANNEL_VOICE), "voice");
    assert_int_equal(hilo_channel_parse("whatsapp"), HILO_CHANNEL_WHATSAPP);
    assert_int_equal(hilo_channel_parse("fax"), HILO_CHANNEL_UNSPECIFIED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_values),
        cmocka_unit_test(test_log_library_lines_are_limited),
        cmocka_unit_test(test_log_limited_events),
        cmocka_unit_test(test_config_values_and_env),
        cmocka_unit_test(test_config_errors_name_file_and_line),
        cmocka_unit_test(test_config_test_clock_only_in_test_builds),
        cmocka_unit_test(test_config_unknown_sections),
        cmocka_unit_test(test_buf_appends),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_clean_copy),
        cmocka_unit_test(test_frame_roundtrip_and_utf8_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
