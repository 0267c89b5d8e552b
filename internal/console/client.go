// Package console is secureshop's terminal client: an interactive menu for each role and the same
// operations as plain subcommands for scripts. It is a client of the public REST API only — it signs
// in like any other client, holds its tokens in memory, and can do nothing the API would refuse.
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client calls the shop's API for one store, keeping the session's tokens in memory.
type Client struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	Store  string // store slug; empty for the platform (operators)
	HTTP   *http.Client

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
	device  string // the device token of the last sign-in, presented at the next (in memory only)
}

// NewClient returns a client of server for store.
func NewClient(server, store string) *Client {
	return &Client{Server: strings.TrimRight(server, "/"), Store: store, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Problem is an error answer of the API (RFC 9457); the console shows its detail.
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Type   string `json:"type"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	for _, f := range p.Errors {
		msg += fmt.Sprintf("\n  %s %s", f.Field, f.Message)
	}
	return msg
}

// Unreachable is the error when the server does not answer at all.
type Unreachable struct {
	Server string
	Err    error
}

func (u *Unreachable) Error() string {
	return fmt.Sprintf("Cannot reach the shop at %s (%v). Check --server and that the shop is running.", u.Server, u.Err)
}

func (u *Unreachable) Unwrap() error { return u.Err }

// storePath is path under the store's API prefix.
func (c *Client) storePath(path string) string {
	return "/api/v1/stores/" + url.PathEscape(c.Store) + path
}

// authPath is a sign-in path: the store's, or the platform's for an operator (no store).
func (c *Client) authPath(path string) string {
	if c.Store == "" {
		return "/api/v1/platform" + path
	}
	return c.storePath(path)
}

// SignedIn reports whether the client holds a session.
func (c *Client) SignedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access != ""
}

// do sends a request and decodes a JSON answer into out (when not nil). A problem answer comes
// back as *Problem. An expired access token is refreshed once, transparently.
func (c *Client) do(ctx context.Context, method, path string, body, out any, header ...string) error {
	if err := c.refreshIfDue(ctx); err != nil {
		return err
	}
	status, b, err := c.send(ctx, method, path, body, true, header...)
	if err == nil && status == http.StatusUnauthorized && c.canRefresh() {
		if rerr := c.Refresh(ctx); rerr == nil {
			status, b, err = c.send(ctx, method, path, body, true, header...)
		}
	}
	if err != nil {
		return err
	}
	if status >= 400 {
		p := &Problem{Status: status}
		if json.Unmarshal(b, p) != nil || (p.Detail == "" && p.Title == "") {
			p.Detail = fmt.Sprintf("The shop answered %d %s.", status, http.StatusText(status))
		}
		return p
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the shop's answer could not be read: %w", err)
		}
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, body any, auth bool, header ...string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("bad server address %q: %w", c.Server, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c.mu.Lock()
	if tok := c.access; auth && tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c.mu.Unlock()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &Unreachable{Server: c.Server, Err: rootCause(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// rootCause strips url.Error's repetition of the method and address.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Tokens is the API's answer to a sign-in.
type tokens struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int      `json:"expires_in"`
	MFARequired  bool     `json:"mfa_required"`
	MFAToken     string   `json:"mfa_token"`
	Methods      []string `json:"methods"`
	DeviceToken  string   `json:"device_token"`
}

func (c *Client) keep(t tokens) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.access, c.refresh = t.AccessToken, t.RefreshToken
	c.expires = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	if t.DeviceToken != "" {
		c.device = t.DeviceToken
	}
}

func (c *Client) deviceToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.device
}

// Challenge is a second factor the server asks for after the password.
type Challenge struct {
	Token   string
	Methods []string
}

// Login signs in with a password. When a second factor is due it returns a challenge for MFA.
func (c *Client) Login(ctx context.Context, email, password string) (*Challenge, error) {
	var t tokens
	body := map[string]string{"email": email, "password": password}
	if d := c.deviceToken(); d != "" {
		body["device_token"] = d
	}
	if err := c.do(ctx, "POST", c.authPath("/auth/login"), body, &t); err != nil {
		return nil, err
	}
	if t.MFARequired {
		return &Challenge{Token: t.MFAToken, Methods: t.Methods}, nil
	}
	c.keep(t)
	return nil, nil
}

// MFA answers a challenge with a code. method "email" with an empty code asks for a code by mail.
func (c *Client) MFA(ctx context.Context, ch *Challenge, method, code string) error {
	body := map[string]string{"mfa_token": ch.Token, "method": method}
	if code != "" {
		body["code"] = code
	}
	if d := c.deviceToken(); d != "" {
		body["device_token"] = d
	}
	var t tokens
	if err := c.do(ctx, "POST", c.authPath("/auth/mfa"), body, &t); err != nil {
		return err
	}
	if t.AccessToken != "" {
		c.keep(t)
	}
	return nil
}

func (c *Client) canRefresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refresh != ""
}

func (c *Client) refreshIfDue(ctx context.Context) error {
	c.mu.Lock()
	due := c.refresh != "" && time.Until(c.expires) < 30*time.Second
	c.mu.Unlock()
	if !due {
		return nil
	}
	return c.Refresh(ctx)
}

// Refresh trades the refresh token for a new pair.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	rt := c.refresh
	c.mu.Unlock()
	status, b, err := c.send(ctx, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rt}, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		c.keep(tokens{})
		return &Problem{Status: status, Detail: "Your session has ended; sign in again."}
	}
	var t tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	c.keep(t)
	return nil
}

// Logout ends the session on the server and forgets the tokens.
func (c *Client) Logout(ctx context.Context) error {
	if !c.SignedIn() {
		return nil
	}
	err := c.do(ctx, "POST", "/api/v1/auth/logout", nil, nil)
	c.keep(tokens{})
	return err
}

// Me is the signed-in account.
type Me struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Store *struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	} `json:"store"`
	MFAEnabled  bool `json:"mfa_enabled"`
	MFARequired bool `json:"mfa_enrollment_required"`
}

// Me returns the signed-in account.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var m Me
	err := c.do(ctx, "GET", "/api/v1/me", nil, &m)
	return m, err
}

// Enrollment is a new TOTP secret, to be confirmed with a code.
type Enrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// EnrollTOTP starts two-factor enrolment for the signed-in account.
func (c *Client) EnrollTOTP(ctx context.Context) (Enrollment, error) {
	var e Enrollment
	err := c.do(ctx, "POST", "/api/v1/me/mfa/totp", nil, &e)
	return e, err
}

// ConfirmTOTP confirms enrolment with a code of the authenticator and returns the recovery codes.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	err := c.do(ctx, "POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": code}, &out)
	return out.RecoveryCodes, err
}
