"""What a report's kernel hands the runner: the names both sides must agree on, defined once.

The analysis core writes them (`labbook.report`); the runner reads them (`labbook.runner`). Neither
side imports the other for these.
"""

# Output metadata: every output the report shows carries {META_KEY: {...}} in its metadata,
# which the PDF is typeset from. Keys inside it: "figure" (name, width_in, height_in,
# repairs), "message" (warning, note, error), "findings" (True).
META_KEY = "labbook"
TABLE_MIME = "application/vnd.labbook.table+json"  # a shown table, as pandas' split JSON

# The record Report.finish() writes into the output folder and the runner turns into provenance and
# make dependencies; the runner removes the file once it has read it.
RECORD_FILE = "inputs.json"
# Its keys: inputs read [{path, sha256, bytes}], warnings shown, figure problems left, figure
# repairs made [{figure, kind, detail}], whether any input is the project's example data, and the
# lines describing the real training runs read (shown where the example-data banner would be).
RECORD_KEYS = ("inputs", "warnings", "figure_problems", "figure_repairs", "example_data", "trained")


def empty_record() -> dict:
    """The record of a report whose kernel wrote none (it failed before Report.finish())."""
    return {
        "inputs": [],
        "warnings": [],
        "figure_problems": [],
        "figure_repairs": [],
        "example_data": False,
        "trained": [],
    }


# The folder a report is built in, beside its final folder reports/<notebook>/<variant>/, swapped
# into place when the build ends; a kernel writes there, so its report's name is read from it.
STAGING = ".{variant}.tmp.{pid}"


def staging_folder(variant: str, pid: int) -> str:
    """The name of the folder the build of *variant* by process *pid* writes into."""
    return STAGING.format(variant=variant, pid=pid)


def report_name(folder, notebook: str) -> str:
    """The report "<notebook>/<variant>" whose output *folder* is (its final folder, or the
    staging folder it is built in)."""
    name = str(folder).rstrip("/").rsplit("/", 1)[-1]
    prefix, _, tail = name.rpartition(".tmp.")
    if name.startswith(".") and prefix and tail.isdigit():
        name = prefix[1:]
    return f"{notebook}/{name}"
