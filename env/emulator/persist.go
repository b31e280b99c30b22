package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/pki"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence with --state-dir. Beside the CA, the signing key and the
// tenant's ids (files written once), every service keeps a record log in
// {state dir}/state/{service}.log (package state) and SQL keeps its
// database files in {state dir}/sql. world.json is written once the world
// exists (seeded, or empty with --seed none): a state dir that has it is
// reloaded and never seeded again; one that has logs but no world.json
// stopped in the middle of its first seed, and starts over.

// stateServices are the logs, in the order they are loaded: Resource
// Manager before the services whose resources it holds.
var stateServices = []string{"directory", "rbac", "arm", "keyvault", "blob", "sql"}

const worldFile = "world.json"

// openState opens the logs and loads the directory and role assignments,
// before the operator is added to them.
func (e *Emulator) openState() error {
	dir := e.cfg.StateDir
	if dir == "" {
		return nil
	}
	_, err := os.Stat(filepath.Join(dir, worldFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Never initialized, or a first start that did not finish.
		for _, p := range []string{filepath.Join(dir, "state"), filepath.Join(dir, "sql")} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	case err != nil:
		return err
	}
	e.logs = map[string]*state.Log{}
	for _, name := range stateServices {
		l, err := state.Open(filepath.Join(dir, "state", name+".log"), state.Options{})
		if err != nil {
			e.closeState()
			return err
		}
		if r := l.Recovered(); r != nil {
			fmt.Fprintf(os.Stderr, "emulator: state: %s: cut %d bytes at offset %d (%s), a write torn by a crash that was never acknowledged; the bytes are kept in %s\n",
				name, r.Bytes, r.Offset, r.Reason, r.SavedAs)
		}
		e.logs[name] = l
	}
	if err := e.Dir.Persist(e.logs["directory"]); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if err := e.RBAC.Persist(e.logs["rbac"]); err != nil {
		return fmt.Errorf("role assignments: %w", err)
	}
	return nil
}

// restoreState loads the other services and reports whether the state dir
// already held a world (which the seed must not overwrite).
func (e *Emulator) restoreState() (bool, error) {
	if e.logs == nil {
		return false, nil
	}
	if err := e.ARM.Persist(e.logs["arm"]); err != nil {
		return false, fmt.Errorf("resource manager: %w", err)
	}
	if err := e.KeyVault.Persist(e.logs["keyvault"]); err != nil {
		return false, fmt.Errorf("key vault: %w", err)
	}
	if err := e.Blob.Persist(e.logs["blob"], e.ARM); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	if err := e.SQL.Persist(filepath.Join(e.cfg.StateDir, "sql"), e.logs["sql"], e.ARM); err != nil {
		return false, fmt.Errorf("sql: %w", err)
	}
	e.dropOrphanIdentities()
	b, err := os.ReadFile(filepath.Join(e.cfg.StateDir, worldFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, &e.World); err != nil {
		return false, fmt.Errorf("%s: %w", worldFile, err)
	}
	if e.World.VMResourceID != "" {
		e.SetVM(e.World.VMResourceID)
	}
	return true, nil
}

// dropOrphanIdentities removes managed identities whose resource went (or
// stopped naming them) with a crash before the directory heard of it.
func (e *Emulator) dropOrphanIdentities() {
	for _, p := range e.Dir.List() {
		if p.Kind != directory.SystemAssigned && p.Kind != directory.UserAssigned {
			continue
		}
		res, ok := e.ARM.GetResource(p.ResourceID)
		if ok && p.Kind == directory.SystemAssigned {
			ok = res.Identity != nil && strings.EqualFold(res.Identity.PrincipalID, p.ObjectID)
		}
		if !ok {
			e.Dir.Remove(p.ObjectID)
		}
	}
}

// saveWorld marks the state dir initialized, once, after the seed.
func (e *Emulator) saveWorld(restored bool) error {
	if e.logs == nil || restored {
		return nil
	}
	b, err := json.MarshalIndent(e.World, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFileAtomic(filepath.Join(e.cfg.StateDir, worldFile), b, 0o600)
}

// closeState closes the logs (each syncs first).
func (e *Emulator) closeState() error {
	var errs []error
	for _, l := range e.logs {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}
