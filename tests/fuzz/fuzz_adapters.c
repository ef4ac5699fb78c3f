/* fuzz_adapters.c — see fuzz_adapters.h. */
#include "fuzz_adapters.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hilo/config.h"
#include "hilo/log.h"

extern const hilo_adapter_ops_t hilo_whatsapp_adapter, hilo_sms_adapter, hilo_voice_adapter;

/* The unit tests' configuration (connectors/providers/test/test_adapters.c). */
static const char CONFIG[] = "[whatsapp]\napp_secret = " FUZZ_META_SECRET "\nverify_token = meatyhamhock\n"
                             "access_token = tok\nphone_number_id = 106540352242922\n"
                             "[sms]\naccount_sid = AC123\nauth_token = " FUZZ_TWILIO_TOKEN "\nfrom = +18005551212\n"
                             "public_url = " FUZZ_PUBLIC_URL "\nmax_parts = 2\n"
                             "[voice]\naccount_sid = AC123\nauth_token = " FUZZ_TWILIO_TOKEN "\nfrom = +18005551212\n"
                             "public_url = " FUZZ_PUBLIC_URL "\nfallback_queue = cobranza\n"
                             "dial_queue_url = " FUZZ_PUBLIC_URL "/queue\n";

static hilo_adapter_t adapters[FUZZ_N_ADAPTERS];

void fuzz_adapters_init(void) {
    hilo_log_set_level(HILO_LOG_DEBUG);
    char path[] = "/tmp/hilo-fuzz-adapters-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, CONFIG, sizeof CONFIG - 1) != (ssize_t)(sizeof CONFIG - 1)) abort();
    close(fd);
    char err[256];
    hilo_config_t *cfg = hilo_config_load(path, err, sizeof err);
    unlink(path);
    if (!cfg) {
        fprintf(stderr, "fuzz_adapters: config: %s\n", err);
        abort();
    }
    const hilo_adapter_ops_t *ops[FUZZ_N_ADAPTERS] = {&hilo_whatsapp_adapter, &hilo_sms_adapter, &hilo_voice_adapter};
    for (int i = 0; i < FUZZ_N_ADAPTERS; i++) {
        adapters[i].ops = ops[i];
        adapters[i].section = ops[i]->name;
        if (hilo_adapter_configure(&adapters[i], cfg, ops[i]->name, err, sizeof err) != HILO_OK) {
            fprintf(stderr, "fuzz_adapters: configure [%s]: %s\n", ops[i]->name,
                    *hilo_config_error(cfg) ? hilo_config_error(cfg) : err);
            abort();
        }
    }
    hilo_config_destroy(&cfg);
}

hilo_adapter_t *fuzz_adapter(int which) { return &adapters[which]; }
