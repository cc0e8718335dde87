/* gen.h - synthetic card transactions with learnable fraud patterns.
 *
 * A seeded, deterministic simulation: a world of cards (home country and
 * location, spending profile, own device), merchants (category, country,
 * location) and fraud actors. Legitimate traffic arrives as an inhomogeneous
 * Poisson process whose rate follows the hour of day; fraud episodes start as
 * another Poisson process and schedule their events into a time-ordered queue:
 *
 *   card testing    bursts of tiny ECOM amounts on one card from a new device,
 *                   seconds apart, often followed by a cash-out purchase
 *   account takeover  a new device, a merchant far from the card's home, an
 *                   amount many times the card's usual spend
 *   risky large     large amounts at high-risk categories (gambling, crypto,
 *                   money transfer, jewellery)
 *   fraud ring      a few devices shared by many compromised cards
 *
 * Legitimate noise (travel, new phones, big purchases) keeps the problem
 * honest. Events come out in event-time order with ids prefix-<seq>. The same
 * config and seed always give the same stream, byte for byte.
 */
#ifndef LOADGEN_GEN_H
#define LOADGEN_GEN_H

#include <stddef.h>
#include <stdint.h>
#include "common/util.h"

typedef enum {
    LG_LEGIT = 0,
    LG_CARD_TESTING,
    LG_ACCOUNT_TAKEOVER,
    LG_RISKY_LARGE,
    LG_FRAUD_RING,
    LG_NPATTERNS
} lg_pattern;

typedef enum { LG_POS = 0, LG_ECOM, LG_ATM, LG_MOTO } lg_channel;

typedef struct lg_config {
    uint64_t seed;
    double rate;           /* mean events/s over a day (before diurnal shape) */
    double diurnal;        /* amplitude in [0,1): rate * (1 + a*sin(hour)), peak 15:00 UTC */
    int64_t start_ms;      /* event time of the simulation's start, epoch ms */
    int ncards;            /* cards in the world */
    int nmerchants;        /* merchants in the world */
    double fraud_rate;     /* target fraction of events that are fraudulent */
    int64_t drift_at_ms;   /* event time from which the distribution shifts; 0 = never */
    const char *id_prefix; /* event ids are "<prefix>-<seq>"; NULL = "tx<seed>" */
} lg_config;

/** Defaults: seed 42, 1000 ev/s, diurnal 0.3, now, 50k cards, 4k merchants, 1 % fraud. */
void lg_config_defaults(lg_config *c);

typedef struct lg_event {
    char event_id[48];
    int64_t event_time; /* epoch ms */
    char card_id[16];
    char merchant_id[16];
    char device_id[24]; /* "" = null (card present) */
    double amount;      /* rounded to cents */
    const char *currency;
    const char *mcc;
    const char *merchant_country;
    const char *card_country;
    lg_channel channel;
    int declined; /* issuer authorisation result: 1 = DECLINED, 0 = APPROVED */
    double latitude, longitude;
    char ip_address[20]; /* "" = null */
    lg_pattern pattern;  /* LG_LEGIT or the fraud pattern that produced it */
    int drifted;         /* produced under the shifted distribution */
} lg_event;

typedef struct lg_gen lg_gen;

lg_gen *lg_gen_new(const lg_config *c);
void lg_gen_free(lg_gen *g);
/** The next event in event-time order (never fails). */
void lg_gen_next(lg_gen *g, lg_event *ev);
/** Event time (ms) of the event lg_gen_next would return. */
int64_t lg_gen_peek_time(const lg_gen *g);
/** Expected events/s (all traffic) at an event time: the diurnal curve. */
double lg_gen_rate_at(const lg_gen *g, int64_t at_ms);

static inline int lg_is_fraud(const lg_event *ev)
{
    return ev->pattern != LG_LEGIT;
}
const char *lg_pattern_name(lg_pattern p);
const char *lg_channel_name(lg_channel c);

/** Append the event as one JSON object (CardTransaction field names, no newline). */
void lg_event_json(const lg_event *ev, ss_buf *out);
/** Append the label record (Label field names) of an event as JSON. */
void lg_label_json(const lg_event *ev, int64_t label_time, ss_buf *out);

#endif
