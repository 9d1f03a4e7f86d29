// Command hdm-vcsim runs one simulated vCenter site of the HDM lab: govmomi's vcsim with the
// lab's inventory, ExtensionManager, TaskManager.CreateTask and a strict SOAP request layer.
// See README.md for the flags and the ready line.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
)

// readyLine is printed once on stdout when the site serves requests.
type readyLine struct {
	Event      string `json:"event"`
	Site       string `json:"site"`
	URL        string `json:"url"`
	Thumbprint string `json:"thumbprint"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit: 0 after a clean stop, 2 for bad flags or an unusable
// address, 1 for other failures.
func run(args []string, stdout, stderr io.Writer) int {
	log.SetOutput(stderr)
	log.SetPrefix("hdm-vcsim: ")
	def := DefaultOptions()
	fs := flag.NewFlagSet("hdm-vcsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	site := fs.String("site", "", "site to simulate: prem or cloud")
	opts := def
	fs.StringVar(&opts.Listen, "listen", def.Listen, "host:port to serve HTTPS on (port 0 = any free port)")
	fs.StringVar(&opts.Username, "username", def.Username, "the only user name that can log in")
	fs.StringVar(&opts.Password, "password", def.Password, "its password")
	fs.StringVar(&opts.DataDir, "data-dir", "", "directory for the datastore and extensions.json (default .hdm-lab/vcsim/<site>)")
	fs.IntVar(&opts.DiskMiB, "disk-mib", def.DiskMiB, "size of app-01's disk in MiB (prem)")
	fs.IntVar(&opts.VMs, "vms", 0, "scale model: this many more VMs on the prem site (scale-vm-0001 ...)")
	fs.StringVar(&opts.CertFile, "cert", "", "PEM certificate to serve (default: self-signed)")
	fs.StringVar(&opts.KeyFile, "key", "", "PEM private key of -cert")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hdm-vcsim: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	if *site != "prem" && *site != "cloud" {
		fmt.Fprintf(stderr, "hdm-vcsim: -site must be prem or cloud, got %q\n", *site)
		return 2
	}
	if opts.DiskMiB <= 0 {
		fmt.Fprintf(stderr, "hdm-vcsim: -disk-mib must be positive, got %d\n", opts.DiskMiB)
		return 2
	}
	if opts.VMs < 0 {
		fmt.Fprintf(stderr, "hdm-vcsim: -vms must not be negative, got %d\n", opts.VMs)
		return 2
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		fmt.Fprintln(stderr, "hdm-vcsim: -cert and -key must be given together")
		return 2
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	lab, err := startLab(*site, opts)
	if err != nil {
		fmt.Fprintf(stderr, "hdm-vcsim: %v\n", err)
		var le *ListenError
		if errors.As(err, &le) {
			return 2
		}
		return 1
	}
	line, _ := json.Marshal(readyLine{Event: "ready", Site: *site, URL: lab.URL.String(), Thumbprint: lab.Thumbprint})
	fmt.Fprintf(stdout, "%s\n", line)

	sig := <-sigs
	log.Printf("%s: stopping", sig)
	lab.Close()
	return 0
}
