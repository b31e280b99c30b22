package blob_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	sdkblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sdkClient is the seeded account through the official SDK with Shared
// Key, as a team pointing its own code at the emulator has it.
func (f *fixture) sdkClient(t *testing.T) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(f.acct, f.key(0))
	require.NoError(t, err)
	c, err := azblob.NewClientWithSharedKeyCredential(f.base, cred, &azblob.ClientOptions{ClientOptions: sdkOpts(f)})
	require.NoError(t, err)
	return c
}

// sdkContainer is the seeded container through sdkClient.
func (f *fixture) sdkContainer(t *testing.T) *container.Client {
	t.Helper()
	return f.sdkClient(t).ServiceClient().NewContainerClient(emulator.SeedContainer)
}

func upload(t *testing.T, bb *blockblob.Client, body string, ac *sdkblob.AccessConditions) error {
	t.Helper()
	_, err := bb.Upload(context.Background(), nopCloser(body), &blockblob.UploadOptions{AccessConditions: ac})
	return err
}

func read(t *testing.T, b *sdkblob.Client) string {
	t.Helper()
	resp, err := b.DownloadStream(context.Background(), nil)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(got)
}

func withLease(id *string) *sdkblob.AccessConditions {
	return &sdkblob.AccessConditions{LeaseAccessConditions: &sdkblob.LeaseAccessConditions{LeaseID: id}}
}

