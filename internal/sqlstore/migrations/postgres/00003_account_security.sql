-- +goose Up
-- A store may demand upper, lower, digit and symbol in passwords (off by default).
ALTER TABLE stores ADD COLUMN password_composition boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN deleted_at timestamptz;

-- TOTP secrets are sealed with AES-256-GCM (key id kept with the value); last_step stops a code
-- from being accepted twice.
CREATE TABLE user_mfa (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    totp_sealed  text NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
    id        uuid PRIMARY KEY,
    user_id   uuid NOT NULL REFERENCES users (id),
    code_hash text NOT NULL,
    used_at   timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Single-use tokens sent by mail (e-mail verification, password reset), kept only as hashes.
CREATE TABLE one_time_tokens (
    token_hash text PRIMARY KEY,
    store_id   uuid NOT NULL REFERENCES stores (id),
    user_id    uuid NOT NULL REFERENCES users (id),
    purpose    text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose);

-- Failed sign-ins in a row and locks, per account: the store (or 'platform') and the e-mail, so
-- that an unknown address is treated exactly like a known one. Kept in the database, so that a lock
-- holds across restarts and instances and the command line can lift it.
CREATE TABLE account_locks (
    scope        text NOT NULL,
    email        text NOT NULL,
    failures     integer NOT NULL,
    locked_until timestamptz,
    PRIMARY KEY (scope, email)
);

-- +goose Down
DROP TABLE account_locks;
DROP TABLE one_time_tokens;
DROP TABLE recovery_codes;
DROP TABLE user_mfa;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE stores DROP COLUMN password_composition;
