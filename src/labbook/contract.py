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
