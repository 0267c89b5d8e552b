-- +goose Up
-- Row-level security: the second wall between stores. Every transaction first sets app.store_id
-- (sqlstore.run); a query that forgot its store filter then sees only that store's rows, or none.
-- FORCE applies the policies to the tables' owner too; only a superuser or BYPASSRLS role escapes,
-- so the shop must connect as a role that is neither (see README).
-- The scope '*' is for the few platform-wide reads (audit verification).
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON categories USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON products USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE inventory_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE inventory_ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON inventory_ledger USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE cart_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE cart_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON cart_items USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON orders USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON order_lines USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE order_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON order_history USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE checkout_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON checkout_keys USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON refunds USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE one_time_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE one_time_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON one_time_tokens USING (store_id::text = current_setting('app.store_id', true) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true));
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON users USING (store_id::text = current_setting('app.store_id', true) OR (store_id IS NULL AND coalesce(current_setting('app.store_id', true), '') IN ('', '*')) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true) OR (store_id IS NULL AND coalesce(current_setting('app.store_id', true), '') IN ('', '*')) OR current_setting('app.store_id', true) = '*');
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_events USING (store_id::text = current_setting('app.store_id', true) OR (store_id IS NULL AND coalesce(current_setting('app.store_id', true), '') IN ('', '*')) OR current_setting('app.store_id', true) = '*') WITH CHECK (store_id::text = current_setting('app.store_id', true) OR (store_id IS NULL AND coalesce(current_setting('app.store_id', true), '') IN ('', '*')) OR current_setting('app.store_id', true) = '*');

-- +goose Down
DROP POLICY tenant ON categories;
ALTER TABLE categories NO FORCE ROW LEVEL SECURITY;
ALTER TABLE categories DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON products;
ALTER TABLE products NO FORCE ROW LEVEL SECURITY;
ALTER TABLE products DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON inventory_ledger;
ALTER TABLE inventory_ledger NO FORCE ROW LEVEL SECURITY;
ALTER TABLE inventory_ledger DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON cart_items;
ALTER TABLE cart_items NO FORCE ROW LEVEL SECURITY;
ALTER TABLE cart_items DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON orders;
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE orders DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON order_lines;
ALTER TABLE order_lines NO FORCE ROW LEVEL SECURITY;
ALTER TABLE order_lines DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON order_history;
ALTER TABLE order_history NO FORCE ROW LEVEL SECURITY;
ALTER TABLE order_history DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON checkout_keys;
ALTER TABLE checkout_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE checkout_keys DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON refunds;
ALTER TABLE refunds NO FORCE ROW LEVEL SECURITY;
ALTER TABLE refunds DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON one_time_tokens;
ALTER TABLE one_time_tokens NO FORCE ROW LEVEL SECURITY;
ALTER TABLE one_time_tokens DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON users;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant ON audit_events;
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY;
