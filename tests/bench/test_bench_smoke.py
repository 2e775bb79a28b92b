"""The benchmark harness at tiny sizes (seconds, not a benchmark): every section runs on the
real stack and the throw-away databases, and the results are valid JSON and a Markdown summary
carrying each section's figures, sizes, runs and the machine. No figure is judged here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import SECTIONS, main
from bench.phases import PHASES
from bench.report import TITLES

pytestmark = pytest.mark.smoke


async def test_the_harness_writes_json_and_markdown(tmp_path: Path) -> None:
    returned = await main(["--tiny", "--out", str(tmp_path)])

    result = json.loads((tmp_path / "latest.json").read_text())
    assert result == json.loads(json.dumps(returned, ensure_ascii=False))
    assert result["size"] == "tiny"
    assert result["machine"]["cpu_count"] >= 1 and result["machine"]["python"]
    assert "dev server" in result["machine"]["temporal_server"]
    assert set(result["sections"]) == set(SECTIONS)
    for name, section in result["sections"].items():
        assert section["figures"], name
        assert section["runs"] >= 1 and section["sizes"], name
        assert all(isinstance(v, int | float) for v in section["figures"].values()), name
    throughput = result["sections"]["throughput"]["figures"]
    assert throughput["tasks_per_s"] > 0 and throughput["baseline_per_s"] > 0
    assert throughput["ratio"] == pytest.approx(
        throughput["tasks_per_s"] / throughput["baseline_per_s"], abs=0.001
    )
    # Every completion was found in its case's history by its key and split in order: each
    # phase begins where the one before ended (bench.phases).
    for prefix in ("", "paced_"):
        split = [throughput[f"{prefix}phase_{name}_p50_ms"] for name in PHASES]
        assert all(ms >= 0 for ms in split), split
        assert split[2] > 0, "the closing activity takes time"
    inbox = result["sections"]["inbox"]
    assert "sqlite/500" in inbox["detail"]
    assert len(inbox["detail"]["sqlite/500"]["queries"]) == 8
    assert result["sections"]["batch"]["detail"]["runs"][0]["tasks_created"] == 150

    summary = (tmp_path / "summary.md").read_text()
    for name in SECTIONS:
        assert TITLES[name] in summary
    assert f"{result['machine']['cpu_count']} CPUs" in summary
    assert "| sqlite/500 |" in summary
