#!/usr/bin/env bash
# Builds every deployable: the simulator harness (Go), the server and lab (tsc -b),
# and the plugin UI (Angular). Each step is skipped when its output is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[build] %s\n' "$*"; }

newer_than() { # newer_than OUTPUT DIR... → true when some file under DIR is newer than OUTPUT
  local out=$1; shift
  [[ ! -e "$out" ]] && return 0
  [[ -n "$(find "$@" -newer "$out" -type f -not -path '*/node_modules/*' -not -path '*/dist/*' -print -quit 2>/dev/null)" ]]
}

mkdir -p .hdm-lab/bin
if newer_than .hdm-lab/bin/hdm-vcsim test/lab/vcsim; then
  log "go build test/lab/vcsim → .hdm-lab/bin/hdm-vcsim"
  (cd test/lab/vcsim && GO111MODULE=off GOPATH=/usr/share/gocode go build -o ../../../.hdm-lab/bin/hdm-vcsim .)
fi

log "generate vim25 bindings"
node plugin-server/scripts/gen-vim25.js
log "tsc -b"
npx tsc -b plugin-server appliances/common appliances/prem-manager appliances/esxi-manager appliances/cloud-manager test/lab test/e2e
chmod +x plugin-server/dist/src/cli/main.js

if [[ -z "${HDM_SKIP_UI_BUILD:-}" && -f plugin-ui/package.json ]] && newer_than plugin-ui/dist/index.html plugin-ui/src plugin-ui/angular.json plugin.json; then
  log "ng build plugin-ui"
  (cd plugin-ui && npm run --silent build)
fi
log "done"
