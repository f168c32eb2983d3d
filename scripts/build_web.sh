#!/usr/bin/env bash
# Builds the website chat widget into web/dist/ (served as /dist/ by scripts/serve_web.py):
#   socket.io.min.js  from the pinned socket.io-client (web/package-lock.json)
#   clinic-chat.js, clinic-chat.css  from web/src/; in clinic-chat.js every non-ASCII character
#     (the Spanish texts, "…") is written as a \uXXXX escape, so that the widget reads the same on
#     a page in any encoding, whatever charset (if any) the web server sends with the file
# Installs web/node_modules with `npm ci` only when it is missing or the lock file changed.
# Safe to run any time; prints nothing when all is well.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "build_web.sh: npm is not installed. Install Node.js 18 or later (with npm), then run this again." >&2
  exit 1
fi

stamp=web/node_modules/.clinic-chat-lock.sha256
wanted=$(cat web/package.json web/package-lock.json | sha256sum | cut -d' ' -f1)
if [[ ! -d web/node_modules || ! -f $stamp || "$(cat "$stamp")" != "$wanted" ]]; then
  if ! output=$(npm ci --prefix web --ignore-scripts --no-audit --no-fund --loglevel=error 2>&1); then
    echo "$output" >&2
    echo "build_web.sh: 'npm ci' failed in web/ (see above)." >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
fi

mkdir -p web/dist
for file in web/node_modules/socket.io-client/dist/socket.io.min.js \
            web/node_modules/socket.io-client/dist/socket.io.min.js.map \
            web/src/clinic-chat.css; do
  target="web/dist/$(basename "$file")"
  cmp -s "$file" "$target" || cp "$file" "$target"
done
node -e '
  const fs = require("fs");
  const [source, target] = process.argv.slice(1);
  const ascii = fs.readFileSync(source, "utf8").replace(/[^\x00-\x7f]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== ascii) fs.writeFileSync(target, ascii);
' web/src/clinic-chat.js web/dist/clinic-chat.js
