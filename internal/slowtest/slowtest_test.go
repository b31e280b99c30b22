package slowtest

import "testing"

func TestRequire(t *testing.T) {
	t.Setenv(Env, "")
	skipped := false
	t.Run("off", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t, "testing the switch")
	})
	if !skipped || Enabled() {
		t.Errorf("without %s=1 the test ran (skipped %v, enabled %v)", Env, skipped, Enabled())
	}
	t.Setenv(Env, "1")
	ran := false
	t.Run("on", func(t *testing.T) {
		Require(t, "testing the switch")
		ran = true
	})
	if !ran || !Enabled() {
		t.Errorf("with %s=1 the test was skipped", Env)
	}
}
