"""Code shared by the action server, the staff console and the scripts (neither imports the other)."""
