-- Version 8: repeated alarms collapse into one row (issue 19.5; rules/alarms.hpp alarm_dedup). A row is
-- one condition: its first time (created_at) and msg, how often it was reported, the last time and msg
-- (the value is the latest one).
ALTER TABLE alarm ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alarm ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alarm ADD COLUMN last_msg TEXT NOT NULL DEFAULT '';
UPDATE alarm SET last_at = created_at, last_msg = msg;
CREATE INDEX alarm_latest ON alarm(device_id, code, port, id);
