package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/sigpolicy"
)

// envOr is the environment variable's value, or def when it is unset.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	Root  string
	State string
	// Bridge and Subnet configure bridge networking.
	Bridge, Subnet string
	// BootIDFile comes from $EDGERUN_BOOT_ID_FILE (tests simulating a reboot).
	BootIDFile string
	// SignaturePolicy is --signature-policy; "" is the user's default
	// file (DefaultPolicy), used only when it exists.
	SignaturePolicy, DefaultPolicy string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// config turns the global flags into the runtime's configuration.
func (g *globalOptions) config() container.Config {
	return container.Config{Root: g.Root, State: g.State, Bridge: g.Bridge, Subnet: g.Subnet, BootIDFile: g.BootIDFile,
		Notice:   func(msg string) { fmt.Fprintf(g.Stderr, "edgerun: note: %s\n", msg) },
		Rootless: rootless.Inside(), Events: g.journal(), SignaturePolicy: g.policy()}
}

// policy is the signature policy file to obey: the one named, which must
// exist, or the default one when it exists.
func (g *globalOptions) policy() sigpolicy.Source {
	if g.SignaturePolicy != "" {
		return sigpolicy.Source{Path: g.SignaturePolicy}
	}
	return sigpolicy.Source{Path: g.DefaultPolicy, Optional: true}
}

// lockWaitNotices makes a lock wait under ctx that lasts more than a
// moment say on stderr what it waits for and who holds the lock; the root
// command attaches it to every command's context.
func (g *globalOptions) lockWaitNotices(ctx context.Context) context.Context {
	return lockfile.WithWaitNotice(ctx, func(msg string) { fmt.Fprintf(g.Stderr, "edgerun: %s\n", msg) })
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	g := &globalOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr, BootIDFile: getenv(container.BootIDFileEnv),
		DefaultPolicy: sigpolicy.DefaultPath(os.Geteuid(), getenv)}
	defRoot, defState := statedir.DefaultPaths(getenv)
	cmd := &cobra.Command{
		Use:   "edgerun",
		Short: "A daemonless container runtime for IoT gateways",
		Long: "edgerun runs OCI containers on gateways without a daemon: one small binary,\n" +
			"safe against hostile images and power cuts.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every command's lock waits (a container's lock, the image store,
		// the layer cache, the network) name what they wait for.
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			cmd.SetContext(g.lockWaitNotices(cmd.Context()))
		},
	}
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.Root, "root", defRoot, "persistent state directory (images, layers, containers) [$EDGERUN_ROOT]")
	pf.StringVar(&g.State, "state", defState, "volatile state directory (locks, runtime state) [$EDGERUN_STATE]")
	pf.StringVar(&g.Bridge, "bridge", envOr(getenv, "EDGERUN_BRIDGE", netns.DefaultBridge), "bridge of --network bridge containers [$EDGERUN_BRIDGE]")
	pf.StringVar(&g.SignaturePolicy, "signature-policy", getenv("EDGERUN_SIGNATURE_POLICY"),
		"signature policy file pulls and loads obey (default "+g.DefaultPolicy+" when it exists) [$EDGERUN_SIGNATURE_POLICY]")
	pf.StringVar(&g.Subnet, "subnet", envOr(getenv, "EDGERUN_SUBNET", netns.DefaultSubnet), "IPv4 subnet of the bridge [$EDGERUN_SUBNET]")

	cmd.AddCommand(
		newRunCommand(g),
		newCreateCommand(g),
		newWaitCommand(g),
		newEventsCommand(g),
		newAttachCommand(g),
		newPortCommand(g),
		newRenameCommand(g),
		newPauseCommand(g),
		newUnpauseCommand(g),
		newTopCommand(g),
		newNetworkCommand(g),
		newPsCommand(g),
		newRmCommand(g),
		newInspectCommand(g),
		newStopCommand(g),
		newKillCommand(g),
		newStartCommand(g),
		newRestartCommand(g),
		newLogsCommand(g),
		newBootCommand(g),
		newPruneCommand(g),
		newExecCommand(g),
		newStatsCommand(g),
		newLoadCommand(g),
		newPullCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
		newImagesCommand(g),
		newRmiCommand(g),
		newTagCommand(g),
		newImageCommand(g),
		newVolumeCommand(g),
		newVersionCommand(g),
		newDoctorCommand(g),
		newCheckCommand(g),
		newHealthcheckCommand(g),
		newUpdateCommand(g),
		newApplyCommand(g),
		newSystemCommand(g),
		newInfoCommand(g),
		newContainerCommand(g),
		newOCICommand("oci", stdin, stdout, stderr, getenv),
	)
	// docker's cp, save and history (image inspect is under image)
	cmd.AddCommand(newCpCommand(g), newSaveCommand(g), newHistoryCommand(g))
	finishTree(cmd)
	addCompletions(cmd, g)
	return cmd
}
