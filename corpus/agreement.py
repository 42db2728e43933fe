"""Agreement between the writers' labels and a second, independent labeller.

    python corpus/agreement.py

The second labeller read only the guide and the texts of a random sample
(``agreement/second_labeller.jsonl``); prints raw agreement and Cohen's kappa per
label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import orjson

HERE = Path(__file__).parent
RISKS = ("hate", "threat", "scam", "spam", "personal_data", "crisis_signal")


def kappa(first: Sequence[object], second: Sequence[object]) -> tuple[float, float]:
    """Raw agreement and Cohen's kappa of two labellings of the same items."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[k] * counts_b[k] for k in counts_a.keys() | counts_b.keys()) / n / n
    return observed, (observed - expected) / (1 - expected) if expected < 1 else 1.0


def main() -> None:
    written = {}
    for path in (HERE / "written").glob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            written[record["id"]] = record
    second = [orjson.loads(line) for line in
              (HERE / "agreement" / "second_labeller.jsonl").read_bytes().splitlines()]
    pairs = [(written[s["id"]], s) for s in second]
    print(f"{len(pairs)} messages labelled twice")
    for field in ("lang", "sentiment", "intent"):
        observed, k = kappa([a[field] for a, _ in pairs], [b[field] for _, b in pairs])
        print(f"{field:14} agreement {observed:.3f}  kappa {k:.3f}")
    for risk in RISKS:
        observed, k = kappa([risk in a["risks"] for a, _ in pairs],
                            [risk in b["risks"] for _, b in pairs])
        print(f"{risk:14} agreement {observed:.3f}  kappa {k:.3f}")


if __name__ == "__main__":
    main()
