"""Sources in object storage: `--source s3://bucket/prefix` (also gs://, r2://), read with DuckDB's httpfs.

The source is mirrored into the home (`$EVALFUNNEL_HOME/source-mirror/<scheme>/<bucket>/<prefix>`)
and every stage reads the mirror, exactly as a local source: an object whose size and
modification time the mirror already has is not fetched again, a new or changed one is fetched
whole (through a temp file, renamed into place, its mtime set to the object's), and a file whose
object is gone is removed, so the ingest and the log sensor see new, changed and deleted logs as
they do on disk (when every object is gone, the mirror empties too). Listing is one request per
thousand objects.

Limits, each said when met: DuckDB's read_blob holds an object whole (about 5x its size at the
peak), so an object over EVALFUNNEL_MIRROR_MAX_OBJECT_MB (1024) is not mirrored and named; a key
that is also the folder of other keys is not mirrored and named; a key holding '?' makes the
listing fail (httpfs reads it as a URL query), with that said; [ and * in keys are fetched
literally. A change that keeps an object's size within the same second of its last one is not
seen (S3 gives modification times in seconds).

Credentials come from the standard variables and are handed to DuckDB as a secret of this
connection only, never logged: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION (or AWS_DEFAULT_REGION), AWS_ENDPOINT_URL for an S3-compatible server (MinIO, R2, a
test server: path-style URLs); for gs://, HMAC keys in GCS_ACCESS_KEY_ID and GCS_SECRET_ACCESS_KEY.
Without keys, public buckets are read anonymously. az:// is refused: DuckDB's azure extension
has no PyPI package for the pinned DuckDB, and extensions are never downloaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import duckdb

SCHEMES = ("s3://", "gs://", "gcs://", "r2://")


class RemoteSourceError(RuntimeError):
    """An object-store source that cannot be listed or read."""


def is_remote(source: str | Path) -> bool:
    return str(source).lower().startswith((*SCHEMES, "az://", "azure://", "abfss://"))


def normalized(url: str) -> str:
    """The scheme in lower case (DuckDB knows s3://, not S3://), without trailing slashes."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest}".rstrip("/")


MAX_OBJECT_VAR = "EVALFUNNEL_MIRROR_MAX_OBJECT_MB"
DEFAULT_MAX_OBJECT_MB = 1024  # DuckDB's read_blob holds an object whole: about 5x its size at the peak


def _glob_literal(name: str) -> str:
    """`name` as a DuckDB glob that matches only itself ([, * and ? in a key are literal)."""
    return "".join(f"[{c}]" if c in "[*?" else c for c in name)


@dataclass
class Mirrored:
    root: Path
    fetched: int = 0
    fetched_bytes: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # objects not mirrored, each with why

    def line(self, url: str) -> str:
        return (f"source {url}: {self.fetched:,} new or changed object(s) fetched ({self.fetched_bytes / 1e6:,.1f} MB), "
                f"{self.unchanged:,} unchanged, {self.removed:,} removed"
                + (f", {len(self.skipped):,} not mirrored" if self.skipped else "")
                + f", in {self.seconds:.1f}s (mirror: {self.root})")


def mirror_root(home: Path, url: str) -> Path:
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p not in ("", ".", "..")]
    return home / "source-mirror" / parsed.scheme / parsed.netloc / Path(*parts) if parts else \
        home / "source-mirror" / parsed.scheme / parsed.netloc


def _connect(url: str) -> duckdb.DuckDBPyConnection:
    from pipeline import extensions

    con = duckdb.connect()
    extensions.load(con, "httpfs")
    add_secret(con, url)
    return con


