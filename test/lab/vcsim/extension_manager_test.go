package main

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const taskType = "com.hdm.plugin.task.migrate"

func hdmExtension(version string) types.Extension {
	return types.Extension{
		Description: &types.Description{Label: "HDM", Summary: "Hybrid data migration"},
		Key:         "com.hdm.plugin",
		Company:     "HDM",
		Type:        "com.vmware.vsphere.client.remoteplugin",
		Version:     version,
		Client: []types.ExtensionClientInfo{{
			Version:     version,
			Description: &types.Description{Label: "HDM", Summary: "plugin"},
			Company:     "HDM",
			Type:        "vsphere-client-remote",
			Url:         "https://10.99.0.10/plugin.json",
		}},
		Server: []types.ExtensionServerInfo{{
			Url:              "https://10.99.0.10/plugin.json",
			Description:      &types.Description{Label: "HDM", Summary: "manifest server"},
			Company:          "HDM",
			Type:             "MANIFEST_SERVER",
			AdminEmail:       []string{"admin@hdm.example"},
			ServerThumbprint: "AA:BB",
		}},
		TaskList:               []types.ExtensionTaskTypeInfo{{TaskID: taskType}},
		EventList:              []types.ExtensionEventTypeInfo{{EventID: "com.hdm.plugin.event.migrated"}},
		LastHeartbeatTime:      time.Now().UTC().Truncate(time.Second),
		ShownInSolutionManager: types.NewBool(false),
	}
}

// faultOf returns the vim fault of a SOAP fault error, as the client decodes it (a value).
func faultOf(t *testing.T, err error) interface{} {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want a fault")
	}
	if !soap.IsSoapFault(err) {
		t.Fatalf("%v is not a SOAP fault", err)
	}
	return soap.ToSoapFault(err).VimFault()
}

func extensionKeys(t *testing.T, c *govmomi.Client) []string {
	t.Helper()
	var em mo.ExtensionManager
	if err := c.RetrieveOne(context.Background(), *c.ServiceContent.ExtensionManager, []string{"extensionList"}, &em); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range em.ExtensionList {
		keys = append(keys, e.Key)
	}
	return keys
}

func TestExtensionManager(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lab, c := startTestLab(t, "prem", dir)
	m := object.NewExtensionManager(c.Client)

	if ext, err := m.Find(ctx, "com.hdm.plugin"); err != nil || ext != nil {
		t.Fatalf("Find before register = %v, %v", ext, err)
	}
	if err := m.Register(ctx, hdmExtension("1.0.0")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	ext, err := m.Find(ctx, "com.hdm.plugin")
	if err != nil || ext == nil || ext.Version != "1.0.0" || len(ext.TaskList) != 1 {
		t.Fatalf("Find = %+v, %v", ext, err)
	}
	if ext.Description.GetDescription().Label != "HDM" || ext.Server[0].Url != "https://10.99.0.10/plugin.json" {
		t.Errorf("Find lost fields: %+v", ext)
	}
	if keys := extensionKeys(t, c); len(keys) != 1 || keys[0] != "com.hdm.plugin" {
		t.Errorf("extensionList = %v", keys)
	}

	f := faultOf(t, m.Register(ctx, hdmExtension("1.0.0")))
	if ia, ok := f.(types.InvalidArgument); !ok || ia.InvalidProperty != "extension.key" {
		t.Errorf("duplicate Register fault = %#v, want InvalidArgument extension.key", f)
	}

	if err := m.Update(ctx, hdmExtension("1.1.0")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if ext, _ := m.Find(ctx, "com.hdm.plugin"); ext == nil || ext.Version != "1.1.0" {
		t.Errorf("after Update: %+v", ext)
	}
	unknown := hdmExtension("1.0.0")
	unknown.Key = "com.example.none"
	if f := faultOf(t, m.Update(ctx, unknown)); !isNotFound(f) {
		t.Errorf("Update unknown fault = %#v, want NotFound", f)
	}
	if f := faultOf(t, m.Unregister(ctx, "com.example.none")); !isNotFound(f) {
		t.Errorf("Unregister unknown fault = %#v, want NotFound", f)
	}

	// A second extension to unregister; the first one stays for the restart.
	other := hdmExtension("0.1.0")
	other.Key = "com.hdm.other"
	if err := m.Register(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := m.Unregister(ctx, "com.hdm.other"); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if ext, _ := m.Find(ctx, "com.hdm.other"); ext != nil {
		t.Errorf("unregistered extension still found")
	}

	// Restart on the same data directory: the registration is still there, once.
	_ = c.Logout(ctx)
	lab.Close()
	_, c2 := startTestLab(t, "prem", dir)
	keys := extensionKeys(t, c2)
	if len(keys) != 1 || keys[0] != "com.hdm.plugin" {
		t.Fatalf("after restart extensionList = %v, want [com.hdm.plugin]", keys)
	}
	ext, err = object.NewExtensionManager(c2.Client).Find(ctx, "com.hdm.plugin")
	if err != nil || ext == nil || ext.Version != "1.1.0" || ext.TaskList[0].TaskID != taskType ||
		ext.Description.GetDescription().Summary != "Hybrid data migration" {
		t.Fatalf("after restart Find = %+v, %v", ext, err)
	}
	f = faultOf(t, object.NewExtensionManager(c2.Client).Register(ctx, hdmExtension("1.1.0")))
	if _, ok := f.(types.InvalidArgument); !ok {
		t.Errorf("Register after restart fault = %#v", f)
	}
}

func isNotFound(f interface{}) bool {
	_, ok := f.(types.NotFound)
	return ok
}

func TestExtensionListUpdates(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "cloud", t.TempDir())
	pc := property.DefaultCollector(c.Client)
	ref := *c.ServiceContent.ExtensionManager
	done := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		done <- object.NewExtensionManager(c.Client).Register(ctx, hdmExtension("2.0.0"))
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := property.Wait(wctx, pc, ref, []string{"extensionList"}, func(changes []types.PropertyChange) bool {
		for _, ch := range changes {
			if list, ok := ch.Val.(types.ArrayOfExtension); ok && len(list.Extension) == 1 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("WaitForUpdatesEx did not see the registration: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// createTask calls TaskManager.CreateTask (govmomi 0.24 has no wrapper for it).
func createTask(ctx context.Context, c *govmomi.Client, obj types.ManagedObjectReference, typeID string, cancelable bool) (*types.TaskInfo, error) {
	res, err := methods.CreateTask(ctx, c.Client, &types.CreateTask{
		This:        *c.ServiceContent.TaskManager,
		Obj:         obj,
		TaskTypeId:  typeID,
		InitiatedBy: "hdm",
		Cancelable:  cancelable,
	})
	if err != nil {
		return nil, err
	}
	return &res.Returnval, nil
}
