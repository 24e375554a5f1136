"""A sensor that notices new or changed log files and re-ingests the days they touch."""


import hashlib
import json

import dagster as dg

from pipeline.jobs import daily_ingest_job
from pipeline.logs.ingest import SourceError, changed_days, discover
from pipeline.logs.remote import RemoteSourceError
from pipeline.resources import SourceResource


@dg.sensor(job=daily_ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Requests a daily_ingest run for every day a new, changed or deleted log file touches.")
def log_files_sensor(context: dg.SensorEvaluationContext, source: SourceResource) -> dg.SensorResult | dg.SkipReason:
    try:
        files, _ = discover(source.root())  # an object-store source: its mirror, with new objects fetched
    except (SourceError, RemoteSourceError) as exc:
        return dg.SkipReason(str(exc))
    seen = json.loads(context.cursor) if context.cursor else {}
    touched, now = changed_days(files, seen)
    known = set(daily_ingest_job.partitions_def.get_partition_keys())
    keys = sorted(d.isoformat() for d in touched if d.isoformat() in known)
    # a file with records for a day that has no partition yet (today) stays unseen, so it is
    # requested again once that day's partition exists
    now = {f: entry for f, entry in now.items() if all(day in known for day in entry[2])}
    # the run key ties a request to the file state that caused it, so a re-evaluation never doubles it
    state = hashlib.sha256(json.dumps(now, sort_keys=True).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=f"{k}:{state}") for k in keys],
        cursor=json.dumps(now, sort_keys=True),
    )
