"""The provenance stamp of a report: git commit and dirty flag, params, inputs with sha256,
package versions, build seconds."""
import html
import subprocess
from importlib import metadata
from pathlib import Path

from labbook import paths

PACKAGES = ("labbook", "papermill", "nbconvert", "pandas", "numpy", "matplotlib", "seaborn", "scipy",
            "rliable", "tueplots", "aim")


def git_state(root: Path = paths.ROOT) -> dict:
    """{"commit": sha or None, "dirty": bool or None} for the repository at *root*."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", "src", "notebooks", "params")
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


def stamp(notebook: str, variant: str, params: dict, inputs: list[dict], seconds: float, status: str) -> dict:
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


def to_markdown(prov: dict) -> str:
    """The provenance footer as Markdown (an HTML table for the inputs)."""
    git = prov["git"]
    commit = git["commit"][:12] if git["commit"] else "not a git checkout"
    dirty = " (uncommitted changes in src/, notebooks/ or params/)" if git["dirty"] else ""
    lines = [
        "## Provenance",
        "",
        f"- Report: `{prov['report']}` — status **{prov['status']}**, built in {prov['seconds']:.1f} s",
        f"- Git commit: `{commit}`{dirty}",
        f"- Params file: `{prov['params_file']}`",
        "- Params: " + ", ".join(f"`{k}` = `{html.escape(repr(v))}`" for k, v in prov["params"].items()),
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items() if v),
        "",
        "| input | sha256 | bytes |",
        "|---|---|---|",
    ]
    lines += [f"| `{i['path']}` | `{i['sha256'][:16]}…` | {i['bytes'] if i['bytes'] is not None else 'folder'} |"
              for i in prov["inputs"]]
    if not prov["inputs"]:
        lines.append("| (no input files recorded) | | |")
    return "\n".join(lines)
