"""The website chat widget in Spanish, in a real browser: its own texts start in the page's language,
follow the assistant's replies, and go back to English with the assistant's "English" button; every
message element says its language (lang) so that screen readers pronounce it right.

Needs Chromium, its driver and selenium (see tests/browser.py). Starts its own assistant and the
demo pages: / (English) and /es.html (<html lang="es">).
"""
import pytest

from tests.browser import By, bubbles, click_button, log_text, open_as_new_visitor, say, wait, wait_for_log

SPANISH_DISCLAIMER = (
    "Asistente automático: no da consejos médicos y nadie vigila este chat para emergencias. "
    "En una emergencia llame al 911, o llame al 988 y marque 2 para español, o envíe AYUDA por texto al 988."
)
ENGLISH_DISCLAIMER = (
    "Automated assistant — not medical advice, not monitored for emergencies. "
    "In an emergency call 911, or call or text 988."
)
SPANISH_OPENING = "¡Hola! Soy el asistente virtual de la clínica."
ENGLISH_OPENING = "Hi! I'm the clinic's virtual assistant."
SPANISH_QUESTION = "hola, cuanto cuesta el tratamiento?"


def widget(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, "#clinic-chat " + selector)


def open_chat(driver) -> None:
    widget(driver, ".cc-launcher").click()
    wait(driver, lambda d: widget(d, ".cc-panel").is_displayed(), "the chat panel did not open", 5)


def widget_texts(driver) -> dict:
    """What the chat panel shows and tells screen readers, besides the messages."""
    return {
        "lang": driver.find_element(By.ID, "clinic-chat").get_attribute("lang"),
        "close": widget(driver, ".cc-close").get_attribute("aria-label"),
        "input label": widget(driver, "label[for=clinic-chat-input]").get_attribute("textContent"),
        "placeholder": widget(driver, ".cc-input").get_attribute("placeholder"),
        "send": widget(driver, ".cc-send").text,
        "disclaimer": widget(driver, ".cc-disclaimer").text,
        "typing": widget(driver, ".cc-typing-text").get_attribute("textContent"),
    }


SPANISH_TEXTS = {
    "lang": "es", "close": "Cerrar el chat", "input label": "Su mensaje", "placeholder": "Escriba su pregunta…",
    "send": "Enviar", "disclaimer": SPANISH_DISCLAIMER, "typing": "El asistente está escribiendo…",
}
ENGLISH_TEXTS = {
    "lang": "en", "close": "Close chat", "input label": "Your message", "placeholder": "Type your question…",
    "send": "Send", "disclaimer": ENGLISH_DISCLAIMER, "typing": "The assistant is typing…",
}


def messages(driver, who: str):
    """(lang attribute, screen-reader prefix, shown text) of each message of the visitor or the assistant."""
    found = []
    for node in driver.find_elements(By.CSS_SELECTOR, f"#clinic-chat-log .cc-msg-{who}"):
        prefix = node.find_element(By.CSS_SELECTOR, ".cc-visually-hidden").get_attribute("textContent")
        found.append((node.get_attribute("lang"), prefix, node.find_element(By.CSS_SELECTOR, ".cc-bubble").text))
    return found


def crisis_links(driver, selector: str):
    return [(a.text, a.get_attribute("href"), a.get_attribute("aria-label"))
            for a in driver.find_elements(By.CSS_SELECTOR, selector + " a.cc-phone")]


