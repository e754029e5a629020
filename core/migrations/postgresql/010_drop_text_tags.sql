-- Version 12: the text tags of version 4 give way to the records of version 9 (device.station_id,
-- device.agent_id); no code reads them any more (issue 17).
DROP INDEX device_by_station;
DROP INDEX device_by_agent;
ALTER TABLE device DROP COLUMN station;
ALTER TABLE device DROP COLUMN agent;
