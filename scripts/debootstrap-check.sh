#!/bin/bash
# Installs the ChargeHub packages on a clean Debian 12 made with debootstrap, starts the services as
# their systemd units would, and checks a working site (docs/packages.md, "Checked on a clean Debian 12"):
#   - debootstrap bookworm (minbase) into a throwaway folder; `apt-get install ./*.deb` there, so apt
#     pulls mosquitto, adduser and the libraries from the Debian mirror as on a real machine;
#   - what the maintainer scripts did: the chargehub user, secrets and their modes, the database, the
#     first admin account's password in a root-only file, the units enabled;
#   - systemd-analyze verify on the installed units (the root's own systemd);
#   - each unit's ExecStart run as user chargehub in the chroot (no systemd in a chroot), in a private
#     network namespace so ports 1883, 8080 and 9000 are its own: the broker with our plugin, the core
#     (/health; the admin logs in with the installer's password and changes it), the bridge, and the
#     simulator configured through /etc/chargehub/sim.toml charging a rider's session that is then
#     settled and billed.
# Needs root, debootstrap, unshare, curl, python3, and the Debian mirror. About 2-4 minutes.
#   scripts/debootstrap-check.sh                 packages from build/ (cpack into the temp dir)
#   PKG_DIR=dir scripts/debootstrap-check.sh     these .deb files instead
#   MIRROR=http://… KEEP=1 (keep the root)       CACHE=/var/cache/chargehub-debootstrap (downloads)
set -euo pipefail
cd "$(dirname "$0")/.."
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE=${CACHE:-/var/cache/chargehub-debootstrap}
TIME_SCALE=${TIME_SCALE:-120}
DEVICE=861234567890123

if [ "${1:-}" = --site ]; then
  # ---- inside private mount and network namespaces: the site, run from the chroot $2 ----
  R=$2 LOG=$3
  ip link set lo up
  unit_cmd() { sed -n 's/^ExecStart=//p' "$R/lib/systemd/system/$1.service"; }
  pids=()
  trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
  # As the unit: User=chargehub, WorkingDirectory the state directory, ExecStart and any extra flags.
  # chroot, env and sh each exec the next: the pid kept is runuser's, which stops the program with it.
  start() {
    local u=$1; shift
    chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/ \
      sh -c "cd /var/lib/chargehub && exec runuser -u chargehub -- $(unit_cmd "$u") $*" >"$LOG/$u.log" 2>&1 &
    pids+=($!)
  }
  port_up() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
  fail() { echo "FAIL: $*" >&2; exit 1; }
  json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

  start chargehub-mosquitto
  port_up 1883 || { cat "$LOG/chargehub-mosquitto.log"; fail "broker"; }
  grep -q "chargehub-auth: ready" "$LOG/chargehub-mosquitto.log" || fail "plugin not loaded"
  echo "site: broker with the chargehub plugin on 1883"
  # The core as its unit runs it; simulated time needs the meter check to know the charger's clock rate.
  start chargehub-core --charger-time-scale "$TIME_SCALE"
  API=http://127.0.0.1:8080/api/v1; J=(-H "Content-Type: application/json")
  for _ in $(seq 300); do curl -sf $API/health >/dev/null && break; sleep 0.1; done
  curl -sf $API/health | grep -q '"ok":true' || { cat "$LOG/chargehub-core.log"; fail "core /health"; }
  echo "site: core /health ok"
  PW=$(cat "$R/etc/chargehub/initial-admin-password")
  login() { curl -s "${J[@]}" -d "{\"name\":\"admin\",\"password\":\"$1\"}" $API/auth/login | json 'd["access_token"]'; }
  TOKEN=$(login "$PW")
  curl -sf "${J[@]}" -H "Authorization: Bearer $TOKEN" -d "{\"old_password\":\"$PW\",\"new_password\":\"东门车棚-2026-check\"}" \
    $API/auth/password >/dev/null || fail "password change"
  TOKEN=$(login "东门车棚-2026-check")
  H=("${J[@]}" -H "Authorization: Bearer $TOKEN")
  curl -sf "${H[@]}" $API/me >/dev/null || fail "admin /me after the password change"
  echo "site: admin logged in with the installer's password and changed it"
  start chargehub-bridge
  port_up 9000 || { cat "$LOG/chargehub-bridge.log"; fail "bridge"; }
  TOKEN_HEX=$(curl -sf "${H[@]}" -d "{\"id\":\"$DEVICE\",\"name\":\"东门车棚 1号桩\",\"ports\":10,\"model\":1}" $API/devices |
    json 'd["token_hex"]')
  # The simulator as its unit runs it, configured through its file as an operator would.
  cat >>"$R/etc/chargehub/sim.toml" <<SIM
