"""MoE experiment runs in an Aim repository (seed 001) -> the shared long metrics table.

What is read, per run: its tags, name and hparams, and these metric sequences (value, step,
epoch per point): `loss`, `accuracy`, `profiling_total_cpu_time`, `profiling_memory_usage` in
context subset "val"; `macs` in context subset "train"; every `expert_<i>` (activation count of
expert i) in whatever subset it was logged (the analysis picks one).

Runs are ordered by stable keys — MoE type, seed (numeric when it is a number), run name, then the
hash only to break a tie — and numbered in that order ("run" = r0001, r0002, ...), so the same data
give the same tables whatever hashes Aim drew or the order it lists runs in.

Reading never creates or changes anything in the user's repository (aim's Repo(init=True) or a
writable Run would): the path is checked first, runs are opened read-only. What was read is cached
as Parquet in the project's cache folder (paths.CACHE / "aim"), keyed by a digest of every file's
name, size and mtime under .aim — a changed repository is a new key. Aim 3.29 does not index runs
when they close; runs missing from the index are counted, and either reindexed (when asked) or
reported as an error that says how to fix it. A run that cannot be read (e.g. a rocksdb
corruption) is skipped and named.
"""
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, validate_metrics_table

VAL_METRICS = ("loss", "accuracy", "profiling_total_cpu_time", "profiling_memory_usage")
TRAIN_METRICS = ("macs",)
EXPERT_PREFIX = "expert_"
CACHE_VERSION = 2  # bump when the cached table's layout changes
DEFAULT_MOE_TYPES = {"softmoe": "SoftMoE", "noisytopk": "Top-k", "expert_choice": "Expert Choice", "ffn": "FFN",
                     "roundrobin": "Round Robin", "expert_segmentation": "Expert Segmentation",
                     "switch_transformer": "Switch Transformer"}


@dataclass
class RepoLoad:
    """Everything read from one repository (before selecting runs)."""
    metrics: pd.DataFrame  # run, subset, metric, step, epoch, value
    runs: pd.DataFrame  # run (hash), name, experiment, tags (list), seed
    skipped: list[tuple[str, str]]  # (run hash, error)
    total_runs: int  # runs in the repository (list_all_runs)
    reindexed: int = 0  # runs that were missing from the index and were reindexed on request
    from_cache: bool = False
    source: str = ""


@dataclass
class Selection:
    table: pd.DataFrame  # METRICS_COLUMNS: method = MoE type key; run = stable run id (r0001, ...)
    runs: pd.DataFrame  # run (stable id), hash, name, method, seed
    notes: list[str] = field(default_factory=list)  # runs of other datasets / filtered out by tags
    warnings: list[str] = field(default_factory=list)  # runs that could not be used


def is_remote(repo_path: str) -> bool:
    return str(repo_path).startswith("aim://")


def check_local_repo(root: Path) -> Path:
    """The repository root *root* checked: it exists and holds a .aim folder. Returns the .aim path."""
    if not root.exists():
        raise inputs.not_found(root, "repo_path")
    if not root.is_dir():
        raise InputError(f"{root}: repo_path must be a folder holding an Aim repository (.aim), got a file")
    aim_dir = root / ".aim"
    if not aim_dir.is_dir():
        raise InputError(f"{root}: no .aim folder here, so this is not an Aim repository (point repo_path at the "
                         "folder that contains .aim)")
    return aim_dir


def repo_digest(aim_dir: Path) -> str:
    """sha256 over (relative path, size, mtime) of every file under .aim except lock files."""
    h = hashlib.sha256()
    for p in sorted(aim_dir.rglob("*")):
        rel = p.relative_to(aim_dir)
        if rel.parts[0] == "locks" or p.name == "LOCK" or not p.is_file():
            continue
        st = p.stat()
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def reindex(root: Path) -> None:
    """`aim storage --repo ROOT reindex -y` (rebuilds the repository's index; touches nothing else)."""
    aim = Path(sys.executable).with_name("aim")
    done = subprocess.run([str(aim), "storage", "--repo", str(root), "reindex", "-y"], capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"{root}: `aim storage reindex` failed: {done.stderr.strip()[-500:]}")


def _cache_files(root: Path, digest: str) -> tuple[Path, Path]:
    """(Parquet table, JSON run info) in the project cache for this repository state."""
    stem = paths.CACHE / "aim" / hashlib.sha256(f"{root}|{digest}|{CACHE_VERSION}".encode()).hexdigest()[:32]
    return stem.with_suffix(".parquet"), stem.with_suffix(".json")


