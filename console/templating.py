"""Template filters. Autoescaping stays on: visitor text is never marked safe."""
from datetime import datetime
from typing import Optional

from flask import Flask

from console.params import clinic_timezone
from console.privacy import mask


def masked(text: str, revealed: bool = False) -> str:
    return text if revealed else mask(text)


def local_time(moment: Optional[datetime]) -> str:
    """In the clinic's time zone, e.g. 2026-11-21 14:05."""
    return moment.astimezone(clinic_timezone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def confidence(value: Optional[float]) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "–"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(masked=masked, local_time=local_time, confidence=confidence)
