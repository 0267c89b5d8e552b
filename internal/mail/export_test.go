package mail

import "crypto/tls"

// NewSMTPForTest is NewSMTP trusting what tlsConfig trusts.
func NewSMTPForTest(rawURL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	return newSMTP(rawURL, from, tlsConfig)
}