def _read_run(repo, run_hash: str) -> tuple[dict, list[pd.DataFrame]]:
    from aim import Run

    run = Run(run_hash, repo=repo, read_only=True)
    hparams = run.get("hparams") or {}
    info = {"run": run_hash, "name": run.name or "", "experiment": run.experiment or "", "tags": list(run.tags),
            "seed": hparams.get("seed") if isinstance(hparams, dict) else None}
    frames = []
    for m in run.metrics():
        subset = m.context.to_dict().get("subset")
        wanted = ((subset == "val" and m.name in VAL_METRICS) or (subset == "train" and m.name in TRAIN_METRICS)
                  or m.name.startswith(EXPERT_PREFIX))
        if not wanted:
            continue
        steps, (values, epochs, _) = m.data.numpy()
        frames.append(pd.DataFrame({"run": run_hash, "subset": subset, "metric": m.name, "step": steps.astype(np.int64),
                                    "epoch": np.asarray(epochs, dtype=float), "value": np.asarray(values, dtype=float)}))
    return info, frames


def _read_repo(repo_path: str, do_reindex: bool, root: Path | None) -> RepoLoad:
    from aim import Repo

    repo = Repo(repo_path)
    all_runs = list(repo.list_all_runs())
    indexed = {r.hash for r in repo.iter_runs()}
    missing = [h for h in all_runs if h not in indexed]
    reindexed = 0
    if missing:
        if not do_reindex or root is None:
            raise InputError(
                f"{repo_path}: {len(missing)} of {len(all_runs)} runs are not in the repository's index (aim 3.29 "
                f"indexes runs late), so they cannot be read and would be missing from this analysis. Fix it with "
                f"`aim storage --repo {repo_path} reindex -y`, or set the parameter reindex: true.")
        reindex(root)
        repo = Repo(repo_path)
        indexed = {r.hash for r in repo.iter_runs()}
        reindexed = len(missing)
    infos, frames, skipped = [], [], []
    for run_hash in sorted(indexed):
        try:
            info, fr = _read_run(repo, run_hash)
        except Exception as exc:  # one unreadable run (e.g. rocksdb Corruption) must not abort the load
            skipped.append((run_hash, f"{type(exc).__name__}: {str(exc).strip()[:300]}"))
            continue
        infos.append(info)
        frames += fr
    metrics = (pd.concat(frames, ignore_index=True) if frames else
               pd.DataFrame(columns=["run", "subset", "metric", "step", "epoch", "value"]))
    runs = pd.DataFrame(infos, columns=["run", "name", "experiment", "tags", "seed"])
    return RepoLoad(metrics=metrics, runs=runs, skipped=skipped, total_runs=len(all_runs), reindexed=reindexed)


def load(repo_path: str, reindex_missing: bool = False, cache: bool = True) -> RepoLoad:
    """Read a repository (a folder holding .aim, or an aim://host:port server) through the cache."""
    if is_remote(repo_path):
        loaded = _read_repo(repo_path, False, None)
        loaded.source = repo_path
        return loaded
    root = Path(repo_path).resolve()
    aim_dir = check_local_repo(root)
    digest = repo_digest(aim_dir)
    parquet, meta = _cache_files(root, digest)
    if cache and parquet.exists() and meta.exists():
        info = json.loads(meta.read_text())
        loaded = RepoLoad(metrics=pd.read_parquet(parquet), runs=pd.DataFrame(info["runs"]),
                          skipped=[tuple(s) for s in info["skipped"]], total_runs=info["total_runs"], from_cache=True)
    else:
        loaded = _read_repo(str(root), reindex_missing, root)
        if loaded.reindexed:  # reindexing changed the repository: store under its new state
            digest = repo_digest(aim_dir)
            parquet, meta = _cache_files(root, digest)
        if cache:
            parquet.parent.mkdir(parents=True, exist_ok=True)
            tmp = parquet.with_suffix(f".tmp{id(loaded)}")
            loaded.metrics.to_parquet(tmp, index=False)
            tmp.rename(parquet)
            meta.write_text(json.dumps({"runs": loaded.runs.to_dict(orient="records"), "skipped": loaded.skipped,
                                        "total_runs": loaded.total_runs, "repo": str(root)}, default=str))
    inputs.record_directory(root, digest)
    inputs.record_directory(aim_dir / "meta" / "index", digest)  # the index changes when runs are (re)indexed
    loaded.source = str(root)
    return loaded


