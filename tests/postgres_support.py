"""What the tests' PostgreSQL server is set up with: a module of its own, not conftest.

Test modules import it by name; `from conftest import …` would find whichever
conftest.py (tests/, tests/demo/, tests/report/ …) pytest loaded first.
"""

from __future__ import annotations

PASSWORD_REQUIRED_GROUP = "oversight_password_required"
"""Roles in this group must give their password (scram-sha-256); every other role is trusted."""

PASSWORD_REQUIRED_HBA = f"host all +{PASSWORD_REQUIRED_GROUP} 127.0.0.1/32 scram-sha-256\n"
"""The first line of the server's pg_hba.conf."""
