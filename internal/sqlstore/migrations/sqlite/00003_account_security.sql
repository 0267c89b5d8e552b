-- +goose Up
-- A store may demand upper, lower, digit and symbol in passwords (off by default).
ALTER TABLE stores ADD COLUMN password_composition INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at TEXT;

-- TOTP secrets are sealed with AES-256-GCM (key id kept with the value); last_step stops a code
-- from being accepted twice.
CREATE TABLE user_mfa (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    totp_sealed  TEXT NOT NULL,
    confirmed_at TEXT,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    id        TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at   TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Single-use tokens sent by mail (e-mail verification, password reset), kept only as hashes.
CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);

-- Failed sign-ins in a row and locks, per account: the store (or 'platform') and the e-mail, so
-- that an unknown address is treated exactly like a known one. Kept in the database, so that a lock
-- holds across restarts and instances and the command line can lift it.
CREATE TABLE account_locks (
    scope        TEXT NOT NULL,
    email        TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until TEXT,
    PRIMARY KEY (scope, email)
);

-- +goose Down
DROP TABLE account_locks;
DROP TABLE one_time_tokens;
DROP TABLE recovery_codes;
DROP TABLE user_mfa;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE stores DROP COLUMN password_composition;
