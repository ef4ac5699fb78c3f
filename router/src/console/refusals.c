/* refusals.c — the words of the console's refusals: every error code agent_ops.lua (and the
 * router around it, routing.c) answers an agent's operation with, as a sentence the console shows
 * as it is (docs/console-protocol.md, "Errors"). A code may come with a detail that says which
 * part was wrong (bad_promise: amount or due). The codes stay the contract for programs; the
 * text is for people. */
#include <stdio.h>
#include <string.h>

#include "console_int.h"

typedef struct {
    const char *code;   /* the error code */
    const char *detail; /* NULL: any detail (or none) */
    const char *text;
} refusal_t;

static const refusal_t REFUSALS[] = {
    {"bad_promise", "amount", "The promise needs an amount greater than zero, in whole cents."},
    {"bad_promise", "due", "The promise needs a due date (YYYY-MM-DD)."},
    {"bad_promise", "due_past",
     "The promise's due date has already passed in the debtor's time zone; choose today or a later day."},
    {"bad_promise", "unknown", "There is no such promise in this debtor's ledger."},
    {"bad_promise", "instalment", "An instalment is changed with its plan: cancel the plan (and agree a new one)."},
    {"bad_promise", "not_pending", "Only a pending promise or plan can be changed (this one is kept, broken or cancelled)."},
    {"bad_promise", "unchanged", "Nothing to change: give a new amount or a new due date."},
    {"bad_promise", NULL, "The promise needs an amount greater than zero and a due date."},
    {"over_committed", NULL,
     "The promise is more than the debtor still owes: the balance less the promises already pending."},
    {"bad_callback", "missing", "Choose the call-back time (the debtor's date and time)."},
    {"bad_callback", "past", "The call-back time has already passed in the debtor's time zone; choose a later one."},
    {"bad_callback", "format", "The call-back time must be a date and time, YYYY-MM-DDTHH:MM."},
    {"bad_callback", NULL, "The call-back time is missing or not valid."},
    {"bad_disposition", NULL, "Choose a disposition for the wrap-up."},
    {"verify_mismatch", NULL, "Those digits do not match the document on file. Ask again; do not disclose the debt."},
    {"verify_locked", NULL,
     "Too many checks failed for this conversation: do not disclose anything; transfer to the verification queue."},
    {"no_document", NULL, "There is no document number on file to check against: do not disclose the debt."},
    {"not_verified", NULL, "The debtor's identity is not verified: check it before sending anything about the debt."},
    {"no_payment_link", NULL, "No payment link is configured (the bot flow's [rules] payment_link)."},
    {"no_hold", NULL, "There is no such hold on this debtor (it may have been lifted already)."},
    {"disposition_required", NULL, "Save a wrap-up (a disposition) before closing the conversation."},
    {"not_assigned", NULL, "This conversation is not assigned to you (it was closed, transferred or taken over)."},
    {"not_offered", NULL, "This conversation is no longer offered to you."},
    {"no_phone", NULL,
     "You have no phone on your profile to take this call on: ask an administrator to set one (hilo agent add --phone)."},
    {"no_call_connector", NULL,
     "No voice connector that can connect calls (protocol 1.4) is running: the call cannot be put through now."},
    {"unknown_agent", NULL, "There is no active agent with that id."},
    {"no_capacity", NULL, "That agent has no free capacity on this channel now."},
    {"same_agent", NULL, "The conversation is already with that agent."},
    /* detail: the queue's name, put in the sentence (at the %s) */
    {"queue_unserved", NULL,
     "No agent serves the queue '%s' (no active account has that skill), so the conversation would wait "
     "for nobody; check the queue's name. The conversation stays with you."},
    /* detail: the conversation's state (take-over, admin.c) */
    {"not_takeable", NULL, "Only a conversation that is assigned, offered or waiting in a queue can be taken over."},
    {"forbidden", NULL, "You are not allowed to do that."},
    {"bad_request", NULL, "The request is not valid (a field is missing or has the wrong form)."},
    {"not_found", NULL, "There is no such conversation."},
};

void console_refusal_text(const char *code, const char *detail, char *out, size_t outlen) {
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        const refusal_t *r = &REFUSALS[i];
        if (strcmp(r->code, code) != 0 || (r->detail && (!detail || strcmp(r->detail, detail) != 0))) continue;
        const char *at = strstr(r->text, "%s");
        if (at) /* the detail goes in the sentence: copied around it, never used as a format */
            snprintf(out, outlen, "%.*s%s%s", (int)(at - r->text), r->text, detail ? detail : "?", at + 2);
        else
            snprintf(out, outlen, "%s", r->text);
        return;
    }
    snprintf(out, outlen, "The operation was refused.");
}
