package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var insecure = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// cookieOf returns the vmware_soap_session cookie of a govmomi client.
func cookieOf(t *testing.T, c *govmomi.Client) string {
	t.Helper()
	for _, ck := range c.Client.Client.Jar.Cookies(c.URL()) {
		if ck.Name == soap.SessionCookieName {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// httpDo sends a request with an optional session cookie and returns status, headers, body.
func httpDo(t *testing.T, method, url, cookie string, hdr map[string]string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// finder returns a finder set to the lab's datacenter.
func finder(t *testing.T, c *govmomi.Client) *find.Finder {
	t.Helper()
	f := find.NewFinder(c.Client, true)
	dcs, err := f.DatacenterList(context.Background(), "*-dc")
	if err != nil || len(dcs) != 1 {
		t.Fatalf("datacenters: %v %v", dcs, err)
	}
	f.SetDatacenter(dcs[0])
	return f
}

func findVM(t *testing.T, c *govmomi.Client, name string) *object.VirtualMachine {
	t.Helper()
	f := finder(t, c)
	vm, err := f.VirtualMachine(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func leaseState(t *testing.T, c *govmomi.Client, ref types.ManagedObjectReference) (mo.HttpNfcLease, error) {
	t.Helper()
	var l mo.HttpNfcLease
	err := c.RetrieveOne(context.Background(), ref, []string{"state", "info", "transferProgress", "error"}, &l)
	return l, err
}

func TestExportVm(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "prem", t.TempDir())
	cookie := cookieOf(t, c)
	vm := findVM(t, c, "app-01")
	flat, err := os.ReadFile(filepath.Join(lab.Datastore, "app-01", "app-01-flat.vmdk"))
	if err != nil || len(flat) != 24<<20 {
		t.Fatalf("flat disk: %d bytes, %v", len(flat), err)
	}

	lease, err := vm.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := leaseState(t, c, lease.Reference()); err != nil || l.State != types.HttpNfcLeaseStateInitializing || l.Info != nil {
		t.Errorf("new lease: state %q info %v (%v), want initializing without info", l.State, l.Info, err)
	}
	info, err := lease.Wait(ctx, nil) // property.Wait: state initializing → ready
	if err != nil {
		t.Fatal(err)
	}
	if info.Entity != vm.Reference() || info.Lease != lease.Reference() || info.LeaseTimeout != 300 || info.TotalDiskCapacityInKB != 24*1024 {
		t.Errorf("info: %+v", info.HttpNfcLeaseInfo)
	}
	if len(info.DeviceUrl) != 1 {
		t.Fatalf("deviceUrl: %+v", info.DeviceUrl)
	}
	d := info.DeviceUrl[0]
	wantKey := "/" + vm.Reference().Value + "/VirtualLsiLogicController0:0"
	wantURL := regexp.MustCompile(`^https://\*/nfc/` + regexp.QuoteMeta(lease.Reference().Value) + `/disk-0\.vmdk$`)
	if d.Key != wantKey || !wantURL.MatchString(d.Url) || d.Disk == nil || !*d.Disk || d.FileSize != 24<<20 ||
		d.TargetId != "disk-0.vmdk" || d.SslThumbprint != lab.Thumbprint || d.ImportKey != "" {
		t.Errorf("deviceUrl: %+v", d)
	}

	// govmomi's download path: Items carry the URL with * replaced by the vCenter host.
	if len(info.Items) != 1 || info.Items[0].URL.Host != lab.URL.Host {
		t.Fatalf("items: %+v", info.Items)
	}
	u := info.Items[0].URL
	rd, n, err := c.Client.Download(ctx, u, &soap.DefaultDownload)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rd)
	_ = rd.Close()
	if n != int64(len(flat)) || !bytes.Equal(got, flat) {
		t.Errorf("download: %d bytes (Content-Length %d), equal %v", len(got), n, bytes.Equal(got, flat))
	}

	// Raw HTTP: session required, ranges, HEAD, read-only.
	if st, _, _ := httpDo(t, "GET", u.String(), "", nil, nil); st != http.StatusUnauthorized {
		t.Errorf("GET without session: %d", st)
	}
	st, h, part := httpDo(t, "GET", u.String(), cookie, map[string]string{"Range": "bytes=1048570-1048589"}, nil)
	if st != http.StatusPartialContent || h.Get("Content-Range") != fmt.Sprintf("bytes 1048570-1048589/%d", len(flat)) ||
		!bytes.Equal(part, flat[1048570:1048590]) {
		t.Errorf("range: %d %q %d bytes", st, h.Get("Content-Range"), len(part))
	}
	if st, h, _ := httpDo(t, "HEAD", u.String(), cookie, nil, nil); st != 200 || h.Get("Content-Length") != fmt.Sprint(len(flat)) {
		t.Errorf("HEAD: %d %q", st, h.Get("Content-Length"))
	}
	if st, _, _ := httpDo(t, "PUT", u.String(), cookie, nil, strings.NewReader("x")); st != http.StatusMethodNotAllowed {
		t.Errorf("PUT on an export URL: %d", st)
	}
	if st, _, _ := httpDo(t, "GET", strings.Replace(u.String(), "disk-0", "disk-9", 1), cookie, nil, nil); st != 404 {
		t.Errorf("unknown disk: %d", st)
	}

	// While the lease holds the VM, power-on is disabled with the lease as source.
	_, err = vm.PowerOn(ctx)
	if f, ok := faultOf(t, err).(types.MethodDisabled); !ok || f.Source != "nfc:"+lease.Reference().Value {
		t.Errorf("power on during export: %#v", faultOf(t, err))
	}
	var vmo mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"disabledMethod"}, &vmo); err != nil || !contains(vmo.DisabledMethod, "PowerOnVM_Task") {
		t.Errorf("disabledMethod during export: %v %v", vmo.DisabledMethod, err)
	}

	// Progress, manifest, complete.
	if err := lease.Progress(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if l, _ := leaseState(t, c, lease.Reference()); l.TransferProgress != 60 {
		t.Errorf("transferProgress %d", l.TransferProgress)
	}
	man, err := methods.HttpNfcLeaseGetManifest(ctx, c.Client, &types.HttpNfcLeaseGetManifest{This: lease.Reference()})
	sum := sha1.Sum(flat)
	if err != nil || len(man.Returnval) != 1 || man.Returnval[0].Sha1 != hex.EncodeToString(sum[:]) ||
		man.Returnval[0].Size != int64(len(flat)) || man.Returnval[0].Key != wantKey {
		t.Errorf("manifest: %+v %v", man, err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := httpDo(t, "GET", u.String(), cookie, nil, nil); st != 404 {
		t.Errorf("GET after complete: %d", st)
	}
	if _, err := leaseState(t, c, lease.Reference()); err == nil {
		t.Error("lease still readable after complete")
	}
	if err := vm.Properties(ctx, vm.Reference(), []string{"disabledMethod"}, &vmo); err != nil || contains(vmo.DisabledMethod, "PowerOnVM_Task") {
		t.Errorf("disabledMethod after export: %v %v", vmo.DisabledMethod, err)
	}
	task, err := vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Errorf("power on after export: %v", err)
	}

	// A powered-on VM cannot be exported.
	_, err = findVM(t, c, "db-01").Export(ctx)
	if f, ok := faultOf(t, err).(types.InvalidPowerState); !ok || f.ExistingState != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("export of a powered-on VM: %#v", faultOf(t, err))
	}

	// Abort: URLs gone, methods enabled again.
	web := findVM(t, c, "web-02")
	lease2, err := web.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info2, err := lease2.Wait(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lease2.Abort(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := httpDo(t, "GET", info2.Items[0].URL.String(), cookie, nil, nil); st != 404 {
		t.Errorf("GET after abort: %d", st)
	}
	if err := web.Properties(ctx, web.Reference(), []string{"disabledMethod"}, &vmo); err != nil || len(vmo.DisabledMethod) != 0 {
		t.Errorf("disabledMethod after abort: %v %v", vmo.DisabledMethod, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// importSpec is a one-disk VM for ImportVApp on the cloud site.
func importSpec(t *testing.T, c *govmomi.Client, name string, capacity int64) (*object.ResourcePool, *types.VirtualMachineImportSpec) {
	t.Helper()
	ctx := context.Background()
	f := finder(t, c)
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.Datastore(ctx, "cloud-ds")
	if err != nil {
		t.Fatal(err)
	}
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("lsilogic")
	if err != nil {
		t.Fatal(err)
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(), fmt.Sprintf("[cloud-ds] %s/%s.vmdk", name, name))
	disk.CapacityInKB = capacity / 1024
	disk.CapacityInBytes = capacity
	devices = append(devices, disk)
	spec := &types.VirtualMachineImportSpec{ConfigSpec: types.VirtualMachineConfigSpec{
		Name: name, GuestId: "otherLinux64Guest", NumCPUs: 1, MemoryMB: 128,
		Files: &types.VirtualMachineFileInfo{VmPathName: "[cloud-ds]"},
	}}
	spec.ConfigSpec.DeviceChange, err = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		t.Fatal(err)
	}
	return pool, spec
}

func TestImportUploads(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "cloud", t.TempDir())
	cookie := cookieOf(t, c)
	const capacity = 4 << 20
	data := make([]byte, capacity)
	rand.New(rand.NewSource(7)).Read(data)

	// govmomi's upload: POST application/x-vnd.vmware-streamVmdk with the raw bytes.
	pool, spec := importSpec(t, c, "imp-01", capacity)
	lease, err := pool.ImportVApp(ctx, spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var item *nfc.FileItem
	for i := range info.Items {
		if strings.HasSuffix(info.Items[i].URL.Path, "/imp-01.vmdk") {
			item = &info.Items[i]
		}
	}
	if item == nil {
		t.Fatalf("no disk item in %+v", info.DeviceUrl)
	}
	u := item.URL.String()
	if st, _, _ := httpDo(t, "POST", u, "", nil, bytes.NewReader(data)); st != http.StatusUnauthorized {
		t.Errorf("upload without session: %d", st)
	}
	if st, _, _ := httpDo(t, "PUT", u, cookie, nil, bytes.NewReader(make([]byte, capacity+1))); st != http.StatusBadRequest {
		t.Errorf("upload larger than the disk: %d", st)
	}
	if st, _, _ := httpDo(t, "GET", u, cookie, nil, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("GET of an import URL: %d", st)
	}
	updater := lease.StartUpdater(ctx, info)
	err = lease.Upload(ctx, *item, bytes.NewReader(data), soap.Upload{ContentLength: capacity})
	updater.Done()
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := httpDo(t, "PUT", u, cookie, nil, bytes.NewReader(data)); st != 404 {
		t.Errorf("upload after complete: %d", st)
	}
	vm := findVM(t, c, "imp-01")
	onDisk, err := os.ReadFile(filepath.Join(lab.Datastore, "imp-01", "imp-01-flat.vmdk"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("flat extent: %d bytes, equal %v, %v", len(onDisk), bytes.Equal(onDisk, data), err)
	}
	desc, _ := os.ReadFile(filepath.Join(lab.Datastore, "imp-01", "imp-01.vmdk"))
	if !strings.Contains(string(desc), `RW 8192 VMFS "imp-01-flat.vmdk"`) {
		t.Errorf("descriptor:\n%s", desc)
	}
	// The same bytes through /folder, with a range.
	folder := fmt.Sprintf("https://%s/folder/imp-01/imp-01-flat.vmdk?dcPath=cloud-dc&dsName=cloud-ds", lab.URL.Host)
	st, h, part := httpDo(t, "GET", folder, cookie, map[string]string{"Range": "bytes=4000000-4000099"}, nil)
	if st != 206 || !bytes.Equal(part, data[4000000:4000100]) || h.Get("Content-Range") != fmt.Sprintf("bytes 4000000-4000099/%d", capacity) {
		t.Errorf("/folder range: %d %q", st, h.Get("Content-Range"))
	}
	_ = vm

	// A raw PUT shorter than the disk: the rest stays zero, the extent keeps its capacity.
	pool, spec = importSpec(t, c, "imp-02", capacity)
	lease, err = pool.ImportVApp(ctx, spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err = lease.Wait(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	u = ""
	for _, it := range info.Items {
		if strings.HasSuffix(it.URL.Path, "/imp-02.vmdk") {
			u = it.URL.String()
		}
	}
	if st, _, b := httpDo(t, "PUT", u, cookie, map[string]string{"Content-Type": "application/octet-stream"}, bytes.NewReader(data[:1<<20])); st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	onDisk, _ = os.ReadFile(filepath.Join(lab.Datastore, "imp-02", "imp-02-flat.vmdk"))
	if len(onDisk) != capacity || !bytes.Equal(onDisk[:1<<20], data[:1<<20]) || !bytes.Equal(onDisk[1<<20:], make([]byte, capacity-(1<<20))) {
		t.Errorf("short upload: %d bytes on disk", len(onDisk))
	}

	// Abort: the lease's URLs are gone and so is the VM, as in vCenter.
	pool, spec = importSpec(t, c, "imp-03", capacity)
	lease, err = pool.ImportVApp(ctx, spec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err = lease.Wait(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Abort(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := httpDo(t, "PUT", info.Items[0].URL.String(), cookie, nil, bytes.NewReader(data)); st != 404 {
		t.Errorf("upload after abort: %d", st)
	}
	if _, err := finder(t, c).VirtualMachine(ctx, "imp-03"); err == nil {
		t.Error("aborted import left its VM")
	}
}
