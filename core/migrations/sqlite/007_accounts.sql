-- Version 7: operator accounts, roles and permissions, bearer tokens, the audit log (issue 16;
-- docs/accounts.md). The built-in roles and their permissions are not seeded here: the core writes them
-- from the domain catalogue at start (Accounts::ensure_builtin_roles), so a new permission reaches
-- platform_admin without a migration. agent_id: null = the platform (agents come with issue 17).

-- A person logging in with a name and a password, or a service (a script, the OTA tool) with a key.
-- Secrets are stored as hashes only: an Argon2id string for a password, SHA-256 hex for a key.
CREATE TABLE account (
  id                   INTEGER PRIMARY KEY,
  name                 TEXT NOT NULL UNIQUE,          -- login name (or the service key's name)
  display_name         TEXT NOT NULL DEFAULT '',
  phone                TEXT NOT NULL DEFAULT '',
  kind                 TEXT NOT NULL CHECK (kind IN ('person', 'service')),
  password_hash        TEXT,                          -- persons only
  key_hash             TEXT UNIQUE,                   -- services only; null once the key is revoked
  key_prefix           TEXT,                          -- the key's first characters, shown in lists
  agent_id             INTEGER,
  frozen               INTEGER NOT NULL DEFAULT 0,
  must_change_password INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  last_login_at        INTEGER,
  CHECK (kind = 'person' OR password_hash IS NULL),
  CHECK (kind = 'service' OR key_hash IS NULL)
);
CREATE INDEX account_by_agent ON account(agent_id, id);

-- A named set of permissions. builtin = 1: written from the catalogue at start, never edited by hand.
CREATE TABLE role (
  id       INTEGER PRIMARY KEY,
  key      TEXT NOT NULL UNIQUE,
  name     TEXT NOT NULL,
  builtin  INTEGER NOT NULL DEFAULT 0,
  agent_id INTEGER                                    -- null: a platform role
);
CREATE TABLE role_permission (
  role_id    INTEGER NOT NULL REFERENCES role(id),
  permission TEXT NOT NULL,
  PRIMARY KEY (role_id, permission)
);
CREATE TABLE account_role (
  account_id INTEGER NOT NULL REFERENCES account(id),
  role_id    INTEGER NOT NULL REFERENCES role(id),
  PRIMARY KEY (account_id, role_id)
);
CREATE INDEX account_role_by_role ON account_role(role_id);

-- An access token and its refresh token, issued together by a login or a refresh (SHA-256 hex of each).
CREATE TABLE auth_token (
  id                 INTEGER PRIMARY KEY,
  account_id         INTEGER NOT NULL REFERENCES account(id),
  access_hash        TEXT NOT NULL UNIQUE,
  refresh_hash       TEXT NOT NULL UNIQUE,
  access_expires_at  INTEGER NOT NULL,
  refresh_expires_at INTEGER NOT NULL,
  revoked_at         INTEGER,
  created_at         INTEGER NOT NULL,
  address            TEXT NOT NULL DEFAULT ''        -- where the login or refresh came from
);
CREATE INDEX auth_token_by_account ON auth_token(account_id, revoked_at);
CREATE INDEX auth_token_by_refresh_expiry ON auth_token(refresh_expires_at);

-- Every change made through the API and every money movement an operator causes, once, in the
-- change's transaction. Append-only: updates and deletes are refused.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  account_id  INTEGER,                                -- null: no account (the system, a bootstrap)
  actor       TEXT NOT NULL,                          -- account:<name> | key:<name> | system
  address     TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,                          -- e.g. devices.control, accounts.create
  target_type TEXT NOT NULL DEFAULT '',
  target_id   TEXT NOT NULL DEFAULT '',
  before_json TEXT,                                   -- secrets redacted
  after_json  TEXT
);
CREATE INDEX audit_by_at ON audit_log(at, id);
CREATE INDEX audit_by_account ON audit_log(account_id, id);
CREATE INDEX audit_by_action ON audit_log(action, id);
CREATE INDEX audit_by_target ON audit_log(target_type, target_id, id);
CREATE TRIGGER audit_log_is_append_only_u BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_is_append_only_d BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
