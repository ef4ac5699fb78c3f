/* render.h — reply templates (internal to router/bot): compiling a template's text at flow
 * load, and rendering it for one turn. The privacy guard lives here: a template that shows
 * any debt or identity detail is private, and bot_render() refuses a private template (and
 * any private variable) unless the context says the debtor is verified. The turn engine
 * never formats a debt detail itself, so nothing else can leak one. */
#ifndef HILO_BOT_RENDER_H
#define HILO_BOT_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow_int.h"
#include "hilo/bot.h"

/* Variables. The first ones, up to BOT_V_PRIVATE_END, are private (debt or identity). */
enum {
    BOT_V_NAME = 0, BOT_V_FIRST_NAME, BOT_V_BALANCE, BOT_V_DAYS_PAST_DUE, BOT_V_AMOUNT, BOT_V_DATE,
    BOT_V_TOTAL, BOT_V_MIN_AMOUNT, BOT_V_PLAN_OPTIONS, BOT_V_PAYMENT_LINK, BOT_V_OPEN_BALANCE, BOT_V_COMMITTED,
    BOT_V_PRIVATE_END,
    BOT_V_CURRENCY = BOT_V_PRIVATE_END, BOT_V_N, BOT_V_OPTION, BOT_V_DISCOUNT, BOT_V_MAX_DATE,
    BOT_V_MAX_DAYS, BOT_V_ATTEMPTS_LEFT, BOT_V_MENU, BOT_V_DIGIT, BOT_V_LABEL, BOT_V_COMPANY,
    /* payment link URL only */
    BOT_V_DEBTOR_ID, BOT_V_TOKEN, BOT_V_AMOUNT_CENTS,
    BOT_V__COUNT
};

enum { BOT_SCOPE_REPLY = 1, BOT_SCOPE_LINK = 2 };

#define BOT_VAR_BIT(v) ((uint64_t)1 << (v))
#define BOT_PRIVATE_VARS (BOT_VAR_BIT(BOT_V_PRIVATE_END) - 1)

/* Splits src into text and {variables} ("{{" and "}}" are literal braces; "\n" is a new
 * line). Returns NULL with a reason in why for an unknown variable or a stray brace.
 * *uses gets a bit per variable used. */
bot_tpl_text_t *bot_tpl_compile(const char *src, int scope, uint64_t *uses, char *why, size_t whylen);
void bot_tpl_free(bot_tpl_text_t *t);
const char *bot_var_name(int var);

typedef struct {
    const hilo_flow_t *flow;
    int lang;                         /* flow language index */
    int variant;                      /* BOT_VARIANT_* */
    bool verified;                    /* right party verified: private templates allowed */
    const hilo_bot_debtor_t *debtor;  /* never NULL (an empty record for the unidentified) */
    int32_t today;                    /* the debtor's day, for {max_date} */
    int step;                         /* the step whose digits {menu} lists, -1 none */
    bool has_amount;                  /* {amount}: the promise or the instalment */
    int64_t amount_cents;
    bool has_date;                    /* {date}: the promise's date */
    int32_t date;
    int64_t total_cents;              /* {total} */
    int n, option, discount_bp;       /* {n}, {option}, {discount} */
    int attempts_left;                /* {attempts_left} */
    const bot_plan_option_t *plan;    /* {plan_options} */
    int nplan;
    const char *digit, *label;        /* {digit}, {label} (menu_item) */
} bot_render_ctx_t;

/* Renders template `tpl` in ctx's language and channel variant. Returns the text (caller
 * frees), or NULL when refused: a private template or variable for an unverified debtor. */
char *bot_render(const bot_render_ctx_t *ctx, int tpl);

/* The payment link for the debtor (caller frees), NULL when the flow has none or the
 * debtor is not verified. */
char *bot_render_link(const bot_render_ctx_t *ctx);

/* 123456 → "1.234,56" (es) or "1,234.56" (en). */
void bot_money_format(int64_t cents, const bot_lang_t *lang, char *out, size_t len);
/* "15 de diciembre de 2024", "December 15, 2024"; ISO for other languages. */
void bot_date_format(int32_t days, const char *lang, char *out, size_t len);

#endif
