-- Version 11: after a restore, numbers already given out must not be given out again (docs/operations.md,
-- "Session numbers after a restore"). The charger is told the session's id as its session number; a
-- restored database does not know the ids used after its backup. `chargehub-core restore` (and
-- `after-restore`) sets a floor here: SQLite's new session rows take max(max(id) + 1, floor).
CREATE TABLE id_floor (
  name     TEXT PRIMARY KEY,          -- 'session'
  next_id  INTEGER NOT NULL,          -- the least id the next row may take
  set_at   INTEGER NOT NULL           -- unix seconds of the restore that set it
);
