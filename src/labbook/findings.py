"""Findings: sentences computed from results. Each sentence is a template filled with numbers;
the numbers are kept so findings.json carries every value the text quotes, and each finding carries
structured fields besides its sentence (verdict, winner, ranking) that a program can compare
without reading the sentence (e.g. the change report)."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

# What a finding concludes, in one word (None: a description that compares nothing):
VERDICTS = (
    "separated",  # the top method is better than every other compared (claim policy)
    "not_separated",  # the evidence does not tell the top method apart from some other
    "untested",  # too few runs for a test (a single seed on a side)
    "only_one",  # a single method: nothing was compared
    "better",  # versus: x is better than y
    "worse",  # versus: x is worse than y
    "pass",  # a check passed
    "fail",  # a check failed
    "rises",  # a trend whose interval lies above zero
    "falls",  # a trend whose interval lies below zero
    "flat",  # a trend whose interval contains zero
)


@dataclass(frozen=True)
class Claim:
    """A sentence and what it concludes: *values* are every number it quotes (JSON scalars or
    lists of them); *verdict* one of VERDICTS or None; *winner* the method the sentence names as
    better, only when the evidence supports it; *ranking* methods from best to worst by the
    statistic the sentence ranks by (None when it ranks nothing)."""

    text: str
    values: dict
    verdict: str | None = None
    winner: str | None = None
    ranking: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")


@dataclass
class Finding:
    key: str
    text: str
    values: dict
    verdict: str | None = None
    winner: str | None = None
    ranking: list[str] | None = None

    def markdown(self) -> str:
        return f"- {self.text}"

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "values": self.values,
            "verdict": self.verdict,
            "winner": self.winner,
            "ranking": self.ranking,
        }


def finding(key: str, claim: Claim) -> Finding:
    """The finding *key* that states *claim* (values checked to be JSON)."""
    clean = {k: _jsonable(v, f"{key}.{k}") for k, v in claim.values.items()}
    ranking = None if claim.ranking is None else [str(m) for m in claim.ranking]
    return Finding(key, claim.text, clean, claim.verdict, claim.winner, ranking)


def described(key: str, template: str, **values) -> Finding:
    """A finding that describes without comparing: *template* uses str.format fields, e.g.
    "{method} peaks at epoch {epoch}"."""
    return finding(key, Claim(template.format(**values), values))


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)

    def add(self, key: str, template: str, **values) -> Finding:
        """Add a finding. *template* uses str.format fields,
        e.g. "{method} leads by {margin:.2f} pp".

        Values must be JSON scalars (str, int, float, bool, None) or lists of them.
        """
        return self.append(described(key, template, **values))

    def add_text(self, key: str, text: str, values: dict) -> Finding:
        """Add a finding whose text is already written; *values* as in add."""
        return self.append(finding(key, Claim(text, values)))

    def add_claim(self, key: str, claim: Claim) -> Finding:
        """Add a claim (e.g. from ranking_claim or versus_claim) under *key*."""
        return self.append(finding(key, claim))

    def append(self, item: Finding) -> Finding:
        if any(f.key == item.key for f in self.items):
            raise ValueError(f"finding {item.key!r} was added twice")
        self.items.append(item)
        return item

    def markdown(self) -> str:
        return "\n".join(f.markdown() for f in self.items)

    def as_dict(self) -> dict:
        return {f.key: f.as_dict() for f in self.items}

    def write(self, path: Path) -> None:
        Path(path).write_text(
            json.dumps(self.as_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
        )


def _jsonable(v, where: str):
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):  # numpy scalar
        v = v.item()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, where) for x in v]
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if v is None or isinstance(v, (str, int, bool)):
        return v
    raise TypeError(f"finding value {where} has type {type(v).__name__}; use a number or a string")


# ---------------------------------------------------------------- the claim policy
# A sentence ranks methods, or says "best", "beats" or "better", only when the pairwise evidence
# clears the bar: Welch's t-test at alpha = 1 - confidence, Holm-corrected over the pairs compared
# (stats.compare). Otherwise it says the methods cannot be told apart at this number of runs, with
# the numbers. Every comparative sentence states n and the interval it uses.


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 seed', '3 seeds' (or *many* for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def listing(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    return (
        items[0]
        if len(items) == 1
        else ", ".join(items[:-1]) + " and " + items[-1]
        if items
        else ""
    )


def _fmt(value: float, spec: str) -> str:
    return format(value, spec)


def top_set(samples, evidence, higher_is_better: bool = True) -> dict:
    """Who the top method is and whom it cannot be told apart from, by the claim policy.

    samples: {method: 1-D scores}; evidence: stats.compare over every pair of them. Returns
    best (the best mean), ranking (every method from the best mean to the worst), beats (the
    methods the best is separated from and better than, in evidence order), ties (the others,
    in evidence order) and tied: the best and its ties in ranking order (just the best when the
    top is separated: then "tied" is a set of one)."""
    import numpy as np

    means = {m: float(np.mean(v)) for m, v in samples.items()}
    best = (max if higher_is_better else min)(means, key=means.get)
    ranking = tuple(sorted(means, key=lambda m: -means[m] if higher_is_better else means[m]))
    ev = evidence[(evidence["x"] == best) | (evidence["y"] == best)]
    other = [y if x == best else x for x, y in zip(ev["x"], ev["y"])]
    better = ev["diff"].where(ev["x"] == best, -ev["diff"])
    better = better > 0 if higher_is_better else better < 0
    beats = [o for o, sep, b in zip(other, ev["separated"], better) if sep and b]
    ties = [o for o in other if o not in beats]
    tied = tuple(m for m in ranking if m == best or m in ties)
    return {"best": best, "ranking": ranking, "beats": beats, "ties": ties, "tied": tied}


def ranking_claim(
    samples,
    evidence,
    what: str,
    unit: str = "seed",
    confidence: float = 0.95,
    spec: str = ".2f",
    higher_is_better: bool = True,
    suffix: str = "",
) -> Claim:
    """The sentence about the top method, by the claim policy, with the numbers it quotes; its
    winner is the top method only when it is better than every other compared.

    samples: {method: 1-D scores (one per run/seed)}, in any order; evidence: stats.compare over
    every pair of them. The top method is the one with the best mean (top_set); it is called
    better than another only where the pair is separated. When some method cannot be told apart
    from it, the sentence opens by saying the top is tied and with whom, before any mean
    (values "tied": the tied methods in mean order); when none, it names the methods it is
    better than."""
    import numpy as np

    from labbook import stats

    means = {m: float(np.mean(v)) for m, v in samples.items()}

    def _fmt(value, spec):  # numbers in this sentence carry the unit suffix
        return format(value, spec) + suffix

    top = top_set(samples, evidence, higher_is_better)
    best, ranking = top["best"], top["ranking"]
    n = {m: int(np.size(v)) for m, v in samples.items()}
    values = {
        "best": best,
        "mean": means[best],
        "n": n[best],
        "confidence": confidence,
        "methods": len(samples),
    }
    highest = "highest" if higher_is_better else "lowest"
    if len(samples) == 1:
        return Claim(
            f"Only {best} was compared ({what} {_fmt(means[best], spec)}, "
            f"{plural(n[best], unit)}).",
            values,
            verdict="only_one",
            ranking=ranking,
        )
    if all(k == 1 for k in n.values()):
        text = (
            f"{best} has the {highest} {what} "
            f"({_fmt(means[best], spec)}), but every method has a single {unit}: with no interval "
            "and no test, this order is not evidence that one method is better."
        )
        ties = [m for m in samples if m != best]
        return Claim(text, dict(values, beats=[], ties=ties), "untested", ranking=ranking)
    _, lo, hi = (
        stats.mean_ci(samples[best], confidence)
        if n[best] > 1
        else (None, float("nan"), float("nan"))
    )
    ev = evidence[(evidence["x"] == best) | (evidence["y"] == best)]
    other = [y if x == best else x for x, y in zip(ev["x"], ev["y"])]
    beats, ties = top["beats"], top["ties"]
    p_of = dict(zip(other, ev["p_holm"]))
    interval = (
        f"{confidence:.0%} t-interval {_fmt(lo, spec)}–{_fmt(hi, spec)}, " if n[best] > 1 else ""
    )
    alpha = 1 - confidence
    tests = (
        f"Welch t-tests, Holm-corrected over {plural(len(evidence), 'pair')}, at α = {alpha:.2g}"
    )
    values.update(
        lower=lo,
        upper=hi,
        beats=beats,
        ties=ties,
        alpha=alpha,
        p_holm=[float(p_of[o]) for o in other],
        compared_with=list(other),
    )
    if not ties:
        text = (
            f"{best} has the {highest} mean {what}, {_fmt(means[best], spec)} "
            f"({interval}{plural(n[best], unit)}) and is better than every other method "
            f"compared ({listing(sorted(beats, key=ranking.index))}; {tests})."
        )
        return Claim(text, dict(values, tied=[best]), "separated", winner=best, ranking=ranking)
    tie_text = listing(
        f"{t} (p = {p_of[t]:.2g})" if p_of[t] == p_of[t] else f"{t} (one {unit}: no test)"
        for t in sorted(ties, key=ranking.index)
    )
    text = (
        f"Tied at the top: {best} has the {highest} mean {what}, but it cannot be told apart from "
        f"{tie_text} at this number of {unit}s ({tests}). Its mean is {_fmt(means[best], spec)} "
        f"({interval}{plural(n[best], unit)})"
    )
    text += (
        f"; it is better than {listing(sorted(beats, key=ranking.index))}."
        if beats
        else "; no method is separated from it."
    )
    return Claim(text, dict(values, tied=list(top["tied"])), "not_separated", ranking=ranking)


def versus_claim(
    row,
    what: str,
    unit: str = "seed",
    confidence: float = 0.95,
    spec: str = "+.2f",
    scale: float = 1.0,
    points: str = "points",
) -> Claim:
    """One pair's sentence from a stats.compare row: the difference with its Welch t-interval and
    p, and a verdict that follows the claim policy (x better, x worse, or not told apart)."""
    x, y = row["x"], row["y"]
    d, lo, hi = (scale * row[k] for k in ("diff", "diff_lower", "diff_upper"))
    values = {
        "x": x,
        "y": y,
        "diff": d,
        "lower": lo,
        "upper": hi,
        "p": row["p"],
        "p_holm": row["p_holm"],
        "n_x": int(row["n_x"]),
        "n_y": int(row["n_y"]),
        "confidence": confidence,
    }
    counts = (
        f"n = {row['n_x']}" if row["n_x"] == row["n_y"] else f"n = {row['n_x']} and {row['n_y']}"
    )
    if row["p"] != row["p"]:  # no test: a single run on a side
        return Claim(
            f"{x} vs. {y}: {_fmt(d, spec)} {points} in {what} (single {unit} on a side: no "
            "interval, no test, so no claim either way).",
            values,
            "untested",
        )
    kind = (
        "better"
        if row["separated"] and d > 0
        else "worse"
        if row["separated"] and d < 0
        else "not_separated"
    )
    verdict = (
        f"the two cannot be told apart at this number of {unit}s"
        if kind == "not_separated"
        else f"{x} is {kind}"
    )
    text = (
        f"{x} vs. {y}: {_fmt(d, spec)} {points} in {what} ({confidence:.0%} Welch t-interval "
        f"{_fmt(lo, spec)} to {_fmt(hi, spec)}, p = {row['p']:.2g}, Holm-corrected "
        f"{row['p_holm']:.2g}, {counts} {unit}s): {verdict}."
    )
    winner = x if kind == "better" else y if kind == "worse" else None
    return Claim(text, values, kind, winner=winner)


def time_verdict(row) -> str:
    """What a stats.log_compare row (times or latencies of x against y, lower is better) allows
    a sentence to say: "better" (x is faster: the test on log times separates the pair and the
    ratio of the geometric means and that of the medians are both below 1), "worse" (both above
    1), "not_separated" (not separated, or separated while the medians point the other way:
    then a few values decide the direction, not the bulk), "untested" (one value on a side)."""
    if row["p"] != row["p"]:
        return "untested"
    if not row["separated"]:
        return "not_separated"
    medians = row["median_x"] / row["median_y"]
    if row["ratio"] < 1 and medians < 1:
        return "better"
    if row["ratio"] > 1 and medians > 1:
        return "worse"
    return "not_separated"


def time_claim(
    row,
    what: str,
    unit: str = "run",
    confidence: float = 0.95,
    fmt=lambda seconds: f"{1000 * seconds:.3f} ms",
    of_one_run: bool = False,
) -> Claim:
    """One pair of timings by the claim policy, from a stats.log_compare row (x against y, lower
    is better): the medians (*fmt* writes a time given in seconds), the ratio of the geometric
    means with its Welch t-interval on log times and p, and a verdict by time_verdict (x faster:
    "better", winner x; slower: "worse", winner y). *of_one_run*: the values are epochs or
    repeats of one run each, said so: the test is then over those, not over replicates."""
    x, y = row["x"], row["y"]
    verdict = time_verdict(row)
    values = {
        "x": x,
        "y": y,
        "median_x": row["median_x"],
        "median_y": row["median_y"],
        "ratio": row["ratio"],
        "lower": row["ratio_lower"],
        "upper": row["ratio_upper"],
        "p": row["p"],
        "p_holm": row["p_holm"],
        "n_x": int(row["n_x"]),
        "n_y": int(row["n_y"]),
        "confidence": confidence,
    }
    n_x, n_y = values["n_x"], values["n_y"]
    counts = f"n = {n_x}" if n_x == n_y else f"n = {n_x} and {n_y}"
    counts += f" {unit}s" + (" of one run each, not replicates" if of_one_run else "")
    head = f"{x} vs. {y}: median {what} {fmt(row['median_x'])} against {fmt(row['median_y'])}"
    if verdict == "untested":
        text = f"{head} (a single {unit} on a side: no interval, no test, so no claim either way)."
        return Claim(text, values, verdict)
    evidence = (
        f"ratio of geometric means {row['ratio']:.2f}, {confidence:.0%} Welch t-interval on log "
        f"times {row['ratio_lower']:.2f} to {row['ratio_upper']:.2f}, p = {row['p']:.2g}, "
        f"Holm-corrected {row['p_holm']:.2g}, {counts}"
    )
    if verdict == "better":
        tail = f"{x} is faster"
    elif verdict == "worse":
        tail = f"{x} is slower"
    elif row["separated"]:
        tail = "the test and the medians disagree on which is faster, so neither is claimed"
    else:
        tail = f"the two cannot be told apart at this number of {unit}s"
    text = f"{head} ({evidence}): {tail}."
    winner = x if verdict == "better" else y if verdict == "worse" else None
    return Claim(text, values, verdict, winner=winner)


def trend_verdict(trend: dict) -> str:
    """'rises', 'falls' or 'flat' for a stats.linear_trend result: a direction only when its whole
    interval lies on one side of zero (a constant is flat; an interval that could not be computed,
    n < 3, is flat too: no direction is claimed)."""
    lo, hi = trend["lower"], trend["upper"]
    if lo == lo and lo > 0:
        return "rises"
    if hi == hi and hi < 0:
        return "falls"
    return "flat"


def trend_claim(
    trend: dict,
    what: str,
    against: str,
    words: tuple[str, str] = ("rises", "falls"),
    per: str = "per unit",
    scale: float = 1.0,
    spec: str = "+.2f",
    confidence: float = 0.95,
    unit: str = "point",
) -> Claim:
    """The sentence about a least-squares trend (stats.linear_trend over n points): a direction
    only when the t-interval of the slope excludes zero, else "shows no clear trend" with the
    interval; with fewer than 3 points no interval exists and no direction is claimed.
    *words*: the verbs for up and down ("grows", "shrinks"); *scale* multiplies the slope and its
    interval (e.g. 100 for percentage points); *per*: what one step of the slope is."""
    verdict = trend_verdict(trend)
    slope, lo, hi = (scale * trend[k] for k in ("slope", "lower", "upper"))
    n = int(trend["n"])
    values = {"slope": slope, "lower": lo, "upper": hi, "n": n, "confidence": confidence}
    if n < 2:
        text = f"{what} has a single {unit}: no trend with {against} can be measured."
        return Claim(text, values, "flat")
    if trend["lower"] == trend["upper"] == 0:
        text = f"{what} does not change with {against} (the same value at all {plural(n, unit)})."
        return Claim(text, values, "flat")
    if not (trend["lower"] == trend["lower"]):  # n < 3: no interval
        text = (
            f"{what}: slope {format(slope, spec)} {per} of {against} over only "
            f"{plural(n, unit)}: too few for an interval, so no trend is claimed."
        )
        return Claim(text, values, "flat")
    head = {"rises": words[0], "falls": words[1]}.get(verdict, "shows no clear trend")
    text = (
        f"{what} {head} with {against}: {format(slope, spec)} {per} ({confidence:.0%} CI "
        f"{format(lo, spec)} to {format(hi, spec)}, {plural(n, unit)})."
    )
    return Claim(text, values, verdict)
