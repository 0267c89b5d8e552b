package app_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"secureshop/internal/testenv"
)

func TestCatalogCSV_DryRunReportsEveryRejectedRowThenImports(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("csv")
		s.newProduct("csv", "KEEP-1", 500, 3)
		clerk := s.login("csv", "clerk@example.com").AccessToken
		file := "sku,name,description,price,stock,category\n" +
			"NEW-1,Teapot,Round,19.99,5,\n" +
			"KEEP-1,Renamed,Updated,6.50,999,\n" +
			"bad sku!,x,,1.00,1,\n" +
			"NEW-2,,no name,2.00,1,\n" +
			"NEW-3,Mug,,abc,1,\n" +
			"NEW-4,Cup,,1.00,-3,\n" +
			"NEW-5,Jug,,1.00,1,no-such-category\n" +
			"NEW-1,Twice,,1.00,1,\n" +
			"NEW-6,\"=HYPERLINK(\"\"http://evil\"\")\",,1.00,1,\n"
		imp := "/api/v1/stores/csv/products/import"
		expectStatus(t, "JSON instead of CSV", s.call("POST", imp+"?dry_run=true", clerk, `{}`), 415)
		a := s.call("POST", imp+"?dry_run=true", clerk, file, "Content-Type", "text/csv")
		expectStatus(t, "dry run", a, 200)
		var rep struct {
			DryRun   bool `json:"dry_run"`
			Rows     int  `json:"rows"`
			Created  int  `json:"created"`
			Updated  int  `json:"updated"`
			Rejected []struct {
				Row int    `json:"row"`
				SKU string `json:"sku"`
			} `json:"rejected"`
		}
		a.json(t, &rep)
		rows := map[int]bool{}
		for _, r := range rep.Rejected {
			rows[r.Row] = true
		}
		if !rep.DryRun || rep.Rows != 9 || rep.Created != 2 || rep.Updated != 1 || len(rep.Rejected) != 6 || !rows[4] || !rows[5] || !rows[6] || !rows[7] || !rows[8] || !rows[9] {
			t.Fatalf("dry-run report %s", a.body)
		}
		export := s.call("GET", "/api/v1/stores/csv/products/export", clerk, nil)
		if strings.Contains(string(export.body), "Teapot") || !strings.Contains(string(export.body), "Product KEEP-1") {
			t.Fatalf("the dry run changed the catalogue:\n%s", export.body)
		}
		a = s.call("POST", imp, clerk, file, "Content-Type", "text/csv")
		expectStatus(t, "import", a, 200)
		a.json(t, &rep)
		if rep.DryRun || rep.Created != 2 || rep.Updated != 1 {
			t.Fatalf("import report %s", a.body)
		}
		export = s.call("GET", "/api/v1/stores/csv/products/export", clerk, nil)
		recs, err := csv.NewReader(strings.NewReader(string(export.body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		bySKU := map[string][]string{}
		for _, r := range recs[1:] {
			bySKU[r[0]] = r
		}
		if r := bySKU["KEEP-1"]; r[1] != "Renamed" || r[3] != "6.50" || r[4] != "3" {
			t.Errorf("updated row %v (stock must not change by import)", r)
		}
		if r := bySKU["NEW-1"]; r[1] != "Teapot" || r[3] != "19.99" || r[4] != "5" {
			t.Errorf("created row %v", r)
		}
		if r := bySKU["NEW-6"]; !strings.HasPrefix(r[1], "'=") {
			t.Errorf("formula not neutralised in the export: %v", r)
		}
		expectStatus(t, "customer exports", s.call("GET", "/api/v1/stores/csv/products/export", s.login("csv", "customer@example.com").AccessToken, nil), 403)
	})
}
