package doctor

import (
	"os"
	"path/filepath"

	"github.com/edgerun/edgerun/apparmor"
)

// checkAppArmor reports whether containers run under edgerun's AppArmor
// profile here: the host must enforce AppArmor and have apparmor_parser
// for edgerun to load it (as docker does, containers run unconfined
// otherwise).
func checkAppArmor(o Options) Check {
	c := Check{Name: "apparmor", Status: OK}
	aa := &apparmor.Host{SecurityFS: filepath.Join(o.HostRoot, "sys/kernel/security/apparmor"),
		Enabled: filepath.Join(o.HostRoot, "sys/module/apparmor/parameters/enabled")}
	if !aa.Available() {
		c.Detail = "AppArmor is not enabled on this host: containers are confined by their capabilities, seccomp profile and masked paths, without a MAC profile"
		return c
	}
	if o.UID != 0 {
		c.Detail = "AppArmor is enabled; rootless containers run without an AppArmor profile (loading one needs root)"
		return c
	}
	if mode := aa.Loaded(apparmor.DefaultProfile); mode != "" {
		c.Detail = "AppArmor is enabled and edgerun's profile " + apparmor.DefaultProfile + " is loaded (" + mode + "): every container runs under it unless --privileged or --security-opt apparmor=... says otherwise"
		return c
	}
	if hasParser(o.HostRoot) {
		c.Detail = "AppArmor is enabled: edgerun loads its profile " + apparmor.DefaultProfile + " with apparmor_parser when the first container starts"
		return c
	}
	c.Status = Warn
	c.Detail = "AppArmor is enabled but apparmor_parser is not installed, so edgerun cannot load its profile " + apparmor.DefaultProfile + ": containers run unconfined by AppArmor"
	c.Fix = "install the apparmor package (Debian, Ubuntu: apt-get install apparmor)"
	return c
}

// hasParser looks for apparmor_parser under root; on the real host also
// in PATH.
func hasParser(root string) bool {
	if filepath.Clean(root) == "/" && apparmor.ParserPath() != "" {
		return true
	}
	for _, p := range []string{"sbin/apparmor_parser", "usr/sbin/apparmor_parser"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}
