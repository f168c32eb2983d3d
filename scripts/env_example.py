"""Writes .env.example from the settings object (clinic/settings.py): every field, in its section, with
its description, what it accepts and its default. The descriptions live in the fields only.

Usage: python scripts/env_example.py           (rewrites .env.example)
       python scripts/env_example.py --check   (exit 1 when .env.example is not what the fields make)
tests/test_settings.py runs the check, so a field added without regenerating the file fails the tests.
"""
import sys
import textwrap
from pathlib import Path
from typing import List

PROJECT_DIR = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path[0] = str(PROJECT_DIR)  # run as a script: the project's packages, not scripts/
from clinic.settings import GROUPS, Settings, default_text, expected  # noqa: E402  (needs the path above)

PATH = PROJECT_DIR / ".env.example"
WIDTH = 100
HEADER = (
    "Copy to .env and adjust; .env is never committed. Every variable is optional: an empty value means its "
    "default, and the defaults run everything on one machine with SQLite under ./var. A wrong value stops the "
    "service at start (action server, Rasa server, staff console, make run), naming the variable and what it "
    "expects.\n"
    "Generated from the fields of clinic/settings.py by `python scripts/env_example.py`: change a description "
    "there, then run it again (tests/test_settings.py checks that this file is up to date)."
)


def comment(text: str) -> List[str]:
    lines = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, WIDTH - 2, break_on_hyphens=False, break_long_words=False) or [""]
    return [f"# {line}".rstrip() for line in lines]


def render() -> str:
    lines = comment(HEADER)
    for group, heading in GROUPS.items():
        lines += [""] + comment(heading)
        for name, field in Settings.__fields__.items():
            info = field.field_info
            if info.extra["group"] != group:
                continue
            if "intro" in info.extra:
                lines += ["#"] + comment(info.extra["intro"])
            accepts = expected(field)
            default = default_text(name)
            facts = [] if accepts == "text" else [accepts[0].upper() + accepts[1:]]
            facts.append(f"Default: {default}" if default else "Default: empty")
            lines += comment(info.description) + comment(". ".join(facts)) + [f"{name}="]
    unknown = {field.field_info.extra["group"] for field in Settings.__fields__.values()} - set(GROUPS)
    if unknown:
        raise ValueError(f"fields in sections without a heading in GROUPS: {sorted(unknown)}")
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    text = render()
    if "--check" in argv:
        if PATH.read_text() != text:
            print(".env.example is not what the settings fields make: run python scripts/env_example.py",
                  file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text)
    print(f"Wrote {PATH.relative_to(PROJECT_DIR)} ({len(Settings.__fields__)} variables).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
