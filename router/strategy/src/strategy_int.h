/* strategy_int.h — the loaded form of a strategy file (internal to router/strategy): what the
 * loader (load.c) builds and the matcher, renderer and checker read. Immutable after load. */
#ifndef HILO_STRATEGY_INT_H
#define HILO_STRATEGY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/frame.h"
#include "hilo/strategy.h"

#define ST_RANGES 8 /* ranges per numeric condition */
#define ST_SPANS 4  /* local-hour spans per step */

typedef struct {
    int64_t lo[ST_RANGES], hi[ST_RANGES]; /* inclusive */
    int n;                                /* 0 = no condition */
} st_ranges_t;

typedef struct {
    char **v;
    int n; /* 0 = no condition */
} st_words_t;

typedef struct {
    char cur[4];       /* "USD" */
    st_ranges_t cents; /* balance in cents */
} st_balance_t;

typedef struct {
    char *name;        /* attribute name (without "attr:") */
    st_words_t values; /* the value must be one of these; "*" = any non-empty, "-" = empty/absent */
} st_attr_t;

/* A template's compiled text: literal runs and variables, in order. */
typedef struct {
    bool var;   /* false: literal text */
    char *s;    /* the literal, or the variable's name ("balance", "attr.segment") */
} st_part_t;

typedef struct {
    char lang[8];
    int variant;       /* -1 = every variant without its own text */
    char *src;         /* as written */
    st_part_t *parts;
    int nparts;
    bool disclosure;   /* uses a disclosure variable */
    int line;
} st_text_t;

typedef enum { ST_ON_NONE = 0, ST_ON_STEP, ST_ON_NEXT, ST_ON_END } st_on_kind_t;

typedef struct {
    st_on_kind_t kind;
    int target; /* step index (ST_ON_STEP) */
    int line;
} st_on_t;

typedef struct {
    int16_t from, to; /* minutes after local midnight, [from, to) */
} st_span_t;

struct hilo_strategy_step {
    char *name;
    int line;
    int index;                       /* in the strategy's steps */
    int segment;                     /* the one segment whose lists name it */
    int channel;                     /* HILO_CHANNEL_WHATSAPP, _SMS or _VOICE (a call); with channel = best the first candidate */
    unsigned channels;               /* bit 1 << HILO_CHANNEL_*: the channel, or channel = best's candidates */
    unsigned optimize;               /* HILO_STRATEGY_OPT_*: what the contact optimizer may choose (best.c) */
    char *template_name;             /* WhatsApp: the approved template; NULL for SMS */
    st_text_t *texts;
    int ntexts;
    int64_t wait_ms;
    int64_t within_ms;               /* 0 = no timeout */
    uint8_t days;                    /* allowed local weekdays, bit 0 = Sunday */
    st_span_t spans[ST_SPANS];       /* allowed local hours */
    int nspans;
    st_on_t on[HILO_RESULT_COUNT];
    const hilo_strategy_t *st;       /* owner */
};

struct hilo_strategy_segment {
    char *name;
    int line;
    int index;
    st_ranges_t dpd;                 /* days past due */
    st_balance_t *balance;           /* per currency; a debtor in another currency does not match */
    int nbalance;
    st_words_t product, country, language, last_result;
    st_attr_t *attrs;
    int nattrs;
    unsigned promise;                /* bits of ST_PROMISE_*; 0 = no condition */
    st_ranges_t broken;              /* broken promise count */
    int verified;                    /* -1 any, 0 not verified, 1 verified */
    int **steps;                     /* [variant] -> step indexes; steps[v] == steps[0]-like default */
    int *nsteps;                     /* [variant] */
    int steps_line;
    const hilo_strategy_t *st;       /* owner */
};

enum { ST_PROMISE_NONE = 1, ST_PROMISE_ACTIVE = 2, ST_PROMISE_BROKEN = 4 };

typedef struct {
    char *name;
    int share;
    int line;
} st_variant_t;

struct hilo_strategy {
    char *path;
    char *name;
    int line;                        /* of [strategy] */
    int priority;
    hilo_strategy_state_t state;
    st_words_t languages;            /* texts must exist in each */
    char *default_language;
    char *company, *callback_phone, *payment_link;
    hilo_cap_t caps[HILO_CHANNEL_MAX]; /* [0] = all channels together */
    long daily_budget;
    int64_t attribution_ms;
    st_words_t stop_attrs;
    bool consent[HILO_CHANNEL_MAX];  /* the strategy itself requires consent on the channel */
    st_variant_t *variants;
    int nvariants;
    hilo_strategy_segment_t *segments;
    int nsegments;
    hilo_strategy_step_t *steps;
    int nsteps;
};

struct hilo_strategy_set {
    hilo_strategy_t **st; /* priority order */
    size_t n;
};

void st_strategy_free(hilo_strategy_t *st);
bool st_words_has(const st_words_t *w, const char *s);
/* Is `word` in text as a whole word? Both folded by the text normaliser (textnorm.h). */
bool st_has_word(const char *text, const char *word);
/* Is phrase in text (a substring, both folded by the text normaliser)? */
bool st_has_phrase(const char *text, const char *phrase);

/* best.c: `channel = best` / `channels = ...` and `hours = best [ranges]` (the loader's helpers). */
int st_best_channels(const char *list, unsigned *mask, int *first, char *why, size_t len);
const char *st_best_hours(const char *value, bool *best); /* the ranges to parse */

#endif
