"""The overview's figures, and bar charts laid out for server-side SVG (templates/_chart.html)."""
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Dict, List, Sequence, Tuple

from clinic.faq_topics import FAQ_TOPICS
from console.params import DateRange, clinic_timezone
from console.tracker import Activity

WIDTH = 720
BAR_AREA_HEIGHT = 200
LABEL_HEIGHT = 40
ROW_HEIGHT = 22
LABEL_WIDTH = 220
TOP_TOPICS = 10


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    display: str  # the value as shown, e.g. "12" or "8%"
    x: float
    y: float
    width: float
    height: float
    show_label: bool = True


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    columns: Tuple[str, str]  # data table headings
    bars: List[Bar]
    width: int
    height: int
    horizontal: bool


def column_chart(chart_id: str, title: str, description: str, columns, points: Sequence[Tuple[str, float]],
                 display: Callable[[float], str] = lambda value: f"{value:g}") -> Chart:
    """Vertical bars, e.g. one per day; every few labels shown so that they do not overlap."""
    highest = max([value for _, value in points] + [1])
    slot = WIDTH / max(len(points), 1)
    label_every = max(1, round(len(points) / 8))
    bars = [
        Bar(label, value, display(value), index * slot + slot * 0.1,
            BAR_AREA_HEIGHT - value / highest * BAR_AREA_HEIGHT, slot * 0.8, value / highest * BAR_AREA_HEIGHT,
            index % label_every == 0)
        for index, (label, value) in enumerate(points)
    ]
    return Chart(chart_id, title, description, columns, bars, WIDTH, BAR_AREA_HEIGHT + LABEL_HEIGHT, horizontal=False)


def bar_chart(chart_id: str, title: str, description: str, columns, points: Sequence[Tuple[str, float]]) -> Chart:
    """Horizontal bars with their labels on the left, e.g. one per FAQ topic."""
    highest = max([value for _, value in points] + [1])
    length = WIDTH - LABEL_WIDTH - 60
    bars = [
        Bar(label, value, f"{value:g}", LABEL_WIDTH, index * ROW_HEIGHT + 3, value / highest * length, ROW_HEIGHT - 6)
        for index, (label, value) in enumerate(points)
    ]
    return Chart(chart_id, title, description, columns, bars, WIDTH, max(len(points), 1) * ROW_HEIGHT, horizontal=True)


def topic_label(key: str) -> str:
    topic = key.split("/", 1)[-1]
    return FAQ_TOPICS.get(topic, {}).get("label", topic)


def local_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, clinic_timezone()).date()


def overview_charts(activity: Activity, dates: DateRange) -> List[Chart]:
    conversations: Dict[date, set] = defaultdict(set)
    messages: Counter = Counter()
    unrecognised: Counter = Counter()
    topics: Counter = Counter()
    for sender, timestamp, intent, faq_key in activity.messages:
        day = local_day(timestamp)
        conversations[day].add(sender)
        messages[day] += 1
        unrecognised[day] += intent in ("nlu_fallback", "out_of_scope")
        if faq_key:
            topics[faq_key] += 1
    counted = Counter(name for _, name in activity.actions)
    days = list(dates.days())
    total_messages, total_unrecognised = sum(messages.values()), sum(unrecognised.values())
    overall_share = f"{total_unrecognised / total_messages:.0%}" if total_messages else "no messages"
    return [
        column_chart(
            "conversations", "Conversations per day",
            "Conversations with at least one visitor message, by day.",
            ("Day", "Conversations"), [(day.isoformat(), len(conversations[day])) for day in days],
        ),
        bar_chart(
            "topics", "Most asked FAQ topics", f"The {TOP_TOPICS} topics answered most often.",
            ("Topic", "Questions"), [(topic_label(key), count) for key, count in topics.most_common(TOP_TOPICS)],
        ),
        column_chart(
            "unrecognised", "Messages that fell to clarification or out of scope",
            f"Share of visitor messages per day; {overall_share} over the whole range.",
            ("Day", "Share"),
            [(day.isoformat(), unrecognised[day] / messages[day] if messages[day] else 0) for day in days],
            display=lambda share: f"{share:.0%}",
        ),
        bar_chart(
            "events", "Handoffs, bookings and crisis events",
            "Totals over the range. Crisis responses include those given after a yes to the check-in question.",
            ("Event", "Count"),
            [("Handoffs to staff", counted["handoffs"]), ("Consultation bookings", counted["bookings"]),
             ("Crisis responses", counted["crisis"]), ("Crisis check-ins", counted["check_ins"])],
        ),
    ]
