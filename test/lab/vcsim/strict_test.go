package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// rawClient posts hand-written envelopes and keeps the vmware_soap_session cookie.
type rawClient struct {
	url    string
	http   *http.Client
	cookie string
}

func (c *rawClient) post(t *testing.T, method string) (int, string) {
	t.Helper()
	env := `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>` + method + `</soapenv:Body>
</soapenv:Envelope>`
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "urn:vim25/7.0")
	if c.cookie != "" {
		req.Header.Set("Cookie", "vmware_soap_session="+c.cookie)
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == "vmware_soap_session" {
			c.cookie = ck.Value
		}
	}
	return res.StatusCode, string(body)
}

func rawLogin(t *testing.T, lab *Lab) *rawClient {
	t.Helper()
	c := &rawClient{
		url:  lab.URL.String(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
	}
	opts := DefaultOptions()
	status, body := c.post(t, fmt.Sprintf(`<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>%s</userName><password>%s</password></Login>`,
		opts.Username, opts.Password))
	if status != 200 || c.cookie == "" {
		t.Fatalf("raw Login: %d %s", status, body)
	}
	return c
}

// retrieveVMs is a correct RetrievePropertiesEx of every VM's name; parts can be replaced.
const retrieveVMs = `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this>` +
	`<specSet>` +
	`<propSet><type>VirtualMachine</type><all>false</all><pathSet>name</pathSet></propSet>` +
	`<objectSet><obj type="Folder">group-d1</obj><skip>true</skip>` +
	`<selectSet xmlns:q="http://www.w3.org/2001/XMLSchema-instance" q:type="TraversalSpec"><name>folder</name><type>Folder</type><path>childEntity</path><skip>false</skip>` +
	`<selectSet><name>folder</name></selectSet><selectSet><name>dcToVm</name></selectSet></selectSet>` +
	`<selectSet xsi:type="TraversalSpec"><name>dcToVm</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip>` +
	`<selectSet><name>folder</name></selectSet></selectSet>` +
	`</objectSet>` +
	`</specSet>` +
	`<options><maxObjects>100</maxObjects></options>` +
	`</RetrievePropertiesEx>`

func TestStrictRequests(t *testing.T) {
	lab, _ := startTestLab(t, "prem", t.TempDir())
	c := rawLogin(t, lab)

	status, body := c.post(t, retrieveVMs)
	if status != 200 || !strings.Contains(body, "app-01") || !strings.Contains(body, "web-02") {
		t.Fatalf("correct RetrievePropertiesEx: %d %s", status, body)
	}

	specSet := retrieveVMs[strings.Index(retrieveVMs, "<specSet>"):strings.Index(retrieveVMs, "<options>")]
	options := `<options><maxObjects>100</maxObjects></options>`
	bad := []struct {
		name, request, want string
	}{
		{"out of order", strings.Replace(retrieveVMs, specSet+options, options+specSet, 1),
			`Unexpected element tag "options" seen; expected "specSet"`},
		{"back to an earlier field", strings.Replace(retrieveVMs, `<skip>true</skip>`, `<skip>true</skip><obj type="Folder">group-d1</obj>`, 1),
			`Unexpected element tag "obj" seen`},
		{"repeated single field", strings.Replace(retrieveVMs, `<skip>true</skip>`, `<skip>true</skip><skip>true</skip>`, 1),
			`"skip" may occur only once`},
		{"unknown element", strings.Replace(retrieveVMs, `<maxObjects>`, `<foo>1</foo><maxObjects>`, 1),
			`Unknown element "foo"`},
		{"unparsable int", strings.Replace(retrieveVMs, `<maxObjects>100`, `<maxObjects>abc`, 1),
			`Cannot parse "abc" as int for "maxObjects"`},
		{"unparsable boolean", strings.Replace(retrieveVMs, `<skip>true</skip>`, `<skip>yes</skip>`, 1),
			`Cannot parse "yes" as boolean for "skip"`},
		{"wrong xsi:type", strings.Replace(retrieveVMs, `xsi:type="TraversalSpec"`, `xsi:type="PropertySpec"`, 1),
			`Type "PropertySpec" in xsi:type is not valid for element "selectSet"`},
		{"unknown xsi:type", strings.Replace(retrieveVMs, `xsi:type="TraversalSpec"`, `xsi:type="NoSuchSpec"`, 1),
			`Unknown type "NoSuchSpec"`},
		{"literal xsi prefix bound elsewhere", strings.Replace(retrieveVMs, `xsi:type="TraversalSpec"`, `xmlns:xsi="urn:other" xsi:type="TraversalSpec"`, 1),
			`Unknown element "type" in SelectionSpec`},
		{"moref without type", strings.Replace(retrieveVMs, `<_this type="PropertyCollector">`, `<_this>`, 1),
			`Managed object reference "_this" has no type attribute`},
		{"required element missing", strings.Replace(retrieveVMs, `<type>VirtualMachine</type>`, ``, 1),
			`Unexpected element tag "all" seen; expected "type"`},
		{"text in a complex element", strings.Replace(retrieveVMs, `<specSet>`, `<specSet>oops`, 1),
			`Unexpected text in PropertyFilterSpec`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.post(t, tc.request)
			if status != 500 {
				t.Fatalf("status %d, want 500: %s", status, body)
			}
			for _, want := range []string{"<faultcode>ServerFaultCode</faultcode>", tc.want,
				`<InvalidRequestFault xmlns="urn:vim25" xsi:type="InvalidRequest">`} {
				if !strings.Contains(body, want) {
					t.Errorf("fault lacks %q:\n%s", want, body)
				}
			}
		})
	}

	t.Run("unknown method", func(t *testing.T) {
		status, body := c.post(t, `<RetrieveEverything xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this></RetrieveEverything>`)
		if status != 500 || !strings.Contains(body, `xsi:type="MethodNotFound"`) ||
			!strings.Contains(body, `<method>RetrieveEverything</method>`) ||
			!strings.Contains(body, `<receiver type="PropertyCollector">propertyCollector</receiver>`) {
			t.Errorf("unknown method: %d %s", status, body)
		}
		status, body = c.post(t, `<VirtualMachineConfigSpec xmlns="urn:vim25"/>`)
		if status != 500 || !strings.Contains(body, `xsi:type="MethodNotFound"`) {
			t.Errorf("type name as method: %d %s", status, body)
		}
	})

	// The session still works after the refusals.
	if status, body := c.post(t, retrieveVMs); status != 200 {
		t.Fatalf("after refusals: %d %s", status, body)
	}
}

