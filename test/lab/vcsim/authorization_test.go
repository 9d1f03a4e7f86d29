package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestDisableMethods(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "prem", t.TempDir())
	am := object.NewAuthorizationManager(c.Client)
	vm := findVM(t, c, "web-02") // powered off
	ref := []types.ManagedObjectReference{vm.Reference()}
	enforced := []string{"PowerOnVM_Task", "PowerOffVM_Task", "Destroy_Task", "ReconfigVM_Task", "MigrateVM_Task", "RelocateVM_Task"}
	var reqs []object.DisabledMethodRequest
	for _, m := range enforced {
		reqs = append(reqs, object.DisabledMethodRequest{Method: m, Reason: "com.hdm.migrating"})
	}
	if err := am.DisableMethods(ctx, ref, reqs, "com.hdm.a"); err != nil {
		t.Fatal(err)
	}
	disabled := func() []string {
		var o mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"disabledMethod"}, &o); err != nil {
			t.Fatal(err)
		}
		return o.DisabledMethod
	}
	if got := strings.Join(disabled(), ","); got != "Destroy_Task,MigrateVM_Task,PowerOffVM_Task,PowerOnVM_Task,ReconfigVM_Task,RelocateVM_Task" {
		t.Errorf("disabledMethod: %s", got)
	}
	pool, err := finder(t, c).DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"PowerOnVM_Task":  func() error { _, err := vm.PowerOn(ctx); return err },
		"PowerOffVM_Task": func() error { _, err := vm.PowerOff(ctx); return err },
		"Destroy_Task":    func() error { _, err := vm.Destroy(ctx); return err },
		"ReconfigVM_Task": func() error {
			_, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{Annotation: "x"})
			return err
		},
		"MigrateVM_Task": func() error {
			_, err := vm.Migrate(ctx, pool, nil, types.VirtualMachineMovePriorityDefaultPriority, "")
			return err
		},
		"RelocateVM_Task": func() error {
			_, err := vm.Relocate(ctx, types.VirtualMachineRelocateSpec{}, types.VirtualMachineMovePriorityDefaultPriority)
			return err
		},
	}
	for _, m := range enforced {
		f, ok := faultOf(t, calls[m]()).(types.MethodDisabled)
		if !ok || f.Source != "com.hdm.a" {
			t.Errorf("%s: %#v, want MethodDisabled from com.hdm.a", m, f)
		}
	}
	// Other entities and methods are not affected.
	if _, err := findVM(t, c, "app-01").PowerOn(ctx); err != nil {
		t.Errorf("power on of another VM: %v", err)
	}

	// A second source; enabling by the first keeps the second's disable.
	if err := am.DisableMethods(ctx, ref, reqs[:1], "com.hdm.b"); err != nil {
		t.Fatal(err)
	}
	if err := am.EnableMethods(ctx, ref, enforced, "com.hdm.a"); err != nil {
		t.Fatal(err)
	}
	if f, ok := faultOf(t, calls["PowerOnVM_Task"]()).(types.MethodDisabled); !ok || f.Source != "com.hdm.b" {
		t.Errorf("power on still disabled by b: %#v", f)
	}
	if got := strings.Join(disabled(), ","); got != "PowerOnVM_Task" {
		t.Errorf("disabledMethod: %s", got)
	}
	if err := am.EnableMethods(ctx, ref, []string{"PowerOnVM_Task"}, "com.hdm.b"); err != nil {
		t.Fatal(err)
	}
	if len(disabled()) != 0 {
		t.Errorf("disabledMethod after enable: %v", disabled())
	}
	task, err := vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Errorf("power on after enable: %v", err)
	}

	// Unknown entity.
	bad := []types.ManagedObjectReference{{Type: "VirtualMachine", Value: "vm-nope"}}
	if _, ok := faultOf(t, am.DisableMethods(ctx, bad, reqs, "x")).(types.ManagedObjectNotFound); !ok {
		t.Error("DisableMethods on an unknown entity: want ManagedObjectNotFound")
	}

	// The strict layer checks urn:internalvim25 requests against their request types.
	raw := rawLogin(t, lab)
	this := `<_this type="AuthorizationManager">AuthorizationManager</_this>`
	entity := `<entity type="VirtualMachine">` + vm.Reference().Value + `</entity>`
	st, body := raw.post(t, `<DisableMethods xmlns="urn:internalvim25">`+this+entity+`<sourceId>s</sourceId><method><method>PowerOnVM_Task</method><reasonId>r</reasonId></method></DisableMethods>`)
	if st != 500 || !strings.Contains(body, "InvalidRequest") || !strings.Contains(body, `"method"`) {
		t.Errorf("misordered DisableMethods: %d %s", st, body)
	}
	st, body = raw.post(t, `<DisableMethods xmlns="urn:internalvim25">`+this+entity+`<method><method>PowerOnVM_Task</method></method><sourceId>s</sourceId></DisableMethods>`)
	if st != 500 || !strings.Contains(body, `Required element \"reasonId\"`) && !strings.Contains(body, `"reasonId"`) {
		t.Errorf("DisableMethods without reasonId: %d %s", st, body)
	}
	st, body = raw.post(t, `<DisableMethods xmlns="urn:vim25">`+this+entity+`<method><method>PowerOnVM_Task</method><reasonId>r</reasonId></method><sourceId>s</sourceId></DisableMethods>`)
	if st != 500 || !strings.Contains(body, "MethodNotFound") {
		t.Errorf("DisableMethods in urn:vim25: %d %s", st, body)
	}
	st, body = raw.post(t, `<CurrentTime xmlns="urn:internalvim25"><_this type="ServiceInstance">ServiceInstance</_this></CurrentTime>`)
	if st != 500 || !strings.Contains(body, "MethodNotFound") {
		t.Errorf("a vim25 method in urn:internalvim25: %d %s", st, body)
	}
	st, body = raw.post(t, `<EnableMethods xmlns="urn:internalvim25">`+this+entity+`<method>PowerOffVM_Task</method><sourceId>s</sourceId></EnableMethods>`)
	if st != 200 || !strings.Contains(body, "EnableMethodsResponse") {
		t.Errorf("raw EnableMethods: %d %s", st, body)
	}
	raw.cookie = ""
	st, body = raw.post(t, `<EnableMethods xmlns="urn:internalvim25">`+this+entity+`<method>PowerOffVM_Task</method><sourceId>s</sourceId></EnableMethods>`)
	if st != 500 || !strings.Contains(body, "NotAuthenticated") {
		t.Errorf("EnableMethods without session: %d %s", st, body)
	}
}
