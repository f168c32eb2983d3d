"""One blueprint per concern: auth, overview, queue (handoff), conversations, requests, improve."""
