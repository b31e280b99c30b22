package state

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkCommit is one writer: each 1 KiB write waits for its own fsync.
func BenchmarkCommit(b *testing.B) {
	benchCommit(b, false)
}

// BenchmarkCommitParallel is many writers sharing fsyncs (group commit).
func BenchmarkCommitParallel(b *testing.B) {
	benchCommit(b, true)
}

func benchCommit(b *testing.B, parallel bool) {
	l, err := Open(filepath.Join(b.TempDir(), "bench.log"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	val := make([]byte, 1024)
	var n atomic.Int64
	one := func() {
		var bt Batch
		bt.Put(fmt.Sprintf("key/%d", n.Add(1)%1000), val)
		if err := l.Commit(&bt); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(val)))
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			one()
		}
		return
	}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			one()
		}
	})
}
