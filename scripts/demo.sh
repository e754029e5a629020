#!/usr/bin/env bash
# The one command that installs what is needed, builds, and runs the whole stack with a simulated site
# on loopback: Mosquitto with our plugin, the core with its HTTP API, the edge bridge, and one simulated
# charger. Stays in the foreground; Ctrl-C stops everything it started.
#
#   ./scripts/demo.sh                      defaults: MQTT 1883, bridge 9000, HTTP 8080, bridge metrics 9150
#   MQTT_PORT=11883 BRIDGE_PORT=19000 HTTP_PORT=18080 BRIDGE_METRICS_PORT=19150 ./scripts/demo.sh
#   TIME_SCALE=120 ./scripts/demo.sh       simulated seconds per real second (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MQTT_PORT=${MQTT_PORT:-1883}
BRIDGE_PORT=${BRIDGE_PORT:-9000}
HTTP_PORT=${HTTP_PORT:-8080}
BRIDGE_METRICS_PORT=${BRIDGE_METRICS_PORT:-9150}
TIME_SCALE=${TIME_SCALE:-60}
DEVICE=${DEVICE:-861234567890123}
RUN=${RUN_DIR:-$ROOT/run/demo}

./scripts/install-deps.sh
./scripts/build.sh --target chargehub-core chargehub-bridge chargehub-sim chargehub_auth chargehub-passwd chargehub-ota
BIN=$ROOT/${BUILD_DIR:-build}/bin
PLUGIN=$ROOT/${BUILD_DIR:-build}/lib/chargehub_auth.so

for port in "$MQTT_PORT" "$BRIDGE_PORT" "$HTTP_PORT" "$BRIDGE_METRICS_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is in use; set MQTT_PORT, BRIDGE_PORT, HTTP_PORT or BRIDGE_METRICS_PORT" >&2
    exit 1
  fi
done

rm -rf "$RUN"
mkdir -p "$RUN/queue"
chmod 700 "$RUN"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped; logs and database are in $RUN"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# Secrets: service accounts for the core and the bridge (hashed in the services file), an API key.
"$BIN/chargehub-passwd" --services "$RUN/services" --user core --role core --secret-file "$RUN/core.secret"
"$BIN/chargehub-passwd" --services "$RUN/services" --user bridge-demo --role bridge --secret-file "$RUN/bridge.secret"
# The platform's firmware key pair: the core checks uploads and the chargers check offers with it.
"$BIN/chargehub-ota" keygen --private "$RUN/firmware.key" --public "$RUN/firmware.pub" >/dev/null
# The database, its first operator account (its initial password is shown once, to be changed at the
# first login: README's walk-through) and a service key for this script's own set-up calls.
"$BIN/chargehub-core" migrate --db "$RUN/core.db" >/dev/null
ADMIN_PASSWORD=$("$BIN/chargehub-core" account --db "$RUN/core.db" --name admin --display-name "演示管理员")
API_KEY=$("$BIN/chargehub-core" api-key --db "$RUN/core.db" --name demo-setup)
# Prometheus's key: it may read GET /api/v1/metrics and nothing else (docs/metrics.md).
METRICS_KEY=$("$BIN/chargehub-core" api-key --db "$RUN/core.db" --name prometheus --role service_metrics)
umask 077
echo "$ADMIN_PASSWORD" > "$RUN/admin.password"
echo "$API_KEY" > "$RUN/api.key"
echo "$METRICS_KEY" > "$RUN/metrics.key"
umask 022

cat > "$RUN/mosquitto.conf" <<CONF
# Demo broker: loopback only, our plugin decides who may connect and what each may do.
# Run as this user (mosquitto started as root would drop to "mosquitto" and could not read the run dir).
user $(id -un)
per_listener_settings false
allow_anonymous false
listener $MQTT_PORT 127.0.0.1
plugin $PLUGIN
plugin_opt_auth_cache_file $RUN/chargehub-auth.cache
plugin_opt_services $RUN/services
plugin_opt_status_file $RUN/broker-status.txt
# The plugin's counters for Prometheus; the core passes them on at /api/v1/metrics (docs/metrics.md).
plugin_opt_metrics_file $RUN/plugin-metrics.prom
# The bridge's address: not a source of its own (each charger's username through it still is; the
# bridge throttles its chargers' peer addresses itself).
plugin_opt_throttle_addr_exempt 127.0.0.1
# Per charger: payloads up to 8 KiB, 10 messages/s in bursts of 1,000 (docs/broker-plugin.md), the
# rate scaled with simulated time (a charger at x\$TIME_SCALE sends that much faster).
plugin_opt_limit_max_payload 8192
plugin_opt_limit_rate_per_s $(( TIME_SCALE > 60 ? (10 * TIME_SCALE + 59) / 60 : 10 ))
plugin_opt_limit_burst 1000
# Any packet: the core's credential snapshot is the largest legitimate one (about 300 bytes a device).
max_packet_size 16777216
max_queued_messages 100000
# Without it Nagle adds about 20 ms to every command round trip.
set_tcp_nodelay true
max_inflight_messages 1000
persistence false
log_dest file $RUN/mosquitto.log
CONF

