/* pack_survey.h — what a rule-pack directory (deploy/compliance/, docs/compliance.md) holds,
 * pack by pack, for `hilo compliance check`: the countries compliance.conf maps to each pack,
 * the holiday calendar it uses and the years that calendar covers. Unlike the gate's loader
 * (hilo_compliance_new), which stops at the first broken file, it goes on past a pack or a
 * calendar that does not load and reports each one with its "FILE:LINE: reason". Reads files
 * only; owns nothing after it returns. */
#ifndef HILO_PACK_SURVEY_H
#define HILO_PACK_SURVEY_H

#include <stddef.h>

typedef struct {
    const char *pack_id;       /* the file stem: "co_ley_2300" */
    const char *name;          /* the pack's name key; NULL when the pack itself did not load */
    const char *countries;     /* what compliance.conf [countries] maps to it: "CO", "CO default"; "" = none */
    const char *calendar;      /* the calendar's country code (holidays = CO); "" = holidays = none */
    const char *calendar_path; /* <dir>/holidays/<CC>.txt; "" when no calendar */
    int first_year, last_year; /* the years the calendar covers; 0 when it did not load */
    int missing;               /* 1: the calendar file does not exist */
    const char *error;         /* "FILE:LINE: reason" when the pack or its calendar did not load, else NULL */
} hilo_pack_survey_t;

/* Calls fn once per pack file (<dir>/<id>.pack), in the order of their ids. The entry is valid only during the
 * call. Returns the number of packs, or -1 with "DIR:0: reason" in err when the directory cannot
 * be read or holds no pack. */
int hilo_pack_survey_each(const char *dir, void (*fn)(const hilo_pack_survey_t *pack, void *arg), void *arg,
                          char *err, size_t errlen);

#endif
