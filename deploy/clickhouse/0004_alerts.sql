-- Every message of the alerts topic (vigie.alert.v1): one row per open, update and
-- resolved of an incident, keyed by (alert_id, sequence), so a redelivered message
-- collapses onto its row. brand and polarity are '' where the contract says null
-- (silence alerts); origin_event_id likewise.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id         String,
    sequence         UInt32,
    kind             LowCardinality(String),
    status           LowCardinality(String),
    brand            LowCardinality(String),
    platforms        Array(LowCardinality(String)),
    polarity         LowCardinality(String),
    window_start     DateTime64(3, 'UTC'),
    detected_at      DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    severity         LowCardinality(String),
    count            UInt32,
    baseline         Float64,
    score            Float64,
    top_terms        Array(String),
    sample_event_ids Array(String),
    origin_event_id  String,
    summary          String CODEC(ZSTD(3)),
    trajectory       Array(Tuple(minute DateTime64(3, 'UTC'), count UInt32, baseline Float64)),
    polarity_mix     Map(LowCardinality(String), UInt32),
    term_excess      Array(Tuple(term String, count UInt32, expected Float64)),
    platform_counts  Map(LowCardinality(String), UInt32),
    discounted       UInt32,
    stored_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(stored_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (alert_id, sequence)
SETTINGS non_replicated_deduplication_window = 1000;

-- The latest state of each incident: its last message, when it opened and resolved,
-- and its peak. Aggregates over all messages, so duplicates not yet merged away
-- change nothing (argMax by sequence, min/max, uniqExact).
CREATE VIEW IF NOT EXISTS alerts_latest AS
SELECT
    a.alert_id                                      AS alert_id,
    any(a.kind)                                     AS kind,
    argMax(a.status, a.sequence)                    AS status,
    argMax(a.brand, a.sequence)                     AS brand,
    argMax(a.platforms, a.sequence)                 AS platforms,
    argMax(a.polarity, a.sequence)                  AS polarity,
    min(a.window_start)                             AS window_start,
    minIf(a.detected_at, a.status = 'open')         AS opened_at,
    if(countIf(a.status = 'resolved') > 0,
       maxIf(a.detected_at, a.status = 'resolved'), NULL) AS resolved_at,
    argMax(a.severity, a.sequence)                  AS severity,
    argMax(a.count, a.sequence)                     AS count,
    max(a.count)                                    AS peak_count,
    max(a.score)                                    AS peak_score,
    argMax(a.baseline, a.sequence)                  AS baseline,
    argMax(a.top_terms, a.sequence)                 AS top_terms,
    argMax(a.origin_event_id, a.sequence)           AS origin_event_id,
    argMax(a.summary, a.sequence)                   AS summary,
    max(a.sequence)                                 AS last_sequence,
    uniqExact(a.sequence)                           AS messages
FROM alerts AS a
GROUP BY a.alert_id;
