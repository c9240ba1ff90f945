#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing. Idempotent; quiet when
# everything is already there. Usage: scripts/install-deps.sh [extra-package...]
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libcurl4-openssl-dev libssl-dev libsqlite3-dev rapidjson-dev catch2 libcli11-dev
  libcpp-httplib-dev libbenchmark-dev
  openssl python3 clang libclang-rt-14-dev
  golang-go  # the Go receiver of docs/receivers.md is built and run by the tests (~65 MB download)
  libpq-dev postgresql  # the PostgreSQL store, tested against private servers the tests start
  graphviz  # docs/architecture.svg is made from docs/architecture.dot; a test checks it is current
  "$@"
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# Node.js (the documented receiver code is JavaScript): any installed node will do.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# The tests start PostgreSQL servers of their own: the package need not make and start the system's
# default cluster (unless this machine's configuration already says otherwise).
if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  $sudo mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
