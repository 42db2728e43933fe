"""The ops console: one web page for the people on duty (alerts explained, live streams,
task queues with their SLA, pipeline health), served by ``vigie console`` and beside
``vigie run``.

One module per job: :mod:`.filters` (a choice of columns and filters, as SQL and as a
predicate), :mod:`.reads` (ClickHouse), :mod:`.live` (the Kafka topics, tailed while a
page is open), :mod:`.charts` (SVG geometry), :mod:`.web` (the aiohttp server, its
templates and vendored htmx in ``templates/`` and ``static/``) and :mod:`.digest` (the
same reads for a terminal, at the end of ``vigie run --events N``).
"""
