"""Stage 4, run: models on a warehouse, their rows to warnings, the ledger and the manifest."""
