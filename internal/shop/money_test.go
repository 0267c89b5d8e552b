package shop

import "testing"

func TestMoney_StringFollowsTheCurrencysMinorUnits(t *testing.T) {
	for _, c := range []struct {
		m    Money
		want string
	}{
		{M(0, "GBP"), "£0.00"},
		{M(5, "EUR"), "€0.05"},
		{M(1999, "USD"), "$19.99"},
		{M(-120050, "GBP"), "-£1,200.50"},
		{M(100, "CHF"), "CHF\u00a01.00"},
		{M(1267, "JPY"), "¥1,267"},         // the yen has no minor unit: 1,267 yen, not ¥12.67
		{M(1234, "KWD"), "KWD\u00a01.234"}, // three decimals
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("String(%+v) = %q, want %q", c.m, got, c.want)
		}
	}
}

func TestMoney_Decimal(t *testing.T) {
	for m, want := range map[Money]string{M(1250, "GBP"): "12.50", M(7, "GBP"): "0.07", M(1267, "JPY"): "1267", M(1234, "KWD"): "1.234", M(-5, "EUR"): "-0.05"} {
		if got := m.Decimal(); got != want {
			t.Errorf("Decimal(%+v) = %q, want %q", m, got, want)
		}
	}
}

func TestValidCurrency_RefusesCodesThatAreNotCurrencies(t *testing.T) {
	for code, want := range map[string]bool{"GBP": true, "JPY": true, "KWD": true, "EUR": true, "XYZ": false, "gbp": false, "": false, "GB": false, "GBPX": false} {
		if got := ValidCurrency(code); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		code, in string
		want     int64
	}{
		{"GBP", "12", 1200}, {"GBP", "12.5", 1250}, {"GBP", "12.50", 1250}, {"GBP", "0.07", 7}, {"GBP", " 3 ", 300},
		{"GBP", "999999999.99", 99999999999}, {"JPY", "1267", 1267}, {"KWD", "1.234", 1234}, {"KWD", "1.2", 1200},
	} {
		if got, ok := ParseAmount(c.code, c.in); !ok || got != c.want {
			t.Errorf("ParseAmount(%s, %q) = %d, %v; want %d", c.code, c.in, got, ok, c.want)
		}
	}
	for _, c := range []struct{ code, in string }{
		{"GBP", ""}, {"GBP", ".5"}, {"GBP", "12.345"}, {"GBP", "-1"}, {"GBP", "+1"}, {"GBP", "1e3"}, {"GBP", "12,50"},
		{"GBP", "1000000000"}, {"GBP", "1.-5"}, {"GBP", "abc"}, {"JPY", "12.5"}, {"KWD", "1.2345"}, {"XYZ", "12"},
	} {
		if got, ok := ParseAmount(c.code, c.in); ok {
			t.Errorf("ParseAmount(%s, %q) = %d, accepted", c.code, c.in, got)
		}
	}
}
