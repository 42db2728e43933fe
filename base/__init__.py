"""What every layer stands on: the one settings object, Kafka client options, logging,
the metrics registry. Only ``schemas`` sits under it."""
