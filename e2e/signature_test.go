package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// The signature policy against real signers (docs/security.md, "Signature
// policy"). Each signer signs one image in a loopback docker-registry with a
// key the test made in cosign's encrypted format; edgerun must accept the
// image, and refuse it with a tampered signature, with another key, unsigned,
// with a signature of another manifest and under a name the signature does
// not give.
//
// The signers:
//   - skopeo copy --sign-by-sigstore-private-key, with a registries.d file
//     setting use-sigstore-attachments for the registry. Debian bookworm's
//     skopeo 1.9.3 is built with sigstore signing disabled (Debian's
//     disable-sigstore.patch: "creating signature: Debian-local change:
//     sigstore disabled"), so there this subtest skips, saying so; a skopeo
//     that can sign runs it.
//   - cosign sign --key (cosign v2, pinned in hack/cosign/go.mod and built by
//     make sigstore-deps into out/tools; EDGERUN_TEST_COSIGN names it), with
//     no transparency log: cosign is the reference of the format.

const sigPassword = "edgerun-test-passphrase"

// cosignKey writes an ECDSA P-256 key pair as cosign does: the private key
// PKCS #8, encrypted with go-tuf's scheme (scrypt N=32768 r=8 p=1, 32-byte
// salt; nacl/secretbox, 24-byte nonce) in a PEM block of type typ, and the
// PEM public key. It returns the paths of both.
func cosignKey(t *testing.T, dir, name, typ string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 32)
	var nonce [24]byte
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatal(err)
	}
	kk, err := scrypt.Key([]byte(sigPassword), salt, 32768, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	var box [32]byte
	copy(box[:], kk)
	enc, err := json.Marshal(map[string]any{
		"kdf":        map[string]any{"name": "scrypt", "params": map[string]int{"N": 32768, "r": 8, "p": 1}, "salt": salt},
		"cipher":     map[string]any{"name": "nacl/secretbox", "nonce": nonce[:]},
		"ciphertext": secretbox.Seal(nil, der, &nonce, &box),
	})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	writeFile(t, priv, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: enc})))
	writeFile(t, pub, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
	return priv, pub
}

// signer signs the image of the test layout busybox as ref (host/repo:tag)
// in the registry, or skips the test saying why it cannot.
type signer func(t *testing.T, reg *registry, dir, key, ref string)

// skopeoSign copies and signs in one step.
func skopeoSign(t *testing.T, reg *registry, dir, key, ref string) {
	regd := filepath.Join(dir, "registries.d")
	if err := os.MkdirAll(regd, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(regd, "edgerun-test.yaml"),
		fmt.Sprintf("docker:\n  %s:\n    use-sigstore-attachments: true\n", reg.host))
	pass := filepath.Join(dir, "passphrase")
	writeFile(t, pass, sigPassword)
	out, err := exec.Command("skopeo", "--registries.d", regd, "copy", "-q", "--dest-tls-verify=false",
		"--sign-by-sigstore-private-key", key, "--sign-passphrase-file", pass,
		"oci:"+imagePath(t, "busybox"), "docker://"+ref).CombinedOutput()
	if bytes.Contains(out, []byte("sigstore disabled")) {
		t.Skipf("this skopeo cannot make sigstore signatures (Debian's disable-sigstore.patch): %s", bytes.TrimSpace(out))
	}
	if err != nil {
		t.Fatalf("skopeo copy --sign-by-sigstore-private-key: %v\n%s", err, out)
	}
}

// cosignSign pushes unsigned with skopeo, then signs the pushed digest.
func cosignSign(t *testing.T, reg *registry, dir, key, ref string) {
	bin := os.Getenv("EDGERUN_TEST_COSIGN")
	if bin == "" {
		t.Skip("EDGERUN_TEST_COSIGN is not set: make sigstore-deps builds cosign, make test sets it")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("cosign is missing (%v): run make sigstore-deps", err)
	}
	tool(t, "", "skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:"+imagePath(t, "busybox"), "docker://"+ref)
	i := strings.LastIndexByte(ref, ':')
	name, tag := ref[:i], ref[i+1:]
	dg := reg.manifestDigest(t, strings.TrimPrefix(name, reg.host+"/"), tag)
	cmd := exec.Command(bin, "sign", "--key", key, "--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry",
		"-y", name+"@"+dg)
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+sigPassword, "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
}

func TestSignaturePolicyInterop(t *testing.T) {
	for _, s := range []struct {
		name string
		sign signer
		typ  string
	}{
		{"skopeo", skopeoSign, "ENCRYPTED COSIGN PRIVATE KEY"},
		{"cosign", cosignSign, "ENCRYPTED SIGSTORE PRIVATE KEY"},
	} {
		t.Run(s.name, func(t *testing.T) { signaturePolicyInterop(t, s.sign, s.typ) })
	}
}

