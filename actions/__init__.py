"""Custom actions of the Tri-Cities Infusions & Wellness Clinic assistant, one module per concern."""
