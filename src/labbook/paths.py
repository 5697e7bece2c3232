"""Every folder the project uses, defined once from this file's location (never from the cwd)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "labbook"
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
REPORTS = ROOT / "reports"
EXAMPLES = ROOT / "examples"
CACHE = ROOT / ".cache" / "labbook"
TEMPLATES = SRC / "runner" / "templates"  # report page, gallery, `make new`

KERNEL_NAME = "labbook"


def notebook_path(notebook: str) -> Path:
    """notebooks/<notebook>.ipynb"""
    return NOTEBOOKS / f"{notebook}.ipynb"


def params_path(notebook: str, variant: str) -> Path:
    """params/<notebook>/<variant>.yaml"""
    return PARAMS / notebook / f"{variant}.yaml"


def report_dir(notebook: str, variant: str) -> Path:
    """reports/<notebook>/<variant>/"""
    return REPORTS / notebook / variant


def resolve_input(path: str | Path) -> Path:
    """An input path from a params file: absolute as given, relative ones from the repo root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p


def relative(path: str | Path) -> str:
    """*path* relative to the repo root when it lies inside it, else as given (for reports and
    make)."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def shorten(text: str) -> str:
    """*text* with every absolute path inside the repo written relative to its root (for messages
    shown in reports: no machine paths for the project's own files)."""
    return str(text).replace(f"{ROOT}/", "")


def is_example_input(path: Path) -> bool:
    """True when *path* lies in the project's example-data folder."""
    try:
        Path(path).resolve().relative_to(EXAMPLES.resolve())
        return True
    except ValueError:
        return False
