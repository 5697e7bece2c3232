"""Text from data, made safe for each language a report is written in: Markdown (and so HTML),
LaTeX, Typst and matplotlib's text (where ``$`` starts mathtext). Each function makes its input
print exactly as written; nothing from data ever becomes markup.

Messages (notes, warnings, findings) are plain text in which `backticks` mark code; every other
character is literal.
"""
import html as _html
import re
import string

_MD_PUNCT = set(string.punctuation)
_CODE = re.compile(r"(`+)(.+?)\1", re.S)


def markdown_text(text: str) -> str:
    """*text* as CommonMark that renders literally: every ASCII punctuation character escaped."""
    out = []
    for ch in str(text):
        if ch in _MD_PUNCT:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("  \n")
        else:
            out.append(ch)
    return "".join(out)


def markdown_code(text: str) -> str:
    """*text* as a Markdown code span (a fence longer than any run of backticks inside it)."""
    text = str(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def message_markdown(message: str) -> str:
    """A plain-text message with `code` spans as Markdown: code spans kept, the rest literal."""
    out, pos = [], 0
    for m in _CODE.finditer(message):
        out.append(markdown_text(message[pos:m.start()]))
        out.append(markdown_code(m.group(2)))
        pos = m.end()
    out.append(markdown_text(message[pos:]))
    return "".join(out)


def html(text: str) -> str:
    """*text* as HTML text (quotes escaped too, so it is safe in attributes)."""
    return _html.escape(str(text), quote=True)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex(text: str) -> str:
    """*text* with LaTeX's special characters escaped, so it prints as written."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


_TYPST_SPECIAL = set("\\#*_`$<>@[]~'\"=-+/:")


def typst(text: str) -> str:
    """*text* as Typst markup that prints as written (every markup character escaped)."""
    out = []
    for ch in str(text):
        if ch in _TYPST_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append(" \\\n")
        else:
            out.append(ch)
    return "".join(out)


def typst_string(text: str) -> str:
    """*text* as a Typst string literal (for function arguments)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def plot_text(text: str) -> str:
    """*text* for a matplotlib label: ``$`` escaped so a name is never read as mathtext."""
    return str(text).replace("$", r"\$")
