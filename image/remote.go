package image

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RegistryConfig says how registries are reached.
type RegistryConfig struct {
	// Insecure lists registries (host[:port]) spoken to over plain HTTP.
	// Loopback registries (localhost, 127.0.0.0/8, ::1) always may be.
	Insecure []string
	// Mirrors are tried in order before Docker Hub for docker.io images:
	// host[:port], or a URL whose scheme says http or https.
	Mirrors []string
	// CAFile is a PEM bundle trusted beside the system roots (--tls-ca).
	CAFile string
	// Keychain finds credentials; nil means ~/.docker/config.json and its
	// credential helpers (authn.DefaultKeychain).
	Keychain authn.Keychain
	// Transport replaces the HTTP transport (tests); CAFile applies to it
	// when it is an *http.Transport.
	Transport http.RoundTripper
	// ClockFloor is a time the system clock cannot really be before (the
	// build's commit time); zero means the start of 2026.
	ClockFloor time.Time
}

// endpoint is one place an image can be fetched from.
type endpoint struct {
	reg    name.Registry
	repo   name.Repository // the repository at this endpoint
	mirror bool
	plain  bool // plain HTTP is allowed (see registry)
}

// endpoints lists where ref's repository is fetched from, mirrors first.
func (c *RegistryConfig) endpoints(repo name.Repository) ([]endpoint, error) {
	var out []endpoint
	if repo.RegistryStr() == name.DefaultRegistry {
		for _, m := range c.Mirrors {
			host, plain, err := parseMirror(m)
			if err != nil {
				return nil, err
			}
			reg, plain, err := c.registry(host, plain)
			if err != nil {
				return nil, fmt.Errorf("registry mirror %q: %w", m, err)
			}
			out = append(out, endpoint{reg: reg, repo: reg.Repo(repo.RepositoryStr()), mirror: true, plain: plain})
		}
	}
	reg, plain, err := c.registry(repo.RegistryStr(), false)
	if err != nil {
		return nil, err
	}
	return append(out, endpoint{reg: reg, repo: reg.Repo(repo.RepositoryStr()), plain: plain}), nil
}

func parseMirror(m string) (host string, plain bool, err error) {
	if !strings.Contains(m, "://") {
		return strings.TrimSuffix(m, "/"), false, nil
	}
	u, err := url.Parse(m)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("registry mirror %q: use host[:port] or http(s)://host[:port]", m)
	}
	return u.Host, u.Scheme == "http", nil
}

// registry makes a name.Registry and says whether plain HTTP to it is
// allowed: our decision (an http:// mirror, loopback, --insecure-registry),
// not the Registry's Scheme, which go-containerregistry also makes "http"
// for RFC 1918 addresses and .local names.
func (c *RegistryConfig) registry(host string, plain bool) (name.Registry, bool, error) {
	if plain || c.plainAllowed(host) {
		reg, err := name.NewRegistry(host, name.Insecure)
		return reg, true, err
	}
	reg, err := name.NewRegistry(host)
	return reg, false, err
}

func (c *RegistryConfig) plainAllowed(host string) bool {
	for _, h := range c.Insecure {
		if strings.EqualFold(strings.TrimSuffix(h, "/"), host) {
			return true
		}
	}
	return isLoopback(host)
}

func isLoopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.Trim(host, "[]")
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// baseTransport is the HTTP transport before authentication: system roots
// plus CAFile, and a guard that refuses plain HTTP to registries not
// allowed it.
func (c *RegistryConfig) baseTransport(reg name.Registry, plain bool) (http.RoundTripper, error) {
	t := c.Transport
	if t == nil {
		ht := http.DefaultTransport.(*http.Transport).Clone()
		ht.ResponseHeaderTimeout = 60 * time.Second
		t = ht
	}
	if ht, ok := t.(*http.Transport); ok && c.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in the file", c.CAFile)
		}
		ht = ht.Clone()
		ht.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		t = ht
	}
	return &httpsGuard{inner: t, host: reg.RegistryStr(), plain: plain}, nil
}

// httpsGuard refuses plain-HTTP requests to a registry that must be HTTPS,
// so a failed TLS handshake never silently downgrades.
type httpsGuard struct {
	inner http.RoundTripper
	host  string
	plain bool
}

func (g *httpsGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.plain && strings.EqualFold(r.URL.Host, g.host) {
		return nil, fmt.Errorf("registry %s refused over plain HTTP: it is not loopback nor listed with --insecure-registry", g.host)
	}
	return g.inner.RoundTrip(r)
}

// client is an authenticated connection to one endpoint.
type client struct {
	cfg    *RegistryConfig
	ep     endpoint
	scheme string
	http   *http.Client
}

