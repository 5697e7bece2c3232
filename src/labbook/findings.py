"""Findings: sentences computed from results. Each sentence is a template filled with numbers;
the numbers are kept so findings.json carries every value the text quotes."""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Finding:
    key: str
    text: str
    values: dict

    def markdown(self) -> str:
        return f"- {self.text}"


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)

    def add(self, key: str, template: str, **values) -> Finding:
        """Add a finding. *template* uses str.format fields, e.g. "{method} leads by {margin:.2f} pp".

        Values must be JSON scalars (str, int, float, bool, None) or lists of them.
        """
        if any(f.key == key for f in self.items):
            raise ValueError(f"finding {key!r} was added twice")
        clean = {k: _jsonable(v, f"{key}.{k}") for k, v in values.items()}
        finding = Finding(key, template.format(**values), clean)
        self.items.append(finding)
        return finding

    def markdown(self) -> str:
        return "\n".join(f.markdown() for f in self.items)

    def as_dict(self) -> dict:
        return {f.key: {"text": f.text, "values": f.values} for f in self.items}

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n")


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
