"""Where evalfunnel keeps its state, and the environment every entry point prepares.

EVALFUNNEL_HOME (default `.evalfunnel/` in the working directory) holds the DuckDB warehouse,
the Dagster instance (DAGSTER_HOME, default `$EVALFUNNEL_HOME/dagster`) and reports.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.warehouse import WAREHOUSE_VAR, Lake, location

HOME_VAR = "EVALFUNNEL_HOME"
SOURCE_VAR = "EVALFUNNEL_SOURCE"
SALT_VAR = "EVALFUNNEL_PII_SALT"
NER_MODEL_VAR = "EVALFUNNEL_NER_MODEL"
JUDGE_MODEL_VAR = "EVALFUNNEL_JUDGE_MODEL"
START_DATE_VAR = "EVALFUNNEL_START_DATE"
DEFAULT_START_DATE = "2025-01-01"
START_DATE_FILE = "start_date"


@dataclass(frozen=True)
class Home:
    """The folders under EVALFUNNEL_HOME."""

    root: Path

    @property
    def warehouse(self) -> Path | Lake:
        """The embedded file in the home, or the lake EVALFUNNEL_WAREHOUSE names."""
        return location(self.root)

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.root / "dagster")

    @property
    def demo_source(self) -> Path:
        return self.root / "demo-source"


def current_home() -> Home:
    """The home named by EVALFUNNEL_HOME, or `.evalfunnel/` in the working directory."""
    return Home(Path(os.environ.get(HOME_VAR) or Path.cwd() / ".evalfunnel").resolve())


def start_date() -> str:
    """First day of the daily partitions (the monthly and quarterly ones start with its month and
    quarter): EVALFUNNEL_START_DATE if set, else the first day with in-range data that `evalfunnel
    run` recorded in the home, else 2025-01-01 (a home that has not run yet)."""
    raw = os.environ.get(START_DATE_VAR, "").strip()
    if not raw:
        recorded = recorded_start_date(current_home())
        return recorded or DEFAULT_START_DATE
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError as exc:
        raise ValueError(f"{START_DATE_VAR}={raw!r} is not a date (YYYY-MM-DD)") from exc


def recorded_start_date(home: Home) -> str | None:
    """The first day of data `evalfunnel run` recorded for this home, within the days the ingest
    accepts. A day before EVALFUNNEL_LOGS_SINCE that the default range accepts (the variable was
    raised after the run) gives the first accepted day: the partitions narrow, never widen to the
    default. A day no version should have recorded (a 1970 record an older version took for the
    first day, or a day past tomorrow) is ignored, and the next run records the real one."""
    recorded = home.root / START_DATE_FILE
    if not recorded.exists():
        return None
    try:
        day = date.fromisoformat(recorded.read_text().strip())
    except ValueError:
        return None
    since, until = _accepted_days()
    from pipeline.logs.ingest import DEFAULT_LOGS_SINCE

    if day > until or day < date.fromisoformat(DEFAULT_LOGS_SINCE):
        return None
    return max(day, since).isoformat()


def _accepted_days() -> tuple[date, date]:
    from pipeline.logs.ingest import accepted_time_range  # imported only when a start is read or recorded

    since, until = accepted_time_range()
    return since.date(), until.date()


def record_start_date(home: Home, first_day: date | str) -> None:
    """Make this home's partitions start at `first_day`, the first day with in-range data.

    `first_day` comes from `logs.ingest.source_days`, which leaves out the timestamps the ingest
    rejects as out of range (before EVALFUNNEL_LOGS_SINCE, or in the future): a record dated 1970
    or 2199 never moves the start, and a day outside that range is never recorded (the first
    day's month start, in the month EVALFUNNEL_LOGS_SINCE falls in, counts as that day). The
    start only moves earlier (a source that gained older logs); it never moves later, under
    partitions that were already materialized. A home with nothing recorded takes `first_day`
    whatever the default: partitions start with the data, not at 2025-01-01.
    """
    day = date.fromisoformat(first_day) if isinstance(first_day, str) else first_day
    since, until = _accepted_days()
    if day < since and day.replace(day=1) == since.replace(day=1):
        day = since
    if not since <= day <= until:
        return  # not a day the ingest keeps records for: no partition may start there
    recorded = recorded_start_date(home)
    if recorded is None or day.isoformat() < recorded:
        home.root.mkdir(parents=True, exist_ok=True)
        (home.root / START_DATE_FILE).write_text(day.isoformat() + "\n")


def demo_salt(home: Home) -> bool:
    """Use (creating it if needed) the demo's local pseudonymization key; True when created.

    Only the demo does this: for real data the key must come from EVALFUNNEL_PII_SALT, never
    from a default. The key file is readable by its owner only and never enters the warehouse.
    """
    key_file = home.root / "pii_salt"
    created = not key_file.exists()
    if created:
        key_file.write_text(secrets.token_hex(32) + "\n")
        key_file.chmod(0o600)
    os.environ.setdefault(SALT_VAR, key_file.read_text().strip())
    return created


def instance_config_template() -> Path:
    """The top-level dagster.yaml: in the wheel it ships inside the package."""
    packaged = Path(__file__).parent / "dagster.yaml"
    return packaged if packaged.exists() else Path(__file__).parent.parent / "dagster.yaml"


class HomePathError(ValueError):
    """A home path Dagster's storage cannot use."""


def prepare(home: Path | None = None) -> Home:
    """Point every variable at one home and install the instance's dagster.yaml there.

    Called by the CLI before Dagster is imported, so the instance, the warehouse and the
    definitions all agree on where state lives.
    """
    resolved = Home(Path(home).resolve()) if home else current_home()
    os.environ[HOME_VAR] = str(resolved.root)
    if home is not None:
        # an explicit home brings its own instance, whatever DAGSTER_HOME the shell exported
        os.environ["DAGSTER_HOME"] = str(resolved.root / "dagster")
    else:
        os.environ.setdefault("DAGSTER_HOME", str(resolved.root / "dagster"))
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    dagster_home = resolved.dagster_home
    unusable = sorted(set("?#%") & set(str(dagster_home)))
    if unusable:
        # Dagster opens its SQLite storage through a URL, where these characters mean something
        # else: "?" once made it write a stray folder and fail with "no such table: event_logs"
        raise HomePathError(f"the Dagster instance folder {str(dagster_home)!r} contains {' '.join(unusable)!r}, which "
                            "Dagster's SQLite storage cannot open: choose a --home (or DAGSTER_HOME) without ?, # or %")
    resolved.root.mkdir(parents=True, exist_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    wanted = instance_config(lake=os.environ.get(WAREHOUSE_VAR, "").strip() != "")
    current = target.read_bytes() if target.exists() else None
    # only a file exactly as some version of evalfunnel wrote it is replaced: a team's instance
    # (deploy/dagster.yaml) or a user's own edits are theirs
    if current != wanted and (current is None or _written_by_evalfunnel(current)):
        target.write_bytes(wanted)
    return resolved


LAKE_POOL_LIMIT = 16
# sha256 of dagster.yaml as earlier versions wrote it (embedded, then the same with a lake's pool;
# then both again before the instance's storage became evalfunnel's SqliteStorage, then both with
# it under pipeline.instance_storage before it moved to pipeline.dagster_storage)
_EARLIER_CONFIGS = {"69f490610e58401dfbf464a8f35a10d9f7bef6d105574d5476b11708c17ac87c",
                    "400660c1a96695ac8423fc66cef5b4046f352fc3c8b688dee0fb65caded0a244",
                    "2258df712a14f82075221bd5f639abed643a57a113b0d5e4b49bb123eef40ca0",
                    "f61cecd69e5a09287e4d1f0f7b981ff02d6a9449a373ea9ac3ccc96ac66a9d4a",
                    "7c90a6b2cd395e901962e861825941c799b0ef74fc59227bd86edcd0f69a851a",
                    "5ad94b820109dfa2cd094c40a51cf0dea15b33c495164112b583c9e0d78a372e"}


def _written_by_evalfunnel(content: bytes) -> bool:
    import hashlib

    return (content in (instance_config(lake=False), instance_config(lake=True))
            or hashlib.sha256(content).hexdigest() in _EARLIER_CONFIGS)


def instance_config(lake: bool) -> bytes:
    """The instance's dagster.yaml: the shipped one; on a DuckLake warehouse the writer pool's
    limit of 1 (one writer per DuckDB file) is lifted, since each step commits its own
    transactions to the lake's catalog."""
    text = instance_config_template().read_bytes()
    if lake:
        text = text.replace(b"    default_limit: 1", b"    default_limit: %d  # the warehouse is a DuckLake (EVALFUNNEL_WAREHOUSE)"
                            % LAKE_POOL_LIMIT)
    return text
