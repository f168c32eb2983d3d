"""Messaging channels: thin subclasses of Rasa's connectors, listed in credentials.yml.

- rest: the REST webhook, with its input checked and a per-IP limit.
- socketio: the website chat widget, restricted to the origins in ALLOWED_ORIGINS, per-IP limit.
- facebook, slack, twilio, telegram: webhooks that refuse (403) requests the platform did not
  sign, and every request while the channel's secrets are empty (webhook_guard).
- numbered_options: buttons as numbered text, for channels without buttons (SMS).
- delivery: replies that fail fast and, when they fail, do not lose the conversation.

Every channel hands its messages to the Rasa agent, where rasa_server.message_guard makes them
storable (invalid Unicode, control characters), keeps their text out of the logs and lets only the
assistant's own button payloads count as intents: one place for all channels.
"""
from rasa_server import install as _install_rasa_server_guards

# The Rasa server imports this package when it loads credentials.yml, before the first message.
_install_rasa_server_guards()
