-- Version 4: where a device stands and which agent runs it (as ../sqlite/004). Text ids for now: the
-- station and agent records (with the agents' two-level network and income shares) come with the back
-- office.
ALTER TABLE device ADD COLUMN station TEXT;
ALTER TABLE device ADD COLUMN agent TEXT;
CREATE INDEX device_by_station ON device(station) WHERE station IS NOT NULL;
CREATE INDEX device_by_agent ON device(agent) WHERE agent IS NOT NULL;
