"""The LLM judge: client, prompts and rubric, fan-out with cache and retries, scores, pairwise and ratings, candidates, generation, regression checks, the local judge and server.

Pure stage code: nothing here imports dagster but metadata.py (what the assets show in the UI); the assets in assets/ wire it."""
