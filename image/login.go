package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credentials are stored in the docker CLI's config.json (or the
// credential helper it names), so docker, podman, skopeo and edgerun share
// one login.

// DefaultConfigDir is where docker keeps config.json: $DOCKER_CONFIG or
// ~/.docker.
func DefaultConfigDir() string { return config.Dir() }

// registryKey is the config.json key of a registry: Docker Hub's is the
// historical https://index.docker.io/v1/.
func registryKey(server string) (string, name.Registry, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://"), "/")
	s = strings.TrimSuffix(s, "/v1")
	if s == "" || s == "docker.io" || s == name.DefaultRegistry || s == "registry-1.docker.io" {
		reg, err := name.NewRegistry(name.DefaultRegistry)
		return authn.DefaultAuthKey, reg, err
	}
	reg, err := name.NewRegistry(s)
	if err != nil {
		return "", name.Registry{}, fmt.Errorf("invalid registry %q: %w: give host[:port]", server, err)
	}
	return reg.RegistryStr(), reg, nil
}

// Login checks user and password against the registry and, when they are
// accepted, stores them in configDir/config.json (or its credential
// helper). It returns the key the credentials are stored under.
func Login(ctx context.Context, cfg RegistryConfig, configDir, server, user, password string) (string, error) {
	if user == "" || password == "" {
		return "", fmt.Errorf("login needs a user name and a password: pass -u USER and --password-stdin")
	}
	key, reg, err := registryKey(server)
	if err != nil {
		return "", err
	}
	if err := cfg.checkLogin(ctx, reg, &authn.Basic{Username: user, Password: password}); err != nil {
		return "", fmt.Errorf("login to %s: %w", reg.RegistryStr(), err)
	}
	cf, err := config.Load(configDir)
	if err != nil {
		return "", fmt.Errorf("read %s/config.json: %w: fix or move the file", configDir, err)
	}
	ac := types.AuthConfig{ServerAddress: key, Username: user, Password: password}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return "", fmt.Errorf("store credentials for %s: %w", key, err)
	}
	if err := cf.Save(); err != nil {
		return "", fmt.Errorf("save %s: %w", cf.Filename, err)
	}
	return key, nil
}

// checkLogin authenticates against the registry's /v2/ endpoint (through
// the token service when it has one).
func (c *RegistryConfig) checkLogin(ctx context.Context, reg name.Registry, auth authn.Authenticator) error {
	reg, plain, err := c.registry(reg.RegistryStr(), false)
	if err != nil {
		return err
	}
	base, err := c.baseTransport(reg, plain)
	if err != nil {
		return err
	}
	host := reg.RegistryStr()
	rt, err := transport.NewWithContext(ctx, reg, auth, base, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return loginError(c.explainNetError(host, err), host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://%s/v2/", reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return loginError(c.explainNetError(host, err), host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := transport.CheckError(resp, http.StatusOK)
		return loginError(statusError(host, "registry "+host, resp.StatusCode, err), host, err)
	}
	return nil
}

// loginError is explained, unless the registry refused the credentials
// being checked: then it says so (a failed login is not told to log in).
func loginError(explained error, host string, err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		return explained
	}
	return fmt.Errorf("%w: %s refused the user name or password: check them (some registries want an access token "+
		"in place of the password): %w", ErrUnauthorized, host, registrySaid(err))
}

// ErrNotLoggedIn is returned by Logout when there are no credentials.
var ErrNotLoggedIn = errors.New("not logged in")

// Logout removes the stored credentials of a registry.
func Logout(configDir, server string) (string, error) {
	key, _, err := registryKey(server)
	if err != nil {
		return "", err
	}
	cf, err := config.Load(configDir)
	if err != nil {
		return "", fmt.Errorf("read %s/config.json: %w", configDir, err)
	}
	store := cf.GetCredentialsStore(key)
	if ac, err := store.Get(key); err != nil || (ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "") {
		return key, fmt.Errorf("%w to %s", ErrNotLoggedIn, key)
	}
	if err := store.Erase(key); err != nil {
		return "", fmt.Errorf("remove credentials for %s: %w", key, err)
	}
	if err := cf.Save(); err != nil {
		return "", fmt.Errorf("save %s: %w", cf.Filename, err)
	}
	return key, nil
}
