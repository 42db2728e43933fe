-- Response tasks as published on tasks.response; task_id is deterministic, so a
-- replay collapses onto the same row.
CREATE TABLE IF NOT EXISTS tasks
(
    task_id        String,
    event_id       String,
    alert_id       String,
    brand          LowCardinality(String),
    platform       LowCardinality(String),
    action         LowCardinality(String),
    response_level LowCardinality(String),
    can_dm         Bool,
    queue          LowCardinality(String),
    priority       LowCardinality(String),
    created_at     DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    due_by         DateTime64(3, 'UTC'),
    published_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(published_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (queue, task_id)
SETTINGS non_replicated_deduplication_window = 1000;
