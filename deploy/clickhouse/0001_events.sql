-- One row per normalized, classified event. At-least-once delivery from the
-- stream: duplicates collapse by ReplacingMergeTree on the sorting key, whose
-- every column is a pure function of event_id (platform, brand, created_at).
CREATE TABLE IF NOT EXISTS events
(
    event_id         String,
    platform         LowCardinality(String),
    kind             LowCardinality(String),
    brand            LowCardinality(String),
    direct           Bool,
    author_id        String,
    author_handle    String,
    author_followers Nullable(UInt64),
    text             String CODEC(ZSTD(3)),
    lang             LowCardinality(String),
    url              String CODEC(ZSTD(3)),
    thread_id        String,
    in_reply_to      String,
    sentiment        LowCardinality(String),
    intent           LowCardinality(String),
    risks            Array(LowCardinality(String)),
    priority         LowCardinality(String),
    tags             Array(LowCardinality(String)),
    reasons          String CODEC(ZSTD(3)),
    dup_cluster      String,
    dup_count        UInt32,
    created_at       DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    received_at      Nullable(DateTime64(3, 'UTC')),
    processed_at     DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    source_topic     LowCardinality(String),
    source_partition UInt16,
    source_offset    UInt64
)
ENGINE = ReplacingMergeTree(processed_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (brand, platform, created_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
