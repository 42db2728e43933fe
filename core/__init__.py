"""The pure stages: normalize, deduplicate, classify, route, detect surges.

Nothing here imports a framework (no faust, mode, aiokafka, aiohttp, chdb,
clickhouse_connect): the stages take records and return values, so the worker, the
offline commands and the tests run the same code. The contract is checked by
``lint-imports`` (pyproject.toml).
"""
