"""JSON text of reports and summaries: NaN (an undefined EER, an empty condition) written as ``null``.

``json.dumps`` would write NaN as the bare token ``NaN``, which is not JSON; other readers (jq, browsers) refuse it.
A leaf module: imports nothing of ours but ``codecfake.atomic``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from codecfake.atomic import write_atomic

__all__ = ["as_json", "write_json_text"]


def as_json(obj: Any) -> str:
    """``obj`` as JSON (indent 1, keys in insertion order), every float NaN written as null."""

    def fix(x: Any) -> Any:
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [fix(v) for v in x]
        return x

    return json.dumps(fix(obj), indent=1, sort_keys=False)


def write_json_text(path: str | Path, obj: Any) -> Path:
    """Replace ``path`` with :func:`as_json` of ``obj`` and a final newline, atomically."""
    return write_atomic(path, as_json(obj) + "\n")
