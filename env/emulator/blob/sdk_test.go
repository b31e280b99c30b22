package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	sdkblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/miconform/miconform/env/emulator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official Go SDK, as a user would call it, against the emulator: a
// multi-megabyte blob uploaded in blocks (Put Block + Put Block List) and
// read back byte for byte, with each of the three ways in.
func TestOfficialSDK(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	ctx := context.Background()
	rec := &recorder{c: f.c}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: rec, Retry: policy.RetryOptions{MaxRetries: -1}}}
	data := make([]byte, 5<<20+12345) // not a multiple of the block size
	_, _ = rand.Read(data)

	roundTrip := func(t *testing.T, c *azblob.Client, name string) {
		t.Helper()
		before := rec.count("comp=block&")
		_, err := c.UploadStream(ctx, emulator.SeedContainer, name, bytes.NewReader(data), &azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 3})
		require.NoError(t, err)
		assert.Equal(t, 6, rec.count("comp=block&")-before, "Put Block calls for 5 MiB and a bit in 1 MiB blocks")
		resp, err := c.DownloadStream(ctx, emulator.SeedContainer, name, nil)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), "downloaded bytes differ (%d vs %d)", len(got), len(data))
		assert.Equal(t, int64(len(data)), *resp.ContentLength)
		// A range read, as the SDK's parallel download does.
		part, err := c.DownloadStream(ctx, emulator.SeedContainer, name, &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 1 << 20, Count: 100}})
		require.NoError(t, err)
		pb, _ := io.ReadAll(part.Body)
		assert.Equal(t, data[1<<20:1<<20+100], pb)
	}

	t.Run("SharedKey", func(t *testing.T) {
		cred, err := azblob.NewSharedKeyCredential(f.acct, f.key(0))
		require.NoError(t, err)
		c, err := azblob.NewClientWithSharedKeyCredential(f.base, cred, opts)
		require.NoError(t, err)
		roundTrip(t, c, "sdk/shared key.bin")

		// Staged blocks are invisible until committed, then the blob is
		// exactly the committed list in order.
		bb := c.ServiceClient().NewContainerClient(emulator.SeedContainer).NewBlockBlobClient("sdk/blocks")
		ids := []string{blockID(0), blockID(1)}
		_, err = bb.StageBlock(ctx, ids[1], nopCloser("world"), nil)
		require.NoError(t, err)
		_, err = bb.StageBlock(ctx, ids[0], nopCloser("hello "), nil)
		require.NoError(t, err)
		_, err = bb.GetProperties(ctx, nil)
		assert.True(t, bloberror.HasCode(err, bloberror.BlobNotFound), "uncommitted blob visible: %v", err)
		_, err = bb.CommitBlockList(ctx, ids, nil)
		require.NoError(t, err)
		got, err := bb.DownloadStream(ctx, nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(got.Body)
		assert.Equal(t, "hello world", string(b))
		_, err = bb.CommitBlockList(ctx, []string{blockID(7)}, nil)
		assert.True(t, bloberror.HasCode(err, bloberror.InvalidBlockList), "%v", err)

		// Listing sees both blobs under the prefix.
		pager := c.NewListBlobsFlatPager(emulator.SeedContainer, &azblob.ListBlobsFlatOptions{Prefix: ptr("sdk/")})
		var names []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			require.NoError(t, err)
			for _, it := range page.Segment.BlobItems {
				names = append(names, *it.Name)
			}
		}
		assert.Equal(t, []string{"sdk/blocks", "sdk/shared key.bin"}, names)
	})

	t.Run("SAS", func(t *testing.T) {
		u := f.base + emulator.SeedContainer + "?" + f.sas(nil)
		cc, err := container.NewClientWithNoCredential(u, &container.ClientOptions{ClientOptions: opts.ClientOptions})
		require.NoError(t, err)
		_, err = cc.NewBlockBlobClient("sdk/sas.bin").UploadStream(ctx, bytes.NewReader(data), &blockblob.UploadStreamOptions{BlockSize: 1 << 20})
		require.NoError(t, err)
		resp, err := cc.NewBlobClient("sdk/sas.bin").DownloadStream(ctx, nil)
		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		require.True(t, bytes.Equal(data, got))

		// A SAS the SDK signs itself (current version layout) works too.
		cred, err := azblob.NewSharedKeyCredential(f.acct, f.key(1))
		require.NoError(t, err)
		q, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPS, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: emulator.SeedContainer,
			BlobName: "sdk/sas.bin", Permissions: (&sas.BlobPermissions{Read: true}).String(),
		}.SignWithSharedKey(cred)
		require.NoError(t, err)
		bc, err := sdkblob.NewClientWithNoCredential(f.base+emulator.SeedContainer+"/sdk/sas.bin?"+q.Encode(), &sdkblob.ClientOptions{ClientOptions: opts.ClientOptions})
		require.NoError(t, err)
		resp, err = bc.DownloadStream(ctx, nil)
		require.NoError(t, err)
		got, _ = io.ReadAll(resp.Body)
		require.True(t, bytes.Equal(data, got))
	})

	t.Run("TokenFromIMDS", func(t *testing.T) {
		f.grant("Storage Blob Data Contributor", f.vmOID, f.acctID)
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ClientOptions: azcore.ClientOptions{Transport: f.c},
		})
		require.NoError(t, err)
		c, err := azblob.NewClient(f.base, cred, opts)
		require.NoError(t, err)
		roundTrip(t, c, "sdk/token.bin")
		// The seeded hello world.txt reads back as the tutorial wrote it.
		resp, err := c.DownloadStream(ctx, emulator.SeedContainer, emulator.SeedBlob, nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "Hello world!", string(b))
	})
}

func blockID(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("block%03d", i)))
}

func nopCloser(s string) io.ReadSeekCloser { return streaming.NopCloser(strings.NewReader(s)) }

func ptr[T any](v T) *T { return &v }

// recorder is the SDK's transport: it counts requests by query.
type recorder struct {
	c    *http.Client
	mu   sync.Mutex
	urls []string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.RawQuery+"&")
	r.mu.Unlock()
	return r.c.Do(req)
}

func (r *recorder) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.urls {
		if strings.Contains(u, sub) {
			n++
		}
	}
	return n
}
