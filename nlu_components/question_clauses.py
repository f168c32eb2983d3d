"""Where one message asks two questions: "how much is it and does insurance cover any of it?",
"¿qué efectos secundarios tiene? ¿y cuánto dura cada sesión?".

The featurizers embed each question found here as well as the whole message; the FAQ answer
selector ranks the topics of each and, when two or three of them clearly ask about different topics,
answers each, in the order asked (`asked_topics`; docs/nlu-pipeline.md, "Two questions in one message").
"""
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

# Where a question can end and the next begin: question marks, sentence ends, and joining words.
# Splitting at every "and" also cuts one question in two ("anxiety and depression"): a part that is
# not a question (below) is left out, and one that names no topic clearly counts for nothing.
BREAK = re.compile(
    r"[?¿;!&]+|\.(?:\s|$)|\b(?:and also|and|also|plus|n|y también|y tambien|y además|y ademas|además|ademas|y)\b",
    re.IGNORECASE,
)
# A part is a question when the visitor marked it so ("?" after it, "¿" before it) or when it opens
# with a word that asks ("can I drive after", "cuánto cuesta"), perhaps after a filler ("so how long").
# A sentence told around the question ("health anxiety is a big thing for me") is not one.
QUESTION_WORDS = frozenset(
    """what whats what's how when where why who which whose is isn't are aren't do does doesn't did can
    could will would should am was were may might has have any qué que cómo como cuánto cuanto cuánta
    cuanta cuántos cuantos cuántas cuantas dónde donde cuándo cuando por porqué quién quien quiénes
    cuál cual cuáles cuales puedo puede pueden podría podria hay tienen aceptan necesito debo es
    wat wut wats whats r hw cn q nesecito""".split()
)
FILLER_WORDS = frozenset("so ok okay but hi hello hey then oh well or pues pero bueno hola entonces oye ah o".split())
MIN_PART_WORDS = 2
MAX_PARTS = 4
# More questions than this in one message are a list to talk through with a person, not to answer.
MAX_ANSWERS = 3
# Longer messages are stories told around a question, not lists of questions.
MAX_MESSAGE_CHARACTERS = 400
# When serving, a message that may ask two questions also carries each question's sentence
# embedding, by featurizer alias (sentence_embedding_featurizer.py), for the FAQ answer selector.
# Not in the parse result.
CLAUSE_FEATURES = "question_clause_sentence_features"
WORD = re.compile(r"[\w']+")


class Question(NamedTuple):
    text: str
    start: int
    end: int


def is_question(text: str, marked: bool) -> bool:
    words = [word.lower() for word in WORD.findall(text)]
    if words and words[0] in FILLER_WORDS:
        words = words[1:]
    return marked or bool(words) and words[0] in QUESTION_WORDS


def question_clauses(text: Optional[str]) -> List[Question]:
    """The questions of a message that may ask more than one, in order; empty unless there are two
    to MAX_PARTS of them, each of at least MIN_PART_WORDS words."""
    if not text or len(text) > MAX_MESSAGE_CHARACTERS:
        return []
    questions, start = [], 0
    for match in [*BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        raw = text[start:end]
        stripped = raw.strip(" ,.:-¡\t\n")
        marked = bool(match and "?" in match.group()) or "¿" in text[max(start - 2, 0) : start + 1]
        if len(stripped.split()) >= MIN_PART_WORDS and is_question(stripped, marked):
            offset = start + raw.index(stripped)
            questions.append(Question(stripped, offset, offset + len(stripped)))
        if match:
            start = match.end()
    return questions if 2 <= len(questions) <= MAX_PARTS else []


def asked_topics(parts: Sequence[Tuple[str, float]], threshold: float) -> List[str]:
    """The topics a message asks about, in the order asked; empty unless two to MAX_ANSWERS
    different topics are each some question's answer with at least `threshold` confidence.
    `parts`: each question's best answer and its confidence."""
    sure = list(dict.fromkeys(label for label, confidence in parts if confidence >= threshold))
    return sure if 2 <= len(sure) <= MAX_ANSWERS else []
