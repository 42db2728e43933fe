"""``vigie schemas``: write (or check) the JSON Schemas of the published messages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schemas.export import EXPORTS, JSON_DIR, stale, write_all

console = Console()


def schemas(
    out: Annotated[Path, typer.Option(help="Directory to write the .schema.json files to.")]
    = JSON_DIR,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 if a file is missing or out of date (CI).")]
    = False,
) -> None:
    """Export vigie.task.v1, vigie.alert.v1, the event and status schemas from the models."""
    if check:
        outdated = stale(out)
        for path in outdated:
            console.print(f"out of date: {path}")
        raise typer.Exit(1 if outdated else 0)
    changed = write_all(out)
    for path in changed:
        console.print(f"wrote {path}")
    console.print(f"{len(EXPORTS)} schema(s) in {out}; {len(changed)} updated.")
