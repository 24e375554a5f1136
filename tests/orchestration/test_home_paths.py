"""A home whose path Dagster's SQLite storage cannot open is refused up front, with the reason."""

from __future__ import annotations

import pytest

from pipeline import cli, environment


@pytest.mark.parametrize("odd", ["a?b", "a%20b", "a#b"])
def test_a_home_with_url_characters_is_a_clear_error(tmp_path, odd, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))  # restored after the test
    home = tmp_path / odd
    with pytest.raises(environment.HomePathError, match="choose a --home"):
        environment.prepare(home)
    assert not home.exists()  # nothing half-made
    assert cli.main(["report", "--home", str(home)]) == 2
    assert "Dagster's SQLite storage cannot open" in capsys.readouterr().err


def test_other_odd_characters_still_work(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    home = environment.prepare(tmp_path / "it's a \"home\" (ünï©ødé) & more")
    assert (home.dagster_home / "dagster.yaml").exists()
