"""Run control for the CLI: who owns a run, reclaiming what dead runs hold, and stopping promptly.

`evalfunnel run`, `demo` and `backfill` execute jobs in process on the home's persistent Dagster
instance, whose `duckdb_writer` pool has one slot. A process killed with -9 leaves its run
STARTED and its slot claimed, and every later run would wait for that slot forever. So each run
is tagged with its owner (pid, host, and the process's start time, which tells a reused pid from
the original), and before a run starts, runs whose owner is gone are marked failed and their
slots freed (`reclaim_dead_runs`). A live run that holds the pool (another `evalfunnel` process,
or a run launched from the UI) is waited for with a message, never silently.

Stopping (`Stopper`): Dagster's in-process execution captures SIGINT and SIGTERM while a run
executes; inside a step they raise at once, but while the run waits for a concurrency slot it
only records them and spins. `install_interrupt_support` makes that wait check for a captured
interrupt (and sleep instead of spinning). A watcher thread sees every signal through the
wakeup fd, so a stop is noticed even where Dagster swallows it, and if the process has not
ended within a grace period (a step stuck in native code) it marks the current run failed, frees
its slots and exits.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dagster is imported where a function needs it: this module is loaded before it
    import dagster as dg

PID_TAG = "evalfunnel/pid"
HOST_TAG = "evalfunnel/host"
PROCESS_START_TAG = "evalfunnel/process_start"
GRACE_SECONDS = 5.0

_IN_PROGRESS = ("NOT_STARTED", "QUEUED", "STARTING", "STARTED", "CANCELING")  # DagsterRunStatus names


# ---- owners --------------------------------------------------------------------------------

def _proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state first), or None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start(pid: int) -> str:
    """A token for when `pid` started (boot id and start time in clock ticks), "" if unknown."""
    fields = _proc_stat(pid)
    if not fields or len(fields) < 20:
        return ""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{boot}:{fields[19]}"


def owner_tags() -> dict[str, str]:
    """Tags naming this process as the owner of a run it executes."""
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), PROCESS_START_TAG: process_start(pid)}


def owner_state(tags: dict[str, str]) -> str:
    """"alive", "dead", or "unknown" (no owner recorded, or another host) for a run's tags."""
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return "unknown"
    if tags.get(HOST_TAG) != socket.gethostname():
        return "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        pass  # someone else's live process
    fields = _proc_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return "dead"  # killed, not yet reaped by its parent
    recorded = tags.get(PROCESS_START_TAG, "")
    if recorded and fields is not None and process_start(pid) != recorded:
        return "dead"  # the pid now belongs to another process
    return "alive"


def describe_owner(run: dg.DagsterRun) -> str:
    if PID_TAG not in run.tags:
        return "no owner recorded: launched from the UI, or by an older evalfunnel"
    return f"pid {run.tags[PID_TAG]} on {run.tags.get(HOST_TAG, '?')}"


# ---- reclaiming ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reclaimed:
    run_id: str
    job: str
    owner: str
    in_flight: tuple[str, ...]

    def line(self) -> str:
        steps = f", step(s) {', '.join(self.in_flight)} in flight" if self.in_flight else ""
        return (f"run {self.run_id[:8]} ({self.job}) was left behind by a process that is gone ({self.owner}{steps}): "
                "marked failed and its slots freed; its work is redone now")


def _in_flight_steps(instance: dg.DagsterInstance, run_id: str) -> tuple[str, ...]:
    import dagster as dg

    types = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
             dg.DagsterEventType.STEP_SKIPPED}
    started, ended = [], set()
    for entry in instance.all_logs(run_id, of_type=types):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started.append(event.step_key)
        else:
            ended.add(event.step_key)
    return tuple(dict.fromkeys(s for s in started if s not in ended))


def reclaim_dead_runs(instance: dg.DagsterInstance) -> list[Reclaimed]:
    """Mark failed every unfinished run whose owning process is gone and free its concurrency
    slots; also free slots still held by runs that have ended. Returns what was reclaimed."""
    import dagster as dg

    reclaimed = []
    statuses = [dg.DagsterRunStatus[name] for name in _IN_PROGRESS]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)):
        if owner_state(run.tags) != "dead":
            continue
        in_flight = _in_flight_steps(instance, run.run_id)
        owner = describe_owner(run)
        for step in in_flight:
            instance.report_engine_event(
                f"Step {step} was in flight when the process running it ({owner}) died; it did not finish.",
                run, step_key=step)
        instance.report_run_failed(run, message=(
            f"The process running this run ({owner}) is gone (killed or crashed); marked failed by a later "
            "`evalfunnel` run, which freed its concurrency slots."))
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reclaimed.append(Reclaimed(run.run_id, run.job_name, owner, in_flight))
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in storage.get_concurrency_run_ids():
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return reclaimed


