"""Messaging channels: thin subclasses of Rasa's connectors, listed in credentials.yml (plain `rasa`
commands: REST and the web chat) and credentials.env.yml (make run, Docker: every channel).

- rest: the REST webhook, with its input checked and a per-IP limit.
- socketio: the website chat widget, restricted to the origins in ALLOWED_ORIGINS, per-IP limit.
- facebook, slack, twilio, telegram: webhooks that refuse (403) requests the platform did not
  sign, and every request while the channel's secrets are empty (webhook_guard).
- numbered_options: buttons as numbered text, for channels without buttons (SMS).
- delivery: replies that fail fast and, when they fail, do not lose the conversation.

Every channel hands its messages to rasa_server.message_guard (a ChannelHandler is the `on_new_message`
Rasa's connector gets), which makes them storable (invalid Unicode, control characters), keeps their
text out of the logs and lets only the assistant's own button payloads count as intents: one place
for all channels.

Importing this package installs the project's patches of Rasa (rasa_server/extensions.py): `rasa run`
imports it when it loads the credentials file, before it makes its HTTP app or loads the agent, which
makes the credentials file the Rasa server's loading hook. This is the only call of install().
"""
from rasa_server import extensions

extensions.install()
