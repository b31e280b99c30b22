//go:build linux

package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// sdkClientEnv makes this test binary, run inside a sandbox, a program
// that uses the official Azure SDK for Go as the tutorials' readers would:
// DefaultAzureCredential with no options but the cloud, default
// transports, no emulator-specific settings.
const sdkClientEnv = "MICONFORM_TEST_SDK_CLIENT"

type sdkClientConfig struct {
	Cloud, BlobURL, Container, Blob, VaultURL, Secret string
}

func init() {
	if v, ok := os.LookupEnv(sdkClientEnv); ok {
		os.Exit(sdkClient(v))
	}
}

// sdkClient downloads the Storage tutorial's blob and reads the Key Vault
// tutorial's secret, printing the blob's text and the secret value's
// SHA-256 (never the value).
func sdkClient(config string) int {
	var c sdkClientConfig
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		return 2
	}
	clouds := map[string]azcloud.Configuration{
		"AzureCloud": azcloud.AzurePublic, "AzureChinaCloud": azcloud.AzureChina, "AzureUSGovernment": azcloud.AzureGovernment,
	}
	opts := policy.ClientOptions{Cloud: clouds[c.Cloud]}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts})
	if err != nil {
		fmt.Fprintln(os.Stderr, "credential:", err)
		return 1
	}
	bc, err := azblob.NewClient(c.BlobURL, cred, &azblob.ClientOptions{ClientOptions: opts})
	if err != nil {
		fmt.Fprintln(os.Stderr, "blob client:", err)
		return 1
	}
	resp, err := bc.DownloadStream(ctx, c.Container, c.Blob, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "download:", err)
		return 1
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "download body:", err)
		return 1
	}
	fmt.Printf("blob: %s\n", text)
	sc, err := azsecrets.NewClient(c.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		fmt.Fprintln(os.Stderr, "secrets client:", err)
		return 1
	}
	s, err := sc.GetSecret(ctx, c.Secret, "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "get secret:", err)
		return 1
	}
	sum := sha256.Sum256([]byte(*s.Value))
	fmt.Printf("secret sha256: %s\n", hex.EncodeToString(sum[:]))
	return 0
}

// A Go program on the VM that uses the official SDK the way Microsoft's
// samples do (DefaultAzureCredential, which ends at the VM's managed
// identity; azblob; azsecrets) reads the Storage tutorial's blob and the
// Key Vault tutorial's secret with nothing pointed at the emulator: the
// sandbox makes 169.254.169.254, the cloud's host names and its CA the
// VM's.
func TestOfficialSDKOnTheVM(t *testing.T) {
	requireSandbox(t)
	for _, name := range []string{"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"} {
		t.Run(name, func(t *testing.T) {
			e := newEmulator(t, name)
			w := e.World
			b, err := json.Marshal(sdkClientConfig{
				Cloud: name, BlobURL: "https://" + w.StorageAccount + ".blob." + e.Cloud.StorageSuffix + "/",
				Container: w.Container, Blob: w.Blob,
				VaultURL: "https://" + w.VaultName + "." + e.Cloud.VaultSuffix + "/", Secret: w.SecretName,
			})
			if err != nil {
				t.Fatal(err)
			}
			out, errb, err := runSelf(t, e, sdkClientEnv+"="+string(b))
			if err != nil {
				t.Fatalf("the program failed: %v\nstderr: %s", err, errb)
			}
			sum := sha256.Sum256([]byte("My Secret"))
			want := "blob: Hello world!\nsecret sha256: " + hex.EncodeToString(sum[:]) + "\n"
			if out != want {
				t.Errorf("output = %q, want %q (stderr %s)", out, want, errb)
			}
		})
	}
}
