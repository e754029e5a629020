#!/bin/bash
# The Debian packages (cmake/Packaging.cmake, packaging/, docs/packages.md), end to end on this machine:
#   1. cpack builds the five packages into this test's own temp dir (no clash with `ninja package`);
#   2. their contents: programs, units, conffiles (= every file under /etc), maintainer scripts,
#      dependencies (dpkg-shlibdeps' and the explicit ones);
#   3. a throwaway root: an overlay of this machine's / (the lower layer is never written) in a private
#      mount and network namespace; `dpkg -i` there runs the real maintainer scripts (adduser, secrets,
#      database, first admin account, unit symlinks) against the overlay only;
#   4. `systemd-analyze verify` on the installed units (their ExecStart binaries resolve in that root);
#   5. the services started as their units would (user chargehub, ExecStart with --config
#      /etc/chargehub/<prog>.toml, on their configured ports: the namespace has its own loopback): the
#      broker with our plugin, the core (/health, /status with the broker connected, the admin's login
#      with the password the installer left in the root-only file), the bridge (connected to the broker),
#      the simulator configured in sim.toml online through them and charging a session;
#   6. the same packages installed again (the upgrade path): secrets, password file and a changed
#      conffile kept, no second admin account;
#   7. remove and purge: units and secrets go, configuration and database as documented.
# Needs root (CI runs as root), unshare, overlayfs, dpkg-dev, systemd (systemd-analyze), mosquitto.
# Usage: packages_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/chargehub-packages.XXXXXX")
M=$T/merged
cleanup() {
  # Whatever still runs in the throwaway root (a service a failed check left behind) ends with the test.
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$M" ] && kill -9 "${p#/proc/}" 2>/dev/null; done
  if [ -z "${CHARGEHUB_KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($(( $(date +%s%N) / 1000000 - START_MS )) ms)"; }
START_MS=$(( $(date +%s%N) / 1000000 ))
[ "$(id -u)" = 0 ] || fail "needs root (namespaces, overlay mount, dpkg in the throwaway root)"

step "1. cpack"
mkdir -p "$T/share/pkgs"
cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$T/cpack" >"$T/cpack.log" 2>&1 || { cat "$T/cpack.log"; fail "cpack"; }
cp "$T"/cpack/*.deb "$T/share/pkgs/"
deb() { ls "$T"/share/pkgs/"$1"_*.deb; }

step "2. contents"
check_pkg() {  # name, files..., then "--", control scripts..., then "--", dependencies...
  local name=$1 d files scripts deps
  shift
  d=$(deb "$name") || fail "no package $name"
  files=$(dpkg-deb -c "$d" | awk '{print $6}')
  while [ "$1" != -- ]; do grep -qx "\./$1" <<<"$files" || fail "$name lacks /$1"; shift; done
  shift
  mkdir -p "$T/ctl/$name"
  dpkg-deb -e "$d" "$T/ctl/$name"
  while [ "$1" != -- ]; do
    [ -x "$T/ctl/$name/$1" ] || fail "$name lacks an executable $1"
    sh -n "$T/ctl/$name/$1" || fail "$name: $1 is not valid sh"
    shift
  done
  shift
  deps=$(dpkg-deb -f "$d" Depends)
  for dep in "$@"; do grep -q "\b$dep\b" <<<"$deps" || fail "$name does not depend on $dep ($deps)"; done
  # Every file under /etc is a conffile, and every conffile is in the package.
  diff <(grep '^\./etc/.*[^/]$' <<<"$files" | sed 's/^\.//' | sort) <(sort "$T/ctl/$name/conffiles") ||
    fail "$name: conffiles differ from the files under /etc"
  # The programs are stripped (debug info would make them 5-10 times larger).
  mkdir -p "$T/x/$name"
  dpkg-deb -x "$d" "$T/x/$name"
  for f in "$T/x/$name"/usr/bin/*; do
    file "$f" | grep -q "stripped" && ! file "$f" | grep -q "not stripped" || fail "$f is not stripped"
  done
}
check_pkg chargehub-core usr/bin/chargehub-core etc/chargehub/core.toml lib/systemd/system/chargehub-core.service \
  -- postinst prerm postrm -- adduser libsqlite3-0 libpq5 libsodium23 libssl3 libstdc++6
check_pkg chargehub-bridge usr/bin/chargehub-bridge etc/chargehub/bridge.toml lib/systemd/system/chargehub-bridge.service \
  -- postinst prerm postrm -- adduser libmosquitto1 libssl3
check_pkg chargehub-broker-plugin usr/lib/chargehub/chargehub_auth.so usr/bin/chargehub-passwd \
  usr/lib/chargehub/ensure-service-account etc/chargehub/mosquitto.conf lib/systemd/system/chargehub-mosquitto.service \
  -- postinst prerm postrm -- mosquitto adduser procps libssl3 libboost-json1.81.0
check_pkg chargehub-ota usr/bin/chargehub-ota etc/chargehub/ota.toml -- -- libcpp-httplib0.11 libssl3
check_pkg chargehub-sim usr/bin/chargehub-sim etc/chargehub/sim.toml lib/systemd/system/chargehub-sim.service \
  -- postinst prerm postrm -- adduser libpaho-mqttpp3-1
grep -q "Recommends: chargehub-broker-plugin" <(dpkg-deb -f "$(deb chargehub-core)") || fail "core does not recommend the plugin"
grep -q '^ExecStart=/usr/bin/chargehub-core serve --config /etc/chargehub/core.toml$' \
  "$T/x/chargehub-core/lib/systemd/system/chargehub-core.service" || fail "core unit ExecStart"
for u in "$T"/x/*/lib/systemd/system/*.service; do
  for k in User=chargehub NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure StateDirectory=chargehub; do
    grep -q "^$k" "$u" || fail "$(basename "$u") lacks $k"
  done
done

step "3. throwaway root: dpkg -i"
mkdir -p "$T/ovl" "$M" "$T/share/out"
cat >"$T/share/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs chrooted in the overlay, in private mount and network namespaces.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
OUT=/mnt/share/out
export DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
getent passwd chargehub >/dev/null && fail "this machine already has a chargehub user; the test needs a clean one"
[ -e /etc/chargehub ] && fail "this machine has /etc/chargehub (ChargeHub installed?); the test needs a clean one"
dpkg-query -W chargehub-core >/dev/null 2>&1 && fail "chargehub-core is installed on this machine; the test needs a clean one"
was_enabled_mosquitto=no
[ -e /etc/systemd/system/multi-user.target.wants/mosquitto.service ] && was_enabled_mosquitto=yes
dpkg -i /mnt/share/pkgs/*.deb >"$OUT/dpkg-i.log" 2>&1 || { cat "$OUT/dpkg-i.log"; fail "dpkg -i"; }
for p in chargehub-core chargehub-bridge chargehub-broker-plugin chargehub-ota chargehub-sim; do
  [ "$(dpkg-query -W -f='${Status}' $p)" = "install ok installed" ] || fail "$p not installed"
done
dpkg-query -W -f='${Conffiles}\n' chargehub-core | grep -q /etc/chargehub/core.toml || fail "core.toml not a registered conffile"

# What postinst left: user, directories, secrets and their modes, database, the admin's password file.
getent passwd chargehub | grep -q ':/var/lib/chargehub:/usr/sbin/nologin$' || fail "chargehub user: $(getent passwd chargehub)"
mode() { stat -c '%U:%G %a' "$1"; }
[ "$(mode /var/lib/chargehub)" = "chargehub:chargehub 750" ] || fail "/var/lib/chargehub $(mode /var/lib/chargehub)"
[ "$(mode /etc/chargehub/core.secret)" = "chargehub:chargehub 600" ] || fail "core.secret $(mode /etc/chargehub/core.secret)"
[ "$(mode /etc/chargehub/bridge.secret)" = "chargehub:chargehub 600" ] || fail "bridge.secret"
[ "$(mode /etc/chargehub/services)" = "root:chargehub 640" ] || fail "services $(mode /etc/chargehub/services)"
[ "$(mode /etc/chargehub/initial-admin-password)" = "root:root 600" ] || fail "initial-admin-password"
[ "$(stat -c %U /var/lib/chargehub/core.db)" = chargehub ] || fail "core.db not made by chargehub"
grep -q '^core core ' /etc/chargehub/services && grep -q '^bridge-main bridge ' /etc/chargehub/services || fail "services entries"
PW=$(cat /etc/chargehub/initial-admin-password)
[ ${#PW} -ge 12 ] || fail "initial password too short"
grep -qF "$PW" "$OUT/dpkg-i.log" && fail "the initial password was printed by dpkg -i"
grep -qF "$(cat /etc/chargehub/core.secret)" "$OUT/dpkg-i.log" && fail "the core secret was printed"
grep -q "initial password is in /etc/chargehub/initial-admin-password" "$OUT/dpkg-i.log" || fail "no word of the password file"
# Units enabled (as dh_installsystemd would), the simulator's not; Debian's mosquitto.service disabled.
W=/etc/systemd/system/multi-user.target.wants
for u in chargehub-core chargehub-bridge chargehub-mosquitto; do [ -L $W/$u.service ] || fail "$u not enabled"; done
[ ! -e $W/chargehub-sim.service ] || fail "the simulator's unit was enabled"
if [ $was_enabled_mosquitto = yes ]; then [ ! -e $W/mosquitto.service ] || fail "mosquitto.service still enabled"; fi

echo "== 4. systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/chargehub-*.service >"$OUT/verify.log" 2>&1 || { cat "$OUT/verify.log"; fail "systemd-analyze verify"; }
if grep -i "chargehub" "$OUT/verify.log"; then fail "systemd-analyze verify complained about our units"; fi

echo "== 5. services as their units run them"
unit_cmd() { sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1.service"; }
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
start() { (cd /var/lib/chargehub && exec runuser -u chargehub -- $(unit_cmd "$1")) >"$OUT/$1.log" 2>&1 & pids+=($!); }
up() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
start chargehub-mosquitto
up 1883 || { cat "$OUT/chargehub-mosquitto.log"; fail "broker not on 1883"; }
start chargehub-core
API=http://127.0.0.1:8080/api/v1
for _ in $(seq 200); do curl -sf $API/health >/dev/null && break; sleep 0.05; done
curl -sf $API/health | grep -q '"ok":true' || { cat "$OUT/chargehub-core.log"; fail "core /health"; }
LOGIN=$(curl -s -H 'Content-Type: application/json' -d "{\"name\":\"admin\",\"password\":\"$PW\"}" $API/auth/login)
grep -q '"access_token"' <<<"$LOGIN" || fail "admin login with the installer's password: $LOGIN"
KEY=$(cd / && runuser -u chargehub -- chargehub-core api-key --config /etc/chargehub/core.toml --name packages-test)
for _ in $(seq 200); do
  curl -s -H "Authorization: Bearer $KEY" $API/status | grep -q '"mqtt_connected":true' && break; sleep 0.05
done
curl -s -H "Authorization: Bearer $KEY" $API/status | grep -q '"mqtt_connected":true' ||
  { cat "$OUT/chargehub-core.log" "$OUT/chargehub-mosquitto.log"; fail "core not connected to the broker"; }
start chargehub-bridge
up 9000 || { cat "$OUT/chargehub-bridge.log"; fail "bridge not on 9000"; }
for _ in $(seq 200); do grep -q "u'bridge-main'\|bridge-main" "$OUT/chargehub-mosquitto.log" && break; sleep 0.05; done
grep -q "New client connected.*u'bridge-main'" "$OUT/chargehub-mosquitto.log" ||
  { cat "$OUT/chargehub-bridge.log" "$OUT/chargehub-mosquitto.log"; fail "the bridge did not log in to the broker"; }
grep -q "New client connected.*u'core'" "$OUT/chargehub-mosquitto.log" || fail "the core did not log in as core"
# A simulated charger through the bridge, configured in sim.toml as docs/packages.md tells, and a session.
H=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
DEV=861234567890123
TOKEN_HEX=$(curl -sf "${H[@]}" -d "{\"id\":\"$DEV\",\"name\":\"东门车棚 1号桩\",\"ports\":10,\"model\":1}" $API/devices |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token_hex"])') || fail "device not created"
printf 'bridge = "127.0.0.1:9000"\ndevice = ["%s"]\ntoken-hex = ["%s"]\n' "$DEV" "$TOKEN_HEX" >>/etc/chargehub/sim.toml
start chargehub-sim
for _ in $(seq 200); do curl -s "${H[@]}" $API/devices/$DEV | grep -q '"online":true' && break; sleep 0.05; done
curl -s "${H[@]}" $API/devices/$DEV | grep -q '"online":true' ||
  { cat "$OUT/chargehub-sim.log" "$OUT/chargehub-bridge.log"; fail "the simulated charger is not online"; }
curl -sf "${H[@]}" -d '{"name":"张三","phone":"13800000000"}' $API/riders >/dev/null || fail "rider"
curl -sf "${H[@]}" -d '{"amount_fen":1000}' $API/riders/1/topups >/dev/null || fail "top-up"
curl -sf "${H[@]}" -d "{\"device_id\":\"$DEV\",\"port\":3,\"rider_id\":1,\"amount_fen\":500}" $API/sessions >/dev/null ||
  fail "session refused"
for _ in $(seq 200); do curl -s "${H[@]}" $API/sessions/1 | grep -q '"state":"charging"' && break; sleep 0.05; done
curl -s "${H[@]}" $API/sessions/1 | grep -q '"state":"charging"' || fail "session not charging: $(curl -s "${H[@]}" $API/sessions/1)"
for p in "${pids[@]}"; do kill $p; done
wait 2>/dev/null || true
pids=()
# The files of the tool and of the simulator are valid too (an unknown key or bad value fails even --help).
runuser -u chargehub -- chargehub-sim --config /etc/chargehub/sim.toml --help >/dev/null || fail "sim.toml"
for k in model journal-dir; do grep -q "^$k = " /etc/chargehub/sim.toml || fail "sim.toml lacks $k"; done
chargehub-ota keygen --config /etc/chargehub/ota.toml --private /tmp/fw.key --public /tmp/fw.pub >/dev/null || fail "ota.toml"

echo "== 6. upgrade: the same packages again (postinst configure with the installed version)"
keep() { sha256sum /etc/chargehub/core.secret /etc/chargehub/bridge.secret /etc/chargehub/services \
                   /etc/chargehub/initial-admin-password; }
before=$(keep)
echo "# changed by the operator" >>/etc/chargehub/core.toml
dpkg -i /mnt/share/pkgs/*.deb >"$OUT/dpkg-upgrade.log" 2>&1 || { cat "$OUT/dpkg-upgrade.log"; fail "reinstall"; }
[ "$(keep)" = "$before" ] || fail "an upgrade changed the secrets, the services file or the password file"
grep -q "changed by the operator" /etc/chargehub/core.toml || fail "an upgrade lost a change to core.toml"
grep -q "operator account" "$OUT/dpkg-upgrade.log" && fail "an upgrade tried to create the admin account again"

echo "== 7. remove and purge"
dpkg -r chargehub-bridge >"$OUT/dpkg-r.log" 2>&1 || { cat "$OUT/dpkg-r.log"; fail "dpkg -r"; }
[ -e /etc/chargehub/bridge.toml ] || fail "remove took the bridge's conffile"
[ ! -e /usr/bin/chargehub-bridge ] || fail "remove left the bridge's program"
dpkg -P chargehub-core chargehub-bridge chargehub-sim chargehub-ota chargehub-broker-plugin >"$OUT/dpkg-P.log" 2>&1 ||
  { cat "$OUT/dpkg-P.log"; fail "dpkg -P"; }
for f in core.toml core.secret initial-admin-password bridge.secret services mosquitto.conf; do
  [ ! -e /etc/chargehub/$f ] || fail "purge left /etc/chargehub/$f"
done
[ ! -e $W/chargehub-core.service ] || fail "purge left the unit enabled"
[ -e /var/lib/chargehub/core.db ] || fail "purge took the database (it must stay)"
echo "inside: all checks passed"
INSIDE
chmod +x "$T/share/inside.sh"
# Private mount and network namespaces: the overlay and the ports 1883, 8080, 9000 are this test's own.
unshare --mount --net bash -euo pipefail -c '
  T=$1; M=$T/merged
  ip link set lo up
  # The upper layer on a tmpfs of its own: works wherever / is (ext4, or an overlay in a container).
  mount -t tmpfs -o size=1g tmpfs "$T/ovl"
  mkdir "$T/ovl/upper" "$T/ovl/work"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$M"
  mount -t proc proc "$M/proc"
  mount --rbind /dev "$M/dev"
  mount -t tmpfs tmpfs "$M/run"
  mount -t tmpfs tmpfs "$M/tmp"
  mkdir -p "$M/mnt/share"
  mount --bind "$T/share" "$M/mnt/share"
  chroot "$M" /mnt/share/inside.sh
' _ "$T" || fail "in the throwaway root (logs in $T/share/out; CHARGEHUB_KEEP_TMP=1 keeps them)"
step "all checks passed"
