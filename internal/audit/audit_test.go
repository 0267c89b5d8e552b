package audit

import (
	"testing"
	"time"
)

func chain(n int) ([]Event, []string) {
	var evs []Event
	var details []string
	prev := Genesis
	for i := 1; i <= n; i++ {
		e := Event{ID: string(rune('a' + i)), Chain: "store:s", Seq: int64(i), StoreID: "s", OccurredAt: time.Unix(int64(i), 0).UTC(),
			ActorID: "u", ActorRole: "admin", Action: "x", TargetType: "t", TargetID: "id", IP: "127.0.0.1",
			Detail: map[string]string{"k": "v"}, PrevHash: prev}
		d := EncodeDetail(e.Detail)
		e.Hash = ComputeHash(e, d)
		prev = e.Hash
		evs, details = append(evs, e), append(details, d)
	}
	return evs, details
}

func verify(evs []Event, details []string, headSeq int64, headHash string) []Problem {
	v := NewVerifier("store:s")
	for i, e := range evs {
		v.Add(e, details[i])
	}
	return v.Finish(headSeq, headHash)
}

func TestVerifier(t *testing.T) {
	evs, ds := chain(4)
	head := evs[3].Hash
	if p := verify(evs, ds, 4, head); len(p) != 0 {
		t.Fatalf("intact chain: %+v", p)
	}
	// An edited field breaks that entry's own hash.
	edited := append([]Event{}, evs...)
	edited[1].ActorID = "someone-else"
	if p := verify(edited, ds, 4, head); len(p) != 1 || p[0].Seq != 2 || p[0].EventID != evs[1].ID {
		t.Fatalf("edit: %+v", p)
	}
	// An edited detail text too.
	ds2 := append([]string{}, ds...)
	ds2[2] = `{"k":"w"}`
	if p := verify(evs, ds2, 4, head); len(p) != 1 || p[0].Seq != 3 {
		t.Fatalf("detail edit: %+v", p)
	}
	// A deleted middle entry shows as a gap at the next one.
	gap := []Event{evs[0], evs[2], evs[3]}
	if p := verify(gap, []string{ds[0], ds[2], ds[3]}, 4, head); len(p) == 0 || p[0].Seq != 3 {
		t.Fatalf("deletion: %+v", p)
	}
	// Deleting the newest entry is caught by the head.
	if p := verify(evs[:3], ds[:3], 4, head); len(p) != 1 || p[0].EventID != "" {
		t.Fatalf("truncation: %+v", p)
	}
	// A chain nothing was written to yet (a new store) has no head and no entries: intact. Entries
	// without a head, or a head without its entries, are not.
	if p := verify(nil, nil, NoHead, ""); len(p) != 0 {
		t.Fatalf("empty chain: %+v", p)
	}
	if p := verify(evs, ds, NoHead, ""); len(p) != 1 {
		t.Fatalf("entries without a head: %+v", p)
	}
	if p := verify(nil, nil, 4, head); len(p) != 1 {
		t.Fatalf("a head without its entries: %+v", p)
	}
	// A re-hashed forgery still breaks the link to the next entry.
	forged := append([]Event{}, evs...)
	forged[1].ActorID = "x"
	forged[1].Hash = ComputeHash(forged[1], ds[1])
	if p := verify(forged, ds, 4, head); len(p) != 1 || p[0].Seq != 3 {
		t.Fatalf("re-hashed forgery: %+v", p)
	}
}
