"""The demo county: deterministic data for every source of the catalog, with planted ground truth.

``generate(size, seed)`` builds the 14 townships' year 2021 (about 607,000 rows
at size 1) as Arrow tables, the planted warnings of all 35 models (``truth``)
and the near misses planted beside them. ``generate_to_parquet`` writes the
same tables one at a time for large sizes.

Layout: ``ids`` (check digits), ``calendar`` (working days), ``names``
(vocabulary), ``catalog`` (sources from the pack), ``background/`` (the
vectorised, clean-by-construction bulk), ``plants/`` (the planted cases, one
module per domain), ``disposal`` (verification records), ``generator``.
"""

from __future__ import annotations

from engine.demo.generator import DemoCounty, generate, generate_to_parquet

__all__ = ["DemoCounty", "generate", "generate_to_parquet"]
