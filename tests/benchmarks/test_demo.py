"""The demo's benchmark records CPU time and peak memory (no time is asserted: the machine is shared)."""

from __future__ import annotations

from benchmarks.demo import TARGETS_CPU_S, format_table, measure_command, measure_demo


def test_the_benchmark_reports_the_cpu_time_and_memory_of_a_child_process():
    burn = measure_command(["-c", "sum(i * i for i in range(3_000_000))"])
    idle = measure_command(["-c", "pass"])
    assert burn["cpu_s"] > idle["cpu_s"] > 0, "CPU time is the child's, and grows with its work"
    assert burn["cpu_s"] == burn["user_s"] + burn["system_s"] and burn["peak_mb"] > 5


def test_the_demo_benchmark_runs_the_demo_and_records_its_cpu_figure():
    result = measure_demo("classroom")
    assert result["argv"][:4] == ["python", "-m", "sim", "demo"]
    assert result["cpu_s"] > 0 and result["peak_mb"] > 0
    assert "report.html" in result["files"] and any(name.endswith(".png") for name in result["files"])
    table = format_table({"commands": {"demo": {**result, "target_cpu_s": TARGETS_CPU_S["demo"]}}})
    assert "CPU s" in table and f"{result['cpu_s']:.2f}" in table
