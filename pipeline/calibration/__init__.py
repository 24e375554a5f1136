"""Calibration: human labels, judge-human agreement, drift, offline-online correlation, forecasts.

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