// Leases through the SDK: acquire, writes refused without the id, renew,
// change, break with a period that elapses on the clock, release.
func TestSDKLeases(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ctx := context.Background()
	cc := f.sdkContainer(t)
	bb := cc.NewBlockBlobClient("leased.txt")
	require.NoError(t, upload(t, bb, "v1", nil))

	lc, err := lease.NewBlobClient(bb, nil)
	require.NoError(t, err)
	acq, err := lc.AcquireLease(ctx, 15, nil)
	require.NoError(t, err)
	require.Equal(t, *lc.LeaseID(), *acq.LeaseID)

	props, err := bb.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeLeased, *props.LeaseState)
	assert.Equal(t, lease.StatusTypeLocked, *props.LeaseStatus)
	assert.Equal(t, lease.DurationTypeFixed, *props.LeaseDuration)

	err = upload(t, bb, "v2", nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMissing), "%v", err)
	err = upload(t, bb, "v2", withLease(ptr("00000000-0000-0000-0000-000000000001")))
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMismatchWithBlobOperation), "%v", err)
	_, err = bb.Delete(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMissing), "%v", err)
	assert.Equal(t, "v1", read(t, bb.BlobClient()), "refused writes leave the blob alone")
	require.NoError(t, upload(t, bb, "v2", withLease(lc.LeaseID())))
	props, err = bb.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeLeased, *props.LeaseState, "a write with the lease keeps it")

	// Another client cannot take the lease.
	other, err := lease.NewBlobClient(bb, nil)
	require.NoError(t, err)
	_, err = other.AcquireLease(ctx, 15, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseAlreadyPresent), "%v", err)

	_, err = lc.RenewLease(ctx, nil)
	require.NoError(t, err)
	newID := "6f9c1b1e-1111-4222-8333-944445555666"
	_, err = lc.ChangeLease(ctx, newID, nil)
	require.NoError(t, err)
	assert.Equal(t, newID, *lc.LeaseID())

	// A 10 s break: breaking (still locked) until the clock passes it.
	br, err := lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: ptr(int32(10))})
	require.NoError(t, err)
	assert.Equal(t, int32(10), *br.LeaseTime)
	props, err = bb.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeBreaking, *props.LeaseState)
	_, err = other.AcquireLease(ctx, -1, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIsBreakingAndCannotBeAcquired), "%v", err)
	f.e.Issuer.SetClock(func() time.Time { return time.Now().Add(11 * time.Second) })
	defer f.e.Issuer.SetClock(time.Now)
	props, err = bb.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeBroken, *props.LeaseState)
	assert.Equal(t, lease.StatusTypeUnlocked, *props.LeaseStatus)
	_, err = lc.RenewLease(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIsBrokenAndCannotBeRenewed), "%v", err)
	require.NoError(t, upload(t, bb, "v3", nil), "a broken lease no longer guards the blob")

	// A broken lease can be taken by someone else; an infinite one then
	// lists as such.
	_, err = other.AcquireLease(ctx, -1, nil)
	require.NoError(t, err)
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("leased")})
	page, err := pager.NextPage(ctx)
	require.NoError(t, err)
	require.Len(t, page.Segment.BlobItems, 1)
	p := page.Segment.BlobItems[0].Properties
	assert.Equal(t, lease.StateTypeLeased, *p.LeaseState)
	assert.Equal(t, lease.DurationTypeInfinite, *p.LeaseDuration)
	_, err = lc.ReleaseLease(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMismatchWithLeaseOperation), "%v", err)
	_, err = other.ReleaseLease(ctx, nil)
	require.NoError(t, err)
	_, err = bb.Delete(ctx, nil)
	require.NoError(t, err)

	t.Run("fixed lease expires on the clock", func(t *testing.T) {
		f.e.Issuer.SetClock(time.Now)
		b2 := cc.NewBlockBlobClient("expiring.txt")
		require.NoError(t, upload(t, b2, "x", nil))
		l2, err := lease.NewBlobClient(b2, nil)
		require.NoError(t, err)
		_, err = l2.AcquireLease(ctx, 15, nil)
		require.NoError(t, err)
		f.e.Issuer.SetClock(func() time.Time { return time.Now().Add(16 * time.Second) })
		props, err := b2.GetProperties(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, lease.StateTypeExpired, *props.LeaseState)
		assert.Nil(t, props.LeaseDuration)
		err = upload(t, b2, "y", withLease(l2.LeaseID()))
		assert.True(t, bloberror.HasCode(err, bloberror.LeaseLost), "%v", err)
		_, err = l2.RenewLease(ctx, nil)
		require.NoError(t, err, "an expired lease can be renewed")
		props, err = b2.GetProperties(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, lease.StateTypeLeased, *props.LeaseState)
	})

	t.Run("container lease", func(t *testing.T) {
		f.e.Issuer.SetClock(time.Now)
		c := f.sdkClient(t)
		_, err := c.CreateContainer(ctx, "leased-container", nil)
		require.NoError(t, err)
		lcc, err := lease.NewContainerClient(c.ServiceClient().NewContainerClient("leased-container"), nil)
		require.NoError(t, err)
		_, err = lcc.AcquireLease(ctx, -1, nil)
		require.NoError(t, err)
		cp, err := c.ServiceClient().NewContainerClient("leased-container").GetProperties(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, lease.StateTypeLeased, *cp.LeaseState)
		assert.Equal(t, lease.DurationTypeInfinite, *cp.LeaseDuration)
		_, err = c.DeleteContainer(ctx, "leased-container", nil)
		assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMissing), "%v", err)
		_, err = c.DeleteContainer(ctx, "leased-container", &azblob.DeleteContainerOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: &container.LeaseAccessConditions{LeaseID: ptr("00000000-0000-0000-0000-000000000001")}}})
		assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMismatchWithContainerOperation), "%v", err)
		_, err = c.DeleteContainer(ctx, "leased-container", &azblob.DeleteContainerOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: &container.LeaseAccessConditions{LeaseID: lcc.LeaseID()}}})
		require.NoError(t, err)
	})
}

