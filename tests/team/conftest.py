"""Servers for the team profile's tests: a PostgreSQL cluster from Debian's packages
(tests/servers.py), started once for the session and stopped after; each test makes its own
database.

Where PostgreSQL's server is not installed the tests are skipped, unless
EVALFUNNEL_REQUIRE_SERVERS=1 (set by .ci/run, which installs it): in CI a missing server fails.
"""

from __future__ import annotations

import os

import pytest

from tests.servers import Postgres, postgres_bin_dir, postgres_cluster

REQUIRE_VAR = "EVALFUNNEL_REQUIRE_SERVERS"


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail("PostgreSQL's server is not installed (apt-get install postgresql); .ci/run installs it")
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql)")
    with postgres_cluster() as server:
        yield server
