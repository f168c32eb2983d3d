"""Chat with the running assistant in the terminal (like `rasa shell`, over the REST channel).

Buttons are listed with numbers; type the number to press one. /quit ends the chat.
Usage: python scripts/chat.py [--url http://127.0.0.1:5005] [--sender NAME]
"""
import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid


def send(url: str, sender: str, message: str) -> list:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--sender", default=f"terminal-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    buttons = []
    print("Type a message (numbers press the listed buttons; /quit to leave).")
    while True:
        try:
            typed = input("You: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if typed == "/quit":
            return 0
        if not typed:
            continue
        if typed.isdigit() and 1 <= int(typed) <= len(buttons):
            typed = buttons[int(typed) - 1]["payload"]
        try:
            replies = send(args.url, args.sender, typed)
        except (urllib.error.URLError, OSError) as error:
            print(f"(The assistant is not reachable at {args.url}: {error})")
            continue
        buttons = []
        for reply in replies:
            if reply.get("text"):
                print(f"Assistant: {reply['text']}")
            for button in reply.get("buttons") or []:
                buttons.append(button)
                print(f"  {len(buttons)}. {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
