"""JSON text of reports: NaN becomes null at any depth, order is kept, and the file is replaced whole."""

import json
import math
from pathlib import Path

from codecfake.json_text import as_json, write_json_text


def test_nan_is_written_as_null_at_any_depth_and_key_order_is_kept() -> None:
    doc = {"b": math.nan, "a": [1.5, math.nan, {"c": (math.nan, 2)}]}
    text = as_json(doc)
    assert json.loads(text) == {"b": None, "a": [1.5, None, {"c": [None, 2]}]}
    assert list(json.loads(text)) == ["b", "a"] and "NaN" not in text


def test_write_json_text_replaces_the_file_with_a_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "report.json"
    path.parent.mkdir()
    path.write_text("old")
    write_json_text(path, {"eer": math.nan})
    assert path.read_text() == '{\n "eer": null\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]
