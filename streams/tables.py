"""Every Faust table of the app, declared in one place, with the state built on them.

- ``dedup-seen``: exact-dedup memory (event id digest → first event time), partitioned
  like the raw topics it is fed from, in a compact store (:mod:`streams.digests`).
- ``contacts``: when each person last wrote to the brand in private, for the DM
  windows of the routing rules, in the same compact store (keys are digests of
  ``platform:author``). Written under the partition of the DM that updated it:
  with several workers a worker sees the contacts of its own partitions only, so a
  DM window may be missed (``can_dm`` false), never invented.
- ``surge-*``: the detector's buckets, series, profiles and meta, on the surge feed's
  single partition, seen through :class:`~streams.state.BufferedTable` so each batch
  writes one changelog record per changed key.

All are changelog-backed: a restarted or newly assigned worker restores them before
its agents receive events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust
from faust import stores
from faust.types import TableT

from base.settings import Settings
from core.surge import SurgeDetector
from streams.state import BufferedTable, LoggedTable

_SURGE_TABLES = ("buckets", "series", "profiles", "meta")
# streams.digests.DigestStore, a compact store for the dedup ids (a host: Faust ignores a
# store URL that has nothing after its scheme, and uses the app's default store)
DIGESTS = "digests://local"
stores.STORES.aliases.setdefault("digests", "streams.digests:DigestStore")


@dataclass
class SurgeState:
    """The detector and its table-backed state; rebuilt after every rebalance."""

    tables: dict[str, TableT[str, Any]]
    _views: dict[str, BufferedTable[Any]] = field(default_factory=dict)
    _detector: SurgeDetector | None = None

    def detector(self) -> SurgeDetector:
        """The live detector, built from the (restored) tables on first use."""
        if self._detector is None:
            views = {name: BufferedTable[Any](t) for name, t in self.tables.items()}
            self._views = views
            self._detector = SurgeDetector(
                buckets=views["buckets"], series=views["series"],
                profiles=views["profiles"], meta=views["meta"],
            )
        return self._detector

    def flush(self) -> int:
        """Write the batch's changes to the tables (call before acknowledging)."""
        return sum(view.flush() for view in self._views.values())

    def reset(self) -> None:
        """Forget the in-memory detector; the next batch rebuilds it from the tables."""
        self._detector = None
        self._views = {}


@dataclass
class Tables:
    """The per-event tables as :class:`LoggedTable` views (the agent sends their
    changelog records with each batch's outputs), and the surge state."""

    seen: LoggedTable
    contacts: LoggedTable
    surge: SurgeState

    def logged(self) -> tuple[LoggedTable, ...]:
        return self.seen, self.contacts


def declare_tables(app: faust.App, settings: Settings) -> Tables:
    seen = app.Table(
        "dedup-seen", default=None, partitions=settings.topics.partitions, store=DIGESTS,
        help="event id (or edit key) → event time of first delivery; swept after the TTL",
    )
    contacts = app.Table(
        "contacts", default=None, partitions=settings.topics.partitions, store=DIGESTS,
        help="digest of platform:author → event time the person last wrote to the brand "
             "in private; swept after the contacts TTL",
    )
    surge = SurgeState({
        name: app.Table(f"surge-{name}", default=None, partitions=1,
                        help=f"surge detector state: {name}")
        for name in _SURGE_TABLES
    })

    async def forget_surge_state(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        surge.reset()

    app.on_partitions_revoked.connect(forget_surge_state)

    return Tables(seen=LoggedTable(seen), contacts=LoggedTable(contacts), surge=surge)
