-- +goose Up
CREATE TABLE stores (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE,
    name       text NOT NULL,
    currency   text NOT NULL,
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL
);

-- Store members and platform operators (store_id NULL) share one table, so that sign-in, passwords
-- and MFA have one code path. The same e-mail may exist in two stores.
CREATE TABLE users (
    id                uuid PRIMARY KEY,
    store_id          uuid REFERENCES stores (id),
    email             text NOT NULL,
    name              text NOT NULL DEFAULT '',
    role              text NOT NULL CHECK (role IN ('admin', 'clerk', 'customer', 'operator')),
    password_hash     text NOT NULL,
    active            boolean NOT NULL DEFAULT true,
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK ((role = 'operator') = (store_id IS NULL))
);
CREATE UNIQUE INDEX users_store_email ON users (store_id, email) WHERE store_id IS NOT NULL;
CREATE UNIQUE INDEX users_operator_email ON users (email) WHERE store_id IS NULL;

CREATE TABLE categories (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL REFERENCES stores (id),
    slug       text NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (store_id, slug),
    UNIQUE (store_id, id)
);

CREATE TABLE products (
    id           uuid PRIMARY KEY,
    store_id     uuid NOT NULL REFERENCES stores (id),
    sku          text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    price_amount bigint NOT NULL CHECK (price_amount >= 0),
    stock        integer NOT NULL CHECK (stock >= 0),
    category_id  uuid,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (store_id, sku),
    -- a product's category must belong to the product's own store
    FOREIGN KEY (store_id, category_id) REFERENCES categories (store_id, id)
);
CREATE INDEX products_store_created ON products (store_id, id);

-- The audit log: one hash chain per store ('platform' for work above stores). audit_heads holds
-- each chain's last sequence number and hash, so that deleting the newest entries is detected too.
CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    chain       text NOT NULL,
    seq         bigint NOT NULL,
    store_id    uuid,
    occurred_at timestamptz NOT NULL,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    ip          text NOT NULL,
    detail      text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_events_store ON audit_events (store_id, seq);

CREATE TABLE audit_heads (
    chain text PRIMARY KEY,
    seq   bigint NOT NULL,
    hash  text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_heads;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE users;
DROP TABLE stores;
