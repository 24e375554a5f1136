"""Eval sets: stratified sampling, versions and changelogs, the regression set.

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
