/* gen.c - the simulated world and its fraud episodes (see gen.h). */
#include "gen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* ------------------------------------------------------------------ PRNG */

/* xoshiro256** seeded through splitmix64: fast, well distributed and the same
 * on every platform, so a seed names one stream. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static double rng_unit(rng *r) /* [0,1) */
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

static int rng_int(rng *r, int n) /* [0,n) */
{
    return (int)(rng_unit(r) * n);
}

static double rng_uniform(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

static double rng_exp(rng *r, double rate)
{
    return -log(1.0 - rng_unit(r)) / rate;
}

static double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double rng_lognormal(rng *r, double mu, double sigma)
{
    return exp(mu + sigma * rng_normal(r));
}

static int rng_weighted(rng *r, const double *w, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    double x = rng_unit(r) * total;
    for (int i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

/* ------------------------------------------------------------------ world tables */

typedef struct country {
    const char *code, *currency;
    double lat, lon;
    double weight; /* share of cards and merchants issued there */
    int ip_octet;  /* first octet of (made-up) client IPs located there */
} country;

static const country countries[] = {
    {"DE", "EUR", 51.2, 10.4, 18, 31}, {"FR", "EUR", 46.6, 2.4, 14, 37},
    {"GB", "GBP", 52.5, -1.5, 14, 51}, {"US", "USD", 39.8, -98.6, 16, 23},
    {"ES", "EUR", 40.4, -3.7, 8, 83},  {"IT", "EUR", 42.8, 12.5, 8, 93},
    {"NL", "EUR", 52.2, 5.3, 6, 145},  {"PL", "PLN", 52.1, 19.4, 5, 178},
    {"SE", "SEK", 62.0, 15.0, 3, 194}, {"BR", "BRL", -14.2, -51.9, 3, 177},
    {"IN", "INR", 21.0, 78.0, 2, 49},  {"NG", "NGN", 9.1, 8.7, 1, 105},
    {"CN", "CNY", 35.9, 104.2, 1, 36}, {"JP", "JPY", 36.2, 138.3, 1, 126},
};
#define NCOUNTRIES ((int)(sizeof countries / sizeof countries[0]))
/* where stolen card data is used from: far from most cards' homes */
static const int fraud_countries[] = {9, 10, 11, 12, 3, 7};
#define NFRAUD_COUNTRIES ((int)(sizeof fraud_countries / sizeof fraud_countries[0]))

typedef struct category {
    const char *mcc;
    double weight;     /* share of legitimate purchases */
    double drift_mult; /* weight multiplier once drift starts */
    double ecom;       /* share card-not-present (ECOM) */
    lg_channel fixed;  /* LG_ATM / LG_MOTO for categories with one channel, else LG_POS */
    double mu, sigma;  /* log-normal amount */
    int risky;         /* high-risk category */
} category;

enum {
    C_GROCERY,
    C_RESTAURANT,
    C_FUEL,
    C_DEPT,
    C_MISC,
    C_TAXI,
    C_DIGITAL,
    C_TELECOM,
    C_ELECTRONICS,
    C_ATM,
    C_MAILORDER,
    C_JEWELRY,
    C_TRANSFER,
    C_GAMBLING,
    C_CRYPTO,
    NCATS
};

static const category categories[NCATS] = {
    [C_GROCERY] = {"5411", 20, 1.0, 0.05, LG_POS, 3.5, 0.6, 0},
    [C_RESTAURANT] = {"5812", 14, 0.8, 0.10, LG_POS, 3.3, 0.5, 0},
    [C_FUEL] = {"5541", 9, 0.8, 0.0, LG_POS, 3.9, 0.35, 0},
    [C_DEPT] = {"5311", 7, 1.0, 0.25, LG_POS, 4.2, 0.7, 0},
    [C_MISC] = {"5999", 8, 1.2, 0.45, LG_POS, 3.8, 0.9, 0},
    [C_TAXI] = {"4121", 6, 2.0, 0.85, LG_POS, 2.9, 0.5, 0},
    [C_DIGITAL] = {"5815", 7, 3.0, 1.0, LG_POS, 2.2, 0.7, 0},
    [C_TELECOM] = {"4814", 4, 1.0, 0.9, LG_POS, 3.4, 0.4, 0},
    [C_ELECTRONICS] = {"5732", 4, 1.5, 0.55, LG_POS, 5.3, 0.8, 0},
    [C_ATM] = {"6011", 5, 0.6, 0.0, LG_ATM, 4.4, 0.5, 0},
    [C_MAILORDER] = {"5967", 2, 1.0, 0.0, LG_MOTO, 3.8, 0.6, 0},
    [C_JEWELRY] = {"5944", 1.5, 1.0, 0.2, LG_POS, 5.9, 0.8, 1},
    [C_TRANSFER] = {"4829", 1.5, 1.0, 0.9, LG_POS, 5.0, 0.9, 1},
    [C_GAMBLING] = {"7995", 1.5, 1.0, 0.95, LG_POS, 4.0, 1.0, 1},
    [C_CRYPTO] = {"6051", 0.8, 1.5, 1.0, LG_POS, 5.2, 1.0, 1},
};

/* Fraud episodes: share of episode starts (before/after drift) and mean
 * events per episode; the start rate is set so fraud makes up fraud_rate of
 * all events. */
static const double episode_share[LG_NPATTERNS] = {0, 0.12, 0.38, 0.25, 0.25};
static const double episode_share_drift[LG_NPATTERNS] = {0, 0.06, 0.52, 0.12, 0.30};
static const double episode_events[LG_NPATTERNS] = {0, 6 + 9.5 + 0.5, 2.5, 1.4, 5.5};

#define RINGS 8
#define RING_DEVICES 3
#define RING_CARDS 40
#define NEW_DEVICE_BASE 5000000 /* ids of devices not issued with a card */
#define WARMUP_S 300.0          /* longer than any episode */

/* ------------------------------------------------------------------ state */

typedef struct card {
    uint8_t country;
    float lat, lon;
    float spend; /* multiplier of category amounts */
    float ecom;  /* multiplier of the ECOM share */
    int32_t device;
} card;

typedef struct merchant {
    uint8_t category, country;
    float lat, lon;
} merchant;

typedef struct ring {
    int country;
    int32_t devices[RING_DEVICES];
    int32_t cards[RING_CARDS];
} ring;

typedef struct pending {
    double t;       /* seconds since start */
    uint64_t order; /* tie-break: scheduling order */
    lg_event ev;
} pending;

struct lg_gen {
    lg_config cfg;
    char prefix[24];
    rng r;
    card *cards;
    merchant *merchants;
    int *by_cat[NCATS]; /* merchant indexes per category */
    int ncat[NCATS];
    ring rings[RINGS];
    int32_t next_device;     /* counter for devices first seen during the run */
    uint64_t seq;            /* events emitted */
    uint64_t scheduled;      /* tie-break counter */
    double t_legit, t_fraud; /* next arrivals, seconds since start */
    double fraud_start_rate; /* episodes/s */
    pending *heap;           /* future events of running episodes, min-heap on (t, order) */
    size_t nheap, capheap;
};

/* ------------------------------------------------------------------ helpers */

static double drift_t(const lg_gen *g) /* seconds since start when drift begins, or INF */
{
    if (!g->cfg.drift_at_ms) return INFINITY;
    return (double)(g->cfg.drift_at_ms - g->cfg.start_ms) / 1000.0;
}

static int drifted(const lg_gen *g, double t)
{
    return t >= drift_t(g);
}

static double hour_of_day(const lg_gen *g, double t)
{
    double ms = (double)g->cfg.start_ms + t * 1000.0;
    double h = fmod(ms / 3600000.0, 24.0);
    return h < 0 ? h + 24 : h;
}

/* Diurnal shape, mean 1 over a day: a sine peaking at 15:00 UTC. */
static double diurnal(const lg_gen *g, double t)
{
    return 1.0 + g->cfg.diurnal * sin(2.0 * M_PI * (hour_of_day(g, t) - 9.0) / 24.0);
}

static double legit_rate(const lg_gen *g, double t)
{
    return g->cfg.rate * (1.0 - g->cfg.fraud_rate) * diurnal(g, t);
}

static double round_cents(double x)
{
    double c = round(x * 100.0) / 100.0;
    return c < 0.01 ? 0.01 : c;
}

static int pick_card(lg_gen *g)
{
    /* skewed activity: low indexes are the busy cards */
    return (int)(g->cfg.ncards * pow(rng_unit(&g->r), 1.3));
}

static int pick_merchant(lg_gen *g, int cat, int want_country)
{
    int n = g->ncat[cat];
    int m = g->by_cat[cat][rng_int(&g->r, n)];
    for (int i = 0; i < 24 && want_country >= 0 && g->merchants[m].country != want_country; i++)
        m = g->by_cat[cat][rng_int(&g->r, n)];
    return m;
}

static int32_t new_device(lg_gen *g)
{
    return g->next_device++;
}

static void set_ip(lg_gen *g, lg_event *ev, int country_idx)
{
    unsigned b = (unsigned)rng_int(&g->r, 256) & 255, c = (unsigned)rng_int(&g->r, 256) & 255;
    unsigned d = 1 + ((unsigned)rng_int(&g->r, 254) & 255);
    snprintf(ev->ip_address, sizeof ev->ip_address, "%u.%u.%u.%u",
             (unsigned)countries[country_idx].ip_octet & 255, b, c, d);
}

/* Fill the fields every event has from a card, a merchant and a channel. */
static void fill(lg_gen *g, lg_event *ev, int ci, int mi, lg_channel ch, int32_t device,
                 int ip_country)
{
    const merchant *m = &g->merchants[mi];
    memset(ev, 0, sizeof *ev);
    snprintf(ev->card_id, sizeof ev->card_id, "c%07d", ci);
    snprintf(ev->merchant_id, sizeof ev->merchant_id, "m%06d", mi);
    ev->mcc = categories[m->category].mcc;
    ev->merchant_country = countries[m->country].code;
    ev->currency = countries[m->country].currency;
    ev->card_country = countries[g->cards[ci].country].code;
    ev->channel = ch;
    if (ch == LG_ECOM || ch == LG_MOTO) {
        if (device >= 0) snprintf(ev->device_id, sizeof ev->device_id, "d%07d", (int)device);
        if (ch == LG_ECOM) set_ip(g, ev, ip_country);
        /* card not present: location of the client's IP */
        ev->latitude = countries[ip_country].lat + rng_normal(&g->r) * 1.5;
        ev->longitude = countries[ip_country].lon + rng_normal(&g->r) * 1.5;
    } else {
        ev->latitude = m->lat + rng_normal(&g->r) * 0.05;
        ev->longitude = m->lon + rng_normal(&g->r) * 0.05;
    }
}

static lg_channel channel_for(lg_gen *g, int cat, double ecom_mult, int is_drifted)
{
    const category *c = &categories[cat];
    if (c->fixed != LG_POS) return c->fixed;
    double p = c->ecom * ecom_mult + (is_drifted && c->ecom > 0 ? 0.25 : 0.0);
    return rng_unit(&g->r) < p ? LG_ECOM : LG_POS;
}

/* ------------------------------------------------------------------ heap */

static int pending_before(const pending *a, const pending *b)
{
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void heap_push(lg_gen *g, double t, const lg_event *ev)
{
    if (g->nheap == g->capheap) {
        g->capheap = g->capheap ? g->capheap * 2 : 64;
        g->heap = ss_realloc(g->heap, g->capheap * sizeof *g->heap);
    }
    size_t i = g->nheap++;
    pending p = {t, g->scheduled++, *ev};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pending_before(&p, &g->heap[parent])) break;
        g->heap[i] = g->heap[parent];
        i = parent;
    }
    g->heap[i] = p;
}

static void heap_pop(lg_gen *g, pending *out)
{
    *out = g->heap[0];
    pending last = g->heap[--g->nheap];
    size_t i = 0, n = g->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const pending *best = &last;
        if (l < n && pending_before(&g->heap[l], best)) m = l, best = &g->heap[l];
        if (r < n && pending_before(&g->heap[r], best)) m = r;
        if (m == i) break;
        g->heap[i] = g->heap[m];
        i = m;
    }
    if (n) g->heap[i] = last;
}

/* ------------------------------------------------------------------ legitimate traffic */

static void schedule(lg_gen *g, double t, lg_event *ev, lg_pattern p);

/* A legitimate burst that looks like card testing by its counts: app-store
 * top-ups, a ride plus tips, a family ordering on one card. */
static void legit_session(lg_gen *g, double t, int ci, int32_t device)
{
    static const int cats[] = {C_DIGITAL, C_TAXI, C_TELECOM, C_RESTAURANT};
    int n = 2 + rng_int(&g->r, 5);
    lg_event ev;
    for (int i = 0; i < n; i++) {
        int cat = cats[rng_int(&g->r, 4)];
        t += rng_uniform(&g->r, 1, 25);
        fill(g, &ev, ci, pick_merchant(g, cat, -1), LG_ECOM, device, g->cards[ci].country);
        ev.amount = round_cents(rng_lognormal(&g->r, categories[cat].mu - 0.7, 0.6));
        ev.declined = rng_unit(&g->r) < 0.02;
        schedule(g, t, &ev, LG_LEGIT);
    }
}

static void make_legit(lg_gen *g, double t, lg_event *ev)
{
    int is_drifted = drifted(g, t);
    int ci = pick_card(g);
    const card *c = &g->cards[ci];
    double w[NCATS];
    for (int i = 0; i < NCATS; i++)
        w[i] = categories[i].weight * (is_drifted ? categories[i].drift_mult : 1.0);
    int cat = rng_weighted(&g->r, w, NCATS);
    lg_channel ch = channel_for(g, cat, c->ecom, is_drifted);
    int home = c->country, where = home, ip_country = home;
    double travel = is_drifted ? 0.08 : 0.03;
    if (rng_unit(&g->r) < travel) { /* abroad: shops there, online from a hotel */
        where = rng_int(&g->r, NCOUNTRIES);
        ip_country = where;
    } else if (ch == LG_ECOM && rng_unit(&g->r) < 0.3) {
        where = -1; /* cross-border online shop */
    }
    int mi = pick_merchant(g, cat, where);
    int32_t device = c->device;
    if (ch == LG_ECOM && rng_unit(&g->r) < (ip_country != home ? 0.3 : 0.02))
        device = new_device(g); /* a new phone, a hotel computer */
    fill(g, ev, ci, mi, ch, device, ip_country);
    double amount = rng_lognormal(&g->r, categories[cat].mu, categories[cat].sigma) * c->spend;
    if (rng_unit(&g->r) < 0.015) amount *= rng_uniform(&g->r, 4, 15); /* a big purchase */
    if (is_drifted) amount *= 1.6; /* prices and basket sizes moved */
    ev->amount = round_cents(amount);
    ev->declined = rng_unit(&g->r) < 0.02; /* insufficient funds, a mistyped CVV */
    ev->pattern = LG_LEGIT;
    if (ch == LG_ECOM && rng_unit(&g->r) < 0.03) legit_session(g, t, ci, device);
}

/* ------------------------------------------------------------------ fraud episodes */

static void schedule(lg_gen *g, double t, lg_event *ev, lg_pattern p)
{
    /* issuers decline much of what fraudsters try, card tests most of all */
    static const double decline_rate[LG_NPATTERNS] = {0, 0.55, 0.12, 0.2, 0.1};
    if (p != LG_LEGIT) ev->declined = rng_unit(&g->r) < decline_rate[p];
    ev->pattern = p;
    heap_push(g, t, ev);
}

static void card_testing(lg_gen *g, double t)
{
    int ci = rng_int(&g->r, g->cfg.ncards);
    int32_t dev = new_device(g);
    int where = fraud_countries[rng_int(&g->r, NFRAUD_COUNTRIES)];
    int merchants[3];
    for (int i = 0; i < 3; i++)
        merchants[i] = pick_merchant(g, rng_unit(&g->r) < 0.7 ? C_DIGITAL : C_TELECOM, -1);
    int n = 6 + rng_int(&g->r, 20);
    lg_event ev;
    for (int i = 0; i < n; i++) {
        fill(g, &ev, ci, merchants[rng_int(&g->r, 3)], LG_ECOM, dev, where);
        ev.amount = round_cents(rng_uniform(&g->r, 0.5, 4.99));
        schedule(g, t, &ev, LG_CARD_TESTING);
        t += rng_uniform(&g->r, 0.3, 4.0);
    }
    if (rng_unit(&g->r) < 0.5) { /* the card works: cash out */
        fill(g, &ev, ci, pick_merchant(g, C_ELECTRONICS, -1), LG_ECOM, dev, where);
        ev.amount = round_cents(rng_uniform(&g->r, 200, 900));
        schedule(g, t + rng_uniform(&g->r, 3, 20), &ev, LG_CARD_TESTING);
    }
}

static void account_takeover(lg_gen *g, double t)
{
    static const int cats[] = {C_ELECTRONICS, C_JEWELRY, C_TRANSFER, C_DEPT};
    int ci = pick_card(g); /* takeovers hit active, trusted accounts */
    int home = g->cards[ci].country;
    int32_t dev = new_device(g);
    int where = fraud_countries[rng_int(&g->r, NFRAUD_COUNTRIES)];
    if (where == home) where = 11;
    int n = 1 + rng_int(&g->r, 4);
    double markup = rng_uniform(&g->r, 1.5, 10); /* some take over quietly */
    lg_event ev;
    for (int i = 0; i < n; i++) {
        int cat = cats[rng_int(&g->r, 4)];
        int mi = pick_merchant(g, cat, where);
        for (int k = 0; k < 64 && g->merchants[mi].country == home; k++)
            mi = pick_merchant(g, cat, -1);
        fill(g, &ev, ci, mi, LG_ECOM, dev, where);
        double usual = exp(categories[cat].mu) * g->cards[ci].spend;
        ev.amount = round_cents(usual * markup * rng_uniform(&g->r, 0.7, 1.3));
        schedule(g, t, &ev, LG_ACCOUNT_TAKEOVER);
        t += rng_uniform(&g->r, 3, 30);
    }
}

static void risky_large(lg_gen *g, double t)
{
    static const int cats[] = {C_GAMBLING, C_CRYPTO, C_TRANSFER, C_JEWELRY};
    int ci = rng_int(&g->r, g->cfg.ncards);
    int32_t dev = rng_unit(&g->r) < 0.5 ? g->cards[ci].device : new_device(g);
    int n = rng_unit(&g->r) < 0.4 ? 2 : 1;
    lg_event ev;
    for (int i = 0; i < n; i++) {
        int cat = cats[rng_int(&g->r, 4)];
        lg_channel ch = cat == C_JEWELRY ? LG_POS : LG_ECOM;
        fill(g, &ev, ci, pick_merchant(g, cat, -1), ch, dev, g->cards[ci].country);
        ev.amount = round_cents(rng_lognormal(&g->r, log(900), 0.8));
        schedule(g, t, &ev, LG_RISKY_LARGE);
        t += rng_uniform(&g->r, 10, 60);
    }
}

static void fraud_ring(lg_gen *g, double t)
{
    static const int cats[] = {C_ELECTRONICS, C_DIGITAL, C_MISC};
    const ring *rg = &g->rings[rng_int(&g->r, RINGS)];
    int n = 3 + rng_int(&g->r, 6);
    lg_event ev;
    for (int i = 0; i < n; i++) {
        int ci = rg->cards[rng_int(&g->r, RING_CARDS)];
        int cat = cats[rng_int(&g->r, 3)];
        fill(g, &ev, ci, pick_merchant(g, cat, -1), LG_ECOM,
             rg->devices[rng_int(&g->r, RING_DEVICES)], rg->country);
        ev.amount = round_cents(rng_uniform(&g->r, 80, 700));
        schedule(g, t, &ev, LG_FRAUD_RING);
        t += rng_uniform(&g->r, 2, 30);
    }
}

static void start_episode(lg_gen *g, double t)
{
    const double *share = drifted(g, t) ? episode_share_drift : episode_share;
    switch ((lg_pattern)rng_weighted(&g->r, share, LG_NPATTERNS)) {
    case LG_CARD_TESTING:
        card_testing(g, t);
        break;
    case LG_ACCOUNT_TAKEOVER:
        account_takeover(g, t);
        break;
    case LG_RISKY_LARGE:
        risky_large(g, t);
        break;
    case LG_FRAUD_RING:
        fraud_ring(g, t);
        break;
    default:
        break;
    }
}

static double fraud_start_rate(const lg_gen *g, const double *share)
{
    double per_episode = 0, total = 0;
    for (int p = 1; p < LG_NPATTERNS; p++) {
        per_episode += share[p] * episode_events[p];
        total += share[p];
    }
    return g->cfg.rate * g->cfg.fraud_rate / (per_episode / total);
}

static double next_fraud_gap(lg_gen *g, double t)
{
    /* after drift, fraud pressure doubles and the mix moves to takeovers */
    double rate =
        drifted(g, t) ? 2.0 * fraud_start_rate(g, episode_share_drift) : g->fraud_start_rate;
    return rng_exp(&g->r, rate);
}

/* ------------------------------------------------------------------ world */

static void build_world(lg_gen *g)
{
    double cw[NCOUNTRIES], catw[NCATS];
    for (int i = 0; i < NCOUNTRIES; i++)
        cw[i] = countries[i].weight;
    for (int i = 0; i < NCATS; i++)
        catw[i] = categories[i].weight + 1.0; /* every category has merchants */

    g->merchants = ss_calloc((size_t)g->cfg.nmerchants, sizeof *g->merchants);
    for (int i = 0; i < g->cfg.nmerchants; i++) {
        merchant *m = &g->merchants[i];
        m->category = (uint8_t)(i < NCATS ? i : rng_weighted(&g->r, catw, NCATS));
        m->country = (uint8_t)rng_weighted(&g->r, cw, NCOUNTRIES);
        m->lat = (float)(countries[m->country].lat + rng_normal(&g->r) * 1.5);
        m->lon = (float)(countries[m->country].lon + rng_normal(&g->r) * 1.5);
        g->ncat[m->category]++;
    }
    for (int c = 0; c < NCATS; c++) {
        g->by_cat[c] = ss_malloc((size_t)g->ncat[c] * sizeof(int));
        g->ncat[c] = 0;
    }
    for (int i = 0; i < g->cfg.nmerchants; i++) {
        int c = g->merchants[i].category;
        g->by_cat[c][g->ncat[c]++] = i;
    }

    g->cards = ss_calloc((size_t)g->cfg.ncards, sizeof *g->cards);
    for (int i = 0; i < g->cfg.ncards; i++) {
        card *c = &g->cards[i];
        c->country = (uint8_t)rng_weighted(&g->r, cw, NCOUNTRIES);
        c->lat = (float)(countries[c->country].lat + rng_normal(&g->r) * 1.5);
        c->lon = (float)(countries[c->country].lon + rng_normal(&g->r) * 1.5);
        c->spend = (float)rng_lognormal(&g->r, 0, 0.4);
        c->ecom = (float)rng_uniform(&g->r, 0.5, 1.5);
        c->device = i;                       /* devices d0000000.. belong to cards */
        if (i > 0 && rng_unit(&g->r) < 0.15) /* a household: cards sharing a tablet */
            c->device = g->cards[i - 1 - rng_int(&g->r, i < 5 ? i : 5)].device;
    }
    g->next_device = NEW_DEVICE_BASE;
    for (int k = 0; k < RINGS; k++) {
        ring *rg = &g->rings[k];
        rg->country = fraud_countries[rng_int(&g->r, NFRAUD_COUNTRIES)];
        for (int d = 0; d < RING_DEVICES; d++)
            rg->devices[d] = new_device(g);
        for (int c = 0; c < RING_CARDS; c++)
            rg->cards[c] = rng_int(&g->r, g->cfg.ncards);
    }
}

void lg_config_defaults(lg_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 42;
    c->rate = 1000;
    c->diurnal = 0.3;
    c->start_ms = ss_now_ms();
    c->ncards = 50000;
    c->nmerchants = 4000;
    c->fraud_rate = 0.01;
}

lg_gen *lg_gen_new(const lg_config *cfg)
{
    lg_gen *g = ss_calloc(1, sizeof *g);
    g->cfg = *cfg;
    ss_assert(cfg->rate > 0 && cfg->ncards > 0 && cfg->nmerchants >= NCATS);
    ss_assert(cfg->fraud_rate >= 0 && cfg->fraud_rate < 1 && cfg->diurnal >= 0 && cfg->diurnal < 1);
    if (cfg->id_prefix)
        ss_strlcpy(g->prefix, cfg->id_prefix, sizeof g->prefix);
    else
        snprintf(g->prefix, sizeof g->prefix, "tx%llu", (unsigned long long)cfg->seed);
    g->cfg.id_prefix = g->prefix;
    rng_seed(&g->r, cfg->seed);
    build_world(g);
    g->fraud_start_rate = fraud_start_rate(g, episode_share);
    g->t_legit = rng_exp(&g->r, legit_rate(g, 0));
    /* start in steady state: episodes already running at t = 0 (their
     * earlier events are dropped), so the fraud share is right from the start */
    g->t_fraud = cfg->fraud_rate > 0 ? -WARMUP_S + next_fraud_gap(g, -WARMUP_S) : INFINITY;
    return g;
}

void lg_gen_free(lg_gen *g)
{
    if (!g) return;
    for (int c = 0; c < NCATS; c++)
        ss_free(g->by_cat[c]);
    ss_free(g->cards);
    ss_free(g->merchants);
    ss_free(g->heap);
    ss_free(g);
}

static double next_time(const lg_gen *g)
{
    double t = g->t_legit;
    if (g->nheap && g->heap[0].t < t) t = g->heap[0].t;
    return t;
}

void lg_gen_next(lg_gen *g, lg_event *ev)
{
    /* episodes that start before the next event put their events in the heap;
     * events from before the start (warm-up) are dropped */
    for (;;) {
        if (g->nheap && g->heap[0].t < 0) {
            pending p;
            heap_pop(g, &p);
        } else if (g->t_fraud <= next_time(g)) {
            double t = g->t_fraud;
            start_episode(g, t);
            g->t_fraud = t + next_fraud_gap(g, t);
        } else {
            break;
        }
    }
    double t;
    if (g->nheap && g->heap[0].t < g->t_legit) {
        pending p;
        heap_pop(g, &p);
        *ev = p.ev;
        t = p.t;
    } else {
        t = g->t_legit;
        make_legit(g, t, ev);
        g->t_legit = t + rng_exp(&g->r, legit_rate(g, t));
    }
    ev->event_time = g->cfg.start_ms + (int64_t)(t * 1000.0);
    ev->drifted = drifted(g, t);
    snprintf(ev->event_id, sizeof ev->event_id, "%s-%09llu", g->prefix,
             (unsigned long long)g->seq++);
}

int64_t lg_gen_peek_time(const lg_gen *g)
{
    double t = next_time(g);
    if (g->t_fraud < t) t = g->t_fraud; /* an episode may start first */
    return g->cfg.start_ms + (int64_t)(t * 1000.0);
}

double lg_gen_rate_at(const lg_gen *g, int64_t at_ms)
{
    return g->cfg.rate * diurnal(g, (double)(at_ms - g->cfg.start_ms) / 1000.0);
}

const char *lg_pattern_name(lg_pattern p)
{
    static const char *names[LG_NPATTERNS] = {"legit", "card_testing", "account_takeover",
                                              "risky_large", "fraud_ring"};
    return p < LG_NPATTERNS ? names[p] : "?";
}

const char *lg_channel_name(lg_channel c)
{
    static const char *names[] = {"POS", "ECOM", "ATM", "MOTO"};
    return names[c];
}

/* ------------------------------------------------------------------ JSON */

void lg_event_json(const lg_event *ev, ss_buf *out)
{
    ss_buf_printf(out,
                  "{\"event_id\":\"%s\",\"event_time\":%lld,\"card_id\":\"%s\","
                  "\"merchant_id\":\"%s\",",
                  ev->event_id, (long long)ev->event_time, ev->card_id, ev->merchant_id);
    if (ev->device_id[0])
        ss_buf_printf(out, "\"device_id\":\"%s\",", ev->device_id);
    else
        ss_buf_printf(out, "\"device_id\":null,");
    ss_buf_printf(out,
                  "\"amount\":%.2f,\"currency\":\"%s\",\"merchant_category\":\"%s\","
                  "\"merchant_country\":\"%s\",\"card_country\":\"%s\",\"channel\":\"%s\","
                  "\"auth_result\":\"%s\",\"latitude\":%.4f,\"longitude\":%.4f,",
                  ev->amount, ev->currency, ev->mcc, ev->merchant_country, ev->card_country,
                  lg_channel_name(ev->channel), ev->declined ? "DECLINED" : "APPROVED",
                  ev->latitude, ev->longitude);
    if (ev->ip_address[0])
        ss_buf_printf(out, "\"ip_address\":\"%s\"}", ev->ip_address);
    else
        ss_buf_printf(out, "\"ip_address\":null}");
}

void lg_label_json(const lg_event *ev, int64_t label_time, ss_buf *out)
{
    ss_buf_printf(out,
                  "{\"event_id\":\"%s\",\"entity_id\":\"%s\",\"label\":%d,\"event_time\":%lld,"
                  "\"label_time\":%lld,\"source\":\"%s\"}",
                  ev->event_id, ev->card_id, lg_is_fraud(ev), (long long)ev->event_time,
                  (long long)label_time, lg_is_fraud(ev) ? "chargeback" : "settled");
}
