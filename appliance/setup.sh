#!/usr/bin/env bash
# Install Lingua's build dependencies (Debian 12 packages) and build it.
#   bash appliance/setup.sh                 -> build/ (RelWithDebInfo)
#   BUILD_DIR=build-asan SANITIZE=ON bash appliance/setup.sh
#   WERROR=ON bash appliance/setup.sh       -> warnings are errors (CI)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$here/build}
packages=(build-essential cmake pkg-config curl python3 python3-zmq libjansson-dev liblmdb-dev
          libzmq3-dev libssl-dev libpcre2-dev libxml2-dev libxslt1-dev
          libcurl4-openssl-dev libmicrohttpd-dev libcmocka-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root (or install these packages first)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$here" -B "$build_dir" -DLX_WERROR="${WERROR:-OFF}" \
      -DLX_SANITIZE="${SANITIZE:-OFF}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built $build_dir/lingua"
