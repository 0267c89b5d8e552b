package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn" // also registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"secureshop/internal/shop"
)

// ErrUnavailable answers every query while the database does not: a clear 503, never a 500.
var ErrUnavailable = &shop.Error{Kind: shop.KindUnavailable, Message: "The shop's database is not answering; try again in a moment."}

// ErrStorageFull answers a write the database refused for want of room (a full disk, SQLite's
// SQLITE_FULL or PostgreSQL's 53100): a 503 with Retry-After, nothing written, never a 500.
var ErrStorageFull = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodeStorageFull, RetryAfter: 30 * time.Second,
	Message: "The shop cannot store anything right now: its disk is full. Nothing was changed; try again later."}

// unreachable reports whether err means the database cannot be reached (down, restarting, or the
// connection was cut), as opposed to a query that failed.
func unreachable(err error) bool {
	var ne net.Error
	var pg *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &ne), errors.As(err, &ce), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P") // connection exception, operator intervention
	}
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "conn closed")
}

// translate turns each database's "unique violation" and "no rows" into the shared sentinels, and
// a lost database into ErrUnavailable.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", shop.ErrNoRows, err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s: %w", shop.ErrDuplicate, pg.ConstraintName, err)
	}
	if errors.As(err, &pg) && pg.Code == "23514" && pg.ConstraintName == "products_stock_check" {
		return fmt.Errorf("%w: %w", ErrInsufficientStock, err) // a sale held back to the commit (TakeStock)
	}
	if errors.As(err, &pg) && (pg.Code == "53100" || pg.Code == "53000") { // disk_full, insufficient_resources
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		switch sq.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", shop.ErrDuplicate, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %w", ErrStorageFull, err)
		}
	}
	return err
}
