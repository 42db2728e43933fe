"""Framework-independent data models: what travels on the topics and into ClickHouse.

Nothing here imports Faust or Kafka clients; values are bytes on the wire and are
decoded at the edge with ``model_validate_json`` / orjson.
"""