// Snapshots through the SDK: a snapshot keeps the bytes of its moment,
// lists before its blob, and holds back a plain delete.
func TestSDKSnapshots(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ctx := context.Background()
	cc := f.sdkContainer(t)
	bb := cc.NewBlockBlobClient("snap/doc.txt")
	require.NoError(t, upload(t, bb, "first", nil))
	s1, err := bb.CreateSnapshot(ctx, nil)
	require.NoError(t, err)
	require.NotNil(t, s1.Snapshot)
	_, err = time.Parse("2006-01-02T15:04:05.0000000Z", *s1.Snapshot)
	require.NoError(t, err, "snapshot time %q has Azure's layout", *s1.Snapshot)
	require.NoError(t, upload(t, bb, "second", nil))
	s2, err := bb.CreateSnapshot(ctx, &sdkblob.CreateSnapshotOptions{Metadata: map[string]*string{"Tag": ptr("two")}})
	require.NoError(t, err)
	assert.NotEqual(t, *s1.Snapshot, *s2.Snapshot)
	require.NoError(t, upload(t, bb, "third", nil))

	snap1, err := bb.BlobClient().WithSnapshot(*s1.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, "first", read(t, snap1))
	snap2, err := bb.BlobClient().WithSnapshot(*s2.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, "second", read(t, snap2))
	sp, err := snap2.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "two", *sp.Metadata["Tag"])
	assert.Equal(t, "third", read(t, bb.BlobClient()))

	var got []string
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("snap/"), Include: container.ListBlobsInclude{Snapshots: true}, MaxResults: ptr(int32(1))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, it := range page.Segment.BlobItems {
			s := ""
			if it.Snapshot != nil {
				s = *it.Snapshot
			}
			got = append(got, *it.Name+"@"+s)
		}
	}
	assert.Equal(t, []string{"snap/doc.txt@" + *s1.Snapshot, "snap/doc.txt@" + *s2.Snapshot, "snap/doc.txt@"}, got, "one entry a page, snapshots oldest first, then the blob")

	_, err = bb.Delete(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.SnapshotsPresent), "%v", err)
	_, err = snap1.Delete(ctx, nil)
	require.NoError(t, err)
	_, err = snap1.GetProperties(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.BlobNotFound), "%v", err)
	_, err = bb.Delete(ctx, &sdkblob.DeleteOptions{DeleteSnapshots: ptr(sdkblob.DeleteSnapshotsOptionTypeOnly)})
	require.NoError(t, err)
	assert.Equal(t, "third", read(t, bb.BlobClient()), "only the snapshots went")
	_, err = snap2.GetProperties(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.BlobNotFound), "%v", err)
	_, err = bb.CreateSnapshot(ctx, nil)
	require.NoError(t, err)
	_, err = bb.Delete(ctx, &sdkblob.DeleteOptions{DeleteSnapshots: ptr(sdkblob.DeleteSnapshotsOptionTypeInclude)})
	require.NoError(t, err)
	_, err = bb.GetProperties(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.BlobNotFound), "%v", err)
}

// Append blobs through the SDK: blocks land in order at the offsets the
// service reports, and the position and size conditions hold.
func TestSDKAppendBlobs(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ctx := context.Background()
	cc := f.sdkContainer(t)
	ab := cc.NewAppendBlobClient("log.txt")
	_, err := ab.Create(ctx, nil)
	require.NoError(t, err)
	for i, line := range []string{"one\n", "two\n", "three\n"} {
		r, err := ab.AppendBlock(ctx, nopCloser(line), nil)
		require.NoError(t, err)
		assert.Equal(t, int32(i+1), *r.BlobCommittedBlockCount)
	}
	r, err := ab.AppendBlock(ctx, nopCloser("four\n"), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: ptr(int64(14))}})
	require.NoError(t, err)
	assert.Equal(t, "14", *r.BlobAppendOffset)
	_, err = ab.AppendBlock(ctx, nopCloser("x"), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: ptr(int64(3))}})
	assert.True(t, bloberror.HasCode(err, bloberror.AppendPositionConditionNotMet), "%v", err)
	_, err = ab.AppendBlock(ctx, nopCloser("x"), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: ptr(int64(19))}})
	assert.True(t, bloberror.HasCode(err, bloberror.MaxBlobSizeConditionNotMet), "%v", err)
	assert.Equal(t, "one\ntwo\nthree\nfour\n", read(t, ab.BlobClient()))
	props, err := ab.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, sdkblob.BlobTypeAppendBlob, *props.BlobType)
	assert.Equal(t, int32(4), *props.BlobCommittedBlockCount)

	// Block blob operations on an append blob, and the reverse.
	_, err = cc.NewBlockBlobClient("log.txt").StageBlock(ctx, blockID(0), nopCloser("x"), nil)
	assert.True(t, bloberror.HasCode(err, bloberror.InvalidBlobType), "%v", err)
	_, err = cc.NewBlockBlobClient("log.txt").CommitBlockList(ctx, nil, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.InvalidBlobType), "%v", err)
	_, err = cc.NewAppendBlobClient(emulator.SeedBlob).AppendBlock(ctx, nopCloser("x"), nil)
	assert.True(t, bloberror.HasCode(err, bloberror.InvalidBlobType), "%v", err)
	assert.Equal(t, "one\ntwo\nthree\nfour\n", read(t, ab.BlobClient()))

	// A snapshot of an append blob keeps its length while it grows.
	sn, err := ab.CreateSnapshot(ctx, nil)
	require.NoError(t, err)
	_, err = ab.AppendBlock(ctx, nopCloser("five\n"), nil)
	require.NoError(t, err)
	old, err := ab.BlobClient().WithSnapshot(*sn.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\nthree\nfour\n", read(t, old))
	assert.Equal(t, "one\ntwo\nthree\nfour\nfive\n", read(t, ab.BlobClient()))
}

