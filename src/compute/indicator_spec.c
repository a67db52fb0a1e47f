/* The indicator catalogue (see indicator_spec.h): the one list of every
 * indicator fstore offers, and the lookups and parameter checks over it.
 *
 * Where the numbers come from
 *  a) Defaults and ranges of TA-Lib equivalents are TA-Lib's own, read from
 *     its sources: the range is the one each function enforces in
 *     src/ta_func/ta_<NAME>.c (also printed in include/ta_func.h, e.g.
 *     "optInTimePeriod:(From 2 to 100000)"), the default is the one in
 *     src/ta_abstract/tables/table_<letter>.c (e.g. TA_RSI_OptInputs uses
 *     TA_DEF_UI_TimePeriod_14_MINIMUM2) and in the TA_INTEGER_DEFAULT branch
 *     of the function. Each entry cites its function.
 *  b) Deliberate differences from TA-Lib, each noted at its entry:
 *     bbands defaults to 20 bars (Bollinger's own choice; TA-Lib's default is
 *     5); bbands' deviation multipliers are limited to [0, 100] (TA-Lib takes
 *     any real: a negative one swaps the bands); correlation needs 2 bars at
 *     least (TA-Lib accepts 1, a correlation of one pair is undefined); macd
 *     rejects fast_period >= slow_period (TA-Lib silently swaps them).
 *  c) Indicators without a TA-Lib equivalent (vwap, log_returns,
 *     realized_vol, zscore, volume_ratio) default to 20 bars, a common choice
 *     for daily and hourly candles; nothing more principled than that.
 *
 * The table uses designated initializers so the compute issue can add
 * function-pointer members to fs_indicator_spec without touching entries. */
#include "compute/indicator_spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "fstore.h"

#define TA_MAX_PERIOD 100000 /* TA-Lib's upper bound on every time period */

/* Entry-writing shorthands; they only fill struct members in order. */
#define IN(role, column) {role, column}
#define PRICE IN("price", "c")
#define P_INT(name, def, lo, hi, doc) {name, FS_PARAM_INT, def, lo, hi, 0, doc}
#define P_REAL(name, def, lo, hi, doc) {name, FS_PARAM_REAL, def, lo, hi, 0, doc}
#define P_STRING_REQUIRED(name, doc) {name, FS_PARAM_STRING, NAN, 0, 0, 1, doc}
#define OUT(name, doc) {name, doc}
#define ONE_OUTPUT(doc) .n_outputs = 1, .outputs = {OUT("value", doc)}

