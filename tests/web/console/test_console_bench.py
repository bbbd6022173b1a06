"""``shopbot bench console`` on a small generated data set."""

from __future__ import annotations

import argparse
import json


def test_bench_console_writes_its_figures(tmp_path, capsys):
    from shopbot.commands import bench_console

    parser = argparse.ArgumentParser()
    bench_console.configure(parser)
    out = tmp_path / "console.json"
    args = parser.parse_args(
        [
            "--conversations",
            "600",
            "--repeats",
            "3",
            "--pages",
            "3",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "w"),
        ]
    )
    assert bench_console.run(args) == 0
    data = json.loads(out.read_text())
    assert data["conversations"] == 600 and data["events"] > 600 * 5
    assert data["queries"]["list first page"]["rows"] == 50
    assert data["queries"]["count all"]["rows"] == 600
    assert data["queries"]["deep paging (3 pages)"]["rows"] == 150
    assert 0 < data["queries"]["filter fallback=1"]["rows"] <= 50
    assert data["queries"]["search 'voucher'"]["rows"] > 0
    assert "p95_ms" in data["queries"]["search 'order' (common)"]
    assert "list first page" in capsys.readouterr().out
