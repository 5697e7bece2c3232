"""MoE metrics over Aim: the repository as the MoE source reads it (indexed, unindexed, corrupt
run, missing path, tag selection, cache, never writing to the repo) and the tables checked
against the generator."""

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labbook import paths
from labbook.analyses import moe
from labbook.inputs import InputError
from labbook.runner import examples
from labbook.sources import METRICS_COLUMNS, aim_repo
from tests.extras import WITHOUT_AIM, needs_aim

TYPES = ("softmoe", "ffn", "roundrobin", "expert_segmentation")
SEEDS, EPOCHS = 3, 4


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    pytest.importorskip("aim", reason=WITHOUT_AIM)  # every test of the repository skips without
    return examples.moe_aim(
        tmp_path_factory.mktemp("aim"),
        datasets=("cifar10", "mnist"),
        moe_types=TYPES,
        seeds=SEEDS,
        epochs=EPOCHS,
    )


def _content(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _add_run(root, tags, name):
    """One more run (4 epochs of val metrics) written into the repository at *root*, bounded."""
    e = np.arange(1, 5)
    values = {
        "accuracy": np.full(4, 0.5),
        "loss": np.full(4, 1.0),
        "profiling_total_cpu_time": np.full(4, 1.0),
        "profiling_memory_usage": np.full(4, 10.0),
    }
    series = examples.AimSeries({"subset": "val"}, e, e, values)
    examples.write_aim_runs(root, [examples.AimRun(name, None, tuple(tags), {}, (series,))])


def test_loads_every_run_without_touching_the_repo(repo):
    before = _content(repo)
    loaded = aim_repo.load(str(repo), cache=False)
    assert _content(repo) == before  # nothing created or changed in the user's repository
    assert loaded.total_runs == len(loaded.runs) == 2 * len(TYPES) * SEEDS and loaded.skipped == []
    sel = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    assert list(sel.table.columns) == METRICS_COLUMNS and len(sel.runs) == len(TYPES) * SEEDS
    assert set(sel.table["dataset"]) == {"cifar10"} and set(sel.runs["method"]) == set(TYPES)
    assert sel.notes[0].startswith(
        f"{len(TYPES) * SEEDS} of the repository's runs lack the dataset tag 'cifar10'"
    )
    assert sel.warnings == []
    assert not (paths.ROOT / str(repo).lstrip("/")).exists()


@needs_aim  # without aim, an Aim source is first of all AimMissing (tests/test_without_aim.py)
def test_missing_path_file_and_folder_without_aim(tmp_path):
    with pytest.raises(InputError, match="repo_path not found"):
        aim_repo.load(str(tmp_path / "nowhere"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="got a file"):
        aim_repo.load(str(tmp_path / "file"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="no .aim folder here"):
        aim_repo.load(str(tmp_path / "plain"))
    assert list((tmp_path / "plain").iterdir()) == []  # no repository was created there


def test_unindexed_runs_read_reindexed_on_request_and_tags_selected(repo, tmp_path):
    """Runs aim has not indexed yet are read all the same (named in a warning); reindex_missing
    indexes them first (and they are no longer named)."""
    root = tmp_path / "repo"
    shutil.copytree(repo, root)
    _add_run(root, ["cifar10", "softmoe", "ablation"], "ablation-run")
    _add_run(root, ["softmoe"], "no-dataset-run")
    _add_run(root, ["cifar10", "mystery_router"], "unknown-type-run")
    total = 2 * len(TYPES) * SEEDS + 3
    late = aim_repo.load(str(root), cache=False)
    assert len(late.runs) == total and late.reindexed == 0
    (w,) = [w for w in late.warnings if "not in the repository's index" in w]
    assert w.startswith("3 run(s)") and "'ablation-run'" in w
    loaded = aim_repo.load(str(root), reindex_missing=True, cache=False)
    assert loaded.reindexed == 3 and len(loaded.runs) == total
    assert not any("index" in w for w in loaded.warnings)
    sel = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES, exclude_tags=["ablation"])
    assert "ablation-run" not in set(sel.runs["name"]) and any(
        "exclude_tags=['ablation']" in n for n in sel.notes
    )
    assert any("no MoE-type tag" in w and "unknown-type-run" in w for w in sel.warnings)
    assert any(
        "lack the dataset tag 'cifar10'" in n for n in sel.notes
    )  # the run without a dataset tag is counted
    only = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES, include_tags=["ablation"])
    assert only.runs["name"].tolist() == ["ablation-run"]
    with pytest.raises(InputError, match="no run matches dataset 'imagenet'"):
        aim_repo.select(loaded, "imagenet", aim_repo.DEFAULT_MOE_TYPES)


def _corrupt_first_run(root) -> str:
    """The hash of the run whose metrics database gets a garbage MANIFEST."""
    victim = sorted((root / ".aim" / "seqs" / "chunks").iterdir())[0]
    for f in victim.glob("MANIFEST-*"):
        f.write_bytes(b"garbage" * 50)
    return victim.name


def test_corrupt_run_is_skipped_and_named(repo, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(repo, root)
    victim = _corrupt_first_run(root)
    before = _content(root)
    loaded = aim_repo.load(str(root), cache=False)
    assert (
        _content(root) == before
    )  # opening the corrupt run wrote nothing (no RocksDB LOG files, no locks)
    (message,) = [w for w in loaded.warnings if victim in w]
    assert "cannot be read and is left out: Corruption" in message
    assert len(loaded.runs) == 2 * len(TYPES) * SEEDS - 1
    sel = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    assert message in sel.warnings


def test_reads_a_repository_on_a_read_only_file_system(repo, tmp_path):
    """A shared store mounted read-only: every readable run is read, the corrupt one skipped."""
    import subprocess
    import sys

    root = tmp_path / "repo"
    shutil.copytree(repo, root)
    _corrupt_first_run(root)
    script = (
        f"mount --bind {root} {root} && mount -o remount,ro,bind {root} {root} && "
        f'! touch {root}/probe 2>/dev/null && {sys.executable} -c "from labbook.sources import '
        "aim_repo; "
        f"l = aim_repo.load('{root}', cache=False); "
        "print(len(l.runs), sum('cannot be read' in w for w in l.warnings))\""
    )
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(paths.ROOT / "src")},
        check=False,
    )
    if "Operation not permitted" in done.stderr or done.returncode and "unshare" in done.stderr:
        pytest.skip(
            f"this machine cannot mount a read-only view for the test: {done.stderr.strip()[:200]}"
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(2 * len(TYPES) * SEEDS - 1), "1"]


