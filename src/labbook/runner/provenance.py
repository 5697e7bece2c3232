"""The provenance stamp of a report: git commit and dirty flag, params, inputs with sha256 (each
store once, with the tracker that wrote it), the experiment scripts that trained the real runs
read, package versions, build seconds."""

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

from labbook import paths

PACKAGES = (
    "labbook",
    "papermill",
    "nbconvert",
    "pandas",
    "numpy",
    "matplotlib",
    "seaborn",
    "scipy",
    "rliable",
    "tueplots",
    "aim",
)


GIT_TIMEOUT = 30.0  # seconds each git command may take


def git_state(root: Path = paths.ROOT, timeout: float = GIT_TIMEOUT) -> dict:
    """{"commit": sha or None, "dirty": bool or None} for the repository at *root*; with an
    "error" naming the git command when one did not finish within *timeout* seconds (the report
    then says the commit is unknown, and why)."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git(
            "status", "--porcelain", "--untracked-files=no", "--", "src", "notebooks", "params"
        )
    except subprocess.TimeoutExpired as exc:
        command = " ".join(exc.cmd[:1] + exc.cmd[3:5])
        return {
            "commit": None,
            "dirty": None,
            "error": f"`{command}` did not finish within {timeout:g} s",
        }
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def package_versions(names=PACKAGES) -> dict:
    """Installed version of each package name (None when it is not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


TRACKER_NAMES = {
    "tensorboard": "TensorBoard logs",
    "mlflow": "MLflow store",
    "aim": "Aim repository",
    "wandb": "W&B run folders",
}


def tracker(path: Path) -> str | None:
    """The tracker whose store *path* is (labbook.sources.trackers.detection), or None for a
    plain file or folder (or one that looks like more than one store)."""
    from labbook.sources.trackers import detection

    path = Path(path)
    if not path.exists():
        return None
    found = detection.detect(path)
    return found[0] if len(found) == 1 else None


def merged_inputs(inputs: list[dict]) -> list[dict]:
    """*inputs* (inputs.recorded()) with each store listed once: an entry whose sha256 is that of
    an entry for a folder holding it (an Aim repository's meta/chunks and meta/index, recorded so
    that make sees new runs) goes into that entry's "watched" list (paths relative to it)."""
    folders: dict[str, Path] = {}  # sha256 -> the outermost folder recorded with it
    for entry in sorted(inputs, key=lambda i: len(Path(i["path"]).parts)):
        if entry.get("bytes") is None:
            folders.setdefault(entry["sha256"], Path(entry["path"]))
    out = []
    for entry in inputs:
        path, outer = Path(entry["path"]), folders.get(entry["sha256"])
        if outer is not None and outer != path and outer in path.parents:
            continue
        inner = sorted(
            str(Path(i["path"]).relative_to(path))
            for i in inputs
            if i["sha256"] == entry["sha256"] and path in Path(i["path"]).parents
        )
        out.append(dict(entry, watched=inner) if inner else dict(entry))
    return out


def experiment_scripts(path: Path) -> list[Path]:
    """The scripts of examples/experiments/ that trained the runs stored at *path* (a store that
    `make examples` wrote with one of them, labbook.runner.experiments), the experiment's module
    first; [] for any other path."""
    from labbook.runner import experiments

    try:
        generated = Path(path).resolve().relative_to(paths.EXAMPLES.resolve() / "generated")
    except ValueError:
        return []
    module = experiments.GENERATED.get(generated.parts[0]) if generated.parts else None
    if module is None:
        return []
    scripts = [experiments.FOLDER / f"{module}.py", experiments.FOLDER / "common.py"]
    return [s for s in scripts if s.is_file()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stamp(
    notebook: str, variant: str, params: dict, inputs: list[dict], seconds: float, status: str
) -> dict:
    """The provenance record written to provenance.json and shown at the end of report.html:
    each input once (merged_inputs) with its "tracker" when it is a tracker's store and, for real
    runs trained by an experiment script, the scripts ("trained_by"); "experiments": those
    scripts' sha256."""
    listed, scripts = [], {}
    for entry in merged_inputs(inputs):
        row = dict(entry, path=paths.relative(entry["path"]))
        kind = tracker(Path(entry["path"]))
        if kind is not None:
            row["tracker"] = kind
        trained_by = experiment_scripts(Path(entry["path"]))
        if trained_by:
            row["trained_by"] = [paths.relative(s) for s in trained_by]
            scripts.update({paths.relative(s): _sha256(s) for s in trained_by})
        listed.append(row)
    return {
        "report": f"{notebook}/{variant}",
        "status": status,
        "git": git_state(),
        "params_file": paths.relative(paths.params_path(notebook, variant)),
        "params": params,
        "inputs": listed,
        "experiments": dict(sorted(scripts.items())),
        "packages": package_versions(),
        "seconds": round(seconds, 2),
    }


def source_line(prov: dict) -> str | None:
    """The line under a report's banner saying where its runs come from: each tracker store read
    (tracker and path) and, for real runs, the script that trained them; None when the report read
    no tracker store."""
    said = []
    for entry in prov.get("inputs", []):
        if not entry.get("tracker"):
            continue
        where = f"the {TRACKER_NAMES[entry['tracker']]} {entry['path']}"
        scripts = entry.get("trained_by") or []
        said.append(f"{where}, trained by {scripts[0]}" if scripts else where)
    return "Runs read from " + "; ".join(said) + "." if said else None