// connect pings the registry and authenticates for pulling from repo.
func (c *RegistryConfig) connect(ctx context.Context, ep endpoint) (*client, error) {
	base, err := c.baseTransport(ep.reg, ep.plain)
	if err != nil {
		return nil, err
	}
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	auth, err := authn.Resolve(ctx, kc, ep.repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w: check ~/.docker/config.json and its credential helper", ep.reg.RegistryStr(), err)
	}
	rt, err := transport.NewWithContext(ctx, ep.reg, auth, base, []string{ep.repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, c.netError(ep.reg.RegistryStr(), err)
	}
	scheme := "https"
	if ep.plain {
		scheme = "http" // the scheme transport rewrites to what the ping found
	}
	return &client{cfg: c, ep: ep, scheme: scheme, http: &http.Client{Transport: rt}}, nil
}

func (cl *client) url(kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", cl.scheme, cl.ep.reg.RegistryStr(), cl.ep.repo.RepositoryStr(), kind, ref)
}

// clockFloor is the earliest plausible time: a clock before it is surely
// wrong (a gateway without a real-time clock booted in 1970).
func (c *RegistryConfig) clockFloor() time.Time {
	if c.ClockFloor.IsZero() {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c.ClockFloor
}

// netError explains a failed request and marks it worth retrying unless
// retrying cannot help (unknown host, certificate or clock problems, 4xx).
func (c *RegistryConfig) netError(host string, err error) error {
	e := c.explainNetError(host, err)
	var dnsErr *net.DNSError
	var certErr x509.CertificateInvalidError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var terr *transport.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound,
		errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &terr) && !terr.Temporary(),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return e
	}
	return &transientError{e}
}

// explainNetError turns transport failures into messages a user can act on.
func (c *RegistryConfig) explainNetError(host string, err error) error {
	var dnsErr *net.DNSError
	var certErr x509.CertificateInvalidError
	var unknownCA x509.UnknownAuthorityError
	var terr *transport.Error
	switch {
	case errors.As(err, &certErr) && (certErr.Reason == x509.Expired):
		now := time.Now()
		if now.Before(c.clockFloor()) || (certErr.Cert != nil && now.Before(certErr.Cert.NotBefore)) {
			return fmt.Errorf("%w: registry %s: the system clock is wrong (it says %s, before the certificate's validity): set the clock (NTP, or date -s) and pull again: %w",
				ErrClock, host, now.UTC().Format(time.RFC3339), err)
		}
		return fmt.Errorf("registry %s: its TLS certificate has expired: %w", host, err)
	case errors.As(err, &unknownCA):
		return fmt.Errorf("registry %s: TLS certificate signed by an unknown authority: pass its CA with --tls-ca FILE, or --insecure-registry %s for plain HTTP: %w", host, host, err)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Errorf("%w: registry host %s not found: check the image name and the network's DNS: %w", ErrRegistry, host, err)
	case errors.As(err, &terr):
		return statusError(host, "registry "+host, terr.StatusCode, err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w: registry %s speaks plain HTTP: if it is a trusted registry on your network, pass --insecure-registry %s: %w", ErrRegistry, host, host, err)
	}
	return fmt.Errorf("%w: registry %s: %w", ErrRegistry, host, registrySaid(err))
}

// statusError explains an HTTP status from a registry about what (a
// manifest, a blob, the registry host) on the registry host.
func statusError(host, what string, code int, err error) error {
	said := registrySaid(err)
	switch code {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: %s: no credentials for %s, or the stored ones were refused: log in with edgerun login %s, "+
			"and check the image name (registries answer so for images that do not exist, too): %w", ErrUnauthorized, what, host, host, said)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %s: access denied: the credentials stored for %s may not pull this image: check the name, or log in as a user who may (edgerun login %s): %w",
			ErrUnauthorized, what, host, host, said)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s: not in the registry: check the name and tag: %w", ErrNotFound, what, said)
	}
	return fmt.Errorf("%w: %s: %w", ErrRegistry, what, said)
}

// saidError is a registry's answer rendered as text a person reads (codes
// and messages, without the diagnostics' detail values, which are JSON of
// any shape and print as Go maps); it still unwraps to the original error.
type saidError struct {
	msg string
	err error
}

func (e *saidError) Error() string { return e.msg }
func (e *saidError) Unwrap() error { return e.err }

// registrySaid renders what the registry said in err: its error codes and
// messages, else its HTTP status.
func registrySaid(err error) error {
	var terr *transport.Error
	if err == nil || !errors.As(err, &terr) {
		return err
	}
	var parts []string
	for _, d := range terr.Errors {
		s := string(d.Code)
		if d.Message != "" {
			s += ": " + d.Message
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("the registry answered %d %s", terr.StatusCode, http.StatusText(terr.StatusCode)))
	}
	return &saidError{msg: strings.Join(parts, "; "), err: err}
}
