"""The benchmark's own code, small: the load generator against the live stack, and the baselines."""
import numpy as np
import pytest

from bench.baselines import CachingMiniLMEncoder, MiniLMRetriever, TfidfRetriever, lowest_safe_threshold
from bench.load import run_level

EXAMPLES = [
    ("how much does an infusion cost", "faq/cost"),
    ("is ketamine safe for me", "faq/safety"),
    ("hello there", "greet"),
    ("i want to book a consultation", "book_consultation"),
]


@pytest.mark.parametrize("channel", ["rest", "socketio"])
async def test_two_visitors_without_think_time_get_every_reply(live_assistant, channel):
    result = await run_level(
        live_assistant, channel, visitors=2, think_seconds=0.0, max_seconds=45, max_conversations=2
    )

    assert result.error_count == 0, result.errors
    # A visit stops at its first message without a reply, so two confirmed bookings mean every message got one.
    assert (result.conversations_started, result.bookings_confirmed) == (2, 2)
    assert len(result.latencies) >= 2 * 11  # greeting, at least 3 questions, 7 booking steps


@pytest.mark.parametrize("make_retriever", [TfidfRetriever, lambda: MiniLMRetriever(CachingMiniLMEncoder())])
def test_a_query_identical_to_a_training_example_retrieves_it(make_retriever):
    retriever = make_retriever().fit(EXAMPLES)
    top1, final = retriever.predict([text for text, _ in EXAMPLES])
    labels = [label for _, label in EXAMPLES]
    assert top1 == labels
    assert final == labels  # similarity 1: above any threshold


def test_the_threshold_is_the_lowest_that_keeps_wrong_answers_within_budget():
    similarity = np.array([0.9, 0.5, 0.2])
    assert lowest_safe_threshold(similarity, np.array([True, False, True])) == 0.51
    assert lowest_safe_threshold(similarity, np.array([True, True, True])) == 0.0
