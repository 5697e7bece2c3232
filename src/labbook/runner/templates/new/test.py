"""__TITLE__: the input adapter on the example file, and the params file against the notebook."""

from labbook import paths
from labbook.runner import params
from labbook.sources import scores_csv


def test_example_scores_load():
    scores = scores_csv.load(paths.EXAMPLES / "__NAME__" / "scores.csv")
    assert list(scores.columns) == ["method", "seed", "score"]
    assert scores.groupby("method")["seed"].nunique().min() >= 2  # seeds enough for intervals


def test_example_params_validate():
    values = params.validate(
        paths.params_path("__NAME__", "example"), paths.notebook_path("__NAME__")
    )
    assert values["scores_file"] == "examples/__NAME__/scores.csv"
