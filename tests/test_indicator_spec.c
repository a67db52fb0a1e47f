/* The indicator catalogue: its contents (names, defaults, ranges, outputs),
 * lookups, parameter parsing and cross-parameter checks, and that
 * docs/indicators.md lists every indicator with the same defaults. */
#include "compute/indicator_spec.h"
#include "fstore.h"
#include "test.h"

#include <ctype.h>

static const fs_indicator_spec *must_find(const char *name)
{
    const fs_indicator_spec *s = fs_indicator_find(name);
    if (!s)
        fprintf(stderr, "  indicator '%s' missing from the catalogue\n", name);
    return s;
}

static double param_default(const char *ind, const char *param)
{
    const fs_indicator_spec *s = must_find(ind);
    int i = fs_indicator_param_index(s, param);
    if (i < 0) {
        fprintf(stderr, "  %s has no param '%s'\n", ind, param);
        return NAN;
    }
    return s->params[i].def;
}

static int is_lower_ident(const char *s)
{
    if (!s || !*s || !islower((unsigned char)s[0]))
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Every entry is well formed: names, counts matching the filled slots,
 * defaults inside ranges, unique names within each list. */
TEST(test_entries_well_formed)
{
    CHECK(fs_indicator_count() >= 19);
    CHECK(fs_indicator_at(fs_indicator_count()) == NULL);
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        const fs_indicator_spec *s = fs_indicator_at(i);
        CHECK(s != NULL);
        if (!s)
            continue;
        CHECK(is_lower_ident(s->name));
        CHECK(s->summary && s->summary[0]);
        CHECK(!s->talib || s->talib[0]);
        CHECK(fs_indicator_find(s->name) == s);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(fs_indicator_at(j)->name, s->name) != 0);

        CHECK(s->n_inputs >= 1 && s->n_inputs <= FS_IND_MAX_INPUTS);
        for (int k = 0; k < FS_IND_MAX_INPUTS; k++) {
            const fs_indicator_input *in = &s->inputs[k];
            if (k < s->n_inputs) {
                CHECK(is_lower_ident(in->role));
                CHECK(in->default_column && in->default_column[0]);
                CHECK_INT(fs_indicator_input_index(s, in->role), k);
            } else {
                CHECK(in->role == NULL && in->default_column == NULL);
            }
        }

        CHECK(s->n_params >= 0 && s->n_params <= FS_IND_MAX_PARAMS);
        double defs[FS_IND_MAX_PARAMS];
        fs_indicator_defaults(s, defs);
        for (int k = 0; k < FS_IND_MAX_PARAMS; k++) {
            const fs_indicator_param *p = &s->params[k];
            if (k >= s->n_params) {
                CHECK(p->name == NULL);
                CHECK(isnan(defs[k]));
                continue;
            }
            CHECK(is_lower_ident(p->name));
            CHECK(p->doc && p->doc[0]);
            CHECK_INT(fs_indicator_param_index(s, p->name), k);
            if (p->type == FS_PARAM_STRING) {
                CHECK(p->required);
                CHECK(isnan(defs[k]));
                continue;
            }
            CHECK(!p->required);
            CHECK(p->min <= p->def && p->def <= p->max);
            CHECK_NEAR(defs[k], p->def, 0);
            if (p->type == FS_PARAM_INT) {
                CHECK(p->def == floor(p->def));
                CHECK(p->min == floor(p->min) && p->max == floor(p->max));
            }
        }
        /* The defaults pass every rule, cross-parameter ones included. */
        char msg[256] = "";
        CHECK_INT(fs_indicator_check(s, defs, msg, sizeof msg), 0);

        CHECK(s->n_outputs >= 1 && s->n_outputs <= FS_IND_MAX_OUTPUTS);
        for (int k = 0; k < FS_IND_MAX_OUTPUTS; k++) {
            const fs_indicator_output *o = &s->outputs[k];
            if (k >= s->n_outputs) {
                CHECK(o->name == NULL);
                continue;
            }
            CHECK(is_lower_ident(o->name));
            CHECK(o->doc && o->doc[0]);
            CHECK_INT(fs_indicator_output_index(s, o->name), k);
        }
        if (s->n_outputs == 1)
            CHECK_STR(s->outputs[0].name, "value");
    }
}

