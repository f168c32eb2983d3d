"""Downloads: CSV that spreadsheets cannot execute, and NLU training data in Rasa's YAML format."""
import csv
import io
import re
from typing import Dict, Iterable, List, Sequence

import yaml
from flask import Response

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return Response(
        buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class _NluDumper(yaml.SafeDumper):
    """Multi-line strings (the examples) as literal blocks, `examples: |`, as Rasa's files are written."""


_NluDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None),
)


def example_line(text: str) -> str:
    """A training example is one line of printable text: whitespace runs become single spaces, and
    "[a](b)" gets a space after "]" so that Rasa does not read it as an entity annotation."""
    line = " ".join("".join(char for char in text if char.isprintable() or char.isspace()).split())
    return re.sub(r"\](?=[(\[{])", "] ", line)


def nlu_yaml(examples_by_intent: Dict[str, List[str]]) -> str:
    """Rasa NLU training data (version 3.1): one `- intent:` entry per label, its examples as a block."""
    nlu = []
    for intent, texts in sorted(examples_by_intent.items()):
        lines = sorted({example_line(text) for text in texts} - {""})
        if lines:
            nlu.append({"intent": intent, "examples": "".join(f"- {line}\n" for line in lines)})
    return yaml.dump(
        {"version": "3.1", "nlu": nlu}, Dumper=_NluDumper, sort_keys=False, allow_unicode=True, width=10000
    )
