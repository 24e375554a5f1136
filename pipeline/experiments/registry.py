"""Experiment pre-registrations (`experiments/*.yaml`) and metric definitions (`metrics.yaml`).

Every file is validated on its own: a broken pre-registration is rejected with the file and the
problem, and the others still load. Problems caught: unknown metric, allocations not summing to
1, control not among the variants, end before start, a primary metric without a pre-registered
MDE when power is asked, malformed fields.

Metrics come in two families:
- from the logs' feedback (built in, request level, the user is the unit, so each is a ratio of
  per-user sums): thumbs_down_rate, thumbs_up_rate, regenerate_rate, copy_rate, edit_ratio
  (normalized edit distance of an edited response, over edited responses), cost_per_request,
  latency_ms (mean per request);
- from events (metrics.yaml): binary (any event in the window), count, sum (of value), and
  ratio (count of one event over count of another), each in a window of `window_days` from the
  user's exposure, cut at the experiment's end.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

EVENT_KINDS = ("binary", "count", "sum", "ratio")
# name -> higher_is_better; their SQL is in sql/experiments/log_metrics.sql
LOG_METRICS = {"thumbs_down_rate": False, "thumbs_up_rate": True, "regenerate_rate": False, "copy_rate": True,
               "edit_ratio": False, "cost_per_request": False, "latency_ms": False}
DEFAULT_SEGMENTS = ("segment", "device")
DEFAULT_N_STAR = 5000.0  # GrowthBook's default tuning of the confidence sequences
DEFAULT_PRE_PERIOD_DAYS = 14


MAX_WINDOW_DAYS = 36_600  # a century: windows are computed in int64 microseconds


class ExperimentConfigError(ValueError):
    """A pre-registration or metric definition a user must fix; names the file and the field."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # log, binary, count, sum, ratio
    higher_is_better: bool
    event: str | None = None  # binary, count, sum; the numerator event of a ratio
    denominator: str | None = None  # ratio
    window_days: int = 28

    @property
    def is_ratio(self) -> bool:
        """Analysed as sum y / sum d over users (delta method) rather than a mean per user."""
        return self.kind in ("log", "ratio")


@dataclass(frozen=True)
class Guardrail:
    metric: str
    margin: float  # absolute, in the metric's units: how much worse the treatment may be


@dataclass(frozen=True)
class ExperimentSpec:
    experiment_id: str
    start: dt.date
    end: dt.date  # inclusive
    control: str
    variants: dict[str, float]  # expected allocation (SRM)
    primary_metrics: tuple[str, ...]
    guardrails: tuple[Guardrail, ...] = ()
    secondary_metrics: tuple[str, ...] = ()
    mde: dict[str, float] | None = None  # relative
    alpha: float = 0.05
    power: float | None = 0.8
    sequential: bool = False
    n_star: float = DEFAULT_N_STAR
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
    pre_period_days: int = DEFAULT_PRE_PERIOD_DAYS
    hypothesis: str = ""
    source: str = ""

    @property
    def treatments(self) -> list[str]:
        return [v for v in self.variants if v != self.control]

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys([*self.primary_metrics, *(g.metric for g in self.guardrails), *self.secondary_metrics]))

    def role(self, metric: str) -> str:
        if metric in self.primary_metrics:
            return "primary"
        return "guardrail" if any(g.metric == metric for g in self.guardrails) else "secondary"


def builtin_metrics() -> dict[str, MetricSpec]:
    return {name: MetricSpec(name, "log", better) for name, better in LOG_METRICS.items()}