static void set_msg(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msgsz, const char *fmt, ...)
{
    if (!msg || msgsz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
}

/* Cross-parameter rules. params are indexed like the entry's params. */

static int check_macd(const double *params, char *msg, size_t msgsz)
{
    /* TA-Lib swaps fast and slow when slow < fast; a definition that says
     * the opposite of what it means is more likely a mistake, so say so. */
    if (!(params[0] < params[1])) {
        set_msg(msg, msgsz, "params of macd: fast_period (%.15g) must be less than slow_period (%.15g)",
                params[0], params[1]);
        return 1;
    }
    return 0;
}

static int check_bbands(const double *params, char *msg, size_t msgsz)
{
    /* Both multipliers 0 make the bands collapse onto the middle line and
     * percent_b divide by zero on every bar. */
    if (params[1] == 0 && params[2] == 0) {
        set_msg(msg, msgsz, "params of bbands: nbdev_up and nbdev_dn cannot both be 0");
        return 1;
    }
    return 0;
}

static const fs_indicator_spec catalogue[] = {
    /* ---- moving averages ---- */
    {
        .name = "sma",
        .summary = "simple moving average: mean of the last `period` values",
        .talib = "SMA", /* ta_SMA.c: period 2..100000; table_s.c: TimePeriod_30 (default 30) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars averaged")},
        ONE_OUTPUT("the average"),
    },
    {
        .name = "ema",
        .summary = "exponential moving average, k = 2/(period+1), seeded with the SMA of the first `period` values",
        .talib = "EMA", /* ta_EMA.c: period 2..100000; table_e.c: TimePeriod_30 (default 30) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars; sets k = 2/(period+1)")},
        ONE_OUTPUT("the average"),
    },
    {
        .name = "wma",
        .summary = "linearly weighted moving average: the newest value weighs `period`, the oldest 1",
        .talib = "WMA", /* ta_func.h TA_WMA: period 2..100000; table_w.c: TimePeriod_30 (default 30) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars averaged")},
        ONE_OUTPUT("the average"),
    },

    /* ---- momentum ---- */
    {
        .name = "rsi",
        .summary = "relative strength index with Wilder's smoothing, 0..100",
        .talib = "RSI", /* ta_RSI.c: period 2..100000, default 14 (table_r.c TimePeriod_14_MINIMUM2) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 14, 2, TA_MAX_PERIOD, "smoothing period in bars")},
        ONE_OUTPUT("RSI, 0..100"),
    },
    {
        .name = "macd",
        .summary = "moving average convergence/divergence: EMA(fast) - EMA(slow), its EMA(signal), and their difference",
        /* ta_MACD.c: fast 2..100000 default 12, slow 2..100000 default 26,
         * signal 1..100000 default 9 (ta_def_ui.c TA_DEF_UI_Fast_Period,
         * TA_DEF_UI_Slow_Period; table_m.c). */
        .talib = "MACD",
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 3,
        .params = {
            P_INT("fast_period", 12, 2, TA_MAX_PERIOD, "period of the fast EMA; must be less than slow_period"),
            P_INT("slow_period", 26, 2, TA_MAX_PERIOD, "period of the slow EMA"),
            P_INT("signal_period", 9, 1, TA_MAX_PERIOD, "period of the EMA of the MACD line"),
        },
        .check = check_macd,
        .n_outputs = 3,
        .outputs = {
            OUT("macd", "EMA(fast) - EMA(slow)"),
            OUT("signal", "EMA(signal_period) of the macd line"),
            OUT("hist", "macd - signal"),
        },
    },
    {
        .name = "stoch",
        .summary = "slow stochastic oscillator: %K smoothed by an SMA, and %D its SMA, 0..100",
        /* ta_STOCH.c: fastk 1..100000 default 5, slowk 1..100000 default 3,
         * slowd 1..100000 default 3; both MA types default to SMA (0), the
         * only kind fstore offers. */
        .talib = "STOCH",
        .n_inputs = 3, .inputs = {IN("high", "h"), IN("low", "l"), IN("close", "c")},
        .n_params = 3,
        .params = {
            P_INT("fastk_period", 5, 1, TA_MAX_PERIOD, "bars of the high-low range for the raw %K"),
            P_INT("slowk_period", 3, 1, TA_MAX_PERIOD, "SMA period smoothing the raw %K into k"),
            P_INT("slowd_period", 3, 1, TA_MAX_PERIOD, "SMA period of k giving d"),
        },
        .n_outputs = 2,
        .outputs = {
            OUT("k", "slow %K, 0..100"),
            OUT("d", "slow %D, the SMA of k, 0..100"),
        },
    },

    /* ---- volatility ---- */
    {
        .name = "bbands",
        .summary = "Bollinger bands: SMA(period) +/- nbdev * population standard deviation, with %b and bandwidth",
        /* ta_BBANDS.c: period 2..100000 default 5, nbdev_up/dn any real
         * default 2, MA type default SMA. fstore differs: period defaults to
         * 20 (Bollinger's own choice; say `period: 5` to match TA-Lib's
         * default), multipliers limited to [0, 100]. */
        .talib = "BBANDS",
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 3,
        .params = {
            P_INT("period", 20, 2, TA_MAX_PERIOD, "bars of the SMA and the standard deviation"),
            P_REAL("nbdev_up", 2, 0, 100, "standard deviations above the middle band"),
            P_REAL("nbdev_dn", 2, 0, 100, "standard deviations below the middle band"),
        },
        .check = check_bbands,
        .n_outputs = 5,
        .outputs = {
            OUT("upper", "middle + nbdev_up * stddev"),
            OUT("middle", "SMA(period)"),
            OUT("lower", "middle - nbdev_dn * stddev"),
            OUT("percent_b", "(price - lower) / (upper - lower)"),
            OUT("bandwidth", "(upper - lower) / middle"),
        },
    },
    {
        .name = "atr",
        .summary = "average true range, Wilder's smoothing of the true range",
        .talib = "ATR", /* ta_ATR.c: period 1..100000; table_a.c: TimePeriod_14 (default 14) */
        .n_inputs = 3, .inputs = {IN("high", "h"), IN("low", "l"), IN("close", "c")},
        .n_params = 1,
        .params = {P_INT("period", 14, 1, TA_MAX_PERIOD, "smoothing period in bars")},
        ONE_OUTPUT("ATR, in price units"),
    },
    {
        .name = "natr",
        .summary = "normalized average true range: 100 * ATR / close",
        .talib = "NATR", /* ta_NATR.c: period 1..100000; table_n.c: TimePeriod_14 (default 14) */
        .n_inputs = 3, .inputs = {IN("high", "h"), IN("low", "l"), IN("close", "c")},
        .n_params = 1,
        .params = {P_INT("period", 14, 1, TA_MAX_PERIOD, "smoothing period in bars")},
        ONE_OUTPUT("ATR as a percentage of close"),
    },
    {
        .name = "realized_vol",
        .summary = "realized volatility: population standard deviation of the last `period` one-bar log returns, times sqrt(annualize)",
        .talib = NULL, /* = STDDEV(LN(ROCR(price, 1)), period, 1) * sqrt(annualize) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 2,
        .params = {
            P_INT("period", 20, 2, TA_MAX_PERIOD, "number of one-bar log returns (needs period+1 prices)"),
            P_REAL("annualize", 1, 1, 1e6, "bars per year to annualize by, e.g. 365 for daily crypto, 8760 for 1h; 1 = no scaling"),
        },
        ONE_OUTPUT("volatility per bar, or per year when annualized"),
    },

    /* ---- volume ---- */
    {
        .name = "obv",
        .summary = "on-balance volume: running sum of volume, signed by the direction of close",
        .talib = "OBV", /* ta_OBV.c: inputs inReal and inVolume, no parameters */
        .n_inputs = 2, .inputs = {IN("close", "c"), IN("volume", "v")},
        .n_params = 0,
        ONE_OUTPUT("cumulative signed volume"),
    },
    {
        .name = "vwap",
        .summary = "rolling volume-weighted average of the typical price (high+low+close)/3 over the last `period` bars",
        .talib = NULL,
        .n_inputs = 4,
        .inputs = {IN("high", "h"), IN("low", "l"), IN("close", "c"), IN("volume", "v")},
        .n_params = 1,
        .params = {P_INT("period", 20, 1, TA_MAX_PERIOD, "number of bars in the window")},
        ONE_OUTPUT("sum(typical * volume) / sum(volume)"),
    },
    {
        .name = "volume_ratio",
        .summary = "volume / SMA(volume, period): above 1 when the bar trades more than usual",
        .talib = NULL, /* = volume / SMA(volume, period); period range as SMA's */
        .n_inputs = 1, .inputs = {IN("volume", "v")},
        .n_params = 1,
        .params = {P_INT("period", 20, 2, TA_MAX_PERIOD, "bars of the volume SMA (the current bar included)")},
        ONE_OUTPUT("the ratio"),
    },

    /* ---- returns and statistics ---- */
    {
        .name = "returns",
        .summary = "simple return over `period` bars: price / price[period bars ago] - 1",
        /* ta_ROCP.c: period 1..100000 (TA-Lib's default is 10; a one-bar
         * return is what "returns" means, so fstore defaults to 1). */
        .talib = "ROCP",
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 1, 1, TA_MAX_PERIOD, "bars between the two prices")},
        ONE_OUTPUT("the return as a fraction (0.01 = 1%)"),
    },
    {
        .name = "log_returns",
        .summary = "log return over `period` bars: ln(price / price[period bars ago])",
        .talib = NULL, /* = LN(ROCR(price, period)) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 1, 1, TA_MAX_PERIOD, "bars between the two prices")},
        ONE_OUTPUT("the log return"),
    },
    {
        .name = "zscore",
        .summary = "z-score: (price - SMA(period)) / population standard deviation over the same bars",
        .talib = NULL, /* = (x - SMA(x, period)) / STDDEV(x, period, 1) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 20, 2, TA_MAX_PERIOD, "bars of the mean and the standard deviation")},
        ONE_OUTPUT("standard deviations from the mean"),
    },
    {
        .name = "rolling_min",
        .summary = "lowest value of the last `period` bars",
        .talib = "MIN", /* ta_func.h TA_MIN: period 2..100000; table_m.c: TimePeriod_30 (default 30) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars in the window")},
        ONE_OUTPUT("the minimum"),
    },
    {
        .name = "rolling_max",
        .summary = "highest value of the last `period` bars",
        .talib = "MAX", /* ta_func.h TA_MAX: period 2..100000; table_m.c: TimePeriod_30 (default 30) */
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 1,
        .params = {P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars in the window")},
        ONE_OUTPUT("the maximum"),
    },
    {
        .name = "correlation",
        .summary = "Pearson correlation over `period` bars between this entity's input column and the same column of the `reference` entity",
        /* ta_CORREL.c: period 1..100000; table_c.c: TimePeriod_30 (default
         * 30). fstore asks for 2 bars at least: one pair has no correlation. */
        .talib = "CORREL",
        .n_inputs = 1, .inputs = {PRICE},
        .n_params = 2,
        .params = {
            P_INT("period", 30, 2, TA_MAX_PERIOD, "number of bars in the window"),
            P_STRING_REQUIRED("reference", "entity whose same column is correlated, e.g. BTCUSDT"),
        },
        ONE_OUTPUT("correlation, -1..1"),
    },
};

#define CATALOGUE_N (sizeof catalogue / sizeof catalogue[0])

size_t fs_indicator_count(void) { return CATALOGUE_N; }

const fs_indicator_spec *fs_indicator_at(size_t i)
{
    return i < CATALOGUE_N ? &catalogue[i] : NULL;
}

const fs_indicator_spec *fs_indicator_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < CATALOGUE_N; i++)
        if (strcmp(catalogue[i].name, name) == 0)
            return &catalogue[i];
    return NULL;
}