def test_a_spanish_page_shows_the_widget_in_spanish_before_any_message(browser, web_stack):
    driver = browser
    origin, _ = web_stack
    open_as_new_visitor(driver, origin + "/es.html")
    assert widget(driver, ".cc-launcher-text").text == "Escríbanos"
    open_chat(driver)
    assert widget_texts(driver) == SPANISH_TEXTS
    assert widget(driver, ".cc-panel").get_attribute("aria-label") == "Tri-Cities Infusions & Wellness"
    assert crisis_links(driver, ".cc-disclaimer") == [
        ("911", "tel:911", "Llamar al 911"), ("988", "tel:988", "Llamar al 988"), ("988", "tel:988", "Llamar al 988"),
    ]
    # The site's opening message, in its Spanish version, marked as Spanish.
    (lang, prefix, text), = messages(driver, "bot")
    assert (lang, prefix) == ("es", "El asistente dijo:") and text.startswith(SPANISH_OPENING)

    # The same browser on the English page, still without a conversation: English.
    open_as_new_visitor(driver, origin + "/")
    assert widget(driver, ".cc-launcher-text").text == "Chat with us"
    open_chat(driver)
    assert widget_texts(driver) == ENGLISH_TEXTS
    assert crisis_links(driver, ".cc-disclaimer")[0] == ("911", "tel:911", "Call 911")
    (lang, prefix, text), = messages(driver, "bot")
    assert (lang, prefix) == ("en", "Assistant said:") and text.startswith(ENGLISH_OPENING)


def test_the_widget_follows_the_conversation_into_spanish_and_back(browser, web_stack):
    driver = browser
    origin, _ = web_stack
    open_as_new_visitor(driver, origin + "/")
    open_chat(driver)
    assert widget_texts(driver) == ENGLISH_TEXTS

    # A Spanish question on the English page: a Spanish answer, and the widget turns Spanish.
    say(driver, SPANISH_QUESTION)
    wait(driver, lambda d: any("consulta gratuita" in text for text in bubbles(d, "bot")), "no Spanish answer")
    wait(driver, lambda d: widget_texts(d) == SPANISH_TEXTS, "the widget's texts did not turn Spanish", 5)
    assert [lang for lang, _, _ in messages(driver, "user")] == ["es"], "the visitor's message is marked Spanish"
    bot = messages(driver, "bot")
    assert bot[0][0] == "es" and bot[0][2].startswith(SPANISH_OPENING), "the opening message follows, in Spanish"
    assert {lang for lang, _, _ in bot} == {"es"}
    assert {prefix for _, prefix, _ in bot} == {"El asistente dijo:"}
    assert messages(driver, "user")[0][1] == "You said:", "written while the widget was English, it stays so"

    # A reload keeps the language, the messages' languages and the conversation (a reply can come
    # as several messages: all of them first).
    bot_replies_settled(driver, 1, SPANISH_QUESTION)
    before = messages(driver, "bot")
    driver.refresh()
    assert widget(driver, ".cc-launcher-text").text == "Escríbanos"
    open_chat(driver)
    wait(driver, lambda d: messages(d, "bot") == before, "the reloaded page lost the conversation", 5)
    assert widget_texts(driver) == SPANISH_TEXTS
    assert [lang for lang, _, _ in messages(driver, "user")] == ["es"]

    # A Spanish greeting offers the "English" button (with the disclaimer: tappable crisis lines, labelled in Spanish).
    driver.find_element(By.ID, "clinic-chat-input").click()
    say(driver, "hola, buenos días")
    wait_for_log(driver, "Si prefiere inglés")
    wait(driver, lambda d: ("911", "tel:911", "Llamar al 911") in crisis_links(d, "#clinic-chat-log .cc-msg-bot"),
         "the crisis line in the Spanish disclaimer is not a labelled link")
    assert widget_texts(driver) == SPANISH_TEXTS

    # The visitor presses "English": the widget is English at once, and the assistant confirms.
    bot_count = len(bubbles(driver, "bot"))
    click_button(driver, "English")
    wait(driver, lambda d: widget_texts(d) == ENGLISH_TEXTS, "the English button did not switch the widget", 5)
    wait(driver, lambda d: len(bubbles(d, "bot")) > bot_count, "the assistant did not answer the English button")
    wait_for_log(driver, "continue in English")
    assert widget_texts(driver) == ENGLISH_TEXTS
    user = messages(driver, "user")
    assert [(lang, text) for lang, _, text in user] == [
        ("es", SPANISH_QUESTION), ("es", "hola, buenos días"), ("en", "English"),
    ]
    bot = messages(driver, "bot")
    assert bot[0][0] == "en" and bot[0][2].startswith(ENGLISH_OPENING)
    assert bot[-1][:2] == ("en", "Assistant said:") and "continue in English" in bot[-1][2]
    # The Spanish answers stay marked Spanish (each message has its own language).
    assert any(lang == "es" and "consulta gratuita" in text for lang, _, text in bot)
    assert widget(driver, ".cc-launcher-text").get_attribute("textContent") == "Chat with us"

    # And the choice survives a reload.
    driver.refresh()
    assert widget(driver, ".cc-launcher-text").text == "Chat with us"
    open_chat(driver)
    assert widget_texts(driver) == ENGLISH_TEXTS
    assert "continue in English" in log_text(driver)
    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == [], "the browser reported errors (CSP violations, failed requests)"


