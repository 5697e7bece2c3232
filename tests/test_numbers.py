"""labbook.numbers: the macros of the numbers a report's findings quote (numbers.tex/.typ)."""

import numpy as np
import pytest

from labbook import contract, numbers, stats
from labbook.findings import Findings, ranking_claim, versus_claim

REPORT = "credit_assignment/digits"


def _findings(seed: int) -> dict:
    """Findings made by the claim policy and a template from seeded scores (fractions)."""
    rng = np.random.default_rng(seed)
    samples = {
        "BP": 0.97 + 0.004 * rng.standard_normal(5),
        "FA": 0.93 + 0.004 * rng.standard_normal(5),
        "DFA": 0.95 + 0.004 * rng.standard_normal(5),
    }
    out = Findings()
    evidence = stats.compare(samples)
    out.add_claim("ranking", ranking_claim(samples, evidence, "test accuracy", spec=".1%"))
    row = stats.compare(samples, [("FA", "BP")]).to_dict("records")[0]
    out.add_claim("margin_fa", versus_claim(row, "test accuracy", scale=100, spec="+.1f"))
    out.add(
        "layers_cifar10",
        "{method} is closest to BP in layer {layer} (cosine {value:.2f}, {n} seeds)",
        method="DFA",
        layer=3,
        value=float(rng.uniform(0.5, 0.9)),
        n=5,
    )
    return out.as_dict()


def _by_name(items):
    return {m.name: m.value for m in items}


def test_names_are_letters_with_digits_spelled():
    assert numbers.camel("moe_analysis/cifar10", "layer3", "p_holm") == (
        "moeAnalysisCifarTenLayerThreePHolm"
    )
    assert numbers.spell("0") == "Zero"
    assert numbers.spell("19") == "Nineteen"
    assert numbers.spell("123") == "OneHundredTwentyThree"
    assert numbers.spell("2001") == "TwoThousandOne"
    assert numbers.spell("07") == "ZeroSeven"
    assert numbers.camel("ünïcode", "α_max") == "unicodeMax"
    with pytest.raises(ValueError, match="no letters"):
        numbers.camel("α", "—")


def test_each_number_prints_as_its_sentence_does():
    found = _findings(0)
    m = _by_name(numbers.macros(REPORT, found))
    text = found["ranking"]["text"]
    values = found["ranking"]["values"]
    # the top method's mean, a fraction printed as a percentage with one decimal
    assert m["creditAssignmentDigitsRankingMean"] == format(values["mean"], ".1%")
    assert m["creditAssignmentDigitsRankingMeanRaw"] == values["mean"]
    lower, upper = (format(values[k], ".1%") for k in ("lower", "upper"))
    assert m["creditAssignmentDigitsRankingLower"] == lower
    assert m["creditAssignmentDigitsRankingInterval"] == f"{lower}–{upper}"
    assert m["creditAssignmentDigitsRankingConfidence"] == "95%"
    assert m["creditAssignmentDigitsRankingBest"] == "BP"
    assert m["creditAssignmentDigitsRankingN"] == "5"
    for item in numbers.macros(REPORT, found):  # every printed macro is a piece of its sentence
        if item.finding == "ranking" and item.note == "as the sentence prints it":
            assert item.value in text, item.name
    assert m["creditAssignmentDigitsRankingBeatsOne"] == "FA"  # the sentence names whom it beats
    margin = found["margin_fa"]["values"]
    assert m["creditAssignmentDigitsMarginFaDiff"] == format(margin["diff"], "+.1f")
    assert m["creditAssignmentDigitsMarginFaDiff"].startswith("-")
    assert m["creditAssignmentDigitsMarginFaP"] == format(margin["p"], ".2g")
    assert m["creditAssignmentDigitsMarginFaInterval"] == (
        f"{margin['lower']:+.1f} to {margin['upper']:+.1f}"
    )
    layer = found["layers_cifar10"]["values"]
    assert m["creditAssignmentDigitsLayersCifarTenValue"] == format(layer["value"], ".2f")
    assert m["creditAssignmentDigitsLayersCifarTenLayer"] == "3"