const char *fs_indicator_suggest(const char *name)
{
    if (!name)
        return NULL;
    /* Lowercase first so "RSI" suggests "rsi"; names longer than the buffer
     * cannot be within distance 2 of any indicator name anyway. */
    char lower[64];
    size_t n = strlen(name);
    if (n >= sizeof lower)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    const char *names[CATALOGUE_N];
    for (size_t i = 0; i < CATALOGUE_N; i++)
        names[i] = catalogue[i].name;
    return fs_suggest(lower, names, CATALOGUE_N);
}

int fs_indicator_input_index(const fs_indicator_spec *s, const char *role)
{
    if (!s || !role)
        return -1;
    for (int i = 0; i < s->n_inputs; i++)
        if (strcmp(s->inputs[i].role, role) == 0)
            return i;
    return -1;
}

int fs_indicator_param_index(const fs_indicator_spec *s, const char *param)
{
    if (!s || !param)
        return -1;
    for (int i = 0; i < s->n_params; i++)
        if (strcmp(s->params[i].name, param) == 0)
            return i;
    return -1;
}

int fs_indicator_output_index(const fs_indicator_spec *s, const char *output)
{
    if (!s || !output)
        return -1;
    for (int i = 0; i < s->n_outputs; i++)
        if (strcmp(s->outputs[i].name, output) == 0)
            return i;
    return -1;
}