def add_secret(con: duckdb.DuckDBPyConnection, url: str) -> None:
    """This connection's credentials for `url`'s store, from the standard variables (none: anonymous).
    httpfs must be loaded. Also used for a DuckLake whose data is in object storage."""
    scheme = url.split("://", 1)[0].lower()
    env = os.environ
    if scheme in ("s3", "r2"):
        params = {"key_id": env.get("AWS_ACCESS_KEY_ID", ""), "secret": env.get("AWS_SECRET_ACCESS_KEY", ""),
                  "session_token": env.get("AWS_SESSION_TOKEN", ""),
                  "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""
        if scheme == "r2" and not endpoint:
            raise RemoteSourceError("an r2:// source needs AWS_ENDPOINT_URL=https://<account id>.r2.cloudflarestorage.com "
                                    "(and the R2 token's keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        # r2:// is an S3-compatible endpoint: the secret's type follows the URL's scheme
        options = [f"type {scheme}", "key_id $key_id", "secret $secret", "session_token $session_token", "region $region"]
        if endpoint:
            parsed = urlparse(endpoint if "://" in endpoint else "https://" + endpoint)
            params.update({"endpoint": parsed.netloc, "use_ssl": parsed.scheme == "https"})
            options += ["endpoint $endpoint", "use_ssl $use_ssl", "url_style 'path'"]
        if params["key_id"] or endpoint:  # an endpoint without keys: a public bucket on that server
            _secret(con, options, params)
    elif scheme in ("gs", "gcs") and env.get("GCS_ACCESS_KEY_ID"):
        _secret(con, ["type gcs", "key_id $key_id", "secret $secret"],
                {"key_id": env["GCS_ACCESS_KEY_ID"], "secret": env.get("GCS_SECRET_ACCESS_KEY", "")})


def _secret(con: duckdb.DuckDBPyConnection, options: list[str], params: dict) -> None:
    # CREATE SECRET takes no prepared parameters: the values are inlined as SQL literals, in a
    # temporary secret of this connection (never persisted, never printed)
    def literal(v: object) -> str:
        return str(v).lower() if isinstance(v, bool) else "'" + str(v).replace("'", "''") + "'"

    sql = ", ".join(o if "$" not in o else o.split("$")[0] + literal(params[o.split("$")[1]]) for o in options)
    con.execute(f"create or replace temporary secret evalfunnel_source ({sql})")


def mirror(url: str, home: Path, say: Callable[[str], None] = lambda _: None) -> Mirrored:
    """Bring the mirror of `url` up to date; returns where it is and what changed."""
    if url.lower().startswith(("az://", "azure://", "abfss://")):
        raise RemoteSourceError(f"{url}: Azure sources need DuckDB's azure extension, which has no PyPI package for "
                                f"DuckDB {duckdb.__version__} (extensions are never downloaded): copy the logs to S3, "
                                "GCS or a local folder")
    t0 = time.perf_counter()
    base = normalized(url)
    if not urlparse(base).netloc:
        raise RemoteSourceError(f"{url}: name a bucket (and a prefix), e.g. s3://my-bucket/logs")
    out = Mirrored(mirror_root(home, base))
    try:
        limit_mb = float(os.environ.get(MAX_OBJECT_VAR) or DEFAULT_MAX_OBJECT_MB)
    except ValueError:
        raise RemoteSourceError(f"{MAX_OBJECT_VAR}={os.environ.get(MAX_OBJECT_VAR)!r}: give megabytes, e.g. 4096") from None
    con = _connect(base)
    try:
        try:
            listed = con.execute("select filename, size, epoch_ns(last_modified) from read_blob($glob)",
                                 {"glob": base + "/**"}).fetchall()
        except duckdb.Error as exc:
            message = " ".join(str(exc).split())
            if "No files found" in message:
                listed = []
            elif "Invalid query parameters" in message:
                raise RemoteSourceError(f"cannot list {base}: an object's key holds '?', which DuckDB's httpfs "
                                        "reads as the start of a URL query; rename that object (or narrow the "
                                        f"prefix to leave it out). DuckDB said: {message[:300]}") from None
            else:
                raise RemoteSourceError(f"cannot list {base}: {message[:300]}") from None
        if not listed and not (out.root.exists() and any(p.is_file() for p in out.root.rglob("*"))):
            raise RemoteSourceError(f"{base} holds no objects (a typo in the bucket or prefix?)")
        wanted = set()
        folders = {str(parent) for name, _, _ in listed for parent in Path(name[len(base):].lstrip("/")).parents}
        for i, (name, size, mtime_ns) in enumerate(listed, 1):
            rel = name[len(base):].lstrip("/")
            if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
                continue  # a key that is no path (a//b, ../x): never written outside the mirror
            if rel in folders:
                out.skipped.append(f"{name}: also the folder of other objects (a file and a folder cannot share a path)")
                say(f"source {base}: {out.skipped[-1]}: not mirrored")
                continue
            local = out.root / rel
            if size > limit_mb * 1e6:
                out.skipped.append(f"{name}: {size / 1e6:,.0f} MB, over {MAX_OBJECT_VAR}={limit_mb:,.0f} (fetching holds "
                                   "an object whole in memory, about 5x its size: split such logs, or raise the limit)")
                say(f"source {base}: {out.skipped[-1]}: not mirrored")
                if local.exists():
                    wanted.add(local)  # an earlier, smaller version stays
                continue
            wanted.add(local)
            stat = local.stat() if local.exists() else None
            if stat and stat.st_size == size and stat.st_mtime_ns == mtime_ns:
                out.unchanged += 1
                continue
            try:
                rows = con.execute("select filename, content from read_blob($name)",
                                   {"name": _glob_literal(name)}).fetchall()
            except duckdb.Error as exc:
                raise RemoteSourceError(f"cannot read {name}: {' '.join(str(exc).split())[:300]}") from None
            content = next((c for f, c in rows if f == name), None)
            if content is None and size:
                raise RemoteSourceError(f"cannot read {name}: the object was not found when fetched (deleted meanwhile?)")
            local.parent.mkdir(parents=True, exist_ok=True)
            part = local.with_name(f".{local.name}.{os.getpid()}.part")
            part.write_bytes(content or b"")
            del rows
            os.utime(part, ns=(mtime_ns, mtime_ns))
            part.replace(local)
            out.fetched += 1
            out.fetched_bytes += len(content or b"")
            del content
            if i % 100 == 0:
                say(f"source {base}: {i:,}/{len(listed):,} objects checked, {out.fetched:,} fetched")
        if out.root.exists():
            for path in sorted(out.root.rglob("*"), reverse=True):
                if path.is_file() and path not in wanted and not path.name.endswith(".part"):
                    path.unlink()
                    out.removed += 1
    finally:
        con.close()
    out.seconds = time.perf_counter() - t0
    return out
