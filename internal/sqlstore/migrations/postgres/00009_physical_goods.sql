-- +goose Up
-- Physical goods. A store's shipping and tax set-up (zones of countries, their methods and tax
-- rates, whether prices include tax) is one document, replaced whole. Products have a weight and a
-- tax class. An order keeps, immutable: its readable number (gap-free per store, from
-- store_counters), the customer's e-mail, the shipping and billing addresses, the shipping method
-- with its price, and its figures — subtotal and shipping without tax, the tax, and the total,
-- which is their sum — and each line its tax class, rate and tax, the shipping its own: the tax per
-- rate is the sum over them.
-- Invoices and credit notes are numbered per store without gaps. Customers keep an address book.
ALTER TABLE stores ADD COLUMN shipping text NOT NULL DEFAULT '{"prices_include_tax":false,"shipping_tax_class":"standard","zones":[]}';
ALTER TABLE stores ADD COLUMN guest_checkout boolean NOT NULL DEFAULT true;
ALTER TABLE products ADD COLUMN weight_grams integer NOT NULL DEFAULT 0 CHECK (weight_grams BETWEEN 0 AND 1000000);
ALTER TABLE products ADD COLUMN tax_class text NOT NULL DEFAULT 'standard' CHECK (tax_class IN ('standard', 'reduced', 'zero'));

CREATE TABLE store_counters (
    store_id uuid NOT NULL REFERENCES stores (id),
    name     text NOT NULL CHECK (name IN ('order', 'invoice', 'credit_note')),
    value    bigint NOT NULL,
    PRIMARY KEY (store_id, name)
);

ALTER TABLE orders ADD COLUMN number bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN email text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_address text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN billing_address text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_method text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_price bigint NOT NULL DEFAULT 0 CHECK (shipping_price >= 0);
ALTER TABLE orders ADD COLUMN prices_include_tax boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN subtotal_amount bigint NOT NULL DEFAULT 0 CHECK (subtotal_amount >= 0);
ALTER TABLE orders ADD COLUMN shipping_amount bigint NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0);
ALTER TABLE orders ADD COLUMN tax_amount bigint NOT NULL DEFAULT 0 CHECK (tax_amount >= 0);
ALTER TABLE orders ADD COLUMN tax_name text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN shipping_tax bigint NOT NULL DEFAULT 0 CHECK (shipping_tax >= 0);
ALTER TABLE orders ADD COLUMN shipping_tax_rate integer NOT NULL DEFAULT 0 CHECK (shipping_tax_rate BETWEEN 0 AND 100000);
ALTER TABLE orders ADD COLUMN shipping_tax_class text NOT NULL DEFAULT 'standard';
ALTER TABLE orders ADD COLUMN carrier text NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN tracking_number text NOT NULL DEFAULT '';
-- The orders placed before: numbered in the order they were placed, their total all subtotal.
UPDATE orders o SET subtotal_amount = o.total_amount, number = n.number
    FROM (SELECT id, 1000 + row_number() OVER (PARTITION BY store_id ORDER BY id) AS number FROM orders) n WHERE n.id = o.id;
INSERT INTO store_counters (store_id, name, value) SELECT store_id, 'order', MAX(number) FROM orders GROUP BY store_id;
CREATE UNIQUE INDEX orders_number ON orders (store_id, number);
ALTER TABLE orders ADD CONSTRAINT orders_figures_add_up CHECK (total_amount = subtotal_amount + shipping_amount + tax_amount AND number <> 0);
-- An order goes in with a placeholder number (negative, from its id) and takes its number from
-- the counter in its transaction's last statement, so that the counter's row — which every
-- checkout of the store waits for — stays locked for no more than the COMMIT; from then on the
-- number is immutable like the figures.
-- +goose StatementBegin
CREATE FUNCTION orders_figures_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.number IS DISTINCT FROM OLD.number OR (NEW.email, NEW.shipping_address, NEW.billing_address, NEW.shipping_method, NEW.shipping_price,
        NEW.prices_include_tax, NEW.subtotal_amount, NEW.shipping_amount, NEW.tax_amount, NEW.tax_name, NEW.shipping_tax, NEW.shipping_tax_rate,
        NEW.shipping_tax_class, NEW.total_amount, NEW.currency)
       IS DISTINCT FROM
       (OLD.email, OLD.shipping_address, OLD.billing_address, OLD.shipping_method, OLD.shipping_price,
        OLD.prices_include_tax, OLD.subtotal_amount, OLD.shipping_amount, OLD.tax_amount, OLD.tax_name, OLD.shipping_tax, OLD.shipping_tax_rate,
        OLD.shipping_tax_class, OLD.total_amount, OLD.currency) THEN
        RAISE EXCEPTION 'an order''s figures and addresses are immutable';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
-- Only when one of those columns is set, and not for the number's placeholder giving way.
CREATE TRIGGER orders_figures_immutable BEFORE UPDATE OF number, email, shipping_address, billing_address, shipping_method, shipping_price,
    prices_include_tax, subtotal_amount, shipping_amount, tax_amount, tax_name, shipping_tax, shipping_tax_rate, shipping_tax_class,
    total_amount, currency ON orders FOR EACH ROW WHEN (OLD.number > 0) EXECUTE FUNCTION orders_figures_immutable();