void fs_indicator_defaults(const fs_indicator_spec *s, double params[FS_IND_MAX_PARAMS])
{
    for (int i = 0; i < FS_IND_MAX_PARAMS; i++)
        params[i] = NAN;
    if (!s)
        return;
    for (int i = 0; i < s->n_params; i++)
        if (s->params[i].type != FS_PARAM_STRING && !s->params[i].required)
            params[i] = s->params[i].def;
}

const char *fs_param_type_name(fs_param_type t)
{
    switch (t) {
    case FS_PARAM_INT: return "int";
    case FS_PARAM_REAL: return "real";
    case FS_PARAM_STRING: return "string";
    }
    return "?";
}

/* Is [p, p+n) a YAML 1.2 core-schema decimal number?
 * [-+]? ( digits ( . digits? )? | . digits ) ( [eE] [-+]? digits )?
 * Rejects what strtod would also take but YAML would not call a number:
 * hex, "nan", "inf", ".inf", "1_000". */
static int is_yaml_decimal(const char *p, size_t n)
{
    size_t i = 0, int_digits = 0, frac_digits = 0, exp_digits = 0;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
    while (i < n && isdigit((unsigned char)p[i]))
        i++, int_digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)p[i]))
            i++, frac_digits++;
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        while (i < n && isdigit((unsigned char)p[i]))
            i++, exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i == n;
}

