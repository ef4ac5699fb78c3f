/* fuzz_adapters.h — the three provider adapters (connectors/{whatsapp,sms,voice}/adapter_*.c)
 * configured once, as the unit tests configure them, for the fuzz targets that drive them
 * (fuzz_webhook.c: webhooks in; fuzz_link_frame.c: Outbound frames out). The adapters live until
 * the process ends. */
#ifndef HILO_FUZZ_ADAPTERS_H
#define HILO_FUZZ_ADAPTERS_H

#include "hilo/adapter.h"

#define FUZZ_META_SECRET "s3cret"           /* [whatsapp] app_secret */
#define FUZZ_TWILIO_TOKEN "12345"           /* [sms] and [voice] auth_token */
#define FUZZ_PUBLIC_URL "https://hilo.example.com" /* [sms] and [voice] public_url */

enum { FUZZ_WHATSAPP = 0, FUZZ_SMS, FUZZ_VOICE, FUZZ_N_ADAPTERS };

/* Configures the three adapters (aborts when the configuration is refused) and sets the log
 * level to debug: every log line is formatted, and the outside values in them are part of what
 * is fuzzed. run.sh closes the targets' stderr (-close_fd_mask=2; libFuzzer keeps its own
 * output and the sanitizers' reports), so that a line per input does not drown the run. */
void fuzz_adapters_init(void);
/* FUZZ_WHATSAPP, FUZZ_SMS or FUZZ_VOICE. */
hilo_adapter_t *fuzz_adapter(int which);

#endif
