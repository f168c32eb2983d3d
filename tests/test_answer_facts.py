"""No answer may carry a number the clinic's sources do not: a dose, a count, a percentage, a phone
number or a year shown to a visitor must come from the FAQ catalogue, the clinic profile, the
conversation contract or the crisis services' published numbers (docs/crisis-resources.md)."""
import re
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_DIR.parent / "shared" / "content"
FAQ_SOURCES = (SHARED_DIR / "faq_topics.yml", PROJECT_DIR / "clinic_profile.yml")
ALL_SOURCES = FAQ_SOURCES + (SHARED_DIR / "conversation_contract.md", PROJECT_DIR / "docs" / "crisis-resources.md")

DIGITS = re.compile(r"\d+")
# Counting words above one, in both languages ("one"/"uno" are too often not a count to check).
NUMBER_WORDS: Dict[str, int] = {
    **dict(zip("two three four five six seven eight nine ten eleven twelve".split(), range(2, 13), strict=True)),
    **dict(zip("dos tres cuatro cinco seis siete ocho nueve diez once doce".split(), range(2, 13), strict=True)),
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100,
    "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "cien": 100, "ciento": 100,
}
WORD = re.compile(r"[^\W\d_]+")


def numbers_in(text: str, with_words: bool) -> Set[int]:
    found = {int(digits) for digits in DIGITS.findall(text)}
    if with_words:
        found |= {NUMBER_WORDS[word] for word in WORD.findall(text.lower()) if word in NUMBER_WORDS}
    return found


def source_numbers(paths) -> Set[int]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in paths)
    return numbers_in(text, with_words=True)


def response_texts(domain) -> Iterator[Tuple[str, str]]:
    for name, variants in domain.responses.items():
        for variant in variants:
            titles = " ".join(button.get("title", "") for button in variant.get("buttons") or [])
            yield name, f"{variant.get('text') or ''} {titles}"


def test_the_sources_are_beside_the_project():
    missing = [str(path) for path in ALL_SOURCES if not path.is_file()]
    assert not missing, f"source files not found: {missing}"


def test_every_faq_answer_number_is_in_the_catalogue_or_the_clinic_profile(domain):
    allowed = source_numbers(FAQ_SOURCES)
    invented = {
        (name, number)
        for name, text in response_texts(domain)
        if name.startswith("utter_faq/")
        for number in numbers_in(text, with_words=True) - allowed
    }
    assert not invented, f"FAQ answers with numbers found in no source: {sorted(invented)}"


def test_every_number_shown_to_a_visitor_comes_from_a_source(domain):
    # Number words outside the FAQ are the assistant's own ("five short questions"); digits are facts.
    allowed = source_numbers(ALL_SOURCES)
    invented = {
        (name, number)
        for name, text in response_texts(domain)
        for number in numbers_in(text, with_words=False) - allowed
    }
    assert not invented, f"responses with numbers found in no source: {sorted(invented)}"


@pytest.mark.parametrize(
    "text, with_words, expected",
    [
        ("About six infusions over two to three weeks", True, {6, 2, 3}),
        ("Unas seis infusiones en dos a tres semanas", True, {6, 2, 3}),
        ("Call 988, or text AYUDA to 741741", False, {988, 741741}),
        ("Invented: 85% respond within 40 minutes", True, {85, 40}),
    ],
)
def test_numbers_are_found_as_a_reader_would_see_them(text, with_words, expected):
    assert numbers_in(text, with_words) == expected
