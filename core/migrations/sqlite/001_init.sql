-- ChargeHub core schema, version 1. Times are unix seconds (UTC); money integer fen; energy Wh; power W.
-- Names follow docs/glossary.md.

CREATE TABLE price_plan (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('energy', 'time', 'power_tier', 'free')),
  spec        TEXT NOT NULL,            -- the plan's parameters as JSON (docs/pricing.md)
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL
);
-- The plan every device uses until one is assigned: 1.00 yuan per kWh.
INSERT INTO price_plan (id, name, kind, spec, version, created_at)
  VALUES (1, '默认电量计费', 'energy', '{"kind":"energy","fen_per_kwh":100,"service_fen_per_kwh":0}', 1, 0);

CREATE TABLE device (
  id               TEXT PRIMARY KEY,    -- device id, text form (decimal, no leading zeros)
  name             TEXT NOT NULL DEFAULT '',
  model            INTEGER,
  ports            INTEGER NOT NULL DEFAULT 10,
  hw               INTEGER,
  fw               TEXT,
  iccid            TEXT,
  token_hash       TEXT,                -- hex SHA-256 of the token; the token itself is never stored
  prev_token_hash  TEXT,
  prev_token_until INTEGER,
  pubkey           TEXT,                -- hex Ed25519 public key
  enabled          INTEGER NOT NULL DEFAULT 1,
  deleted_at       INTEGER,
  lifecycle        TEXT NOT NULL DEFAULT 'installed'
                   CHECK (lifecycle IN ('not_produced', 'in_stock', 'not_installed', 'installed')),
  plan_id          INTEGER REFERENCES price_plan(id),
  online           INTEGER NOT NULL DEFAULT 0,
  last_seen_at     INTEGER,
  csq              INTEGER,
  temp_dc          INTEGER,
  mains_dv         INTEGER,
  power_w          INTEGER,
  created_at       INTEGER NOT NULL
);

-- Bumped in the same transaction as any change to device credentials or enablement; the broker plugin
-- polls it and reloads.
CREATE TABLE auth_state (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
INSERT INTO auth_state (id, rev) VALUES (1, 1);

CREATE TABLE port (
  device_id  TEXT NOT NULL REFERENCES device(id),
  port       INTEGER NOT NULL,
  state      INTEGER NOT NULL DEFAULT 0,   -- frames.md port state
  updated_at INTEGER,
  PRIMARY KEY (device_id, port)
);

CREATE TABLE rider (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL DEFAULT '',
  phone      TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);

-- balance_fen always equals the sum of the rider's ledger rows; held_fen is the sum of the prepaid
-- amounts of the rider's sessions that still hold a port.
CREATE TABLE wallet (
  rider_id    INTEGER PRIMARY KEY REFERENCES rider(id),
  balance_fen INTEGER NOT NULL DEFAULT 0,
  held_fen    INTEGER NOT NULL DEFAULT 0 CHECK (held_fen >= 0)
);

-- Append-only: every change of a wallet's balance, with its cause.
CREATE TABLE ledger (
  id          INTEGER PRIMARY KEY,
  rider_id    INTEGER NOT NULL REFERENCES rider(id),
  kind        TEXT NOT NULL CHECK (kind IN ('topup', 'charge', 'refund', 'bonus', 'adjustment')),
  amount_fen  INTEGER NOT NULL,
  session_id  INTEGER REFERENCES session(id),
  note        TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE INDEX ledger_by_rider ON ledger(rider_id, id);
CREATE TRIGGER ledger_is_append_only_u BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_is_append_only_d BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

CREATE TABLE session (
  id           INTEGER PRIMARY KEY,      -- also the session number the charger is told (u32)
  device_id    TEXT NOT NULL REFERENCES device(id),
  port         INTEGER NOT NULL,
  rider_id     INTEGER REFERENCES rider(id),
  state        TEXT NOT NULL,            -- domain/session.hpp state names
  plan_id      INTEGER NOT NULL,
  plan_version INTEGER NOT NULL,
  plan_spec    TEXT NOT NULL,            -- the plan as it was when the session started
  prepaid_fen  INTEGER NOT NULL DEFAULT 0,
  mode         INTEGER NOT NULL,         -- START mode told to the charger
  limit_value  INTEGER NOT NULL,
  energy_wh    INTEGER NOT NULL DEFAULT 0,
  duration_s   INTEGER NOT NULL DEFAULT 0,
  power_w      INTEGER NOT NULL DEFAULT 0,
  max_power_w  INTEGER NOT NULL DEFAULT 0,
  amount_fen   INTEGER,                  -- what the rider paid, once settled
  end_reason   INTEGER,
  error        TEXT,
  created_at   INTEGER NOT NULL,
  started_at   INTEGER,
  ended_at     INTEGER,
  settled_at   INTEGER
);
CREATE UNIQUE INDEX one_active_session_per_port ON session(device_id, port)
  WHERE state IN ('requested', 'starting', 'charging', 'stopping');
CREATE INDEX session_by_rider ON session(rider_id, id);
CREATE INDEX session_by_device ON session(device_id, id);
CREATE INDEX session_by_state ON session(state);

-- Every downlink command, with who asked and what became of it.
CREATE TABLE command (
  id          TEXT PRIMARY KEY,
  device_id   TEXT NOT NULL,
  op          TEXT NOT NULL,
  args        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'replied', 'failed', 'expired')),
  result      INTEGER,
  reply       TEXT,
  error       TEXT,
  session_id  INTEGER,
  created_by  TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  sent_at     INTEGER,
  replied_at  INTEGER,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX command_by_device ON command(device_id, created_at);
CREATE INDEX command_open ON command(state) WHERE state IN ('queued', 'sent');

-- Charger reports (session_end, card, alarm) already processed, by msg, with the ack they got.
CREATE TABLE processed_msg (
  msg        TEXT PRIMARY KEY,
  device_id  TEXT NOT NULL,
  kind       TEXT NOT NULL,
  ack        TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE meter_sample (
  session_id INTEGER NOT NULL,
  ts         INTEGER NOT NULL,
  power_w    INTEGER NOT NULL,
  energy_wh  INTEGER NOT NULL,
  elapsed_s  INTEGER NOT NULL,
  voltage_dv INTEGER NOT NULL,
  current_ma INTEGER NOT NULL
);
CREATE INDEX meter_by_session ON meter_sample(session_id, ts);

CREATE TABLE alarm (
  id         INTEGER PRIMARY KEY,
  msg        TEXT NOT NULL UNIQUE,
  device_id  TEXT NOT NULL,
  code       INTEGER NOT NULL,
  port       INTEGER NOT NULL,
  value      INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
