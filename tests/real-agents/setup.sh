#!/usr/bin/env bash
# Installs what `npm run test:real-agents` runs: node 24 and the exact agent CLI releases the stream fixtures were
# recorded with, into /tmp/agentcli (AGENTCLI=<dir> elsewhere), with the fixture generators' own install step
# (tests/fixtures/generate/lib.sh). Needs the npm registry; nothing else is touched. Already-installed releases
# are skipped.
#
#   bash tests/real-agents/setup.sh [claude] [codex] [gemini] [opencode] [openclaw]   # default: all five
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GEN="$(cd "$HERE/../fixtures/generate" && pwd)"
AGENTCLI="${AGENTCLI:-/tmp/agentcli}"

# The versions generate-streams.sh records (one source of truth: read them from it).
version_of() { sed -n "s/^$1=\(.*\)$/\1/p" "$GEN/generate-streams.sh"; }
NODE_VERSION=$(version_of NODE_VERSION)

# shellcheck source=../fixtures/generate/lib.sh
source "$GEN/lib.sh"

AGENTS=("$@")
[ ${#AGENTS[@]} -eq 0 ] && AGENTS=(claude codex gemini opencode openclaw)

install_node
for a in "${AGENTS[@]}"; do
  case "$a" in
    claude) install_cli claude @anthropic-ai/claude-code "$(version_of CLAUDE_VERSION)" ;;
    codex) install_cli codex @openai/codex "$(version_of CODEX_VERSION)" ;;
    gemini) install_cli gemini @google/gemini-cli "$(version_of GEMINI_VERSION)" ;;
    opencode) install_cli opencode opencode-ai "$(version_of OPENCODE_VERSION)" ;;
    openclaw) install_cli openclaw openclaw "$(version_of OPENCLAW_VERSION)" ;;
    *) echo "unknown agent: $a (claude, codex, gemini, opencode, openclaw)" >&2; exit 2 ;;
  esac
done
log "installed into $AGENTCLI; run: npm run test:real-agents"
