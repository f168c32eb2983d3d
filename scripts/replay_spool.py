"""Write the requests waiting in the booking spool (consultation and call-back requests) to the database, now.

Usage: .venv/bin/python scripts/replay_spool.py
The action server does this by itself once the database is back; this is for staff and ops who
do not want to wait, or want to check. Exit code 1 while requests are still waiting.
"""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from clinic.storage import get_store  # noqa: E402  (needs the path above)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    store = get_store()
    written = store.replay_spool()
    print(f"Wrote {written} spooled consultation request(s) to the database.")
    waiting = store.spooled_count()
    if waiting:
        print(f"{waiting} request(s) still wait in {store.spool_path}: see the errors above.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
