#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up, builds and runs gort-probe natively: the platform report.
#   scripts/probe.sh [gort-probe args...]     e.g. --json, errnos windows
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build.sh linux-x86_64 --target gort-probe >/dev/null
exec build/linux-x86_64/bin/gort-probe "$@"
