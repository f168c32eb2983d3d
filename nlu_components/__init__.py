"""Custom NLU components, for what Rasa's own components do not cover."""
