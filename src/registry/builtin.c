/* The built-in definitions every data directory has, written in the same
 * YAML users write, so they go through the same loader and validation.
 *
 * candles.ts is the candle's OPEN time; `available_after: tf` makes a row
 * knowable only when the candle closes (ts + tf), which is what stops an
 * indicator computed from it being stamped before its data existed. */
#include "registry/load.h"

#include "fstore.h"

#include <string.h>

static const char builtin_yaml[] =
    "entities:\n"
    "  - name: market\n"
    "    join_keys: [symbol, tf]\n"
    "    description: One instrument on one timeframe, e.g. BTCUSDT:1h.\n"
    "  - name: signal\n"
    "    join_keys: [signal_id]\n"
    "    description: One model signal, the key of the retrain queue.\n"
    "sources:\n"
    "  - name: candles\n"
    "    entity: market\n"
    "    timestamp: ts\n"
    "    available_after: tf\n"
    "    chunk_interval: 1d\n"
    "    description: OHLCV candles; ts is the open time, a row is knowable at ts + tf.\n"
    "    columns:\n"
    "      - {name: symbol, type: string}\n"
    "      - {name: tf, type: string}\n"
    "      - {name: ts, type: timestamp}\n"
    "      - {name: o, type: float64, min: 0, unit: quote, description: open price}\n"
    "      - {name: h, type: float64, min: 0, unit: quote, description: high price}\n"
    "      - {name: l, type: float64, min: 0, unit: quote, description: low price}\n"
    "      - {name: c, type: float64, min: 0, unit: quote, description: close price}\n"
    "      - {name: v, type: float64, min: 0, unit: base, description: volume}\n"
    "      - {name: vwap, type: float64, min: 0, nullable: true, unit: quote, "
    "description: volume-weighted average price of the candle}\n"
    "      - {name: taker_buy_vol, type: float64, min: 0, nullable: true, unit: base, "
    "description: volume bought by takers}\n"
    "  - name: signals\n"
    "    entity: market\n"
    "    timestamp: ts\n"
    "    chunk_interval: 7d\n"
    "    description: Model signals (predictions) and their realized outcomes.\n"
    "    columns:\n"
    "      - {name: id, type: int64}\n"
    "      - {name: ts, type: timestamp}\n"
    "      - {name: symbol, type: string}\n"
    "      - {name: tf, type: string}\n"
    "      - {name: label, type: string, nullable: true}\n"
    "      - {name: pred, type: float64, nullable: true}\n"
    "      - {name: proba, type: float64, min: 0, max: 1, nullable: true}\n"
    "      - {name: model_id, type: string}\n"
    "      - {name: outcome, type: string, nullable: true}\n"
    "      - {name: realized_rr, type: float64, nullable: true}\n"
    "      - {name: latency_ms, type: float64, min: 0, nullable: true}\n"
    "      - {name: features, type: json, nullable: true, "
    "description: \"the feature vector the model saw, as JSON text\"}\n"
    "  - name: retrain_queue\n"
    "    entity: signal\n"
    "    timestamp: inserted_at\n"
    "    chunk_interval: 30d\n"
    "    description: Signals queued for model retraining, with their processing state.\n"
    "    columns:\n"
    "      - {name: id, type: int64}\n"
    "      - {name: signal_id, type: int64}\n"
    "      - {name: reason, type: string}\n"
    "      - {name: inserted_at, type: timestamp}\n"
    "      - {name: status, type: string}\n"
    "      - {name: priority, type: int64}\n"
    "      - {name: started_at, type: timestamp, nullable: true}\n"
    "      - {name: completed_at, type: timestamp, nullable: true}\n"
    "      - {name: error_message, type: string, nullable: true}\n";

static const char *const builtin_entities[] = {"market", "signal"};
static const char *const builtin_sources[] = {"candles", "signals", "retrain_queue"};

int fs_is_builtin(int kind, const char *name)
{
    const char *const *list = NULL;
    size_t n = 0;
    if (kind == FS_KIND_ENTITY) {
        list = builtin_entities;
        n = sizeof builtin_entities / sizeof *list;
    } else if (kind == FS_KIND_SOURCE) {
        list = builtin_sources;
        n = sizeof builtin_sources / sizeof *list;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

const char *fs_builtin_yaml(size_t *len)
{
    *len = sizeof builtin_yaml - 1;
    return builtin_yaml;
}

fs_registry *fs_registry_builtin(fs_diag *diag)
{
    return fs_registry_load("<built-in>", "", 0, FS_LOAD_YAML_USER, diag);
}
