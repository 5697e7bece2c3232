"""Papers built from the reports: paper/<name>.typ → paper/build/<name>.pdf (`make paper`).

    python -m labbook.runner.paper reports NAME ...    # the reports the papers use, one line
    python -m labbook.runner.paper deps NAME           # paper/build/NAME.d (make dependencies)
    python -m labbook.runner.paper build NAME          # check, typeset, say which numbers changed
    python -m labbook.runner.paper latex NAME          # paper/NAME.tex with latexmk, if on PATH
    python -m labbook.runner.paper new NAME REPORT ... # scaffold paper/NAME.typ and NAME.tex

A paper names what it uses by path from the repository root (Typst's root when it is typeset):
``#import "/reports/<notebook>/<variant>/numbers.typ": *`` brings a report's numbers (see
labbook.numbers), and ``report-figure("/reports/<nb>/<variant>", "name", [caption])`` and
``report-table("/reports/<nb>/<variant>", "name")`` (paper/labbook.typ) its figures and tables.
Every string in the paper (and in the .typ files it imports or includes from paper/) that starts
with /reports/<notebook>/<variant> names a report it uses: the paper is typeset after those
reports are built, and again when one of them is rebuilt or a file of the paper changes. Reports
never depend on a paper.

The build stops before Typst runs when the paper uses a number its report does not have (any
more): the message names the macro, the file and line, the report and the closest names it does
have. After a good build it prints every number the paper uses whose text changed since the
paper's last build (old → new) with the cause of its report's last rebuild (changes.json), and
keeps what it saw in paper/build/<name>.numbers.json for the next build.
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from labbook import markup, numbers, paths

PAPERS = paths.ROOT / "paper"  # paper/<name>.typ (and an optional LaTeX twin paper/<name>.tex)
BUILD = PAPERS / "build"
LIBRARY = "labbook.typ"  # the Typst helpers every paper imports; not a paper itself
TIMEOUT = 120.0  # seconds Typst may take to typeset a paper
_REPORT = re.compile(r"/?reports/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LOCAL = re.compile(r'#(?:import|include)\s+"([^"/][^"]*\.typ)"')
_TEX_INPUT = re.compile(r"\\(?:input|include|includegraphics)(?:\[[^\]]*\])?\{([^}]*)\}")
_WORD = re.compile(r"[A-Za-z]+")
# a Typst string (kept) or comment (dropped); "//" after ":" is a URL in markup, not a comment
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|(?<!:)//[^\n]*|/\*.*?\*/', re.S)


class PaperError(Exception):
    """A paper that cannot be built, with the reason (file, line, macro, report)."""


# ---------------------------------------------------------------- what a paper uses


def names() -> list[str]:
    """The papers: paper/<name>.typ but the helper library, by name."""
    return sorted(p.stem for p in PAPERS.glob("*.typ") if p.name != LIBRARY)


def code(text: str) -> str:
    """Typst *text* without its comments (line breaks kept, so lines keep their numbers)."""

    def keep(m: re.Match) -> str:
        return m[0] if m[0].startswith('"') else "\n" * m[0].count("\n")

    return _STRING_OR_COMMENT.sub(keep, text)


def sources(name: str) -> list[Path]:
    """paper/<name>.typ and the .typ files of paper/ it imports or includes, followed through
    theirs, each once, in order."""
    first = PAPERS / f"{name}.typ"
    if not first.exists():
        raise PaperError(f"no paper {paths.relative(first)}; papers: {', '.join(names())}")
    out, todo = [], [first]
    while todo:
        path = todo.pop(0)
        if path in out:
            continue
        out.append(path)
        for target in _LOCAL.findall(code(path.read_text())):
            found = (path.parent / target).resolve()
            if not found.exists():
                raise PaperError(f"{paths.relative(path)} imports {target}: no such file")
            todo.append(found)
    return out


def reports_in(text: str, tex: bool = False) -> list[str]:
    """The reports ("notebook/variant") a paper's *text* names, in order of first use: every
    string of a Typst source (every \\input/\\includegraphics path of a LaTeX one, *tex*) that
    starts with reports/<notebook>/<variant>, with or without a leading / or ../."""
    places = _TEX_INPUT.findall(_tex_code(text)) if tex else _STRING.findall(code(text))
    out = []
    for place in places:
        m = _REPORT.match(place.removeprefix("../"))
        if m and f"{m[1]}/{m[2]}" not in out:
            out.append(f"{m[1]}/{m[2]}")
    return out


def _tex_code(text: str) -> str:
    """LaTeX *text* without its comments (an unescaped % to the end of the line)."""
    return re.sub(r"(?<!\\)%[^\n]*", "", text)


def reports(name: str) -> list[str]:
    """The reports paper *name* uses (its Typst files, and its LaTeX twin when there is one)."""
    out = []
    for path in sources(name):
        out += [r for r in reports_in(path.read_text()) if r not in out]
    tex = PAPERS / f"{name}.tex"
    if tex.exists():
        out += [r for r in reports_in(tex.read_text(), tex=True) if r not in out]
    return out


def deps(name: str) -> str:
    """paper/build/<name>.d: the paper's PDF after the reports it uses (their make stamps) and its
    source files; the dependency file itself is made again when a source file changes."""
    pdf, dfile = (paths.relative(BUILD / f"{name}{ext}") for ext in (".pdf", ".d"))
    files = " ".join(paths.relative(p) for p in sources(name))
    stamps = " ".join(f"reports/{r}/.ok" for r in reports(name))
    return f"{pdf} {dfile}: {files}\n{pdf}: {stamps}\n"


# ---------------------------------------------------------------- the numbers a paper uses


def report_numbers(report: str) -> dict[str, str]:
    """{macro: text} of *report*'s numbers, from its findings.json (labbook.numbers.values)."""
    path = paths.REPORTS / report / "findings.json"
    if not path.exists():
        raise PaperError(f"report {report} has no findings.json: build it (make report R={report})")
    return numbers.values(report, json.loads(path.read_text()))


