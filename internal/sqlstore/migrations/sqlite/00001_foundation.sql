-- +goose Up
CREATE TABLE stores (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at TEXT NOT NULL
);

-- Store members and platform operators (store_id NULL) share one table, so that sign-in, passwords
-- and MFA have one code path. The same e-mail may exist in two stores.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    store_id          TEXT REFERENCES stores (id),
    email             TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL CHECK (role IN ('admin', 'clerk', 'customer', 'operator')),
    password_hash     TEXT NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1,
    email_verified_at TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK ((role = 'operator') = (store_id IS NULL))
);
CREATE UNIQUE INDEX users_store_email ON users (store_id, email) WHERE store_id IS NOT NULL;
CREATE UNIQUE INDEX users_operator_email ON users (email) WHERE store_id IS NULL;

CREATE TABLE categories (
    id         TEXT PRIMARY KEY,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    slug       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (store_id, slug),
    UNIQUE (store_id, id)
);

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores (id),
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    price_amount INTEGER NOT NULL CHECK (price_amount >= 0),
    stock        INTEGER NOT NULL CHECK (stock >= 0),
    category_id  TEXT,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (store_id, sku),
    -- a product's category must belong to the product's own store
    FOREIGN KEY (store_id, category_id) REFERENCES categories (store_id, id)
);
CREATE INDEX products_store_created ON products (store_id, id);

-- The audit log: one hash chain per store ('platform' for work above stores). audit_heads holds
-- each chain's last sequence number and hash, so that deleting the newest entries is detected too.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    chain       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    store_id    TEXT,
    occurred_at TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    ip          TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_events_store ON audit_events (store_id, seq);

CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY,
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_heads;
DROP TABLE audit_events;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE users;
DROP TABLE stores;
