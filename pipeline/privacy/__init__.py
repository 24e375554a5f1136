"""Anonymization: PII detection and replacement (patterns, national formats, names, NER), clean_logs, retention.

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
