#!/usr/bin/env bash
# Install opsbot from this checkout as a systemd service (run as root, from anywhere):
#
#   sudo deploy/systemd/install.sh
#   sudo editor /etc/opsbot/opsbot.env         # set SLACK_BOT_TOKEN and SLACK_APP_TOKEN
#   sudo systemctl enable --now opsbot
#
# It creates what the unit needs, and is safe to run again (an upgrade keeps the env file
# and the knowledge): the `opsbot` system user, /etc/opsbot/opsbot.env (from .env.example,
# mode 640, readable by opsbot only), /var/lib/opsbot (index, SQLite), /srv/opsbot/knowledge
# (the docs to answer from; this checkout's knowledge/ on the first install), a venv in
# /opt/opsbot with CPU-only torch, and /etc/systemd/system/opsbot.service.
#   PYTHON=python3.11            the interpreter for the venv (3.11+)
#   TORCH_INDEX_URL=...          where CPU torch comes from (PyTorch's CPU index by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) -eq 0 ]] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
PYTHON=${PYTHON:-python3}
TORCH_INDEX_URL=${TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}
torch=$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')

id opsbot >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/opsbot \
    --shell /usr/sbin/nologin opsbot
install -d -m 755 /etc/opsbot /srv/opsbot
install -d -m 750 -o opsbot -g opsbot /var/lib/opsbot
if [[ ! -d /srv/opsbot/knowledge ]]; then
    install -d -m 755 /srv/opsbot/knowledge
    cp -r knowledge/. /srv/opsbot/knowledge/
fi
if [[ ! -e /etc/opsbot/opsbot.env ]]; then
    install -m 640 -o root -g opsbot .env.example /etc/opsbot/opsbot.env
fi

"$PYTHON" -m venv /opt/opsbot
/opt/opsbot/bin/pip install -q --disable-pip-version-check \
    ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} "${torch}+cpu"
/opt/opsbot/bin/pip install -q --disable-pip-version-check .
/opt/opsbot/bin/opsbot --version

install -m 644 deploy/systemd/opsbot.service /etc/systemd/system/opsbot.service
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
fi
echo "installed; next: set the tokens in /etc/opsbot/opsbot.env, then" \
    "systemctl enable --now opsbot"
