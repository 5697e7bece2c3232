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
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labbook import inputs, paths
from labbook.guards import aim as aim_guard
from labbook.inputs import InputError
from labbook.sources import METRICS_COLUMNS, validate_metrics_table

VAL_METRICS = ("loss", "accuracy", "profiling_total_cpu_time", "profiling_memory_usage")
TRAIN_METRICS = ("macs",)
EXPERT_PREFIX = "expert_"
CACHE_VERSION = 2  # bump when the cached table's layout changes
DEFAULT_MOE_TYPES = {
    "softmoe": "SoftMoE",
    "noisytopk": "Top-k",
    "expert_choice": "Expert Choice",
    "ffn": "FFN",
    "roundrobin": "Round Robin",
    "expert_segmentation": "Expert Segmentation",
    "switch_transformer": "Switch Transformer",
}


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
    """The repository root *root* checked: it exists and holds a .aim folder. Returns
    the .aim path."""
    if not root.exists():
        raise inputs.not_found(root, "repo_path")
    if not root.is_dir():
        raise InputError(
            f"{root}: repo_path must be a folder holding an Aim repository (.aim), got a file"
        )
    aim_dir = root / ".aim"
    if not aim_dir.is_dir():
        raise InputError(
            f"{root}: no .aim folder here, so this is not an Aim repository (point repo_path at "
            "the folder that contains .aim)"
        )
    return aim_dir


_NOT_DATA = ("locks", "check_ins", "progress")  # liveness and progress bookkeeping, not run data


def repo_digest(aim_dir: Path) -> str:
    """sha256 of the repository's run data as files: every file under .aim but bookkeeping (locks,
    check-ins, progress), the search index (meta/index: derived from the runs, rewritten by aim's
    background indexer) and RocksDB's info logs and lock files. Immutable table files (.sst) count
    by name and size; every other file by name, size and modification time. Reading changes none
    of these, so a second load hits the cache; any change to a run changes the digest. One
    directory scan, one stat per file, excluded folders never entered (a 1,000-run repository
    holds some 20,000 files)."""
    files = []
    stack = [("", str(aim_dir))]
    while stack:
        rel, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if not (rel == "" and entry.name in _NOT_DATA) and name != "meta/index":
                        stack.append((name, entry.path))
                elif entry.is_file() and not (
                    entry.name in ("LOCK", "LOG")
                    or entry.name.startswith("LOG.old")
                    or entry.name.endswith(".lock")
                ):
                    st = entry.stat()
                    stamp = "" if entry.name.endswith(".sst") else str(st.st_mtime_ns)
                    files.append(f"{name}\0{st.st_size}\0{stamp}\n")
    h = hashlib.sha256()
    for line in sorted(files):
        h.update(line.encode())
    return h.hexdigest()