/* The list the project promised, with their TA-Lib equivalents. */
TEST(test_catalogue_names)
{
    static const struct { const char *name, *talib; } want[] = {
        {"sma", "SMA"}, {"ema", "EMA"}, {"wma", "WMA"}, {"rsi", "RSI"}, {"macd", "MACD"},
        {"bbands", "BBANDS"}, {"atr", "ATR"}, {"natr", "NATR"}, {"stoch", "STOCH"},
        {"obv", "OBV"}, {"vwap", NULL}, {"returns", "ROCP"}, {"log_returns", NULL},
        {"realized_vol", NULL}, {"zscore", NULL}, {"volume_ratio", NULL},
        {"rolling_min", "MIN"}, {"rolling_max", "MAX"}, {"correlation", "CORREL"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const fs_indicator_spec *s = must_find(want[i].name);
        CHECK(s != NULL);
        if (!s)
            continue;
        if (want[i].talib)
            CHECK_STR(s->talib, want[i].talib);
        else
            CHECK(s->talib == NULL);
    }
    CHECK_INT(fs_indicator_count(), sizeof want / sizeof want[0]);
}

/* Defaults and ranges taken from TA-Lib (see indicator_spec.c for sources). */
TEST(test_talib_defaults)
{
    CHECK_NEAR(param_default("rsi", "period"), 14, 0);
    CHECK_NEAR(param_default("atr", "period"), 14, 0);
    CHECK_NEAR(param_default("natr", "period"), 14, 0);
    CHECK_NEAR(param_default("sma", "period"), 30, 0);
    CHECK_NEAR(param_default("ema", "period"), 30, 0);
    CHECK_NEAR(param_default("wma", "period"), 30, 0);
    CHECK_NEAR(param_default("macd", "fast_period"), 12, 0);
    CHECK_NEAR(param_default("macd", "slow_period"), 26, 0);
    CHECK_NEAR(param_default("macd", "signal_period"), 9, 0);
    CHECK_NEAR(param_default("bbands", "period"), 20, 0); /* TA-Lib: 5, see the entry */
    CHECK_NEAR(param_default("bbands", "nbdev_up"), 2, 0);
    CHECK_NEAR(param_default("bbands", "nbdev_dn"), 2, 0);
    CHECK_NEAR(param_default("stoch", "fastk_period"), 5, 0);
    CHECK_NEAR(param_default("stoch", "slowk_period"), 3, 0);
    CHECK_NEAR(param_default("stoch", "slowd_period"), 3, 0);
    CHECK_NEAR(param_default("rolling_min", "period"), 30, 0);
    CHECK_NEAR(param_default("rolling_max", "period"), 30, 0);
    CHECK_NEAR(param_default("correlation", "period"), 30, 0);
    CHECK_NEAR(param_default("returns", "period"), 1, 0);
    CHECK_NEAR(param_default("log_returns", "period"), 1, 0);
    CHECK_NEAR(param_default("realized_vol", "annualize"), 1, 0);

    const fs_indicator_spec *rsi = must_find("rsi");
    CHECK_NEAR(rsi->params[0].min, 2, 0);
    CHECK_NEAR(rsi->params[0].max, 100000, 0);
    const fs_indicator_spec *atr = must_find("atr");
    CHECK_NEAR(atr->params[0].min, 1, 0); /* ATR accepts 1, RSI does not */
    const fs_indicator_spec *mn = must_find("rolling_min");
    CHECK_NEAR(mn->params[0].min, 2, 0); /* TA-Lib MIN: 2..100000 */
    const fs_indicator_spec *macd = must_find("macd");
    CHECK_NEAR(macd->params[2].min, 1, 0); /* signal period may be 1 */
    CHECK_INT(must_find("obv")->n_params, 0);

    const fs_indicator_spec *corr = must_find("correlation");
    int ref = fs_indicator_param_index(corr, "reference");
    CHECK(ref >= 0);
    if (ref >= 0) {
        CHECK_INT(corr->params[ref].type, FS_PARAM_STRING);
        CHECK(corr->params[ref].required);
    }
    CHECK_INT(must_find("bbands")->params[1].type, FS_PARAM_REAL);
    CHECK_INT(must_find("realized_vol")->params[1].type, FS_PARAM_REAL);
}

TEST(test_inputs)
{
    const fs_indicator_spec *rsi = must_find("rsi");
    CHECK_INT(rsi->n_inputs, 1);
    CHECK_STR(rsi->inputs[0].role, "price");
    CHECK_STR(rsi->inputs[0].default_column, "c");

    const fs_indicator_spec *atr = must_find("atr");
    CHECK_INT(atr->n_inputs, 3);
    CHECK_INT(fs_indicator_input_index(atr, "high"), 0);
    CHECK_INT(fs_indicator_input_index(atr, "low"), 1);
    CHECK_INT(fs_indicator_input_index(atr, "close"), 2);
    CHECK_STR(atr->inputs[0].default_column, "h");
    CHECK_STR(atr->inputs[1].default_column, "l");
    CHECK_INT(fs_indicator_input_index(atr, "price"), -1);

    const fs_indicator_spec *obv = must_find("obv");
    CHECK_INT(obv->n_inputs, 2);
    CHECK_STR(obv->inputs[1].role, "volume");
    CHECK_STR(obv->inputs[1].default_column, "v");

    const fs_indicator_spec *vwap = must_find("vwap");
    CHECK_INT(vwap->n_inputs, 4);
    CHECK_INT(fs_indicator_input_index(vwap, "volume"), 3);

    const fs_indicator_spec *vr = must_find("volume_ratio");
    CHECK_INT(vr->n_inputs, 1);
    CHECK_STR(vr->inputs[0].default_column, "v");

    CHECK_INT(fs_indicator_input_index(NULL, "price"), -1);
    CHECK_INT(fs_indicator_input_index(rsi, NULL), -1);

    /* Every default column is a candles column. */
    static const char *const columns[] = {"o", "h", "l", "c", "v"};
    for (size_t i = 0; i < fs_indicator_count(); i++) {
        const fs_indicator_spec *s = fs_indicator_at(i);
        for (int k = 0; k < s->n_inputs; k++) {
            int found = 0;
            for (size_t c = 0; c < 5; c++)
                found |= strcmp(s->inputs[k].default_column, columns[c]) == 0;
            CHECK(found);
        }
    }
}

TEST(test_outputs)
{
    const fs_indicator_spec *macd = must_find("macd");
    CHECK_INT(macd->n_outputs, 3);
    CHECK_INT(fs_indicator_output_index(macd, "macd"), 0);
    CHECK_INT(fs_indicator_output_index(macd, "signal"), 1);
    CHECK_INT(fs_indicator_output_index(macd, "hist"), 2);
    CHECK_INT(fs_indicator_output_index(macd, "histogram"), -1);
    CHECK_INT(fs_indicator_output_index(macd, NULL), -1);

    const fs_indicator_spec *bb = must_find("bbands");
    CHECK_INT(bb->n_outputs, 5);
    CHECK_INT(fs_indicator_output_index(bb, "upper"), 0);
    CHECK_INT(fs_indicator_output_index(bb, "middle"), 1);
    CHECK_INT(fs_indicator_output_index(bb, "lower"), 2);
    CHECK_INT(fs_indicator_output_index(bb, "percent_b"), 3);
    CHECK_INT(fs_indicator_output_index(bb, "bandwidth"), 4);

    const fs_indicator_spec *st = must_find("stoch");
    CHECK_INT(st->n_outputs, 2);
    CHECK_INT(fs_indicator_output_index(st, "k"), 0);
    CHECK_INT(fs_indicator_output_index(st, "d"), 1);

    CHECK_INT(fs_indicator_output_index(must_find("rsi"), "value"), 0);
    CHECK_INT(fs_indicator_output_index(must_find("rsi"), "signal"), -1);
}

TEST(test_find_and_suggest)
{
    CHECK(fs_indicator_find("rsi") != NULL);
    CHECK_STR(fs_indicator_find("rsi")->name, "rsi");
    CHECK(fs_indicator_find("RSI") == NULL); /* names are exact */
    CHECK(fs_indicator_find("rsii") == NULL);
    CHECK(fs_indicator_find("") == NULL);
    CHECK(fs_indicator_find(NULL) == NULL);

    CHECK_STR(fs_indicator_suggest("rsii"), "rsi");
    CHECK_STR(fs_indicator_suggest("RSI"), "rsi");
    CHECK_STR(fs_indicator_suggest("macdd"), "macd");
    CHECK_STR(fs_indicator_suggest("bband"), "bbands");
    CHECK_STR(fs_indicator_suggest("log_return"), "log_returns");
    CHECK_STR(fs_indicator_suggest("realised_vol"), "realized_vol");
    CHECK_STR(fs_indicator_suggest("correlaton"), "correlation");
    CHECK(fs_indicator_suggest("ichimoku") == NULL);
    CHECK(fs_indicator_suggest("x") == NULL);
    CHECK(fs_indicator_suggest(NULL) == NULL);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(fs_indicator_suggest(longname) == NULL);
}

TEST(test_parse_param)
{
    const fs_indicator_spec *rsi = must_find("rsi");
    char msg[256];
    double v = -1;

    CHECK_INT(fs_indicator_parse_param(rsi, 0, "14", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 14, 0);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, " 21 ", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 21, 0);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "14.0", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 14, 0);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "1e2", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 100, 0);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "2", &v, msg, sizeof msg), 0);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "100000", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 100000, 0);

    v = -1;
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "1.5", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'period' of rsi must be an integer in [2, 100000], got 1.5");
    CHECK_NEAR(v, -1, 0); /* untouched on failure */

    CHECK_INT(fs_indicator_parse_param(rsi, 0, "abc", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'period' of rsi must be an integer in [2, 100000], got \"abc\"");
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "1e9", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'period' of rsi must be an integer in [2, 100000], got 1e9");
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'period' of rsi must be an integer in [2, 100000], got an empty value");
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "   ", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "1", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "got 1");
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "100001", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "-14", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    /* strtod would take these; YAML would not call them numbers. */
    static const char *const not_numbers[] = {"0x10", "nan", "inf", ".inf", "1_000", "14abc",
                                              "1e", ".", "+", "14 15", "1e999x"};
    for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++) {
        CHECK_INT(fs_indicator_parse_param(rsi, 0, not_numbers[i], &v, msg, sizeof msg),
                  FS_E_INVALID_DEF);
        CHECK_CONTAINS(msg, "got \"");
    }
    /* Overflow is a number, just out of range. */
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "1e999", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "got 1e999");

    /* REAL */
    const fs_indicator_spec *bb = must_find("bbands");
    int up = fs_indicator_param_index(bb, "nbdev_up");
    CHECK_INT(fs_indicator_parse_param(bb, up, "1.5", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 1.5, 0);
    CHECK_INT(fs_indicator_parse_param(bb, up, "0", &v, msg, sizeof msg), 0);
    CHECK_NEAR(v, 0, 0);
    CHECK_INT(fs_indicator_parse_param(bb, up, "-1", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'nbdev_up' of bbands must be a number in [0, 100], got -1");
    CHECK_INT(fs_indicator_parse_param(bb, up, "two", &v, msg, sizeof msg), FS_E_INVALID_DEF);

    /* STRING */
    const fs_indicator_spec *corr = must_find("correlation");
    int ref = fs_indicator_param_index(corr, "reference");
    v = 0;
    CHECK_INT(fs_indicator_parse_param(corr, ref, "BTCUSDT", &v, msg, sizeof msg), 0);
    CHECK(isnan(v));
    CHECK_INT(fs_indicator_parse_param(corr, ref, "BTCUSDT:1h", &v, msg, sizeof msg), 0);
    CHECK_INT(fs_indicator_parse_param(corr, ref, "", &v, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'reference' of correlation must be a non-empty name, got an empty value");
    CHECK_INT(fs_indicator_parse_param(corr, ref, "BTC USDT", &v, msg, sizeof msg),
              FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "without spaces, got \"BTC USDT\"");
    char longref[FS_IND_MAX_STRING + 2];
    memset(longref, 'A', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    CHECK_INT(fs_indicator_parse_param(corr, ref, longref, &v, msg, sizeof msg), FS_E_INVALID_DEF);
    longref[FS_IND_MAX_STRING] = '\0';
    CHECK_INT(fs_indicator_parse_param(corr, ref, longref, &v, msg, sizeof msg), 0);

    /* Bad arguments; a tiny or absent message buffer is fine. */
    CHECK_INT(fs_indicator_parse_param(rsi, 1, "14", &v, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_parse_param(rsi, -1, "14", &v, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_parse_param(NULL, 0, "14", &v, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, NULL, &v, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "14", NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "abc", &v, NULL, 0), FS_E_INVALID_DEF);
    char tiny[8];
    CHECK_INT(fs_indicator_parse_param(rsi, 0, "abc", &v, tiny, sizeof tiny), FS_E_INVALID_DEF);
    CHECK_STR(tiny, "param '");
}

TEST(test_check)
{
    const fs_indicator_spec *macd = must_find("macd");
    double p[FS_IND_MAX_PARAMS];
    char msg[256];

    fs_indicator_defaults(macd, p);
    CHECK_NEAR(p[0], 12, 0);
    CHECK_NEAR(p[1], 26, 0);
    CHECK_NEAR(p[2], 9, 0);
    CHECK(isnan(p[3]));
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), 0);

    p[0] = 26, p[1] = 12;
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "params of macd: fast_period (26) must be less than slow_period (12)");
    p[0] = 12, p[1] = 12;
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "fast_period (12) must be less than slow_period (12)");

    /* Ranges are checked before the cross-parameter rule. */
    p[0] = 1, p[1] = 26;
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "param 'fast_period' of macd must be an integer in [2, 100000], got 1");
    p[0] = 12.5;
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "got 12.5");
    p[0] = NAN;
    CHECK_INT(fs_indicator_check(macd, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_CONTAINS(msg, "got no value");

    const fs_indicator_spec *bb = must_find("bbands");
    fs_indicator_defaults(bb, p);
    p[1] = 0;
    CHECK_INT(fs_indicator_check(bb, p, msg, sizeof msg), 0); /* a one-sided band is fine */
    p[2] = 0;
    CHECK_INT(fs_indicator_check(bb, p, msg, sizeof msg), FS_E_INVALID_DEF);
    CHECK_STR(msg, "params of bbands: nbdev_up and nbdev_dn cannot both be 0");

    /* String params hold NAN and are not range-checked here. */
    const fs_indicator_spec *corr = must_find("correlation");
    fs_indicator_defaults(corr, p);
    CHECK_NEAR(p[0], 30, 0);
    CHECK(isnan(p[1]));
    CHECK_INT(fs_indicator_check(corr, p, msg, sizeof msg), 0);

    /* Parsed values feed check: the flow the registry follows. */
    const fs_indicator_spec *st = must_find("stoch");
    fs_indicator_defaults(st, p);
    int i = fs_indicator_param_index(st, "fastk_period");
    CHECK_INT(fs_indicator_parse_param(st, i, "14", &p[i], msg, sizeof msg), 0);
    CHECK_INT(fs_indicator_check(st, p, msg, sizeof msg), 0);
    CHECK_NEAR(p[i], 14, 0);

    CHECK_INT(fs_indicator_check(NULL, p, msg, sizeof msg), FS_E_INVAL);
    CHECK_INT(fs_indicator_check(st, NULL, msg, sizeof msg), FS_E_INVAL);
    CHECK_STR(fs_param_type_name(FS_PARAM_INT), "int");
    CHECK_STR(fs_param_type_name(FS_PARAM_REAL), "real");
    CHECK_STR(fs_param_type_name(FS_PARAM_STRING), "string");
}

/* docs/indicators.md has a row per indicator, starting "| `name` |", that
 * names its TA-Lib function, every input role, output and parameter with
 * its default as "`period`=14". Run from the repository root. */
TEST(test_docs_in_step)
{
    FILE *f = fopen("docs/indicators.md", "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';

    for (size_t i = 0; i < fs_indicator_count(); i++) {
        const fs_indicator_spec *s = fs_indicator_at(i);
        char key[64], row[1024], want[128];
        snprintf(key, sizeof key, "\n| `%s` |", s->name);
        const char *at = strstr(doc, key);
        CHECK_CONTAINS(doc, key);
        if (!at)
            continue;
        at++;
        size_t len = strcspn(at, "\n");
        if (len >= sizeof row)
            len = sizeof row - 1;
        memcpy(row, at, len);
        row[len] = '\0';
        CHECK_CONTAINS(row, s->talib ? s->talib : "none");
        for (int k = 0; k < s->n_inputs; k++) {
            snprintf(want, sizeof want, "%s=`%s`", s->inputs[k].role, s->inputs[k].default_column);
            CHECK_CONTAINS(row, want);
        }
        for (int k = 0; k < s->n_params; k++) {
            const fs_indicator_param *p = &s->params[k];
            if (p->type == FS_PARAM_STRING)
                snprintf(want, sizeof want, "`%s` (string, required)", p->name);
            else
                snprintf(want, sizeof want, "`%s`=%.15g [%.15g, %.15g]", p->name, p->def, p->min,
                         p->max);
            CHECK_CONTAINS(row, want);
        }
        for (int k = 0; k < s->n_outputs; k++) {
            snprintf(want, sizeof want, "`%s`", s->outputs[k].name);
            CHECK_CONTAINS(row, want);
        }
    }
}

int main(void)
{
    RUN(test_entries_well_formed);
    RUN(test_catalogue_names);
    RUN(test_talib_defaults);
    RUN(test_inputs);
    RUN(test_outputs);
    RUN(test_find_and_suggest);
    RUN(test_parse_param);
    RUN(test_check);
    RUN(test_docs_in_step);
    TEST_EXIT();
}
