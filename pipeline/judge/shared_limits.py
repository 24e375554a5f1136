"""Judge rate limits shared by every worker of a team deployment (issue 17).

`TokenBucket` (pipeline/judge/client.py) holds a limit per process: with N workers judging at
once, a provider's 500 requests a minute became N x 500. On a DuckLake whose catalog is in
PostgreSQL, every worker already reaches that server, so the bucket lives there: one row per
(model, unit) in `evalfunnel_rate_limits`, refilled continuously at `per_minute / 60` a second up
to `per_minute`, and taken from by one atomic UPDATE that locks the row (concurrent takers queue on
the row lock, a round trip of about a millisecond on a LAN). A taker that finds too little waits
for the refill, outside any transaction, and tries again. Time is the server's clock, so the
workers' clocks need not agree.

The table is created on first use in the catalog's database (it is not a DuckLake table: DuckDB
never sees it). Connections come from psycopg2 (installed by the `team` extra with
dagster-postgres), one per bucket, used from a worker thread so the event loop keeps running.
"""

from __future__ import annotations

import asyncio
import threading

_CREATE = """
create table if not exists evalfunnel_rate_limits (
    key text primary key,        -- '<model>|requests' or '<model>|tokens'
    level double precision not null,    -- units available at updated_at
    updated_at double precision not null  -- the server's clock, seconds since the epoch
)"""
_SEED = """
insert into evalfunnel_rate_limits values (%(key)s, %(capacity)s, extract(epoch from clock_timestamp()))
on conflict (key) do nothing"""
# one statement: refill to now, take `amount` when there is `needed` (the amount, or a full bucket
# for an amount above the capacity, which then leaves the bucket in debt), and say what was there
_TAKE = """
with current as (
    select key, least(%(capacity)s, level + (extract(epoch from clock_timestamp()) - updated_at) * %(rate)s) as level,
           extract(epoch from clock_timestamp()) as now
    from evalfunnel_rate_limits where key = %(key)s for update
)
update evalfunnel_rate_limits t
set level = case when c.level >= %(needed)s then c.level - %(amount)s else c.level end, updated_at = c.now
from current c where t.key = c.key
returning c.level >= %(needed)s, c.level"""


class SharedLimitError(RuntimeError):
    """The shared limiter cannot reach its PostgreSQL database."""


class SharedTokenBucket:
    """Up to `per_minute` units a minute across every process using `key` on the server `dsn`."""

    def __init__(self, dsn: str, key: str, per_minute: float) -> None:
        self.dsn, self.key = dsn, key
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self._con = None
        self._lock = threading.Lock()

    def _connection(self):
        if self._con is None:
            try:
                import psycopg2
            except ImportError as exc:
                raise SharedLimitError("judge rate limits shared through PostgreSQL need psycopg2: "
                                       "pip install -e '.[team]'") from exc
            from pipeline.warehouse import hide_passwords

            try:
                con = psycopg2.connect(self.dsn)
            except psycopg2.Error as exc:
                raise SharedLimitError("cannot reach the shared judge rate limits in "
                                       f"{hide_passwords(self.dsn)}: {hide_passwords(str(exc).strip())}") from None
            con.autocommit = False
            with con, con.cursor() as cur:
                # CREATE TABLE IF NOT EXISTS is not safe when several workers start at once (two can
                # both create the row type and one fails): they take turns under an advisory lock
                cur.execute("select pg_advisory_xact_lock(hashtext('evalfunnel_rate_limits'))")
                cur.execute(_CREATE)
                cur.execute(_SEED, {"key": self.key, "capacity": self.capacity})
            self._con = con
        return self._con

    def take(self, amount: float) -> float:
        """Take `amount` now if the bucket holds it (returns 0), else the seconds to wait first.
        An amount above the capacity (a 700-token call under 100 a minute, a request under 0.5 a
        minute) waits for a full bucket and leaves it in debt, so the rate still holds over time.
        A connection the server dropped (a restart, a failover, an idle timeout) is opened again
        once; a second failure names the limiter's server."""
        needed = min(amount, self.capacity)
        params = {"key": self.key, "capacity": self.capacity, "rate": self.rate, "amount": amount, "needed": needed}
        import psycopg2

        from pipeline.warehouse import hide_passwords

        with self._lock:
            for attempt in (1, 2):
                con = self._connection()
                try:
                    with con, con.cursor() as cur:  # one transaction: the row lock is held only for the update
                        cur.execute(_TAKE, params)
                        granted, level = cur.fetchone()
                    break
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    self._drop()
                    if attempt == 2:
                        raise SharedLimitError(f"lost the shared judge rate limits in {hide_passwords(self.dsn)}: "
                                               f"{hide_passwords(str(exc).strip())}") from None
        return 0.0 if granted else (needed - level) / self.rate

    def _drop(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except Exception:  # noqa: BLE001  (a dead connection may fail to close; it is gone either way)
                pass
            self._con = None

    async def acquire(self, amount: float) -> None:
        while True:
            wait = await asyncio.to_thread(self.take, amount)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def close(self) -> None:
        with self._lock:
            self._drop()
