"""DuckDB extensions load from their PyPI packages with no network, and a DuckLake catalog
(SQLite) holds tables across connections (the team profile's building block, issue 17)."""

from __future__ import annotations

import duckdb
import pytest

from pipeline import extensions


def test_every_extension_loads_from_its_package_for_this_duckdb():
    con = duckdb.connect()
    extensions.load(con, "ducklake", "sqlite_scanner", "postgres_scanner", "httpfs")
    loaded = {name for name, ok in con.execute(
        "select extension_name, loaded from duckdb_extensions()").fetchall() if ok}
    assert {"ducklake", "sqlite_scanner", "postgres_scanner", "httpfs"} <= loaded
    for name in extensions.PACKAGES:
        assert f"v{duckdb.__version__}" in str(extensions.extension_path(name))


def test_a_ducklake_on_sqlite_keeps_its_tables_without_any_download(tmp_path):
    catalog, data = tmp_path / "catalog.sqlite", tmp_path / "data"
    for step in range(2):
        con = duckdb.connect()
        extensions.load(con, "ducklake", "sqlite_scanner")
        con.execute(f"attach 'ducklake:sqlite:{catalog}' as lake (data_path '{data}/')")
        if step == 0:
            con.execute("create table lake.t as select range as i, 'x' || range as s from range(100000)")
        assert con.execute("select count(*), sum(i) from lake.t").fetchall() == [(100_000, 4_999_950_000)]
        con.close()
    assert any(data.rglob("*.parquet"))  # the rows are Parquet files under the data path


def test_a_missing_extension_is_an_error_naming_its_package_not_a_download(monkeypatch):
    monkeypatch.setattr(extensions.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(extensions.ExtensionError, match=f"pip install duckdb-extension-ducklake=={duckdb.__version__}"):
        extensions.extension_path("ducklake")
    con = duckdb.connect()
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    with pytest.raises(duckdb.Error):  # nothing loaded: DuckDB may not fetch the extension itself
        con.execute("attach 'ducklake:sqlite:/nonexistent/c.sqlite' as lake")
