package main

// nfc.go moves disk bytes through HttpNfcLease URLs, which vcsim does not really do: it has no
// ExportVm, its lease PUT/POST discards the data, and a GET of a non-empty file crashes the
// request (io.Copy into a nil writer). The harness serves /nfc/ itself:
//
//   - ExportVm (powered-off VM) creates an export lease, a managed object of this package
//     (HttpNfcLease below), state initializing → ready. info.deviceUrl lists each disk as
//     vCenter does: key "/<vm>/<ControllerType><bus>:<unit>", url
//     "https://*/nfc/<lease>/disk-<n>.vmdk", disk true, fileSize, targetId, sslThumbprint of
//     the served certificate. GET/HEAD of the URL (session cookie required) serves the disk's
//     flat extent, the raw bytes, with Content-Length and Range (206 + Content-Range).
//     A real vCenter serves a streamOptimized VMDK here; HDM's transfer engine takes raw
//     bytes from the lab. While the lease is active the VM's power-on and other changing
//     methods are disabled (source "nfc:<lease>"), as vCenter does.
//   - ImportVApp leases stay vcsim's, but the harness learns their files (intercept.go) and
//     writes what a PUT or POST to a disk URL carries into the new disk's flat extent
//     (created at the disk's capacity, with a monolithicFlat descriptor). govmomi's
//     nfc.Lease.Upload POSTs disks as application/x-vnd.vmware-streamVmdk; the lab takes the
//     body as raw disk bytes whatever its content type (no streamOptimized decoding).
//   - After HttpNfcLeaseComplete/Abort the lease's URLs answer 404. An aborted import deletes
//     the VM, as vCenter does.

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	exportLeaseTimeout = 300 // seconds, vCenter's default
	exportReadyDelay   = 100 * time.Millisecond
)

// methodsDisabledByExport are the VM methods vCenter refuses while an export lease holds the VM.
var methodsDisabledByExport = []string{
	"PowerOnVM_Task", "Destroy_Task", "ReconfigVM_Task", "RelocateVM_Task", "MigrateVM_Task", "UnregisterVM",
}

// leaseFile is one file a lease URL reads or writes.
type leaseFile struct {
	path     string // local path: the flat extent for disks
	disk     bool
	capacity int64 // disks: size in bytes
	key      string
}

// importLease is what the harness knows of a vcsim import lease.
type importLease struct {
	vm    types.ManagedObjectReference
	files map[string]leaseFile // URL base name → file
}

type nfcLeases struct {
	mu      sync.Mutex
	export  map[string]*HttpNfcLease
	imports map[string]*importLease
}

func newNfcLeases() *nfcLeases {
	return &nfcLeases{export: map[string]*HttpNfcLease{}, imports: map[string]*importLease{}}
}

// HttpNfcLease is an export lease (the Go type name gives the MoRef type).
type HttpNfcLease struct {
	mo.HttpNfcLease

	v     *vcenter
	vm    types.ManagedObjectReference
	files map[string]leaseFile
}

func (l *HttpNfcLease) source() string { return "nfc:" + l.Self.Value }

// datastorePath maps "[ds] dir/file" to the local file.
func datastorePath(name string) (string, error) {
	var p object.DatastorePath
	if !p.FromString(name) {
		return "", fmt.Errorf("not a datastore path: %q", name)
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name == p.Datastore {
			return filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path)), nil
		}
	}
	return "", fmt.Errorf("datastore %q not found", p.Datastore)
}

func flatPath(vmdk string) string {
	return strings.TrimSuffix(vmdk, ".vmdk") + "-flat.vmdk"
}

