"""Short visitor answers compared as words: "No sé." and "no se", "Confirm!" and "confirm" are the same."""
import unicodedata
from typing import Optional


def plain_words(text: Optional[str]) -> str:
    """Lower case, without accents, apostrophes, punctuation or emoji, single spaces: "No sé." -> "no se"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold().replace("'", "").replace("’", ""))
    letters = "".join(char if char.isalnum() else " " for char in decomposed if not unicodedata.combining(char))
    return " ".join(letters.split())
