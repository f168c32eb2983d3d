"""The clinic profile: clinic-specific details that answers are filled with at run time.

`clinic_profile.yml` is edited by the clinic. An empty value, or one still carrying a
placeholder marker, counts as unset: the answers then fall back to "our team will go over
this at your free consultation" (see the conditional variations in data/responses/faq.yml).

The clinic's time zone (`clinic_timezone`) is the one for office hours, booking dates and the
times staff see in the console.
"""
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from clinic import settings

logger = logging.getLogger(__name__)

# The clinic is in Kennewick, WA: Pacific time when the profile names no (valid) time zone.
DEFAULT_TIMEZONE = "America/Los_Angeles"
PLACEHOLDER = re.compile(r"placeholder|todo|<[^>]*>|\$_+", re.IGNORECASE)
MAX_VALUE_LENGTH = 500

# slot name -> profile key, for the details an answer quotes directly
SLOT_FOR_KEY = {
    "clinic_office_hours": "office_hours",
    "clinic_price_info": "price_info",
    "clinic_insurance_info": "insurance_info",
    "clinic_fasting_rules": "fasting_rules",
    "clinic_referral_policy": "referral_policy",
    "clinic_visit_length": "visit_length",
    "clinic_data_retention": "data_retention",
    # the booking confirmation: when the team gets in touch, and the number to call meanwhile
    "clinic_response_time": "response_time",
    "clinic_phone": "phone",
}


def clean_value(value: Any) -> Optional[str]:
    """A profile value as it may be shown to a visitor, or None when it is unset or a placeholder."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    if not text or PLACEHOLDER.search(text) or len(text) > MAX_VALUE_LENGTH:
        return None
    return text


def load_profile(path: Optional[Path] = None) -> Dict[str, Any]:
    """Reads the profile file; a missing or broken file is logged and treated as all values unset."""
    path = Path(path or settings.get("CLINIC_PROFILE_PATH"))
    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        logger.error("Clinic profile %s could not be read (%s); using no clinic details.", path, error)
        return {}
    if not isinstance(profile, dict):
        logger.error("Clinic profile %s is not a mapping; using no clinic details.", path)
        return {}
    return profile


def profile_slot_values(profile: Dict[str, Any]) -> Dict[str, Optional[str]]:
    """The clinic_* slot values for a profile: every slot present, None where unset."""
    values = {slot: clean_value(profile.get(key)) for slot, key in SLOT_FOR_KEY.items()}
    phone = clean_value(profile.get("phone"))
    contact_parts = [
        clean_value(profile.get("street_address")),
        phone and f"Phone: {phone}",
        values["clinic_office_hours"] and f"Hours: {values['clinic_office_hours']}",
    ]
    values["clinic_contact_details"] = "; ".join(part for part in contact_parts if part) or None
    return values


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def clinic_timezone(profile: Optional[Dict[str, Any]] = None) -> ZoneInfo:
    """The clinic's time zone: `office_hours_schedule.timezone` in the profile (read when not given),
    else Los Angeles (DEFAULT_TIMEZONE); an unknown name is logged and read as Los Angeles too."""
    if profile is None:
        profile = load_profile()
    schedule = profile.get("office_hours_schedule")
    name = schedule.get("timezone") if isinstance(schedule, dict) else None
    try:
        return ZoneInfo(str(name or DEFAULT_TIMEZONE))
    except (ZoneInfoNotFoundError, ValueError):
        logger.error("Clinic profile: unknown office hours timezone %r; using %s", name, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


def office_hours_set(profile: Dict[str, Any]) -> bool:
    """Whether the clinic has set its office hours: `office_hours_schedule.days` names at least one day.
    As shipped the days are empty ({}): the hours are not known yet, which is not a closed clinic.
    Once any day is named, the days not named are closed; a schedule that is not a mapping counts as set
    (and, being unreadable, as closed: clinic_is_open)."""
    schedule = profile.get("office_hours_schedule")
    if isinstance(schedule, dict):
        return bool(schedule.get("days"))
    return bool(schedule)


def clinic_is_open(profile: Dict[str, Any], now: datetime) -> bool:
    """Whether staff are available now, per `office_hours_schedule`; closed when it is unset or invalid."""
    schedule = profile.get("office_hours_schedule") or {}
    if not isinstance(schedule, dict):
        return False
    local = now.astimezone(clinic_timezone(profile))
    window = (
        (schedule.get("days") or {}).get(WEEKDAYS[local.weekday()]) if isinstance(schedule.get("days"), dict) else None
    )
    match = HOURS.match(str(window or ""))
    if not match:
        return False
    open_h, open_m, close_h, close_m = (int(part) for part in match.groups())
    minutes = local.hour * 60 + local.minute
    return open_h * 60 + open_m <= minutes < close_h * 60 + close_m
