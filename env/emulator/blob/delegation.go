package blob

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Get User Delegation Key: https://learn.microsoft.com/rest/api/storageservices/get-user-delegation-key
// POST /?restype=service&comp=userdelegationkey with a <KeyInfo> body,
// "available in version 2018-11-09 and later"; "only authorization with
// Microsoft Entra ID is supported"; the caller needs
// Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action,
// which "must be scoped at the level of the storage account, the resource
// group, or the subscription" (create-user-delegation-sas, "Assign
// permissions with Azure RBAC").

const actGenerateUserDelegationKey = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"

var opGetUserDelegationKey = &operation{name: "GetUserDelegationKey", level: levelAccount, action: actGenerateUserDelegationKey, bearerOnly: true, h: (*Service).GetUserDelegationKey}

// maxKeyLifetime: Start and Expiry "must be within seven days of the
// current time" (get-user-delegation-key, request body).
const maxKeyLifetime = 7 * 24 * time.Hour

// keyTimeLayout is how SignedStart/SignedExpiry are written: whole
// seconds, which the SDKs copy into skt/ske and the string-to-sign.
const keyTimeLayout = "2006-01-02T15:04:05Z"

// KeyInfo is a Get User Delegation Key request body.
type KeyInfo struct {
	// Start and Expiry are as sent; Start may be empty ("null indicating
	// an immediate start" in the .NET SDK's GetUserDelegationKey).
	Start, Expiry string
	// DelegatedUserTID is <DelegatedUserTid> (2025-07-05 and later).
	DelegatedUserTID string
}

// errKeyInfoXML is a KeyInfo body that is not the documented document.
var errKeyInfoXML = errors.New("not a KeyInfo document")

// ParseKeyInfo reads a KeyInfo body: one <KeyInfo> root holding at most one
// each of Start, Expiry and DelegatedUserTid as text, and nothing else.
// Whether the values make sense is the handler's business.
func ParseKeyInfo(body []byte) (KeyInfo, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var k KeyInfo
	seen := map[string]bool{}
	depth, root := 0, false
	var cur string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return KeyInfo{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "KeyInfo" && !root:
				root = true
			case depth == 2 && (t.Name.Local == "Start" || t.Name.Local == "Expiry" || t.Name.Local == "DelegatedUserTid") && !seen[t.Name.Local]:
				cur = t.Name.Local
				seen[cur] = true
				text.Reset()
			default:
				return KeyInfo{}, errKeyInfoXML
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return KeyInfo{}, errKeyInfoXML
			}
		case xml.EndElement:
			if depth == 2 {
				v := strings.TrimSpace(text.String())
				switch cur {
				case "Start":
					k.Start = v
				case "Expiry":
					k.Expiry = v
				default:
					k.DelegatedUserTID = v
				}
			}
			depth--
		}
	}
	if !root || k.Expiry == "" {
		return KeyInfo{}, errKeyInfoXML
	}
	return k, nil
}

