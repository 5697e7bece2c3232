"""The results CSV adapter (method, seed, score) used by `make new`: good and bad files."""

import hashlib

import pytest

from labbook.inputs import InputError
from labbook.sources import scores_csv


def test_good_file_and_optional_seed(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("method,seed,score\nA,0,1.5\nA,1,2.5\nB,0,3\n")
    df = scores_csv.load(p)
    assert df.to_dict("list") == {
        "method": ["A", "A", "B"],
        "seed": [0, 1, 0],
        "score": [1.5, 2.5, 3.0],
    }
    p.write_text("method,score\nA,1\nB,2\n")
    assert scores_csv.load(p)["seed"].tolist() == [0, 0]


@pytest.mark.parametrize(
    "text,match",
    [
        ("method,seed\nA,0\n", r"missing column\(s\) \['score'\]"),
        ("method,seed,score\nA,0,high\n", r"column 'score' row 2 is not a finite number: 'high'"),
        ("method,seed,score\nA,0,1\nA,0.5,2\n", r"column 'seed' row 3 is not an integer"),
        ("method,seed,score\nA,0,1\nA,0,2\n", r"row 3 repeats method 'A' seed 0"),
        ("method,seed,score\n", "no rows"),
        ("", "not a readable CSV"),
        ("method,seed,score\n,0,1\n", r"column 'method' row 2 is empty"),
        ("method,seed,score\nA,0,inf\n", r"column 'score' row 2 is not a finite number"),
    ],
)
def test_bad_file_names_file_and_column(tmp_path, text, match):
    p = tmp_path / "s.csv"
    p.write_text(text)
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=match) as err:
        scores_csv.load(p)
    assert str(p) in str(err.value) and hashlib.sha256(p.read_bytes()).hexdigest() == before
