"""Masking of phone numbers and email addresses in what staff see, until they reveal a conversation."""
import re

EMAIL = re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
PHONE = re.compile(
    r"(?<![\w*])(?:"
    r"\+\d{8,15}"  # E.164
    r"|(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}"  # North American
    r"|\d{3}[.-]\d{4}"  # local, without the area code
    r")(?!\w)"
)


def mask(text: str) -> str:
    """k***@example.com, ***-***-0147."""
    text = EMAIL.sub(lambda match: f"{match[1]}***@{match[2]}", text or "")
    return PHONE.sub(lambda match: "***-***-" + re.sub(r"\D", "", match[0])[-4:], text)
