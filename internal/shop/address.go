package shop

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Address is a postal address as an order keeps it: shipping or billing, or one of a customer's
// address book. Country is an ISO 3166-1 alpha-2 code ("GB", "DE", "US").
type Address struct {
	Name     string `json:"name"`
	Line1    string `json:"line1"`
	Line2    string `json:"line2,omitempty"`
	City     string `json:"city"`
	Region   string `json:"region,omitempty"`
	Postcode string `json:"postcode,omitempty"`
	Country  string `json:"country"`
	Phone    string `json:"phone,omitempty"`
}

// Empty reports whether no field of a is filled in.
func (a Address) Empty() bool { return a == Address{} }

// Lines are the address as it is written on a parcel, one line per entry.
func (a Address) Lines() []string {
	var out []string
	for _, s := range []string{a.Name, a.Line1, a.Line2, strings.TrimSpace(a.City + " " + a.Region), a.Postcode, CountryName(a.Country)} {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// OneLine is the address on one line, for lists and CSV.
func (a Address) OneLine() string { return strings.Join(a.Lines(), ", ") }

// retiredCountries are codes x/text still knows that ISO 3166-1 no longer assigns.
var retiredCountries = map[string]bool{"AN": true, "BU": true, "CS": true, "NT": true, "SU": true, "TP": true, "YU": true, "ZR": true}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 country code in use: "GB", not "UK",
// "gb", "EU" or "SU".
func ValidCountry(code string) bool {
	if len(code) != 2 || code != strings.ToUpper(code) || retiredCountries[code] {
		return false
	}
	r, err := language.ParseRegion(code)
	return err == nil && r.IsCountry() && r.Canonicalize().String() == code
}

// CountryName is the English name of a country code ("United Kingdom" for GB), or the code itself
// when it is not one.
func CountryName(code string) string {
	if !ValidCountry(code) {
		return code
	}
	if n := display.English.Regions().Name(language.MustParseRegion(code)); n != "" {
		return n
	}
	return code
}

// postcodes are the postcode formats of the countries whose formats are checked; the others take
// any postcode up to 12 characters. Spaces and case are normalised first (NormalPostcode).
var postcodes = map[string]*regexp.Regexp{
	"GB": regexp.MustCompile(`^([A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}|GIR 0AA)$`),
	"US": regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`),
	"CA": regexp.MustCompile(`^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$`),
	"DE": regexp.MustCompile(`^[0-9]{5}$`),
	"FR": regexp.MustCompile(`^[0-9]{5}$`),
	"IT": regexp.MustCompile(`^[0-9]{5}$`),
	"ES": regexp.MustCompile(`^[0-9]{5}$`),
	"NL": regexp.MustCompile(`^[1-9][0-9]{3} ?[A-Z]{2}$`),
	"BE": regexp.MustCompile(`^[1-9][0-9]{3}$`),
	"AT": regexp.MustCompile(`^[1-9][0-9]{3}$`),
	"DK": regexp.MustCompile(`^[0-9]{4}$`),
	"SE": regexp.MustCompile(`^[0-9]{3} ?[0-9]{2}$`),
	"PL": regexp.MustCompile(`^[0-9]{2}-[0-9]{3}$`),
	"PT": regexp.MustCompile(`^[0-9]{4}-[0-9]{3}$`),
	"IE": regexp.MustCompile(`^[A-Z][0-9][0-9W] ?[0-9A-Z]{4}$`),
	"AU": regexp.MustCompile(`^[0-9]{4}$`),
	"JP": regexp.MustCompile(`^[0-9]{3}-?[0-9]{4}$`),
	"CH": regexp.MustCompile(`^[1-9][0-9]{3}$`),
}

// regionRequired are the countries whose addresses need a state, province or territory.
var regionRequired = map[string]bool{"US": true, "CA": true, "AU": true}

// noPostcode are countries where addresses have no postcode.
var noPostcode = map[string]bool{"AE": true, "HK": true, "QA": true, "PA": true, "AO": true, "FJ": true}

// NormalPostcode writes a postcode as the post of its country does: upper case, single spaces,
// and for the UK and Canada the space before the inward code.
func NormalPostcode(country, pc string) string {
	pc = strings.ToUpper(strings.Join(strings.Fields(pc), " "))
	switch country {
	case "GB":
		if c := strings.ReplaceAll(pc, " ", ""); len(c) >= 5 && len(c) <= 7 {
			pc = c[:len(c)-3] + " " + c[len(c)-3:]
		}
	case "CA":
		if c := strings.ReplaceAll(pc, " ", ""); len(c) == 6 {
			pc = c[:3] + " " + c[3:]
		}
	}
	return pc
}

// Normal is a with its fields trimmed, the country upper case and the postcode written as its
// country's post writes it.
func (a Address) Normal() Address {
	trim := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	a.Name, a.Line1, a.Line2, a.City, a.Region, a.Phone = trim(a.Name), trim(a.Line1), trim(a.Line2), trim(a.City), trim(a.Region), trim(a.Phone)
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	a.Postcode = NormalPostcode(a.Country, a.Postcode)
	return a
}

var phoneRE = regexp.MustCompile(`^\+?[0-9 ()./-]{5,25}$`)

// Check returns what is wrong with a (already Normal), each field named under prefix
// ("shipping_address.postcode"). A country outside allowed (when it is not nil) is refused, with
// notHere as its message.
func (a Address) Check(prefix string, allowed func(country string) bool, notHere string) []FieldError {
	var fields []FieldError
	bad := func(f, msg string) { fields = append(fields, FieldError{Field: prefix + f, Message: msg}) }
	text := func(f, v string, max int, required bool) {
		switch {
		case v == "" && required:
			bad(f, "is required")
		case utf8.RuneCountInString(v) > max:
			bad(f, "is too long")
		case !printable(v):
			bad(f, "contains characters an address cannot have")
		}
	}
	text("name", a.Name, 100, true)
	text("line1", a.Line1, 100, true)
	text("line2", a.Line2, 100, false)
	text("city", a.City, 60, true)
	text("region", a.Region, 60, regionRequired[a.Country])
	switch {
	case a.Country == "":
		bad("country", "is required")
	case !ValidCountry(a.Country):
		bad("country", "is not an ISO 3166-1 country code (for example GB, DE, US)")
	case allowed != nil && !allowed(a.Country):
		bad("country", notHere)
	}
	if re, ok := postcodes[a.Country]; ok {
		switch {
		case a.Postcode == "":
			bad("postcode", "is required")
		case !re.MatchString(a.Postcode):
			bad("postcode", "is not a postcode of "+CountryName(a.Country))
		}
	} else {
		text("postcode", a.Postcode, 12, !noPostcode[a.Country] && ValidCountry(a.Country))
	}
	if a.Phone != "" && !phoneRE.MatchString(a.Phone) {
		bad("phone", "is not a phone number")
	}
	return fields
}

// printable reports whether s holds no control characters (a newline included) and no
// characters that change the direction of text.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
