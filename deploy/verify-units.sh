#!/usr/bin/env bash
# Checks the systemd units in deploy/ with `systemd-analyze verify`, as installed: deploy/install.sh
# installs them, with stand-ins for cpdd and cpdctl, into a temporary root, and systemd-analyze
# verifies them there (--root), so nothing is built and nothing outside the temporary root is touched.
# Works as root and as a normal user. Exits non-zero if systemd-analyze fails or says anything
# about our units; prints "skipped: systemd-analyze not found" and exits 0 without systemd-analyze.
set -euo pipefail

if ! command -v systemd-analyze >/dev/null; then
    echo "skipped: systemd-analyze not found"
    exit 0
fi

deploy=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/verify-units.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
units=(cpdd.service cpdd@example.service cpd-report.service cpd-report.timer)

# Stand-ins for the binaries: systemd-analyze only checks that ExecStart= names an executable.
mkdir -p "$work/bin" "$root/usr/lib/systemd/system"
for program in cpdd cpdctl; do
    printf '#!/bin/sh\nexit 0\n' >"$work/bin/$program"
    chmod 0755 "$work/bin/$program"
done

# The host's own units, for the ones ours depend on (sysinit.target, network-online.target, ...).
for dir in /usr/lib/systemd/system /lib/systemd/system; do
    if [ -d "$dir" ]; then
        cp -R "$dir/." "$root/usr/lib/systemd/system/"
        break
    fi
done
# Minimal ones where the host has none (a machine with systemd-analyze but few units).
for unit in sysinit.target basic.target shutdown.target network-online.target multi-user.target \
    timers.target time-set.target time-sync.target sockets.target paths.target; do
    [ -e "$root/usr/lib/systemd/system/$unit" ] || printf '[Unit]\nDescription=%s\n' "$unit" >"$root/usr/lib/systemd/system/$unit"
done

if ! "$deploy/install.sh" --root "$root" --no-build --bin-dir "$work/bin" >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    echo "verify-units: deploy/install.sh --root failed" >&2
    exit 1
fi

status=0
(cd "$root" && systemd-analyze verify --root="$root" --man=no --recursive-errors=no "${units[@]}") \
    >"$work/verify.log" 2>&1 || status=$?
cat "$work/verify.log"

# Lines about our units or programs; anything else is about the host's units, shown but not counted.
ours=$(grep -E 'cpdd|cpd-report|cpdctl' "$work/verify.log" || true)
if [ "$status" -ne 0 ] || [ -n "$ours" ]; then
    echo "verify-units: systemd-analyze verify found problems in ${units[*]} (exit status $status)" >&2
    exit 1
fi
echo "verify-units: ${units[*]} verified clean ($(systemd-analyze --version | head -n 1))"
