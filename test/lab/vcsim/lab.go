package main

// lab.go builds one simulated vCenter site (prem or cloud): the vcsim model, the renamed
// inventory, real disk contents, the HDM additions (extension_manager.go, task_manager.go)
// and the strict SOAP layer (strict.go), then serves it over HTTPS.
//
// govmomi's simulator keeps its inventory in the package-global simulator.Map, so one
// process runs one lab at a time: startLab holds labMu until Lab.Close.

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	// Side effects: the vAPI REST endpoints (content library) on /rest. PBM on /pbm is the
	// lab's own (pbm.go), not govmomi's pbm/simulator: do not import that package.
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// Options are the settings of one lab site; main.go fills them from the command line.
type Options struct {
	Listen   string // host:port, port 0 picks a free one
	Username string
	Password string
	DataDir  string // datastore directory and extensions.json live here
	DiskMiB  int    // size of app-01's disk
	VMs      int    // -vms: scale VMs added to the prem site (scale.go)
	CertFile string // PEM; empty = self-signed
	KeyFile  string
}

// DefaultOptions are the flag defaults of hdm-vcsim.
func DefaultOptions() Options {
	return Options{
		Listen:   "127.0.0.1:0",
		Username: "administrator@vsphere.local",
		Password: "HdmLab!2026",
		DiskMiB:  256,
	}
}

// vmSpec describes one VM of the prem inventory. Names are part of the lab's contract.
type vmSpec struct {
	name      string
	diskMiB   int
	poweredOn bool
	memoryMB  int32
	cpus      int32
	sparse    bool // scale VM: sparse flat extent, no content (scale.go)
}

// Lab is a running simulated vCenter.
type Lab struct {
	Site       string
	URL        *url.URL // https://ip:port/sdk, no credentials
	Thumbprint string   // SHA-1 of the served certificate, "AA:BB:..."
	DataDir    string
	Datastore  string // datastore directory

	model   *simulator.Model
	server  *simulator.Server
	closing chan struct{} // closed by Close: ends pending WaitForUpdates calls
	closed  bool
}

var labMu sync.Mutex

// ListenError reports that the listen address cannot be used (exit code 2 in main).
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		return fmt.Sprintf("cannot listen on %s: address already in use", e.Addr)
	}
	return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err)
}

// siteNames holds the inventory names of a site.
type siteNames struct {
	dc, cluster, ds string
	hosts           []string
	vms             []vmSpec
}

func namesFor(site string, opts Options) (siteNames, error) {
	switch site {
	case "prem":
		names := siteNames{
			dc: "prem-dc", cluster: "prem-cluster", ds: "prem-ds",
			hosts: []string{"prem-esx-01", "prem-esx-02"},
			vms: []vmSpec{
				{name: "app-01", diskMiB: opts.DiskMiB, poweredOn: false, memoryMB: 4096, cpus: 2},
				{name: "db-01", diskMiB: 64, poweredOn: true, memoryMB: 8192, cpus: 4},
				{name: "web-01", diskMiB: 32, poweredOn: true, memoryMB: 2048, cpus: 1},
				{name: "web-02", diskMiB: 32, poweredOn: false, memoryMB: 2048, cpus: 1},
			},
		}
		names.vms = append(names.vms, scaleVMs(opts.VMs)...)
		return names, nil
	case "cloud":
		return siteNames{
			dc: "cloud-dc", cluster: "cloud-cluster", ds: "cloud-ds",
			hosts: []string{"cloud-esx-01", "cloud-esx-02"},
		}, nil
	}
	return siteNames{}, fmt.Errorf("unknown site %q (want prem or cloud)", site)
}

