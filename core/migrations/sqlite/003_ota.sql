-- Firmware over the air (issue 9, docs/ota.md): the firmware registry and rollouts.
-- Images live on disk (serve --firmware-dir), one file per image named by its SHA-256; these rows hold
-- their manifests. Times unix s.

CREATE TABLE firmware (
  id          INTEGER PRIMARY KEY,
  model       INTEGER NOT NULL CHECK (model BETWEEN 1 AND 5),
  version     TEXT NOT NULL,                 -- "major.minor.patch"
  min_from    TEXT NOT NULL DEFAULT '0.0.0', -- oldest version it upgrades
  size        INTEGER NOT NULL,
  sha256      TEXT NOT NULL,                 -- hex
  signature   TEXT NOT NULL,                 -- hex Ed25519 over sha256 ‖ version (frames.md)
  key_id      TEXT NOT NULL DEFAULT '',
  notes       TEXT NOT NULL DEFAULT '',
  file        TEXT NOT NULL,                 -- file name in the firmware directory
  created_by  TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  UNIQUE (model, version)
);

CREATE TABLE rollout (
  id               INTEGER PRIMARY KEY,
  firmware_id      INTEGER NOT NULL REFERENCES firmware(id),
  target_kind      TEXT NOT NULL CHECK (target_kind IN ('model', 'devices', 'station', 'agent')),
  target           TEXT NOT NULL,            -- the target as JSON
  stages           TEXT NOT NULL,            -- JSON array of cumulative percentages, last 100
  stage            INTEGER NOT NULL DEFAULT 0,
  max_failure_pct  INTEGER NOT NULL,
  max_concurrent   INTEGER NOT NULL,
  failed_accepted  INTEGER NOT NULL DEFAULT 0,  -- failures of the current stage accepted by a resume
  state            TEXT NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'completed')),
  pause_reason     TEXT,
  created_by       TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  finished_at      INTEGER
);

-- One row per targeted device. `seq` orders the devices (stages take them in this order); `stage` is
-- the stage that started the device (NULL while pending).
CREATE TABLE rollout_device (
  rollout_id    INTEGER NOT NULL REFERENCES rollout(id),
  device_id     TEXT NOT NULL,
  seq           INTEGER NOT NULL,
  stage         INTEGER,
  state         TEXT NOT NULL CHECK (state IN ('pending', 'offered', 'downloading', 'verified', 'installed',
                                               'failed', 'rolled_back', 'skipped', 'cancelled')),
  from_fw       TEXT,
  bytes         INTEGER NOT NULL DEFAULT 0,
  command_id    TEXT,
  offer_result  INTEGER,
  attempts      INTEGER NOT NULL DEFAULT 0,
  error         TEXT,
  offered_at    INTEGER,
  updated_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  PRIMARY KEY (rollout_id, device_id)
);
CREATE INDEX rollout_device_by_state ON rollout_device(rollout_id, state, seq);
CREATE INDEX rollout_device_by_device ON rollout_device(device_id, state);
