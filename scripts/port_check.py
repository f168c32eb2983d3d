"""Is a port free, and which program holds it? Used by scripts/run.sh before and after starting each service.

    python scripts/port_check.py free PORT HOST "action server" ACTION_PORT
        exit 0 when nothing listens on PORT; otherwise says which program holds it and exits 1.
    python scripts/port_check.py held PORT PID "action server"
        exit 0 when the listening socket on PORT belongs to process PID (or one it started);
        otherwise says who answers there instead and exits 1.

Linux only for the second question (/proc); elsewhere it cannot tell and says yes.
"""
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional, Set

LISTEN = "0A"  # TCP state in /proc/net/tcp


def in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Something answers on loopback at `port`, or a server could not bind `host`:`port`."""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the servers themselves bind: a recently closed connection (TIME_WAIT) is no obstacle.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def listening_inodes(port: int) -> Optional[Set[str]]:
    """The inodes of the sockets listening on `port` (IPv4 and IPv6), or None without /proc."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    inodes = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def socket_inodes_of(pid: int) -> Set[str]:
    inodes = set()
    try:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:  # gone, or another user's
        pass
    return inodes


def all_pids() -> Set[int]:
    return {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}


def listening_pids(port: int) -> Set[int]:
    """The processes (that this user may see) holding a socket listening on `port`."""
    inodes = listening_inodes(port) or set()
    return {pid for pid in all_pids() if socket_inodes_of(pid) & inodes} if inodes else set()


def family(pid: int) -> Set[int]:
    """`pid` and every process it started, and they started."""
    parents = {}
    for other in all_pids():
        try:
            stat = Path(f"/proc/{other}/stat").read_text()
        except OSError:
            continue
        parents[other] = int(stat.rsplit(")", 1)[1].split()[1])
    members, grown = {pid}, True
    while grown:
        children = {child for child, parent in parents.items() if parent in members} - members
        members |= children
        grown = bool(children)
    return members


def held_by(port: int, pid: int) -> bool:
    """Whether the socket listening on `port` is `pid`'s (or a child's), and no other program's."""
    if listening_inodes(port) is None:
        return True  # no /proc: cannot tell
    holders = listening_pids(port)
    return bool(holders) and holders <= family(pid)


def describe(port: int) -> str:
    """`ss`'s line(s) for the listener on `port` (program and pid when this user may see them)."""
    if not shutil.which("ss"):
        return ""
    try:
        result = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return "\n".join("    " + line.strip() for line in result.stdout.splitlines() if line.strip())


def main(argv) -> int:
    if len(argv) == 5 and argv[0] == "free":
        port, host, label, variable = int(argv[1]), argv[2], argv[3], argv[4]
        if not in_use(port, host):
            return 0
        holder = describe(port)
        print(f"Port {port} ({label}) is already in use" + (f" by:\n{holder}" if holder else "."))
        print(f"Stop that program, or start on another port, e.g. {variable}={port + 1} make run")
        return 1
    if len(argv) == 4 and argv[0] == "held":
        port, pid, label = int(argv[1]), int(argv[2]), argv[3]
        if held_by(port, pid):
            return 0
        holder = describe(port)
        print(f"Another program answers on port {port} instead of the {label} started here"
              + (f":\n{holder}" if holder else "."))
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
