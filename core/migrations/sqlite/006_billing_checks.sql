-- Version 6: bills riders can trust when chargers misbehave (issue 15, items 1-3; docs/billing-rules.md).
-- The meter check: the session's meter flag (apart from the curve flag in `flag`), the charger's raw
-- figures of its stop record beside the billed ones, and the last plausible reading.
ALTER TABLE session ADD COLUMN meter_flag TEXT;
ALTER TABLE session ADD COLUMN reported_energy_wh INTEGER;
ALTER TABLE session ADD COLUMN reported_duration_s INTEGER;
ALTER TABLE session ADD COLUMN reported_max_power_w INTEGER;
ALTER TABLE session ADD COLUMN last_energy_wh INTEGER;
ALTER TABLE session ADD COLUMN last_duration_s INTEGER;
ALTER TABLE session ADD COLUMN last_max_power_w INTEGER;
ALTER TABLE session ADD COLUMN last_reading_at INTEGER;
-- Implausible reports per device (stop records and readings apart).
CREATE TABLE device_meter_check (
  device_id            TEXT PRIMARY KEY,
  implausible_ends     INTEGER NOT NULL DEFAULT 0,
  implausible_readings INTEGER NOT NULL DEFAULT 0,
  last_implausible_at  INTEGER
);
-- Retrying an unanswered command: publications of it, QUERY_PORTS sent for it, the last of either;
-- a QUERY_PORTS the policy sent names the command it asks about.
ALTER TABLE command ADD COLUMN sends INTEGER NOT NULL DEFAULT 0;
ALTER TABLE command ADD COLUMN queries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE command ADD COLUMN last_sent_at INTEGER;
ALTER TABLE command ADD COLUMN query_for TEXT;
CREATE INDEX command_by_state_op ON command(state, op);
-- Stop records for sessions the platform does not know, kept whole (one per msg).
CREATE TABLE orphan_record (
  id            INTEGER PRIMARY KEY,
  device_id     TEXT NOT NULL,
  port          INTEGER NOT NULL,
  session       INTEGER NOT NULL,        -- the session number the charger reported
  msg           TEXT NOT NULL UNIQUE,
  reason        INTEGER NOT NULL,
  started_at    INTEGER NOT NULL,        -- charger clock
  duration_s    INTEGER NOT NULL,
  energy_wh     INTEGER NOT NULL,
  max_power_w   INTEGER NOT NULL,
  payload       TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  copies        INTEGER NOT NULL DEFAULT 1,
  meter_flag    TEXT,
  state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'settled', 'closed')),
  session_id    INTEGER REFERENCES session(id),
  closed_reason TEXT,
  actor         TEXT,
  resolved_at   INTEGER
);
CREATE INDEX orphan_by_device ON orphan_record(device_id, id);
CREATE INDEX orphan_by_state ON orphan_record(state, id);
