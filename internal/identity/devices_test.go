package identity_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
)

const pw = "twelve chars long"

// TestLockout_AnAttackerCannotLockTheOwnerOut: ten wrong passwords from elsewhere lock the account
// against every unknown source, its owner's new browser included — but not against a browser or
// client that signed in to it before and keeps its device token. That device's own failures lock
// only that device. Tokens for another account, or too old, count for nothing.
func TestLockout_AnAttackerCannotLockTheOwnerOut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	owner := identity.Meta{IP: "10.0.0.1"}
	first, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, owner)
	if err != nil || first.DeviceToken == "" {
		t.Fatalf("first sign-in: %+v %v", first, err)
	}
	lockOut(t, f.svc, f.clock, f.store) // ten wrong passwords from 1.2.3.4, no device token
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.2"}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("a new client with the right password, while locked: %v", err)
	}
	owner.Devices = []string{first.DeviceToken}
	again, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, owner)
	if err != nil {
		t.Fatalf("the owner's known device while the account is locked against others: %v", err)
	}
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.2"}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("the owner's sign-in lifted the lock against others: %v", err)
	}

	// The device's own failures lock it alone, and its owner hears of it.
	dev := identity.Meta{IP: "10.0.0.1", Devices: []string{again.DeviceToken}}
	for i := range 10 {
		f.clock.add(13 * time.Second)
		if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", "wrong wrong wrong", dev); shop.KindOf(err) != shop.KindUnauthenticated {
			t.Fatalf("device attempt %d: %v", i+1, err)
		}
	}
	f.clock.add(13 * time.Second)
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, dev); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("a device after its own ten failures: %v", err)
	}
	if !f.mail.has("one of your devices") {
		t.Error("the owner was not told of the device's lock")
	}
	// Another device of the owner is not affected.
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.3", Devices: []string{first.DeviceToken}}); err != nil {
		t.Fatalf("another known device: %v", err)
	}

	// A token for another account, or one too old, is no device of this account.
	other, err := f.svc.CreateUser(ctx, shop.System(), f.store.ID, identity.NewUser{Email: "d@example.com", Role: shop.RoleCustomer, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.LoginAPI(ctx, f.store, other.Email, pw, identity.Meta{IP: "10.0.0.4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.4", Devices: []string{d.DeviceToken}}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("another account's device token opened a locked account: %v", err)
	}
	f.clock.add(16 * time.Minute) // the locks end
	fresh, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	lockOut(t, f.svc, f.clock, f.store)
	f.clock.add(91 * 24 * time.Hour)
	lockOut(t, f.svc, f.clock, f.store)
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.5", Devices: []string{fresh.DeviceToken}}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("a 91-day-old device token opened a locked account: %v", err)
	}
	forged := fresh.DeviceToken[:len(fresh.DeviceToken)-2] + "AA"
	if _, err := f.svc.LoginAPI(ctx, f.store, "c@example.com", pw, identity.Meta{IP: "10.0.0.5", Devices: []string{forged}}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("a forged device token opened a locked account: %v", err)
	}
}

// TestLimits_PerAddressCountsFailuresNotSuccesses: behind one address (an office), more colleagues
// sign in within a minute than the per-address limit, and a typo followed by the right password
// goes through; failures from the address still run into the limit.
func TestLimits_PerAddressCountsFailuresNotSuccesses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t) // 5 attempts a minute per address and per account
	office := identity.Meta{IP: "192.0.2.10"}
	for i := range 8 {
		email := fmt.Sprintf("colleague%d@example.com", i)
		if _, err := f.svc.CreateUser(ctx, shop.System(), f.store.ID, identity.NewUser{Email: email, Role: shop.RoleCustomer, Password: pw}); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			if _, err := f.svc.LoginAPI(ctx, f.store, email, "a typo in it...", office); shop.KindOf(err) != shop.KindUnauthenticated {
				t.Fatalf("typo: %v", err)
			}
		}
		if _, err := f.svc.LoginAPI(ctx, f.store, email, pw, office); err != nil {
			t.Fatalf("colleague %d behind the office address: %v", i, err)
		}
	}
	for i := range 4 { // with the typo above, five failures
		if _, err := f.svc.LoginAPI(ctx, f.store, fmt.Sprintf("nobody%d@example.com", i), pw, office); shop.KindOf(err) != shop.KindUnauthenticated {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.LoginAPI(ctx, f.store, "colleague0@example.com", pw, office); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("after five failures from the address within a minute: %v", err)
	}
}

func (m *mailbox) has(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range m.sent {
		if strings.Contains(msg.Subject+msg.Body, s) {
			return true
		}
	}
	return false
}
