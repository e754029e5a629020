#!/usr/bin/env bash
# Firmware over the air against a running core (./scripts/demo.sh): docs/ota.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
OTA=build/bin/chargehub-ota
API=${API:-http://127.0.0.1:${HTTP_PORT:-8080}}
RUN_DIR=${RUN_DIR:-$(pwd)/run/demo}
KEYFILE=${KEYFILE:-$RUN_DIR/api.key}
ROOT=$(pwd)
mkdir -p run/ota && cd run/ota

# 1. The platform's firmware key pair. The demo made one (its core and chargers trust it); elsewhere
#    make it once with `chargehub-ota keygen` and keep the private key offline.
if [ -f "$RUN_DIR/firmware.key" ]; then
  cp "$RUN_DIR/firmware.key" "$RUN_DIR/firmware.pub" .
else
  [ -f firmware.key ] || ../../$OTA keygen --private firmware.key --public firmware.pub
fi

# 2. An image (here: random bytes standing in for a real build) packaged for model 1.
[ -f fw-1.1.0.bin ] || head -c 262144 /dev/urandom > fw-1.1.0.bin
../../$OTA package fw-1.1.0.bin --model 1 --version 1.1.0 --min-from 1.0.0 --key firmware.key \
  --notes "example build" -o model1-1.1.0.chfw

# 3. What is in it, and does it verify with the public key?
../../$OTA inspect model1-1.1.0.chfw
../../$OTA verify model1-1.1.0.chfw --pubkey firmware.pub

# 4. Upload to the core (it checks the signature with its --firmware-pubkey).
../../$OTA upload model1-1.1.0.chfw --api "$API" --api-key-file "$KEYFILE" || {
  echo "if the core answered no_firmware_key: restart it with --firmware-pubkey $(pwd)/firmware.pub" >&2
  exit 1
}

# 5. A rollout to every model-1 charger: 1 %, 10 %, then everyone; pause if more than 10 % of a stage fail.
ID=$(curl -s -H "Authorization: Bearer $(cat $KEYFILE)" "$API/api/v1/firmware" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["firmware"][0]["id"])')
OUT=$(../../$OTA rollout create --firmware "$ID" --model 1 --stages 1,10,100 --max-failure-pct 10 --max-concurrent 50 \
  --api "$API" --api-key-file "$KEYFILE")
echo "$OUT"
RID=$(echo "$OUT" | sed -n 's/^rollout \([0-9]*\):.*/\1/p')
../../$OTA rollout show "$RID" --devices --api "$API" --api-key-file "$KEYFILE"
