"""Text from data, made safe for each language a report is written in: Markdown (and so HTML),
LaTeX and Typst (matplotlib's text needs nothing: style.paper turns mathtext off, so a ``$`` in a
name is a dollar sign). Each function makes its input print exactly as written; nothing from data
ever becomes markup, and invisible direction controls are shown as their code points.

Messages (notes, warnings, findings) are plain text in which `backticks` mark code; every other
character is literal.
"""

import html as _html
import re
import string

_MD_PUNCT = set(string.punctuation)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)
# Invisible characters that reorder or hide the text around them (bidi overrides and isolates,
# zero-width marks): shown as their code point so a name cannot disguise itself or the sentence.
_INVISIBLE = {
    c: f"⟨U+{c:04X}⟩"
    for c in (0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def visible(text: str) -> str:
    """*text* with bidi controls and zero-width marks written as ⟨U+202E⟩; everything else as is."""
    return str(text).translate(_INVISIBLE)


def markdown_text(text: str) -> str:
    """*text* as CommonMark that renders literally: every ASCII punctuation character escaped."""
    out = []
    for ch in visible(text):
        if ch in _MD_PUNCT:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("  \n")
        else:
            out.append(ch)
    return "".join(out)


def markdown_code(text: str) -> str:
    """*text* as a Markdown code span (a fence longer than any run of backticks inside it)."""
    text = visible(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_block(text: str) -> str:
    """*text* as a fenced Markdown code block (a fence longer than any run of backticks inside)."""
    text = visible(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def message_markdown(message: str) -> str:
    """A plain-text message with `code` spans as Markdown: code spans kept, the rest literal."""
    out, pos = [], 0
    for m in _CODE.finditer(message):
        out.append(markdown_text(message[pos : m.start()]))
        out.append(markdown_code(m.group(2)))
        pos = m.end()
    out.append(markdown_text(message[pos:]))
    return "".join(out)


def html(text: str) -> str:
    """*text* as HTML text (quotes escaped too, so it is safe in attributes)."""
    return _html.escape(visible(text), quote=True)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex(text: str) -> str:
    """*text* with LaTeX's special characters escaped, so it prints as written."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in visible(text))


_TYPST_SPECIAL = set("\\#*_`$<>@[]~'\"=-+/:")


def typst(text: str) -> str:
    """*text* as Typst markup that prints as written (every markup character escaped)."""
    out = []
    for ch in visible(text):
        if ch in _TYPST_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append(" \\\n")
        else:
            out.append(ch)
    return "".join(out)


def typst_string(text: str) -> str:
    """*text* as a Typst string literal (for function arguments)."""
    return '"' + visible(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