def languages_read(driver, texts):
    return [driver.execute_script("return window.ClinicChat.languageOf(arguments[0])", text) for text in texts]


def first_reply(driver, text: str):
    """Says `text` in a fresh chat; the assistant's messages after the opening one, once they stop coming."""
    open_chat(driver)
    say(driver, text)
    return bot_replies_settled(driver, 1, text)


@pytest.mark.parametrize("page, language", [("/es.html", "es"), ("/", "en")])
def test_the_first_reply_to_hi_is_in_the_pages_language(browser, web_stack, page, language):
    """The widget sends the page's language with each message (metadata page_language): "hi" on the
    Spanish page is answered in Spanish, on the English page in English."""
    driver = browser
    origin, _ = web_stack
    open_as_new_visitor(driver, origin + page)
    replies = first_reply(driver, "hi")
    read = languages_read(driver, replies)
    assert read[0] == language, f"the first reply is not {language}: {replies[0]!r}"
    assert set(read) - {None} == {language}, list(zip(read, replies, strict=True))
    wait(driver, lambda d: widget_texts(d) == (SPANISH_TEXTS if language == "es" else ENGLISH_TEXTS),
         "the widget's texts are not in the page's language", 5)


def test_every_response_is_read_in_its_language(browser, web_stack, domain):
    """Every response variation, split into messages as Rasa's socketio channel sends it, is read
    as the language its condition names; a variation for a not-yet-known language is English, or
    both languages (a mixed reply, which leaves the widget's language as it was)."""
    driver = browser
    origin, _ = web_stack
    driver.get(origin + "/")
    read_as = lambda text: driver.execute_script("return window.ClinicChat.languageOf(arguments[0])", text)  # noqa: E731
    wrong = []
    for name, variations in domain.responses.items():
        for variation in variations:
            wanted = next(
                (c.get("value") for c in variation.get("condition") or [] if c.get("name") == "language"), None
            )
            parts = (variation.get("text") or "").strip().split("\n\n")
            titles = [b.get("title", "") for b in variation.get("buttons") or []
                      if not str(b.get("payload", "")).startswith("/switch_language")]
            parts[-1] = "\n".join([parts[-1]] + titles)
            found = {read_as(part) for part in parts} - {None}
            if wanted in ("es", "en"):
                ok = found == {wanted}
            else:
                ok = found in ({"en"}, {"en", "es"})
            if not ok:
                wrong.append((name, wanted, sorted(found), parts[0][:60]))
    assert wrong == []


# ---- a Spanish-speaking visitor end to end (issue 13, "Done when")


def bot_replies_settled(driver, before: int, what: str):
    """The assistant's messages after the first `before`, once they stop coming (and it is not typing)."""
    wait(driver, lambda d: len(bubbles(d, "bot")) > before, f"no reply to {what!r}")
    seen = []

    def settled(d) -> bool:
        typing = d.find_element(By.CSS_SELECTOR, "#clinic-chat .cc-typing").is_displayed()
        seen.append(len(bubbles(d, "bot")))
        return not typing and len(seen) > 8 and len(set(seen[-8:])) == 1  # unchanged for 1.6 s

    wait(driver, settled, f"the reply to {what!r} never settled")
    return bubbles(driver, "bot")[before:]


def enabled_button(driver, label: str):
    found = [button for button in driver.find_elements(By.XPATH, f"//div[@id='clinic-chat-log']//button"
                                                                  f"[normalize-space()='{label}']")
             if button.is_enabled()]
    return found[-1] if found else None


