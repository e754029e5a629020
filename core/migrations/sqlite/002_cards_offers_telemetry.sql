-- Version 2: IC cards, recharge offers, session flags and telemetry housekeeping.

-- An IC card spends from a wallet: its holder's, or its own (a rider row made for the card).
CREATE TABLE card (
  uid        TEXT PRIMARY KEY,            -- upper-case hex, as the charger reads it
  rider_id   INTEGER NOT NULL REFERENCES rider(id),
  state      TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'lost', 'blocked')),
  created_at INTEGER NOT NULL
);
CREATE INDEX card_by_rider ON card(rider_id);

-- Recharge offers (充值套餐): pay amount_fen, get bonus_fen on top.
CREATE TABLE recharge_offer (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
  bonus_fen  INTEGER NOT NULL DEFAULT 0 CHECK (bonus_fen >= 0),
  active     INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);

ALTER TABLE session ADD COLUMN card_uid TEXT;
ALTER TABLE session ADD COLUMN flag TEXT;            -- e.g. 'power_not_tapering', 'energy_over_pack'
ALTER TABLE session ADD COLUMN refunded_fen INTEGER NOT NULL DEFAULT 0;

-- Meter samples older than the full-resolution age are thinned to one per downsample interval.
CREATE INDEX meter_by_ts ON meter_sample(ts);