def load_metrics(path: Path | None) -> dict[str, MetricSpec]:
    """Built-in log metrics plus `metrics.yaml` (raises ExperimentConfigError naming the metric)."""
    metrics = builtin_metrics()
    if path is None or not path.exists():
        return metrics
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for name, d in (doc.get("metrics") or {}).items():
        where = f"{path.name}: metric {name!r}"
        if not isinstance(d, dict):
            raise ExperimentConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
        kind = d.get("kind")
        if kind not in EVENT_KINDS:
            raise ExperimentConfigError(f"{where}: kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
        if "higher_is_better" not in d or not isinstance(d["higher_is_better"], bool):
            raise ExperimentConfigError(f"{where}: higher_is_better (true or false) is required")
        event = d.get("numerator") if kind == "ratio" else d.get("event")
        if not event or (kind == "ratio" and not d.get("denominator")):
            need = "numerator and denominator" if kind == "ratio" else "event"
            raise ExperimentConfigError(f"{where}: {kind} metrics need {need}")
        window = d.get("window_days", 28)
        if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW_DAYS:
            raise ExperimentConfigError(f"{where}: window_days must be a whole number of days from 1 to "
                                        f"{MAX_WINDOW_DAYS:,}, got {window!r}")
        metrics[name] = MetricSpec(name, kind, d["higher_is_better"], str(event), d.get("denominator"), window)
    return metrics


def _date(value, field: str, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ExperimentConfigError(f"{where}: {field} must be a date (YYYY-MM-DD), got {value!r}") from None


def parse_experiment(doc: dict, metrics: dict[str, MetricSpec], where: str) -> ExperimentSpec:
    """One pre-registration, validated (ExperimentConfigError names `where` and the problem)."""
    if not isinstance(doc, dict):
        raise ExperimentConfigError(f"{where}: expected a mapping at the top level")
    for key in ("experiment_id", "start", "end", "control", "variants", "primary_metrics"):
        if doc.get(key) in (None, "", [], {}):
            raise ExperimentConfigError(f"{where}: {key} is required")
    eid = str(doc["experiment_id"])
    where = f"{where} ({eid})"
    start, end = _date(doc["start"], "start", where), _date(doc["end"], "end", where)
    if end < start:
        raise ExperimentConfigError(f"{where}: end {end} is before start {start}")
    variants = doc["variants"]
    if not isinstance(variants, dict) or len(variants) < 2:
        raise ExperimentConfigError(f"{where}: variants must map at least two variant names to allocations")
    try:
        variants = {str(k): float(v) for k, v in variants.items()}
    except (TypeError, ValueError):
        raise ExperimentConfigError(f"{where}: every allocation must be a number") from None
    if any(v <= 0 for v in variants.values()) or not math.isclose(sum(variants.values()), 1.0, abs_tol=1e-6):
        raise ExperimentConfigError(f"{where}: allocations must be positive and sum to 1, got "
                                    f"{sum(variants.values()):g} ({variants})")
    control = str(doc["control"])
    if control not in variants:
        raise ExperimentConfigError(f"{where}: control {control!r} is not among the variants {sorted(variants)}")
    primary = tuple(str(m) for m in doc["primary_metrics"])
    guardrails = []
    for g in doc.get("guardrail_metrics") or []:
        if not isinstance(g, dict) or "metric" not in g or not isinstance(g.get("non_inferiority_margin"), (int, float)):
            raise ExperimentConfigError(f"{where}: each guardrail needs metric and a numeric non_inferiority_margin, "
                                        f"got {g!r}")
        guardrails.append(Guardrail(str(g["metric"]), float(g["non_inferiority_margin"])))
    secondary = tuple(str(m) for m in doc.get("secondary_metrics") or [])
    for name in [*primary, *(g.metric for g in guardrails), *secondary]:
        if name not in metrics:
            raise ExperimentConfigError(f"{where}: unknown metric {name!r}; define it in metrics.yaml or use one of "
                                        f"the built-in {', '.join(LOG_METRICS)}")
    alpha = float(doc.get("alpha", 0.05))
    if not 0 < alpha < 0.5:
        raise ExperimentConfigError(f"{where}: alpha must be in (0, 0.5), got {alpha}")
    power = doc.get("power")
    mde = doc.get("minimum_detectable_effect") or {}
    if power is not None:
        power = float(power)
        if not 0 < power < 1:
            raise ExperimentConfigError(f"{where}: power must be in (0, 1), got {power}")
        missing = [m for m in primary if m not in mde]
        if missing:
            raise ExperimentConfigError(f"{where}: power is asked but minimum_detectable_effect has no entry for "
                                        f"{', '.join(missing)}")
    bad_mde = {k: v for k, v in mde.items() if not isinstance(v, (int, float)) or v <= 0}
    if bad_mde:
        raise ExperimentConfigError(f"{where}: minimum_detectable_effect values must be positive numbers, got {bad_mde}")
    return ExperimentSpec(
        eid, start, end, control, variants, primary, tuple(guardrails), secondary,
        {str(k): float(v) for k, v in mde.items()}, alpha, power, bool(doc.get("sequential", False)),
        float(doc.get("sequential_n_star", DEFAULT_N_STAR)), tuple(doc.get("segments") or DEFAULT_SEGMENTS),
        int(doc.get("pre_period_days", DEFAULT_PRE_PERIOD_DAYS)), str(doc.get("hypothesis", "")), where)


@dataclass(frozen=True)
class Loaded:
    experiments: list[ExperimentSpec]
    rejects: list[tuple[str, str]]  # (file, problem)


def load_experiments(folder: Path, metrics: dict[str, MetricSpec]) -> Loaded:
    """Every `*.yaml`/`*.yml` under `folder`; a broken file is rejected with its reason, the rest load."""
    specs, rejects, seen = [], [], {}
    files = sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]) if folder.exists() else []
    for path in files:
        name = str(path.relative_to(folder))
        try:
            spec = parse_experiment(yaml.safe_load(path.read_text(encoding="utf-8")), metrics, name)
        except yaml.YAMLError as exc:
            rejects.append((name, f"{name}: not valid YAML: {str(exc).splitlines()[0]}"))
            continue
        except ExperimentConfigError as exc:
            rejects.append((name, str(exc)))
            continue
        if spec.experiment_id in seen:
            rejects.append((name, f"{name}: experiment_id {spec.experiment_id} is already defined in {seen[spec.experiment_id]}"))
            continue
        seen[spec.experiment_id] = name
        specs.append(spec)
    return Loaded(specs, rejects)
