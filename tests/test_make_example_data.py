"""`make report R=...` and `make figures ONLY=...` generate only the example data the chosen
reports' params files read (Makefile: EXAMPLE_USES); `make figures` still generates every example
dataset. Checked with dry runs (`make -n -B`: every target out of date, nothing run)."""

import re
import subprocess

from labbook import paths

EVERY = {
    "chain_of_experts_seeds",
    "chain_of_experts_trackers",
    "sparse_training",
    "sparse_training_trackers",
    "credit_assignment",
    "credit_assignment_trackers",
    "nonlinearity_reduction",
    "nonlinearity_reduction_trackers",
    "moe_aim",
    "moe_trackers",
    "credit_assignment_digits",
    "sparse_training_digits",
    "nonlinearity_reduction_digits",
}


def _generated(*args: str) -> set[str]:
    """The example datasets a dry run of `make -B reports ARGS` would generate."""
    done = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", "reports", *args],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LABBOOK_SHARED_ENV": "1"},
    )
    assert done.returncode == 0, done.stderr
    return set(re.findall(r"-m labbook\.runner\.examples (\S+)", done.stdout))


def test_one_report_generates_only_the_example_data_it_reads():
    assert _generated("R=credit_assignment/cifar10") == {"credit_assignment"}
    assert _generated("R=moe_analysis/cifar10_tensorboard") == {"moe_trackers"}
    assert _generated("ONLY=sparse_training/*") == {
        "sparse_training",
        "sparse_training_trackers",
        "sparse_training_digits",
    }


def test_a_report_reading_no_generated_data_starts_at_once_and_every_report_gets_all():
    """chain_of_experts/example reads example files kept in git (as a user's report reads the
    user's own files): nothing is generated before it; all the reports need every dataset."""
    assert _generated("R=chain_of_experts/example") == set()
    assert _generated() == EVERY
