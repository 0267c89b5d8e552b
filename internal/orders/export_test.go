package orders

import "time"

// SetClock makes the service read the time from now: tests move past a reservation's end without
// waiting for it.
func SetClock(s *Service, now func() time.Time) { s.now = now }
