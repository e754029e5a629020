#!/usr/bin/env bash
# Installs everything ChargeHub needs to build, run and test on Debian 12 (run as root).
# Safe to run again: apt skips what is already there.
set -euo pipefail
PKGS=(
  cmake g++ make pkg-config git
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients
  libpaho-mqttpp-dev libpaho-mqtt-dev
  libssl-dev libsqlite3-dev sqlite3 libpq-dev postgresql libsodium-dev
  libcpp-httplib-dev libboost-json1.81-dev libcli11-dev
  libasio-dev libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  curl python3 python3-paho-mqtt procps
  nginx-light
  prometheus
  # Debian packages and their test (tests/packaging): dpkg-shlibdeps, file (CPack), systemd-analyze,
  # ip (the test's private network namespace)
  dpkg-dev file systemd iproute2
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all packages present"