// exportVm answers ExportVm for vm.
func (v *vcenter) exportVm(w http.ResponseWriter, this types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(this).(*simulator.VirtualMachine)
	if !ok {
		writeMethodFault(w, fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", this.Value),
			&types.ManagedObjectNotFound{Obj: this})
		return
	}
	var state types.VirtualMachinePowerState
	var devices object.VirtualDeviceList
	simulator.Map.WithLock(vm, func() {
		state = vm.Runtime.PowerState
		devices = append(devices, vm.Config.Hardware.Device...)
	})
	if state != types.VirtualMachinePowerStatePoweredOff {
		writeMethodFault(w, fmt.Sprintf("The attempted operation cannot be performed in the current state (%s).", powerStateText(state)),
			&types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: state})
		return
	}

	id := "52" + uuid.New().String()[2:]
	lease := &HttpNfcLease{v: v, vm: this, files: map[string]leaseFile{}}
	lease.Self = types.ManagedObjectReference{Type: "HttpNfcLease", Value: id}
	lease.State = types.HttpNfcLeaseStateInitializing
	lease.Mode = "pushOrGet"
	info := &types.HttpNfcLeaseInfo{Lease: lease.Self, Entity: this, LeaseTimeout: exportLeaseTimeout}
	n := 0
	for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		disk := d.(*types.VirtualDisk)
		backing, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		local, err := datastorePath(backing.GetVirtualDeviceFileBackingInfo().FileName)
		if err != nil {
			writeMethodFault(w, err.Error(), &types.FileNotFound{FileFault: types.FileFault{File: backing.GetVirtualDeviceFileBackingInfo().FileName}})
			return
		}
		if _, err := os.Stat(flatPath(local)); err == nil {
			local = flatPath(local)
		}
		st, err := os.Stat(local)
		if err != nil {
			writeMethodFault(w, err.Error(), &types.FileNotFound{FileFault: types.FileFault{File: backing.GetVirtualDeviceFileBackingInfo().FileName}})
			return
		}
		name := fmt.Sprintf("disk-%d.vmdk", n)
		n++
		key := fmt.Sprintf("/%s/%s", this.Value, deviceSlot(devices, disk))
		lease.files[name] = leaseFile{path: local, disk: true, capacity: disk.CapacityInBytes, key: key}
		info.DeviceUrl = append(info.DeviceUrl, types.HttpNfcLeaseDeviceUrl{
			Key:           key,
			Url:           "https://*/nfc/" + id + "/" + name,
			SslThumbprint: v.thumbprint,
			Disk:          types.NewBool(true),
			TargetId:      name,
			FileSize:      st.Size(),
		})
		info.TotalDiskCapacityInKB += disk.CapacityInKB
	}
	simulator.Map.Put(lease)
	v.leases.mu.Lock()
	v.leases.export[id] = lease
	v.leases.mu.Unlock()

	var reqs []DisabledMethodRequest
	for _, m := range methodsDisabledByExport {
		reqs = append(reqs, DisabledMethodRequest{Method: m, ReasonId: "com.vmware.vim.nfc.export"})
	}
	v.disabled.disable(vm, reqs, lease.source())

	go func() {
		time.Sleep(exportReadyDelay)
		simulator.Map.WithLock(lease, func() {
			if lease.State != types.HttpNfcLeaseStateInitializing {
				return
			}
			simulator.Map.Update(lease, []types.PropertyChange{
				{Name: "initializeProgress", Val: int32(100)},
				{Name: "info", Val: *info},
				{Name: "state", Val: types.HttpNfcLeaseStateReady},
			})
		})
	}()
	writeResult(w, &types.ExportVmResponse{Returnval: lease.Self})
}

func powerStateText(s types.VirtualMachinePowerState) string {
	switch s {
	case types.VirtualMachinePowerStatePoweredOn:
		return "Powered on"
	case types.VirtualMachinePowerStateSuspended:
		return "Suspended"
	}
	return "Powered off"
}

// deviceSlot names a disk by its controller as vCenter's export keys do:
// "VirtualLsiLogicController0:0" (controller type, bus number, ":", unit number).
func deviceSlot(devices object.VirtualDeviceList, disk *types.VirtualDisk) string {
	unit := int32(0)
	if disk.UnitNumber != nil {
		unit = *disk.UnitNumber
	}
	if c := devices.FindByKey(disk.ControllerKey); c != nil {
		bus := int32(0)
		if vc, ok := c.(types.BaseVirtualController); ok {
			bus = vc.GetVirtualController().BusNumber
		}
		return fmt.Sprintf("%s%d:%d", reflect.TypeOf(c).Elem().Name(), bus, unit)
	}
	return fmt.Sprintf("VirtualDisk%d:%d", disk.ControllerKey, unit)
}

func (l *HttpNfcLease) end(state types.HttpNfcLeaseState, fault *types.LocalizedMethodFault) {
	changes := []types.PropertyChange{{Name: "state", Val: state}}
	if fault != nil {
		changes = append(changes, types.PropertyChange{Name: "error", Val: *fault})
	}
	simulator.Map.Update(l, changes)
	l.v.leases.mu.Lock()
	delete(l.v.leases.export, l.Self.Value)
	l.v.leases.mu.Unlock()
	if vm, ok := simulator.Map.Get(l.vm).(mo.Entity); ok {
		l.v.disabled.enable(vm, methodsDisabledByExport, l.source())
	}
	// The lease object is gone afterwards, as vcsim's import leases are.
	simulator.Map.Remove(l.Self)
}