def used(name: str, available: dict[str, dict[str, str]]) -> tuple[dict, list[str]]:
    """The macros paper *name* uses, {macro: report}, and the problems: the words of its sources
    that start with a used report's macro prefix (labbook.numbers.camel of its name) but are none
    of that report's macros, per report, each with its file, line and the closest name the report
    has. *available*: {report: {macro: text}}."""
    prefixes = sorted(((numbers.camel(r), r) for r in available), key=lambda p: -len(p[0]))
    found, missing = {}, {}
    for path in sources(name):
        for line_no, line in enumerate(code(path.read_text()).splitlines(), 1):
            for word in _WORD.findall(line):
                owner = next((r for p, r in prefixes if word.startswith(p) and word != p), None)
                if owner is None:
                    continue
                if word in available[owner]:
                    found[word] = owner
                else:
                    where = f"{paths.relative(path)}:{line_no}"
                    missing.setdefault(owner, {}).setdefault(word, where)
    problems = []
    for report, words in missing.items():
        problems.append(_missing_head(report))
        problems += [f"  {where}: {_said(w, available[report])}" for w, where in words.items()]
    return found, problems


def _missing_head(report: str) -> str:
    return (
        f"the paper uses numbers that report {report} no longer has (its numbers.typ and "
        "numbers.tex are made from its findings.json):"
    )


def _said(word: str, have: dict) -> str:
    """*word*, with the closest names among *have* (raw values left out)."""
    close = difflib.get_close_matches(
        word, [m for m in have if not m.endswith(numbers.RAW)], n=2, cutoff=0.6
    )
    return word + (f" (closest it has: {', '.join(close)})" if close else "")


def changed(old: dict, new: dict, causes: dict[str, str]) -> list[str]:
    """The numbers whose text differs between two builds' snapshots ({macro: {report, text}}):
    per report, a line "macro: old → new (report)" each, then the report's last rebuild and its
    cause, once (*causes*: {report: that line})."""
    moved: dict[str, list[str]] = {}
    for macro in sorted(set(old) & set(new)):
        a, b = old[macro]["text"], new[macro]["text"]
        if a != b:
            report = new[macro]["report"]
            moved.setdefault(report, []).append(f"{macro}: {a} → {b} ({report})")
    lines = []
    for report in sorted(moved):
        lines += moved[report] + [f"{report}: {causes.get(report, 'cause unknown')}"]
    return lines


def cause(report: str) -> str:
    """What *report*'s last rebuild changed and why, from its change report (changes.json)."""
    path = paths.REPORTS / report / "changes.json"
    if not path.exists():
        return "no change report"
    c = json.loads(path.read_text())
    return f"rebuilt, {c.get('headline', 'changes unknown')}; cause: {c.get('cause', 'unknown')}"


# ---------------------------------------------------------------- build


