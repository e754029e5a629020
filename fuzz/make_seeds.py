#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<name>/seed-*: the test vectors of frames.md and the
payloads of mqtt.md, in each harness's input format. Run again after changing a harness's format;
inputs found by fuzzing (scripts/fuzz.sh merge) sit beside them."""
import base64, hashlib, json, os, struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# frames.md, Test vectors
V = {
    "login": "5a a5 3a 00 01 08 61 23 45 67 89 01 23 01 00 01 00 01 0a 01 01 00 00 38 39 38 36 30 30 30 30 30 30 30 30"
             "30 30 30 30 30 30 30 31 14 01 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f c2 ed",
    "heartbeat": "5a a5 1f 00 01 08 61 23 45 67 89 01 23 02 00 02 00 14 1d 01 9d 08 00 00 0a 00 00 00 00 00 00 00 00 00 00 e8 85",
    "start": "5a a5 19 00 01 08 61 23 45 67 89 01 23 07 00 10 00 03 e9 03 00 00 00 00 00 00 00 00 00 ae 84",
    "start_resp": "5a a5 0e 00 01 08 61 23 45 67 89 01 23 07 00 10 01 00 0a 20",
    "meter": "5a a5 21 00 01 08 61 23 45 67 89 01 23 03 00 03 00 01 03 e9 03 00 00 b4 00 78 00 00 00 10 0e 00 00 1c 02"
             "e4 0c e0 4b",
    "session_end": "5a a5 21 00 01 08 61 23 45 67 89 01 23 04 00 04 00 03 e9 03 00 00 01 e0 27 05 6b 40 38 00 00 2c 03 00 00"
                   "ec 00 5b 6c",
    "session_end_resp": "5a a5 0e 00 01 08 61 23 45 67 89 01 23 04 00 04 01 00 0e 24",
    "card": "5a a5 13 00 01 08 61 23 45 67 89 01 23 05 00 05 00 04 04 a1 b2 c3 02 8f da",
    "card_resp": "5a a5 12 00 01 08 61 23 45 67 89 01 23 05 00 05 01 01 96 00 00 00 9d a5",
    "set_params": "5a a5 1c 00 01 08 61 23 45 67 89 01 23 08 00 13 00 05 3c 00 58 02 70 17 8a 02 20 03 3c 00 3c 00 c2 13",
}
F = {k: bytes.fromhex(v.replace(" ", "")) for k, v in V.items()}
def body(frame): return frame[17:-2]

# Bodies the vectors do not cover, written from the tables of frames.md.
version = bytes([1, 1, 0])
extra = {
    "login_resp": bytes([0]) + struct.pack("<IH", 1795500000, 60),
    "server_time": struct.pack("<I", 1795500000),
    "alarm": bytes([1, 0]) + struct.pack("<i", 655),
    "ota_chunk_req": struct.pack("<IH", 4096, 1000),
    "ota_chunk": struct.pack("<IH", 0, 8) + bytes(range(8)),
    "ota_status": version + bytes([1]) + struct.pack("<I", 4096),
    "stop": bytes([3]) + struct.pack("<I", 1001),
    "query_ports_resp": bytes([2]) + bytes([1]) + struct.pack("<IHII", 1001, 180, 120, 3600) + bytes([0]) + bytes(14),
    "reboot": bytes([3]),
    "adjust": bytes([3]) + struct.pack("<I", 1001) + bytes([2]) + struct.pack("<I", 500),
    "locate": bytes([10]),
    "ota_offer": version + struct.pack("<I", 262144) + bytes([0x11]) * 32 + bytes([0x22]) * 64 + struct.pack("<H", 1000),
    "login_ed25519": body(F["login"])[:26] + bytes([2, 72]) + struct.pack("<Q", 1795500000000) + bytes(64),
}
B = {k: body(f) for k, f in F.items()}
B.update(extra)

def write(name, label, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + label), "wb") as f:
        f.write(data)

# frame_stream: a chunking byte, then the stream.
all_frames = b"".join(F.values())
write("frame_stream", "all-vectors", b"\x01" + all_frames)
write("frame_stream", "resync", b"\x07" + bytes.fromhex("5a5aa50000") + F["meter"] + b"\x13\x37" + F["session_end"])
for k, f in F.items():
    write("frame_stream", k, b"\x03" + f)
# Noise that looks like a magic and the largest len, then a good frame: it must come out at once.
write("frame_stream", "noise-long-len", b"\x02" + bytes.fromhex("5aa50d0401aaaaaaaaaaaaaaaa00001000") + F["start_resp"])
write("frame_stream", "max-body", b"\x05" + bytes.fromhex("5aa5") + struct.pack("<H", 13 + 1024) + F["start"][4:17] + bytes(1024) + b"\x00\x00")

# bodies: the type index of fuzz/bodies.cpp, then the body.
BODY_TYPES = ["login", "login_resp", "heartbeat", "server_time", "meter", "session_end", "start_resp", "card",
              "card_resp", "alarm", "ota_chunk_req", "ota_chunk", "ota_status", "start", "stop", "query_ports_resp",
              "set_params", "reboot", "adjust", "locate", "ota_offer"]
for i, k in enumerate(BODY_TYPES):
    write("bodies", k, bytes([i]) + B[k])
write("bodies", "login_ed25519", bytes([0]) + B["login_ed25519"])

# differential, frame mode: the index of fuzz/differential.cpp, then the body.
DIFF = {0: "login", 1: "heartbeat", 2: "meter", 3: "session_end", 4: "card", 5: "alarm", 6: "ota_status",
        7: "ota_chunk_req", 8: "start", 9: "stop", 10: "adjust", 11: "set_params", 12: "reboot", 13: "locate",
        14: "ota_offer", 17: "query_ports_resp", 18: "set_params"}
for i, k in DIFF.items():
    write("differential", f"{i:02d}-{k}", bytes([i]) + B[k])
write("differential", "15-query_ports", bytes([15]))
write("differential", "16-get_params", bytes([16]))
for i in range(19, 26):
    write("differential", f"{i:02d}-result", bytes([i, 0]))

# mqtt.md payloads (JSON mode of differential; payloads with their topics).
dev = "861234567890123"
P = {
    "boot": ("up/boot", {"model": 1, "ports": 10, "hw": 1, "fw": "1.0.0", "iccid": "89860000000000000001", "csq": 20}),
    "heartbeat": ("up/heartbeat", {"csq": 20, "temp_dc": 285, "mains_dv": 2205, "power_w": 0, "ports": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]}),
    "meter": ("up/meter", {"ports": [{"port": 3, "session": 1001, "power_w": 180, "energy_wh": 120, "elapsed_s": 3600,
                                      "voltage_dv": 540, "current_ma": 3300}]}),
    "session_end": ("up/session_end", {"msg": dev + "-session_end-1001", "port": 3, "session": 1001, "reason": 1,
                                       "started_at": 1795500000, "duration_s": 14400, "energy_wh": 812, "max_power_w": 236}),
    "card": ("up/card", {"msg": "m1", "uid": "04A1B2C3", "port": 2}),
    "alarm": ("up/alarm", {"msg": "m2", "code": 1, "port": 0, "value": 655}),
    "ota_status": ("up/ota", {"version": "1.1.0", "status": 1, "bytes": 4096}),
    "ota_chunk_req": ("up/ota", {"msg": "m3", "offset": 4096, "length": 1000}),
    "reply_start": ("up/reply", {"id": "c-1", "result": 0}),
    "reply_query_ports": ("up/reply", {"id": "c-2", "result": 0, "ports": [
        {"port": 1, "state": 1, "session": 1001, "power_w": 180, "energy_wh": 120, "elapsed_s": 3600},
        {"port": 2, "state": 0, "session": 0, "power_w": 0, "energy_wh": 0, "elapsed_s": 0}]}),
    "reply_get_params": ("up/reply", {"id": "c-3", "result": 0, "full_stop_w": 5, "full_stop_delay_s": 60, "port_max_w": 600,
                                      "unit_max_w": 6000, "temp_warn_dc": 650, "temp_cut_dc": 800, "heartbeat_s": 60, "meter_s": 60}),
    "cmd_start": ("down/cmd", {"id": "c-1", "op": "start", "args": {"port": 3, "session": 1001, "mode": 0, "limit": 0,
                                                                    "max_power_w": 0}, "expires": 1795500300}),
    "cmd_adjust": ("down/cmd", {"id": "c-4", "op": "adjust", "args": {"port": 3, "session": 1001, "mode": 2, "limit": 500}}),
    "cmd_ota_offer": ("down/cmd", {"id": "c-5", "op": "ota_offer", "args": {"version": "1.1.0", "size": 262144,
                                   "sha256": "11" * 32, "signature": "22" * 64, "chunk": 1000}}),
    "cmd_locate": ("down/cmd", {"id": "c-6", "op": "locate", "args": {"seconds": 10}}),
    "ack": ("down/ack", {"re": "m1", "result": 1, "balance_fen": 150}),
    "status": ("status", {"online": True, "ts": 1795500000}),
}
for k, (kind, obj) in P.items():
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    write("payloads", k, f"chg/v1/{dev}/{kind}\n".encode() + text)
    if obj is not None and kind != "status":
        write("differential", "json-" + k, text)
write("payloads", "non-finite", f"chg/v1/{dev}/up/reply\n".encode() + b'{"id":"c-1","result":0,"x":1e400}')
write("payloads", "duplicate-key", f"chg/v1/{dev}/up/card\n".encode() + b'{"msg":"m","uid":"04A1B2C3","port":2,"port":300}')

# plugin_auth: mode byte, then that mode's input (fuzz/plugin_auth.cpp).
token = base64.b64encode(bytes(range(16))).decode()
write("plugin_auth", "token-login", b"\x00" + f"{dev}\ntok:{token}\n{dev}".encode())
write("plugin_auth", "core-login", b"\x00" + b"core\n0123456789abcdef0123456789abcdef\ncore-1")
write("plugin_auth", "token-padding", b"\x01" + bytes([23]) + b"6")
write("plugin_auth", "token-unedited", b"\x01")
write("plugin_auth", "ed25519", b"\x02" + struct.pack(">Q", 400000))
write("plugin_auth", "ed25519-edit", b"\x02" + struct.pack(">Q", 400000) + bytes([5]) + b"0")
for i, (role, access, name, topic) in enumerate([
        (1, 1, dev, f"chg/v1/{dev}/up/meter"), (1, 2, dev, f"chg/v1/{dev}/down/#"), (1, 1, dev, f"chg/v1/{dev}/status"),
        (1, 2, dev, "chg/v1/+/down/#"), (2, 2, "core", "$share/g/chg/v1/+/up/#"), (2, 1, "core", "chg/v1/1/down/cmd"),
        (3, 1, "bridge-a", "svc/v1/bridge-a/x"), (4, 2, "grafana", "chg/v1/+/status")]):
    write("plugin_auth", f"acl-{i}", b"\x03" + bytes([role, access]) + f"{name}\n{topic}".encode())

# firmware: a package as `chargehub-ota package` writes it (the form only: the reader does not verify).
image = bytes(range(256)) * 4
manifest = {"model": 1, "version": "1.1.0", "min_from": "1.0.0", "size": len(image),
            "sha256": hashlib.sha256(image).hexdigest(), "signature": "22" * 64, "key_id": "0011223344556677",
            "created_at": 1795500000, "notes": "修复计量 / metering fix"}
pkg = {"format": "chargehub-firmware/1", "manifest": manifest, "image_base64": base64.b64encode(image).decode()}
write("firmware", "package", json.dumps(pkg, ensure_ascii=False).encode())
small = dict(pkg, image_base64=base64.b64encode(b"\x01\x02").decode(), manifest=dict(manifest, size=2))
write("firmware", "package-small", json.dumps(small).encode())
write("firmware", "base64", b"AQI=")
