package sql

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkLoginQuery is one new go-mssqldb connection per iteration (TCP,
// PRELOGIN, TLS inside PRELOGIN, LOGIN7 with a token, LOGINACK) followed by
// the tutorial's SELECT; p50/p99 are reported alongside ns/op.
func BenchmarkLoginQuery(b *testing.B) {
	for _, flow := range []string{"token", "msi"} {
		b.Run(flow, func(b *testing.B) {
			f := newFixture(b, "AzureCloud")
			f.srv.ErrorLog = nil
			admin := f.asAdmin("true")
			if _, err := admin.Exec("CREATE TABLE Inventory (Id INT IDENTITY(1,1) PRIMARY KEY, Name NVARCHAR(50), Quantity INT); INSERT INTO Inventory (Name, Quantity) VALUES (N'banana', 150), (N'orange', 154); CREATE USER [myVM] FROM EXTERNAL PROVIDER; ALTER ROLE db_datareader ADD MEMBER [myVM]"); err != nil {
				b.Fatal(err)
			}
			tok := f.token(f.vm, f.cloud.SQLResource)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				db := f.open("srv1", "db1", "true", flow, func(string) string { return tok })
				rows, err := db.QueryContext(context.Background(), "SELECT * from Inventory;")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				db.Close()
				if n != 2 {
					b.Fatalf("%d rows", n)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkQuery is the SELECT alone on an open connection.
func BenchmarkQuery(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	admin := f.asAdmin("true")
	if _, err := admin.Exec("CREATE TABLE Inventory (Id INT, Name NVARCHAR(50)); INSERT INTO Inventory VALUES (1, N'banana'), (2, N'orange')"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rows, err := admin.Query("SELECT * from Inventory;")
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
}
