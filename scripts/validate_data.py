"""`rasa data validate`, failing on every warning except those Rasa raises about correct data.

Accepted, each checked here rather than assumed:
  - "utterance ... is not used in any story or rule" for a response that a custom action sends
    (the name appears in the actions package or in the follow-up table clinic/faq_follow_ups.yml,
    which action_answer_follow_up sends from), that the Rasa server sends itself when something
    fails (rasa_server/), or that a form asks with (utter_ask_<required slot>, or the form's own
    utter_ask_<form>_<required slot>);
  - "duplicated intents ... faq": Rasa re-adds each retrieval intent from the NLU data to the domain,
    which lists it too (without it, Rasa warns that rules use an intent missing from the domain);
  - "intent 'EXTERNAL_...' ... not found in the NLU training data": external intents are sent by the
    system (the handoff watchdog, the staff console), never typed, so they have no examples; nor has
    `possible_crisis`, which only the crisis detector sets (nlu_components/crisis_classifier.py).
Any other warning fails the run.
"""
import re
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
UNUSED_UTTERANCE = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule")
DUPLICATED_INTENTS = re.compile(r"duplicated intents have been found across multiple domain files: (.*)")
EXTERNAL_INTENT_WITHOUT_EXAMPLES = re.compile(
    r"The intent '(EXTERNAL_\w+|possible_crisis)' is listed in the domain file, but is not found in the NLU"
)
WARNING = re.compile(r"UserWarning: (.*)")


def responses_used_outside_stories() -> set:
    names = set()
    for source in [*(PROJECT_DIR / "actions").rglob("*.py"), *(PROJECT_DIR / "rasa_server").rglob("*.py")]:
        names.update(re.findall(r"[\"'](utter_[\w/]+)[\"']", source.read_text(encoding="utf-8")))
    follow_ups = yaml.safe_load((PROJECT_DIR / "clinic" / "faq_follow_ups.yml").read_text(encoding="utf-8"))
    for meanings in follow_ups.values():
        answers = [meanings["default"], *(meanings.get("after") or {}).values()]
        names.update(answer for answer in answers if answer.startswith("utter_"))
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    for form_name, form in (domain.get("forms") or {}).items():
        for slot in form.get("required_slots", []):
            names.update((f"utter_ask_{slot}", f"utter_ask_{form_name}_{slot}"))
    return names


def retrieval_intents() -> set:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    responses = (PROJECT_DIR / "data" / "responses").glob("*.yml")
    return {
        name.split("/")[0][len("utter_"):]
        for path in responses
        for name in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    } & set(domain.get("intents", []))


def main() -> int:
    result = subprocess.run(
        [str(PROJECT_DIR / ".venv/bin/rasa"), "data", "validate"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    used_outside_stories = responses_used_outside_stories()
    synced_intents = retrieval_intents()
    unexplained = []
    for warning in WARNING.findall(output):
        unused = UNUSED_UTTERANCE.search(warning)
        if unused and unused.group(1) in used_outside_stories:
            continue
        if EXTERNAL_INTENT_WITHOUT_EXAMPLES.search(warning):
            continue
        duplicated = DUPLICATED_INTENTS.search(warning)
        if duplicated and {i.strip() for i in duplicated.group(1).split(",")} <= synced_intents:
            continue
        unexplained.append(warning)
    for warning in unexplained:
        print(f"WARNING: {warning}")
    if result.returncode != 0 or unexplained:
        print(output[-3000:] if result.returncode != 0 else "")
        print(f"rasa data validate: {len(unexplained)} unexplained warning(s), exit code {result.returncode}")
        return 1
    print("rasa data validate: clean (see this script for the warnings Rasa raises about correct data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