// The refusals, request by request: exact status and code, and the blob
// unchanged after each.
func TestLeaseSnapshotAppendRefusals(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	sas := f.sas(map[string]any{"signedPermission": "racwdl"})
	u := func(name, q string) string { return withSAS(f.blobURL(name), sas) + q }
	put := func(name, q string, body string, kv ...string) res {
		return f.do("PUT", u(name, q), hdr(append([]string{"x-ms-version", "2021-08-06"}, kv...)...), []byte(body))
	}
	require.Equal(t, 201, put("t.txt", "", "base", "x-ms-blob-type", "BlockBlob").status)
	acq := put("t.txt", "&comp=lease", "", "x-ms-lease-action", "acquire", "x-ms-lease-duration", "-1")
	require.Equal(t, 201, acq.status, string(acq.body))
	id := acq.header.Get("x-ms-lease-id")
	require.Equal(t, 201, put("a.log", "", "", "x-ms-blob-type", "AppendBlob").status)
	other := "11111111-2222-3333-4444-555555555555"

	for _, tc := range []struct {
		name, method, blob, query string
		body                      string
		kv                        []string
		status                    int
		code                      string
	}{
		{"lease action missing", "PUT", "t.txt", "&comp=lease", "", nil, 400, "MissingRequiredHeader"},
		{"lease action unknown", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "steal"}, 400, "InvalidHeaderValue"},
		{"duration missing", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "acquire"}, 400, "MissingRequiredHeader"},
		{"duration too short", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "acquire", "x-ms-lease-duration", "14"}, 400, "InvalidHeaderValue"},
		{"duration too long", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "acquire", "x-ms-lease-duration", "61"}, 400, "InvalidHeaderValue"},
		{"lease id not a GUID", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "renew", "x-ms-lease-id", "abc"}, 400, "InvalidHeaderValue"},
		{"break period too long", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "break", "x-ms-lease-break-period", "61"}, 400, "InvalidHeaderValue"},
		{"change without proposed id", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "change", "x-ms-lease-id", id}, 400, "MissingRequiredHeader"},
		{"acquire taken lease", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "acquire", "x-ms-lease-duration", "15", "x-ms-proposed-lease-id", other}, 409, "LeaseAlreadyPresent"},
		{"renew other id", "PUT", "t.txt", "&comp=lease", "", []string{"x-ms-lease-action", "renew", "x-ms-lease-id", other}, 409, "LeaseIdMismatchWithLeaseOperation"},
		{"release unleased", "PUT", "a.log", "&comp=lease", "", []string{"x-ms-lease-action", "release", "x-ms-lease-id", other}, 409, "LeaseNotPresentWithLeaseOperation"},
		{"break unleased", "PUT", "a.log", "&comp=lease", "", []string{"x-ms-lease-action", "break"}, 409, "LeaseNotPresentWithLeaseOperation"},
		{"lease missing blob", "PUT", "nope", "&comp=lease", "", []string{"x-ms-lease-action", "acquire", "x-ms-lease-duration", "15"}, 404, "BlobNotFound"},
		{"write without lease", "PUT", "t.txt", "", "x", []string{"x-ms-blob-type", "BlockBlob"}, 412, "LeaseIdMissing"},
		{"write other lease", "PUT", "t.txt", "", "x", []string{"x-ms-blob-type", "BlockBlob", "x-ms-lease-id", other}, 412, "LeaseIdMismatchWithBlobOperation"},
		{"stage without lease", "PUT", "t.txt", "&comp=block&blockid=AAAA", "x", nil, 412, "LeaseIdMissing"},
		{"delete without lease", "DELETE", "t.txt", "", "", nil, 412, "LeaseIdMissing"},
		{"lease id on unleased write", "PUT", "a.log", "&comp=appendblock", "x", []string{"x-ms-lease-id", other}, 412, "LeaseNotPresentWithBlobOperation"},
		{"read with other lease", "GET", "t.txt", "", "", []string{"x-ms-lease-id", other}, 412, "LeaseIdMismatchWithBlobOperation"},
		{"bad delete-snapshots", "DELETE", "t.txt", "", "", []string{"x-ms-lease-id", id, "x-ms-delete-snapshots", "all"}, 400, "InvalidHeaderValue"},
		{"bad snapshot time", "GET", "t.txt", "&snapshot=yesterday", "", nil, 400, "InvalidQueryParameterValue"},
		{"unknown snapshot", "GET", "t.txt", "&snapshot=2020-01-01T00:00:00.0000000Z", "", nil, 404, "BlobNotFound"},
		{"write to a snapshot", "PUT", "t.txt", "&snapshot=2020-01-01T00:00:00.0000000Z", "x", []string{"x-ms-blob-type", "BlockBlob"}, 400, "InvalidQueryParameterValue"},
		{"snapshot missing blob", "PUT", "nope", "&comp=snapshot", "", nil, 404, "BlobNotFound"},
		{"snapshot if-match", "PUT", "t.txt", "&comp=snapshot", "", []string{"If-Match", `"0x1"`}, 412, "ConditionNotMet"},
		{"list include unknown", "GET", "", "restype=container&comp=list&include=everything", "", nil, 400, "InvalidQueryParameterValue"},
		{"append to block blob", "PUT", emulator.SeedBlob, "&comp=appendblock", "x", nil, 409, "InvalidBlobType"},
		{"append to missing blob", "PUT", "nope", "&comp=appendblock", "x", nil, 404, "BlobNotFound"},
		{"append bad position", "PUT", "a.log", "&comp=appendblock", "x", []string{"x-ms-blob-condition-appendpos", "-1"}, 400, "InvalidHeaderValue"},
		{"append wrong position", "PUT", "a.log", "&comp=appendblock", "x", []string{"x-ms-blob-condition-appendpos", "5"}, 412, "AppendPositionConditionNotMet"},
		{"append over max size", "PUT", "a.log", "&comp=appendblock", "xy", []string{"x-ms-blob-condition-maxsize", "1"}, 412, "MaxBlobSizeConditionNotMet"},
		{"append empty", "PUT", "a.log", "&comp=appendblock", "", nil, 400, "InvalidHeaderValue"},
		{"append old version", "PUT", "a.log", "&comp=appendblock", "x", []string{"x-ms-version", "2015-02-21", "x-ms-version", "2014-02-14"}, 409, "FeatureVersionMismatch"},
		{"append blob with body", "PUT", "b.log", "", "x", []string{"x-ms-blob-type", "AppendBlob"}, 400, "InvalidHeaderValue"},
		{"block list on append blob", "PUT", "a.log", "&comp=blocklist", "<BlockList></BlockList>", nil, 409, "InvalidBlobType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := u(tc.blob, tc.query)
			if tc.blob == "" {
				target = withSAS(f.base+emulator.SeedContainer+"?"+tc.query, sas)
			}
			var body []byte
			if tc.method == "PUT" {
				body = []byte(tc.body)
			}
			r := f.do(tc.method, target, hdr(append([]string{"x-ms-version", "2021-08-06"}, tc.kv...)...), body)
			assert.Equal(t, tc.status, r.status, string(r.body))
			assert.Equal(t, tc.code, r.code())
			if tc.method != "HEAD" {
				r.xmlErr(t)
			}
		})
	}
	g := f.do("GET", u("t.txt", ""), hdr("x-ms-version", "2021-08-06"), nil)
	assert.Equal(t, "base", string(g.body))
	assert.Equal(t, "locked", g.header.Get("x-ms-lease-status"))
	g = f.do("GET", u("a.log", ""), hdr("x-ms-version", "2021-08-06"), nil)
	assert.Equal(t, "", string(g.body))
	assert.Equal(t, "0", g.header.Get("x-ms-blob-committed-block-count"))
	assert.Equal(t, 404, f.do("GET", u("b.log", ""), hdr("x-ms-version", "2021-08-06"), nil).status)
}