bridge = "127.0.0.1:9000"
device = ["$DEVICE"]
token-hex = ["$TOKEN_HEX"]
time-scale = $TIME_SCALE
SIM
  start chargehub-sim
  for _ in $(seq 300); do curl -s "${H[@]}" $API/devices/$DEVICE | grep -q '"online":true' && break; sleep 0.1; done
  curl -s "${H[@]}" $API/devices/$DEVICE | grep -q '"online":true' ||
    { tail -20 "$LOG/chargehub-sim.log" "$LOG/chargehub-bridge.log"; fail "the simulated charger is not online"; }
  echo "site: simulated charger $DEVICE online through the bridge and the broker"
  curl -sf "${H[@]}" -d '{"name":"张三","phone":"13800000000"}' $API/riders >/dev/null
  curl -sf "${H[@]}" -d '{"amount_fen":1000}' $API/riders/1/topups >/dev/null
  curl -sf "${H[@]}" -d "{\"device_id\":\"$DEVICE\",\"port\":3,\"rider_id\":1,\"amount_fen\":500}" $API/sessions >/dev/null ||
    fail "session start refused"
  # At least 30 Wh (at the default 1.00 yuan/kWh, 3 fen).
  for _ in $(seq 900); do
    e=$(curl -s "${H[@]}" $API/sessions/1 | json 'd.get("energy_wh",0)')
    [ "$e" -ge 30 ] && break; sleep 0.1
  done
  [ "$e" -ge 30 ] || { curl -s "${H[@]}" $API/sessions/1; fail "too little energy delivered ($e Wh)"; }
  echo "site: session 1 charging, $e Wh so far"
  curl -sf "${H[@]}" -d '{}' $API/sessions/1/stop >/dev/null
  for _ in $(seq 600); do
    s=$(curl -s "${H[@]}" $API/sessions/1)
    [ "$(json 'd["state"]' <<<"$s")" = settled ] && break; sleep 0.1
  done
  [ "$(json 'd["state"]' <<<"$s")" = settled ] || fail "session not settled: $s"
  fen=$(json 'd["amount_fen"]' <<<"$s")
  balance=$(curl -s "${H[@]}" $API/riders/1 | json 'd["balance_fen"]')
  [ "$fen" -gt 0 ] && [ "$balance" -eq $((1000 - fen)) ] || fail "billing: $fen fen charged, balance $balance: $s"
  echo "site: session 1 stopped and settled: $(json 'd["energy_wh"]' <<<"$s") Wh, $fen fen; rider balance $balance fen"
  exit 0
fi

