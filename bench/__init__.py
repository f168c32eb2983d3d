"""Benchmarks: answer quality and serving speed, measured side by side (`make bench`).

quality.py    held-out and cross-validated NLU figures for the pipeline and the baselines, per language
baselines.py  nearest-neighbour retrievers (TF-IDF character n-grams, MiniLM and multilingual USE embeddings)
load.py       simulated English and Spanish visitors over REST and socket.io, and a per-component latency breakdown
report.py     docs/benchmarks.md, the plots and docs/benchmarks/history.csv
"""
from pathlib import Path

from scripts.evaluate_nlu import HELDOUT_DIR, SPANISH_HELDOUT_DIR

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The assistant's languages, in report order: code -> name, and the held-out phrasings of each.
LANGUAGES = {"en": "English", "es": "Spanish"}
HELDOUT_DIRS = {"en": HELDOUT_DIR, "es": SPANISH_HELDOUT_DIR}
SPANISH_DATA = PROJECT_DIR / "data" / "nlu" / "es"  # every training file under it is Spanish, the rest English


def language_of_file(path: Path) -> str:
    return "es" if SPANISH_DATA in Path(path).resolve().parents else "en"
