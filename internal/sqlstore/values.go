package sqlstore

import (
	"database/sql"
	"fmt"
	"time"
	// also registers the "pgx" database/sql driver
)

// ts is how a time goes into a query: RFC 3339 in UTC with fixed microseconds, which sorts as text
// in SQLite and parses as timestamptz in PostgreSQL.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// nullTS is ts for an optional time.
func nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// dbTime scans a time column from either database (time.Time from PostgreSQL, text from SQLite).
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

// timeCol scans a time column into t, as dbTime does.
func timeCol(t *time.Time) sql.Scanner { return (*timeInto)(t) }

type timeInto time.Time

func (d *timeInto) Scan(v any) error {
	var t dbTime
	if err := t.Scan(v); err != nil {
		return err
	}
	*d = timeInto(t.T)
	return nil
}

// nullStr stores "" as NULL, for optional foreign keys.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
