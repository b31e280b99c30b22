package blob

import (
	"net/http"
	"time"
)

// snapshotParam reads ?snapshot=, a DateTime naming one snapshot, in the
// form snapshots are stored under.
// https://learn.microsoft.com/rest/api/storageservices/get-blob#uri-parameters
func snapshotParam(r *request) (string, *Error) {
	v := r.q.Get("snapshot")
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return "", errInvalidQuery("snapshot", v, "")
	}
	return t.UTC().Format(snapshotLayout), nil
}

// SnapshotBlob: https://learn.microsoft.com/rest/api/storageservices/snapshot-blob
// The snapshot keeps the blob's properties, data and ETag; x-ms-meta-*
// headers, when sent, replace its metadata. x-ms-lease-id is optional:
// when given, the blob's lease must be active and match.
func (s *Service) SnapshotBlob(r *request) reply {
	id, e := leaseHeader(r.Header, "x-ms-lease-id")
	if e != nil {
		return fail(e)
	}
	var meta map[string]string
	if m := metadata(r.Header); len(m) > 0 {
		meta = m
	}
	now := s.Issuer.Now()
	sn, err := s.Store.Snapshot(r.acct.Name, r.container, r.blob, meta, func(b *Blob) error {
		if e := ifConditions(r, *b); e != nil {
			return e
		}
		if id != "" {
			if e := checkLease(b.Lease, id, now, "Blob"); e != nil {
				return e
			}
		}
		return nil
	})
	if err != nil {
		return fail(storeError(err))
	}
	// x-ms-request-server-encrypted is false: the snapshot wrote no data
	// (Azure/azure-sdk-for-js
	// sdk/storage/storage-blob/recordings/node/blobclient/recording_createsnapshot.json).
	return reply{status: 201, header: http.Header{
		"ETag": {sn.ETag}, "Last-Modified": {httpTime(sn.LastModified)}, "x-ms-snapshot": {sn.Snapshot},
		"x-ms-request-server-encrypted": {"false"},
	}}
}
