package main

import (
	"sync"
	"sync/atomic"
)

// checkout measures buying: adding to the cart; checkout itself — each client fills its
// customer's cart, untimed, and once every client has, all pay at once, timed (measureRounds);
// the two one after the other; checkout's baselines (baseline.go); and last the oversell check,
// every client racing for the last units of a product until none is left.
func checkout(ld load, s *server, c []*loadConn, ids []string, bare Result, rep *Report) {
	tokens := s.customers(ld.clients)
	target, unit, sold := ids[0], ids[1], ids[2]
	s.adjust(target, 1_000_000)
	fill := func(i int) error {
		return c[i].do("PUT", "/api/v1/stores/demo/cart/items/"+target, tokens[i], `{"quantity":1}`, 200)
	}
	rep.add(ld.measure("add to cart", fill), bare)
	if err := fill(0); err != nil {
		failf("cart: %v", err)
	}
	card := s.toLondon(tokens[0]) // checkout sends the order to an address, by one of the demo's methods
	pay := func(i int) error {
		return c[i].do("POST", "/api/v1/stores/demo/checkout", tokens[i], card, 201)
	}
	paid := ld.measureRounds("checkout", fill, pay)
	both := ld.measure("cart + checkout, one after the other", func(i int) error {
		if err := fill(i); err != nil {
			return err
		}
		return pay(i)
	})
	s.adjust(sold, 1_000_000) // the bare transactions' product
	bareTx, minimalTx := bareCheckouts(ld, s, sold)
	rep.add(paid, bareTx)
	rep.add(both, bareTx)
	rep.Results = append(rep.Results, bareTx)
	paid.Name = "checkout, against the minimal tables"
	rep.add(paid, minimalTx)
	rep.Results = append(rep.Results, minimalTx)

	const units = 200
	s.setStock(unit, units)
	var sales atomic.Int64
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func(c *loadConn, tok string) {
			defer wg.Done()
			for {
				if c.do("PUT", "/api/v1/stores/demo/cart/items/"+unit, tok, `{"quantity":1}`, 200) != nil {
					return // out of stock: the cart refuses more than is left
				}
				if c.do("POST", "/api/v1/stores/demo/checkout", tok, card, 201) != nil {
					return
				}
				sales.Add(1)
			}
		}(c[i], tokens[i])
	}
	wg.Wait()
	rep.OversellPaid, rep.OversellUnit, rep.StockAfter = int(sales.Load()), units, s.stock(unit)
}
