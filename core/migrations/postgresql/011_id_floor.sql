-- Version 11: after a restore, numbers already given out must not be given out again (docs/operations.md,
-- "Session numbers after a restore"). On PostgreSQL `chargehub-core after-restore` moves the session
-- id's identity sequence past the floor with setval(); this table records the floor it set.
CREATE TABLE id_floor (
  name     TEXT PRIMARY KEY,          -- 'session'
  next_id  BIGINT NOT NULL,           -- the least id the next row may take
  set_at   BIGINT NOT NULL            -- unix seconds of the restore that set it
);
