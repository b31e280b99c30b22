package keyvault

import (
	"crypto/rsa"
	"os"
	"sync"
	"testing"
)

// TestMain gives creates of RSA keys one of two keys per size, made once,
// in turn: consecutive creates still get different key material, so a key
// version mixed up with another still shows, without a key generation per
// create.
func TestMain(m *testing.M) {
	var (
		mu    sync.Mutex
		made  = map[int][]*rsa.PrivateKey{}
		asked = map[int]int{}
	)
	generate := newRSAKey
	newRSAKey = func(bits int) (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		n := asked[bits]
		asked[bits]++
		if keys := made[bits]; len(keys) == 2 {
			return keys[n%2], nil
		}
		k, err := generate(bits)
		if err == nil {
			made[bits] = append(made[bits], k)
		}
		return k, err
	}
	os.Exit(m.Run())
}