def select(loaded: RepoLoad, dataset: str, moe_types: dict[str, str], include_tags: list[str] = (),
           exclude_tags: list[str] = ()) -> Selection:
    """Runs tagged *dataset*, having every include tag and no exclude tag, whose MoE type is the
    first tag found in *moe_types* (tag -> display name). Every run left out is counted in a note."""
    notes = []
    rows = []
    no_dataset, excluded, no_type = [], [], []
    for r in loaded.runs.itertuples():
        tags = set(r.tags)
        if dataset not in tags:
            no_dataset.append(r)
            continue
        if not set(include_tags) <= tags or tags & set(exclude_tags):
            excluded.append(r)
            continue
        moe = next((t for t in moe_types if t in tags), None)
        if moe is None:
            no_type.append(r)
            continue
        rows.append({"hash": r.run, "name": r.name, "method": moe, "seed": r.seed})
    if no_dataset:
        notes.append(f"{len(no_dataset)} of the repository's runs lack the dataset tag {dataset!r} (other datasets) "
                     f"and are not part of this report (e.g. {_describe(no_dataset[:2])}).")
    if excluded:
        notes.append(f"{len(excluded)} {dataset} run(s) left out by include_tags={list(include_tags)} / "
                     f"exclude_tags={list(exclude_tags)}.")
    warnings = []
    if no_type:
        warnings.append(f"{len(no_type)} {dataset} run(s) have no MoE-type tag from the name table and are left out: "
                     f"{_describe(no_type[:5])}. Add their tag to moe_types to include them.")
    for run_hash, error in loaded.skipped:
        warnings.append(f"Run {run_hash} could not be read and is skipped: {error}")
    if not rows:
        raise InputError(f"{loaded.source}: no run matches dataset {dataset!r} with the MoE-type tags "
                         f"{sorted(moe_types)} (include {list(include_tags)}, exclude {list(exclude_tags)})")
    runs = pd.DataFrame(rows)
    bad = implausible_runs(loaded.metrics[loaded.metrics["run"].isin(set(runs["hash"]))])
    for run_hash, reason in bad.items():
        r = runs[runs["hash"] == run_hash].iloc[0]
        warnings.append(f"Run {run_hash[:8]} {r['name']!r} ({r['method']}) is left out: {reason}.")
    runs = runs[~runs["hash"].isin(set(bad))]
    if runs.empty:
        raise InputError(f"{loaded.source}: every {dataset!r} run was left out: " + "; ".join(bad.values()))
    dup = runs[runs["seed"].notna()].groupby(["method", "seed"])["name"].agg(list)
    for (method, seed), names in dup[dup.str.len() > 1].items():
        warnings.append(f"{len(names)} {method} runs have seed {seed} ({', '.join(map(repr, names))}): all are kept "
                        "as separate runs; check for a run logged twice.")
    order = [list(moe_types).index(m) for m in runs["method"]]
    runs = (runs.assign(_type=order, _seed=[_seed_key(x) for x in runs["seed"]])
            .sort_values(["_type", "_seed", "name", "hash"], kind="stable").drop(columns=["_type", "_seed"])
            .reset_index(drop=True))
    runs.insert(0, "run", [f"r{i + 1:04d}" for i in range(len(runs))])
    t = loaded.metrics[loaded.metrics["run"].isin(set(runs["hash"]))].copy()
    info = runs.set_index("hash")
    t["method"] = t["run"].map(info["method"])
    t["seed"] = t["run"].map(info["seed"])
    t["run"] = t["run"].map(info["run"])
    t["dataset"] = dataset
    t = t.sort_values(["run", "subset", "metric", "step"], kind="stable")
    table = validate_metrics_table(t[METRICS_COLUMNS].reset_index(drop=True), loaded.source)
    return Selection(table=table, runs=runs, notes=notes, warnings=warnings)


DOMAINS = {  # metric: (low, high, what) — a run with a value outside is left out with a warning
    "accuracy": (0.0, 1.0, "a fraction in [0, 1]; percentages must be divided by 100"),
    "loss": (0.0, np.inf, "not negative"),
    "profiling_total_cpu_time": (0.0, np.inf, "seconds, not negative"),
    "profiling_memory_usage": (0.0, np.inf, "MB, not negative"),
    "macs": (0.0, np.inf, "not negative"),
}


def implausible_runs(metrics: pd.DataFrame) -> dict[str, str]:
    """{run hash: reason} for runs with a value outside its metric's domain (DOMAINS; expert counts
    not negative) or without any validation accuracy."""
    out = {}
    for run_hash, g in metrics.groupby("run", sort=True):
        if not ((g["metric"] == "accuracy") & (g["subset"] == "val")).any():
            out[run_hash] = "it logs no validation accuracy"
            continue
        for metric, (low, high, what) in DOMAINS.items():
            v = g.loc[g["metric"] == metric, "value"]
            outside = v[(v < low) | (v > high)]
            if len(outside):
                out[run_hash] = f"{metric} = {outside.iloc[0]:g} at step {int(g.loc[outside.index[0], 'step'])} ({what})"
                break
        else:
            e = g[g["metric"].str.startswith(EXPERT_PREFIX) & (g["value"] < 0)]
            if len(e):
                out[run_hash] = f"{e['metric'].iloc[0]} = {e['value'].iloc[0]:g} (an activation count, not negative)"
    return out


def _seed_key(seed) -> tuple:
    """Sort key for a run's seed: numbers in numeric order before anything else."""
    try:
        return (0, float(seed), "")
    except (TypeError, ValueError):
        return (1, 0.0, "" if seed is None else str(seed))


def _describe(runs) -> str:
    return ", ".join(f"{r.run[:8]} {r.name!r} tags {sorted(r.tags)}" for r in runs)
