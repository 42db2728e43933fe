"""Ingest agents: webhook receiver, file replay, simulator; each publishes raw payloads."""