// parseKeyTime accepts the ISO 8601 forms of SAS times and RFC 3339 with
// an offset, as the SDKs write them.
func parseKeyTime(v string) (time.Time, bool) {
	if t, ok := parseSASTime(v); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// errKeyTime is the answer to a Start or Expiry Azure refuses. Observed on
// Azure for an Expiry more than seven days away (github.com/Azure/azure-sdk-for-net/issues/45789,
// github.com/jschneier/django-storages/issues/1525): 400
// InvalidXmlNodeValue whose XmlNodeName, oddly, repeats the value. The same
// answer for the other time errors is [unverified].
func errKeyTime(value string) *Error {
	return errorf(400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format.", "XmlNodeName", value, "XmlNodeValue", value)
}

// userDelegationKeyXML is the response body.
type userDelegationKeyXML struct {
	XMLName                xml.Name `xml:"UserDelegationKey"`
	SignedOid              string   `xml:"SignedOid"`
	SignedTid              string   `xml:"SignedTid"`
	SignedStart            string   `xml:"SignedStart"`
	SignedExpiry           string   `xml:"SignedExpiry"`
	SignedService          string   `xml:"SignedService"`
	SignedVersion          string   `xml:"SignedVersion"`
	SignedDelegatedUserTid string   `xml:"SignedDelegatedUserTid,omitempty"`
	Value                  string   `xml:"Value"`
}

// GetUserDelegationKey answers with a key for the token's principal.
func (s *Service) GetUserDelegationKey(r *request) reply {
	if r.version < udMinVersion {
		// [unverified] Azure's answer to the operation in an older version.
		return fail(errInvalidHeader("x-ms-version", r.version))
	}
	body, e := readBody(r)
	if e != nil {
		return fail(e)
	}
	ki, err := ParseKeyInfo(body)
	if err != nil || (ki.DelegatedUserTID != "" && r.version < udDelegatedUserVersion) {
		return fail(errInvalidXML())
	}
	now := s.Issuer.Now().UTC().Truncate(time.Second)
	start := now
	if ki.Start != "" {
		t, ok := parseKeyTime(ki.Start)
		// [unverified] how far back Start may be; the SDK docs say both
		// times "must be within 7 days of the current time".
		if !ok || t.After(now.Add(maxKeyLifetime)) || t.Before(now.Add(-maxKeyLifetime)) {
			return fail(errKeyTime(ki.Start))
		}
		start = t.UTC().Truncate(time.Second)
	}
	expiry, ok := parseKeyTime(ki.Expiry)
	if !ok || expiry.After(now.Add(maxKeyLifetime)) || !expiry.After(now) || !expiry.After(start) {
		return fail(errKeyTime(ki.Expiry))
	}
	expiry = expiry.UTC().Truncate(time.Second)
	if ki.DelegatedUserTID != "" && !directory.IsGUID(ki.DelegatedUserTID) {
		return fail(errKeyTime(ki.DelegatedUserTID))
	}
	f := keyFields{OID: r.oid, TID: r.tid, Start: start, Expiry: expiry, Service: "b", Version: r.version, DelegatedUserTID: ki.DelegatedUserTID}
	// Azure starts the document with a byte order mark, as it does its
	// listings (Azure/azure-sdk-for-net
	// sdk/storage/Azure.Storage.Blobs/tests/SessionRecords/ServiceClientTests/GetUserDelegationKey.json).
	return withBOM(xmlReply(userDelegationKeyXML{
		SignedOid: f.OID, SignedTid: f.TID, SignedStart: start.Format(keyTimeLayout), SignedExpiry: expiry.Format(keyTimeLayout),
		SignedService: f.Service, SignedVersion: f.Version, SignedDelegatedUserTid: f.DelegatedUserTID,
		Value: base64.StdEncoding.EncodeToString(delegationKey(r.acct.DelegationSecret, f)),
	}))
}

// keyFields are what a user delegation key is issued for; a SAS repeats
// them as skoid, sktid, skt, ske, sks, skv and skdutid.
type keyFields struct {
	OID, TID         string
	Start, Expiry    time.Time
	Service, Version string
	DelegatedUserTID string
}

// delegationKey is the value of the key issued for f: an HMAC-SHA256 of
// the fields under the account's delegation secret, so the key of any SAS
// can be recomputed from the SAS alone, survives restarts with the
// account's state, and is never stored or logged. Revoke User Delegation
// Keys replaces the secret and so every key at once. GUIDs are
// lower-cased so their case does not change the key.
func delegationKey(secret []byte, f keyFields) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strings.Join([]string{
		strings.ToLower(f.OID), strings.ToLower(f.TID),
		f.Start.UTC().Format(keyTimeLayout), f.Expiry.UTC().Format(keyTimeLayout),
		f.Service, f.Version, strings.ToLower(f.DelegatedUserTID),
	}, "\n")))
	return m.Sum(nil)
}
