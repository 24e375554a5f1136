"""evalfunnel: production LLM logs in, calibrated eval signals out."""

import os

# litellm downloads its price map at import unless told otherwise; this project runs offline.
# Set here, before any module of the package can import litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
