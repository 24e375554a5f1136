"""A/B experiments: pre-registrations, sources, user metrics and moments in SQL, the statistics, the decision.

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
