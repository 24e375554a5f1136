"""The configurable resources: where the warehouse is and where the source data is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from pipeline import warehouse
from pipeline.anonymize import Anonymizer, MissingSaltError
from pipeline.ingest import logs_dir


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file under EVALFUNNEL_HOME; every writer runs in the `duckdb_writer` pool."""

    home: str
    memory_limit: str = "1GB"

    @property
    def path(self) -> Path:
        return Path(self.home) / warehouse.WAREHOUSE_FILE

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.path, read_only=read_only, memory_limit=self.memory_limit) as con:
            yield con


class SourceResource(dg.ConfigurableResource):
    """The source directory of the input contract (logs/, experiments/, ...)."""

    source_dir: str

    def root(self) -> Path:
        logs_dir(self.source_dir)  # fails at once, naming the path, when it is unusable
        return Path(self.source_dir)


class PiiResource(dg.ConfigurableResource):
    """The pseudonymization key (EVALFUNNEL_PII_SALT). Never logged, never stored."""

    salt: str

    def anonymizer(self) -> Anonymizer:
        if not self.salt.strip():
            raise MissingSaltError("EVALFUNNEL_PII_SALT is empty: set it to a long random secret")
        return Anonymizer(self.salt.encode())
