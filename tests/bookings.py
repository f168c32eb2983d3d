"""A booking request as the form leaves it once every question is answered, for the booking tests."""

FILLED = {
    "full_name": "Maria Lopez",
    "contact": "+15095550147",
    "phone": "+15095550147",
    "email": None,
    "preferred_times": "weekday mornings",
    "preferred_times_parsed": [{"days": ["mon", "tue", "wed", "thu", "fri"], "part_of_day": "morning"}],
    "help_with": "anxiety",
    "consent_to_contact": True,
    "booking_id": "b1",
}
