#!/bin/sh
# Install hakobune's systemd units where systemd runs: the API socket and
# server (hakobune.socket, hakobune.service: `hakobune serve` by socket
# activation) and the boot unit that brings back containers with a restart
# policy (hakobune-restore.service: `hakobune system restore`).
#
#     sh contrib/systemd/install.sh [PATH-OF-hakobune]
#
# The units name the hakobune given (default: the venv's next to this
# checkout).  Without a running systemd (a container, WSL without systemd,
# a CI runner) nothing is installed and this says how to do without:
# run `hakobune serve &` yourself and `hakobune system restore` at boot.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hakobune=${1:-$(cd "$here/../.." && pwd)/.venv/bin/hakobune}
if [ ! -d /run/systemd/system ]; then
    echo "systemd is not running here: no units installed." >&2
    echo "Start the API with '$hakobune serve &' and run '$hakobune system restore' at boot." >&2
    exit 0
fi
units=/etc/systemd/system
for unit in hakobune.socket hakobune.service hakobune-restore.service; do
    sed "s#/usr/bin/hakobune#$hakobune#g" "$here/$unit" > "$units/$unit.tmp"
    mv "$units/$unit.tmp" "$units/$unit"
done
systemctl daemon-reload
systemctl enable hakobune-restore.service hakobune.socket
systemctl start hakobune.socket
echo "installed: hakobune.socket (DOCKER_HOST=unix:///run/hakobune/hakobune.sock), hakobune.service, hakobune-restore.service"