def typeset(source: Path, timeout: float = TIMEOUT) -> bytes:
    """*source* typeset by Typst with the repository as its root (paths from /), offline, fonts
    from Typst's own set, the date from SOURCE_DATE_EPOCH. Raises PaperError on Typst's error
    (an unknown variable named as a number the paper uses) or after *timeout* seconds."""
    import typst

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    result: dict = {}

    def run():
        try:
            result["pdf"] = typst.compile(
                str(source), root=str(paths.ROOT), ignore_system_fonts=True, timestamp=epoch
            )
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    worker = threading.Thread(target=run, name="typst", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise PaperError(f"Typst did not typeset {paths.relative(source)} within {timeout:g} s")
    error = result.get("error")
    if error is not None:
        detail = getattr(error, "diagnostic", None) or str(error)
        raise PaperError(f"Typst could not typeset {paths.relative(source)}:\n{detail}")
    return result["pdf"]


def _unknown(error: PaperError, available: dict) -> str:
    """Typst's "unknown variable: NAME" said as a number the paper uses that its report lacks."""
    m = re.search(r"unknown variable: ([A-Za-z][\w-]*)", str(error))
    if not m:
        return str(error)
    word = m[1]
    owner = next((r for r in available if word.startswith(numbers.camel(r))), None)
    if owner is None:
        return f"{error}\n(the paper uses {word}, which no report it imports defines)"
    return f"{_missing_head(owner)}\n  {_said(word, available[owner])}\n{error}"


def build(name: str) -> list[str]:
    """Typeset paper *name* into paper/build/<name>.pdf (replaced whole, never half-written) and
    return the lines to print: the numbers it uses that changed since its last build. Raises
    PaperError naming the macro and report when it uses a number a report does not have."""
    available = {r: report_numbers(r) for r in reports(name)}
    used_now, problems = used(name, available)
    if problems:
        raise PaperError("\n".join(problems))
    try:
        pdf = typeset(PAPERS / f"{name}.typ")
    except PaperError as exc:
        raise PaperError(_unknown(exc, available)) from None
    BUILD.mkdir(exist_ok=True)
    target = BUILD / f"{name}.pdf"
    part = target.with_suffix(".pdf.part")
    part.write_bytes(pdf)
    os.replace(part, target)
    snapshot = {m: {"report": r, "text": available[r][m]} for m, r in sorted(used_now.items())}
    record = BUILD / f"{name}.numbers.json"
    old = json.loads(record.read_text()) if record.exists() else None
    record.write_text(json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    head = f"{paths.relative(target)}: {len(snapshot)} numbers from {len(available)} report(s)"
    if old is None:
        return [f"{head}; first build"]
    lines = changed(old, snapshot, {r: cause(r) for r in available})
    count = sum(1 for m in snapshot if m in old and old[m]["text"] != snapshot[m]["text"])
    if not count:
        return [f"{head}; no number the paper uses changed since its last build"]
    return [f"{head}; {count} changed since its last build:"] + [f"  {x}" for x in lines]


def latex(name: str) -> str:
    """Build paper/<name>.tex with latexmk into paper/build/latex/ when latexmk is on PATH; the
    line to print either way (no LaTeX twin, built, or latexmk missing)."""
    tex = PAPERS / f"{name}.tex"
    if not tex.exists():
        return f"{paths.relative(tex)}: no LaTeX twin of paper {name}"
    if shutil.which("latexmk") is None:
        return (
            f"{paths.relative(tex)}: latexmk is not on PATH, so the LaTeX skeleton is not built "
            f"(the Typst paper is)"
        )
    out = BUILD / "latex"
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            f"-outdir={out}",
            tex.name,
        ],
        cwd=PAPERS,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise PaperError(f"latexmk failed on {paths.relative(tex)}:\n{done.stdout[-2000:]}")
    return f"{paths.relative(out / (name + '.pdf'))}: built with latexmk"


# ---------------------------------------------------------------- scaffold


def scaffold(name: str, chosen: list[str]) -> list[Path]:
    """paper/<name>.typ and paper/<name>.tex: a paper over the reports *chosen*
    ("notebook/variant", each built) that imports each one's numbers and shows its first figure,
    its first table and its first finding's numbers, as a start. Refuses to overwrite."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or "") or name == Path(LIBRARY).stem:
        raise PaperError(f"NAME={name!r}: use lower-case letters, digits and _ (not 'labbook')")
    if not chosen:
        raise PaperError("REPORTS='notebook/variant ...': choose at least one built report")
    typ, tex = PAPERS / f"{name}.typ", PAPERS / f"{name}.tex"
    for path in (typ, tex):
        if path.exists():
            raise PaperError(f"{paths.relative(path)} exists; choose another NAME")
    parts = [_scaffold_part(r) for r in chosen]
    typ.write_text(
        _TYP_HEAD.format(title=name.replace("_", " ").capitalize()) + "".join(p[0] for p in parts)
    )
    tex.write_text(
        _TEX_HEAD.format(
            title=name.replace("_", " ").capitalize(), inputs="".join(p[2] for p in parts)
        )
        + "".join(p[1] for p in parts)
        + "\\end{document}\n"
    )
    return [typ, tex]


def _scaffold_part(report: str) -> tuple[str, str, str]:
    """The Typst section, the LaTeX section and the LaTeX \\input of one report: each of its
    findings' sentences with every number it prints written as its macro (numbers.sentence), its
    first figure and its first table."""
    folder = paths.REPORTS / report
    found = folder / "findings.json"
    if not found.exists():
        raise PaperError(f"report {report} is not built: make report R={report}")
    findings = json.loads(found.read_text())
    items = numbers.macros(report, findings)
    figures = sorted(p.stem for p in (folder / "figures").glob("*.pdf"))
    tables = sorted(p.stem for p in (folder / "tables").glob("*.tex"))
    typ = [f'\n#import "/reports/{report}/numbers.typ": *\n\n= {markup.typst(report)}\n']
    tex = [f"\n\\section{{{markup.latex(report)}}}\n"]
    for key in sorted(findings):
        pieces = numbers.sentence(findings[key]["text"], [m for m in items if m.finding == key])
        typ.append("\n" + _typst_sentence(pieces) + "\n")
        tex.append(
            "\n"
            + "".join(
                f"\\{p.name}{{}}" if isinstance(p, numbers.Macro) else markup.latex(p)
                for p in pieces
            )
            + "\n"
        )
    if figures:
        typ.append(f'\n#report-figure("/reports/{report}", "{figures[0]}", [{figures[0]}])\n')
        tex.append(
            "\n\\begin{figure}[t]\\centering\n"
            f"\\includegraphics[width=\\linewidth]{{../reports/{report}/figures/{figures[0]}.pdf}}\n"
            f"\\caption{{{markup.latex(figures[0])}}}\n\\end{{figure}}\n"
        )
    if tables:
        typ.append(f'\n#report-table("/reports/{report}", "{tables[0]}")\n')
        tex.append(f"\n\\input{{../reports/{report}/tables/{tables[0]}.tex}}\n")
    return "".join(typ), "".join(tex), f"\\input{{../reports/{report}/numbers.tex}}\n"


def _typst_sentence(pieces: list) -> str:
    """Typst markup of a sentence's pieces: text escaped, a macro as #name (as #(name) when the
    text after it would continue the name or call it)."""
    out = []
    for i, p in enumerate(pieces):
        if isinstance(p, numbers.Macro):
            after = pieces[i + 1] if i + 1 < len(pieces) else " "
            glued = isinstance(after, numbers.Macro) or re.match(r"[\w.\-(\[]", after)
            out.append(f"#({p.name})" if glued else f"#{p.name}")
        else:
            out.append(markup.typst(p))
    return "".join(out)


_TYP_HEAD = """// A paper over labbook reports: make paper builds paper/build/<this name>.pdf.
// Every number comes from a report's numbers.typ (never typed by hand); figures and tables
// from the report folders (paths from the repository root). Below, each finding's sentence with
// each number it prints written as the macro of the value printed there: where two values print
// alike (a count beside another count), check that the macro is the quantity you mean.
#import "labbook.typ": report-figure, report-table

