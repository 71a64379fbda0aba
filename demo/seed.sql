-- Demo warehouse for `make demo`: sqlite3 demo/warehouse.db < demo/seed.sql
-- Re-runnable: every table is dropped and recreated.
-- Timestamps are ISO-8601 text in UTC, booleans are 0/1 (SQLite has neither type).

PRAGMA foreign_keys = ON;

DROP TABLE IF EXISTS newsletter_subscriptions;
DROP TABLE IF EXISTS signups;
DROP TABLE IF EXISTS users;

CREATE TABLE users (
  user_id    INTEGER PRIMARY KEY,
  email      TEXT    NOT NULL UNIQUE,
  first_name TEXT    NOT NULL,
  last_name  TEXT,                                   -- nullable: not everyone gives one
  plan       TEXT    NOT NULL CHECK (plan IN ('free', 'starter', 'pro', 'enterprise')),
  active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at TEXT    NOT NULL
);

INSERT INTO users (user_id, email, first_name, last_name, plan, active, created_at) VALUES
  (1,  'ada.lovelace@example.com',     'Ada',       'Lovelace',   'enterprise', 1, '2024-01-08T09:14:00Z'),
  (2,  'grace.hopper@example.com',     'Grace',     'Hopper',     'pro',        1, '2024-01-15T11:02:00Z'),
  (3,  'alan.turing@example.com',      'Alan',      'Turing',     'pro',        1, '2024-02-01T08:45:00Z'),
  (4,  'katherine.j@example.com',      'Katherine', 'Johnson',    'starter',    1, '2024-02-12T16:30:00Z'),
  (5,  'linus@example.org',            'Linus',     'Torvalds',   'free',       1, '2024-02-20T07:05:00Z'),
  (6,  'margaret.h@example.com',       'Margaret',  'Hamilton',   'enterprise', 1, '2024-03-03T13:20:00Z'),
  (7,  'edsger@example.nl',            'Edsger',    'Dijkstra',   'starter',    0, '2024-03-10T10:10:00Z'),
  (8,  'barbara.liskov@example.com',   'Barbara',   'Liskov',     'pro',        1, '2024-03-18T15:55:00Z'),
  (9,  'dennis.r@example.com',         'Dennis',    'Ritchie',    'free',       0, '2024-04-02T09:00:00Z'),
  (10, 'ken.thompson@example.com',     'Ken',       'Thompson',   'starter',    1, '2024-04-09T12:40:00Z'),
  (11, 'frances.allen@example.com',    'Frances',   'Allen',      'pro',        1, '2024-04-21T08:25:00Z'),
  (12, 'cher@example.com',             'Cher',      NULL,         'free',       1, '2024-05-01T19:30:00Z'),
  (13, 'john.mccarthy@example.com',    'John',      'McCarthy',   'starter',    1, '2024-05-14T10:05:00Z'),
  (14, 'radia.perlman@example.com',    'Radia',     'Perlman',    'enterprise', 1, '2024-05-27T14:15:00Z'),
  (15, 'tim.bl@example.org',           'Tim',       'Berners-Lee','pro',        1, '2024-06-06T09:50:00Z'),
  (16, 'hedy.lamarr@example.com',      'Hedy',      'Lamarr',     'free',       1, '2024-06-19T17:35:00Z'),
  (17, 'donald.knuth@example.edu',     'Donald',    'Knuth',      'starter',    0, '2024-07-01T06:45:00Z'),
  (18, 'sophie.wilson@example.co.uk',  'Sophie',    'Wilson',     'pro',        1, '2024-07-15T11:11:00Z'),
  (19, 'guido@example.nl',             'Guido',     'van Rossum', 'starter',    1, '2024-08-02T13:00:00Z'),
  (20, 'annie.easley@example.com',     'Annie',     'Easley',     'free',       1, '2024-08-20T08:08:00Z');

-- One row per signup event (an event sync sends each new row once).
CREATE TABLE signups (
  signup_id    INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users (user_id),
  email        TEXT    NOT NULL,
  channel      TEXT    NOT NULL CHECK (channel IN ('organic', 'referral', 'paid_search', 'partner')),
  plan         TEXT    NOT NULL,
  signed_up_at TEXT    NOT NULL
);

INSERT INTO signups (signup_id, user_id, email, channel, plan, signed_up_at)
SELECT 1000 + user_id,
       user_id,
       email,
       CASE user_id % 4 WHEN 0 THEN 'organic' WHEN 1 THEN 'referral' WHEN 2 THEN 'paid_search' ELSE 'partner' END,
       plan,
       created_at
FROM users;

-- Newsletter subscriptions; unsubscribed_at is set when someone leaves the list.
-- Two subscribers are not (yet) users.
CREATE TABLE newsletter_subscriptions (
  email           TEXT PRIMARY KEY,
  user_id         INTEGER REFERENCES users (user_id),
  list            TEXT NOT NULL DEFAULT 'product_updates',
  subscribed_at   TEXT NOT NULL,
  unsubscribed_at TEXT
);

INSERT INTO newsletter_subscriptions (email, user_id, list, subscribed_at, unsubscribed_at) VALUES
  ('ada.lovelace@example.com',    1,    'product_updates', '2024-01-08T09:20:00Z', NULL),
  ('grace.hopper@example.com',    2,    'product_updates', '2024-01-16T08:00:00Z', NULL),
  ('katherine.j@example.com',     4,    'product_updates', '2024-02-12T16:31:00Z', NULL),
  ('linus@example.org',           5,    'product_updates', '2024-02-21T07:10:00Z', '2024-06-01T12:00:00Z'),
  ('margaret.h@example.com',      6,    'product_updates', '2024-03-03T13:25:00Z', NULL),
  ('barbara.liskov@example.com',  8,    'product_updates', '2024-03-19T09:00:00Z', NULL),
  ('cher@example.com',            12,   'product_updates', '2024-05-01T19:31:00Z', NULL),
  ('radia.perlman@example.com',   14,   'product_updates', '2024-05-28T10:00:00Z', NULL),
  ('hedy.lamarr@example.com',     16,   'product_updates', '2024-06-19T17:40:00Z', '2024-09-02T08:30:00Z'),
  ('sophie.wilson@example.co.uk', 18,   'product_updates', '2024-07-15T11:15:00Z', NULL),
  ('annie.easley@example.com',    20,   'product_updates', '2024-08-20T08:10:00Z', NULL),
  ('reader.one@example.net',      NULL, 'product_updates', '2024-04-11T18:00:00Z', NULL),
  ('reader.two@example.net',      NULL, 'product_updates', '2024-09-09T07:45:00Z', NULL);