// startLab creates the inventory of site and serves it; the caller must Close the Lab.
func startLab(site string, opts Options) (lab *Lab, err error) {
	names, err := namesFor(site, opts)
	if err != nil {
		return nil, err
	}
	if opts.DiskMiB <= 0 {
		return nil, fmt.Errorf("-disk-mib must be positive, got %d", opts.DiskMiB)
	}
	if opts.Username == "" || opts.Password == "" {
		return nil, errors.New("username and password must not be empty")
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("-cert and -key go together")
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(".hdm-lab", "vcsim", site)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}

	// Check the address first: the simulator panics when it cannot listen. The port is
	// released right away and taken again by the simulator (port 0 becomes a fixed port).
	probe, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, &ListenError{Addr: opts.Listen, Err: err}
	}
	addr := probe.Addr().String()
	_ = probe.Close()

	tlsConfig, err := serverTLS(opts, addr)
	if err != nil {
		return nil, err
	}

	labMu.Lock()
	defer func() {
		if lab == nil {
			labMu.Unlock()
		}
	}()

	dsDir := filepath.Join(dataDir, names.ds)
	// The inventory is rebuilt on every start, so are the VM files; extensions.json survives.
	if err := os.RemoveAll(dsDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dsDir, 0o755); err != nil {
		return nil, err
	}

	m := simulator.VPX()
	m.Datacenter = 1
	m.Cluster = 1
	m.ClusterHost = len(names.hosts)
	m.Host = 0      // no standalone host
	m.Portgroup = 0 // no DVS: VMs use the standard "VM Network"
	m.Datastore = 0 // created below under -data-dir instead of TMPDIR
	m.Machine = 0   // created below with stable names and disk sizes
	m.Autostart = false
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("create model: %w", err)
	}
	l := &Lab{Site: site, DataDir: dataDir, Datastore: dsDir, model: m}
	defer func() {
		if lab == nil {
			m.Remove()
		}
	}()

	if err := installExtensionManager(filepath.Join(dataDir, "extensions.json")); err != nil {
		return nil, err
	}
	installTaskManager()
	installAlarmManager()    // alarm_manager.go
	installIoFilterManager() // io_filter_manager.go

	ctx := context.Background()
	c, err := vim25.NewClient(ctx, m.Service) // in-process, privileged, not strict
	if err != nil {
		return nil, err
	}
	if err := buildInventory(ctx, c, names, dsDir); err != nil {
		return nil, fmt.Errorf("build inventory: %w", err)
	}

	m.Service.Listen = &url.URL{Host: addr, User: url.UserPassword(opts.Username, opts.Password)}
	m.Service.TLS = tlsConfig
	m.Service.RegisterEndpoints = true
	srv, err := newServer(m.Service)
	if err != nil {
		return nil, &ListenError{Addr: addr, Err: err}
	}
	l.Thumbprint = thumbprint(srv.TLS.Certificates[0].Certificate[0])
	// Every POST to the vim25 endpoints goes through the strict layer first (strict.go), then
	// through the harness's own vCenter behaviour (intercept.go: sessions, disabled methods,
	// ExportVm, NFC, authenticated /folder), then to vcsim.
	l.closing = make(chan struct{})
	vc := newVcenter(srv.Config.Handler, opts, l.Thumbprint, c)
	if vc.extras, err = newLabExtras(dataDir, l.closing); err != nil { // guest roots, CBT
		srv.Close()
		return nil, fmt.Errorf("lab guests: %w", err)
	}
	srv.Config.Handler = newStrictHandler(newHdmServices(vc), l.closing) // hdm_services.go: alarms, PBM
	l.server = srv

	u := *srv.URL
	u.User = nil
	l.URL = &u
	log.Printf("hdm-vcsim %s: %s, datastore %s", site, l.URL, dsDir)
	return l, nil
}

// newServer turns the simulator's panic on listen errors into an error.
func newServer(s *simulator.Service) (srv *simulator.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
			if strings.Contains(err.Error(), "address already in use") {
				err = syscall.EADDRINUSE
			}
		}
	}()
	return s.NewServer(), nil
}

// Close stops the server and releases the process-wide simulator for the next lab.
func (l *Lab) Close() {
	if l == nil || l.closed {
		return
	}
	l.closed = true
	close(l.closing)
	l.server.Close()
	l.model.Remove()
	labMu.Unlock()
}

