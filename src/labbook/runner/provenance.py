"""The provenance stamp of a report: git commit and dirty flag, params, inputs with sha256,
package versions, build seconds."""

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


def stamp(
    notebook: str, variant: str, params: dict, inputs: list[dict], seconds: float, status: str
) -> dict:
    """The provenance record written to provenance.json and shown at the end of report.html."""
    return {
        "report": f"{notebook}/{variant}",
        "status": status,
        "git": git_state(),
        "params_file": paths.relative(paths.params_path(notebook, variant)),
        "params": params,
        "inputs": [dict(i, path=paths.relative(i["path"])) for i in inputs],
        "packages": package_versions(),
        "seconds": round(seconds, 2),
    }
