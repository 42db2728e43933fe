"""The ops console: a web page for the people on duty (streams, alerts, queues, health)."""
