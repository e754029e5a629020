-- Version 9: the agents' two-level network (运营商/代理商), stations, who owns what, the income split
-- and withdrawals (issue 17; docs/agents.md). The text tags of version 4 (device.station, device.agent)
-- become records here; the columns stay until the code no longer reads them.

-- An agent: first level (parent_id null, signed by the platform) or second level (signed by a first-level
-- agent; never deeper). share_bp: the part of each settled session's income, in basis points (1/100 of a
-- percent), that goes to this agent and those below it; a sub-agent's never above its parent's.
CREATE TABLE agent (
  id                 INTEGER PRIMARY KEY,
  parent_id          INTEGER REFERENCES agent(id),
  level              INTEGER NOT NULL CHECK (level IN (1, 2)),
  name               TEXT NOT NULL,
  share_bp           INTEGER NOT NULL DEFAULT 0 CHECK (share_bp BETWEEN 0 AND 10000),
  contact_name       TEXT NOT NULL DEFAULT '',
  contact_phone      TEXT NOT NULL DEFAULT '',
  settlement_account TEXT NOT NULL DEFAULT '',   -- where withdrawals are paid (bank or Alipay account, as text)
  frozen             INTEGER NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  CHECK ((level = 1 AND parent_id IS NULL) OR (level = 2 AND parent_id IS NOT NULL))
);
CREATE INDEX agent_by_parent ON agent(parent_id);

-- An agent's money: balance = the sum of its ledger; held = pending withdrawals. A refund to a rider is
-- never refused for an agent's sake: it may take the balance below what is held (available < 0) or
-- below zero; a withdrawal is asked only from a positive available balance (app/withdrawals.cpp).
CREATE TABLE agent_balance (
  agent_id    INTEGER PRIMARY KEY REFERENCES agent(id),
  balance_fen INTEGER NOT NULL DEFAULT 0,
  held_fen    INTEGER NOT NULL DEFAULT 0 CHECK (held_fen >= 0)
);

-- A station: where chargers stand. Coordinates in GCJ-02 (what the mini-programs' location APIs give), as
-- integer microdegrees. agent_id null: run by the platform itself.
CREATE TABLE station (
  id         INTEGER PRIMARY KEY,
  agent_id   INTEGER REFERENCES agent(id),
  name       TEXT NOT NULL,
  address    TEXT NOT NULL DEFAULT '',
  lat_e6     INTEGER,
  lng_e6     INTEGER,
  open_hours TEXT NOT NULL DEFAULT '',            -- e.g. "00:00-24:00"
  photos     TEXT NOT NULL DEFAULT '[]',          -- JSON array of URLs
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX station_by_agent ON station(agent_id);

ALTER TABLE device ADD COLUMN agent_id INTEGER REFERENCES agent(id);
ALTER TABLE device ADD COLUMN station_id INTEGER REFERENCES station(id);
CREATE INDEX device_by_agent_id ON device(agent_id);
CREATE INDEX device_by_station_id ON device(station_id);
-- Whose business a session, a card and a rider are: the device's agent when the session started, the
-- agent that issued the card, the agent that registered the rider (null: the platform).
ALTER TABLE session ADD COLUMN agent_id INTEGER REFERENCES agent(id);
CREATE INDEX session_by_agent ON session(agent_id, id);
ALTER TABLE card ADD COLUMN agent_id INTEGER REFERENCES agent(id);
ALTER TABLE rider ADD COLUMN agent_id INTEGER REFERENCES agent(id);

-- The split a session settled with (the shares as they were then, so that a refund takes back the same
-- way whatever was changed since): one row per party, party 0 = the platform, 1 = the first-level agent,
-- 2 = the second-level agent.
CREATE TABLE session_share (
  session_id INTEGER NOT NULL REFERENCES session(id),
  party      INTEGER NOT NULL CHECK (party IN (0, 1, 2)),
  agent_id   INTEGER REFERENCES agent(id),
  share_bp   INTEGER NOT NULL CHECK (share_bp BETWEEN 0 AND 10000),
  PRIMARY KEY (session_id, party)
);

-- Append-only: every movement of a party's money. agent_id null = the platform's part of an income.
-- kind: income (a settlement's part), refund (taken back), withdrawal (paid out), adjustment.
CREATE TABLE agent_ledger (
  id            INTEGER PRIMARY KEY,
  agent_id      INTEGER REFERENCES agent(id),
  kind          TEXT NOT NULL CHECK (kind IN ('income', 'refund', 'withdrawal', 'adjustment')),
  amount_fen    INTEGER NOT NULL,
  session_id    INTEGER REFERENCES session(id),
  withdrawal_id INTEGER,
  note          TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL
);
CREATE INDEX agent_ledger_by_agent ON agent_ledger(agent_id, id);
CREATE INDEX agent_ledger_by_session ON agent_ledger(session_id);

-- A withdrawal an agent asks for: held while pending or approved; released when rejected; paid out
-- (a ledger row) when marked paid with the payment's reference.
CREATE TABLE withdrawal (
  id           INTEGER PRIMARY KEY,
  agent_id     INTEGER NOT NULL REFERENCES agent(id),
  amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
  state        TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'paid')),
  requested_by TEXT NOT NULL,                     -- actor
  decided_by   TEXT,
  reference    TEXT,                              -- the payment's reference, once paid
  note         TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  decided_at   INTEGER,
  paid_at      INTEGER
);
CREATE INDEX withdrawal_by_agent ON withdrawal(agent_id, id);
CREATE INDEX withdrawal_by_state ON withdrawal(state, id);

-- System configuration (系统配置): typed by the code that reads it (docs/agents.md lists the keys).
CREATE TABLE setting (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- The text tags become records: an agent per distinct device.agent (first level, share 0), a station per
-- distinct device.station (run by the agent of its devices, the lowest id when they disagree).
INSERT INTO agent (level, name, share_bp, created_at, updated_at)
  SELECT 1, agent, 0, 0, 0 FROM device WHERE agent IS NOT NULL AND agent <> '' GROUP BY agent;
INSERT INTO agent_balance (agent_id) SELECT id FROM agent;
INSERT INTO station (agent_id, name, created_at, updated_at)
  SELECT min(a.id), d.station, 0, 0 FROM device d LEFT JOIN agent a ON a.name = d.agent
  WHERE d.station IS NOT NULL AND d.station <> '' GROUP BY d.station;
UPDATE device SET agent_id = (SELECT a.id FROM agent a WHERE a.name = device.agent) WHERE agent IS NOT NULL AND agent <> '';
UPDATE device SET station_id = (SELECT s.id FROM station s WHERE s.name = device.station) WHERE station IS NOT NULL AND station <> '';

CREATE TRIGGER agent_ledger_is_append_only_u BEFORE UPDATE ON agent_ledger BEGIN SELECT RAISE(ABORT, 'agent_ledger is append-only'); END;
CREATE TRIGGER agent_ledger_is_append_only_d BEFORE DELETE ON agent_ledger BEGIN SELECT RAISE(ABORT, 'agent_ledger is append-only'); END;
