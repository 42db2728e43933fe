"""``vigie bench``: the pipeline measured side by side with the Kafka client's own limit.

One orchestrating process (:mod:`vigie.bench.harness`) owns the broker, the payloads
and the measurements; every scenario runs in child processes
(:mod:`vigie.bench.child`) so its CPU and peak RSS are its own. Pure arithmetic and
presentation live in :mod:`vigie.bench.report`.
"""
