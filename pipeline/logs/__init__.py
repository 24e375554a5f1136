"""Log ingest: reading sources into raw_logs with rejects, and the input contract checks (GX).

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
