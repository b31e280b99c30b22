package sql

import (
	"fmt"
	"strings"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Fixed database roles that ALTER ROLE accepts.
var fixedRoles = map[string]bool{
	"db_owner": true, "db_datareader": true, "db_datawriter": true, "db_ddladmin": true,
	"db_securityadmin": true, "db_accessadmin": true, "db_backupoperator": true,
	"db_denydatareader": true, "db_denydatawriter": true,
}

func ident(t token) (string, bool) {
	if t.kind == tWord || t.kind == tQuoted {
		return t.text, true
	}
	return "", false
}

func errNoPermission() error {
	return &sqlError{Number: 15247, State: 1, Class: 16, Text: "User does not have permission to perform this action."}
}

// createUser is CREATE USER [name] FROM EXTERNAL PROVIDER [WITH OBJECT_ID =
// 'guid']: the name is resolved against the directory by display name,
// which must be unique, unless the object id picks the principal.
// https://learn.microsoft.com/azure/azure-sql/database/authentication-microsoft-entra-create-users-with-nonunique-names
func (ss *session) createUser(st []token) error {
	if !ss.can("db_accessadmin") {
		return errNoPermission()
	}
	if len(st) < 3 {
		return syntaxError("Incorrect syntax near 'USER'.")
	}
	name, ok := ident(st[2])
	if !ok {
		return syntaxError(fmt.Sprintf("Incorrect syntax near '%s'.", st[2].text))
	}
	rest := st[3:]
	if len(rest) < 3 || !rest[0].is("FROM") || !rest[1].is("EXTERNAL") || !rest[2].is("PROVIDER") {
		// Users without an Entra principal (SQL logins, passwords) do not
		// exist on an Entra-only server.
		return &sqlError{Number: 33159, State: 1, Class: 16, Text: "Only connections established with Active Directory accounts can create other Active Directory users."}
	}
	rest = rest[3:]
	objectID := ""
	if len(rest) > 0 {
		if len(rest) != 4 || !rest[0].is("WITH") || !rest[1].is("OBJECT_ID") || rest[2].text != "=" || rest[3].kind != tString {
			return syntaxError(fmt.Sprintf("Incorrect syntax near '%s'.", rest[0].text))
		}
		objectID = rest[3].text
	}
	var p directory.Principal
	if objectID != "" {
		found, ok := ss.srv.Dir.ByObjectID(objectID)
		if !ok {
			return &sqlError{Number: 37545, State: 1, Class: 16, Text: fmt.Sprintf("The object ID '%s' could not be found in Azure Active Directory or this principal type is not supported.", objectID)}
		}
		p = found
	} else {
		var matches []directory.Principal
		for _, c := range ss.srv.Dir.List() {
			if strings.EqualFold(c.DisplayName, name) {
				matches = append(matches, c)
			}
		}
		switch len(matches) {
		case 0:
			return &sqlError{Number: 33130, State: 1, Class: 16, Text: fmt.Sprintf("Principal '%s' could not be found or this principal type is not supported.", name)}
		case 1:
			p = matches[0]
		default:
			return &sqlError{Number: 33131, State: 1, Class: 16, Text: fmt.Sprintf("Principal '%s' has a duplicate display name. Make the display name unique in Azure Active Directory and execute this statement again.", name)}
		}
	}
	d := ss.db
	d.mu.Lock()
	defer d.mu.Unlock()
	k := strings.ToLower(name)
	if _, exists := d.users[k]; exists || fixedRoles[k] || k == "dbo" || k == "public" {
		return &sqlError{Number: 15023, State: 1, Class: 16, Text: fmt.Sprintf("User, group, or role '%s' already exists in the current database.", name)}
	}
	for _, u := range d.users {
		if strings.EqualFold(u.OID, p.ObjectID) {
			return &sqlError{Number: 15063, State: 1, Class: 16, Text: "The login already has an account under a different user name."}
		}
	}
	d.users[k] = &dbUser{Name: name, OID: p.ObjectID, Roles: map[string]bool{}}
	if err := ss.srv.saveUsers(ss.ls, d); err != nil {
		// Not recorded (a full disk): memory keeps what the log has.
		delete(d.users, k)
		return err
	}
	return nil
}

// alterRole is ALTER ROLE role ADD|DROP MEMBER [name].
func (ss *session) alterRole(st []token) error {
	if len(st) != 6 || !st[4].is("MEMBER") || !(st[3].is("ADD") || st[3].is("DROP")) {
		return syntaxError("Incorrect syntax near 'ROLE'.")
	}
	role, ok1 := ident(st[2])
	member, ok2 := ident(st[5])
	if !ok1 || !ok2 {
		return syntaxError("Incorrect syntax near 'MEMBER'.")
	}
	role = strings.ToLower(role)
	if !fixedRoles[role] {
		return &sqlError{Number: 15151, State: 1, Class: 16, Text: fmt.Sprintf("Cannot alter the role '%s', because it does not exist or you do not have permission.", st[2].text)}
	}
	if !ss.can("db_securityadmin") {
		return &sqlError{Number: 15151, State: 1, Class: 16, Text: fmt.Sprintf("Cannot alter the role '%s', because it does not exist or you do not have permission.", st[2].text)}
	}
	d := ss.db
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[strings.ToLower(member)]
	if !ok {
		return &sqlError{Number: 15151, State: 1, Class: 16, Text: fmt.Sprintf("Cannot add the principal '%s', because it does not exist or you do not have permission.", member)}
	}
	was, had := u.Roles[role]
	u.Roles[role] = st[3].is("ADD")
	if err := ss.srv.saveUsers(ss.ls, d); err != nil {
		if had {
			u.Roles[role] = was
		} else {
			delete(u.Roles, role)
		}
		return err
	}
	return nil
}

// dropUser is DROP USER [IF EXISTS] [name].
func (ss *session) dropUser(st []token) error {
	if !ss.can("db_accessadmin") {
		return errNoPermission()
	}
	ifExists := len(st) == 5 && st[2].is("IF") && st[3].is("EXISTS")
	if ifExists {
		st = append(st[:2:2], st[4])
	}
	if len(st) != 3 {
		return syntaxError("Incorrect syntax near 'USER'.")
	}
	name, ok := ident(st[2])
	if !ok {
		return syntaxError(fmt.Sprintf("Incorrect syntax near '%s'.", st[2].text))
	}
	d := ss.db
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[strings.ToLower(name)]
	if !ok {
		if ifExists {
			return nil
		}
		return &sqlError{Number: 15151, State: 1, Class: 16, Text: fmt.Sprintf("Cannot drop the user '%s', because it does not exist or you do not have permission.", name)}
	}
	delete(d.users, strings.ToLower(name))
	if err := ss.srv.saveUsers(ss.ls, d); err != nil {
		d.users[strings.ToLower(name)] = u
		return err
	}
	return nil
}
