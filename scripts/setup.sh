#!/usr/bin/env bash
# The one place that installs anything. Idempotent: every step checks first and
# skips what is present, so `npm start` / `npm test` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# Debian packages the lab and the tests need (later work appends here, nowhere else).
APT_PACKAGES=(
  golang-go                      # builds the vCenter simulator harness (test/lab/vcsim)
  golang-github-vmware-govmomi-dev  # vcsim + the vim25 type definitions our generator reads
  iproute2                       # ip netns, veth, tc tbf: the two lab sites and the WAN
  chromium                       # Karma + browser tests of the plugin UI
  openssl                        # certificate inspection in tests
  ca-certificates
  busybox-static                 # lab guests: the root file system guest operations run in (test/lab/vcsim)
  openssh-server openssh-client rsync netcat-openbsd debootstrap  # npm run bench -- transfer: the peers (rsync -e ssh, scp, nc) and the OS-image data set
  e2fsprogs                      # filefrag (FIEMAP): the ESXi Manager maps allocated extents of flat VMDKs
  postgresql                     # the scale option of the HDM database (HDM_DB_URL); tested in plugin-server/test/database
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]} — run as root or: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
else
  log "Debian packages present"
fi

# npm: install when node_modules is missing or older than the lockfile.
npm_install_if_stale() {
  local dir=$1
  local marker="$dir/node_modules/.package-lock.json"
  if [[ ! -f "$marker" || "$dir/package-lock.json" -nt "$marker" || "$dir/package.json" -nt "$marker" ]]; then
    log "npm ci in ${dir}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  else
    log "npm dependencies present in ${dir}"
  fi
}
npm_install_if_stale .
if [[ -f plugin-ui/package-lock.json ]]; then
  npm_install_if_stale plugin-ui
fi
# Native modules: npm may skip install scripts it has not been told to allow; build them if so.
if ! node -e "new (require('better-sqlite3'))(':memory:')" >/dev/null 2>&1; then
  log "building better-sqlite3 from source"
  npm rebuild better-sqlite3 --foreground-scripts >/dev/null </dev/null
fi
log "done"
