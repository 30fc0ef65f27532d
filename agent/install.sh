#!/bin/sh
# Installs the Posture agent on a Linux machine from a Posture server, enrolls it with a token, runs
# it once, and enables its hourly systemd timer. Posture's Quick fix and resource pages print the
# one-line form of it with the token filled in:
#
#   curl -fsSL https://posture.example.com/agent/install.sh | sudo sh -s -- https://posture.example.com TOKEN [RESOURCE_ID]
#
# As root. Needs curl (or wget) and python3. POSTURE_AGENT_BINDIR (default /usr/local/bin) and
# POSTURE_AGENT_NO_SYSTEMD=1 (skip the timer) exist for tests and unusual machines; the agent honours
# POSTURE_AGENT_CONFIG for its config path.
set -eu

usage="usage: install.sh URL TOKEN [RESOURCE_ID]"
url=${1:?$usage}
token=${2:?$usage}
resource_id=${3:-}
url=${url%/}
bindir=${POSTURE_AGENT_BINDIR:-/usr/local/bin}
unitdir=/etc/systemd/system

say() { printf 'posture-install: %s\n' "$*"; }
fail() { printf 'posture-install: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || fail "python3 is required (apt-get install python3, or dnf install python3)"

fetch() {
    # Redirects are refused, as the agent refuses them: they would lead elsewhere than the server named.
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-redirs 0 -o "$2" "$url/agent/$1" || fail "cannot download $url/agent/$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --max-redirect=0 -O "$2" "$url/agent/$1" || fail "cannot download $url/agent/$1"
    else
        fail "curl or wget is required"
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fetch posture_agent.py "$work/posture-agent"
mkdir -p "$bindir"
install -m 0755 "$work/posture-agent" "$bindir/posture-agent"
say "installed $bindir/posture-agent"

if [ -n "$resource_id" ]; then
    set -- --resource-id "$resource_id"
else
    set --
fi
# The token goes through a pipe, not the command line, so it stays out of the process list.
printf '%s\n' "$token" | "$bindir/posture-agent" enroll "$url" - "$@"
"$bindir/posture-agent" run || say "the first run failed (see above); the timer will try again"

if [ -z "${POSTURE_AGENT_NO_SYSTEMD:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    fetch posture-agent.service "$work/posture-agent.service"
    fetch posture-agent.timer "$work/posture-agent.timer"
    install -m 0644 "$work/posture-agent.service" "$work/posture-agent.timer" "$unitdir/"
    systemctl daemon-reload
    systemctl enable --now posture-agent.timer
    say "enabled posture-agent.timer (hourly)"
else
    say "no systemd here: run '$bindir/posture-agent run' hourly (cron) to keep reporting"
fi
