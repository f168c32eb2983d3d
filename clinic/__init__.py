"""Code shared by the action server (actions/), the staff console (console/), the scripts and the
benchmarks (neither actions/ nor console/ imports the other):

settings            environment, defaults and generated secrets
storage             consultation and call-back requests: the clinic database (SQLAlchemy Base), spool and replay
handoff_store       handoff tickets, and the external intents that resume a paused conversation
rasa_api            a client for the Rasa server's HTTP API
notifier            staff notifications: new requests, call-backs, waiting handoffs and crisis alerts (log or SMTP)
profile             the clinic profile, office hours and the clinic's time zone
faq_topics          the FAQ topic catalogue (faq_topics.yml)
contact             email addresses: found in text and checked
conversation_keys   opaque keys naming conversations in the console and in staff alerts
words               short answers compared as plain words (button labels typed, answers to the check-in)
check_in            how a visitor answered the crisis check-in (yes, not sure, no), for the assistant and the console
"""
