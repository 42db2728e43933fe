-- What downstream tools said about each task on tasks.status (acknowledged, done,
-- rejected). A redelivered status message collapses onto its (task_id, status, at) row.
CREATE TABLE IF NOT EXISTS task_status
(
    task_id   String,
    status    LowCardinality(String),
    at        DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    by        String,
    note      String CODEC(ZSTD(3)),
    stored_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(stored_at)
PARTITION BY toYYYYMM(at)
ORDER BY (task_id, status, at)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per task with its outcome: first acknowledgement, first done, first
-- rejection (NULL when none yet), the time to answer, whether it was done within its
-- SLA, and whether the SLA is breached (done late, or still not done past due_by).
-- Built from minimums, so duplicate rows in either table change nothing.
CREATE VIEW IF NOT EXISTS task_outcomes AS
SELECT
    t.task_id                                   AS task_id,
    t.event_id                                  AS event_id,
    t.alert_id                                  AS alert_id,
    t.brand                                     AS brand,
    t.platform                                  AS platform,
    t.action                                    AS action,
    t.response_level                            AS response_level,
    t.queue                                     AS queue,
    t.priority                                  AS priority,
    t.created_at                                AS created_at,
    t.due_by                                    AS due_by,
    s.acknowledged_at                           AS acknowledged_at,
    s.done_at                                   AS done_at,
    s.rejected_at                               AS rejected_at,
    multiIf(s.done_at IS NOT NULL, 'done', s.rejected_at IS NOT NULL, 'rejected',
            s.acknowledged_at IS NOT NULL, 'acknowledged', 'open') AS state,
    dateDiff('second', t.created_at, s.done_at) AS seconds_to_done,
    s.done_at IS NOT NULL AND s.done_at <= t.due_by AS done_within_sla,
    ifNull(s.done_at, now64(3)) > t.due_by      AS sla_breached
FROM
(
    SELECT task_id, any(event_id) AS event_id, any(alert_id) AS alert_id, any(brand) AS brand,
           any(platform) AS platform, any(action) AS action,
           any(response_level) AS response_level, any(queue) AS queue,
           any(priority) AS priority, min(created_at) AS created_at, min(due_by) AS due_by
    FROM tasks
    GROUP BY task_id
) AS t
LEFT JOIN
(
    SELECT task_id,
           minIfOrNull(at, status = 'acknowledged') AS acknowledged_at,
           minIfOrNull(at, status = 'done')         AS done_at,
           minIfOrNull(at, status = 'rejected')     AS rejected_at
    FROM task_status
    GROUP BY task_id
) AS s ON s.task_id = t.task_id;