def test_cache_is_keyed_by_the_repo_state(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    root = tmp_path / "repo"
    shutil.copytree(repo, root)
    first = aim_repo.load(str(root))
    second = aim_repo.load(str(root))
    assert not first.from_cache and second.from_cache
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    assert len(list((tmp_path / "cache" / "aim").glob("*.scalars.arrow"))) == 1
    assert not list(root.rglob("*.arrow"))  # never next to the user's data
    sqlite = root / ".aim" / "run_metadata.sqlite"
    os.utime(
        sqlite, ns=(sqlite.stat().st_atime_ns, sqlite.stat().st_mtime_ns + 10**9)
    )  # the repo changed
    assert not aim_repo.load(str(root)).from_cache


@pytest.fixture(scope="module")
def cifar(repo):
    sel = aim_repo.select(
        aim_repo.load(str(repo), cache=False), "cifar10", aim_repo.DEFAULT_MOE_TYPES
    )
    return sel.table


def _truth(moe_type):
    return [examples.moe_run_values("cifar10", moe_type, s, EPOCHS) for s in range(SEEDS)]


def test_grouped_tables_match_the_generator(cifar):
    wide = moe.per_epoch(cifar)
    by_type = moe.summary(wide, ["method"]).set_index("method")
    by_epoch = moe.summary(wide, ["method", "epoch"]).set_index(["method", "epoch"])
    for t in TYPES:
        runs = _truth(t)
        acc = np.array([r["accuracy"] for r in runs])  # (seeds, epochs)
        mem = np.array([r["profiling_memory_usage"] for r in runs])
        assert by_type.loc[t, "accuracy mean"] == pytest.approx(acc.mean())
        assert by_type.loc[t, "accuracy min"] == pytest.approx(acc.min())
        assert by_type.loc[t, "memory max"] == pytest.approx(mem.max())
        assert by_type.loc[t, "macs max"] == pytest.approx(
            runs[0]["macs"]
        )  # tracked at epoch 1 only
        assert by_epoch.loc[(t, 3), "loss mean"] == pytest.approx(
            np.mean([r["loss"][2] for r in runs])
        )
        assert by_epoch.loc[(t, 4), "cpu_time max"] == pytest.approx(
            max(r["profiling_total_cpu_time"][3] for r in runs)
        )


def test_entropy_table_matches_the_generator(cifar):
    counts, warnings = moe.expert_counts(
        cifar
    )  # the seed's reading: cumulative counters in subset val
    assert warnings == []
    table = moe.entropy_table(moe.expert_weights(counts)).set_index("method")
    assert "ffn" not in table.index  # no experts
    for t in ("softmoe", "roundrobin", "expert_segmentation"):
        totals = np.mean([r["experts"].sum(axis=0) for r in _truth(t)], axis=0)  # per expert
        p = totals[totals > 0] / totals.sum()
        expected = -(p * np.log2(p)).sum() / np.log2(len(p))
        assert table.loc[t, "entropy"] == pytest.approx(expected)
        assert table.loc[t, "total"] == pytest.approx(totals.sum())
        assert table.loc[t, "active_experts"] == (totals > 0).sum() == table.loc[t, "experts"]
    assert table.loc["roundrobin", "entropy"] == pytest.approx(1.0)
    assert table.loc["expert_segmentation", "experts"] == 16


def test_score_matrices_keep_complete_runs_only():
    rows = [
        {"method": "a", "run": r, "epoch": e, "accuracy": 0.1 * e + i}
        for i, r in enumerate(["r1", "r2", "r3"])
        for e in range(1, 4)
        if not (r == "r3" and e == 3)
    ]
    scores, incomplete = moe.score_matrices(pd.DataFrame(rows), 3)
    assert scores["a"].shape == (2, 3) and incomplete == {"a": 1}
    assert scores["a"][1].tolist() == pytest.approx([1.1, 1.2, 1.3])
    first, _ = moe.score_matrices(
        pd.DataFrame(rows), 2, runs_per_type=2
    )  # the first runs in the stable order
    assert first["a"].shape == (2, 2) and first["a"][:, 0].tolist() == pytest.approx([0.1, 1.1])


def _counts_table(values, subset="val"):
    rows = [
        {
            "method": "m",
            "run": "r0001",
            "epoch": e + 1,
            "subset": subset,
            "metric": f"expert_{j}",
            "value": v,
        }
        for e, per_expert in enumerate(values)
        for j, v in enumerate(per_expert)
    ]
    return pd.DataFrame(rows)


def test_expert_count_readings():
    per_epoch = [[10, 30], [10, 30], [20, 40]]
    cumulative = np.cumsum(per_epoch, axis=0).tolist()
    a, wa = moe.expert_counts(_counts_table(cumulative), "val", "cumulative")
    b, wb = moe.expert_counts(_counts_table(per_epoch), "val", "per_epoch")
    assert wa == wb == [] and a["count"].tolist() == b["count"].tolist()
    w = moe.expert_weights(a).set_index("expert")
    assert w["total"].tolist() == [
        40,
        100,
    ]  # the run's last running total (the seed's per-run maximum)
    # per-epoch counts read as cumulative: a decreasing series contradicts the reading, and says so
    _, warnings = moe.expert_counts(
        _counts_table([[10, 30], [5, 30], [20, 40]]), "val", "cumulative"
    )
    assert (
        len(warnings) == 1
        and "expert_0 decreases at epoch 2" in warnings[0]
        and "per_epoch" in warnings[0]
    )
    # only the chosen subset is read
    assert moe.expert_counts(_counts_table(cumulative, subset="train"), "val")[0].empty
    with pytest.raises(ValueError, match="reading"):
        moe.expert_counts(_counts_table(cumulative), "val", "sometimes")


def test_runs_are_ordered_by_stable_keys_not_hashes(repo):
    loaded = aim_repo.load(str(repo), cache=False)
    base = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    rng = np.random.default_rng(0)
    shuffled = loaded.runs.sample(frac=1, random_state=1).reset_index(drop=True)
    new_hash = {
        h: f"{rng.integers(1 << 60):016x}" for h in loaded.runs["run"]
    }  # other random hashes
    other = aim_repo.RepoLoad(
        metrics=loaded.metrics.assign(run=loaded.metrics["run"].map(new_hash))
        .sample(frac=1, random_state=2)
        .reset_index(drop=True),
        runs=shuffled.assign(run=shuffled["run"].map(new_hash)),
        skipped=[],
        total_runs=loaded.total_runs,
    )
    again = aim_repo.select(other, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    pd.testing.assert_frame_equal(base.table, again.table)
    assert base.runs.drop(columns="hash").equals(again.runs.drop(columns="hash"))
    assert base.runs["run"].tolist() == [f"r{i + 1:04d}" for i in range(len(base.runs))]


def test_tables_equal_the_seed_analysis_computations(cifar):
    """Under the default parameters the numbers are the seed notebook's: expert use from the val
    subset's cumulative counters (per-run maximum, then the mean over runs), and rliable's
    aggregates with the optimality gap measured to 0.99."""
    from rliable import metrics as rmetrics

    from labbook import stats

    # expert activations, as the seed computes them
    e = cifar[(cifar["subset"] == "val") & cifar["metric"].str.startswith("expert_")]
    seed_max = (
        e.groupby(["method", "metric", "run"])["value"].max().groupby(["method", "metric"]).mean()
    )
    counts, _ = moe.expert_counts(cifar)  # defaults: subset val, cumulative
    ours = moe.entropy_table(moe.expert_weights(counts)).set_index("method")
    for method, per_expert in seed_max.groupby("method"):
        v = per_expert.to_numpy()
        nz = v[v > 0] / v[v > 0].sum()
        assert ours.loc[method, "entropy"] == pytest.approx(
            -(nz * np.log2(nz)).sum() / np.log2(len(nz))
        )
        assert ours.loc[method, "total"] == pytest.approx(v.sum())
    # score matrices (complete runs x epochs) and the aggregates
    wide = moe.per_epoch(cifar)
    scores, _ = moe.score_matrices(wide, EPOCHS, 10)
    for method, s in scores.items():
        acc = cifar[
            (cifar["method"] == method)
            & (cifar["subset"] == "val")
            & (cifar["metric"] == "accuracy")
        ]
        seed_rows = sorted(g.sort_values("epoch")["value"].tolist() for _, g in acc.groupby("run"))
        assert np.allclose(sorted(s.tolist()), seed_rows)
    points, _ = stats.interval_estimates(
        scores, ["median", "iqm", "mean", "optimality_gap"], reps=10, gamma=0.99
    )
    for method, s in scores.items():
        expected = [
            rmetrics.aggregate_median(s),
            rmetrics.aggregate_iqm(s),
            rmetrics.aggregate_mean(s),
            rmetrics.aggregate_optimality_gap(s, 0.99),
        ]
        assert points[method] == pytest.approx(expected)


@pytest.mark.parametrize(
    "change,reason",
    [
        (
            lambda m, h: m.assign(
                value=np.where(
                    (m["run"] == h) & (m["metric"] == "accuracy"), m["value"] * 100, m["value"]
                )
            ),
            r"accuracy = \d+(\.\d+)? at step 1 \(a fraction in \[0, 1\]; percentages must be "
            r"divided by 100\)",
        ),
        (
            lambda m, h: m.assign(
                value=np.where(
                    (m["run"] == h) & (m["metric"] == "profiling_memory_usage"), -5.0, m["value"]
                )
            ),
            r"profiling_memory_usage = -5 at step 1 \(MB, not negative\)",
        ),
        (
            lambda m, h: m.assign(
                value=np.where((m["run"] == h) & (m["metric"] == "loss"), -1.0, m["value"])
            ),
            r"loss = -1 at step 1 \(not negative\)",
        ),
        (
            lambda m, h: m.assign(
                value=np.where((m["run"] == h) & (m["metric"] == "expert_0"), -3.0, m["value"])
            ),
            r"expert_0 = -3 \(an activation count, not negative\)",
        ),
        (
            lambda m, h: m[~((m["run"] == h) & (m["metric"] == "accuracy"))],
            "it logs no validation accuracy",
        ),
    ],
)
def test_implausible_runs_are_left_out_and_named(repo, change, reason):
    import re

    loaded = aim_repo.load(str(repo), cache=False)
    sel = aim_repo.select(loaded, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    victim = sel.runs[sel.runs["method"] == "softmoe"]["hash"].iloc[0]
    bad = aim_repo.RepoLoad(
        metrics=change(loaded.metrics, victim).reset_index(drop=True),
        runs=loaded.runs,
        skipped=[],
        total_runs=loaded.total_runs,
        source=str(repo),
    )
    out = aim_repo.select(bad, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    assert victim not in set(out.runs["hash"]) and len(out.runs) == len(sel.runs) - 1
    message = next(w for w in out.warnings if victim[:8] in w)
    assert "is left out" in message and re.search(reason, message), message


def test_every_run_implausible_or_duplicated(repo):
    loaded = aim_repo.load(str(repo), cache=False)
    all_percent = loaded.metrics.assign(
        value=np.where(
            loaded.metrics["metric"] == "accuracy",
            loaded.metrics["value"] * 100,
            loaded.metrics["value"],
        )
    )
    bad = aim_repo.RepoLoad(
        metrics=all_percent,
        runs=loaded.runs,
        skipped=[],
        total_runs=loaded.total_runs,
        source=str(repo),
    )
    with pytest.raises(InputError, match=r"every 'cifar10' run was left out: accuracy = "):
        aim_repo.select(bad, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
    twice = loaded.runs.copy()
    first = twice.index[twice["tags"].apply(lambda t: "softmoe" in t and "cifar10" in t)][:2]
    twice.loc[first, "seed"] = 0  # two softmoe runs claim seed 0
    out = aim_repo.select(
        aim_repo.RepoLoad(
            metrics=loaded.metrics,
            runs=twice,
            skipped=[],
            total_runs=loaded.total_runs,
            source=str(repo),
        ),
        "cifar10",
        aim_repo.DEFAULT_MOE_TYPES,
    )
    assert any("softmoe runs have seed 0" in w and "logged twice" in w for w in out.warnings)


def test_reads_through_a_real_aim_server(repo, tmp_path):
    """repo_path: aim://host:port against `aim server` on 127.0.0.1, started and stopped here: the
    same table as a local read (aim serves no SQLite to clients: run names and tags come run by
    run)."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    aim = str(Path(sys.executable).with_name("aim"))
    server = subprocess.Popen(
        [aim, "server", "--repo", str(repo), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("aim server did not start within 60 s")
        remote = aim_repo.load(f"aim://127.0.0.1:{port}", dataset="cifar10")
        local = aim_repo.load(str(repo), cache=False, dataset="cifar10")
        assert remote.source.startswith("aim://") and not remote.from_cache
        a = aim_repo.select(remote, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
        b = aim_repo.select(local, "cifar10", aim_repo.DEFAULT_MOE_TYPES)
        pd.testing.assert_frame_equal(a.table, b.table)
        assert a.runs.equals(b.runs) and len(a.runs) == len(TYPES) * SEEDS
    finally:
        os.killpg(server.pid, 9)
        server.wait(timeout=30)


def test_correlation_table_rows_pooled_then_within():
    r = {"pearson": 0.5, "pearson_lower": 0.1, "pearson_upper": 0.8}
    r |= {"spearman": 0.6, "spearman_lower": 0.2, "spearman_upper": 0.9}
    table = moe.correlation_table({"n": 10, "pooled": r, "within": r})
    assert table["Correlation"].tolist() == [
        "Spearman (pooled)",
        "Pearson (pooled)",
        "Spearman (within types)",
        "Pearson (within types)",
    ]
    assert table.iloc[1].tolist() == ["Pearson (pooled)", 0.5, 0.1, 0.8]
    assert len(moe.correlation_table({"n": 10, "pooled": r})) == 2
