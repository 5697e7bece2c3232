"""Writing runs into a tracker's store with that tracker's own library: the example stores `make
examples` writes and the tests' fixtures. Never hand-made protobuf or SQL.

One description serves every tracker: a `TrackedRun` (name, attributes by kind, scalar series),
written by `write_tensorboard` (tensorboardX's SummaryWriter, one folder per run, hparams through
its hparams plugin), `write_mlflow` (MlflowClient into an SQLite store, `sqlite:///...`),
`write_aim` (aim's SDK through labbook.guards.aim, in a bounded child process) or `write_wandb`
(wandb itself, offline run folders, in a bounded child process). The numbers are written as
given: to compare a report built from a tracker with one built from JSON, give float32-exact
values (TensorBoard stores float32).

How the attributes land in each store (what the tracker layer reads back):

| kind  | TensorBoard               | MLflow                 | Aim                  | W&B          |
|-------|---------------------------|------------------------|----------------------|--------------|
| param | hparams plugin: hparam:k  | log_param: param:k     | run["params"][k]     | config:k     |
| tag   | hparams plugin: hparam:k  | set_tag: tag:k         | run["tags"][k]       | see below    |

W&B: a W&B tag is a label without a value, so a tag whose value is True becomes a W&B tag (read
back as tag:k, True), a tag with another value joins the run's config (config:k; a name that is
both a param and such a tag is an error).

Readers name what they read back as their tracker keeps it; a mapping parameter such as
``method_from: method`` finds the attribute whatever its kind.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TrackedRun:
    """One run to write.

    name: the run's name (TensorBoard: its folder, relative to the store root; may hold '/').
    params, tags: attribute name -> str, int, float or bool.
    scalars: key -> (steps int array(n), values float array(n)); written in step order.
    wall_time: seconds since the epoch of step 0 (each step one second later), so stores written
    twice from one description hold the same times."""

    name: str
    params: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    scalars: dict = field(default_factory=dict)
    wall_time: float = 1_700_000_000.0

    def points(self):
        """(key, step, value, wall_time) for every value, key by key in step order."""
        for key, (steps, values) in self.scalars.items():
            for s, v in zip(np.asarray(steps), np.asarray(values, dtype=float)):
                yield key, int(s), float(v), self.wall_time + int(s)


def float32_exact(values) -> np.ndarray:
    """*values* rounded to the nearest float32 and back (what a TensorBoard store can hold)."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def write_tensorboard(root: Path, runs: list[TrackedRun]) -> None:
    """One folder per run under *root* (created), written by tensorboardX: scalars with
    add_scalar, attributes with the hparams plugin (params and tags together)."""
    from tensorboardX import SummaryWriter
    from tensorboardX.summary import hparams

    root = Path(root)
    for run in runs:
        folder = root / run.name
        folder.mkdir(parents=True, exist_ok=True)
        writer = SummaryWriter(logdir=str(folder), flush_secs=3600)
        try:
            attrs = {**run.params, **run.tags}
            if attrs:
                exp, ssi, sei = hparams(attrs, {})
                for summary in (exp, ssi, sei):
                    writer.file_writer.add_summary(summary, walltime=run.wall_time)
            for key, step, value, wall in run.points():
                writer.add_scalar(key, value, global_step=step, walltime=wall)
        finally:
            writer.close()


def write_mlflow(database: Path, runs: list[TrackedRun], experiment: str = "examples") -> None:
    """Every run into the SQLite store *database* (created), written by MlflowClient: params with
    log_param, tags with set_tag, scalars with log_batch; each run ends FINISHED."""
    import os

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_TRACKING_DIR", str(database.parent))  # nothing beside the cwd
    client = MlflowClient(tracking_uri=f"sqlite:///{database}")
    found = client.get_experiment_by_name(experiment)
    exp_id = (
        found.experiment_id
        if found
        else client.create_experiment(
            experiment, artifact_location=(database.parent / "artifacts").as_uri()
        )
    )
    for run in runs:
        created = client.create_run(exp_id, run_name=run.name, start_time=int(run.wall_time * 1000))
        run_id = created.info.run_id
        params = [Param(k, str(v)) for k, v in run.params.items()]
        tags = [RunTag(k, str(v)) for k, v in run.tags.items()]
        metrics = [Metric(k, v, int(w * 1000), s) for k, s, v, w in run.points()]
        client.log_batch(run_id, params=params, tags=tags)
        for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics a call
            client.log_batch(run_id, metrics=metrics[i : i + 1000])
        client.set_terminated(run_id, "FINISHED", end_time=int(run.wall_time * 1000))


def write_aim(root: Path, runs: list[TrackedRun], experiment: str = "examples") -> None:
    """Every run into a new Aim repository at *root* (the folder that will hold .aim), written by
    aim's SDK without its status reporter, in a child process whose every step has a limit
    (labbook.runner.aimwrite.write_aim_runs); indexed at the end. Attributes go to
    run["params"] and run["tags"] (dicts); each scalar key is one metric with an empty context."""
    from labbook.runner.aimwrite import AimRun, AimSeries, write_aim_runs

    specs = []
    for run in runs:
        series = tuple(
            AimSeries(
                context={},
                steps=np.asarray(steps, dtype=int),
                epochs=np.asarray(steps, dtype=int),
                values={key: np.asarray(values, dtype=float)},
            )
            for key, (steps, values) in run.scalars.items()
        )
        attrs = {"params": dict(run.params), "tags": dict(run.tags)}
        specs.append(AimRun(run.name, experiment, (), attrs, series))
    Path(root).mkdir(parents=True, exist_ok=True)
    write_aim_runs(Path(root), specs, init=True, index=True)


