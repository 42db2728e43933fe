-- Looking events up by id (an alert's sample_event_ids, a task's event_id) without
-- scanning: the sorting key starts with brand, so event_id needs a skip index.
ALTER TABLE events ADD INDEX IF NOT EXISTS events_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 4;
