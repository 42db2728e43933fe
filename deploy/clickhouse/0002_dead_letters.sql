-- Inputs a stage refused, with the reason and the original bytes (base64).
-- Keyed by their source position, so a redelivered dead letter collapses.
CREATE TABLE IF NOT EXISTS dead_letters
(
    stage        LowCardinality(String),
    reason       String,
    error_type   LowCardinality(String),
    platform     LowCardinality(String),
    source_topic LowCardinality(String),
    partition    UInt16,
    offset       UInt64,
    key          String,
    payload_b64  String CODEC(ZSTD(3)),
    failed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(failed_at)
PARTITION BY toYYYYMM(failed_at)
ORDER BY (source_topic, partition, offset, stage)
SETTINGS non_replicated_deduplication_window = 1000;