func (l *HttpNfcLease) HttpNfcLeaseComplete(req *types.HttpNfcLeaseComplete) soap.HasFault {
	body := new(methods.HttpNfcLeaseCompleteBody)
	if l.State != types.HttpNfcLeaseStateReady {
		body.Fault_ = simulator.Fault("The operation is not allowed in the current state.", &types.InvalidState{})
		return body
	}
	l.end(types.HttpNfcLeaseStateDone, nil)
	body.Res = new(types.HttpNfcLeaseCompleteResponse)
	return body
}

func (l *HttpNfcLease) HttpNfcLeaseAbort(req *types.HttpNfcLeaseAbort) soap.HasFault {
	body := new(methods.HttpNfcLeaseAbortBody)
	if l.State == types.HttpNfcLeaseStateDone || l.State == types.HttpNfcLeaseStateError {
		body.Fault_ = simulator.Fault("The operation is not allowed in the current state.", &types.InvalidState{})
		return body
	}
	fault := req.Fault
	if fault == nil {
		fault = &types.LocalizedMethodFault{Fault: &types.RequestCanceled{}, LocalizedMessage: "The task was canceled by a user."}
	}
	l.end(types.HttpNfcLeaseStateError, fault)
	body.Res = new(types.HttpNfcLeaseAbortResponse)
	return body
}

func (l *HttpNfcLease) HttpNfcLeaseProgress(req *types.HttpNfcLeaseProgress) soap.HasFault {
	body := new(methods.HttpNfcLeaseProgressBody)
	if l.State != types.HttpNfcLeaseStateReady {
		body.Fault_ = simulator.Fault("The operation is not allowed in the current state.", &types.InvalidState{})
		return body
	}
	if req.Percent < 0 || req.Percent > 100 {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "percent"})
		return body
	}
	simulator.Map.Update(l, []types.PropertyChange{{Name: "transferProgress", Val: req.Percent}})
	body.Res = new(types.HttpNfcLeaseProgressResponse)
	return body
}

// HttpNfcLeaseGetManifest returns SHA-1 and size of each disk as served.
func (l *HttpNfcLease) HttpNfcLeaseGetManifest(req *types.HttpNfcLeaseGetManifest) soap.HasFault {
	body := new(methods.HttpNfcLeaseGetManifestBody)
	if l.State != types.HttpNfcLeaseStateReady {
		body.Fault_ = simulator.Fault("The operation is not allowed in the current state.", &types.InvalidState{})
		return body
	}
	res := new(types.HttpNfcLeaseGetManifestResponse)
	for _, d := range l.Info.DeviceUrl {
		f := l.files[path.Base(d.Url)]
		sum, size, err := sha1File(f.path)
		if err != nil {
			body.Fault_ = simulator.Fault(err.Error(), &types.FileFault{File: f.path})
			return body
		}
		res.Returnval = append(res.Returnval, types.HttpNfcLeaseManifestEntry{
			Key: d.Key, Sha1: sum, Size: size, Disk: true, Capacity: f.capacity, PopulatedSize: size,
		})
	}
	body.Res = res
	return body
}