/usr/sbin/mosquitto -c "$RUN/mosquitto.conf" &
pids+=($!)
echo "demo: mosquitto with the chargehub plugin on 127.0.0.1:$MQTT_PORT (log $RUN/mosquitto.log)"

"$BIN/chargehub-core" serve --db "$RUN/core.db" --broker "tcp://127.0.0.1:$MQTT_PORT" --name demo \
  --secret-file "$RUN/core.secret" --http "127.0.0.1:$HTTP_PORT" \
  --firmware-pubkey "$RUN/firmware.pub" --charger-time-scale "$TIME_SCALE" --plugin-metrics "$RUN/plugin-metrics.prom" \
  2>>"$RUN/core.log" &
pids+=($!)
API="http://127.0.0.1:$HTTP_PORT/api/v1"
for _ in $(seq 100); do curl -sf "$API/health" >/dev/null && break; sleep 0.1; done
curl -sf "$API/health" >/dev/null || { echo "demo: the core did not start; see $RUN/core.log" >&2; exit 1; }
echo "demo: core with the HTTP API on $API (log $RUN/core.log)"

H=(-H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json")
TOKEN=$(curl -sf "${H[@]}" -d "{\"id\":\"$DEVICE\",\"name\":\"东门车棚 1号桩\",\"ports\":10,\"model\":1}" "$API/devices" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token_hex"])')
echo "demo: device $DEVICE created; its token was shown once and handed to the simulator"

"$BIN/chargehub-bridge" --listen "127.0.0.1:$BRIDGE_PORT" --broker "tcp://127.0.0.1:$MQTT_PORT" --name demo \
  --secret-file "$RUN/bridge.secret" --queue-dir "$RUN/queue" --metrics "127.0.0.1:$BRIDGE_METRICS_PORT" >>"$RUN/bridge.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$BRIDGE_PORT") 2>/dev/null && break; sleep 0.1; done
echo "demo: edge bridge for 4G chargers on 127.0.0.1:$BRIDGE_PORT (log $RUN/bridge.log)"

"$BIN/chargehub-sim" --bridge "127.0.0.1:$BRIDGE_PORT" --device "$DEVICE" --token-hex "$TOKEN" --model 1 \
  --time-scale "$TIME_SCALE" --journal-dir "$RUN/sim-journal" --firmware-key "$RUN/firmware.pub" >>"$RUN/sim.log" 2>&1 &
pids+=($!)
echo "demo: simulated charger $DEVICE (model 1, ten ports, time x$TIME_SCALE) (log $RUN/sim.log)"
for _ in $(seq 100); do
  curl -sf "${H[@]}" "$API/devices/$DEVICE" | grep -q '"online":true' && break
  sleep 0.1
done

cat <<TXT

ChargeHub demo is running. In another terminal, log in as the demo's operator "admin" (its initial
password is in $RUN/admin.password and must be changed at the first login):

  API=$API; J=(-H "Content-Type: application/json")
  login() { curl -s "\${J[@]}" -d "{\"name\":\"admin\",\"password\":\"\$1\"}" \$API/auth/login |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
  TOKEN=\$(login "\$(cat $RUN/admin.password)")
  curl -s "\${J[@]}" -H "Authorization: Bearer \$TOKEN" \\
       -d "{\"old_password\":\"\$(cat $RUN/admin.password)\",\"new_password\":\"东门车棚-2026\"}" \$API/auth/password
  TOKEN=\$(login "东门车棚-2026")                      # the change revoked every earlier token
  H=("\${J[@]}" -H "Authorization: Bearer \$TOKEN")
  curl -s "\${H[@]}" \$API/me                             # permissions and the console's menu tree

  # a rider with 10 yuan in the wallet
  curl -s "\${H[@]}" -d '{"name":"张三","phone":"13800000000"}' \$API/riders
  curl -s "\${H[@]}" -d '{"amount_fen":1000}' \$API/riders/1/topups

  # charge on port 3 with 5 yuan prepaid (the default plan is 1.00 yuan per kWh)
  curl -s "\${H[@]}" -d '{"device_id":"$DEVICE","port":3,"rider_id":1,"amount_fen":500}' \$API/sessions

  # watch it: state, energy_wh, power_w; then amount_fen once settled
  curl -s "\${H[@]}" \$API/sessions/1
  curl -s "\${H[@]}" \$API/sessions/1/meter
  curl -s "\${H[@]}" -d '{}' \$API/sessions/1/stop       # or let the battery fill up
  curl -s "\${H[@]}" \$API/riders/1                        # balance, held, available
  curl -s "\${H[@]}" \$API/riders/1/ledger

  # what Prometheus scrapes (docs/metrics.md; examples/prometheus/): the core with its own key, and the bridge
  curl -s -H "Authorization: Bearer \$(cat $RUN/metrics.key)" \$API/metrics | grep -E '^chargehub_(sessions|settlements|plugin)' | head
  curl -s http://127.0.0.1:$BRIDGE_METRICS_PORT/metrics | grep '^chargehub_bridge_logins'

  # firmware over the air to the simulated charger (docs/ota.md)
  HTTP_PORT=$HTTP_PORT RUN_DIR=$RUN examples/ota/walkthrough.sh

Press Ctrl-C to stop everything.
TXT
wait -n "${pids[@]}" || true
echo "demo: a component exited; see the logs in $RUN" >&2
