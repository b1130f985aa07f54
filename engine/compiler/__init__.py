"""Stage 3, compile: checked models and the index's measures to sqlglot trees, and those to SQL."""
