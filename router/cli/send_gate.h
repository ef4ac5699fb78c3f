/* send_gate.h — the compliance gate for `hilo send` (docs/compliance.md): an operator's message
 * is collector-initiated, never a reply, so it is checked like any outreach — do-not-contact,
 * opt-out, WhatsApp 24-hour window, contact hours in the debtor's zone, then the frequency cap
 * (freq_cap.lua, which records the attempt). A block is written to the debtor's audit trail
 * (ev=blocked) like the router's. Used by cmd_send.c; owns nothing between calls. */
#ifndef HILO_SEND_GATE_H
#define HILO_SEND_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

typedef struct {
    bool allowed;
    char reason[40];  /* "ok", "outside_contact_hours", ... (verdict.h names) */
    char text[320];   /* the human sentence */
    bool waitable;    /* blocked for the hour, the day or the cap (hilo_reason_waitable) */
} hilo_send_verdict_t;

/* "now" for the gate: hilo:test:now_ms when [engine] test_clock is on and the key is set, else
 * the wall clock. -1 after printing why when Redis failed. */
int64_t hilo_send_gate_now(hilo_cli_t *cli);

/* Checks one message to `debtor_id` on `channel` (kind: free text, or a WhatsApp template when
 * `is_template`), `attempt_id` = its outbound id (the cap records it). Fills *out. Returns
 * HILO_EXIT_OK (allowed or blocked: see out->allowed), HILO_EXIT_CONFIG when the rule packs
 * cannot be loaded, HILO_EXIT_REDIS; failures are printed. */
int hilo_send_gate_check(hilo_cli_t *cli, const char *debtor_id, int channel, bool is_template,
                         const char *attempt_id, int64_t now_ms, hilo_send_verdict_t *out);

#endif