def reindex(root: Path) -> None:
    """`aim storage --repo ROOT reindex -y` (rebuilds the repository's index; touches
    nothing else)."""
    aim = Path(sys.executable).with_name("aim")
    done = subprocess.run(
        [str(aim), "storage", "--repo", str(root), "reindex", "-y"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise InputError(f"{root}: `aim storage reindex` failed: {done.stderr.strip()[-500:]}")


def _cache_files(root: Path, digest: str, dataset: str | None) -> tuple[Path, Path]:
    """(Parquet table, JSON run info) in the project cache for this repository state and dataset."""
    key = f"{root}|{digest}|{dataset}|{CACHE_VERSION}"
    stem = paths.CACHE / "aim" / hashlib.sha256(key.encode()).hexdigest()[:32]
    return stem.with_suffix(".parquet"), stem.with_suffix(".json")


def _wanted(name: str, subset) -> bool:
    return (
        (subset == "val" and name in VAL_METRICS)
        or (subset == "train" and name in TRAIN_METRICS)
        or name.startswith(EXPERT_PREFIX)
    )


def _read_run(repo, run_hash: str) -> tuple[object, dict[str, np.ndarray]]:
    """(seed, columns) of one run: the metrics the analysis needs, as flat arrays. Reads each
    metric through Run.get_metric: Run.metrics() refills aim's run cache from SQLite on every call
    (quadratic in the number of runs)."""
    from aim import Run

    run = Run(run_hash, repo=repo, read_only=True)
    hparams = run.get("hparams") or {}
    seed = hparams.get("seed") if isinstance(hparams, dict) else None
    cols = {"subset": [], "metric": [], "step": [], "epoch": [], "value": []}
    for name, ctx, _ in run.iter_metrics_info():
        subset = ctx.to_dict().get("subset")
        if not _wanted(name, subset):
            continue
        steps, (values, epochs) = run.get_metric(name, ctx).data.view(["val", "epoch"]).numpy()
        n = len(steps)
        cols["subset"].append(np.full(n, subset, dtype=object))
        cols["metric"].append(np.full(n, name, dtype=object))
        cols["step"].append(np.asarray(steps, dtype=np.int64))
        cols["epoch"].append(np.asarray(epochs, dtype=float))
        cols["value"].append(np.asarray(values, dtype=float))
    return seed, {
        k: (
            np.concatenate(v)
            if v
            else np.array([], dtype=object if k in ("subset", "metric") else float)
        )
        for k, v in cols.items()
    }


def _read_runs(repo_path: str, hashes: list[str]) -> tuple[list, list, list]:
    """Read *hashes* from the repository at *repo_path*: (seeds, per-run columns, skipped)."""
    from aim import Repo

    repo = Repo(repo_path)
    seeds, columns, skipped = [], [], []
    for run_hash in hashes:
        try:
            seed, cols = _read_run(repo, run_hash)
        # one unreadable run (aim raises e.g. rocksdb's Corruption, of no public class) is
        # skipped and named in the report; it must not abort the others
        except Exception as exc:
            skipped.append((run_hash, f"{type(exc).__name__}: {str(exc).strip()[:300]}"))
            continue
        seeds.append((run_hash, seed))
        columns.append((run_hash, cols))
    return seeds, columns, skipped


WORKERS = (
    2  # processes reading runs in parallel (at most); below PARALLEL_FROM runs one process reads
)
PARALLEL_FROM = 100


def _read_parallel(repo_path: str, hashes: list[str]) -> tuple[list, list, list]:
    """_read_runs over *hashes*, split across worker processes when there are many runs."""
    workers = min(WORKERS, os.cpu_count() or 1)
    if workers < 2 or len(hashes) < PARALLEL_FROM or not str(repo_path).startswith("/"):
        return _read_runs(repo_path, hashes)
    import multiprocessing

    parts = [hashes[i::workers] for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(
        workers
    ) as pool:  # spawn would re-run a notebook kernel's main
        results = pool.starmap(_read_runs, [(repo_path, part) for part in parts])
    return tuple(sum((r[i] for r in results), []) for i in range(3))


def _run_info(repo, hashes: list[str]) -> dict[str, tuple[str, str, list[str]]]:
    """{hash: (name, experiment, sorted tags)}: from the run-metadata SQLite in one query for a
    local repository; through each run for a server (aim serves no SQLite to its clients)."""
    infos = aim_guard.run_infos(repo)
    if infos is not None:
        return infos
    from aim import Run

    out = {}
    for h in hashes:
        run = Run(h, repo=repo, read_only=True)
        out[h] = (run.name or "", run.experiment or "", sorted(run.tags))
    return out


def _read_repo(
    repo_path: str, do_reindex: bool, root: Path | None, dataset: str | None
) -> RepoLoad:
    from aim import Repo

    repo = Repo(repo_path)
    all_runs = list(repo.list_all_runs())
    indexed = {r.hash for r in repo.iter_runs()}
    missing = [h for h in all_runs if h not in indexed]
    reindexed = 0
    if missing:
        if not do_reindex or root is None:
            raise InputError(
                f"{repo_path}: {len(missing)} of {len(all_runs)} runs are not in the repository's "
                "index (aim 3.29 indexes runs late), so they cannot be read and would be missing "
                f"from this analysis. Fix it with `aim storage --repo {repo_path} reindex -y`, or "
                "set the parameter reindex: true."
            )
        reindex(root)
        repo = Repo(repo_path)
        indexed = {r.hash for r in repo.iter_runs()}
        reindexed = len(missing)
    hashes = sorted(indexed)
    info = _run_info(repo, hashes)
    wanted = [h for h in hashes if dataset is None or dataset in info.get(h, ("", "", []))[2]]
    seeds, columns, skipped = _read_parallel(repo_path, wanted)
    seed_of = dict(seeds)
    frames = [pd.DataFrame({"run": h, **cols}) for h, cols in sorted(columns, key=lambda c: c[0])]
    metrics = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["run", "subset", "metric", "step", "epoch", "value"])
    )
    read = set(seed_of)
    runs = pd.DataFrame(
        [
            {
                "run": h,
                "name": info.get(h, ("", "", []))[0],
                "experiment": info.get(h, ("", "", []))[1],
                "tags": info.get(h, ("", "", []))[2],
                "seed": seed_of.get(h),
            }
            for h in hashes
            if h in read or h not in wanted
        ],
        columns=["run", "name", "experiment", "tags", "seed"],
    )
    return RepoLoad(
        metrics=metrics,
        runs=runs,
        skipped=sorted(skipped),
        total_runs=len(all_runs),
        reindexed=reindexed,
    )


def load(
    repo_path: str, reindex_missing: bool = False, cache: bool = True, dataset: str | None = None
) -> RepoLoad:
    """Read a repository (a folder holding .aim, or an aim://host:port server) through the cache.

    With *dataset*, only the runs tagged with it are read (every run's name and tags are still
    listed, for the report's counts); the cache is kept per repository state and dataset."""
    if is_remote(repo_path):
        loaded = _read_repo(repo_path, False, None, dataset)
        loaded.source = repo_path
        return loaded
    root = Path(repo_path).resolve()
    aim_dir = check_local_repo(root)
    digest = repo_digest(aim_dir)
    parquet, meta = _cache_files(root, digest, dataset)
    if cache and parquet.exists() and meta.exists():
        info = json.loads(meta.read_text())
        loaded = RepoLoad(
            metrics=pd.read_parquet(parquet),
            runs=pd.DataFrame(info["runs"]),
            skipped=[tuple(s) for s in info["skipped"]],
            total_runs=info["total_runs"],
            from_cache=True,
        )
    else:
        loaded = _read_repo(str(root), reindex_missing, root, dataset)
        if loaded.reindexed:  # reindexing changed the repository: store under its new state
            digest = repo_digest(aim_dir)
            parquet, meta = _cache_files(root, digest, dataset)
        if cache:
            parquet.parent.mkdir(parents=True, exist_ok=True)
            tmp = parquet.with_suffix(f".tmp{os.getpid()}")
            loaded.metrics.to_parquet(tmp, index=False)
            tmp.rename(parquet)
            meta.write_text(
                json.dumps(
                    {
                        "runs": loaded.runs.to_dict(orient="records"),
                        "skipped": loaded.skipped,
                        "total_runs": loaded.total_runs,
                        "repo": str(root),
                    },
                    default=str,
                )
            )
    inputs.record_directory(root, digest)
    inputs.record_directory(
        aim_dir / "meta" / "index", digest
    )  # the index changes when runs are (re)indexed
    loaded.source = str(root)
    return loaded


def select(
    loaded: RepoLoad,
    dataset: str,
    moe_types: dict[str, str],
    include_tags: list[str] = (),
    exclude_tags: list[str] = (),
) -> Selection:
    """Runs tagged *dataset*, having every include tag and no exclude tag, whose MoE type is the
    first tag found in *moe_types* (tag -> display name). Every run left out is counted in a note.
    """
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
        notes.append(
            f"{len(no_dataset)} of the repository's runs lack the dataset tag {dataset!r} (other "
            f"datasets) and are not part of this report (e.g. {_describe(no_dataset[:2])})."
        )
    if excluded:
        notes.append(
            f"{len(excluded)} {dataset} run(s) left out by include_tags={list(include_tags)} / "
            f"exclude_tags={list(exclude_tags)}."
        )
    warnings = []
    if no_type:
        warnings.append(
            f"{len(no_type)} {dataset} run(s) have no MoE-type tag from the name table and are "
            f"left out: {_describe(no_type[:5])}. Add their tag to moe_types to include them."
        )
    for run_hash, error in loaded.skipped:
        warnings.append(f"Run {run_hash} could not be read and is skipped: {error}")
    if not rows:
        raise InputError(
            f"{loaded.source}: no run matches dataset {dataset!r} with the MoE-type tags "
            f"{sorted(moe_types)} (include {list(include_tags)}, exclude {list(exclude_tags)})"
        )
    runs = pd.DataFrame(rows)
    bad = implausible_runs(loaded.metrics[loaded.metrics["run"].isin(set(runs["hash"]))])
    for run_hash, reason in bad.items():
        r = runs[runs["hash"] == run_hash].iloc[0]
        warnings.append(f"Run {run_hash[:8]} {r['name']!r} ({r['method']}) is left out: {reason}.")
    runs = runs[~runs["hash"].isin(set(bad))]
    if runs.empty:
        raise InputError(
            f"{loaded.source}: every {dataset!r} run was left out: " + "; ".join(bad.values())
        )
    dup = runs[runs["seed"].notna()].groupby(["method", "seed"])["name"].agg(list)
    for (method, seed), names in dup[dup.str.len() > 1].items():
        warnings.append(
            f"{len(names)} {method} runs have seed {seed} ({', '.join(map(repr, names))}): all are "
            "kept as separate runs; check for a run logged twice."
        )
    order = [list(moe_types).index(m) for m in runs["method"]]
    runs = (
        runs.assign(_type=order, _seed=[_seed_key(x) for x in runs["seed"]])
        .sort_values(["_type", "_seed", "name", "hash"], kind="stable")
        .drop(columns=["_type", "_seed"])
        .reset_index(drop=True)
    )
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
    not negative) or without any validation accuracy. One grouped pass over the table."""
    out = {}
    has_acc = set(
        metrics.loc[(metrics["metric"] == "accuracy") & (metrics["subset"] == "val"), "run"]
    )
    for run_hash in sorted(set(metrics["run"]) - has_acc):
        out[run_hash] = "it logs no validation accuracy"
    names = pd.Categorical(
        metrics["metric"]
    )  # a few metric names over a million rows: work per name
    cats = pd.Index(names.categories)
    low = np.array(
        [0.0 if c.startswith(EXPERT_PREFIX) else DOMAINS.get(c, (-np.inf,))[0] for c in cats]
    )[names.codes]
    high = np.array(
        [np.inf if c.startswith(EXPERT_PREFIX) else DOMAINS.get(c, (0, np.inf))[1] for c in cats]
    )[names.codes]
    value = metrics["value"].to_numpy()
    bad = metrics[(value < low) | (value > high)]
    for run_hash, g in bad.sort_values(["run", "step"], kind="stable").groupby("run", sort=True):
        if run_hash in out:
            continue
        first = g.iloc[0]
        if first["metric"].startswith(EXPERT_PREFIX):
            out[run_hash] = (
                f"{first['metric']} = {first['value']:g} (an activation count, not negative)"
            )
        else:
            out[run_hash] = (
                f"{first['metric']} = {first['value']:g} at step {int(first['step'])} "
                f"({DOMAINS[first['metric']][2]})"
            )
    return out


def _seed_key(seed) -> tuple:
    """Sort key for a run's seed: numbers in numeric order before anything else."""
    try:
        return (0, float(seed), "")
    except (TypeError, ValueError):
        return (1, 0.0, "" if seed is None else str(seed))


def _describe(runs) -> str:
    return ", ".join(f"{r.run[:8]} {r.name!r} tags {sorted(r.tags)}" for r in runs)
