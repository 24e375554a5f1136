"""DuckDB extensions from their PyPI packages, never downloaded.

Each `duckdb-extension-<name>` package carries the extension's binary for one DuckDB version
under `duckdb_extension_<name>/extensions/v<version>/<name>.duckdb_extension`; its Python module
is empty. `load` finds that file and LOADs it by path, with DuckDB's own auto-install and
auto-load turned off on the connection, so a missing extension is an error naming the package
instead of a download attempt (there is no network in CI or at many sites). DuckDB is pinned in
pyproject.toml to a version the packages exist for.

The DuckLake warehouse needs `ducklake` and the catalog's scanner (`sqlite_scanner` for a
`ducklake:sqlite:` catalog, `postgres_scanner` for `ducklake:postgres:`); sources in object
storage need `httpfs`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

PACKAGES = {"ducklake": "duckdb-extension-ducklake", "sqlite_scanner": "duckdb-extension-sqlite-scanner",
            "postgres_scanner": "duckdb-extension-postgres-scanner", "httpfs": "duckdb-extension-httpfs"}


class ExtensionError(RuntimeError):
    """An extension whose package is missing or built for another DuckDB version."""


def extension_path(name: str) -> Path:
    """The installed binary of extension `name` for the running DuckDB version."""
    package = PACKAGES.get(name, f"duckdb-extension-{name.replace('_', '-')}")
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None:
        raise ExtensionError(f"the DuckDB extension {name} is not installed: pip install {package}=={duckdb.__version__}")
    base = Path(spec.origin).parent if spec.origin else Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        built = sorted(p.name for p in (base / "extensions").glob("v*")) if (base / "extensions").is_dir() else []
        raise ExtensionError(f"{package} has no build of {name} for DuckDB {duckdb.__version__} (it has: "
                             f"{', '.join(built) or 'none'}): install {package}=={duckdb.__version__}")
    return path


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """LOAD each extension from its package; DuckDB may not fetch anything on this connection."""
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    for name in names:
        con.execute("load '" + str(extension_path(name)).replace("'", "''") + "'")