// What each new operation needs: RBAC data actions for a token, SAS
// permission letters for a SAS.
func TestLeaseSnapshotAppendAuthorization(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	full := f.sas(map[string]any{"signedPermission": "racwdl"})
	v := hdr("x-ms-version", "2021-08-06", "x-ms-blob-type", "AppendBlob")
	require.Equal(t, 201, f.do("PUT", withSAS(f.blobURL("auth.log"), full), v, nil).status)
	appendURL := f.blobURL("auth.log") + "?comp=appendblock"
	leaseH := hdr("x-ms-version", "2021-08-06", "x-ms-lease-action", "acquire", "x-ms-lease-duration", "15")

	// SAS: a or w appends; c or w snapshots; w leases; d alone cannot.
	for perm, want := range map[string]int{"a": 201, "w": 201, "r": 403, "c": 403} {
		r := f.do("PUT", withSAS(appendURL, f.sas(map[string]any{"signedPermission": perm})), hdr("x-ms-version", "2021-08-06"), []byte("x"))
		assert.Equal(t, want, r.status, "append with sp=%s: %s", perm, r.body)
	}
	for perm, want := range map[string]int{"c": 201, "w": 201, "r": 403, "a": 403} {
		r := f.do("PUT", withSAS(f.blobURL("auth.log")+"?comp=snapshot", f.sas(map[string]any{"signedPermission": perm})), hdr("x-ms-version", "2021-08-06"), nil)
		assert.Equal(t, want, r.status, "snapshot with sp=%s: %s", perm, r.body)
	}
	r := f.do("PUT", withSAS(f.blobURL("auth.log")+"?comp=lease", f.sas(map[string]any{"signedPermission": "d"})), leaseH, nil)
	assert.Equal(t, "AuthorizationPermissionMismatch", r.code())
	r = f.do("PUT", withSAS(f.blobURL("auth.log")+"?comp=lease", f.sas(map[string]any{"signedPermission": "w"})), leaseH, nil)
	require.Equal(t, 201, r.status, string(r.body))
	// Breaking needs w or, from SAS version 2017-07-29, d: Resource
	// Manager signs 2015-04-05 SASes, where d is not enough.
	brk := hdr("x-ms-version", "2021-08-06", "x-ms-lease-action", "break", "x-ms-lease-break-period", "0")
	r = f.do("PUT", withSAS(f.blobURL("auth.log")+"?comp=lease", f.sas(map[string]any{"signedPermission": "d"})), brk, nil)
	assert.Equal(t, "AuthorizationPermissionMismatch", r.code())
	cred, err := azblob.NewSharedKeyCredential(f.acct, f.key(0))
	require.NoError(t, err)
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPS, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: emulator.SeedContainer,
		Permissions: (&sas.ContainerPermissions{Delete: true}).String(),
	}.SignWithSharedKey(cred)
	require.NoError(t, err)
	r = f.do("PUT", withSAS(f.blobURL("auth.log")+"?comp=lease", q.Encode()), brk, nil)
	assert.Equal(t, 202, r.status, string(r.body))
	assert.Equal(t, "0", r.header.Get("x-ms-lease-time"))
	// A service SAS cannot lease a container.
	r = f.do("PUT", withSAS(f.base+emulator.SeedContainer+"?restype=container&comp=lease", full), leaseH, nil)
	assert.Equal(t, "AuthorizationPermissionMismatch", r.code())

	// RBAC: a reader can do none of it; a contributor all of it.
	tok := f.vmToken("https://storage.azure.com/")
	bh := func(kv ...string) http.Header {
		h := bearer(tok, "2021-08-06")
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	// The seeded world makes the VM a Storage Blob Data Reader.
	assert.Equal(t, "AuthorizationPermissionMismatch", f.do("PUT", appendURL, bh(), []byte("x")).code())
	assert.Equal(t, "AuthorizationPermissionMismatch", f.do("PUT", f.blobURL("auth.log")+"?comp=snapshot", bh(), nil).code())
	assert.Equal(t, "AuthorizationPermissionMismatch", f.do("PUT", f.blobURL("auth.log")+"?comp=lease", bh("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15"), nil).code())
	f.grant("Storage Blob Data Contributor", f.vmOID, f.acctID+"/blobServices/default/containers/"+emulator.SeedContainer)
	assert.Equal(t, 201, f.do("PUT", appendURL, bh(), []byte("x")).status)
	assert.Equal(t, 201, f.do("PUT", f.blobURL("auth.log")+"?comp=snapshot", bh(), nil).status)
	assert.Equal(t, 201, f.do("PUT", f.blobURL("auth.log")+"?comp=lease", bh("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15"), nil).status)
	assert.Equal(t, 201, f.do("PUT", f.base+emulator.SeedContainer+"?restype=container&comp=lease", bh("x-ms-lease-action", "acquire", "x-ms-lease-duration", "15"), nil).status)
	r = f.do("DELETE", f.blobURL("auth.log"), bh("x-ms-delete-snapshots", "include", "x-ms-lease-id", "00000000-0000-0000-0000-000000000000"), nil)
	assert.Equal(t, "LeaseIdMismatchWithBlobOperation", r.code(), "authorized, then refused by the lease")
}

