"""The wandb guard (labbook.guards.wandb): the transaction log of a run that wandb itself wrote
offline is read whole, as this guard expects wandb to write it; the guard says what moved when
wandb's record protocol no longer has what it reads."""

import importlib.metadata

import numpy as np
import pytest

from labbook.guards import wandb as guard
from labbook.runner import trackerwrite as tw

STEPS = 400  # enough history for the log to span several 32 KiB blocks
NOTE = "n" * 40_000  # a config value longer than a block: its record is split across blocks


@pytest.fixture(scope="module")
def log_bytes(tmp_path_factory) -> bytes:
    root = tmp_path_factory.mktemp("wandb")
    steps = np.arange(STEPS)
    run = tw.TrackedRun(
        "long run",
        params={"note": NOTE, "lr": 0.5},
        tags={"simulated": True},
        scalars={"loss": (steps, 1.0 / (steps + 1)), "train/acc": (steps, steps / STEPS)},
    )
    tw.write_wandb(root, [run])
    (log,) = root.glob("wandb/offline-run-*/run-*.wandb")
    return log.read_bytes()


def test_the_installed_wandb_has_every_message_and_field_the_guard_reads():
    guard.check()
    assert importlib.metadata.version("wandb").startswith("0.")


def test_a_log_wandb_wrote_reads_whole_across_blocks(log_bytes):
    assert log_bytes[:7] == b":W&B\xe1\xbe\x00"  # ident, magic 0xBEE1, version 0
    assert len(log_bytes) > 3 * guard.BLOCK
    kinds = [kind for _, kind, _ in guard.chunks(log_bytes)]
    assert None not in kinds and {guard.FIRST, guard.LAST} <= set(kinds)  # records split
    log = guard.read_log(log_bytes)
    assert log.damage is None and log.others > 0  # telemetry, files... not read, counted
    (info,) = [r for r in log.records if isinstance(r, guard.RunInfo)]
    assert info.name == "long run" and info.tags == ("simulated",) and info.project == "examples"
    assert dict(info.config)[("note",)] == f'"{NOTE}"' and dict(info.config)[("lr",)] == "0.5"
    rows = [r for r in log.records if isinstance(r, guard.Row)]
    assert [dict(r.items)[("_step",)] for r in rows] == list(range(STEPS))
    assert [r.step for r in rows] == list(range(STEPS))
    assert [dict(r.items)[("loss",)] for r in rows] == (1.0 / (np.arange(STEPS) + 1)).tolist()
    assert [dict(r.items)[("_timestamp",)] for r in rows] == [
        1_700_000_000 + s for s in range(STEPS)
    ]
    assert [r.exit_code for r in log.records if isinstance(r, guard.Exit)] == [0]


def test_damage_and_a_foreign_header_are_described_not_raised(log_bytes):
    cut = guard.read_log(log_bytes[: len(log_bytes) // 2])
    assert cut.damage[0] == "cut" and any(isinstance(r, guard.Row) for r in cut.records)
    flipped = bytearray(log_bytes)
    flipped[2 * guard.BLOCK + 500] ^= 0xFF
    damaged = guard.read_log(bytes(flipped))
    assert damaged.damage[0] == "damaged" and "checksum" in damaged.damage[1]
    assert 0 < len(damaged.records) < len(guard.read_log(log_bytes).records)
    assert guard.read_log(b"SQLite format 3\x00").damage[0] == "damaged"
    newer = guard.read_log(log_bytes[:6] + b"\x01" + log_bytes[7:])
    assert "version 1" in newer.damage[1] and not newer.records


def test_a_field_wandb_dropped_is_named(monkeypatch):
    monkeypatch.setitem(guard.NEEDED, "HistoryItem", ("value_json", "gone_field"))
    with pytest.raises(guard.WandbChanged, match=r"HistoryItem lacks the field\(s\) gone_field"):
        guard.check()
