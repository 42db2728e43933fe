"""Copy writers' delivered parts into ``corpus/written/<writer>.jsonl``, in id order.

    python corpus/assemble.py DELIVERY_DIR WRITER [WRITER ...]

Lines are kept byte for byte (re-encoded compactly); a writer's file is only written
once every line of its spec list is there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

HERE = Path(__file__).parent


def main() -> None:
    delivery, *names = sys.argv[1:]
    for writer in names:
        spec_file = HERE / "specs" / f"{writer}.jsonl"
        specs = [orjson.loads(line)["id"] for line in spec_file.open("rb")]
        lines = {}
        for part in sorted((Path(delivery) / writer).glob("*.jsonl")):
            for line in part.read_bytes().splitlines():
                if line.strip():
                    record = orjson.loads(line)
                    lines[record["id"]] = record
        missing = [i for i in specs if i not in lines]
        if missing:
            sys.exit(f"{writer}: {len(missing)} of {len(specs)} lines missing (first {missing[0]})")
        with (HERE / "written" / f"{writer}.jsonl").open("wb") as out:
            for i in specs:
                out.write(orjson.dumps(lines[i]) + b"\n")
        print(f"{writer}: {len(specs)} lines")


if __name__ == "__main__":
    main()
