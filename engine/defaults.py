"""Where a command finds the pack and the warehouse when none is named on its command line.

Apart from engine/api.py so that the command line can say its defaults (in
--help) without importing the engine behind every command.
"""

from __future__ import annotations

import os
from pathlib import Path

POLICIES_ENV = "OVERSIGHT_POLICIES"
WAREHOUSE_ENV = "OVERSIGHT_WAREHOUSE"


def default_policies() -> Path:
    """The pack to use when none is named: $OVERSIGHT_POLICIES, else ./policies."""
    return Path(os.environ.get(POLICIES_ENV, "policies"))