#align(center, text(17pt)[*{title}*])
"""

_TEX_HEAD = """% The LaTeX twin of the Typst paper: built by make paper when latexmk is on PATH.
\\documentclass{{article}}
\\usepackage{{graphicx,booktabs,longtable}}
{inputs}\\title{{{title}}}
\\begin{{document}}
\\maketitle
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labbook.runner.paper")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reports").add_argument("names", nargs="*")
    sub.add_parser("deps").add_argument("name")
    sub.add_parser("build").add_argument("name")
    sub.add_parser("latex").add_argument("name")
    new = sub.add_parser("new")
    new.add_argument("name")
    new.add_argument("reports", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.command == "reports":
            found = []
            for n in args.names or names():
                found += [r for r in reports(n) if r not in found]
            unknown = [r for r in found if not paths.params_path(*r.split("/")).exists()]
            if unknown:
                raise PaperError(
                    f"no params file for report(s) {', '.join(unknown)} (params/<notebook>/"
                    "<variant>.yaml): a paper can use only reports that make builds"
                )
            print(" ".join(found))
        elif args.command == "deps":
            BUILD.mkdir(parents=True, exist_ok=True)
            (BUILD / f"{args.name}.d").write_text(deps(args.name))
        elif args.command == "build":
            print("\n".join(build(args.name)))
        elif args.command == "latex":
            print(latex(args.name))
        else:
            made = scaffold(args.name, args.reports)
            print(
                "made " + " and ".join(paths.relative(p) for p in made) + "; make paper builds it"
            )
    except PaperError as exc:
        what = f"paper/{args.name}.typ" if getattr(args, "name", None) else "make paper"
        print(f"{what}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
