package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

var csvHeader = []string{"sku", "name", "description", "price", "stock", "category", "status", "weight_grams", "tax_class"}

// ExportCSV writes the store's whole catalogue (archived products too) as CSV, prices as decimals.
func (s *Service) ExportCSV(ctx context.Context, actor shop.Principal, st shop.Store, w io.Writer) error {
	store := st.ID
	if err := access.CheckStore(actor, store, access.CatalogWrite, "Store"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) error {
		f := shop.ProductFilter{IncludeArchived: true, Limit: 500}
		for {
			page, err := tx.ListProducts(ctx, store, f)
			if err != nil {
				return err
			}
			for _, p := range page.Products {
				if err := cw.Write([]string{cell(p.SKU), cell(p.Name), cell(p.Description), shop.M(p.PriceAmount, st.Currency).Decimal(), strconv.Itoa(p.Stock),
					cell(p.CategorySlug), string(p.Status), strconv.Itoa(p.WeightGrams), string(p.TaxClass)}); err != nil {
					return err
				}
			}
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				return nil
			}
		}
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a text cell as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// RowProblem is why one CSV row would be (or was) rejected.
type RowProblem struct {
	Row    int               `json:"row"`
	SKU    string            `json:"sku"`
	Errors []shop.FieldError `json:"errors"`
}

// ImportReport says what an import did, or — in a dry run — would do.
type ImportReport struct {
	DryRun   bool         `json:"dry_run"`
	Rows     int          `json:"rows"`
	Created  int          `json:"created"`
	Updated  int          `json:"updated"`
	Rejected []RowProblem `json:"rejected"`
}

// ImportCSV reads products (the export's columns) and creates new SKUs and updates existing
// ones; stock is taken only for new products (later changes go through adjustments). Every row
// that cannot be used is reported with its reasons; a dry run changes nothing. Valid rows are
// applied in one transaction, so a failure leaves the catalogue as it was.
//
// The file comes whole, as bytes: it is read from the network before anything else, never while
// the write transaction is open (on SQLite one writer serves every store, and an upload trickled
// in would hold all of them).
func (s *Service) ImportCSV(ctx context.Context, actor shop.Principal, st shop.Store, file []byte, dryRun bool) (ImportReport, error) {
	if err := access.CheckStore(actor, st.ID, access.CatalogWrite, "Store"); err != nil {
		return ImportReport{}, err
	}
	cr := csv.NewReader(bytes.NewReader(file))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return ImportReport{}, shop.Invalid(shop.FieldError{Field: "file", Message: "is not a CSV file with a header row"})
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"sku", "name", "price"} {
		if _, ok := col[need]; !ok {
			return ImportReport{}, shop.Invalid(shop.FieldError{Field: "file", Message: "the header needs the columns sku, name and price (also: description, stock, category, weight_grams, tax_class)"})
		}
	}
	// Every row is parsed before the transaction; one that is not CSV is kept as nil.
	var records [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rec = nil
		}
		if records = append(records, rec); len(records) > 10000 {
			return ImportReport{}, shop.Invalid(shop.FieldError{Field: "file", Message: "has more than 10000 rows; split it"})
		}
	}
	var rep ImportReport
	err = s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		rep = ImportReport{DryRun: dryRun, Rejected: []RowProblem{}}
		seen := map[string]bool{}
		for i, rec := range records {
			line := i + 2
			rep.Rows++
			if rec == nil {
				rep.Rejected = append(rep.Rejected, RowProblem{Row: line, Errors: []shop.FieldError{{Field: "row", Message: "is not valid CSV"}}})
				continue
			}
			get := func(name string) *string {
				i, ok := col[name]
				if !ok || i >= len(rec) {
					return nil
				}
				v := strings.TrimPrefix(strings.TrimSpace(rec[i]), "'")
				return &v
			}
			in := ProductInput{SKU: get("sku"), Name: get("name"), Description: get("description"), Category: get("category")}
			var problems []shop.FieldError
			if v := get("price"); v != nil {
				if minor, ok := shop.ParseAmount(st.Currency, *v); ok {
					in.Price = &shop.Money{Amount: minor}
				} else {
					problems = append(problems, shop.FieldError{Field: "price", Message: "must be an amount such as 12.50"})
				}
			}
			if v := get("stock"); v != nil && *v != "" {
				n, err := strconv.Atoi(*v)
				if err != nil {
					problems = append(problems, shop.FieldError{Field: "stock", Message: "must be a whole number"})
				} else {
					in.Stock = &n
				}
			}
			if v := get("weight_grams"); v != nil && *v != "" {
				if n, err := strconv.Atoi(*v); err != nil {
					problems = append(problems, shop.FieldError{Field: "weight_grams", Message: "must be a whole number of grams"})
				} else {
					in.WeightGrams = &n
				}
			}
			if v := get("tax_class"); v != nil && *v != "" {
				c := shop.TaxClass(strings.ToLower(*v))
				in.TaxClass = &c
			}
			if in.Category != nil && *in.Category == "" {
				in.Category = nil
			}
			stock := in.Stock
			in.Stock = nil
			if stock != nil && (*stock < 0 || *stock > 1_000_000) {
				problems = append(problems, shop.FieldError{Field: "stock", Message: "must be from 0 to 1000000"})
			}
			if len(problems) == 0 {
				problems = in.validate(st, in.SKU == nil || in.Name == nil || in.Price == nil)
			}
			sku := ""
			if in.SKU != nil {
				sku = *in.SKU
				if seen[sku] && len(problems) == 0 {
					problems = append(problems, shop.FieldError{Field: "sku", Message: "appears twice in the file"})
				}
				seen[sku] = true
			}
			var catID string
			if len(problems) == 0 {
				if catID, err = s.categoryID(ctx, tx, st.ID, in.Category); err != nil {
					if e := shop.AsError(err); e != nil && e.Kind == shop.KindInvalid {
						problems = append(problems, e.Fields...)
					} else {
						return err
					}
				}
			}
			if len(problems) > 0 {
				rep.Rejected = append(rep.Rejected, RowProblem{Row: line, SKU: sku, Errors: problems})
				continue
			}
			existing, err := tx.ProductBySKU(ctx, st.ID, sku)
			switch {
			case err == nil:
				rep.Updated++
				if dryRun {
					continue
				}
				existing.Name, existing.PriceAmount = strings.TrimSpace(*in.Name), in.Price.Amount
				if in.Description != nil {
					existing.Description = *in.Description
				}
				if in.Category != nil {
					existing.CategoryID = catID
				}
				if in.WeightGrams != nil {
					existing.WeightGrams = *in.WeightGrams
				}
				if in.TaxClass != nil {
					existing.TaxClass = *in.TaxClass
				}
				if err := tx.UpdateProduct(ctx, st.ID, &existing); err != nil {
					return err
				}
			case shop.KindOf(err) == shop.KindNotFound:
				rep.Created++
				if dryRun {
					continue
				}
				p := shop.Product{SKU: sku, Name: strings.TrimSpace(*in.Name), PriceAmount: in.Price.Amount, CategoryID: catID}
				if in.Description != nil {
					p.Description = *in.Description
				}
				if in.WeightGrams != nil {
					p.WeightGrams = *in.WeightGrams
				}
				if in.TaxClass != nil {
					p.TaxClass = *in.TaxClass
				}
				if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
					return err
				}
				if stock != nil && *stock > 0 {
					if _, err := tx.MoveStock(ctx, st.ID, p.ID, *stock, "opening stock (import)", string(actor.UserID), ""); err != nil {
						return err
					}
				}
			default:
				return err
			}
		}
		if dryRun || rep.Created+rep.Updated == 0 {
			return nil
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "catalog.import", TargetType: "store", TargetID: string(st.ID),
			Detail: map[string]string{"rows": strconv.Itoa(rep.Rows), "created": strconv.Itoa(rep.Created), "updated": strconv.Itoa(rep.Updated),
				"rejected": strconv.Itoa(len(rep.Rejected))}})
		return err
	})
	return rep, err
}
