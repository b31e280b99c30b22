package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/emulator/pki"
	sqlsrv "github.com/miconform/miconform/env/emulator/sql"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence with --state-dir. Beside the CA, the signing key and the
// tenant's ids (files written once), every service keeps a record log in
// {state dir}/state/{service}.log (package state) and SQL keeps its
// database files in {state dir}/sql. world.json is written once the world
// exists (seeded, or empty with --seed none): a state dir that has it is
// reloaded and never seeded again.
//
// Damage never costs more than the damaged bytes:
//   - a log damaged in the middle, missing or empty (world.json says there
//     is state) stops the start with the reason; --state-dir-repair keeps
//     every intact record and sets the damaged bytes aside;
//   - services drop records of resources Resource Manager no longer has
//     (what a crash between two services' writes leaves) only when every
//     log opened cleanly: otherwise the missing resource may be what the
//     damage lost;
//   - a state dir with state but no world.json is refused, unless the
//     "seeding" marker says a first start stopped before its world
//     existed (then it starts over); only an empty one is seeded;
//   - every SQLite file passes PRAGMA quick_check before it is served.

const (
	worldFile = "world.json"
	// seedingFile exists from the first open of a new state dir until
	// world.json is written.
	seedingFile = "seeding"
	// heldFile exists after a repair: reconciliation is held until the
	// operator removes it.
	heldFile = "reconciliation-held"
)

// logTitles name the logs in errors, as they always have.
var logTitles = map[string]string{"arm": "resource manager", "keyvault": "key vault", "blob": "blob", "sql": "sql"}

// repairHint is how to proceed from damage.
const repairHint = "To keep every intact record and set the damaged bytes aside in side files (the records they held are lost), start again with --state-dir-repair; or restore the state dir from a backup. The damaged files were left as they were."

// openState opens the logs and loads the directory and role assignments,
// before the operator is added to them.
func (e *Emulator) openState() error {
	dir := e.cfg.StateDir
	if dir == "" {
		return nil
	}
	_, err := os.Stat(filepath.Join(dir, worldFile))
	world := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if !world {
		if err := e.prepareFirstStart(dir); err != nil {
			return err
		}
	}
	e.logs = map[string]*state.Log{}
	var damage []string
	var repaired []string
	for _, name := range e.stateLogs() {
		l, err := state.Open(filepath.Join(dir, "state", name+".log"), state.Options{MustExist: world, Repair: e.cfg.StateRepair})
		var de *state.DamageError
		var me *state.MissingError
		if errors.As(err, &de) || errors.As(err, &me) {
			damage = append(damage, err.Error())
			continue
		}
		if err != nil {
			_ = e.closeState() // the error that stopped the start is the one to report
			return err
		}
		if r := l.Recovered(); r != nil {
			fmt.Fprintf(os.Stderr, "emulator: state: %s: cut %d bytes at offset %d (%s): a write torn by a crash, never acknowledged; the bytes are kept in %s\n",
				name, r.Bytes, r.Offset, r.Reason, r.SavedAs)
		}
		if r := l.Repaired(); r != nil {
			repaired = append(repaired, name+".log: "+r.String())
		}
		e.logs[name] = l
	}
	if len(damage) == 0 && world {
		damage = e.checkSQLFiles(dir, &repaired)
	}
	if len(damage) > 0 {
		_ = e.closeState() // the error that stopped the start is the one to report
		return fmt.Errorf("the state dir %s is damaged, so the emulator did not start:\n  %s\n%s", dir, strings.Join(damage, "\n  "), repairHint)
	}
	held := filepath.Join(dir, heldFile)
	if len(repaired) > 0 {
		fmt.Fprintf(os.Stderr, "emulator: state: repaired (--state-dir-repair):\n  %s\n", strings.Join(repaired, "\n  "))
		note := "A repair at " + time.Now().UTC().Format(time.RFC3339) + " lost records:\n  " + strings.Join(repaired, "\n  ") +
			"\nUntil this file is removed, no service drops its records of resources Resource Manager lacks (Resource Manager's may be what was lost).\n"
		if err := pki.WriteFileAtomic(held, []byte(note), 0o600); err != nil {
			_ = e.closeState() // the error that stopped the start is the one to report
			return err
		}
	}
	if _, err := os.Stat(held); err == nil {
		fmt.Fprintf(os.Stderr, "emulator: state: after a repair, services keep records of resources Resource Manager lacks; remove %s to let them drop such records again\n", held)
		e.reconcileHeld = true
		for _, l := range e.logs {
			l.HoldReconciliation()
		}
	}
	if err := e.Dir.Persist(e.logs["directory"]); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	if err := e.RBAC.Persist(e.logs["rbac"]); err != nil {
		return fmt.Errorf("role assignments: %w", err)
	}
	return nil
}

