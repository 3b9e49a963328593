"""``tradefabric --help`` imports no heavy module; tables fit 80 columns; options go anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from tradefabric.cli import hoist_global_options
from tradefabric.cli.lazy import COMMANDS, DATA_COMMANDS, load_command

from .test_cli import run

HEAVY = ("pyarrow", "duckdb", "aiohttp", "redis", "numpy", "ccxt", "matplotlib", "websockets",
         "tradefabric.store", "tradefabric.node", "tradefabric.venues")  # fmt: skip

_LOADED_BY_HELP = """
import sys
from tradefabric.cli import main
sys.argv = ["tradefabric", *sys.argv[1:], "--help"]
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("group", [[], ["data"]], ids=["root", "data"])
def test_group_help_imports_no_heavy_module(group: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", _LOADED_BY_HELP, *group],
                            capture_output=True, text=True, check=True)  # fmt: skip
    loaded = set(result.stdout.split()[-1000:]) | set(result.stdout.split())
    assert "Commands" in result.stdout
    assert [m for m in HEAVY if m in loaded] == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_help_listed_for_a_lazy_command_is_its_own(name: str) -> None:
    command = load_command(name)
    own = command.short_help or (command.help or "").strip().split("\n")[0]
    if isinstance(command, TyperGroup) and len(command.commands) == 1:
        own = command.help or own  # a one-command group (venue, report): its group help
    assert COMMANDS[name].help == own.strip()


def test_the_data_subcommands_listed_are_the_data_groups_own() -> None:
    from tradefabric.cli.data_commands import app

    own = typer.main.get_group(app).commands
    assert list(DATA_COMMANDS) == [n for n in DATA_COMMANDS if n in own]
    assert set(DATA_COMMANDS) == set(own)
    for name, command in own.items():
        loaded = load_command(name, DATA_COMMANDS)
        assert loaded.callback is not None and command.callback is not None
        # Typer wraps each callback anew: compare what the wrappers call.
        assert loaded.callback.__wrapped__ is command.callback.__wrapped__, name  # type: ignore[attr-defined]
        assert [p.name for p in loaded.params] == [p.name for p in command.params], name
        assert DATA_COMMANDS[name].help == (command.help or "").strip().split("\n")[0], name


def test_log_options_after_the_subcommand_are_hoisted() -> None:
    args = ["data", "replay", "f.gz", "--log-level", "INFO", "--json", "--log-format=console"]
    assert hoist_global_options(args) == [
        "--log-level", "INFO", "--log-format=console", "data", "replay", "f.gz", "--json",
    ]  # fmt: skip
    assert hoist_global_options(["--log-level", "INFO", "demo"]) == ["--log-level", "INFO", "demo"]
    assert hoist_global_options(["x", "--", "--log-level"]) == ["x", "--", "--log-level"]


def test_log_level_after_the_subcommand_takes_effect(shared_data: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    loud = run("data", "replay", str(recording), "--venue", "kraken", "--json", check=False)
    quiet = run("data", "replay", str(recording), "--venue", "kraken", "--json",
                "--log-level", "ERROR", check=False)  # fmt: skip
    assert "replay line rejected" in loud.stderr
    assert "replay line rejected" not in quiet.stderr
    assert json.loads(quiet.stdout) == json.loads(loud.stdout) | {
        "seconds": json.loads(quiet.stdout)["seconds"]
    }


@pytest.fixture(scope="module")
def replayed(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("output_catalog")
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    run("data", "replay", str(recording), "--catalog", str(root), "--intervals", "1s,1m")
    return root


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize(
    "args",
    [
        ["data", "versions"],
        ["data", "versions", "--raw"],
        ["data", "gaps", "--interval", "1s"],
        ["data", "gaps", "--interval", "1s", "--raw"],
        ["data", "query", "SELECT * FROM candles ORDER BY ts_open LIMIT 3"],
        ["data", "query", "SELECT interval, count(*) AS n, min(ts_open) AS ts_first FROM candles "
         "GROUP BY 1 ORDER BY 1"],
    ],
    ids=lambda a: " ".join(a[:3]),
)  # fmt: skip
def test_tables_fit_80_columns_and_cut_nothing(replayed: Path, args: list[str]) -> None:
    result = run(*args, "--catalog", str(replayed), check=False)
    assert result.returncode in (0, 1), result.stderr  # gaps exits 1 while gaps remain
    assert _widest(result.stdout) <= 80
    assert "…" not in result.stdout


def test_times_are_utc_iso_unless_raw(replayed: Path) -> None:
    gaps = run("data", "gaps", "--interval", "1s", "--catalog", str(replayed), check=False)
    assert "2024-08-08T23:56:55Z" in gaps.stdout
    raw = run("data", "gaps", "--interval", "1s", "--raw", "--catalog", str(replayed), check=False)
    assert "1723161415000000000" in raw.stdout and "2024-08-08T" not in raw.stdout
    sql = "SELECT min(ts_open) AS ts_first, count(*) AS n FROM candles WHERE interval = '1m'"
    iso = run("data", "query", sql, "--catalog", str(replayed)).stdout
    assert "2024-08-08T23:54:00Z" in iso
    as_json = json.loads(run("data", "query", sql, "--catalog", str(replayed), "--json").stdout)
    assert as_json["rows"] == [[1_723_161_240_000_000_000, 7]]  # --json keeps stored values


def test_versions_shortens_row_counts_with_units(replayed: Path) -> None:
    human = run("data", "versions", "--catalog", str(replayed)).stdout
    rows = json.loads(run("data", "versions", "--catalog", str(replayed), "--json").stdout)
    biggest = max(r["rows_added"] for r in rows)
    assert biggest >= 1000
    assert f"{biggest / 1000:.1f}k" in human or f"{biggest / 1000:.2f}k" in human


@pytest.mark.slow
def test_arbitrage_table_fits_80_columns(shared_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    run("data", "import", str(shared_data / "multi_exchange_1m_2023-03"),
        "--format", "multi-exchange", "--catalog", str(root))  # fmt: skip
    result = run("data", "triangulate", "--catalog", str(root), "--no-store",
                 "--chart", str(tmp_path / "chart.png"), "--from", "2023-03-10",
                 "--to", "2023-03-13")  # fmt: skip
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Arbitrage episodes"))
    table = [line for line in lines[start:] if not line.startswith("chart:")]
    assert max(len(line) for line in table) <= 80
    assert "…" not in "\n".join(table)
    assert any(line.startswith(" 2023-03-1") and line[21:22] == " " for line in table)
