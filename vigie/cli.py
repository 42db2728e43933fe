"""The ``vigie`` console script: one Typer app, sub-commands registered from ``vigie.commands``."""

from __future__ import annotations

import typer

from vigie.commands import bench, classify, console, ingest, ops, pipeline, schemas, surge

app = typer.Typer(
    name="vigie",
    help="Streaming lookout for what people say to and about brands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.callback()(ops.logging_options)  # logging configured once, here at the edge

# Pipeline: embedded run, production worker, ClickHouse access.
app.command("run")(pipeline.run)
app.command("worker")(pipeline.worker)
app.command("sql")(pipeline.sql)
app.command("migrate")(pipeline.migrate)
app.command("top")(ops.top)
app.command("console")(console.console_command)

# Offline commands (same code as the streams, on files).
# -- other command groups register here, one line each --
app.command("simulate")(ingest.simulate)
app.command("normalize")(ingest.normalize)
app.command("replay")(ingest.replay)
app.command("webhook")(ingest.webhook)
app.command("classify")(classify.classify)
app.command("eval")(classify.evaluate_file)
app.command("train")(classify.train)
app.command("detect")(surge.detect)
app.command("eval-surge")(surge.eval_surge)
app.command("history")(surge.history)
app.command("schemas")(schemas.schemas)
app.command("bench")(bench.bench)


def main() -> None:
    app()
