"""Serves the demo page of the clinic website with the chat widget embedded.

    python scripts/serve_web.py          (after scripts/build_web.sh)

  /          web/demo/index.html, with the widget's serverUrl set to RASA_PUBLIC_URL
  /es.html   the same page in Spanish (<html lang="es">: the widget starts in Spanish); every
             .html page in web/demo/ gets the serverUrl like index.html
  /<file>    other files in web/demo/
  /dist/...  the built widget, web/dist/

Environment: WEB_PORT (default 8080; listens on 127.0.0.1 only) and RASA_PUBLIC_URL, the
Rasa server as the visitor's browser reaches it (default http://127.0.0.1:5005). The Rasa
server must accept socket connections from this page's origin (ALLOWED_ORIGINS, see the README).
Responses carry a Content-Security-Policy that allows scripts, styles and connections only
to this server and the Rasa server.
"""
import base64
import hashlib
import json
import os
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEMO_DIR = WEB_DIR / "demo"
DIST_DIR = WEB_DIR / "dist"
# The demo pages are written with the default server URL; it is replaced when a page is served.
DEFAULT_RASA_URL = "http://127.0.0.1:5005"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def rasa_origin(url: str) -> str:
    """Checks RASA_PUBLIC_URL and returns its origin, e.g. http://127.0.0.1:5005."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"RASA_PUBLIC_URL must be an http(s) URL like {DEFAULT_RASA_URL}, not {url!r}")
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc) or not re.fullmatch(r"[A-Za-z0-9/._~-]*", parts.path):
        raise ValueError(f"RASA_PUBLIC_URL has unexpected characters: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str, page: Optional[bytes]) -> str:
    origin = rasa_origin(rasa_url)
    socket_origin = origin.replace("http", "ws", 1)  # http -> ws, https -> wss
    scripts = ["'self'"]
    if page is not None:  # allow exactly the inline scripts of this page (the widget configuration)
        for script in INLINE_SCRIPT.findall(page.decode("utf-8")):
            digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
            scripts.append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(scripts)}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {origin} {socket_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def demo_page(rasa_url: str, page: Path = DEMO_DIR / "index.html") -> bytes:
    html = page.read_text(encoding="utf-8")
    quoted_default = json.dumps(DEFAULT_RASA_URL)
    if quoted_default not in html:
        raise RuntimeError(f"web/demo/{page.name} no longer contains serverUrl: {quoted_default}")
    return html.replace(quoted_default, json.dumps(rasa_url.rstrip("/"))).encode("utf-8")


def resolve(url_path: str) -> Optional[Path]:
    """Maps a URL path to a file under web/demo or web/dist; None when not allowed or missing."""
    path = unquote(urlsplit(url_path).path)
    if "\x00" in path or "\\" in path:
        return None
    segments = [segment for segment in path.split("/") if segment]
    if any(segment.startswith(".") for segment in segments):  # "..", ".git", dotfiles
        return None
    if segments[:1] == ["dist"]:
        root, segments = DIST_DIR, segments[1:]
    else:
        root = DEMO_DIR
    if not segments:
        segments = ["index.html"]
    candidate = root.joinpath(*segments).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "ClinicDemo"
    rasa_url = DEFAULT_RASA_URL

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        file = resolve(self.path)
        if file is None:
            body = b"Not found\n"
            self.send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", body, None, send_body)
            return
        if file.parent == DEMO_DIR.resolve() and file.suffix == ".html":
            body = demo_page(self.rasa_url, file)
            self.send(HTTPStatus.OK, CONTENT_TYPES[".html"], body, body, send_body)
            return
        body = file.read_bytes()
        content_type = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        self.send(HTTPStatus.OK, content_type, body, None, send_body)

    def send(self, status: HTTPStatus, content_type: str, body: bytes, page: Optional[bytes], send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", content_security_policy(self.rasa_url, page))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        if os.environ.get("WEB_LOG", "1") != "0":
            super().log_message(format, *args)


def main() -> None:
    rasa_url = os.environ.get("RASA_PUBLIC_URL") or DEFAULT_RASA_URL
    port = int(os.environ.get("WEB_PORT") or 8080)
    try:
        rasa_origin(rasa_url)
    except ValueError as error:
        sys.exit(str(error))
    missing = [
        name for name in ("socket.io.min.js", "clinic-chat.js", "clinic-chat.css") if not (DIST_DIR / name).is_file()
    ]
    if missing:
        sys.exit(f"web/dist is not built ({', '.join(missing)} missing): run scripts/build_web.sh first.")
    DemoHandler.rasa_url = rasa_url
    server = ThreadingHTTPServer(("127.0.0.1", port), DemoHandler)
    server.daemon_threads = True
    print(f"Demo page: http://127.0.0.1:{port}/  (chat widget talks to {rasa_url}; Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
