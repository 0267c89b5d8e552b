package identity

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"
	"golang.org/x/text/unicode/norm"

	"secureshop/internal/shop"
)

// NormalizePassword puts a password in Unicode NFKC form, so that the same characters typed on
// two keyboards make the same password.
func NormalizePassword(pw string) string { return norm.NFKC.String(pw) }

// CheckPasswordPolicy applies the password rules: 12 to 128 characters, any characters at all,
// not common or guessable (a zxcvbn score of at least 3), not built from the e-mail or name, and —
// when the store asks for it — upper and lower case, a digit and a symbol.
func CheckPasswordPolicy(field, pw, email, name string, composition bool) error {
	pw = NormalizePassword(pw)
	if fe := ValidatePassword(field, pw); fe != nil {
		return shop.Invalid(*fe)
	}
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	inputs := append([]string{strings.ToLower(email), local}, strings.Fields(strings.ToLower(name))...)
	for _, in := range inputs {
		if utf8.RuneCountInString(in) >= 4 && strings.Contains(lower, in) {
			return shop.Invalid(shop.FieldError{Field: field, Message: "must not contain your e-mail address or name"})
		}
	}
	if zxcvbn.PasswordStrength(pw, inputs).Score < 3 {
		return shop.Invalid(shop.FieldError{Field: field, Message: "is too easy to guess; use a longer phrase of unrelated words"})
	}
	if composition {
		var up, lo, dig, sym bool
		for _, r := range pw {
			switch {
			case unicode.IsUpper(r):
				up = true
			case unicode.IsLower(r):
				lo = true
			case unicode.IsDigit(r):
				dig = true
			default:
				sym = true
			}
		}
		if !up || !lo || !dig || !sym {
			return shop.Invalid(shop.FieldError{Field: field, Message: "must mix upper and lower case letters, a digit and a symbol (this store's rule)"})
		}
	}
	return nil
}
