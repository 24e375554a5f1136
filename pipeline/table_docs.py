"""The warehouse's tables as documented in `sql/schema/<table>.sql` (no Dagster here: the UI's
column schemas and metadata tables are built from this in pipeline/metadata.py).

The schema files are the single source of truth: `parse_schema` reads a `create table` and any
`alter table ... add column` lines after it, with their `-- comments`; `pipeline.metadata.
table_metadata` turns that into the `dagster/column_schema` an asset carries in its definition
(shown before the first materialization). Tables an asset writes beside its own (log_partitions beside raw_logs, ...) are
documented on that asset too, each with its columns; another asset's table it writes rows into
(judge_scores' imported verdicts in pairwise_judgments) is listed in its also_writes as well,
without columns (they are on that table's own asset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from pipeline.warehouse import statement


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as written in the schema file, lower case
    nullable: bool = True
    primary_key: bool = False
    comment: str = ""


@dataclass(frozen=True)
class Schema:
    table: str
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = field(default=())  # comments about the table rather than one column


_CREATE = re.compile(r"create\s+table\s+(?:if\s+not\s+exists\s+)?\"?(\w+)\"?\s*\(", re.IGNORECASE)
_ALTER = re.compile(r"alter\s+table\s+\"?(\w+)\"?\s+add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?(.+?);?\s*$",
                    re.IGNORECASE)
_COLUMN = re.compile(r"^(\"[^\"]+\"|\w+)\s+(.+)$")
_TABLE_CONSTRAINT = re.compile(r"^(primary\s+key|unique|constraint|check|foreign\s+key)\b", re.IGNORECASE)


def _split_comment(line: str) -> tuple[str, str]:
    """`code -- comment` -> (code, comment); no schema type or name contains `--`."""
    code, sep, comment = line.partition("--")
    return code.strip(), comment.strip() if sep else ""


def _column(definition: str, comment: str) -> Column:
    text = definition.strip().rstrip(",").strip()
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            raise ValueError(f"one column per line, please: {definition!r}")
    match = _COLUMN.match(text)
    if not match:
        raise ValueError(f"not a column definition: {definition!r}")
    name, rest = match.group(1).strip('"'), match.group(2)
    primary = re.search(r"\bprimary\s+key\b", rest, re.IGNORECASE) is not None
    not_null = re.search(r"\bnot\s+null\b", rest, re.IGNORECASE) is not None
    # the type is what precedes the first column constraint
    kind = re.split(r"\s+(?:not\s+null|null|primary\s+key|unique|default|check|references)\b", rest,
                    maxsplit=1, flags=re.IGNORECASE)[0]
    return Column(name, kind.strip().lower(), nullable=not (not_null or primary), primary_key=primary, comment=comment)


def parse_schema(sql: str) -> Schema:
    """The columns of a schema file, in order: the `create table` body, then each `alter table ...
    add column`. A trailing `-- comment` documents its column, and comment lines right after it,
    indented past the column, continue it; a comment block right before an `add column` without
    its own comment documents that column. Any other comment (before the table, between groups
    of columns) is a note on the table. One column per line, as every schema file is written."""
    lines = sql.splitlines()
    table, columns, notes = None, [], []
    pending: list[str] = []  # comment lines not yet attached to anything
    in_create, continues, indent = False, False, 0
    for raw in lines:
        code, comment = _split_comment(raw)
        if not code:  # a comment line, or blank
            if not comment:
                continues = False
                if pending:
                    notes.append(" ".join(pending))
                    pending = []
            elif continues and columns and raw.index("--") > indent:
                last = columns[-1]
                columns[-1] = Column(last.name, last.type, last.nullable, last.primary_key, f"{last.comment} {comment}")
            else:
                continues = False
                pending.append(comment)
            continue
        if not in_create and table is None:
            create = _CREATE.search(code)
            if not create:
                raise ValueError(f"expected a create table statement first, got {code!r}")
            table, in_create = create.group(1), True
            notes += [" ".join(pending)] if pending else []
            pending, code = [], code[create.end():].strip()
            if not code:
                continue
        if in_create:
            if code.startswith(")"):
                in_create, continues = False, False
                notes += [" ".join(pending)] if pending else []
                pending = []
                continue
            if pending:  # a note between groups of columns
                notes.append(" ".join(pending))
                pending = []
            closes = code.count(")") > code.count("(")  # the last column, then `)` on the same line
            if closes:
                code = code[:code.rstrip(" ;").rfind(")")].strip()
            if code and not _TABLE_CONSTRAINT.match(code):
                columns.append(_column(code, comment))
            continues, indent = bool(comment) and not closes, len(raw) - len(raw.lstrip())
            in_create = not closes
            continue
        if code.lower().startswith(f"insert into {table} "):  # the rows a table starts with (write_locks)
            notes += [" ".join(pending)] if pending else []
            pending, continues = [], False
            continue
        alter = _ALTER.search(code)
        if not alter or alter.group(1) != table:
            raise ValueError(f"only `alter table {table} add column ...` or the rows it starts with (`insert into "
                             f"{table} ...`, one line) may follow the create, got {code!r}")
        if comment:
            notes += [" ".join(pending)] if pending else []
            columns.append(_column(alter.group(2), comment))
        else:
            columns.append(_column(alter.group(2), " ".join(pending)))
        pending, continues, indent = [], bool(comment), len(raw) - len(raw.lstrip())
    if table is None:
        raise ValueError("no create table statement")
    if pending:
        notes.append(" ".join(pending))
    return Schema(table, tuple(columns), tuple(n for n in notes if n))


@cache
def schema(table: str) -> Schema:
    """The parsed `sql/schema/<table>.sql`."""
    parsed = parse_schema(statement(f"schema/{table}"))
    if parsed.table != table:
        raise ValueError(f"sql/schema/{table}.sql creates {parsed.table}")
    return parsed


# Tables an asset writes beside its own, with what each holds. Every table of the warehouse is
# either an asset's own (the asset key is the table name) or listed here under its writer.
COMPANIONS: dict[str, dict[str, str]] = {
    "raw_logs": {
        "log_partitions": "Per day of every materialized window: files, read, loaded, rejected, duplicates "
                          "(read = loaded + rejected + duplicates); days without records have a row of zeros.",
        "log_files": "The ingestion's file index: size, mtime, records and days per source file, and why a file "
                     "gave no valid record.",
        "log_file_scans": "Days a timestamp-only scan found in source files no run has read yet (a run for "
                          "another window skipped them): later runs skip them too without scanning again.",
        "write_locks": "One row per lock a writer takes by updating it (the file index's, 'log_files'): on a "
                       "DuckLake, two runs that index the same new files at once cannot both commit.",
    },
    "clean_logs": {
        "pii_replacements": "Per day and PII type: how many values the anonymizer replaced.",
        "raw_purges": "Days whose raw text (raw_logs, log_rejects) was purged after the retention period, with "
                      "the rows removed.",
    },
    "regression_set": {
        "regression_set_history": "Every added, changed or removed regression case, with old and new content hash.",
    },
    "eval_set": {
        "eval_set_versions": "One row per eval-set version: quarter, parent, item counts, production mix, config "
                             "and shortfall.",
        "eval_set_changes": "Items added or removed by each version, with the reason.",
    },
    "judge_scores": {
        "judge_cache": "Every judge call by cache key (shared by all judging assets): verdict, raw answer, status, "
                       "attempts, tokens and cost.",
        "judgment_rejects": "Imported judgments (judgments/) that broke the format, with file, line and reason.",
        "judge_spend": "What every judging step spent (calls, USD) against the run's budget, per budget scope "
                       "(one `evalfunnel run`) and Dagster run; the budget covers their sum.",
    },
    "candidate_responses": {
        "generation_cache": "Generated candidate responses by cache key, with latency, tokens and cost.",
    },
    "user_metrics": {
        "experiment_users": "Per experiment: each analysed user's variant and exposure time.",
        "user_segments": "Per experiment and user: the segment values taken from the first request after exposure.",
        "assignment_issues": "Users left out of an experiment, by issue, with a detail.",
        "event_rejects": "Event rows that count toward no metric, as written, with the problem.",
    },
    "human_labels": {
        "label_rejects": "Human labels that broke the format or the rubric, with file, line and reason.",
    },
    "judge_drift": {
        "judge_anchors": "The anchor month of each judge version and drift method, frozen at first use.",
        "judge_anchor_scores": "The anchor set re-scored by the judge each month.",
    },
}


# Rows an asset writes into another asset's table (documented there, counted in that asset's row_count).
SHARED_WRITES: dict[str, dict[str, str]] = {
    "judge_scores": {
        "pairwise_judgments": "Imported pairwise verdicts (origin imported, from judgments/); the table is the "
                              "pairwise_judgments asset's, whose row count includes them.",
    },
}
