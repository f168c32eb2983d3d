"""The Rasa server serves without TensorFlow (rasa_server/without_tensorflow.py): it answers in both
languages, catches a crisis, and TensorFlow never runs in it. Fails when a Rasa upgrade or a new
component in config.yml starts needing TensorFlow while serving, so the stand-ins can be re-checked."""
import json
import urllib.request
from pathlib import Path

import pytest

from rasa_server import without_tensorflow


def say(assistant, sender: str, message: str) -> str:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook", json.dumps({"sender": sender, "message": message}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return " ".join(reply.get("text", "") for reply in json.loads(response.read()))


def test_the_assistant_answers_and_catches_a_crisis_without_loading_tensorflow(live_assistant):
    assert "consultation" in say(live_assistant, "no-tf-en", "how much does ketamine treatment cost?")
    assert "consulta" in say(live_assistant, "no-tf-es", "hola, ¿cuánto cuesta el tratamiento?")
    assert "988" in say(live_assistant, "no-tf-crisis", "I want to kill myself")
    rasa_server = live_assistant.processes[1].pid
    assert "rasa_run.py" in Path(f"/proc/{rasa_server}/cmdline").read_bytes().decode()
    mapped = Path(f"/proc/{rasa_server}/maps").read_text()
    assert "libtensorflow" not in mapped and "_pywrap_tensorflow" not in mapped


def test_a_model_that_needs_tensorflow_is_refused_with_what_to_do():
    stand_in = without_tensorflow.stand_in_class("rasa.nlu.classifiers.diet_classifier", "DIETClassifier")
    with pytest.raises(without_tensorflow.NeedsTensorFlow, match="config.yml"):
        stand_in.load({}, None, None, None)
    with pytest.raises(without_tensorflow.NeedsTensorFlow, match="DIETClassifier needs TensorFlow"):
        stand_in.create({}, None, None, None)
