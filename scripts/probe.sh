#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up, builds and runs gort-probe natively: the platform report.
#   scripts/probe.sh [gort-probe args...]     e.g. --json, errnos windows, --help
# The setup and build show their progress on stderr (a first run installs
# packages and compiles for a few minutes); stdout is the report alone, so
# `scripts/probe.sh --json > report.json` works.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "[probe] setting up and building gort-probe (linux-x86_64 preset)..." >&2
bash scripts/build.sh linux-x86_64 --target gort-probe >&2
echo "[probe] built: build/linux-x86_64/bin/gort-probe" >&2
exec build/linux-x86_64/bin/gort-probe "$@"
