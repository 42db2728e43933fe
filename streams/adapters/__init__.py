"""Per-platform adapters: one raw payload shape in, normalized ``SocialEvent``s out.

Each adapter module registers itself in :data:`ADAPTERS`; :func:`adapter_for`
is the only lookup. Adapters are pure: no I/O, no clock except what the payload says.
"""

from __future__ import annotations

from streams.adapters import meta, x
from streams.adapters.base import Adapter, PayloadError
from schemas.events import Platform

ADAPTERS: dict[Platform, Adapter] = {
    Platform.FACEBOOK: meta.facebook,
    Platform.MESSENGER: meta.messenger,
    Platform.INSTAGRAM: meta.instagram,
    Platform.X: x.adapter,
}


def adapter_for(platform: Platform) -> Adapter:
    try:
        return ADAPTERS[platform]
    except KeyError:
        raise PayloadError(f"no adapter for platform {platform.value!r}") from None


__all__ = ["ADAPTERS", "Adapter", "PayloadError", "adapter_for"]
