package shop

import "testing"

func TestMoney_String(t *testing.T) {
	for _, c := range []struct {
		m    Money
		want string
	}{
		{Money{Amount: 0, Currency: "GBP"}, "£0.00"},
		{Money{Amount: 5, Currency: "EUR"}, "€0.05"},
		{Money{Amount: 1999, Currency: "USD"}, "$19.99"},
		{Money{Amount: -120050, Currency: "GBP"}, "-£1200.50"},
		{Money{Amount: 100, Currency: "CHF"}, "CHF 1.00"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("String(%+v) = %q, want %q", c.m, got, c.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{"12": 1200, "12.5": 1250, "12.50": 1250, "0.07": 7, " 3 ": 300, "999999999.99": 99999999999} {
		if got, ok := ParseAmount(in); !ok || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", ".5", "12.345", "-1", "+1", "1e3", "12,50", "1000000000", "1.-5", "abc"} {
		if got, ok := ParseAmount(in); ok {
			t.Errorf("ParseAmount(%q) = %d, accepted", in, got)
		}
	}
}
