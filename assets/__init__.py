"""Thin Dagster assets and checks; the logic lives in the `pipeline` package."""
