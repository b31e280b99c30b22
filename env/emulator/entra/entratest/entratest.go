// Package entratest gives tests signing keys without generating one per
// emulator: generating a 2048-bit RSA key takes tens to hundreds of
// milliseconds, and a test process starts dozens of emulators. Each key is
// made once per test process, on first use. Emulators that share a key
// still have tenants of their own, and their services refuse another
// tenant's tokens; a test about a foreign signer takes Other.
package entratest

import (
	"sync"

	"github.com/miconform/miconform/env/emulator/entra"
)

var (
	keyOnce, otherOnce sync.Once
	key, other         *entra.SigningKey
)

// Key is the test process's signing key.
func Key() *entra.SigningKey {
	keyOnce.Do(func() { key = mustNew() })
	return key
}

// Other is a second key, unrelated to Key: a foreign signer's.
func Other() *entra.SigningKey {
	otherOnce.Do(func() { other = mustNew() })
	return other
}

func mustNew() *entra.SigningKey {
	k, err := entra.NewSigningKey()
	if err != nil {
		panic("entratest: " + err.Error())
	}
	return k
}
