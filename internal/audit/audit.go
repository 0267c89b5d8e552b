// Package audit defines the tamper-evident audit log: what an entry holds and how entries are
// chained. Each entry's hash covers its own fields and the previous entry's hash, so an edited,
// inserted or deleted entry breaks the chain at a place that verification can name.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"secureshop/internal/shop"
)

// PlatformChain is the chain for events that belong to no store.
const PlatformChain = "platform"

// Genesis is the previous hash of every chain's first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is one audit entry. Detail holds the before and after of a change, never a secret.
type Event struct {
	ID         string            `json:"id"`
	Chain      string            `json:"-"`
	Seq        int64             `json:"seq"`
	StoreID    shop.StoreID      `json:"store_id,omitempty"`
	OccurredAt time.Time         `json:"occurred_at"`
	ActorID    string            `json:"actor_id"`
	ActorRole  string            `json:"actor_role"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	IP         string            `json:"ip"`
	Detail     map[string]string `json:"detail,omitempty"`
	PrevHash   string            `json:"-"`
	Hash       string            `json:"-"`
}

// ChainFor names the chain of a store's events.
func ChainFor(store shop.StoreID) string {
	if store == "" {
		return PlatformChain
	}
	return "store:" + string(store)
}

// Record is what an action reports to the audit log; the repository fills in the chain fields.
type Record struct {
	Actor      shop.Principal
	Action     string
	TargetType string
	TargetID   string
	Detail     map[string]string
}

// EncodeDetail is the canonical text of a detail map (encoding/json sorts map keys).
func EncodeDetail(d map[string]string) string {
	if len(d) == 0 {
		return "{}"
	}
	b, err := json.Marshal(d)
	if err != nil { // a map of strings always marshals
		panic(err)
	}
	return string(b)
}

// ComputeHash returns the hash of e chained to e.PrevHash. Detail is hashed in its stored text
// form, so verification needs no decoding.
func ComputeHash(e Event, detailText string) string {
	canon := struct {
		Chain      string `json:"chain"`
		Seq        int64  `json:"seq"`
		ID         string `json:"id"`
		StoreID    string `json:"store_id"`
		OccurredAt string `json:"occurred_at"`
		ActorID    string `json:"actor_id"`
		ActorRole  string `json:"actor_role"`
		Action     string `json:"action"`
		TargetType string `json:"target_type"`
		TargetID   string `json:"target_id"`
		IP         string `json:"ip"`
		Detail     string `json:"detail"`
		PrevHash   string `json:"prev_hash"`
	}{e.Chain, e.Seq, e.ID, string(e.StoreID), e.OccurredAt.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorRole,
		e.Action, e.TargetType, e.TargetID, e.IP, detailText, e.PrevHash}
	b, err := json.Marshal(canon)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Page is one page of audit events, newest first.
type Page struct {
	Events     []Event
	NextCursor int64 // the seq to continue below; 0 when there is no more
}

// Problem is one break found by verification.
type Problem struct {
	Chain   string
	Seq     int64
	EventID string
	Reason  string
}

// NoHead is the head sequence of a chain that has none: nothing was ever written to it.
const NoHead = -1

// Verifier walks one chain in sequence order and collects the places where it breaks.
type Verifier struct {
	Chain    string
	prevHash string
	nextSeq  int64
	Problems []Problem
}

// NewVerifier starts the walk of a chain.
func NewVerifier(chain string) *Verifier {
	return &Verifier{Chain: chain, prevHash: Genesis, nextSeq: 1}
}

// Add checks the next stored entry; detailText is the detail exactly as stored.
func (v *Verifier) Add(e Event, detailText string) {
	if e.Seq != v.nextSeq {
		v.Problems = append(v.Problems, Problem{v.Chain, e.Seq, e.ID,
			"sequence gap: entries before this one were deleted"})
	}
	if e.PrevHash != v.prevHash {
		v.Problems = append(v.Problems, Problem{v.Chain, e.Seq, e.ID,
			"previous-hash mismatch: the entry before this one was changed or removed"})
	}
	if got := ComputeHash(e, detailText); got != e.Hash {
		v.Problems = append(v.Problems, Problem{v.Chain, e.Seq, e.ID, "hash mismatch: this entry was edited"})
	}
	v.prevHash, v.nextSeq = e.Hash, e.Seq+1
}

// Finish compares the end of the walk with the chain head kept beside the log.
func (v *Verifier) Finish(headSeq int64, headHash string) []Problem {
	if headSeq == NoHead && v.nextSeq == 1 {
		// Nothing was ever written to the chain. A chain deleted whole, head and all, looks the
		// same from inside it: what shows that a store existed is the platform chain's
		// store.create.
		return v.Problems
	}
	if headSeq != v.nextSeq-1 || headHash != v.prevHash {
		v.Problems = append(v.Problems, Problem{v.Chain, headSeq, "",
			"chain head mismatch: the newest entries were deleted or the head was edited"})
	}
	return v.Problems
}
