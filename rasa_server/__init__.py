"""Code that runs inside the Rasa server process, where Rasa 3.6 offers no extension point or where
its extension points (endpoints.yml classes) are used.

rasa_server/extensions.py lists every extension of Rasa, rasa_sdk and python-socketio, patches and
hooks, with the upstream functions each depends on; its install(), called once from
channels/__init__.py, applies the patches. The modules:
- log_redaction: visitor text kept out of every log record (installed first, so that it sees them all);
- action_calls: a faster check of action-server replies; failed calls noted;
- button_payloads: only the assistant's own button payloads count as intents from visitors, and
  those are parsed without running the NLU models;
- nlu_thread: the NLU models run in a worker thread, beside the event loop;
- message_guard: what every channel hands its messages to (ChannelHandler): message clean-up
  (invalid Unicode, control characters), per-conversation rate limit, a reply instead of silence
  when the action server, the lock store or the tracker store fails; every refusal with the crisis
  line (refusals);
- http_api_checks: the token checked first, then a 400 instead of Rasa's 500 for malformed bodies
  sent to the HTTP API;
- rate_limit: the sliding-window limits (also used per IP by the REST and Socket.IO channels);
- nlg: responses in the visitor's language (endpoints*.yml `nlg: type`);
- lock_store: the Redis lock store of endpoints.production.yml, atomic across replicas;
- tracker_store: database errors raised, not hidden behind an in-memory fallback; the SQLite store of
  endpoints.yml (private file); the SQL tracker store of endpoints.production.yml, with connections
  that survive a database restart.
"""