# ---- outside ----
[ "$(id -u)" = 0 ] || { echo "debootstrap-check: run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap-check: apt-get install debootstrap" >&2; exit 1; }
T0=$(date +%s)
T=$(mktemp -d /var/tmp/chargehub-debootstrap.XXXXXX)
R=$T/root
mkdir -p "$T/pkgs" "$T/log" "$CACHE"
cleanup() {
  # Whatever still runs in the chroot (a service the site check could not stop) ends with it.
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -9 "${p#/proc/}" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "debootstrap-check: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
if [ -n "${PKG_DIR:-}" ]; then
  cp "$PKG_DIR"/chargehub-*.deb "$T/pkgs/"
else
  cpack --config "${BUILD_DIR:-build}/CPackConfig.cmake" -G DEB -B "$T/cpack" >"$T/log/cpack.log" 2>&1 ||
    { cat "$T/log/cpack.log"; exit 1; }
  cp "$T"/cpack/chargehub-*.deb "$T/pkgs/"
fi
echo "debootstrap-check: packages: $(cd "$T/pkgs" && ls | tr '\n' ' ')"
debootstrap --variant=minbase --cache-dir="$CACHE" bookworm "$R" "$MIRROR" >"$T/log/debootstrap.log" 2>&1 ||
  { tail -20 "$T/log/debootstrap.log"; exit 1; }
T1=$(date +%s)
echo "debootstrap-check: clean bookworm (minbase) in $((T1 - T0)) s"
cat >"$R/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
mkdir -p "$R/tmp/pkgs"
cp "$T"/pkgs/*.deb "$R/tmp/pkgs/"

unshare --mount bash -euo pipefail -c '
  R=$1 T=$2 SELF=$3
  mount -t proc proc "$R/proc"
  mount --rbind /dev "$R/dev"
  mount --rbind /sys "$R/sys"
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }
  in_root apt-get update -qq >"$T/log/apt.log" 2>&1
  # systemd: a Debian 12 machine has it (minbase leaves it out); here it only provides systemd-analyze.
  in_root apt-get install -y --no-install-recommends systemd >>"$T/log/apt.log" 2>&1 || { tail -30 "$T/log/apt.log"; exit 1; }
  in_root sh -c "apt-get install -y --no-install-recommends /tmp/pkgs/*.deb" >>"$T/log/apt.log" 2>&1 ||
    { tail -30 "$T/log/apt.log"; exit 1; }
  grep -E "^chargehub|Setting up chargehub" "$T/log/apt.log" | sed "s/^/  apt: /"
  fail() { echo "FAIL: $*" >&2; exit 1; }
  PW=$(cat "$R/etc/chargehub/initial-admin-password")
  grep -qF "$PW" "$T/log/apt.log" && fail "the admin password appeared in the installation output"
  m() { in_root stat -c "%U:%G %a" "$1"; }
  [ "$(m /etc/chargehub/core.secret)" = "chargehub:chargehub 600" ] || fail "core.secret $(m /etc/chargehub/core.secret)"
  [ "$(m /etc/chargehub/initial-admin-password)" = "root:root 600" ] || fail "initial-admin-password"
  [ "$(m /var/lib/chargehub)" = "chargehub:chargehub 750" ] || fail "/var/lib/chargehub"
  [ -e "$R/var/lib/chargehub/core.db" ] || fail "no database"
  for u in core bridge mosquitto; do
    [ -L "$R/etc/systemd/system/multi-user.target.wants/chargehub-$u.service" ] || fail "chargehub-$u not enabled"
  done
  echo "debootstrap-check: installed; user, secrets, database, admin password file and units as expected"
  in_root sh -c "systemd-analyze verify /lib/systemd/system/chargehub-*.service" >"$T/log/verify.log" 2>&1 ||
    { cat "$T/log/verify.log"; fail "systemd-analyze verify"; }
  ! grep -i chargehub "$T/log/verify.log" || fail "systemd-analyze verify complained"
  echo "debootstrap-check: systemd-analyze verify: the four units are clean"
  unshare --net "$SELF" --site "$R" "$T/log"
' _ "$R" "$T" "$(pwd)/scripts/debootstrap-check.sh" || { echo "debootstrap-check: FAILED (logs: KEEP=1 keeps $T/log)" >&2; exit 1; }
T2=$(date +%s)
echo "debootstrap-check: PASSED in $((T2 - T0)) s (debootstrap $((T1 - T0)) s, install and site $((T2 - T1)) s)"
