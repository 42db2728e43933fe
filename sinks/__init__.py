"""Sinks: the ClickHouse store (two backends, one writer) and the task publisher."""