// TestGovmomiThroughStrictLayer runs ordinary govmomi calls: every request govmomi sends is
// correct, so none may be refused.
func TestGovmomiThroughStrictLayer(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "prem", t.TempDir())

	m := view.NewManager(c.Client)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, nil, &vms); err != nil {
		t.Fatalf("Retrieve all properties: %v", err)
	}
	if len(vms) != 4 {
		t.Fatalf("%d VMs", len(vms))
	}
	_ = v.Destroy(ctx)

	finder := find.NewFinder(c.Client, true)
	dcRef := vmDatacenter(t, ctx, finder)
	finder.SetDatacenter(object.NewDatacenter(c.Client, dcRef))
	vm, err := finder.VirtualMachine(ctx, "app-01")
	if err != nil {
		t.Fatal(err)
	}

	// Power on while a property collector waits for the change.
	waited := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		waited <- property.Wait(wctx, property.DefaultCollector(c.Client), vm.Reference(), []string{"runtime.powerState"},
			func(changes []types.PropertyChange) bool {
				for _, ch := range changes {
					if ch.Val == types.VirtualMachinePowerStatePoweredOn {
						return true
					}
				}
				return false
			})
	}()
	time.Sleep(50 * time.Millisecond)
	mustTask(t, ctx)(vm.PowerOn(ctx))
	if err := <-waited; err != nil {
		t.Fatalf("WaitForUpdatesEx: %v", err)
	}
	mustTask(t, ctx)(vm.PowerOff(ctx))

	// Reconfigure: polymorphic device specs.
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scsi, err := devices.FindSCSIController("")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := finder.Datastore(ctx, "prem-ds")
	if err != nil {
		t.Fatal(err)
	}
	disk := devices.CreateDisk(scsi, ds.Reference(), "")
	disk.CapacityInKB = 1024
	if err := vm.AddDevice(ctx, disk); err != nil {
		t.Fatalf("AddDevice: %v", err)
	}
	mustTask(t, ctx)(vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
		Annotation: "migrated by HDM",
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: "guestinfo.hdm", Value: "1"},
		},
	}))

	// Snapshots.
	mustTask(t, ctx)(vm.CreateSnapshot(ctx, "before", "lab", false, false))
	ref, err := vm.FindSnapshot(ctx, "before")
	if err != nil {
		t.Fatal(err)
	}
	mustTask(t, ctx)(vm.RevertToSnapshot(ctx, ref.Value, true))
	consolidate := true
	mustTask(t, ctx)(vm.RemoveSnapshot(ctx, "before", false, &consolidate))

	// Events.
	em := event.NewManager(c.Client)
	if err := em.PostEvent(ctx, &types.GeneralUserEvent{
		GeneralEvent: types.GeneralEvent{
			Event:   types.Event{UserName: "hdm", Vm: &types.VmEventArgument{Vm: vm.Reference()}},
			Message: "HDM prepared app-01",
		},
	}); err != nil {
		t.Fatalf("PostEvent: %v", err)
	}
	events, err := em.QueryEvents(ctx, types.EventFilterSpec{
		Entity: &types.EventFilterSpecByEntity{Entity: vm.Reference(), Recursion: types.EventFilterSpecRecursionOptionSelf},
	})
	if err != nil || len(events) == 0 {
		t.Fatalf("QueryEvents: %d, %v", len(events), err)
	}

	// AnyType values with xsi:type xsd:*: OptionManager and custom fields.
	om := object.NewOptionManager(c.Client, *c.ServiceContent.Setting)
	if err := om.Update(ctx, []types.BaseOptionValue{&types.OptionValue{Key: "config.hdm.lab", Value: "on"}}); err != nil {
		t.Fatalf("UpdateOptions: %v", err)
	}
	fm, err := object.GetCustomFieldsManager(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	def, err := fm.Add(ctx, "hdm.state", "VirtualMachine", nil, nil)
	if err != nil {
		t.Fatalf("AddCustomFieldDef: %v", err)
	}
	if err := fm.Set(ctx, vm.Reference(), def.Key, "prepared"); err != nil {
		t.Fatalf("SetField: %v", err)
	}

	// Clone and destroy.
	folders, err := object.NewDatacenter(c.Client, dcRef).Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	web02, err := finder.VirtualMachine(ctx, "web-02")
	if err != nil {
		t.Fatal(err)
	}
	info := mustTask(t, ctx)(web02.Clone(ctx, folders.VmFolder, "web-02-clone", types.VirtualMachineCloneSpec{}))
	clone := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	mustTask(t, ctx)(clone.Destroy(ctx))

	if _, err := c.SessionManager.AcquireCloneTicket(ctx); err != nil {
		t.Fatalf("AcquireCloneTicket: %v", err)
	}
}

func vmDatacenter(t *testing.T, ctx context.Context, f *find.Finder) types.ManagedObjectReference {
	dc, err := f.Datacenter(ctx, "prem-dc")
	if err != nil {
		t.Fatal(err)
	}
	return dc.Reference()
}

// mustTask waits for a task returned with its error and fails the test on either.
func mustTask(t *testing.T, ctx context.Context) func(*object.Task, error) *types.TaskInfo {
	return func(task *object.Task, err error) *types.TaskInfo {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
}