func sha1File(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha1.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// trackImport learns the files of a new vcsim import lease for vm, gives each disk a
// descriptor and a flat extent of its capacity, and remembers them under the lease id.
func (v *vcenter) trackImport(leaseID string, vm *simulator.VirtualMachine) error {
	il := &importLease{vm: vm.Self, files: map[string]leaseFile{}}
	var devices object.VirtualDeviceList
	simulator.Map.WithLock(vm, func() { devices = append(devices, vm.Config.Hardware.Device...) })
	for _, d := range devices {
		backing, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		name := backing.GetVirtualDeviceFileBackingInfo().FileName
		local, err := datastorePath(name)
		if err != nil {
			return err
		}
		// vcsim's URL names: the base name of the backing file (see ResourcePool.ImportVApp).
		var dp object.DatastorePath
		dp.FromString(name)
		f := leaseFile{path: local}
		if disk, ok := d.(*types.VirtualDisk); ok {
			f.disk = true
			f.capacity = disk.CapacityInBytes
			if f.capacity == 0 {
				f.capacity = disk.CapacityInKB * 1024
			}
			f.path = flatPath(local)
			if err := createFlatDisk(local, vm.Name, f.capacity); err != nil {
				return err
			}
		}
		il.files[path.Base(dp.Path)] = f
	}
	v.leases.mu.Lock()
	v.leases.imports[leaseID] = il
	v.leases.mu.Unlock()
	return nil
}

// createFlatDisk writes the descriptor at vmdk and a zero flat extent of capacity bytes.
func createFlatDisk(vmdk, vmName string, capacity int64) error {
	flat := flatPath(vmdk)
	f, err := os.OpenFile(flat, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(capacity); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(vmdk, []byte(descriptor(flat, vmName, capacity)), 0o644)
}

// endImport forgets an import lease; on abort the VM goes too, as in vCenter.
func (v *vcenter) endImport(leaseID string, aborted bool) {
	v.leases.mu.Lock()
	il := v.leases.imports[leaseID]
	delete(v.leases.imports, leaseID)
	v.leases.mu.Unlock()
	if il == nil || !aborted {
		return
	}
	if simulator.Map.Get(il.vm) == nil {
		return
	}
	task, err := object.NewVirtualMachine(v.client, il.vm).Destroy(v.ctx)
	if err == nil {
		err = task.Wait(v.ctx)
	}
	if err != nil {
		log.Printf("aborted import: destroy %s: %v", il.vm.Value, err)
	}
}

// serveNFC handles /nfc/<lease>/<file>.
func (v *vcenter) serveNFC(w http.ResponseWriter, r *http.Request) {
	if _, ok := v.sessions.fromRequest(r); !ok {
		http.Error(w, "Unauthorized: a vCenter session (vmware_soap_session cookie) is required", http.StatusUnauthorized)
		return
	}
	p := strings.Split(r.URL.Path, "/")
	if len(p) < 4 {
		http.NotFound(w, r)
		return
	}
	id, name := p[len(p)-2], p[len(p)-1]

	v.leases.mu.Lock()
	export := v.leases.export[id]
	imp := v.leases.imports[id]
	v.leases.mu.Unlock()

	switch {
	case export != nil:
		var f leaseFile
		var ready bool
		simulator.Map.WithLock(export, func() {
			ready = export.State == types.HttpNfcLeaseStateReady
			f, ready = export.files[name], ready && export.files[name].path != ""
		})
		if !ready {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "export lease URLs are read-only", http.StatusMethodNotAllowed)
			return
		}
		file, err := os.Open(f.path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer file.Close()
		st, err := file.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", st.ModTime(), file)
	case imp != nil:
		f, ok := imp.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			w.Header().Set("Allow", "PUT, POST")
			http.Error(w, "import lease URLs are write-only", http.StatusMethodNotAllowed)
			return
		}
		n, status, err := receiveFile(r, f)
		if err != nil {
			log.Printf("nfc %s %s: %v", r.Method, f.path, err)
			http.Error(w, err.Error(), status)
			return
		}
		log.Printf("nfc %s %s: %d bytes", r.Method, f.path, n)
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// receiveFile writes an upload into f: disks into the flat extent from offset 0 (the extent
// keeps its capacity; more bytes than that are refused), other files as sent.
func receiveFile(r *http.Request, f leaseFile) (int64, int, error) {
	if f.disk && r.ContentLength > f.capacity {
		return 0, http.StatusBadRequest, fmt.Errorf("upload of %d bytes exceeds the disk capacity of %d bytes", r.ContentLength, f.capacity)
	}
	flags := os.O_WRONLY | os.O_CREATE
	if !f.disk {
		flags |= os.O_TRUNC
	}
	out, err := os.OpenFile(f.path, flags, 0o644)
	if err != nil {
		return 0, http.StatusInternalServerError, err
	}
	var src io.Reader = r.Body
	if f.disk {
		src = io.LimitReader(r.Body, f.capacity+1)
	}
	n, err := io.Copy(out, src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, http.StatusInternalServerError, err
	}
	if f.disk && n > f.capacity {
		_ = os.Truncate(f.path, f.capacity)
		return n, http.StatusBadRequest, fmt.Errorf("upload exceeds the disk capacity of %d bytes", f.capacity)
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		return n, http.StatusBadRequest, fmt.Errorf("received %d of %d bytes", n, r.ContentLength)
	}
	return n, 0, nil
}
