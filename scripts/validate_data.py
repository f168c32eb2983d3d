"""`rasa data validate`, failing on every warning except the one Rasa cannot know is wrong.

Rasa warns that a response "is not used in any story or rule" when only a custom action sends it
(the greeting, the crisis response, the clarification...). Such a warning is dropped here when
the response name really appears in the actions package; any other warning fails the run.
"""
import re
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
UNUSED_UTTERANCE = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule")
WARNING = re.compile(r"UserWarning: (.*)")


def responses_sent_by_actions() -> set:
    names = set()
    for source in (PROJECT_DIR / "actions").rglob("*.py"):
        names.update(re.findall(r"[\"'](utter_[\w/]+)[\"']", source.read_text(encoding="utf-8")))
    return names


def main() -> int:
    result = subprocess.run(
        [str(PROJECT_DIR / ".venv/bin/rasa"), "data", "validate"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    sent_by_actions = responses_sent_by_actions()
    unexplained = []
    for warning in WARNING.findall(output):
        unused = UNUSED_UTTERANCE.search(warning)
        if unused and unused.group(1) in sent_by_actions:
            continue
        unexplained.append(warning)
    for warning in unexplained:
        print(f"WARNING: {warning}")
    if result.returncode != 0 or unexplained:
        print(output[-3000:] if result.returncode != 0 else "")
        print(f"rasa data validate: {len(unexplained)} unexplained warning(s), exit code {result.returncode}")
        return 1
    print("rasa data validate: clean (responses sent only by custom actions are accepted as used)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
