/* result.c — the turn's result: freeing it, its JSON form, and the small public helpers. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "hilo/bot.h"
#include "hilo/common.h"

const char *hilo_bot_action_name(hilo_bot_action_kind_t kind) {
    switch (kind) {
    case HILO_BOT_VERIFIED: return "verified";
    case HILO_BOT_VERIFY_FAILED_ATTEMPT: return "verification_failed_attempt";
    case HILO_BOT_PROMISE: return "promise";
    case HILO_BOT_PLAN_ACCEPTED: return "plan_accepted";
    case HILO_BOT_ESCALATE: return "escalate";
    case HILO_BOT_OPTOUT: return "optout";
    case HILO_BOT_PAYMENT_LINK: return "payment_link";
    }
    return "unknown";
}

void hilo_bot_result_destroy(hilo_bot_result_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_bot_result_t *r = *self_p;
    for (size_t i = 0; i < r->nreplies; i++) free(r->replies[i]);
    for (size_t i = 0; i < r->nbuttons; i++) {
        free(r->buttons[i].id);
        free(r->buttons[i].title);
    }
    for (size_t i = 0; i < r->nactions; i++) {
        hilo_bot_action_t *a = &r->actions[i];
        free(a->reason);
        free(a->detail);
        free(a->topic);
        free(a->language);
        free(a->skill);
        free(a->segment);
        free(a->url);
    }
    free(r->replies);
    free(r->buttons);
    free(r->actions);
    free(r->state);
    free(r->step);
    free(r->language);
    free(r);
    *self_p = NULL;
}

static json_t *action_json(const hilo_bot_action_t *a) {
    json_t *o = json_pack("{s:s}", "type", hilo_bot_action_name(a->kind));
    switch (a->kind) {
    case HILO_BOT_VERIFY_FAILED_ATTEMPT:
        json_object_set_new(o, "attempt", json_integer(a->attempt));
        json_object_set_new(o, "max_attempts", json_integer(a->max_attempts));
        break;
    case HILO_BOT_PROMISE:
        json_object_set_new(o, "amount_cents", json_integer(a->amount_cents));
        json_object_set_new(o, "currency", json_string(a->currency));
        json_object_set_new(o, "due_date", json_string(a->due_date));
        break;
    case HILO_BOT_PLAN_ACCEPTED:
        json_object_set_new(o, "n", json_integer(a->instalments));
        json_object_set_new(o, "instalment_cents", json_integer(a->amount_cents));
        json_object_set_new(o, "total_cents", json_integer(a->total_cents));
        json_object_set_new(o, "discount_bp", json_integer(a->discount_bp));
        json_object_set_new(o, "currency", json_string(a->currency));
        json_object_set_new(o, "first_due_date", json_string(a->due_date));
        break;
    case HILO_BOT_ESCALATE:
        json_object_set_new(o, "reason", json_string(a->reason));
        json_object_set_new(o, "detail", json_string(a->detail));
        json_object_set_new(o, "topic", json_string(a->topic));
        json_object_set_new(o, "language", json_string(a->language));
        json_object_set_new(o, "skill", json_string(a->skill));
        json_object_set_new(o, "segment", json_string(a->segment));
        json_object_set_new(o, "priority", json_integer(a->priority));
        break;
    case HILO_BOT_PAYMENT_LINK:
        json_object_set_new(o, "url", json_string(a->url));
        break;
    default:
        break;
    }
    return o;
}

char *hilo_bot_result_json(const hilo_bot_result_t *r) {
    json_t *o = json_object(), *replies = json_array(), *buttons = json_array(), *actions = json_array();
    for (size_t i = 0; i < r->nreplies; i++) json_array_append_new(replies, json_string(r->replies[i]));
    for (size_t i = 0; i < r->nbuttons; i++)
        json_array_append_new(buttons, json_pack("{s:s,s:s}", "id", r->buttons[i].id, "title", r->buttons[i].title));
    for (size_t i = 0; i < r->nactions; i++) json_array_append_new(actions, action_json(&r->actions[i]));
    json_object_set_new(o, "replies", replies);
    json_object_set_new(o, "buttons", buttons);
    json_object_set_new(o, "actions", actions);
    json_object_set_new(o, "step", json_string(r->step ? r->step : ""));
    json_object_set_new(o, "language", json_string(r->language ? r->language : ""));
    json_object_set_new(o, "verified", json_boolean(r->verified));
    json_object_set_new(o, "handoff", json_boolean(r->handoff));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *copy = hilo_xstrdup(s ? s : "{}");
    free(s);
    return copy;
}

int hilo_bot_parse_amount(const char *s, int64_t *cents) {
    if (!s) return HILO_ERR;
    while (*s == ' ') s++;
    bool neg = *s == '-';
    if (neg) s++;
    if (*s == '$') s++;
    char buf[64];
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') n--;
    if (n == 0 || n >= sizeof buf) return HILO_ERR;
    memcpy(buf, s, n);
    buf[n] = '\0';
    int64_t v;
    if (bot_money_parse(buf, &v) != 0) return HILO_ERR;
    *cents = neg ? -v : v;
    return HILO_OK;
}

hilo_bot_channel_t hilo_bot_channel_parse(const char *name) {
    if (!name) return HILO_BOT_CH_OTHER;
    if (strcmp(name, "whatsapp") == 0) return HILO_BOT_CH_WHATSAPP;
    if (strcmp(name, "sms") == 0) return HILO_BOT_CH_SMS;
    if (strcmp(name, "voice") == 0) return HILO_BOT_CH_VOICE;
    return HILO_BOT_CH_OTHER;
}
