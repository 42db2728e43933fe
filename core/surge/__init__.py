"""Surge stage: windowed counts, seasonal baselines, spike and silence alerts.

The stream calls :meth:`SurgeDetector.observe` per classified event with table-backed
state; :class:`SurgePipeline` chains dedup, near-dup and the detector for offline runs.
"""

from core.surge.detector import SurgeConfig, SurgeDetector
from core.surge.pipeline import SurgePipeline

__all__ = ["SurgeConfig", "SurgeDetector", "SurgePipeline"]