def test_a_number_is_found_only_as_a_whole_printed_number():
    sentence = "FA vs. BP: -1.8 points, layer3, 0.50 and 13 (mean 96.50% over 5 seeds)"
    printed = [sentence[a:b] for a, b in numbers.tokens(sentence)]
    assert printed == ["-1.8", "0.50", "13", "96.50%", "5"]  # sign and % belong to the number
    assert numbers.distance(1.8, "-1.8") is None  # the sign is printed
    assert numbers.distance(0.5, "0.50") == 0
    assert numbers.distance(96.5, "96.50%") == 0  # a unit after the number
    assert numbers.distance(0.965, "96.5%") == pytest.approx(0)  # a fraction as a percentage
    assert numbers.distance(3, "3.00") is None  # a count prints as an integer
    assert numbers.distance(12.58, "12.6×") == pytest.approx(0.02)  # a ratio with its sign
    speed = {"k": {"text": "12.6× faster: 14.2 s", "values": {"speedup": 12.58, "t": 14.2}}}
    m = _by_name(numbers.macros("nb/v", speed))
    assert (m["nbVKSpeedup"], m["nbVKT"]) == ("12.6×", "14.2")
    assert numbers.spans("FA", "DFA beats FA") == [(10, 12)]


def test_each_value_takes_the_number_that_prints_it_most_closely():
    # 0.95 also rounds to "+0.9" (the upper bound) and 0.6965 to "1" (a count): the closer
    # printed number wins, and each number goes to one value while another is left
    sentence = "-0.8 to +0.9 (95% interval, 0.68–0.70 over 1 pair, p = 0.91, Holm 0.91)"
    values = {"conf": 0.95, "upper": 0.87, "hi": 0.6965, "p": 0.9113, "p_holm": 0.9113, "pairs": 1}
    got = {k: sentence[a:b] for k, (a, b) in numbers.assign(values, sentence).items()}
    assert got == {
        "conf": "95%",
        "upper": "+0.9",
        "hi": "0.70",
        "p": "0.91",
        "p_holm": "0.91",
        "pairs": "1",
    }
    both = numbers.assign({"lo": 0.277, "first": 0.277}, "0.28 and 1.00")
    assert both["lo"] == both["first"] == (0, 4)  # one number printed for two values


def test_units_of_raw_values():
    found = _findings(1)
    notes = {m.name: m.note for m in numbers.macros(REPORT, found)}
    assert "fraction" in notes["creditAssignmentDigitsRankingMeanRaw"]
    assert notes["creditAssignmentDigitsMarginFaDiffRaw"].endswith("unit: points")
    assert notes["creditAssignmentDigitsRankingNRaw"].endswith("unit: seeds")
    percent = {"k": {"text": "top-1 accuracy 91.20% (5 seeds)", "values": {"acc": 91.2}}}
    assert numbers.macros("r/v", percent)[1].note.endswith("unit: percent")


def test_changing_only_the_numbers_renames_nothing():
    found = [_findings(s) for s in range(8)]
    assert {f["ranking"]["verdict"] for f in found} == {"separated"}  # the same sentences
    names = [{m.name for m in numbers.macros(REPORT, f)} for f in found]
    assert all(n == names[0] for n in names)
    assert len(names[0]) > 30
    values = [numbers.values(REPORT, _findings(s)) for s in (0, 1)]
    assert (
        values[0]["creditAssignmentDigitsRankingMean"]
        != (values[1]["creditAssignmentDigitsRankingMean"])
    )


def test_unprinted_numbers_keep_their_macro_and_lists_are_numbered():
    found = {
        "k": {
            "text": "cosines 0.81, 0.72 and 0.65 in layers 1, 2 and 3.",
            "values": {"values": [0.8134, 0.7188, 0.6511], "layers": [1, 2, 3], "unused": 42.5},
        }
    }
    m = _by_name(numbers.macros("nb/v", found))
    assert m["nbVKValuesTwo"] == "0.72"
    assert m["nbVKLayersThree"] == "3"
    assert m["nbVKUnusedRaw"] == 42.5
    assert m["nbVKUnused"] == "42.5"  # not in the sentence: three significant digits


def test_two_fields_with_one_name_are_an_error():
    found = {"a": {"text": "1 and 2", "values": {"b_c": 1, "bC": 2}}}
    with pytest.raises(ValueError, match="would both be the macro nbVABC"):
        numbers.macros("nb/v", found)


