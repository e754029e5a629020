-- Version 5: who acted is stored apart from why. A command's actor is an API key or account
-- ("api:<name>"), a card ("card:<uid>") or "system"; its reason says why ("operator", "card_swipe",
-- "funds_exhausted", "alarm", "reconcile", "power_band", "boot", "reconnect", "rollout:<id>").
ALTER TABLE command RENAME COLUMN created_by TO actor;
ALTER TABLE command ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE command SET reason = actor, actor = 'system'
  WHERE actor IN ('funds_exhausted', 'alarm', 'reconcile', 'power_band', 'boot', 'reconnect') OR actor LIKE 'rollout:%';
UPDATE command SET reason = 'card_swipe' WHERE actor LIKE 'card:%' OR actor = 'card';
UPDATE command SET reason = 'operator' WHERE actor = 'api' OR actor LIKE 'api:%';
