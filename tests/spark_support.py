"""Whether Spark can run on this machine: a module of its own, not conftest.

Test modules import it by name; `from conftest import …` would find whichever
conftest.py (tests/, tests/demo/, tests/report/ …) pytest loaded first.
"""

from __future__ import annotations


def spark_available() -> str | None:
    """Why Spark cannot run here, or None when it can."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[test]')"
    if shutil.which("java") is None:
        return "Spark needs a Java runtime (java on PATH)"
    return None
