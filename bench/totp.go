package main

import (
	"time"

	"github.com/pquerna/otp/totp"
)

// totpNow is the authenticator's current code for secret.
func totpNow(secret string) string {
	code, _ := totp.GenerateCode(secret, time.Now())
	return code
}