func signaturePolicyInterop(t *testing.T, sign signer, keyType string) {
	e := newEnv(t)
	reg := startDockerRegistry(t)
	dir := t.TempDir()
	key, pub := cosignKey(t, dir, "fleet", keyType)
	_, otherPub := cosignKey(t, dir, "other", keyType)
	ref := reg.host + "/fleet/busybox:1"
	sign(t, reg, dir, key, ref)
	dg := reg.manifestDigest(t, "fleet/busybox", "1")
	sigTag := strings.Replace(dg, ":", "-", 1) + ".sig"

	// cosign signs the repository (its docker-reference has no tag),
	// skopeo the reference it pushed: matchRepository accepts both.
	policy := func(name, keyPath, identity string) string {
		p := filepath.Join(dir, name+".json")
		writeFile(t, p, fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"sigstoreSigned","keyPath":%q%s}]}}}`,
			reg.host+"/fleet", keyPath, identity))
		return p
	}
	byRepo := `,"signedIdentity":{"type":"matchRepository"}`
	fleet, other, byDigest := policy("fleet", pub, byRepo), policy("other", otherPub, byRepo), policy("digest", pub, "")
	scope := fmt.Sprintf(`(transports.docker["%s/fleet"], sigstoreSigned)`, reg.host)

	// Unsigned, under another name in the same scope.
	unsigned := reg.push(t, "busybox", "fleet/unsigned:1")
	// The same manifest and its signature in another repository.
	copied := reg.host + "/fleet/copy:1"
	tool(t, "", "skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"+ref, "docker://"+copied)
	reg.copyManifest(t, "fleet/busybox", sigTag, "fleet/copy", sigTag, nil)
	// Another manifest (sensor, a multi-arch index) given busybox's signature.
	moved := reg.push(t, "sensor", "fleet/busybox:moved")
	movedDigest := reg.manifestDigest(t, "fleet/busybox", "moved")
	reg.copyManifest(t, "fleet/busybox", sigTag, "fleet/busybox", strings.Replace(movedDigest, ":", "-", 1)+".sig", nil)

	refuse := func(policy, img, want string) {
		t.Helper()
		r := e.run("--signature-policy", policy, "pull", img)
		wantPrefix := fmt.Sprintf("edgerun: image %s refused by %s %s: ", img, policy, scope)
		if r.code == 0 || !strings.Contains(r.stderr, wantPrefix) || !strings.Contains(r.stderr, want) ||
			!strings.Contains(r.stderr, "sign it or change the policy") {
			t.Errorf("pull %s under %s: %s\nwant a failure saying %q ... %q", img, policy, r, wantPrefix, want)
		}
	}
	refuse(other, ref, "no signature verifies with the key "+otherPub)
	refuse(fleet, unsigned, "no signature: the image carries no sigstore signature to verify with key "+pub)
	refuse(fleet, copied, "signed identity does not match: the signature is for "+reg.host+"/fleet/busybox")
	refuse(fleet, moved, "signed manifest digest does not match the image: the signature is for manifest "+dg+", the image is "+movedDigest)
	if names := e.imageNames(); len(names) != 0 {
		t.Fatalf("refused pulls left images named %v", names)
	}

	// Accepted: pull, and run --pull=always by digest under the default
	// identity rule (matchRepoDigestOrExact: by digest, the repository).
	if r := e.run("--signature-policy", fleet, "pull", ref); r.code != 0 {
		t.Fatalf("pull of the signed image: %s", r)
	}
	if r := e.run("--signature-policy", byDigest, "run", "--rm", "--pull=always", reg.host+"/fleet/busybox@"+dg, "true"); r.code != 0 {
		t.Fatalf("run --pull=always of the signed image by digest: %s", r)
	}

	// Tampered: the signature annotation with one byte of the signature flipped.
	reg.copyManifest(t, "fleet/busybox", sigTag, "fleet/busybox", sigTag, func(m map[string]any) {
		for _, l := range m["layers"].([]any) {
			ann := l.(map[string]any)["annotations"].(map[string]any)
			sig, err := base64.StdEncoding.DecodeString(ann["dev.cosignproject.cosign/signature"].(string))
			if err != nil {
				t.Fatal(err)
			}
			sig[len(sig)/2] ^= 1
			ann["dev.cosignproject.cosign/signature"] = base64.StdEncoding.EncodeToString(sig)
		}
	})
	r := e.run("--signature-policy", fleet, "run", "--rm", "--pull=always", ref, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "no signature verifies with the key "+pub) {
		t.Errorf("run --pull=always with a tampered signature: %s", r)
	}
	// load follows the rule for unsigned input: reject here.
	r = e.run("--signature-policy", fleet, "load", "-i", imagePath(t, "busybox"))
	if r.code == 0 || !strings.Contains(r.stderr, "(default, reject): the policy rejects every image here") {
		t.Errorf("load under a reject default: %s", r)
	}
}

// manifestDigest is the digest of repo:tag as the registry serves it.
func (r *registry) manifestDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+r.host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "+
		"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || d == "" {
		t.Fatalf("HEAD %s:%s: %s, digest %q", repo, tag, resp.Status, d)
	}
	return d
}

// copyManifest puts the manifest of repo:tag as dstRepo:dstTag, changed by
// edit when it is not nil (the blobs stay where they are: same repository).
func (r *registry) copyManifest(t *testing.T, repo, tag, dstRepo, dstTag string, edit func(map[string]any)) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+r.host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s:%s: %v %s", repo, tag, err, resp.Status)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if body, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	if dstRepo != repo {
		r.mountBlobs(t, repo, dstRepo, body)
	}
	put, err := http.NewRequest(http.MethodPut, "http://"+r.host+"/v2/"+dstRepo+"/manifests/"+dstTag, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	put.Header.Set("Content-Type", resp.Header.Get("Content-Type"))
	presp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s:%s: %s", dstRepo, dstTag, presp.Status)
	}
}

// mountBlobs mounts the config and layers of manifest m from repo into
// dstRepo (the registry API's cross-repository mount).
func (r *registry) mountBlobs(t *testing.T, repo, dstRepo string, m []byte) {
	t.Helper()
	var man struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(m, &man); err != nil {
		t.Fatal(err)
	}
	ds := []string{man.Config.Digest}
	for _, l := range man.Layers {
		ds = append(ds, l.Digest)
	}
	for _, d := range ds {
		resp, err := http.Post("http://"+r.host+"/v2/"+dstRepo+"/blobs/uploads/?mount="+d+"&from="+repo, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("mount %s from %s into %s: %s", d, repo, dstRepo, resp.Status)
		}
	}
}
