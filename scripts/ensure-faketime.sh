#!/usr/bin/env bash
# Makes sure `faketime` (Debian package `faketime`, libfaketime) is on the machine, for
# `make test-clock-ahead`. When it is missing and KCONNECTOR_INSTALL_FAKETIME=1 (CI sets it) and we
# are root, it installs it with apt-get; otherwise it fails with what to do: a run that was meant
# to move the clock must never pass silently on today's date.
set -euo pipefail
command -v faketime >/dev/null 2>&1 && exit 0
if [ "${KCONNECTOR_INSTALL_FAKETIME:-0}" = "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing faketime (Debian package faketime)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime) >&2
  command -v faketime >/dev/null 2>&1 && exit 0
fi
echo "faketime is not installed: install the Debian package 'faketime' (apt-get install faketime)," >&2
echo "or run with KCONNECTOR_INSTALL_FAKETIME=1 as root to let this script install it" >&2
exit 1