def test_latex_and_typst_files_escape_text():
    found = {
        "k_1": {
            "text": 'method a_b&"c" reaches 96.5% (p = 0.028)',
            "values": {"method": 'a_b&"c"', "acc": 0.965, "p": 0.028},
        }
    }
    items = numbers.macros("nb/v", found)
    tex = numbers.latex("nb/v", items, found)
    typ = numbers.typst("nb/v", items, found)
    assert "\\newcommand{\\nbVKOneAcc}{96.5\\%}" in tex
    assert "\\newcommand{\\nbVKOneAccRaw}{0.965}" in tex
    assert '\\newcommand{\\nbVKOneMethod}{a\\_b\\&"c"}' in tex
    assert "\\newcommand{\\nbVKOneP}{0.028}" in tex
    assert '#let nbVKOneAcc = "96.5%"' in typ
    assert "#let nbVKOneAccRaw = 0.965" in typ
    assert '#let nbVKOneMethod = "a_b&\\"c\\""' in typ


def test_typst_reads_the_numbers_back(tmp_path):
    import pypdf
    import typst

    found = _findings(2)
    numbers.write(tmp_path, REPORT, found)
    (tmp_path / "doc.typ").write_text(
        '#import "numbers.typ": *\n'
        "Mean #creditAssignmentDigitsRankingMean, interval #creditAssignmentDigitsRankingInterval,"
        " margin #creditAssignmentDigitsMarginFaDiff, raw #(creditAssignmentDigitsRankingMeanRaw"
        " * 100).\n"
    )
    (tmp_path / "doc.pdf").write_bytes(typst.compile(str(tmp_path / "doc.typ")))
    text = pypdf.PdfReader(tmp_path / "doc.pdf").pages[0].extract_text()
    m = _by_name(numbers.macros(REPORT, found))
    for name in ("Mean", "Interval"):
        assert m[f"creditAssignmentDigitsRanking{name}"] in text
    assert m["creditAssignmentDigitsMarginFaDiff"] in text
    assert (tmp_path / "numbers.tex").read_text().count("\\newcommand") == len(m)


def test_report_name_from_its_folder():
    assert contract.report_name("/r/reports/nb/.digits.tmp.123", "nb") == "nb/digits"
    assert contract.report_name("/r/reports/nb/digits", "nb") == "nb/digits"
    assert contract.report_name("/r/reports/nb/.a.tmp.b.tmp.9", "nb") == "nb/a.tmp.b"
    assert contract.staging_folder("digits", 123) == ".digits.tmp.123"


def test_a_sentence_with_its_numbers_as_macros():
    found = _findings(3)
    items = [m for m in numbers.macros(REPORT, found) if m.finding == "ranking"]
    pieces = numbers.sentence(found["ranking"]["text"], items)
    names = [p.name for p in pieces if isinstance(p, numbers.Macro)]
    p = "creditAssignmentDigitsRanking"
    assert names[:5] == [f"{p}Best", f"{p}Mean", f"{p}Confidence", f"{p}Interval", f"{p}N"]
    # put back together, the pieces print the sentence
    assert (
        "".join(x.value if isinstance(x, numbers.Macro) else x for x in pieces)
        == (found["ranking"]["text"])
    )


def test_an_interval_takes_the_two_numbers_printed_as_one():
    # upper (0.0809) is closer than first (0.083) to both "0.08"s: printed as an interval's end,
    # "+0.08" is upper's, and first keeps its own "0.08"
    text = "block 0: 0.08, last 0.35; +0.05 per block (95% CI +0.03 to +0.08, 6 blocks)."
    values = {"first": 0.083, "lower": 0.0268, "upper": 0.0809, "slope": 0.0538}
    got = {k: text[a:b] for k, (a, b) in numbers.assign(values, text, [("lower", "upper")]).items()}
    assert got == {"first": "0.08", "lower": "+0.03", "upper": "+0.08", "slope": "+0.05"}
    found = {"k": {"text": text, "values": values}}
    m = _by_name(numbers.macros("nb/v", found))
    assert m["nbVKInterval"] == "+0.03 to +0.08"
    lists = {"k": {"text": "0.43, 0.63 in layers 0, 1", "values": {"lo": 0.43, "hi": 0.63}}}
    m = _by_name(numbers.macros("nb/v", lists))
    assert m["nbVKInterval"] == "0.43 to 0.63"  # not printed as an interval: its ends' texts