WANDB_SECONDS = 60.0  # limit of a W&B writing process: starting it, plus RUN_SECONDS per run
WANDB_RUN_SECONDS = 5.0
WANDB_SETTINGS = {  # offline, silent, and nothing written but the run: no console capture, no
    "mode": "offline",  # system metrics, no machine or git information, no code
    "silent": True,
    "console": "off",
    "x_disable_stats": True,
    "x_disable_meta": True,
    "x_disable_machine_info": True,
    "save_code": False,
    "disable_git": True,
}


def _wandb_attributes(run: TrackedRun) -> tuple[dict, list[str]]:
    """(config, W&B tags) of *run*: params and the tags with a value other than True go to the
    config (a W&B tag is a label without a value), tags whose value is True become W&B tags."""

    def plain(v):
        return v.item() if isinstance(v, np.generic) else v

    labels = [k for k, v in run.tags.items() if plain(v) is True]
    config = {k: plain(v) for k, v in run.params.items()}
    for k, v in run.tags.items():
        if k in labels:
            continue
        if k in config:
            raise ValueError(f"run {run.name!r}: {k!r} is both a param and a tag (one W&B config)")
        config[k] = plain(v)
    return config, labels


def _wandb_child() -> None:
    """The writing process of `write_wandb`: (root, runs, project) pickled on stdin."""
    import pickle
    import sys

    import wandb

    root, runs, project = pickle.load(sys.stdin.buffer)
    settings = wandb.Settings(**WANDB_SETTINGS)
    for spec in runs:
        config, labels = _wandb_attributes(spec)
        run = wandb.init(
            dir=root, project=project, name=spec.name, config=config, tags=labels, settings=settings
        )
        rows: dict[int, dict] = {}
        for key, step, value, wall in spec.points():
            rows.setdefault(step, {"_timestamp": wall})[key] = value
        for step in sorted(rows):
            run.log(rows[step], step=step)
        run.finish()
    wandb.teardown()


def write_wandb(root: Path, runs: list[TrackedRun], project: str = "examples") -> None:
    """Every run as an offline W&B run folder under *root*/wandb/ (*root* created), written by
    wandb itself: wandb.init(mode="offline") with the config and tags below, run.log of each
    step's values (in step order, `_timestamp` the run's wall time + step), run.finish. The
    writing happens in a child process leading its own process group (wandb starts its service,
    wandb-core, in it), with WANDB_* folders in a temporary folder (nothing written in the home
    folder; the links wandb-core leaves in each run's logs/ to its debug log there are removed
    with it); the group is killed after WANDB_SECONDS + WANDB_RUN_SECONDS per run (RuntimeError
    naming the store). Params and the tags with a value other than True go to the run's config,
    tags whose value is True become W&B tags (labels): see the table in the module docstring."""
    import os
    import pickle
    import signal
    import subprocess
    import sys
    import tempfile

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for run in runs:
        _wandb_attributes(run)  # a param that is also a tag fails here, before wandb starts
    limit = WANDB_SECONDS + WANDB_RUN_SECONDS * len(runs)
    code = "from labbook.runner.trackerwrite import _wandb_child; _wandb_child()"
    with tempfile.TemporaryDirectory(prefix="wandb-home-") as home:
        env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_CONSOLE="off")
        env.update({f"WANDB_{d}_DIR": home for d in ("CONFIG", "CACHE", "DATA", "ARTIFACT")})
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(pickle.dumps((str(root), runs, project)), timeout=limit)
        except subprocess.TimeoutExpired:
            out = b""
            raise RuntimeError(
                f"writing the W&B runs {root}: not done within {limit:g} s — killed"
            ) from None
        finally:
            try:  # the group: wandb-core too, if it outlived the writer
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait(10)
        for link in root.glob("wandb/*/logs/*"):  # wandb-core's debug log, linked into the home
            if link.is_symlink() and os.readlink(link).startswith(home):  # about to be removed
                link.unlink()
    if proc.returncode != 0:
        tail = out.decode(errors="replace")[-3000:]
        raise RuntimeError(f"writing the W&B runs {root} failed ({proc.returncode}):\n{tail}")


STORES = {  # tracker -> (the store's path under the root write_store is given, its writer)
    "tensorboard": ("", write_tensorboard),
    "mlflow": ("mlflow.db", write_mlflow),
    "aim": ("", write_aim),
    "wandb": ("", write_wandb),
}


def write_store(tracker: str, root: Path, runs: list[TrackedRun]) -> str:
    """*runs* written into a new store of *tracker* ("tensorboard", "mlflow", "aim" or "wandb",
    the keys of STORES) at *root* (created) by that tracker's writer above; returns the `source`
    that reads it back, "<tracker>:<path>" (TensorBoard, Aim, W&B: *root*; MLflow: the SQLite
    database *root*/mlflow.db), *root* as given (relative stays relative)."""
    if tracker not in STORES:
        raise ValueError(f"no writer for the tracker {tracker!r}; trackers: {', '.join(STORES)}")
    name, write = STORES[tracker]
    location = Path(root) / name if name else Path(root)
    Path(root).mkdir(parents=True, exist_ok=True)
    write(location, runs)
    return f"{tracker}:{location}"