// prepareFirstStart handles a state dir without world.json: new (it is
// marked as seeding), a first start that stopped before its world existed
// (it starts over), or state whose world.json went (refused).
func (e *Emulator) prepareFirstStart(dir string) error {
	marker := filepath.Join(dir, seedingFile)
	_, err := os.Stat(marker)
	switch {
	case err == nil:
		for _, p := range []string{filepath.Join(dir, "state"), filepath.Join(dir, "sql")} {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	for _, sub := range []string{"state", "sql"} {
		if n := countFiles(filepath.Join(dir, sub)); n > 0 {
			return fmt.Errorf("the state dir %s holds service state (%s in %s/) but no %s, so it cannot be told what it should hold; the emulator did not start and changed nothing. Restore %s from a backup; or, to start a new world and lose that state, remove %s and %s",
				dir, plural(n, "file"), sub, worldFile, worldFile, filepath.Join(dir, "state"), filepath.Join(dir, "sql"))
		}
	}
	return pki.WriteFileAtomic(marker, []byte("a first start is seeding this state dir; it goes once world.json is written\n"), 0o600)
}

// checkSQLFiles runs PRAGMA quick_check on every database file; it returns
// the damage found, or, with --state-dir-repair, moves damaged files aside
// (their databases start empty) and notes it in repaired.
func (e *Emulator) checkSQLFiles(dir string, repaired *[]string) []string {
	bad, err := sqlsrv.QuickCheck(filepath.Join(dir, "sql"))
	if err != nil {
		return []string{err.Error()}
	}
	var damage []string
	for _, b := range bad {
		if !e.cfg.StateRepair {
			damage = append(damage, fmt.Sprintf("%s failed its integrity check (PRAGMA quick_check: %s)", b.Path, b.Problem))
			continue
		}
		side := fmt.Sprintf("%s.damaged-%d", b.Path, time.Now().UnixNano())
		if err := os.Rename(b.Path, side); err != nil {
			damage = append(damage, err.Error())
			continue
		}
		for _, x := range []string{"-wal", "-shm"} {
			if err := os.Rename(b.Path+x, side+x); err != nil && !errors.Is(err, os.ErrNotExist) {
				damage = append(damage, err.Error())
			}
		}
		*repaired = append(*repaired, fmt.Sprintf("%s: failed PRAGMA quick_check (%s); moved to %s, the database starts empty", b.Path, b.Problem, side))
	}
	return damage
}

// countFiles counts the regular files under dir (0 if it does not exist).
func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// restoreState loads the other services and reports whether the state dir
// already held a world (which the seed must not overwrite).
func (e *Emulator) restoreState() (bool, error) {
	if e.logs == nil {
		return false, nil
	}
	for _, s := range e.services {
		if s.log == "" {
			continue
		}
		if err := s.restore(e.logs[s.log]); err != nil {
			return false, fmt.Errorf("%s: %w", logTitles[s.log], err)
		}
	}
	if !e.reconcileHeld {
		e.dropOrphanIdentities()
	}
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
	if err := pki.WriteFileAtomic(filepath.Join(e.cfg.StateDir, worldFile), b, 0o600); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(e.cfg.StateDir, seedingFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// closeState closes the logs (each syncs first).
func (e *Emulator) closeState() error {
	var errs []error
	for _, l := range e.logs {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}
