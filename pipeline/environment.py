"""Where evalfunnel keeps its state, and the environment every entry point prepares.

EVALFUNNEL_HOME (default `.evalfunnel/` in the working directory) holds the DuckDB warehouse,
the Dagster instance (DAGSTER_HOME, default `$EVALFUNNEL_HOME/dagster`) and reports.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.warehouse import WAREHOUSE_FILE

HOME_VAR = "EVALFUNNEL_HOME"
SOURCE_VAR = "EVALFUNNEL_SOURCE"
SALT_VAR = "EVALFUNNEL_PII_SALT"
NER_MODEL_VAR = "EVALFUNNEL_NER_MODEL"
JUDGE_MODEL_VAR = "EVALFUNNEL_JUDGE_MODEL"
START_DATE_VAR = "EVALFUNNEL_START_DATE"
DEFAULT_START_DATE = "2025-01-01"


@dataclass(frozen=True)
class Home:
    """The folders under EVALFUNNEL_HOME."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / WAREHOUSE_FILE

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
    """First day of every partition set: EVALFUNNEL_START_DATE, else what `evalfunnel run`
    recorded in the home for a source that starts earlier, else 2025-01-01."""
    if os.environ.get(START_DATE_VAR):
        return os.environ[START_DATE_VAR]
    recorded = current_home().root / "start_date"
    return recorded.read_text().strip() if recorded.exists() else DEFAULT_START_DATE


def record_start_date(home: Home, first_day: str) -> None:
    """Make partitions start at `first_day` (a month start) for this home, if it is earlier."""
    if first_day < start_date():
        (home.root / "start_date").write_text(first_day + "\n")
        os.environ[START_DATE_VAR] = first_day


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
    resolved.root.mkdir(parents=True, exist_ok=True)
    dagster_home = resolved.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    target = dagster_home / "dagster.yaml"
    template = instance_config_template()
    if not target.exists() or target.read_bytes() != template.read_bytes():
        shutil.copyfile(template, target)
    return resolved