class Visitor:
    """Writes or presses buttons in the chat and checks that every message of the assistant, so far,
    is not English (window.ClinicChat.languageOf: "es", "en" or null when unclear)."""

    def __init__(self, driver, language: str) -> None:
        self.driver = driver
        self.language = language
        self.steps = []
        self.first = max(1, len(bubbles(driver, "bot")))  # [0]: the site's opening message

    def _check(self, what: str, before: int):
        replies = bot_replies_settled(self.driver, before, what)
        read = languages_read(self.driver, replies)
        self.steps.append((what, list(zip(read, replies, strict=True))))
        other = "en" if self.language == "es" else "es"
        wrong = [text for language, text in zip(read, replies, strict=True) if language == other]
        assert not wrong, f"after {what!r} the assistant wrote {other}: {wrong}"
        assert self.language in read, f"after {what!r} no reply is clearly {self.language}: {replies}"
        since = languages_read(self.driver, bubbles(self.driver, "bot")[self.first:])
        assert other not in since, f"a message in {other} since this visitor's first step: {self.steps}"
        return replies

    def says(self, text: str):
        before = len(bubbles(self.driver, "bot"))
        self.driver.find_element(By.ID, "clinic-chat-input").click()
        say(self.driver, text)
        return self._check(text, before)

    def presses(self, label: str):
        before = len(bubbles(self.driver, "bot"))
        wait(self.driver, lambda d: enabled_button(d, label) is not None, f"no {label!r} button to press", 10)
        enabled_button(self.driver, label).click()
        wait(self.driver, lambda d: bubbles(d, "user")[-1:] == [label], f"pressing {label!r} sent nothing", 5)
        return self._check(label, before)


def test_a_spanish_speaking_visitor_asks_books_and_reaches_a_person_in_spanish(browser, web_stack):
    driver = browser
    origin, _ = web_stack
    open_as_new_visitor(driver, origin + "/es.html")
    open_chat(driver)
    visitor = Visitor(driver, "es")

    greeting = "\n".join(visitor.says("hola"))
    assert "English" in "\n".join(b.text for b in driver.find_elements(By.CSS_SELECTOR, "#clinic-chat-log button"))
    assert "911" in greeting and "988" in greeting  # the disclaimer, in Spanish

    # Three different questions.
    visitor.says("que efectos secundarios tiene la ketamina?")
    visitor.says("cuanto tiempo dura una infusion?")
    visitor.says("cuanto cuesta el tratamiento?")

    # A consultation: every question of the form, then the summary, one answer corrected, confirmed.
    assert "nombre" in "\n".join(visitor.says("quiero agendar una consulta gratuita")).lower()
    visitor.says("Ana Lopez Hernandez")
    visitor.says("mi cel es 509 555 0182")
    visitor.says("entre semana por la mañana")
    visitor.presses("Ansiedad")
    summary = "\n".join(visitor.presses("Sí"))
    assert "Esta es su solicitud" in summary and "Ana Lopez Hernandez" in summary
    visitor.presses("Cambiar algo")
    visitor.presses("Días y horarios")
    summary = "\n".join(visitor.says("el martes despues de las 3"))
    assert "Esta es su solicitud" in summary and "martes" in summary.lower(), summary
    saved = "\n".join(visitor.presses("Confirmar"))
    assert "código de referencia" in saved, saved

    # And a person.
    visitor.says("quiero hablar con una persona")

    every = languages_read(driver, bubbles(driver, "bot"))
    assert "en" not in every, visitor.steps
    assert widget_texts(driver) == SPANISH_TEXTS
    problems = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == [], "the browser reported errors"


def test_a_visitor_who_switches_to_english_is_followed(browser, web_stack):
    driver = browser
    origin, _ = web_stack
    open_as_new_visitor(driver, origin + "/es.html")
    open_chat(driver)
    spanish = Visitor(driver, "es")
    spanish.says("hola, buenas tardes")
    spanish.says("cuanto cuesta el tratamiento?")

    english = Visitor(driver, "en")
    english.says("What are the side effects of ketamine? I would like to know before I book.")
    wait(driver, lambda d: widget_texts(d) == ENGLISH_TEXTS, "the widget did not follow into English", 5)
    english.says("how long does an infusion take?")
    english.says("thanks")