func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func serverTLS(opts Options, addr string) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if opts.CertFile != "" {
		cert, err = tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load -cert/-key: %w", err)
		}
	} else {
		host, _, _ := net.SplitHostPort(addr)
		cert, err = selfSignedCert(host)
		if err != nil {
			return nil, err
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

// buildInventory renames the model's objects, adds the datastore under dsDir and the VMs.
func buildInventory(ctx context.Context, c *vim25.Client, names siteNames, dsDir string) error {
	dcRef := simulator.Map.Any("Datacenter").Reference()
	dc := object.NewDatacenter(c, dcRef)
	if err := rename(ctx, c, dcRef, names.dc); err != nil {
		return err
	}
	clusterRef := simulator.Map.Any("ClusterComputeResource").Reference()
	if err := rename(ctx, c, clusterRef, names.cluster); err != nil {
		return err
	}
	cluster := simulator.Map.Get(clusterRef).(*simulator.ClusterComputeResource)
	if len(cluster.Host) != len(names.hosts) {
		return fmt.Errorf("cluster has %d hosts, want %d", len(cluster.Host), len(names.hosts))
	}
	var hosts []*object.HostSystem
	for i, ref := range cluster.Host {
		h := simulator.Map.Get(ref).(*simulator.HostSystem)
		// HostSystem has no Rename_Task in vcsim; a host's name is its address in vCenter anyway.
		simulator.Map.Update(h, []types.PropertyChange{
			{Name: "name", Val: names.hosts[i]},
			{Name: "summary.config.name", Val: names.hosts[i]},
		})
		hosts = append(hosts, object.NewHostSystem(c, ref))
	}

	var dsRef types.ManagedObjectReference
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(ctx)
		if err != nil {
			return err
		}
		ds, err := dss.CreateLocalDatastore(ctx, names.ds, dsDir)
		if err != nil {
			return fmt.Errorf("datastore %s on %s: %w", names.ds, h.Reference().Value, err)
		}
		dsRef = ds.Reference()
	}

	if len(names.vms) == 0 {
		return nil
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := object.NewClusterComputeResource(c, clusterRef).ResourcePool(ctx)
	if err != nil {
		return err
	}
	netRef := simulator.Map.Get(dcRef).(*simulator.Datacenter).Network[0] // "VM Network"
	backing, err := object.NewNetwork(c, netRef).EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	for i, spec := range names.vms {
		if err := createVM(ctx, c, spec, names.ds, dsRef, dsDir, folders.VmFolder, pool, hosts[i%len(hosts)], backing); err != nil {
			return fmt.Errorf("vm %s: %w", spec.name, err)
		}
	}
	return nil
}

func rename(ctx context.Context, c *vim25.Client, ref types.ManagedObjectReference, name string) error {
	task, err := object.NewCommon(c, ref).Rename(ctx, name)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

func createVM(ctx context.Context, c *vim25.Client, spec vmSpec, dsName string, dsRef types.ManagedObjectReference,
	dsDir string, folder *object.Folder, pool *object.ResourcePool, host *object.HostSystem,
	backing types.BaseVirtualDeviceBackingInfo) error {
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("lsilogic")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	diskPath := fmt.Sprintf("[%s] %s/%s.vmdk", dsName, spec.name, spec.name)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), dsRef, diskPath)
	disk.CapacityInKB = int64(spec.diskMiB) * 1024
	disk.CapacityInBytes = int64(spec.diskMiB) * 1024 * 1024
	disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ThinProvisioned = types.NewBool(false)
	devices = append(devices, disk)
	nic, err := devices.CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		return err
	}
	devices = append(devices, nic)

	config := types.VirtualMachineConfigSpec{
		Name:     spec.name,
		GuestId:  string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:  spec.cpus,
		MemoryMB: int64(spec.memoryMB),
		Files:    &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", dsName)},
	}
	config.DeviceChange, err = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	task, err := folder.CreateVM(ctx, config, pool, host)
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return err
	}
	ref := info.Result.(types.ManagedObjectReference)

	// vcsim creates the disk files empty: give them their size and deterministic content.
	vm := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	for _, d := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		vd := d.(*types.VirtualDisk)
		var p object.DatastorePath
		p.FromString(vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName)
		write := writeDisk
		if spec.sparse {
			write = writeSparseDisk
		}
		if err := write(filepath.Join(dsDir, filepath.FromSlash(p.Path)), spec.name, vd.CapacityInBytes); err != nil {
			return err
		}
	}
	if spec.poweredOn {
		task, err := object.NewVirtualMachine(c, ref).PowerOn(ctx)
		if err != nil {
			return err
		}
		return task.Wait(ctx)
	}
	return nil
}

// entityName returns the name of a managed entity, or "" for other objects.
func entityName(obj mo.Reference) string {
	if e, ok := obj.(mo.Entity); ok {
		return e.Entity().Name
	}
	return ""
}