def slot_holders(instance: dg.DagsterInstance, exclude: str = "") -> list[dg.DagsterRun]:
    """Unfinished runs (other than `exclude`) that hold or wait for a concurrency slot."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished and run_id != exclude:
            holders.append(run)
    return holders


def wait_for_slots(instance: dg.DagsterInstance, say: Callable[[str], None], stopper: Stopper | None = None,
                   poll_seconds: float = 1.0) -> None:
    """Reclaim dead runs, then wait (saying so once per holder) until no live run holds a slot."""
    told: set[str] = set()
    while True:
        for r in reclaim_dead_runs(instance):
            say(r.line())
        holders = slot_holders(instance)
        if not holders:
            return
        for run in holders:
            if run.run_id not in told:
                told.add(run.run_id)
                say(f"waiting for run {run.run_id[:8]} ({run.job_name}, {describe_owner(run)}, {run.status.value}) "
                    "to free the duckdb_writer pool (Ctrl-C to stop; if that run is dead, terminate it in the UI)")
        deadline = time.monotonic() + poll_seconds
        while time.monotonic() < deadline:
            if stopper is not None and stopper.requested:
                raise KeyboardInterrupt
            time.sleep(0.1)


def finish_run(instance: dg.DagsterInstance, run_id: str, message: str) -> None:
    """Make sure a run this process started is no longer in progress and holds no slot."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, message=message)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


# ---- stopping ------------------------------------------------------------------------------

class Stopper:
    """SIGINT/SIGTERM handling for a CLI process that runs Dagster jobs in process."""

    def __init__(self, grace_seconds: float = GRACE_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        self.signum = 0
        self.requested = False
        self.current_run: tuple[dg.DagsterInstance, str] | None = None
        self.where = ""  # the stage running, for the message
        self.last_run = ""  # the run an interruption ended
        self._lock = threading.Lock()
        self._seen = 0
        self._installed = False

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name

    def install(self) -> None:
        """Once per process, from the main thread (elsewhere signals cannot be handled)."""
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        self._installed = True
        signal.signal(signal.SIGINT, self._handler)
        signal.signal(signal.SIGTERM, self._handler)
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        # every signal that reaches a Python-level handler (ours or Dagster's) is also written here
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(read_fd,), name="evalfunnel-signals", daemon=True).start()

    def _handler(self, signum: int, frame) -> None:
        with self._lock:
            self.requested = True
            self.signum = self.signum or signum
        raise KeyboardInterrupt

    def _note(self, signum: int) -> bool:
        """Record a signal seen by the watcher; True for the first one."""
        with self._lock:
            self._seen += 1
            self.requested = True
            self.signum = self.signum or signum
            return self._seen == 1

    def _watch(self, read_fd: int) -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            for signum in data:
                if signum not in (signal.SIGINT, signal.SIGTERM):
                    continue
                if self._note(signum):
                    print(f"evalfunnel: {signal.Signals(signum).name} received, stopping "
                          f"(forced in {self.grace_seconds:.0f}s; again to force now)", file=sys.stderr, flush=True)
                    timer = threading.Timer(self.grace_seconds, self.force)
                    timer.daemon = True
                    timer.start()
                else:
                    self.force()

    def force(self) -> None:
        """The process did not stop in time: mark the current run failed, free its slots, exit."""
        killer = threading.Timer(3.0, os._exit, args=(self.exit_code,))  # whatever the clean-up does
        killer.daemon = True
        killer.start()
        current = self.current_run
        if current is not None:
            try:
                finish_run(current[0], current[1], f"Stopped by {self.signal_name}: the process exited before the run "
                                                   "could finish cleanly.")
            except Exception:  # noqa: BLE001  (the next run reclaims it: the pid will be gone)
                pass
        print(f"evalfunnel: stopped ({self.signal_name}, forced)", file=sys.stderr, flush=True)
        os._exit(self.exit_code)


STOPPER = Stopper()


def install_interrupt_support(stopper: Stopper = STOPPER, on_wait: Callable[[str], None] | None = None) -> None:
    """Install the signal handling, and make Dagster's wait for a concurrency slot interruptible.

    Dagster 1.13's in-process executor, while every remaining step waits for a slot, loops on
    `ActiveExecution.sleep_til_ready` with an interval that is never positive (a busy loop) and
    never looks at the interrupts it captured, so SIGTERM could not stop it. The replacement
    sleeps in short slices and raises Dagster's own interruption error when a stop was asked for,
    which fails the run the way an interrupted step does."""
    from dagster._core.errors import DagsterExecutionInterruptedError
    from dagster._core.execution.plan.active import ActiveExecution
    from dagster._utils.interrupts import check_captured_interrupt

    stopper.install()
    if getattr(ActiveExecution.sleep_til_ready, "_evalfunnel", False):
        return

    def sleep_til_ready(self: ActiveExecution) -> None:
        amount = self.sleep_interval()
        concurrency = getattr(self, "_instance_concurrency_context", None)
        waiting = concurrency is not None and concurrency.has_pending_claims()
        if waiting:
            amount = max(amount, 0.25)
            started = getattr(self, "_evalfunnel_wait_started", None) or time.monotonic()
            self._evalfunnel_wait_started = started
            if on_wait and time.monotonic() - started > 3 and not getattr(self, "_evalfunnel_told", False):
                self._evalfunnel_told = True
                on_wait(f"waiting for a concurrency slot for {', '.join(concurrency.pending_claim_steps())}: another "
                        "run holds the pool (Ctrl-C to stop)")
        deadline = time.monotonic() + max(amount, 0.0)
        while True:
            if stopper.requested or check_captured_interrupt():
                raise DagsterExecutionInterruptedError("interrupted while waiting for a concurrency slot")
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    sleep_til_ready._evalfunnel = True  # type: ignore[attr-defined]
    ActiveExecution.sleep_til_ready = sleep_til_ready  # type: ignore[method-assign]
