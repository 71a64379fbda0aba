-- The demo "CRM" for `make demo`: sqlite3 demo/crm.db < demo/crm.sql
-- Backflow does not create destination tables; a team owns their schema. Each sync's `match`
-- field carries a unique index, which apply checks before sending anything.

DROP TABLE IF EXISTS contacts;
DROP TABLE IF EXISTS signup_events;
DROP TABLE IF EXISTS newsletter_members;

-- users_to_crm: upsert by email; a user who turns inactive is deleted.
CREATE TABLE contacts (
  email       TEXT PRIMARY KEY,
  first_name  TEXT,
  last_name   TEXT,
  tier        TEXT,
  signed_up   TEXT,
  full_name   TEXT,
  lead_source TEXT
);

-- signup_events: one row per signup, appended.
CREATE TABLE signup_events (
  signup_id   INTEGER,
  email       TEXT,
  event       TEXT,
  channel     TEXT,
  plan        TEXT,
  occurred_at TEXT
);

-- newsletter: list membership, one row per member.
CREATE TABLE newsletter_members (
  email TEXT PRIMARY KEY,
  list  TEXT
);