// Leases, snapshots and appended blocks outlive a restart with a state
// directory, and a lease's expiry still runs on the clock after it.
func TestLeaseSnapshotAppendSurviveRestart(t *testing.T) {
	dir := winetest.TempDir(t)
	start := func() *fixture {
		return startFixture(t, emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
	}
	ctx := context.Background()
	f := start()
	cc := f.sdkContainer(t)
	bb := cc.NewBlockBlobClient("kept.txt")
	require.NoError(t, upload(t, bb, "before", nil))
	sn, err := bb.CreateSnapshot(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, upload(t, bb, "after", nil))
	lc, err := lease.NewBlobClient(bb, nil)
	require.NoError(t, err)
	_, err = lc.AcquireLease(ctx, 60, nil)
	require.NoError(t, err)
	ab := cc.NewAppendBlobClient("kept.log")
	_, err = ab.Create(ctx, nil)
	require.NoError(t, err)
	for _, s := range []string{"a", "b", "c"} {
		_, err = ab.AppendBlock(ctx, nopCloser(s), nil)
		require.NoError(t, err)
	}
	gone, err := ab.CreateSnapshot(ctx, nil)
	require.NoError(t, err)
	_, err = ab.Delete(ctx, &sdkblob.DeleteOptions{DeleteSnapshots: ptr(sdkblob.DeleteSnapshotsOptionTypeOnly)})
	require.NoError(t, err)
	_, err = ab.AppendBlock(ctx, nopCloser("d"), nil)
	require.NoError(t, err)
	before, err := ab.GetProperties(ctx, nil)
	require.NoError(t, err)
	cl, err := lease.NewContainerClient(cc, nil)
	require.NoError(t, err)
	_, err = cl.AcquireLease(ctx, -1, nil)
	require.NoError(t, err)
	f.close()

	f = start()
	defer f.close()
	cc = f.sdkContainer(t)
	bb = cc.NewBlockBlobClient("kept.txt")
	snap, err := bb.BlobClient().WithSnapshot(*sn.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, "before", read(t, snap))
	assert.Equal(t, "after", read(t, bb.BlobClient()))
	err = upload(t, bb, "x", nil)
	assert.True(t, bloberror.HasCode(err, bloberror.LeaseIDMissing), "the lease survived: %v", err)
	require.NoError(t, upload(t, bb, "x", withLease(lc.LeaseID())))
	f.e.Issuer.SetClock(func() time.Time { return time.Now().Add(61 * time.Second) })
	props, err := bb.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeExpired, *props.LeaseState)
	f.e.Issuer.SetClock(time.Now)

	ab = cc.NewAppendBlobClient("kept.log")
	assert.Equal(t, "abcd", read(t, ab.BlobClient()))
	after, err := ab.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, int32(4), *after.BlobCommittedBlockCount)
	assert.Equal(t, *before.ETag, *after.ETag)
	old, err := ab.BlobClient().WithSnapshot(*gone.Snapshot)
	require.NoError(t, err)
	_, err = old.GetProperties(ctx, nil)
	assert.True(t, bloberror.HasCode(err, bloberror.BlobNotFound), "the deleted snapshot stayed deleted: %v", err)
	r, err := ab.AppendBlock(ctx, nopCloser("e"), nil)
	require.NoError(t, err)
	assert.Equal(t, "4", *r.BlobAppendOffset)
	cp, err := cc.GetProperties(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, lease.StateTypeLeased, *cp.LeaseState)

	// The list shows the snapshot's entry beside its blob, from the log.
	lr := f.do("GET", withSAS(f.base+emulator.SeedContainer+"?restype=container&comp=list&include=snapshots&prefix=kept", f.sas(map[string]any{"signedPermission": "l"})), hdr("x-ms-version", "2021-08-06"), nil)
	require.Equal(t, 200, lr.status, string(lr.body))
	var list struct {
		Blobs []struct {
			Name     string `xml:"Name"`
			Snapshot string `xml:"Snapshot"`
		} `xml:"Blobs>Blob"`
	}
	require.NoError(t, xml.Unmarshal(lr.body, &list))
	var names []string
	for _, b := range list.Blobs {
		names = append(names, strings.TrimSuffix(b.Name+"@"+b.Snapshot, "@"))
	}
	assert.Equal(t, []string{"kept.log", "kept.txt@" + *sn.Snapshot, "kept.txt"}, names)
}