ALTER TABLE order_lines ADD COLUMN tax_class text NOT NULL DEFAULT 'standard';
ALTER TABLE order_lines ADD COLUMN tax_rate integer NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 100000);
ALTER TABLE order_lines ADD COLUMN tax_amount bigint NOT NULL DEFAULT 0 CHECK (tax_amount >= 0 AND tax_amount <= line_total);

-- +goose StatementBegin
CREATE FUNCTION immutable_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd

-- An invoice for each paid order, a credit note for each refund: numbered per store and kind
-- without gaps, with the tax per rate each documents in invoice_taxes.
CREATE TABLE invoices (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL REFERENCES stores (id),
    kind       text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    number     bigint NOT NULL CHECK (number > 0),
    order_id   uuid NOT NULL,
    payment_id uuid NOT NULL,
    amount     bigint NOT NULL CHECK (amount >= 0),
    tax_amount bigint NOT NULL CHECK (tax_amount >= 0 AND tax_amount <= amount),
    issued_at  timestamptz NOT NULL,
    UNIQUE (store_id, kind, number),
    UNIQUE (store_id, kind, payment_id),
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX invoices_order ON invoices (store_id, order_id);
CREATE INDEX invoices_issued ON invoices (store_id, issued_at);
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices FOR EACH ROW EXECUTE FUNCTION immutable_row();
CREATE TABLE invoice_taxes (
    store_id   uuid NOT NULL,
    invoice_id uuid NOT NULL REFERENCES invoices (id),
    class      text NOT NULL CHECK (class IN ('standard', 'reduced', 'zero')),
    rate       integer NOT NULL CHECK (rate BETWEEN 0 AND 100000),
    name       text NOT NULL,
    base       bigint NOT NULL CHECK (base >= 0),
    amount     bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (invoice_id, class, rate)
);
CREATE TRIGGER invoice_taxes_immutable BEFORE UPDATE OR DELETE ON invoice_taxes FOR EACH ROW EXECUTE FUNCTION immutable_row();

CREATE TABLE addresses (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL,
    line1      text NOT NULL,
    line2      text NOT NULL DEFAULT '',
    city       text NOT NULL,
    region     text NOT NULL DEFAULT '',
    postcode   text NOT NULL DEFAULT '',
    country    text NOT NULL CHECK (length(country) = 2),
    phone      text NOT NULL DEFAULT '',
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE INDEX addresses_user ON addresses (store_id, user_id, created_at);

ALTER TABLE store_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE store_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON store_counters USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invoices USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE invoice_taxes ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_taxes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invoice_taxes USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE addresses ENABLE ROW LEVEL SECURITY;
ALTER TABLE addresses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON addresses USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));

-- A guest's checkout: a customer row of its own (no password, never signed in to), found again by
-- a keyed hash of the visitor's cart cookie. The guest follows the order through a link whose
-- token only the shop can make (a keyed hash of the link's id); only a hash of it is kept.
ALTER TABLE users ADD COLUMN guest boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN guest_key text;
CREATE UNIQUE INDEX users_guest_key ON users (store_id, guest_key) WHERE guest_key IS NOT NULL;
CREATE TABLE order_links (
    id         uuid PRIMARY KEY,
    store_id   uuid NOT NULL,
    order_id   uuid NOT NULL,
    token_hash text NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (store_id, order_id) REFERENCES orders (store_id, id)
);
CREATE INDEX order_links_order ON order_links (store_id, order_id);
ALTER TABLE order_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON order_links USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));

-- +goose Down
DROP TABLE order_links;
DROP INDEX users_guest_key;
ALTER TABLE users DROP COLUMN guest_key;
ALTER TABLE users DROP COLUMN guest;
DROP TABLE addresses;
DROP TABLE invoice_taxes;
DROP TABLE invoices;
DROP FUNCTION immutable_row();
ALTER TABLE order_lines DROP COLUMN tax_amount;
ALTER TABLE order_lines DROP COLUMN tax_rate;
ALTER TABLE order_lines DROP COLUMN tax_class;
DROP TRIGGER orders_figures_immutable ON orders;
DROP FUNCTION orders_figures_immutable();
ALTER TABLE orders DROP CONSTRAINT orders_figures_add_up;
DROP INDEX orders_number;
ALTER TABLE orders DROP COLUMN tracking_number;
ALTER TABLE orders DROP COLUMN carrier;
ALTER TABLE orders DROP COLUMN shipping_tax_class;
ALTER TABLE orders DROP COLUMN shipping_tax_rate;
ALTER TABLE orders DROP COLUMN shipping_tax;
ALTER TABLE orders DROP COLUMN tax_name;
ALTER TABLE orders DROP COLUMN tax_amount;
ALTER TABLE orders DROP COLUMN shipping_amount;
ALTER TABLE orders DROP COLUMN subtotal_amount;
ALTER TABLE orders DROP COLUMN prices_include_tax;
ALTER TABLE orders DROP COLUMN shipping_price;
ALTER TABLE orders DROP COLUMN shipping_method;
ALTER TABLE orders DROP COLUMN billing_address;
ALTER TABLE orders DROP COLUMN shipping_address;
ALTER TABLE orders DROP COLUMN email;
ALTER TABLE orders DROP COLUMN number;
DROP TABLE store_counters;
ALTER TABLE products DROP COLUMN tax_class;
ALTER TABLE products DROP COLUMN weight_grams;
ALTER TABLE stores DROP COLUMN guest_checkout;
ALTER TABLE stores DROP COLUMN shipping;
