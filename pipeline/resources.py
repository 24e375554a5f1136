"""The configurable resources: where the warehouse is and where the source data is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from pipeline import warehouse
from pipeline.anonymize import Anonymizer, MissingSaltError
from pipeline.ner import NameFinder, presidio_finder
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
    ner_model: str = ""  # a spaCy pipeline for the optional NER name pass (pipeline.ner)

    def names(self) -> tuple[NameFinder, Anonymizer] | None:
        """The NER name finder with this key's anonymizer, or None when no model is configured."""
        return (presidio_finder(self.ner_model), self.anonymizer()) if self.ner_model.strip() else None

    def anonymizer(self) -> Anonymizer:
        if not self.salt.strip():
            raise MissingSaltError("EVALFUNNEL_PII_SALT is empty: set it to a long random secret")
        return Anonymizer(self.salt.encode())
