"""The operation wing (运行端): pre-checks as a library call and an HTTP service."""