/* "an integer in [2, 100000]" / "a number in [0, 100]" */
static void describe_rule(const fs_indicator_param *p, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s in [%.15g, %.15g]",
             p->type == FS_PARAM_INT ? "an integer" : "a number", p->min, p->max);
}

static int value_ok(const fs_indicator_param *p, double v)
{
    if (!isfinite(v) || v < p->min || v > p->max)
        return 0;
    return p->type != FS_PARAM_INT || v == floor(v);
}

int fs_indicator_parse_param(const fs_indicator_spec *s, int param_index, const char *text,
                             double *value_out, char *msg, size_t msgsz)
{
    if (!s || !text || !value_out || param_index < 0 || param_index >= s->n_params) {
        set_msg(msg, msgsz, "invalid argument");
        return FS_E_INVAL;
    }
    const fs_indicator_param *p = &s->params[param_index];

    /* Trim spaces and tabs on both ends. */
    const char *b = text, *e = text + strlen(text);
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = (size_t)(e - b);

    if (p->type == FS_PARAM_STRING) {
        int ok = n > 0 && n <= FS_IND_MAX_STRING;
        for (size_t i = 0; ok && i < n; i++)
            if (isspace((unsigned char)b[i]) || iscntrl((unsigned char)b[i]))
                ok = 0;
        if (!ok) {
            if (n == 0)
                set_msg(msg, msgsz, "param '%s' of %s must be a non-empty name, got an empty value",
                        p->name, s->name);
            else
                set_msg(msg, msgsz,
                        "param '%s' of %s must be a name of 1 to %d characters without spaces, got \"%.*s\"",
                        p->name, s->name, FS_IND_MAX_STRING, n > 40 ? 40 : (int)n, b);
            return FS_E_INVALID_DEF;
        }
        *value_out = NAN;
        return 0;
    }

    char rule[96];
    describe_rule(p, rule, sizeof rule);
    if (n == 0) {
        set_msg(msg, msgsz, "param '%s' of %s must be %s, got an empty value", p->name, s->name, rule);
        return FS_E_INVALID_DEF;
    }
    char buf[64];
    if (n >= sizeof buf || !is_yaml_decimal(b, n)) {
        set_msg(msg, msgsz, "param '%s' of %s must be %s, got \"%.*s\"", p->name, s->name, rule,
                n > 40 ? 40 : (int)n, b);
        return FS_E_INVALID_DEF;
    }
    memcpy(buf, b, n);
    buf[n] = '\0';
    /* The grammar was checked above; strtod only converts. Overflow gives
     * +-HUGE_VAL, which the range check then rejects. */
    double v = strtod(buf, NULL);
    if (!value_ok(p, v)) {
        set_msg(msg, msgsz, "param '%s' of %s must be %s, got %s", p->name, s->name, rule, buf);
        return FS_E_INVALID_DEF;
    }
    *value_out = v;
    return 0;
}

int fs_indicator_check(const fs_indicator_spec *s, const double *params, char *msg, size_t msgsz)
{
    if (!s || !params) {
        set_msg(msg, msgsz, "invalid argument");
        return FS_E_INVAL;
    }
    for (int i = 0; i < s->n_params; i++) {
        const fs_indicator_param *p = &s->params[i];
        if (p->type == FS_PARAM_STRING || value_ok(p, params[i]))
            continue;
        char rule[96];
        describe_rule(p, rule, sizeof rule);
        if (isnan(params[i]))
            set_msg(msg, msgsz, "param '%s' of %s must be %s, got no value", p->name, s->name, rule);
        else
            set_msg(msg, msgsz, "param '%s' of %s must be %s, got %.15g", p->name, s->name, rule,
                    params[i]);
        return FS_E_INVALID_DEF;
    }
    if (s->check && s->check(params, msg, msgsz) != 0)
        return FS_E_INVALID_DEF;
    return 0;
}
