"""The ``plugins`` command lists every registered name with what it stands for."""

from __future__ import annotations

from sim import registry
from sim.cli import main


def test_plugins_lists_every_kind_with_its_targets(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for kind, table in registry.BUILTINS.items():
        assert f"{kind}:" in out
        for name, target in table.items():
            assert any(line.split()[:2] == [name, target] for line in out.splitlines()), (name, out)


def test_plugins_of_one_kind_with_the_code_fingerprint(capsys):
    assert main(["plugins", "metrics", "--code"]) == 0
    out = capsys.readouterr().out
    assert "share_over_60" in out and "least_loaded" not in out
    assert f"sim{' ' * 22}{registry.code_fingerprint(['sim'])['sim']}" in out
